// `npm run soak -- --hostile`: issue 25's soak. Hostile but well-formed events (one field of each
// filled to about 60 KB: type, id, source, specversion, time, datacontenttype, gateway_name, an
// unknown data field's name) against the built function as `npm start` runs it, with the heap
// limits and malloc arenas of deploy/service.yaml (NODE_OPTIONS, MALLOC_ARENA_MAX) and tracing on towards a collector that takes the
// connection and never answers. It passes when the function still serves at the end and its
// resident memory never went above the ceiling. Loopback only; bounded in events and time.
import { readFileSync } from 'node:fs';
import { deployedProcessEnv } from '../testbed/deployed-env.ts';
import { startFunction } from '../testbed/function-process.ts';
import { HOSTILE_KINDS, sendHostile } from '../testbed/hostile-events.ts';
import { startKubeApiServer } from '../testbed/kube-api-server/server.ts';
import { startSilentCollector } from '../testbed/otlp-receiver.ts';
import { parseExposition } from '../testbed/prometheus.ts';
import { makeTempDir } from '../testbed/temp-dir.ts';

const NAMESPACE = 'clients';
/** Issue 25's bar: the function's resident memory, at most, through the whole run. */
export const RSS_CEILING_MB = 160;
const SAMPLE_EVERY_MS = 100;

export interface HostileOptions {
  readonly events: number;
  readonly concurrency: number;
  readonly timeLimitSeconds: number;
}

/** Runs the hostile soak and prints its figures; true when it passed. */
export async function runHostileSoak(options: HostileOptions): Promise<boolean> {
  const workDir = makeTempDir('provisioner-soak-hostile-');
  const server = await startKubeApiServer({ namespaces: [NAMESPACE] });
  const collector = await startSilentCollector();
  const deployed = deployedProcessEnv();
  const fn = await startFunction({
    asNpmStart: true,
    env: {
      KUBECONFIG: await server.writeKubeconfig(workDir),
      CLIENT_NAMESPACE: NAMESPACE,
      ...deployed,
      // The runtime's default level, as deployed: every refused and failed event is a line.
      FUNC_LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    },
  });
  const pid = fn.process.pid ?? 0;
  const before = residentMb(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, residentMb(pid));
  }, SAMPLE_EVERY_MS);
  const watchdog = setTimeout(() => {
    process.stderr.write('soak: past the time limit: cut\n');
    fn.process.kill('SIGKILL');
    process.exit(3);
  }, options.timeLimitSeconds * 1000);
  try {
    process.stderr.write(
      `soak --hostile: ${options.events} events of ~60 KB, concurrency ${options.concurrency}, ${describeEnv(deployed)}, traces to a collector that never answers (${collector.url}); function ${fn.url} (npm start)\n`,
    );
    let lastProgress = performance.now();
    const run = await sendHostile({
      url: fn.url,
      events: options.events,
      concurrency: options.concurrency,
      kinds: HOSTILE_KINDS,
      idPrefix: 'soak-hostile',
      onAnswer: (done) => {
        if (performance.now() - lastProgress < 5000) return;
        lastProgress = performance.now();
        process.stderr.write(
          `soak: ${done}/${options.events} answered, RSS ${residentMb(pid)} MB\n`,
        );
      },
    });
    clearInterval(sampler);
    const after = residentMb(pid);
    peak = Math.max(peak, after);
    const alive = fn.process.exitCode === null && fn.process.signalCode === null;
    const serving = alive && (await readinessOk(fn.url));
    const dropped = alive ? await droppedLines(fn.url) : undefined;
    const lines = [
      `answers: ${JSON.stringify(run.answers)}`,
      `events/s: ${(options.events / run.seconds).toFixed(0)} (${run.seconds.toFixed(1)} s)`,
      `RSS: ${before} MB before, ${after} MB after, ${peak} MB at the peak (ceiling ${RSS_CEILING_MB} MB)`,
      `log lines dropped (podgateway_log_lines_dropped_total): ${dropped ?? 'unknown'}`,
      `collector connections taken (never answered): ${collector.connections()}`,
      `serving at the end: ${serving ? 'yes' : 'no'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!alive) process.stdout.write(`the function exited:\n${fn.output().slice(-3000)}\n`);
    const ok = serving && peak <= RSS_CEILING_MB && run.answers.error === undefined;
    process.stdout.write(ok ? 'soak --hostile: OK\n' : 'soak --hostile: FAILED\n');
    return ok;
  } finally {
    clearInterval(sampler);
    clearTimeout(watchdog);
    await fn.stop();
    await collector.close();
    await server.close();
  }
}

/** `NAME="value"` pairs, for the first line. */
function describeEnv(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(' ');
}

/** The process's resident memory in MB (Linux: /proc), 0 once it is gone. */
function residentMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

async function readinessOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health/readiness`);
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function droppedLines(url: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sample = parseExposition(text).samples.find(
    (s) => s.name === 'podgateway_log_lines_dropped_total',
  );
  return sample?.value;
}

// The soak run: many events, some delivered twice, against the built function (build/index.js,
// run by faas-js-runtime as `npm start` does) and the Kubernetes API test server, with a share of
// the API calls failing and a client that redelivers as Knative does. Prints what came of them
// and exits non-zero when an event was lost or a pod duplicated. Loopback only; it stops by
// itself (bounded redeliveries, a time limit).
//
//   npm run soak -- [--events 10000] [--concurrency 64] [--dup-rate 0.1] [--fault-rate 0.05]
//                   [--faults all|benign] [--seed N] [--time-limit 600] [--max-attempts 10]
//   npm run soak -- --hostile [--events 10000] [--concurrency 16] [--time-limit 600]
//
// --hostile: issue 25's soak instead (scripts/soak-hostile.ts): ~60 KB fields, the manifests'
// heap, tracing to a collector that never answers; passes when the function still serves and its
// RSS stayed at most 160 MB.
import { parseArgs } from 'node:util';
import { parseWholeNumber } from '../src/config/config.ts';
import { startFunction } from '../testbed/function-process.ts';
import { startKubeApiServer } from '../testbed/kube-api-server/server.ts';
import { ALL_FAULTS, BENIGN_FAULTS, formatReport, runLoad } from '../testbed/load/load.ts';
import { exitOnSignals, makeTempDir } from '../testbed/temp-dir.ts';
import { buildFirst } from './build-first.ts';
import { RSS_CEILING_MB, runHostileSoak } from './soak-hostile.ts';

const NAMESPACE = 'clients';
const ENTRY = 'build/index.js';
/** After the time limit, in-flight deliveries get this long to finish before the run is cut. */
const GRACE_MS = 60_000;

interface SoakOptions {
  readonly hostile: boolean;
  readonly events: number;
  readonly concurrency: number;
  readonly dupRate: number;
  readonly faultRate: number;
  readonly faults: 'all' | 'benign';
  readonly seed: number;
  readonly timeLimitSeconds: number;
  readonly maxAttempts: number;
}

function readOptions(): SoakOptions {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '10000' },
      concurrency: { type: 'string' },
      hostile: { type: 'boolean', default: false },
      'dup-rate': { type: 'string', default: '0.1' },
      'fault-rate': { type: 'string', default: '0.05' },
      faults: { type: 'string', default: 'all' },
      seed: { type: 'string', default: '1' },
      'time-limit': { type: 'string', default: '600' },
      'max-attempts': { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n  -h, --help          this text\n`);
    process.exit(0);
  }
  const number = (flag: string, value: string, min: number, max: number): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      throw new Error(`--${flag} ${value}: expected a number from ${min} to ${max}`);
    }
    return parsed;
  };
  // The function's own reader of whole numbers: plain digits, within the range.
  const integer = (flag: string, value: string, least: number, most: number): number => {
    const parsed = parseWholeNumber(`--${flag}`, value, { least, most });
    if (parsed === undefined) throw new Error(`--${flag}: expected a whole number, got nothing`);
    return parsed;
  };
  if (values.faults !== 'all' && values.faults !== 'benign') {
    throw new Error(`--faults ${values.faults}: expected "all" or "benign"`);
  }
  const concurrency = values.concurrency ?? (values.hostile ? '16' : '64');
  return {
    hostile: values.hostile,
    events: integer('events', values.events, 1, 1_000_000),
    concurrency: integer('concurrency', concurrency, 1, 1024),
    dupRate: number('dup-rate', values['dup-rate'], 0, 1),
    faultRate: number('fault-rate', values['fault-rate'], 0, 1),
    faults: values.faults,
    seed: integer('seed', values.seed, 0, 2 ** 32 - 1),
    timeLimitSeconds: number('time-limit', values['time-limit'], 1, 24 * 3600),
    maxAttempts: integer('max-attempts', values['max-attempts'], 1, 100),
  };
}

const USAGE = `usage: npm run soak -- [flags]   (builds first, then runs ${ENTRY})
  --hostile           ~60 KB fields against npm start with the manifests' NODE_OPTIONS, tracing
                      to a collector that never answers: fails if it stops serving or its RSS
                      goes above ${RSS_CEILING_MB} MB (uses --events, --concurrency, --time-limit)
  --events N          distinct events (10000)
  --concurrency N     deliveries in flight (64; 16 with --hostile, containerConcurrency)
  --dup-rate R        share of events delivered a second time (0.1)
  --fault-rate R      probability that a delivery attempt comes with an API fault (0.05)
  --faults all|benign all: 500, 503, 429, dropped connections, delays, create races;
                      benign: delays and create races only (all)
  --seed N            seed of the event mix and the faults (1)
  --time-limit S      no delivery starts after S seconds (600)
  --max-attempts N    attempts per delivery, redeliveries included (10)`;

/** A bad flag or value: usage on stderr and exit 2, as every script does. */
function readOptionsOrExit(): SoakOptions {
  try {
    return readOptions();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`npm run soak: ${message}\n${USAGE}\n  -h, --help          this text\n`);
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const options = readOptionsOrExit();
  exitOnSignals();
  buildFirst();
  if (options.hostile) {
    const ok = await runHostileSoak(options);
    return ok ? 0 : 1;
  }
  const workDir = makeTempDir('provisioner-soak-');
  const server = await startKubeApiServer({ namespaces: [NAMESPACE] });
  const fn = await startFunction({
    entry: ENTRY,
    env: {
      KUBECONFIG: await server.writeKubeconfig(workDir),
      CLIENT_NAMESPACE: NAMESPACE,
      FUNC_LOG_LEVEL: 'error',
    },
  });
  const started = performance.now();
  const watchdog = setTimeout(
    () => {
      process.stderr.write('soak: still running past the time limit and its grace: cut\n');
      fn.process.kill('SIGKILL');
      process.exit(3);
    },
    options.timeLimitSeconds * 1000 + GRACE_MS,
  );
  let lastProgress = 0;
  try {
    process.stderr.write(
      `soak: ${options.events} events, concurrency ${options.concurrency}, dup-rate ${options.dupRate}, fault-rate ${options.faultRate} (${options.faults}), seed ${options.seed}; function ${fn.url}, API ${server.url}\n`,
    );
    const report = await runLoad({
      url: fn.url,
      server,
      namespace: NAMESPACE,
      events: options.events,
      concurrency: options.concurrency,
      dupRate: options.dupRate,
      faultRate: options.faultRate,
      faultMix: options.faults === 'all' ? ALL_FAULTS : BENIGN_FAULTS,
      policy: {
        maxAttempts: options.maxAttempts,
        backoffBaseMs: 50,
        backoffMaxMs: 2000,
        requestTimeoutMs: 30_000,
      },
      seed: options.seed,
      idPrefix: `soak-${options.seed}`,
      deadline: started + options.timeLimitSeconds * 1000,
      onProgress: (finished, total) => {
        const now = performance.now();
        if (now - lastProgress < 5000 && finished < total) return;
        lastProgress = now;
        process.stderr.write(
          `soak: ${finished}/${total} deliveries finished (${((now - started) / 1000).toFixed(0)} s)\n`,
        );
      },
    });
    process.stdout.write(`${formatReport(report)}\n`);
    const alive = fn.process.exitCode === null;
    if (!alive) process.stdout.write('the function exited during the run\n');
    const ok = report.duplicates === 0 && report.lost === 0 && report.unsent === 0 && alive;
    process.stdout.write(ok ? 'soak: OK\n' : 'soak: FAILED (duplicates, lost or unsent events)\n');
    return ok ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    await fn.stop();
    await server.close();
    // workDir: removed at exit (makeTempDir).
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);

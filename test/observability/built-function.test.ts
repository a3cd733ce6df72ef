// What users run, observed: what `npm start` runs after `npm run build` (build/index.js under
// faas-js-runtime's CLI bundled as build/runtime.cjs, started by build/start.cjs with Node's
// compile cache), its Prometheus metrics on the runtime's /metrics after known traffic, and
// its JSON log lines. No timing is asserted: the machine is shared with the other tests.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import packageJson from '../../package.json' with { type: 'json' };
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { describeCalls } from '../../src/kube/access-check.ts';
import { API_CALLS } from '../../src/kube/client.ts';
import { gatewayLabel, MAX_GATEWAY_LABELS, reasonLabel } from '../../src/observability/metrics.ts';
import { podNameFor } from '../../src/pods/client-pod.ts';
import { eventually } from '../../testbed/eventually.ts';
import {
  npmStartCommand,
  PROJECT_ROOT,
  type RunningFunction,
  startFunction,
} from '../../testbed/function-process.ts';
import {
  type KubeApiServer,
  POD_CREATES,
  startKubeApiServer,
} from '../../testbed/kube-api-server/server.ts';
import { startOtlpReceiver } from '../../testbed/otlp-receiver.ts';
import { makeCommandSpy } from '../support/command-spy.ts';
import { pendingEvent, post, sendEvent } from '../support/events.ts';

const run = promisify(execFile);
const NAMESPACE = 'client-system';

let server: KubeApiServer;
let fn: RunningFunction;
let workDir: string;
let kubeconfig: string;
let denyCreate = false;
/** Stand-ins for the commands the runtime's OS gauges ran on every scrape. */
const commands = makeCommandSpy();

before(async () => {
  // The bundle the runtime loads in production; `npm run build` makes it.
  await run(process.execPath, [join(PROJECT_ROOT, 'scripts/build.ts')], { cwd: PROJECT_ROOT });
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-observability-'));
  server = await startKubeApiServer({
    namespaces: ['default', NAMESPACE],
    authorize: (request) => !(denyCreate && request.verb === 'create'),
  });
  kubeconfig = await server.writeKubeconfig(workDir);
  fn = await startFunction({
    asNpmStart: true,
    env: {
      KUBECONFIG: kubeconfig,
      CLIENT_NAMESPACE: NAMESPACE,
      GATEWAYS: 'foo,bar',
      FUNC_LOG_LEVEL: 'info',
      PATH: `${commands.dir}:${process.env.PATH ?? ''}`,
    },
  });
});

after(async () => {
  await fn?.stop();
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

/** The known traffic, sent once; the tests below read what it left. */
let traffic:
  | Promise<{
      createdIds: string[];
      redelivered: string;
      forbidden: string;
      brokenJson: string;
      /** The HTTP answers' bodies of the two requests the runtime refuses by itself. */
      answers: { brokenJson: string; badSource: string };
    }>
  | undefined;

function sendKnownTraffic() {
  traffic ??= (async () => {
    const first = pendingEvent({ gateway_name: 'foo' });
    const second = pendingEvent({ gateway_name: 'bar' });
    for (const event of [first, second]) {
      assert.equal((await sendEvent(fn.url, event, 'binary')).event?.type, DONE_TYPE);
    }
    // A redelivery of the first: a 409 then a read.
    assert.equal((await sendEvent(fn.url, first, 'structured')).event?.type, DONE_TYPE);
    // Refused by the request: no API call.
    const invalid = await sendEvent(fn.url, pendingEvent({ gateway_name: 'no,good' }), 'binary');
    assert.equal(invalid.event?.data?.reason, 'InvalidGatewayName');
    const unknown = await sendEvent(fn.url, pendingEvent({ gateway_name: 'baz' }), 'binary');
    assert.equal(unknown.event?.data?.reason, 'UnknownGateway');
    // Refused by the API.
    denyCreate = true;
    const forbidden = pendingEvent({ gateway_name: 'foo' });
    const refused = await sendEvent(fn.url, forbidden, 'binary');
    denyCreate = false;
    assert.equal(refused.event?.type, FAILED_TYPE);
    assert.equal(refused.event?.data?.reason, 'Forbidden');
    // Not an event: 400.
    const plain = await post(fn.url, { 'content-type': 'application/json' }, '{}');
    assert.equal(plain.status, 400);
    // Answered 400 by the runtime itself: a JSON body that does not parse, a source that is
    // not a URI-reference (its SDK's validation).
    const binary = { 'ce-specversion': '1.0', 'ce-type': 'io.podgateway.client.pending' };
    const brokenJson = `broken-json-${process.pid}`;
    const broken = await post(
      fn.url,
      {
        ...binary,
        'ce-id': brokenJson,
        'ce-source': '/tests/producer',
        'content-type': 'application/json',
      },
      '{"gateway_name": ',
    );
    assert.equal(broken.status, 400);
    const badSource = await post(
      fn.url,
      {
        ...binary,
        'ce-id': `bad-source-${process.pid}`,
        'ce-source': '/a b',
        'content-type': 'application/json',
      },
      '{"gateway_name": "foo"}',
    );
    assert.equal(badSource.status, 400);
    // Probes: not logged at info.
    assert.equal((await fetch(`${fn.url}/health/readiness`)).status, 200);
    assert.equal((await fetch(`${fn.url}/health/liveness`)).status, 200);
    return {
      createdIds: [first.id, second.id],
      redelivered: first.id,
      forbidden: forbidden.id,
      brokenJson,
      answers: { brokenJson: broken.text, badSource: badSource.text },
    };
  })();
  return traffic;
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1] !== undefined && pair[2] !== undefined) labels[pair[1]] = pair[2];
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function sampleSum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return matching.reduce((sum, sample) => sum + sample.value, 0);
}

async function scrape(): Promise<{ samples: Sample[]; text: string }> {
  const response = await fetch(`${fn.url}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  return { samples: parseExposition(text), text };
}

describe('metrics on the runtime’s /metrics', () => {
  it('counts provisions by outcome, reason and gateway, next to the runtime’s own metrics', async () => {
    await sendKnownTraffic();
    const { samples, text } = await scrape();
    const provisions = (labels: Record<string, string>) =>
      sampleSum(samples, 'podgateway_requests_total', labels);

    assert.equal(provisions({ outcome: 'created', gateway: 'foo', reason: '' }), 1);
    assert.equal(provisions({ outcome: 'created', gateway: 'bar', reason: '' }), 1);
    assert.equal(provisions({ outcome: 'existed', gateway: 'foo' }), 1);
    assert.equal(
      provisions({ outcome: 'failed', reason: 'InvalidGatewayName', gateway: 'invalid' }),
      1,
    );
    assert.equal(
      provisions({ outcome: 'failed', reason: 'UnknownGateway', gateway: 'unknown' }),
      1,
    );
    assert.equal(provisions({ outcome: 'failed', reason: 'Forbidden', gateway: 'foo' }), 1);
    assert.equal(provisions({ outcome: 'rejected', reason: 'BadRequest', gateway: 'none' }), 3);
    assert.equal(provisions({}), 9);
    // Only the names the traffic carried, mapped as promised: no raw invalid name as a label.
    const gateways = new Set(
      samples.filter((s) => s.name === 'podgateway_requests_total').map((s) => s.labels.gateway),
    );
    assert.deepEqual([...gateways].sort(), ['bar', 'foo', 'invalid', 'none', 'unknown']);

    // The runtime's own metrics and default labels are there too: one registry, one prom-client.
    assert.ok(sampleSum(samples, 'faas_invocations') >= 9, 'faas_invocations');
    const ours = samples.find((s) => s.name === 'podgateway_requests_total');
    const theirs = samples.find((s) => s.name === 'faas_invocations');
    assert.ok(theirs?.labels.faas_name, 'the runtime labels its metrics');
    assert.equal(ours?.labels.faas_name, theirs.labels.faas_name, 'and ours alike');
    // Real values, not "undefined": outside a cluster the host and the package version.
    assert.equal(theirs.labels.faas_instance, hostname());
    assert.equal(theirs.labels.faas_id, hostname());
    assert.equal(theirs.labels.faas_version, packageJson.version);
    assert.doesNotMatch(text, /="undefined/);
    assert.match(text, /# TYPE podgateway_request_duration_seconds histogram/);
    assert.match(text, /# TYPE podgateway_inflight_requests gauge/);
    // The former names serve the same series, for dashboards and alerts written against them.
    const former = samples.filter((s) => s.name === 'podgateway_provisions_total');
    assert.deepEqual(
      former.map(({ labels, value }) => ({ labels, value })),
      samples
        .filter((s) => s.name === 'podgateway_requests_total')
        .map(({ labels, value }) => ({ labels, value })),
    );
    assert.match(
      text,
      /# HELP podgateway_provisions_total Deprecated: podgateway_requests_total under its former name/,
    );
    assert.match(text, /# TYPE podgateway_provision_duration_seconds histogram/);
  });

  it('serves no OS gauge of the runtime, and a scrape runs no command', async () => {
    const texts = await Promise.all(Array.from({ length: 4 }, async () => (await scrape()).text));
    for (const text of texts) assert.doesNotMatch(text, /faas_(cpu|mem|netio)_utilization/);
    // What the OS gauges stood for: the process's own, from prom-client's default metrics.
    assert.match(texts[0] ?? '', /^process_cpu_seconds_total\{/m);
    assert.match(texts[0] ?? '', /^process_resident_memory_bytes\{/m);
    // The gauges' collect() started its commands without waiting for them: a command started by
    // a scrape is the function's child from then on, and notes its name before it exits. Once
    // the function has no child left, the log holds every command the scrapes ran.
    await eventually(
      'the function to have no child process',
      () => childrenOf(fn.process).length === 0,
    );
    assert.deepEqual(commands.commandsRun(), []);
  });

  it('times Kubernetes API calls by verb and code, and every provisioning', async () => {
    await sendKnownTraffic();
    const { samples } = await scrape();
    const apiCalls = (labels: Record<string, string>) =>
      sampleSum(samples, 'podgateway_kube_api_request_duration_seconds_count', labels);
    // Creates: foo, bar (2xx); the redelivery (409); the forbidden one (403). One read (2xx).
    assert.equal(apiCalls({ verb: 'create', code: '2xx' }), 2);
    assert.equal(apiCalls({ verb: 'create', code: '409' }), 1);
    assert.equal(apiCalls({ verb: 'create', code: '403' }), 1);
    assert.equal(apiCalls({ verb: 'get', code: '2xx' }), 1);
    assert.equal(apiCalls({}), 5);
    assert.ok(sampleSum(samples, 'podgateway_kube_api_request_duration_seconds_sum') > 0);
    assert.equal(
      sampleSum(samples, 'podgateway_kube_api_request_duration_seconds_bucket', { le: '+Inf' }),
      5,
    );

    assert.equal(sampleSum(samples, 'podgateway_request_duration_seconds_count'), 9);
    assert.equal(sampleSum(samples, 'podgateway_provision_duration_seconds_count'), 9);
    assert.equal(
      sampleSum(samples, 'podgateway_provision_duration_seconds_bucket', { le: '+Inf' }),
      9,
    );
    assert.equal(
      sampleSum(samples, 'podgateway_request_duration_seconds_count', { outcome: 'created' }),
      2,
    );
    assert.equal(sampleSum(samples, 'podgateway_inflight_requests'), 0);
  });

  it('counts requests in flight while an API call is pending', async () => {
    await sendKnownTraffic();
    server.injectFault({ method: 'POST', path: POD_CREATES, delayMs: 1500 });
    const slow = sendEvent(fn.url, pendingEvent({ gateway_name: 'bar' }), 'binary');
    let inflight = 0;
    await eventually('the request in flight to be counted', async () => {
      inflight = sampleSum((await scrape()).samples, 'podgateway_inflight_requests');
      return inflight !== 0;
    });
    assert.equal(inflight, 1);
    assert.equal((await slow).event?.type, DONE_TYPE);
    assert.equal(sampleSum((await scrape()).samples, 'podgateway_inflight_requests'), 0);
  });
});

/** The processes `parent` started that are not reaped yet, from Linux's /proc. */
function childrenOf(parent: ChildProcess): string[] {
  const tasks = `/proc/${parent.pid}/task`;
  return readdirSync(tasks).flatMap((task) => {
    try {
      return readFileSync(join(tasks, task, 'children'), 'utf8')
        .split(' ')
        .filter(Boolean);
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

describe('logs', () => {
  interface LogLine {
    readonly level: number;
    readonly msg?: string;
    readonly [field: string]: unknown;
  }

  /** The lines for the known traffic: they come on stdout, apart from the HTTP answers. */
  async function trafficLogLines(): Promise<LogLine[]> {
    const rejected = () =>
      logLines().filter((line) => line.msg === 'request' && line.outcome === 'rejected');
    await eventually('the log lines of the rejected requests', () => rejected().length >= 3, {
      timeoutMs: 2000,
    }).catch(() => undefined); // the assertions on the lines say what is missing
    return logLines();
  }

  function logLines(): LogLine[] {
    return fn
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  it('writes one JSON line per event, with id, source, gateway, pod, outcome, reason and duration', async () => {
    const { createdIds, forbidden } = await sendKnownTraffic();
    const lines = (await trafficLogLines()).filter((line) => line.msg === 'request');
    assert.equal(lines.filter((line) => line.eventId === createdIds[0]).length, 2);

    const [created] = lines.filter((l) => l.eventId === createdIds[0] && l.outcome === 'created');
    assert.ok(created, 'a line for the created pod');
    assert.equal(created.level, 30, 'info');
    assert.equal(created.source, '/tests/producer');
    assert.equal(created.gateway, 'foo');
    assert.equal(
      created.pod,
      podNameFor({
        eventId: createdIds[0] ?? '',
        eventSource: '/tests/producer',
      }),
    );
    assert.equal(created.namespace, NAMESPACE);
    assert.equal(typeof created.durationMs, 'number');
    assert.ok(
      typeof created.reqId === 'string',
      'the runtime’s request id ties it to its own lines',
    );

    const [redelivered] = lines.filter(
      (l) => l.eventId === createdIds[0] && l.outcome === 'existed',
    );
    assert.equal(redelivered?.pod, created.pod);

    const [refused] = lines.filter((line) => line.eventId === forbidden);
    assert.equal(refused?.outcome, 'failed');
    assert.equal(refused?.reason, 'Forbidden');
    assert.equal(refused?.level, 40, 'warn: someone has to grant the permission');
    assert.match(String(refused?.message), /cannot create resource "pods"/);

    // Every event that got no pod is logged at the default level (warn), with its reason.
    const invalid = lines.find((line) => line.reason === 'InvalidGatewayName');
    assert.equal(invalid?.level, 40);
    assert.equal(invalid?.gateway, 'no,good');
    const rejected = lines.filter((line) => line.outcome === 'rejected');
    assert.equal(rejected.length, 3);
    assert.ok(rejected.every((line) => line.level === 40 && line.reason === 'BadRequest'));
    assert.equal(rejected[0]?.eventId, undefined);
  });

  it('logs and counts the 400s the runtime answers by itself, without an error of its own', async () => {
    const { brokenJson, answers } = await sendKnownTraffic();
    const lines = (await trafficLogLines()).filter((line) => line.msg === 'request');
    const broken = lines.find((line) => line.eventId === brokenJson);
    assert.equal(broken?.outcome, 'rejected');
    assert.equal(broken?.source, '/tests/producer');
    assert.match(String(broken?.message), /the body is not valid JSON/);
    const badSource = lines.find((line) => line.source === '/a b');
    assert.match(String(badSource?.message), /source must match format "uri-reference"/);
    // The producer reads the same words as the log, in the function's answer shape.
    assert.deepEqual(JSON.parse(answers.brokenJson), {
      error: 'BadRequest',
      message: broken?.message,
    });
    assert.deepEqual(JSON.parse(answers.badSource), {
      error: 'BadRequest',
      message: badSource?.message,
    });
    assert.doesNotMatch(fn.output(), /execTimer/);
    assert.equal(logLines().filter((line) => line.level >= 50).length, 0, 'no error lines');
  });

  it('does not log health probes at info', async () => {
    await sendKnownTraffic();
    await trafficLogLines();
    assert.doesNotMatch(fn.output(), /\/health\//);
    assert.ok(
      logLines().some((line) => line.msg === 'incoming request'),
      'requests are, at info',
    );
  });

  it('reports the access check at start in one line and a metric', async () => {
    assert.ok(
      fn
        .output()
        .includes(`access check in namespace "client-system": may ${describeCalls(API_CALLS)}`),
      fn.output(),
    );
    assert.match(fn.output(), /may create, get, list, watch, delete pods and create, patch events/);
    const { samples } = await scrape();
    for (const { verb, resource } of API_CALLS) {
      assert.equal(
        sampleSum(samples, 'podgateway_api_access_allowed', { verb, resource }),
        1,
        `${verb} ${resource}`,
      );
    }
  });

  it('runs what npm start runs: the bundled runtime, its code read from the build’s compile cache', async () => {
    const start = npmStartCommand();
    assert.match(start.args[0] ?? '', /build\/start\.cjs$/);
    // Node tells what it did with each module's cache (NODE_DEBUG_NATIVE): the runtime and the
    // function are compiled from the cache `npm run build` left, under the manifest's heap flags.
    const env = {
      ...process.env,
      NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
      NODE_OPTIONS: '--max-semi-space-size=1 --max-old-space-size=96',
    };
    const runtime = await run(process.execPath, [start.args[0] ?? '', '--version'], {
      cwd: PROJECT_ROOT,
      env,
    });
    const installed = JSON.parse(
      await readFile(fileURLToPath(import.meta.resolve('faas-js-runtime/package.json')), 'utf8'),
    ) as { version: string };
    assert.equal(runtime.stdout.trim(), installed.version, 'the installed runtime, bundled');
    assert.match(runtime.stderr, /code cache for CommonJS \S+\/build\/runtime\.cjs was accepted/);
    const loadFunction = `import { enableCompileCache } from 'node:module';
enableCompileCache(${JSON.stringify(start.compileCache)});
await import(${JSON.stringify(start.args[1])});`;
    const { stderr } = await run(process.execPath, ['--input-type=module', '-e', loadFunction], {
      cwd: PROJECT_ROOT,
      env,
    });
    assert.match(stderr, /code cache for ESM \S+\/build\/index\.js was accepted/);
  });

  it('writes nothing secret: no token, no kubeconfig, no environment', async () => {
    await sendKnownTraffic();
    await trafficLogLines();
    const output = fn.output();
    assert.ok(server.token.length >= 16);
    assert.equal(output.includes(server.token), false, 'the bearer token');
    const caData = /certificate-authority-data: "(.*)"/.exec(await readFile(kubeconfig, 'utf8'));
    assert.ok(caData?.[1]);
    assert.equal(output.includes(caData[1].slice(0, 40)), false, 'the kubeconfig');
    assert.equal(output.includes('KUBECONFIG='), false);
    assert.doesNotMatch(output, /authorization/i);
  });
});

describe('metric labels stay few', () => {
  it('labels listed gateways by name and everything else by kind', () => {
    const listed = new Set(['foo']);
    assert.equal(gatewayLabel('foo', listed), 'foo');
    assert.equal(gatewayLabel('bar', listed), 'unknown');
    assert.equal(gatewayLabel('Not Valid', listed), 'invalid');
    assert.equal(gatewayLabel('', listed), 'none');
    assert.equal(gatewayLabel(undefined, undefined), 'none');
  });

  it(`caps unlisted gateway names at ${MAX_GATEWAY_LABELS} distinct labels`, () => {
    const labels = new Set<string>();
    for (let i = 0; i < MAX_GATEWAY_LABELS * 2; i += 1) {
      labels.add(gatewayLabel(`gw-${i}`, undefined));
    }
    assert.equal(labels.size, MAX_GATEWAY_LABELS + 1);
    assert.ok(labels.has('other'));
    assert.equal(gatewayLabel('gw-0', undefined), 'gw-0', 'a name seen before keeps its label');
  });

  it('keeps Kubernetes reasons and maps anything else to Other', () => {
    assert.equal(reasonLabel('Forbidden'), 'Forbidden');
    assert.equal(reasonLabel('not a reason'), 'Other');
    assert.equal(reasonLabel(undefined), '');
  });
});

describe('tracing, as npm start runs it', () => {
  const PRELOAD = fileURLToPath(new URL('../support/loaded-modules.ts', import.meta.url));
  /** Matches the SDK's packages; not @opentelemetry/api, which prom-client loads in any case. */
  const SDK_MODULE = /\/node_modules\/@opentelemetry\/(?!api\/)/;

  /** Starts the built function with `env`, sends one event, stops it: the modules it loaded. */
  async function runOnce(name: string, env: Record<string, string>): Promise<string[]> {
    const loadedFile = join(workDir, `loaded-${name}.txt`);
    const traced = await startFunction({
      asNpmStart: true,
      env: {
        KUBECONFIG: kubeconfig,
        CLIENT_NAMESPACE: NAMESPACE,
        NODE_OPTIONS: `--import=${PRELOAD}`,
        LOADED_MODULES_FILE: loadedFile,
        ...env,
      },
    });
    try {
      const event = pendingEvent(
        { gateway_name: 'foo' },
        { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      );
      assert.equal((await sendEvent(traced.url, event, 'binary')).event?.type, DONE_TYPE);
    } finally {
      assert.equal(await traced.stop(), 0);
    }
    return (await readFile(loadedFile, 'utf8')).split('\n').filter(Boolean);
  }

  it('off: no endpoint, or OTEL_SDK_DISABLED=true, loads no module of the SDK and sends nothing', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const cases: Record<string, Record<string, string>> = {
        unset: {},
        disabled: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' },
      };
      for (const [name, env] of Object.entries(cases)) {
        const loaded = await runOnce(name, env);
        assert.ok(
          loaded.some((url) => url.endsWith('/build/index.js')),
          'the check sees the bundle',
        );
        assert.deepEqual(
          loaded.filter((url) => SDK_MODULE.test(url)),
          [],
          name,
        );
      }
      assert.equal(receiver.requests(), 0);
    } finally {
      await receiver.close();
    }
  });

  it('on: the SDK is loaded from node_modules and the spans are flushed at SIGTERM', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const loaded = await runOnce('on', {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // No export before the SIGTERM: the spans arrive through the flush at shutdown.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      });
      assert.ok(loaded.some((url) => SDK_MODULE.test(url)));
      const spans = receiver.spans();
      assert.ok(spans.length >= 3, spans.map((span) => span.name).join());
      assert.ok(spans.every((span) => span.traceId === '0af7651916cd43dd8448eb211c80319c'));
    } finally {
      await receiver.close();
    }
  });
});

describe('the end, as npm start runs it', () => {
  it('on SIGTERM stops being ready, drains and exits 0', async () => {
    await sendKnownTraffic();
    const exited = once(fn.process, 'exit');
    fn.process.kill('SIGTERM');
    // The drain has begun once the readiness check says so; the runtime exits after it.
    let readiness = 200;
    while (readiness === 200 && fn.process.exitCode === null) {
      readiness = await fetch(`${fn.url}/health/readiness`).then(
        (response) => response.status,
        () => 0,
      );
    }
    assert.notEqual(readiness, 200, 'not ready once SIGTERM is received');
    const [code] = await exited;
    assert.equal(code, 0);
  });
});

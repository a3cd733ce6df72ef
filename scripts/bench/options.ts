// The bench's flags, and what follows from them and from deploy/service.yaml: read by main, once,
// and handed to each part.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { deployedProcessEnv } from '../../testbed/deployed-env.ts';
import { npmStartCommand } from '../../testbed/function-process.ts';
import type { StartCommand } from '../../testbed/start-command.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RUNTIME_CLI = fileURLToPath(import.meta.resolve('faas-js-runtime/bin/cli.js'));
export const NAMESPACE = 'client-system';
export const CONCURRENCIES = [1, 16, 64] as const;

export const USAGE = `usage: npm run bench -- [flags]   (builds first; a markdown table on stdout)
Subjects, each with the NODE_OPTIONS and MALLOC_ARENA_MAX of deploy/service.yaml: provisioner
(npm start), floor (the empty faas-js-runtime function plus one keep-alive HTTPS pod create and
the pod's Event: the reference of every ratio), limit (node:http plus the same create and Event),
empty (the empty function), bare (node:http).
  --cold-runs N          cold starts measured per subject (7; --quick: 3)
  --repeats N            steady-state and WAIT_FOR=scheduled runs (3; --quick: 1)
  --duration-ms MS       length of each steady-state load (2000; --quick: 1000)
  --soak N               events of the memory soak (10000; --quick: 2000)
  --soak-concurrency N   its concurrency (the containerConcurrency of deploy/service.yaml)
  --quick                the preset for iterating: the figures above, no WAIT_FOR=scheduled run
  --env KEY=VALUE        set in the provisioner's environment (repeatable)
  --subjects LIST        of provisioner,floor,limit,empty,bare (all)
  --empty-function PATH  the script of the empty column (scripts/bench/empty-function.js)
  --no-scheduled         skip the WAIT_FOR=scheduled run
  --cluster              instead: against the real control plane of testbed/cluster/ (Go 1.26+;
                         npm run cluster:build), the provisioner, the limit with its Event (the
                         reference), the floor with its Event and the plain limit, then the
                         provisioner and the limit at WAIT_FOR=ready: events/s, p50/p99, CPU and
                         kube-apiserver's requests per event, by verb and resource
  --scale                with --cluster: the bench plays the Broker (redelivers 5xx and no answer,
                         a tenth of the events twice): 10,000 events, an etcd compaction and a
                         kube-apiserver restart halfway; events/s, 503s, redeliveries, the
                         restart's downtime, RSS, pods per event id counted through the API
  --throttle             with --cluster: 1,000 events as the Broker sends them, then as many with
                         the function's ServiceAccount given a tiny API Priority and Fairness share
  --events N             the events of --scale or --throttle
  --oidc                 instead: against the same control plane, the provisioner with OIDC_AUDIENCE
                         set and empty, every event with a TokenRequest token; then one token
                         checked by the function's TokenVerifier and by a TokenReview
  -h, --help             this text`;

/** The bench's settings: its flags, and what follows from them and from deploy/service.yaml. */
export interface BenchOptions {
  readonly help: boolean;
  /** --cluster: the provisioner and the limit against the real control plane instead. */
  readonly cluster: boolean;
  /** --oidc: the cost of checking the Broker's tokens, against the real control plane instead. */
  readonly oidc: boolean;
  /** --cluster --scale: many events through a kube-apiserver restart and an etcd compaction. */
  readonly scale: boolean;
  /** --cluster --throttle: the function under a tiny API Priority and Fairness share. */
  readonly throttle: boolean;
  /** --events: the events of --scale or --throttle; each has its own default when absent. */
  readonly events: number | undefined;
  readonly coldRuns: number;
  readonly repeats: number;
  readonly durationMs: number;
  readonly soakEvents: number;
  readonly soakConcurrency: number;
  /** The WAIT_FOR=scheduled run. */
  readonly scheduledRun: boolean;
  /**
   * What the deployed container gets from Node's side (NODE_OPTIONS, MALLOC_ARENA_MAX,
   * testbed/deployed-env.ts): the same for every subject, like for like.
   */
  readonly deployedEnv: Readonly<Record<string, string>>;
  /** The provisioner's environment: the deployed variables, then every --env. */
  readonly provisionerEnv: Readonly<Record<string, string>>;
  readonly subjects: ReadonlySet<string>;
  /** The script of the `empty` column: a layer between it and the provisioner, to measure. */
  readonly emptyFunction: string;
  /** What `npm start` runs: the start file (compile cache on, the bundled runtime) and the function. */
  readonly npmStart: StartCommand;
}

/** Reads the flags (`args`, without node and the script): throws, saying which, on a bad one. */
export function readOptions(args: readonly string[]): BenchOptions {
  const { values: flags } = parseArgs({
    args: [...args],
    options: {
      'cold-runs': { type: 'string' },
      repeats: { type: 'string' },
      'duration-ms': { type: 'string' },
      soak: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'soak-concurrency': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      subjects: { type: 'string', default: 'provisioner,floor,limit,empty,bare' },
      'empty-function': { type: 'string', default: 'scripts/bench/empty-function.js' },
      'no-scheduled': { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      oidc: { type: 'boolean', default: false },
      scale: { type: 'boolean', default: false },
      throttle: { type: 'boolean', default: false },
      events: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  /** A flag's value, or its preset: the full run's, or --quick's. */
  const preset = (value: string | undefined, full: number, quick: number): number =>
    value === undefined ? (flags.quick ? quick : full) : Number(value);
  if ((flags.scale || flags.throttle) && !flags.cluster) {
    throw new Error('--scale and --throttle run against the real control plane: add --cluster');
  }
  const events = flags.events === undefined ? undefined : Number(flags.events);
  if (events !== undefined && !(Number.isInteger(events) && events > 0 && events <= 100_000)) {
    throw new Error(`--events: expected a whole number from 1 to 100000, got "${flags.events}"`);
  }
  const service = readService();
  const deployedEnv = deployedProcessEnv();
  return {
    help: flags.help,
    cluster: flags.cluster,
    oidc: flags.oidc,
    scale: flags.scale,
    throttle: flags.throttle,
    events,
    coldRuns: preset(flags['cold-runs'], 7, 3),
    repeats: preset(flags.repeats, 3, 1),
    durationMs: preset(flags['duration-ms'], 2000, 1000),
    soakEvents: preset(flags.soak, 10000, 2000),
    soakConcurrency: Number(flags['soak-concurrency'] ?? (service.containerConcurrency || 64)),
    scheduledRun: !flags['no-scheduled'] && !flags.quick,
    deployedEnv,
    provisionerEnv: {
      ...deployedEnv,
      ...Object.fromEntries(
        flags.env.map((pair) => {
          const at = pair.indexOf('=');
          return [pair.slice(0, at), pair.slice(at + 1)];
        }),
      ),
    },
    subjects: new Set(flags.subjects.split(',')),
    emptyFunction: flags['empty-function'],
    npmStart: npmStartCommand(),
  };
}

export const WARMUP_EVENTS = 1000;
export const SOAK_SAMPLES = 10;

interface ServiceSpec {
  readonly containerConcurrency?: number;
  readonly containers: ReadonlyArray<{ env?: Array<{ name: string; value: string }> }>;
}

/** deploy/service.yaml's pod template: its containerConcurrency and its container's env. */
function readService(): ServiceSpec {
  const service = parseYaml(
    readFileSync(join(ROOT, 'deploy/service.yaml'), 'utf8').split('\n---')[0] ?? '',
  ) as { spec: { template: { spec: ServiceSpec } } };
  return service.spec.template.spec;
}

export type SubjectKey = 'provisioner' | 'floor' | 'limit' | 'empty' | 'bare';
export const KEYS: readonly SubjectKey[] = ['provisioner', 'floor', 'limit', 'empty', 'bare'];
/** The reference of every ratio: the floor of the design, the runtime plus one create and its Event. */
export const REFERENCE: SubjectKey = 'floor';

export interface Subject {
  readonly key: SubjectKey;
  readonly label: string;
  /** How it is started, for the table: the command and its deployed variables. */
  readonly settings: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

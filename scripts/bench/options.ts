// The bench's flags, and what follows from them and from deploy/service.yaml: read once, when the
// bench starts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { npmStartCommand } from '../../test/support/function-process.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RUNTIME_CLI = fileURLToPath(import.meta.resolve('faas-js-runtime/bin/cli.js'));
export const NAMESPACE = 'client-system';
export const DONE_TYPE = 'io.podgateway.client.scheduling.done';
export const CONCURRENCIES = [1, 16, 64] as const;

export const USAGE = `usage: npm run bench -- [flags]   (builds first; a markdown table on stdout)
Subjects, each with the NODE_OPTIONS of deploy/service.yaml: provisioner (npm start), floor (the
empty faas-js-runtime function plus one keep-alive HTTPS pod create: the reference of every
ratio), limit (node:http plus the same create), empty (the empty function), bare (node:http).
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
  --cluster              instead: the provisioner and the limit against the real control plane of
                         test/cluster/ (Go 1.26+; npm run cluster:build): events/s, p50/p99, CPU and
                         kube-apiserver's requests per event
  --oidc                 instead: against the same control plane, the provisioner with OIDC_AUDIENCE
                         set and empty, every event with a TokenRequest token; then one token
                         checked by the function's TokenVerifier and by a TokenReview
  -h, --help             this text`;

function readFlags() {
  try {
    return parseArgs({
      options: {
        'cold-runs': { type: 'string' },
        repeats: { type: 'string' },
        'duration-ms': { type: 'string' },
        soak: { type: 'string' },
        /** Fewer, shorter runs for iterating; the flags above still win. */
        quick: { type: 'boolean', default: false },
        /** Concurrency of the soak; default: the containerConcurrency of deploy/service.yaml. */
        'soak-concurrency': { type: 'string' },
        /** KEY=VALUE set in the provisioner's environment (over deploy/service.yaml's NODE_OPTIONS). */
        env: { type: 'string', multiple: true, default: [] },
        /** Subjects to run (provisioner,floor,limit,empty,bare); the table shows n/a for the others. */
        subjects: { type: 'string', default: 'provisioner,floor,limit,empty,bare' },
        /** The script of the `empty` column: a layer between it and the provisioner, to measure. */
        'empty-function': { type: 'string', default: 'scripts/bench/empty-function.js' },
        /** Skip the WAIT_FOR=scheduled run. */
        'no-scheduled': { type: 'boolean', default: false },
        cluster: { type: 'boolean', default: false },
        oidc: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`npm run bench: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
}

export const flags = readFlags();
/** A flag's value, or its preset: the full run's, or --quick's. */
function preset(value: string | undefined, full: number, quick: number): number {
  return value === undefined ? (flags.quick ? quick : full) : Number(value);
}
export const COLD_RUNS = preset(flags['cold-runs'], 7, 3);
export const REPEATS = preset(flags.repeats, 3, 1);
export const DURATION_MS = preset(flags['duration-ms'], 2000, 1000);
export const SOAK_EVENTS = preset(flags.soak, 10000, 2000);
export const SCHEDULED_RUN = !flags['no-scheduled'] && !flags.quick;
export const WARMUP_EVENTS = 1000;
export const SOAK_SAMPLES = 10;
const SERVICE = parseYaml(
  readFileSync(join(ROOT, 'deploy/service.yaml'), 'utf8').split('\n---')[0] ?? '',
) as {
  spec: {
    template: {
      spec: {
        containerConcurrency?: number;
        containers: Array<{ env?: Array<{ name: string; value: string }> }>;
      };
    };
  };
};
/** What the deployed container gets: the same V8 flags for every subject, like for like. */
export const DEPLOYED_NODE_OPTIONS =
  SERVICE.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ??
  '';
export const SOAK_CONCURRENCY = Number(
  flags['soak-concurrency'] ?? (SERVICE.spec.template.spec.containerConcurrency || 64),
);
/** What `npm start` runs: the start file (compile cache on, the bundled runtime) and the function. */
export const NPM_START = npmStartCommand();
export const PROVISIONER_ENV: Record<string, string> = {
  ...(DEPLOYED_NODE_OPTIONS ? { NODE_OPTIONS: DEPLOYED_NODE_OPTIONS } : {}),
  ...Object.fromEntries(
    (flags.env ?? []).map((pair) => {
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  ),
};
export const SELECTED = new Set(flags.subjects.split(','));

export type SubjectKey = 'provisioner' | 'floor' | 'limit' | 'empty' | 'bare';
export const KEYS: readonly SubjectKey[] = ['provisioner', 'floor', 'limit', 'empty', 'bare'];
/** The reference of every ratio: the floor of the design, the runtime plus one create. */
export const REFERENCE: SubjectKey = 'floor';

export interface Subject {
  readonly key: SubjectKey;
  readonly label: string;
  /** How it is started, for the table: the command and its NODE_OPTIONS. */
  readonly settings: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

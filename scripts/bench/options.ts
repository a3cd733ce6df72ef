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
  --cold-runs N          cold starts measured per subject (7)
  --repeats N            steady-state and WAIT_FOR=scheduled runs (3)
  --duration-ms MS       length of each steady-state load (2000)
  --soak N               events of the memory soak (10000)
  --soak-concurrency N   its concurrency (the containerConcurrency of deploy/service.yaml)
  --env KEY=VALUE        set in the provisioner's environment (repeatable)
  --subjects LIST        of provisioner,limit,empty,bare (all)
  --empty-function PATH  the script of the empty column (scripts/bench/empty-function.js)
  --no-scheduled         skip the WAIT_FOR=scheduled run
  -h, --help             this text`;

function readFlags() {
  try {
    return parseArgs({
      options: {
        'cold-runs': { type: 'string', default: '7' },
        repeats: { type: 'string', default: '3' },
        'duration-ms': { type: 'string', default: '2000' },
        soak: { type: 'string', default: '10000' },
        /** Concurrency of the soak; default: the containerConcurrency of deploy/service.yaml. */
        'soak-concurrency': { type: 'string' },
        /** KEY=VALUE set in the provisioner's environment (over deploy/service.yaml's NODE_OPTIONS). */
        env: { type: 'string', multiple: true, default: [] },
        /** Subjects to run (provisioner,limit,empty,bare); the table shows n/a for the others. */
        subjects: { type: 'string', default: 'provisioner,limit,empty,bare' },
        /** The script of the `empty` column: a layer between it and the provisioner, to measure. */
        'empty-function': { type: 'string', default: 'scripts/bench/empty-function.js' },
        /** Skip the WAIT_FOR=scheduled run. */
        'no-scheduled': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`npm run bench: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
}

export const flags = readFlags();
export const COLD_RUNS = Number(flags['cold-runs']);
export const REPEATS = Number(flags.repeats);
export const DURATION_MS = Number(flags['duration-ms']);
export const SOAK_EVENTS = Number(flags.soak);
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
/** What the deployed container gets: the same V8 flags here. */
const DEPLOYED_NODE_OPTIONS =
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

export type SubjectKey = 'provisioner' | 'limit' | 'empty' | 'bare';
export const KEYS: readonly SubjectKey[] = ['provisioner', 'limit', 'empty', 'bare'];

export interface Subject {
  readonly key: SubjectKey;
  readonly label: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

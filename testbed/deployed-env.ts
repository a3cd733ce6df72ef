// The variables of deploy/service.yaml that Node and its C library read rather than the function:
// the V8 heap limits (NODE_OPTIONS) and glibc's malloc arenas (MALLOC_ARENA_MAX), both chosen by
// the bench and the hostile soak (BENCHMARKS.md). Whatever runs the function or a subject beside
// it "as deployed" starts it with these, like for like.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from './function-process.ts';

/** Read by Node itself or its C library, not by src/config/config.ts. */
export const PROCESS_VARIABLES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const;

interface KnativeService {
  readonly spec: {
    readonly template: {
      readonly spec: {
        readonly containers: ReadonlyArray<{
          readonly env?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
        }>;
      };
    };
  };
}

/** deploy/service.yaml's PROCESS_VARIABLES, each as deployed; an error when one is missing. */
export function deployedProcessEnv(): Record<string, string> {
  const text = readFileSync(join(PROJECT_ROOT, 'deploy', 'service.yaml'), 'utf8');
  const [service] = parseAllDocuments(text).map((doc) => doc.toJS() as KnativeService);
  const env = service?.spec.template.spec.containers[0]?.env ?? [];
  const deployed: Record<string, string> = {};
  for (const name of PROCESS_VARIABLES) {
    const value = env.find((entry) => entry.name === name)?.value;
    if (value === undefined) throw new Error(`deploy/service.yaml sets no ${name}`);
    deployed[name] = value;
  }
  return deployed;
}

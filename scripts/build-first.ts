// What `npm run bench` and `npm run soak` run first: `npm run build` (scripts/build.ts), in a
// process of its own, so that their `--help` answers without building.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = fileURLToPath(new URL('build.ts', import.meta.url));

/** Runs the build, its output on ours; throws when it fails. */
export function buildFirst(): void {
  const result = spawnSync(process.execPath, [BUILD_SCRIPT], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`npm run build failed (${result.status ?? result.signal})`);
  }
}

// The team's reference files (Knative's and Argo Events' published contracts) live in shared/,
// beside the repository: CI runs in a fresh clone with a copy of shared/ next to it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './function-process.ts';

export const SHARED_DIR = join(PROJECT_ROOT, '..', 'shared');

/** The path of `parts` under shared/reference; one plain line when it is not there. */
export function sharedReference(...parts: string[]): string {
  const path = join(SHARED_DIR, 'reference', ...parts);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: shared/ must sit beside the repository (as CI lays it)`);
  }
  return path;
}

// The modules package.json's test script preloads into every test file's process (Node's compile
// cache, the client library's bundle), for the scripts a test starts in a process of its own:
// a `node scripts/….ts` then loads in about half the CPU, and runs the same code.
import { fileURLToPath } from 'node:url';

const FILES = ['compile-cache.ts', 'client-bundle.ts'].map((file) =>
  fileURLToPath(new URL(file, import.meta.url)),
);

/** Node's flags for them: `spawn(process.execPath, [...PRELOAD_FLAGS, 'scripts/dev.ts', …])`. */
export const PRELOAD_FLAGS: readonly string[] = FILES.flatMap((file) => ['--import', file]);

/** The same as NODE_OPTIONS, for a script started through npm (`npm run dev`). */
export const PRELOAD_NODE_OPTIONS = FILES.map((file) => `--import="${file}"`).join(' ');

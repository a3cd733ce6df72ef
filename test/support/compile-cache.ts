// Preloaded into every test file's process (`node --import` in package.json's test script): Node's
// compile cache, so that the sixty-odd test processes, which load the same modules (the client
// library, the API test server, the runtime), read their compiled code instead of compiling it
// again: about a fifth of the suite's CPU (BENCHMARKS.md). The function processes the tests start
// have their own (testbed/function-process.ts).
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

enableCompileCache(
  fileURLToPath(new URL('../../node_modules/.cache/test-files-cache', import.meta.url)),
);

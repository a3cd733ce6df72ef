// Preloaded into every test file's process (`node --import` in package.json's test script):
// `import ... from '@kubernetes/client-node'` loads one esbuild bundle of the client library
// instead of its ~870 files. Resolving, reading and linking those files cost about half a second
// of CPU in each of the sixty-odd test processes; the bundle loads in a fraction of it. It is the
// same code `npm run build` bundles into the function (scripts/build.ts), built once per client
// version into node_modules/.cache (not committed), and every import of the package in a test
// process, ours and src/'s alike, gets that one copy.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const PACKAGE = '@kubernetes/client-node';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { version } = JSON.parse(
  readFileSync(`${ROOT}node_modules/${PACKAGE}/package.json`, 'utf8'),
) as { version: string };
const bundle = `${ROOT}node_modules/.cache/test-bundles/kubernetes-client-node-${version}.mjs`;

function buildOnce(): void {
  if (existsSync(bundle)) return;
  // Written aside, then renamed: test processes starting together never load half a file.
  const partial = `${bundle}.${process.pid}.partial`;
  buildSync({
    absWorkingDir: ROOT,
    stdin: { contents: `export * from '${PACKAGE}';`, resolveDir: ROOT, loader: 'js' },
    outfile: partial,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // Whitespace and syntax only, as scripts/build.ts: names kept, for stack traces and classes.
    minifyWhitespace: true,
    minifySyntax: true,
    lineLimit: 160,
    logLevel: 'warning',
    // The CommonJS parts of the bundle (undici, js-yaml, …) call require() for Node's modules.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  renameSync(partial, bundle);
}

buildOnce();
const bundleUrl = pathToFileURL(bundle).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    return specifier === PACKAGE
      ? { url: bundleUrl, format: 'module', shortCircuit: true }
      : nextResolve(specifier, context);
  },
});

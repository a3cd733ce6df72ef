// Preloaded into every test file's process (`node --import` in package.json's test script):
// `import ... from '@kubernetes/client-node'` loads one esbuild bundle of the client library
// instead of its ~870 files. Resolving, reading and linking those files cost about half a second
// of CPU in each of the sixty-odd test processes; the bundle loads in a fraction of it. It is the
// same code `npm run build` bundles into the function (scripts/build.ts), built once per client
// version into node_modules/.cache (not committed), and every import of the package in a test
// process, ours and src/'s alike, gets that one copy. The same for one more package (BUNDLED).
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The packages bundled, with the package.json their version is read from. Besides the client
 * library: the API test server's Pod schema (kubernetes-models with ajv, ~230 files).
 */
const BUNDLED: ReadonlyMap<string, string> = new Map([
  ['@kubernetes/client-node', '@kubernetes/client-node'],
  ['kubernetes-models/v1/Pod', 'kubernetes-models'],
]);

function bundlePath(specifier: string, packageName: string): string {
  const { version } = JSON.parse(
    readFileSync(`${ROOT}node_modules/${packageName}/package.json`, 'utf8'),
  ) as { version: string };
  const name = specifier.replace(/^@/, '').replace(/[^a-z0-9]+/gi, '-');
  return `${ROOT}node_modules/.cache/test-bundles/${name}-${version}.mjs`;
}

function buildOnce(specifier: string, bundle: string): void {
  if (existsSync(bundle)) return;
  // Written aside, then renamed: test processes starting together never load half a file.
  const partial = `${bundle}.${process.pid}.partial`;
  buildSync({
    absWorkingDir: ROOT,
    stdin: { contents: `export * from '${specifier}';`, resolveDir: ROOT, loader: 'js' },
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

const bundleUrls = new Map(
  [...BUNDLED].map(([specifier, packageName]) => {
    const bundle = bundlePath(specifier, packageName);
    buildOnce(specifier, bundle);
    return [specifier, pathToFileURL(bundle).href] as const;
  }),
);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const url = bundleUrls.get(specifier);
    return url ? { url, format: 'module', shortCircuit: true } : nextResolve(specifier, context);
  },
});

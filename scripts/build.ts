// `npm run build`: bundles the function into build/index.js, the one file `npm start`
// (faas-js-runtime) loads. @kubernetes/client-node, cloudevents and our code are bundled and
// tree-shaken: the client library alone is about 2,800 files, and resolving and reading them
// cost more start-up time than the whole runtime. Left outside, and loaded from node_modules:
// faas-js-runtime (the loader, already loaded when our module is) and prom-client (our metrics
// must land in the very registry instance the runtime serves on /metrics).
import { rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT_DIR = `${ROOT}build`;

/** Packages loaded from node_modules at run time: they must stay in `dependencies`. */
export const EXTERNAL = ['faas-js-runtime', 'prom-client'];

/**
 * Node's modules, imported with `import` in the ES modules of the bundle, are loaded with
 * `require` instead. An ES import of a built-in module makes Node build its ES facade, which
 * reads every export: for node:http that loads Node's own copy of undici for its lazy
 * WebSocket-related exports (about 40 ms of a cold start here), which nothing here uses.
 */
const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^[a-z:_/]+$/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path)
        ? { path: args.path, namespace: 'builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

await rm(OUT_DIR, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['index.ts'],
  outfile: `${OUT_DIR}/index.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: EXTERNAL,
  // Whitespace and syntax only: identifiers kept, names not forced. Measured importing the
  // bundle: full minification with keepNames 270 ms and 97 MB, without keepNames 255 ms and
  // 94 MB, this 245 ms and 91 MB (2.8 MB of source against 2.1 MB). Class names are then the
  // source's, except where esbuild must rename: src/reply.ts sees to the one that matters.
  minifyWhitespace: true,
  minifySyntax: true,
  // Short lines: Node prints the source line of an uncaught error, and a minified bundle is
  // otherwise one line of megabytes.
  lineLimit: 160,
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  plugins: [builtinsByRequire],
  logLevel: 'warning',
  // The CommonJS parts of the bundle (undici, js-yaml, …) call require() for Node's modules.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
const [output] = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
if (output) {
  console.log(`${output[0]}: ${(output[1].bytes / 1024 / 1024).toFixed(1)} MB`);
}

// `npm run build`: bundles the function into build/index.js, the one file `npm start`
// (faas-js-runtime) loads, and the runtime's CLI into build/runtime.cjs (below), which
// build/start.cjs starts with Node's compile cache on; then fills that cache.
// @kubernetes/client-node, cloudevents and our code are bundled and tree-shaken: the client
// library alone is about 2,800 files, and resolving and reading them cost more start-up time than
// the whole runtime. Left outside the function's bundle: faas-js-runtime (the loader, bundled on
// its own) and prom-client (loaded from node_modules by both: our metrics must land in the very
// registry instance the runtime serves on /metrics), and the OpenTelemetry SDK: imported only
// when tracing is on (src/observability/otel-sdk.ts), so that tracing off loads none of it.
import { execFileSync } from 'node:child_process';
import { copyFile, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { npmStartCommand } from '../testbed/start-command.ts';

const USAGE = `usage: npm run build
Bundles the function into build/index.js and faas-js-runtime into build/runtime.cjs, copies
build/start.cjs (what npm start runs) and fills Node's compile cache in build/.cache.
  -h, --help  this text`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const unknownFlag = process.argv.slice(2)[0];
if (unknownFlag !== undefined) {
  process.stderr.write(`npm run build: ${unknownFlag}: not an option\n${USAGE}\n`);
  process.exit(2);
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT_DIR = `${ROOT}build`;

/** Packages loaded from node_modules at run time: they must stay in `dependencies`. */
export const EXTERNAL = ['faas-js-runtime', 'prom-client', '@opentelemetry/*'];

/**
 * Node's modules, imported with `import` in the ES modules of the bundle, are loaded with
 * `require` instead. An ES import of a built-in module makes Node build its ES facade, which
 * reads every export: for node:http that loads Node's own copy of undici for its lazy
 * WebSocket-related exports (cold-start cost in BENCHMARKS.md), which nothing here uses.
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
  // Whitespace and syntax only: identifiers kept, names not forced (the minification options
  // compared: BENCHMARKS.md). Class names are then the
  // source's, except where esbuild must rename: src/events/replies.ts sees to the one that matters.
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

/** `runtime:cloudevents…` in scripts/runtime-entry.cjs: the SDK as faas-js-runtime resolves it. */
const runtimeCloudEvents: Plugin = {
  name: 'runtime-cloudevents',
  setup(build) {
    build.onResolve({ filter: /^runtime:cloudevents/ }, (args) =>
      build.resolve(args.path.slice('runtime:'.length), {
        kind: 'require-call',
        resolveDir: dirname(fileURLToPath(import.meta.resolve('faas-js-runtime'))),
      }),
    );
  },
};

// faas-js-runtime's CLI and everything it loads, as one CommonJS file; prom-client stays outside,
// one instance for the runtime's metrics and ours (src/observability/metrics.ts).
await build({
  absWorkingDir: ROOT,
  entryPoints: ['scripts/runtime-entry.cjs'],
  outfile: `${OUT_DIR}/runtime.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: ['prom-client'],
  // CommonJS builds of its dependencies, as `require` loads them: ES module builds would make the
  // bundle strict, and the runtime assigns an undeclared variable (lib/metrics.js `osu`).
  conditions: [],
  mainFields: ['main'],
  // Not our tsconfig: its `strict` would make the whole bundle strict mode.
  tsconfigRaw: {},
  minifyWhitespace: true,
  minifySyntax: true,
  lineLimit: 160,
  sourcemap: 'linked',
  legalComments: 'linked',
  plugins: [runtimeCloudEvents],
  logLevel: 'warning',
});

/**
 * Node's compile cache for what `npm start` loads: the runtime's bundle and the function's,
 * compiled once here by processes that load them and exit (Node writes the cache then), so that a
 * cold start reads V8's code from the cache instead of compiling it (BENCHMARKS.md). The start
 * file (scripts/start.cjs, copied to build/) turns the cache on in the `.cache` folder beside it.
 * The func buildpack runs this build in the image, with the Node that starts it: a cache of
 * another Node version is not used (Node checks), and a changed file is compiled again (the cache
 * is keyed by the source's hash).
 */
async function fillCompileCache(): Promise<void> {
  await copyFile(`${ROOT}scripts/start.cjs`, `${OUT_DIR}/start.cjs`);
  const { compileCache } = npmStartCommand(ROOT);
  const run = (args: string[]) =>
    execFileSync(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  // The runtime: its `--version` loads the whole bundle, then exits.
  run([`${OUT_DIR}/start.cjs`, '--version']);
  // The function: its module only (`init` is the runtime's to call).
  run([
    '--input-type=module',
    '-e',
    `import { enableCompileCache } from 'node:module';
enableCompileCache(${JSON.stringify(compileCache)});
await import(${JSON.stringify(`${OUT_DIR}/index.js`)});`,
  ]);
}

await fillCompileCache();

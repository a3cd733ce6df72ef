// The entry of build/runtime.cjs, what `npm start` runs (scripts/build.ts): faas-js-runtime's own
// CLI, bundled with its dependencies (Fastify, pino, its CloudEvents SDK, …) so that a cold start
// does not resolve and read some 500 files of node_modules one by one. Its CloudEvents SDK is
// bundled with it, out of reach of a `require`: it is put where src/edge/runtime-patches.ts adjusts it.
// `runtime:cloudevents` is the runtime's own copy (it may be another version than ours).
globalThis[Symbol.for('podgateway.runtime-cloudevents')] = {
  sdk: require('runtime:cloudevents'),
  parsers: require('runtime:cloudevents/dist/parsers.js'),
};
require('faas-js-runtime/bin/cli.js');

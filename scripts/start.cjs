// What `npm start` runs (`node build/start.cjs ./build/index.js`), copied to build/ by
// scripts/build.ts: Node's compile cache on, in the `.cache` folder beside this file that
// `npm run build` fills, then faas-js-runtime's CLI, bundled in runtime.cjs beside it. The cache
// is on before the runtime loads, so that its code and the function's are read compiled.
const { enableCompileCache } = require('node:module');
const { join } = require('node:path');

enableCompileCache(join(__dirname, '.cache'));
require('./runtime.cjs');

// Builds whatever binary of the test cluster is missing from the cache (see testbed/cluster/build.ts)
// and prints where they are:  node scripts/cluster/build.ts
import { cacheRoot, ensureBinaries } from '../../testbed/cluster/build.ts';
import { ClusterError } from '../../testbed/cluster/errors.ts';

const USAGE = `usage: npm run cluster:build
  builds the test cluster's binaries that are missing from the cache (CLUSTER_CACHE_DIR), Knative Serving's (what --knative runs) included
  -h, --help  this text`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknownFlag = process.argv.slice(2)[0];
if (unknownFlag !== undefined) {
  console.error(`npm run cluster:build: ${unknownFlag}: not an option\n${USAGE}`);
  process.exit(2);
}

try {
  const started = Date.now();
  // Everything the cluster suite runs, Knative Serving's binaries included.
  const binaries = await ensureBinaries(console.log, { knative: true });
  for (const [name, path] of Object.entries(binaries.paths)) console.log(`${name}: ${path}`);
  console.log(`cache: ${cacheRoot()} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (error) {
  console.error(error instanceof ClusterError ? error.message : error);
  process.exit(1);
}

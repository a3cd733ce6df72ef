// Builds whatever binary of the test cluster is missing from the cache (see testbed/cluster/build.ts)
// and prints where they are:  node scripts/cluster/build.ts
import { cacheRoot, ensureBinaries } from '../../testbed/cluster/build.ts';
import { ClusterError } from '../../testbed/cluster/errors.ts';

if (process.argv.includes('--help')) {
  console.log(
    "usage: npm run cluster:build\n  builds the test cluster's binaries that are missing from the cache (CLUSTER_CACHE_DIR), Knative Serving's (--knative) included",
  );
  process.exit(0);
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

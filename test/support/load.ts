// Load with redelivery, shared by test/load.test.ts and scripts/soak.ts: a client that redelivers
// as Knative does, a mixer that makes a share of the Kubernetes API calls fail, and the run that
// sends many events (some twice) and counts what came of each: pods, replies, duplicates, losses.
// Split by concern; this module gathers them for its importers.

export * from './load-faults.ts';
export * from './load-random.ts';
export * from './load-redelivery.ts';
export * from './load-report.ts';
export * from './load-run.ts';

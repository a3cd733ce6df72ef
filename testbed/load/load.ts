// Load with redelivery, shared by test/load/load.test.ts and scripts/soak.ts: a client that redelivers
// as Knative does, a mixer that makes a share of the Kubernetes API calls fail, and the run that
// sends many events (some twice) and counts what came of each: pods, replies, duplicates, losses.
// Split by concern; this module gathers them for its importers.

export * from './faults.ts';
export * from './random.ts';
export * from './redelivery.ts';
export * from './report.ts';
export * from './run.ts';

// The CloudEvent types of releases, sweeps and the scheduled ping, beside PENDING_TYPE
// (src/events/pending-request.ts) and the scheduling replies (src/events/replies.ts): constants
// alone, so that what only names the types (scripts/invoke.ts, the tests) loads no handler and no
// Kubernetes client.

export const RELEASE_TYPE = 'io.podgateway.client.release';
export const RELEASE_DONE_TYPE = 'io.podgateway.client.release.done';
export const RELEASE_FAILED_TYPE = 'io.podgateway.client.release.failed';

export const SWEEP_TYPE = 'io.podgateway.client.sweep';
export const SWEEP_DONE_TYPE = 'io.podgateway.client.sweep.done';
export const SWEEP_FAILED_TYPE = 'io.podgateway.client.sweep.failed';

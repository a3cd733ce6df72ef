// The pod-gateway client provisioner: a Knative Function run by faas-js-runtime.
// A `pending` CloudEvent in; a client pod created; a `done` or `failed` CloudEvent back.
// The runtime reads these exports, as knative/func's TypeScript template has them; the function
// itself is wired in src/lifecycle/function.ts.
import { provisionerFunction } from './src/lifecycle/function.ts';

const provisioner = provisionerFunction(process.env);

export const { init, shutdown, handle, liveness, readiness } = provisioner;

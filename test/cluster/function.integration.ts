// The function end to end against the real control plane (test/cluster/README.md): one cluster
// for every case of the run, started once (about 12 s), each concern in its own module of
// suite/. Run alone: node --test test/cluster/function.integration.ts
import { after, before } from 'node:test';
import { describeAccess } from './suite/access.ts';
import { describeAdmission } from './suite/admission.ts';
import { describeCloudEvents } from './suite/cloudevents.ts';
import { Suite } from './suite/context.ts';
import { describeDifferential } from './suite/differential.ts';
import { describeLifecycle } from './suite/lifecycle.ts';
import { describeOidc } from './suite/oidc.ts';
import { describeProvisioning } from './suite/provisioning.ts';
import { describeScale } from './suite/scale.ts';
import { describeThrottle } from './suite/throttle.ts';
import { describeWatch } from './suite/watch.ts';

const suite = new Suite();
before(() => suite.start(), { timeout: 30 * 60_000 });
after(() => suite.stop());

describeProvisioning(suite);
describeAdmission(suite);
describeWatch(suite);
describeLifecycle(suite);
describeAccess(suite);
describeOidc(suite);
describeDifferential(suite);
describeCloudEvents(suite);
// Last: they fill the namespace with pods (deleted after) and throttle the function's account.
describeThrottle(suite);
describeScale(suite);

// kube-apiserver throttling the function: its ServiceAccount gets a tiny API Priority and
// Fairness share (testbed/cluster/flow-control.ts: about 3 seats, one queue of 1), and the
// load generator, playing the Broker, drives it far past that. kube-apiserver answers 429 with
// Retry-After; the function waits as told, and what the event's deadline cannot wait for it
// answers 503 with Retry-After, which the Broker delivers again: nothing lost, no pod twice.
// `npm run bench -- --cluster --throttle` measures how much it slows.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BROKER_POLICY, runAsBroker, tallyRun } from '../../../testbed/cluster/broker-run.ts';
import { type Throttle, throttle } from '../../../testbed/cluster/flow-control.ts';
import { FUNCTION_SERVICE_ACCOUNT, loadKubeConfig } from '../../../testbed/cluster/manifests.ts';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import { apiCalls, CLIENT_NAMESPACE, type Suite } from './context.ts';

const EVENTS = 100;
/** Short enough that two 429s in a row (Retry-After: 1 each) outlast it: a 503 to the Broker. */
const EVENT_DEADLINE_MS = '1500';

export function describeThrottle(suite: Suite): void {
  describe('kube-apiserver throttling the function (API Priority and Fairness)', () => {
    let fn: RunningFunction | undefined;
    let throttled: Throttle | undefined;
    before(async () => {
      fn = await suite.startFunction({ EVENT_DEADLINE_MS });
      throttled = await throttle(suite.admin, loadKubeConfig(suite.cluster.functionKubeconfig), {
        name: 'podgateway-test-throttle',
        serviceAccount: FUNCTION_SERVICE_ACCOUNT,
        queueLength: 1,
      });
    });
    after(async () => {
      await throttled?.remove();
      await fn?.stop();
      await suite.deleteOwnPods();
    });

    it('turns 429s into 503 with Retry-After: every event done once redelivered, one pod each', async (t) => {
      if (fn === undefined) throw new Error('the function is not running');
      const idPrefix = `throttle-${Date.now()}`;
      const run = await runAsBroker({
        url: fn.url,
        events: EVENTS,
        concurrency: 64,
        redeliveredShare: 0.1,
        idPrefix,
        gateways: ['foo', 'bar'],
        policy: BROKER_POLICY,
      });
      const tally = await tallyRun(run, suite.admin, CLIENT_NAMESPACE, idPrefix);
      const throttledCalls = await apiCalls(fn, (code) => code === '429');
      t.diagnostic(
        `${tally.eventsPerSecond.toFixed(0)} events/s, ${throttledCalls} API calls answered 429, ${tally.redeliveries} redeliveries, 5xx ${JSON.stringify(tally.serverErrors)}`,
      );
      assert.ok(throttledCalls > 0, 'kube-apiserver answered the function 429');
      assert.ok(
        (tally.serverErrors['503 TooManyRequests'] ?? 0) > 0,
        `some events answered 503 TooManyRequests: ${JSON.stringify(tally.serverErrors)}`,
      );
      assert.equal(tally.withoutRetryAfter, 0, 'every 503 says when to deliver again');
      assert.deepEqual(tally.notDone.slice(0, 5), [], 'every delivery ended done with its pod');
      assert.deepEqual(tally.missing.slice(0, 5), [], 'every event id has its pod');
      assert.deepEqual(tally.duplicates.slice(0, 5), [], 'no event id has a second pod');
      assert.equal(tally.pods, EVENTS);
    });
  });
}

// A thousand events through faults, the test's load generator playing the Broker (it redelivers
// on 5xx and on no answer, with backoff): a tenth delivered twice, some at the same moment as
// the original, and halfway through an etcd compaction and a kube-apiserver restart. Every
// delivery ends `done`, and the API lists exactly one pod per event id. `npm run bench --
// --cluster --scale` is the same run at ten thousand events, with its figures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { BROKER_POLICY, runAsBroker, tallyRun } from '../../../testbed/cluster/broker-run.ts';
import { createObjects, fakeNode, nodesSchedulable } from '../../../testbed/cluster/manifests.ts';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import { apiCalls, CLIENT_NAMESPACE, type Suite, waitFor } from './context.ts';

/** An API call that met no answer, a 5xx or a 429: the function met the fault. */
const unanswered = (code: string) => code === '<error>' || code === '429' || code.startsWith('5');

const EVENTS = 1000;
/** kwok's fake nodes take 110 pods each: enough of them that every pod of the run is scheduled. */
const EXTRA_NODES = Array.from({ length: Math.ceil(EVENTS / 110) }, (_, n) => `kwok-scale-${n}`);

export function describeScale(suite: Suite): void {
  describe(`${EVENTS} events, a tenth redelivered, through a compaction and a kube-apiserver restart`, () => {
    let fn: RunningFunction | undefined;
    before(async () => {
      await createObjects(suite.admin, EXTRA_NODES.map(fakeNode));
      const nodes = suite.cluster.nodeNames.length + EXTRA_NODES.length;
      await waitFor(`${nodes} schedulable nodes`, () => nodesSchedulable(suite.admin, nodes));
      fn = await suite.startFunction();
    });
    after(async () => {
      await fn?.stop();
      await suite.deleteOwnPods();
      const core = suite.admin.makeApiClient(k8s.CoreV1Api);
      await Promise.all(EXTRA_NODES.map((name) => core.deleteNode({ name })));
    });

    it('answers every delivery done and makes exactly one pod per event id', async (t) => {
      if (fn === undefined) throw new Error('the function is not running');
      const idPrefix = `scale-${Date.now()}`;
      const failedBefore = await apiCalls(fn, unanswered);
      const run = await runAsBroker({
        url: fn.url,
        events: EVENTS,
        concurrency: 32,
        redeliveredShare: 0.1,
        idPrefix,
        gateways: ['foo', 'bar'],
        policy: BROKER_POLICY,
        midway: async () => {
          await suite.cluster.compactEtcd();
          await suite.cluster.restartApiServer();
        },
      });
      const tally = await tallyRun(run, suite.admin, CLIENT_NAMESPACE, idPrefix);
      const failedCalls = (await apiCalls(fn, unanswered)) - failedBefore;
      t.diagnostic(
        `${tally.eventsPerSecond.toFixed(0)} events/s, ${failedCalls} API calls met the restart, ${tally.redeliveries} redeliveries, 5xx ${JSON.stringify(tally.serverErrors)}, ${tally.connectionErrors} without answer, restart and compaction ${run.midwayMs?.toFixed(0)} ms`,
      );
      assert.equal(tally.deliveries, EVENTS + EVENTS / 10);
      assert.deepEqual(tally.notDone.slice(0, 5), [], 'every delivery ended done with its pod');
      assert.deepEqual(tally.missing.slice(0, 5), [], 'every event id has its pod');
      assert.deepEqual(tally.duplicates.slice(0, 5), [], 'no event id has a second pod');
      assert.equal(tally.pods, EVENTS);
      assert.equal(tally.withoutRetryAfter, 0, 'every 503 says when to deliver again');
      assert.ok(run.midwayMs !== undefined, 'the restart happened during the run');
      assert.ok(failedCalls > 0, 'the function met the restart: API calls without an answer');
    });
  });
}

// The function's one shared pod watch (WAIT_FOR=scheduled) when the real kube-apiserver goes
// away and comes back, and when the revision the watch would resume from was compacted in etcd
// (410 Gone: the watch lists again).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import { parseExposition } from '../../support/prometheus.ts';
import { CLIENT_NAMESPACE, pendingFor, replyData, type Suite, send } from './context.ts';

const DONE = 'io.podgateway.client.scheduling.done';

/** How many pod lists the function made so far (its API call histogram's count). */
async function podLists(fn: RunningFunction): Promise<number> {
  const text = await (await fetch(`${fn.url}/metrics`)).text();
  return parseExposition(text)
    .samples.filter(
      (sample) =>
        sample.name === 'podgateway_kube_api_request_duration_seconds_count' &&
        sample.labels.verb === 'list',
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

async function assertScheduled(suite: Suite, fn: RunningFunction): Promise<void> {
  const reply = await send(fn, pendingFor('foo'));
  assert.equal(reply.event?.type, DONE, reply.text);
  assert.ok(suite.cluster.nodeNames.includes(String(replyData(reply).node_name)));
}

/** A write anywhere: etcd's revision moves past what the function's watch has seen. */
async function bumpRevision(suite: Suite, name: string): Promise<void> {
  await suite.core.createNamespacedConfigMap({
    namespace: CLIENT_NAMESPACE,
    body: { metadata: { name }, data: { bump: name } },
  });
}

export function describeWatch(suite: Suite): void {
  describe('the shared watch, WAIT_FOR=scheduled', () => {
    let fn: RunningFunction | undefined;
    const running = () => {
      if (fn === undefined) throw new Error('the function is not running');
      return fn;
    };
    before(async () => {
      fn = await suite.startFunction({ WAIT_FOR: 'scheduled' });
    });
    after(() => fn?.stop());

    it('goes on after kube-apiserver restarts', async () => {
      await assertScheduled(suite, running());
      await suite.cluster.restartApiServer();
      await assertScheduled(suite, running());
    });

    it('lists again after its revision was compacted away (410 Gone) and goes on', async () => {
      await assertScheduled(suite, running());
      const listsBefore = await podLists(running());
      await bumpRevision(suite, 'watch-compaction');
      await suite.cluster.compactEtcd();
      // The watch cache would still serve the old revision: a restart makes the watch resume
      // from etcd's history, which no longer has it.
      await suite.cluster.restartApiServer();
      await assertScheduled(suite, running());
      assert.ok((await podLists(running())) > listsBefore, 'the watch listed again');
      await assertScheduled(suite, running());
    });
  });
}

// The plan of testbed/cluster/broker-run.ts: every event once, the share asked for twice, half of
// those at the same moment as the original, the other half some time after it, never before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planJobs } from '../../testbed/cluster/broker-run.ts';
import { seededRandom } from '../../testbed/load/random.ts';

const events = Array.from({ length: 1000 }, (_, n) => ({
  id: `event-${n}`,
  source: '/plan',
  gatewayName: 'foo',
  mode: 'binary' as const,
}));

describe('the Broker run plan', () => {
  it('delivers every event, a tenth twice: half together, half later', () => {
    const jobs = planJobs(events, 0.1, seededRandom(7));
    const deliveries = new Map<string, number>();
    const firstAt = new Map<string, number>();
    jobs.forEach((job, index) => {
      const id = job.event.id;
      deliveries.set(id, (deliveries.get(id) ?? 0) + (job.together ? 2 : 1));
      const first = firstAt.get(id);
      if (first === undefined) firstAt.set(id, index);
      else assert.ok(index > first, `${id}: its second delivery comes after the first`);
    });
    assert.equal(deliveries.size, events.length);
    const twice = [...deliveries.values()].filter((n) => n === 2).length;
    assert.equal(twice, 100);
    assert.equal(jobs.filter((job) => job.together).length, 50);
    assert.equal(jobs.length, 1050);
    assert.ok([...deliveries.values()].every((n) => n === 1 || n === 2));
  });

  it('keeps to the order the seed gives', () => {
    const order = (seed: number) =>
      planJobs(events, 0.1, seededRandom(seed)).map((j) => j.event.id);
    assert.deepEqual(order(3), order(3));
    assert.notDeepEqual(order(3), order(4));
  });
});

// Event names no one can guess (suspected in issue 25, confirmed): whoever may create Events in
// the client namespace must not be able to compute the names of the function's Events before it
// writes them (taken first, the function's create gets 409 and the Event is lost). client-go's
// names, `<pod>.<time in ns as hex>`, which the function used, plus a per-process count below the
// millisecond, told the time of writing to the nanosecond: an attacker who creates the names of
// the next second for a pod (about 1,000 creates) loses it its Events. Over HTTP into the
// function, out to the API test server: what the names carry.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { SWEEP_DONE_TYPE, SWEEP_TYPE } from '../../src/events/event-types.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';
import { ownPodMetadata } from '../support/own-pods.ts';

const NAMESPACE = 'client-system';
/** A day in nanoseconds: how far from the time of writing a name must not point. */
const DAY_NS = 86_400n * 1_000_000_000n;

describe('Event names', () => {
  const h = useHarness(
    { CLIENT_NAMESPACE: NAMESPACE, SWEEP_INTERVAL_SECONDS: '0' },
    { namespaces: [NAMESPACE] },
  );

  it('carry nothing of the time they were written: 64 random bits after the pod’s name', async () => {
    const spec = { containers: [{ name: 'client', image: 'alpine/curl' }] };
    const pods = [1, 2, 3, 4, 5].map((n) => ownPodMetadata(`done-${n}`, NAMESPACE));
    for (const metadata of pods)
      h.server.addPod({ metadata, spec, status: { phase: 'Succeeded' } });
    const before = BigInt(Date.now()) * 1_000_000n;
    const made = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    const sweep = new CloudEvent({
      id: `names-${process.pid}`,
      source: '/tests',
      type: SWEEP_TYPE,
    });
    const swept = await sendEvent(h.fn.url, sweep, 'binary');
    assert.equal(swept.event?.type, SWEEP_DONE_TYPE, swept.text);
    let events = h.server.events(NAMESPACE);
    for (let i = 0; i < 250 && events.length < 6; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      events = h.server.events(NAMESPACE);
    }
    const after = BigInt(Date.now()) * 1_000_000n;
    assert.equal(events.length, 6, `one Provisioned and five Swept: ${made.text}`);
    for (const event of events) {
      const name = String(event.metadata.name);
      const pod = String((event.regarding as { name?: string }).name);
      assert.ok(name.startsWith(`${pod}.`), name);
      const suffix = name.slice(pod.length + 1);
      assert.match(suffix, /^[0-9a-f]{16}$/, name);
      // Read as client-go's name, the suffix is a time: it must not be the time of writing.
      const asTime = BigInt(`0x${suffix}`);
      assert.ok(
        asTime < before - DAY_NS || asTime > after + DAY_NS,
        `${name} tells when it was written: it can be computed ahead`,
      );
    }
    assert.equal(new Set(events.map((event) => event.metadata.name)).size, 6);
  });
});

// Event names no one can guess (suspected in issue 25, confirmed): whoever may create Events in
// the client namespace must not be able to take the names of the function's Events before it
// writes them (its create would get 409 and the Event be lost) or have its own Events patched.
// Over HTTP into a fresh function, out to the API test server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventsV1Api, V1MicroTime } from '@kubernetes/client-node';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { podNameFor } from '../../src/pods/client-pod.ts';
import { clientFor } from '../kube-api-server/test-support.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'client-system';
/** Milliseconds of names taken ahead: the Event is written within a few ms of the request. */
const WINDOW_MS = 1000;
/** Time given to taking them: the request is sent once it is over. */
const LEAD_MS = 12_000;

describe('Event names', () => {
  const h = useHarness({ CLIENT_NAMESPACE: NAMESPACE }, { namespaces: [NAMESPACE] });

  it('cannot be taken ahead: names squatted for every millisecond of the request leave Provisioned written', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const podName = podNameFor({ eventSource: event.source, eventId: event.id });
    const { kc } = await clientFor(h.server);
    const events = kc.makeApiClient(EventsV1Api);
    // The names `<pod>.<hex of time in ns>` the function's first Event would take, the ns below
    // the millisecond being its count of Events (1 for a fresh process).
    const start = Date.now() + LEAD_MS;
    const squat = async (ms: number) => {
      const name = `${podName}.${(BigInt(ms) * 1_000_000n + 1n).toString(16)}`;
      await events.createNamespacedEvent({
        namespace: NAMESPACE,
        body: {
          metadata: { name },
          eventTime: new V1MicroTime(),
          regarding: { apiVersion: 'v1', kind: 'Pod', namespace: NAMESPACE, name: 'elsewhere' },
          reportingController: 'example.com/squatter',
          reportingInstance: 'squatter',
          action: 'Squat',
          reason: 'Squatted',
          type: 'Normal',
          note: 'taken ahead',
        },
      });
    };
    for (let ms = start; ms < start + WINDOW_MS; ms += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => squat(ms + i)));
    }
    assert.ok(
      Date.now() < start,
      'the squatting took longer than LEAD_MS: the test proves nothing',
    );
    while (Date.now() < start) await new Promise((resolve) => setTimeout(resolve, 10));

    const reply = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);

    let provisioned: unknown;
    for (let i = 0; i < 250 && provisioned === undefined; i += 1) {
      provisioned = h.server
        .events(NAMESPACE)
        .find(
          (stored) =>
            (stored.regarding as { name?: string } | undefined)?.name === podName &&
            stored.reason === 'Provisioned',
        );
      if (provisioned === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(provisioned, 'the Provisioned Event was lost to a name taken ahead');
    const name = String((provisioned as { metadata: { name: string } }).metadata.name);
    // 64 random bits after the pod's name: nothing of the time or a counter in it.
    assert.match(name, new RegExp(`^${podName}\\.[0-9a-f]{16}$`));
  });
});

// Replies as Knative Eventing reads them: its broker sends to a subscriber and reads the answer
// with CloudEvents' Go SDK's HTTP binding (github.com/cloudevents/sdk-go/v2). Our Go program
// (go/cloudevents) does the same, in binary and structured mode, and prints what the SDK read: the
// status (2xx: delivered; the broker retries or dead-letters the rest), the response's encoding
// (unknown: no event, so no reply is forwarded) and the reply event.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  RELEASE_DONE_TYPE,
  RELEASE_TYPE,
  SWEEP_DONE_TYPE,
  SWEEP_TYPE,
} from '../../../src/events/event-types.ts';
import { podNameFor } from '../../../src/pods/client-pod.ts';
import { ensureBinaries } from '../../../testbed/cluster/build.ts';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import { MODES, type Mode } from '../../support/events.ts';
import type { Suite } from './context.ts';

const PENDING = 'io.podgateway.client.pending';
const DONE = 'io.podgateway.client.scheduling.done';
const FAILED = 'io.podgateway.client.scheduling.failed';
const REPLY_SOURCE = 'podgateway/eventing/client/provisioner';
const PRODUCER = '/tests/sdk-go';

interface SdkEvent {
  readonly type: string;
  readonly id: string;
  readonly source?: string;
  readonly data?: unknown;
}

/** What sdk-go read of the answer (go/cloudevents/main.go prints it). */
interface SdkAnswer {
  readonly status: number;
  /** binary, structured, batch or unknown (no event). */
  readonly encoding: string;
  readonly reply: {
    readonly type: string;
    readonly source: string;
    readonly id: string;
    readonly subject?: string;
    readonly datacontenttype?: string;
    readonly extensions?: Record<string, unknown>;
    readonly data?: Record<string, unknown>;
  } | null;
  readonly error?: string;
}

function sendWithSdk(binary: string, url: string, mode: Mode, event: SdkEvent) {
  const args = [
    `-target=${url}`,
    `-mode=${mode}`,
    `-type=${event.type}`,
    `-source=${event.source ?? PRODUCER}`,
    `-id=${event.id}`,
    ...(event.data === undefined ? [] : [`-data=${JSON.stringify(event.data)}`]),
  ];
  return new Promise<SdkAnswer>((resolve, reject) => {
    execFile(binary, args, { timeout: 90_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${binary}: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as SdkAnswer);
    });
  });
}

let sequence = 0;
function uniqueId(what: string): string {
  sequence += 1;
  return `sdk-${what}-${process.pid}-${Date.now()}-${sequence}`;
}

/** A reply the broker forwards: 2xx, an event, answering `id`, from the function. */
function assertReply(answer: SdkAnswer, type: string, id: string) {
  assert.equal(answer.status, 200, JSON.stringify(answer));
  // The function replies in binary mode, whatever mode the event came in.
  assert.equal(answer.encoding, 'binary');
  assert.equal(answer.reply?.type, type, JSON.stringify(answer));
  assert.equal(answer.reply?.source, REPLY_SOURCE);
  assert.equal(answer.reply?.extensions?.inresponseto, id);
  assert.notEqual(answer.reply?.id, id);
  return answer.reply?.data ?? {};
}

export function describeCloudEvents(suite: Suite): void {
  describe('replies as Knative Eventing reads them (CloudEvents Go SDK v2.16.2)', () => {
    let fn: RunningFunction | undefined;
    let binary = '';
    before(async () => {
      binary = (await ensureBinaries(() => {})).paths.cloudevents ?? '';
      // A short deadline: the 503 case waits it out.
      fn = await suite.startFunction({
        WAIT_FOR: 'created',
        GATEWAYS: 'foo,bar',
        EVENT_DEADLINE_MS: '3000',
      });
    });
    after(() => fn?.stop());
    const send = (mode: Mode, event: SdkEvent) => {
      if (fn === undefined) throw new Error('the function is not running');
      return sendWithSdk(binary, fn.url, mode, event);
    };

    for (const mode of MODES) {
      it(`${mode}: pending, then release of its pod: done replies, read as events`, async () => {
        const id = uniqueId('pending');
        const done = assertReply(
          await send(mode, { type: PENDING, id, data: { gateway_name: 'foo' } }),
          DONE,
          id,
        );
        const podName = podNameFor({ eventSource: PRODUCER, eventId: id });
        assert.equal(done.pod_name, podName);
        assert.equal(done.gateway_name, 'foo');

        const releaseId = uniqueId('release');
        const released = await send(mode, {
          type: RELEASE_TYPE,
          id: releaseId,
          data: { pod_name: podName },
        });
        assert.equal(assertReply(released, RELEASE_DONE_TYPE, releaseId).pod_name, podName);
      });

      it(`${mode}: a failed reply (UnknownGateway) is an event the broker forwards`, async () => {
        const id = uniqueId('unknown-gateway');
        const answer = await send(mode, { type: PENDING, id, data: { gateway_name: 'nope' } });
        const data = assertReply(answer, FAILED, id);
        assert.equal(data.reason, 'UnknownGateway');
      });

      it(`${mode}: a sweep gets its done reply`, async () => {
        const id = uniqueId('sweep');
        assertReply(await send(mode, { type: SWEEP_TYPE, id }), SWEEP_DONE_TYPE, id);
      });

      it(`${mode}: a 400 (an unknown type, a field of the wrong JSON type) is no event: no reply, and the broker does not retry a 400`, async () => {
        for (const event of [
          { type: 'io.example.unknown', id: uniqueId('unknown-type'), data: {} },
          { type: PENDING, id: uniqueId('wrong-type'), data: { gateway_name: 5 } },
        ]) {
          const answer = await send(mode, event);
          assert.equal(answer.status, 400, JSON.stringify(answer));
          assert.equal(answer.encoding, 'unknown');
          assert.equal(answer.reply, null);
        }
      });
    }

    it('binary: a 503 (the webhook down) is no event: no reply, and the broker retries it', async () => {
      await suite.cluster.stopWebhook('foo');
      try {
        const answer = await send('binary', {
          type: PENDING,
          id: uniqueId('webhook-down'),
          data: { gateway_name: 'foo' },
        });
        assert.equal(answer.status, 503, JSON.stringify(answer));
        assert.equal(answer.encoding, 'unknown');
        assert.equal(answer.reply, null);
      } finally {
        await suite.cluster.startWebhook('foo');
      }
    });
  });
}

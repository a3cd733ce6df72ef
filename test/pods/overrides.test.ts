// Per-event overrides end to end: honoured within ALLOWED_OVERRIDES / ALLOWED_IMAGES, refused
// with a PolicyViolation reply and no API call otherwise; and the pod's security defaults as
// the API server stores them.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const h = useHarness({
  ALLOWED_OVERRIDES: 'image,args,env',
  ALLOWED_IMAGES: 'curlimages/curl:*',
  CLIENT_RUN_AS_NON_ROOT: 'true',
});

beforeEach(() => h.server.reset());

describe('per-event overrides within policy', () => {
  it('creates the pod with the allowed image, args and env, locked down', async () => {
    const reply = await sendEvent(
      h.fn.url,
      pendingEvent({
        gateway_name: 'foo',
        image: 'curlimages/curl:8.5.0',
        args: ['-s', 'https://ifconfig.me'],
        env: { NO_PROXY: 'localhost' },
      }),
      'structured',
    );
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const [pod] = h.server.pods('default');
    const container = pod?.spec?.containers?.[0];
    assert.equal(container?.image, 'curlimages/curl:8.5.0');
    assert.deepEqual(container?.args, ['-s', 'https://ifconfig.me']);
    assert.deepEqual(container?.env, [{ name: 'NO_PROXY', value: 'localhost' }]);
    assert.equal(container?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container?.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(container?.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(container?.securityContext?.runAsNonRoot, true);
    assert.equal(pod?.spec?.automountServiceAccountToken, false);
    assert.equal(pod?.status?.qosClass, 'Burstable');
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'an image outside ALLOWED_IMAGES',
      { image: 'docker.io/evil/miner' },
      /not allowed \(ALLOWED_IMAGES: curlimages\/curl:\*\)/,
    ],
    [
      'a field the operator did not allow',
      { command: ['sh'] },
      /data.command: .*ALLOWED_OVERRIDES allows: image, args, env/,
    ],
    ['resources, not allowed here', { resources: { limits: { cpu: '1' } } }, /data.resources/],
  ];
  for (const [name, data, message] of refused) {
    it(`refuses ${name}: PolicyViolation, nothing created, no API call`, async () => {
      const reply = await sendEvent(
        h.fn.url,
        pendingEvent({ gateway_name: 'foo', ...data }),
        'binary',
      );
      assert.equal(reply.event?.type, FAILED_TYPE);
      assert.equal(reply.event?.data?.reason, 'PolicyViolation');
      assert.match(String(reply.event?.data?.message), message);
      // The pod API: the Events of an earlier test may still be on their way.
      assert.deepEqual(
        h.server.requests.filter((request) => request.path.startsWith('/api/')),
        [],
      );
    });
  }
});

describe('a data field the event type does not know', () => {
  it('is ignored and named in the done reply’s warnings, with the field it resembles', async () => {
    const reply = await sendEvent(
      h.fn.url,
      pendingEvent({ gateway_name: 'foo', imagee: 'curlimages/curl:8.5.0', colour: 'blue' }),
      'binary',
    );
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const warnings = reply.event?.data?.warnings;
    assert.ok(Array.isArray(warnings), reply.text);
    assert.equal(warnings.length, 2);
    assert.match(
      String(warnings[0]),
      /^data\.imagee is not a field of this event and was ignored \(did you mean "image"\?\); the fields are gateway_name, message, image, command, args, env, resources$/,
    );
    assert.match(
      String(warnings[1]),
      /^data\.colour is not a field of this event and was ignored; /,
    );
    // Not applied: the pod has the configured image.
    assert.equal(h.server.pods('default')[0]?.spec?.containers?.[0]?.image, 'alpine/curl');
  });

  it('gives no warnings when every field is known', async () => {
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(reply.event?.data?.warnings, undefined);
  });
});

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
        env: { TARGET_URL: 'https://ifconfig.me' },
      }),
      'structured',
    );
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const [pod] = h.server.pods('default');
    const container = pod?.spec?.containers?.[0];
    assert.equal(container?.image, 'curlimages/curl:8.5.0');
    assert.deepEqual(container?.args, ['-s', 'https://ifconfig.me']);
    assert.deepEqual(container?.env, [{ name: 'TARGET_URL', value: 'https://ifconfig.me' }]);
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
    ...[
      'LD_PRELOAD',
      'ld_preload',
      'LD_AUDIT',
      'DYLD_INSERT_LIBRARIES',
      'BASH_ENV',
      'ENV',
      'NODE_OPTIONS',
      'PYTHONPATH',
      'PYTHONSTARTUP',
      'PERL5OPT',
      'RUBYOPT',
      'JAVA_TOOL_OPTIONS',
      'https_proxy',
      'HTTP_PROXY',
      'NO_PROXY',
      'PATH',
      // What runs code at start or turns TLS verification off (round four).
      'LUA_INIT',
      'LUA_INIT_5_4',
      'NODE_TLS_REJECT_UNAUTHORIZED',
      'REQUESTS_CA_BUNDLE',
      'GIT_SSL_NO_VERIFY',
      'GIT_SSL_CAINFO',
      'PHPRC',
      'PHP_INI_SCAN_DIR',
      'OPENSSL_CONF',
      'OPENSSL_MODULES',
      'PYTHONHTTPSVERIFY',
      'CURL_SSL_NO_VERIFY',
      'GODEBUG',
      'SSLKEYLOGFILE',
      'GIT_CONFIG_PARAMETERS',
      'DOTNET_STARTUP_HOOKS',
    ].map((name): [string, Record<string, unknown>, RegExp] => [
      `env ${name}, a loader, interpreter, proxy or TLS variable`,
      { env: { TARGET_URL: 'x', [name]: '/tmp/evil.so' } },
      new RegExp(`data\\.env\\.${name}: a loader, shell, interpreter, proxy or TLS variable`),
    ]),
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

  it('suggests the required field a misspelt one resembles, and warns in a failed reply too', async () => {
    const reply = await sendEvent(
      h.fn.url,
      pendingEvent({ gateway_nme: 'foo', imagee: 'curlimages/curl:8.5.0' }),
      'binary',
    );
    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'InvalidGatewayName');
    assert.match(
      String(reply.event?.data?.message),
      /; data\.gateway_nme was given: did you mean "gateway_name"\?$/,
    );
    const warnings = reply.event?.data?.warnings;
    assert.ok(Array.isArray(warnings), reply.text);
    assert.deepEqual(
      warnings.map((warning) => String(warning).split(' ')[0]),
      ['data.gateway_nme', 'data.imagee'],
    );
    assert.match(String(warnings[1]), /\(did you mean "image"\?\)/);
    assert.equal(h.server.pods('default').length, 0);
  });

  it('gives no warnings when every field is known', async () => {
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(reply.event?.data?.warnings, undefined);
  });
});

describe('resource overrides as the kubelet will read them', () => {
  const r = useHarness({
    ALLOWED_OVERRIDES: 'resources,env',
    ALLOWED_ENV_NAMES: 'TARGET_URL,NO_PROXY',
  });
  beforeEach(() => r.server.reset());
  const send = (resources: unknown) =>
    sendEvent(r.fn.url, pendingEvent({ gateway_name: 'foo', resources }), 'binary');

  const refused: Array<[string, unknown, RegExp]> = [
    [
      'every limit zero (no limit to a kubelet)',
      { limits: { cpu: '0', memory: '0', 'ephemeral-storage': '0' } },
      /data\.resources\.limits\.cpu 0 is not above zero/,
    ],
    ['a zero cpu limit in millicores', { limits: { cpu: '0m' } }, /limits\.cpu 0m is not above/],
    ['a zero memory limit in Mi', { limits: { memory: '0Mi' } }, /limits\.memory 0Mi is not/],
    ['a zero limit written 0.0', { limits: { 'ephemeral-storage': '0.0' } }, /not above zero/],
    ['a zero limit written 0e3', { limits: { cpu: '0e3' } }, /limits\.cpu 0e3 is not above/],
    ['a zero limit written +.0', { limits: { memory: '+.0' } }, /limits\.memory \+\.0 is not/],
    [
      'a request above the ceiling',
      { requests: { cpu: '200m' } },
      /data\.resources\.requests\.cpu 200m is above the limit 100m \(CLIENT_LIMITS\)/,
    ],
    [
      'a request above the limit the event itself sets',
      { limits: { cpu: '50m' }, requests: { cpu: '80m' } },
      /data\.resources\.requests\.cpu 80m is above the limit 50m \(data\.resources\.limits\.cpu\)/,
    ],
    [
      'a limit below the configured request',
      { limits: { memory: '8Mi' } },
      /data\.resources\.limits\.memory 8Mi is below the request 16Mi \(CLIENT_REQUESTS\)/,
    ],
    ['a limit above the ceiling', { limits: { memory: '1Gi' } }, /memory 1Gi is above the limit/],
  ];
  for (const [name, resources, message] of refused) {
    it(`refuses ${name}: PolicyViolation naming the field, no API call`, async () => {
      const reply = await send(resources);
      assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
      assert.equal(reply.event?.data?.reason, 'PolicyViolation');
      assert.match(String(reply.event?.data?.message), message);
      assert.deepEqual(r.server.coreRequests(), []);
    });
  }

  it('makes the pod with limits above zero, within the ceiling, and requests within them', async () => {
    const reply = await send({ limits: { cpu: '50m' }, requests: { cpu: '50m', memory: '32Mi' } });
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const resources = r.server.pods('default')[0]?.spec?.containers?.[0]?.resources;
    assert.deepEqual(resources?.limits, {
      cpu: '50m',
      memory: '64Mi',
      'ephemeral-storage': '128Mi',
    });
    // The API server defaults a request without a value to its limit, as Kubernetes does.
    assert.deepEqual(resources?.requests, {
      cpu: '50m',
      memory: '32Mi',
      'ephemeral-storage': '128Mi',
    });
  });

  describe('with ALLOWED_ENV_NAMES', () => {
    const sendEnv = (env: Record<string, string>) =>
      sendEvent(r.fn.url, pendingEvent({ gateway_name: 'foo', env }), 'structured');

    it('sets a listed name, a proxy variable included when it is listed', async () => {
      const reply = await sendEnv({ TARGET_URL: 'https://a.example', NO_PROXY: 'a.example' });
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.deepEqual(r.server.pods('default')[0]?.spec?.containers?.[0]?.env, [
        { name: 'TARGET_URL', value: 'https://a.example' },
        { name: 'NO_PROXY', value: 'a.example' },
      ]);
    });

    for (const name of ['OTHER', 'target_url', 'LD_PRELOAD', 'no_proxy']) {
      it(`refuses ${name}, not listed: PolicyViolation, no API call`, async () => {
        const reply = await sendEnv({ [name]: 'x' });
        assert.equal(reply.event?.data?.reason, 'PolicyViolation', reply.text);
        assert.match(
          String(reply.event?.data?.message),
          new RegExp(
            `data\\.env\\.${name}: not a name a request may set \\(ALLOWED_ENV_NAMES: TARGET_URL, NO_PROXY\\)`,
          ),
        );
        assert.deepEqual(r.server.coreRequests(), []);
      });
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  ConfigErrors,
  DEFAULTS,
  formerNameWarnings,
  parseConfig,
  subjectAllowed,
} from '../../src/config/config.ts';

function configError(env: Record<string, string>, ownNamespace?: string): ConfigError {
  try {
    parseConfig(env, ownNamespace);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('configuration', () => {
  it('has the documented defaults outside a cluster', () => {
    const config = parseConfig({});
    assert.equal(config.clientNamespace, 'default');
    assert.equal(config.clientImage, 'alpine/curl');
    assert.deepEqual(config.clientCommand, ['sleep', 'infinity']);
    assert.equal(config.gatewayLabel, 'setGateway');
    assert.equal(config.gatewayAnnotation, 'setGateway');
    assert.equal(config.allowedGateways, undefined);
    assert.equal(config.eventSource, DEFAULTS.eventSource);
    assert.equal(config.waitFor, 'created');
    assert.equal(config.apiTimeoutMs, 5000);
    assert.equal(config.eventDeadlineMs, 20000);
    assert.equal(config.allowedOverrides.size, 0);
    assert.equal(config.clientTtlSeconds, undefined);
    assert.equal(config.clientGracePeriodSeconds, undefined);
    assert.deepEqual(config.routing, {
      initContainer: 'gateway-init',
      sidecarContainer: 'gateway-sidecar',
    });
  });

  it('keeps three failed pods by default, and none when asked', () => {
    assert.equal(parseConfig({}).failedPodsHistoryLimit, 3);
    assert.equal(parseConfig({ FAILED_PODS_HISTORY_LIMIT: '0' }).failedPodsHistoryLimit, 0);
    assert.equal(parseConfig({ FAILED_PODS_HISTORY_LIMIT: '10' }).failedPodsHistoryLimit, 10);
  });

  it('reads the routing check: off, or the gateway containers to look for', () => {
    assert.equal(parseConfig({ REQUIRE_ROUTING: 'false' }).routing, undefined);
    assert.deepEqual(
      parseConfig({ GATEWAY_INIT_CONTAINER: 'vpn-init', GATEWAY_SIDECAR_CONTAINER: '' }).routing,
      { initContainer: 'vpn-init', sidecarContainer: undefined },
    );
  });

  it('reads the client pods’ life cycle settings', () => {
    const config = parseConfig({
      WAIT_FOR: 'ready',
      CLIENT_TTL_SECONDS: '86400',
      CLIENT_GRACE_PERIOD_SECONDS: '0',
    });
    assert.equal(config.waitFor, 'ready');
    assert.equal(config.clientTtlSeconds, 86400);
    assert.equal(config.clientGracePeriodSeconds, 0);
  });

  it('reads a renamed setting under its former name too, with one warning line', () => {
    const former = { GRACE_PERIOD_SECONDS: '5' };
    assert.equal(parseConfig(former).clientGracePeriodSeconds, 5);
    assert.deepEqual(formerNameWarnings(former), [
      'warning: GRACE_PERIOD_SECONDS is the former name of CLIENT_GRACE_PERIOD_SECONDS: it is read as CLIENT_GRACE_PERIOD_SECONDS; rename it',
    ]);
    // The new name wins over an empty one; both names with one value are one setting.
    const both = { CLIENT_GRACE_PERIOD_SECONDS: '', GRACE_PERIOD_SECONDS: '7' };
    assert.equal(parseConfig(both).clientGracePeriodSeconds, 7);
    const same = { CLIENT_GRACE_PERIOD_SECONDS: '7', GRACE_PERIOD_SECONDS: '7' };
    assert.equal(parseConfig(same).clientGracePeriodSeconds, 7);
    assert.deepEqual(formerNameWarnings({ CLIENT_GRACE_PERIOD_SECONDS: '7' }), []);
  });

  it('defaults the client namespace to the function’s own in a cluster', () => {
    assert.equal(parseConfig({}, 'client-system').clientNamespace, 'client-system');
    assert.equal(
      parseConfig({ CLIENT_NAMESPACE: 'other' }, 'client-system').clientNamespace,
      'other',
    );
  });

  it('reads the command as words or as a JSON array', () => {
    assert.deepEqual(parseConfig({ CLIENT_COMMAND: ' sleep  3600 ' }).clientCommand, [
      'sleep',
      '3600',
    ]);
    assert.deepEqual(
      parseConfig({ CLIENT_COMMAND: '["sh", "-c", "curl -s ifconfig.me; sleep 1d"]' })
        .clientCommand,
      ['sh', '-c', 'curl -s ifconfig.me; sleep 1d'],
    );
  });

  it('disables the label or the annotation when set empty, but not both', () => {
    const labelOnly = parseConfig({ GATEWAY_ANNOTATION: '' });
    assert.equal(labelOnly.gatewayLabel, 'setGateway');
    assert.equal(labelOnly.gatewayAnnotation, undefined);
    const error = configError({ GATEWAY_LABEL: '', GATEWAY_ANNOTATION: '' });
    assert.match(error.message, /at least one/);
  });

  it('parses the gateway allow-list', () => {
    const config = parseConfig({ GATEWAYS: 'foo, bar ,baz' });
    assert.deepEqual([...(config.allowedGateways ?? [])], ['foo', 'bar', 'baz']);
    assert.equal(parseConfig({ GATEWAYS: ' ' }).allowedGateways, undefined);
  });

  const invalid: Array<[string, Record<string, string>, RegExp]> = [
    ['CLIENT_NAMESPACE', { CLIENT_NAMESPACE: 'Not_A_Namespace' }, /not a namespace name/],
    ['CLIENT_NAMESPACE', { CLIENT_NAMESPACE: '' }, /not a namespace name/],
    ['CLIENT_IMAGE', { CLIENT_IMAGE: 'alpine curl' }, /not an image reference/],
    ['CLIENT_COMMAND', { CLIENT_COMMAND: '   ' }, /is empty/],
    ['CLIENT_COMMAND', { CLIENT_COMMAND: '[1, 2]' }, /JSON array of strings/],
    ['CLIENT_COMMAND', { CLIENT_COMMAND: '[sleep' }, /not a JSON array/],
    ['CLIENT_COMMAND', { CLIENT_COMMAND: '[]' }, /is empty/],
    ['GATEWAY_LABEL', { GATEWAY_LABEL: 'set gateway' }, /not a valid label\/annotation key/],
    ['GATEWAY_ANNOTATION', { GATEWAY_ANNOTATION: 'Bad_/x' }, /not a valid label\/annotation key/],
    ['GATEWAYS', { GATEWAYS: 'foo,,bar' }, /"" is not a gateway name/],
    ['GATEWAYS', { GATEWAYS: 'foo,-bar' }, /"-bar" is not a gateway name/],
    ['EVENT_SOURCE', { EVENT_SOURCE: 'has space' }, /not a URI-reference/],
    ['CLIENT_REQUESTS', { CLIENT_REQUESTS: 'cpu=lots' }, /not <resource>=<quantity>/],
    ['CLIENT_LIMITS', { CLIENT_LIMITS: 'gpu=1' }, /not <resource>=<quantity>/],
    ['CLIENT_RUN_AS_NON_ROOT', { CLIENT_RUN_AS_NON_ROOT: 'yes' }, /not true or false/],
    [
      'CLIENT_ACTIVE_DEADLINE_SECONDS',
      { CLIENT_ACTIVE_DEADLINE_SECONDS: '-1' },
      /"-1" is not a whole number of seconds from 1 to 2147483647/,
    ],
    ['API_TIMEOUT_MS', { API_TIMEOUT_MS: '1.5' }, /"1\.5" is not a whole number of milliseconds/],
    ['EVENT_DEADLINE_MS', { EVENT_DEADLINE_MS: 'soon' }, /not a whole number of milliseconds/],
    ['SHUTDOWN_GRACE_MS', { SHUTDOWN_GRACE_MS: '0' }, /"0" is not a whole number of .* from 1/],
    ['WAIT_FOR', { WAIT_FOR: 'running' }, /not "created", "scheduled" or "ready"/],
    ['CLIENT_TTL_SECONDS', { CLIENT_TTL_SECONDS: '1h' }, /not a whole number of seconds from 1/],
    [
      'CLIENT_GRACE_PERIOD_SECONDS',
      { CLIENT_GRACE_PERIOD_SECONDS: '-1' },
      /whole number of seconds from 0 to 3600/,
    ],
    [
      'CLIENT_GRACE_PERIOD_SECONDS',
      { CLIENT_GRACE_PERIOD_SECONDS: '3601' },
      /above the maximum, 3600/,
    ],
    // Plain digits, as every other number: a space was let through here alone.
    [
      'CLIENT_GRACE_PERIOD_SECONDS',
      { CLIENT_GRACE_PERIOD_SECONDS: ' 30' },
      /" 30" is not a whole number/,
    ],
    // The former name is checked as the setting, and named in the problem.
    ['GRACE_PERIOD_SECONDS', { GRACE_PERIOD_SECONDS: '3601' }, /above the maximum, 3600/],
    [
      'CLIENT_GRACE_PERIOD_SECONDS',
      { CLIENT_GRACE_PERIOD_SECONDS: '5', GRACE_PERIOD_SECONDS: '10' },
      /and so is its former name GRACE_PERIOD_SECONDS, to another value; keep CLIENT_GRACE_PERIOD_SECONDS only/,
    ],
    [
      'ALLOWED_OVERRIDES',
      { ALLOWED_OVERRIDES: 'image,volumes' },
      /volumes: not a field that can be overridden/,
    ],
    [
      'ALLOWED_IMAGES',
      { ALLOWED_OVERRIDES: 'image' },
      /is empty while ALLOWED_OVERRIDES allows image/,
    ],
    ['ALLOWED_IMAGES', { ALLOWED_IMAGES: 'a*b' }, /a wildcard must stand for a whole path segment/],
    ['ALLOWED_IMAGES', { ALLOWED_IMAGES: '*' }, /"\*": a wildcard must stand for a whole path/],
    ['ALLOWED_IMAGES', { ALLOWED_IMAGES: 'ghcr.io/acme*' }, /"ghcr.io\/acme\*": a wildcard/],
    ['ALLOWED_IMAGES', { ALLOWED_IMAGES: 'registry.example.com*' }, /a wildcard must stand/],
    ['ALLOWED_IMAGES', { ALLOWED_IMAGES: 'curlimages/curl:../../evil' }, /not an image reference/],
    ['CLIENT_IMAGE', { CLIENT_IMAGE: 'alpine/curl:' }, /not an image reference/],
    ['API_TIMEOUT_MS', { API_TIMEOUT_MS: '3000000000' }, /above the maximum, 300000/],
    ['EVENT_DEADLINE_MS', { EVENT_DEADLINE_MS: '3000000000' }, /above the maximum, 600000/],
    ['SHUTDOWN_GRACE_MS', { SHUTDOWN_GRACE_MS: '3000000000' }, /above the maximum, 600000/],
    [
      'CLIENT_ACTIVE_DEADLINE_SECONDS',
      { CLIENT_ACTIVE_DEADLINE_SECONDS: '3000000000' },
      /above the maximum, 2147483647/,
    ],
    ['EVENT_SOURCE', { EVENT_SOURCE: 'podgateway/é' }, /is not a URI-reference/],
    ['EVENT_SOURCE', { EVENT_SOURCE: 'podgateway/\u0001' }, /is not a URI-reference/],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: '*' }, /is not an origin/],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'https://a.example/path' }, /is not an origin/],
    ['REQUIRE_ROUTING', { REQUIRE_ROUTING: 'no' }, /"no" is not true or false/],
    ['FAILED_PODS_HISTORY_LIMIT', { FAILED_PODS_HISTORY_LIMIT: '-1' }, /not a whole number from 0/],
    ['FAILED_PODS_HISTORY_LIMIT', { FAILED_PODS_HISTORY_LIMIT: '0x10' }, /from 0 to 1000/],
    ['FAILED_PODS_HISTORY_LIMIT', { FAILED_PODS_HISTORY_LIMIT: '1e3' }, /from 0 to 1000/],
    ['FAILED_PODS_HISTORY_LIMIT', { FAILED_PODS_HISTORY_LIMIT: '1001' }, /above the maximum, 1000/],
    ['GATEWAY_INIT_CONTAINER', { GATEWAY_INIT_CONTAINER: 'Gateway_Init' }, /not a container name/],
    ['GATEWAY_INIT_CONTAINER', { GATEWAY_INIT_CONTAINER: '' }, /not a container name/],
    ['GATEWAY_SIDECAR_CONTAINER', { GATEWAY_SIDECAR_CONTAINER: 'a.b' }, /not a container name/],
  ];
  for (const [variable, env, message] of invalid) {
    it(`rejects ${variable}=${JSON.stringify(Object.values(env)[0])}, naming the variable`, () => {
      const error = configError(env);
      assert.equal(error.variable, variable);
      assert.match(error.message, new RegExp(`^${variable}: `));
      assert.match(error.message, message);
    });
  }

  it('accepts prefixed keys', () => {
    const config = parseConfig({ GATEWAY_LABEL: 'podgateway.io/gateway' });
    assert.equal(config.gatewayLabel, 'podgateway.io/gateway');
  });
  it('reports every bad variable at once, each once', () => {
    const error = configError({
      CLIENT_NAMESPACE: 'Bad_Namespace',
      API_TIMEOUT_MS: 'soon',
      ALLOWED_OVERRIDES: 'image',
      WAIT_FOR: 'done',
    });
    assert.ok(error instanceof ConfigErrors, `expected several problems, got ${error.message}`);
    assert.deepEqual(
      error.problems.map((problem) => problem.variable),
      ['CLIENT_NAMESPACE', 'ALLOWED_IMAGES', 'API_TIMEOUT_MS', 'WAIT_FOR'],
    );
    assert.equal(error.message.split('\n').length, 4);
    assert.match(error.message, /^CLIENT_NAMESPACE: "Bad_Namespace" is not a namespace name/);
  });

  it('reports a cross-variable problem next to the others', () => {
    const error = configError({ GATEWAY_LABEL: '', GATEWAY_ANNOTATION: '', WAIT_FOR: 'done' });
    assert.ok(error instanceof ConfigErrors);
    assert.deepEqual(
      error.problems.map((problem) => problem.variable),
      ['WAIT_FOR', 'GATEWAY_LABEL'],
    );
  });

  it('reads the RequestReply attribute names, correlationid and replyid by default', () => {
    assert.deepEqual(parseConfig({}).replyCorrelation, {
      requestAttribute: 'correlationid',
      replyAttribute: 'replyid',
    });
    const custom = parseConfig({ REPLY_CORRELATION_ATTRIBUTE: 'req1', REPLY_ID_ATTRIBUTE: 'rep1' });
    assert.deepEqual(custom.replyCorrelation, { requestAttribute: 'req1', replyAttribute: 'rep1' });
  });

  const badNames: ReadonlyArray<readonly [Record<string, string>, string, RegExp]> = [
    [
      { REPLY_CORRELATION_ATTRIBUTE: 'Correlation-Id' },
      'REPLY_CORRELATION_ATTRIBUTE',
      /not a CloudEvents attribute name/,
    ],
    [{ REPLY_ID_ATTRIBUTE: '' }, 'REPLY_ID_ATTRIBUTE', /not a CloudEvents attribute name/],
    [{ REPLY_ID_ATTRIBUTE: 'a'.repeat(21) }, 'REPLY_ID_ATTRIBUTE', /1 to 20 lowercase/],
    [
      { REPLY_ID_ATTRIBUTE: 'inresponseto' },
      'REPLY_ID_ATTRIBUTE',
      /every reply sets or reads for itself/,
    ],
    [
      { REPLY_CORRELATION_ATTRIBUTE: 'id' },
      'REPLY_CORRELATION_ATTRIBUTE',
      /every reply sets or reads/,
    ],
    [
      { REPLY_ID_ATTRIBUTE: 'correlationid' },
      'REPLY_ID_ATTRIBUTE',
      /also REPLY_CORRELATION_ATTRIBUTE/,
    ],
  ];
  for (const [env, variable, message] of badNames) {
    it(`rejects ${JSON.stringify(env)}, naming ${variable}`, () => {
      const error = configError(env);
      assert.equal(error.variable, variable);
      assert.match(error.message, message);
    });
  }
});

describe('OIDC_AUDIENCE and OIDC_SUBJECTS', () => {
  const settingsOf = (subjects: string) => {
    const oidc = parseConfig({ OIDC_AUDIENCE: 'aud', OIDC_SUBJECTS: subjects }).oidc;
    assert.ok(oidc);
    return oidc;
  };

  it('are off by default, and when both are empty', () => {
    assert.equal(parseConfig({}).oidc, undefined);
    assert.equal(parseConfig({ OIDC_AUDIENCE: '', OIDC_SUBJECTS: ' , ' }).oidc, undefined);
  });

  it('allow exact subjects, and a namespace with :* only as the whole name', () => {
    const oidc = settingsOf(
      ' system:serviceaccount:eventing:a.b-trigger , system:serviceaccount:producers:* ',
    );
    assert.ok(subjectAllowed(oidc, 'system:serviceaccount:eventing:a.b-trigger'));
    assert.ok(subjectAllowed(oidc, 'system:serviceaccount:producers:anyone'));
    assert.ok(!subjectAllowed(oidc, 'system:serviceaccount:eventing:other'));
    assert.ok(!subjectAllowed(oidc, 'system:serviceaccount:producers:'));
    assert.ok(!subjectAllowed(oidc, 'system:serviceaccount:producers:a:b'));
    assert.ok(!subjectAllowed(oidc, 'system:serviceaccount:producers-evil:x'));
    assert.ok(!subjectAllowed(oidc, 'producers:x'));
    assert.ok(!subjectAllowed(oidc, 'system:node:producers'));
  });

  it('refuse other wildcards and forms, naming each entry', () => {
    for (const [entry, pattern] of [
      ['system:serviceaccount:ns:trig*', /not a ServiceAccount name/],
      ['system:serviceaccount:*:x', /"\*" is not a namespace name/],
      ['system:serviceaccounts:ns', /expected system:serviceaccount:NAMESPACE:NAME/],
      ['system:serviceaccount:ns', /expected system:serviceaccount:NAMESPACE:NAME/],
      ['ns:*', /expected system:serviceaccount:NAMESPACE:NAME/],
    ] as const) {
      const error = configError({ OIDC_AUDIENCE: 'aud', OIDC_SUBJECTS: entry });
      assert.match(error.message, pattern, entry);
      assert.match(error.message, /^OIDC_SUBJECTS: /);
    }
  });

  it('refuse an audience that is not one printable word, or is too long', () => {
    const subjects = 'system:serviceaccount:a:b';
    assert.match(
      configError({ OIDC_AUDIENCE: 'a,b', OIDC_SUBJECTS: subjects }).message,
      /OIDC_AUDIENCE: "a,b" is not one audience/,
    );
    assert.match(
      configError({ OIDC_AUDIENCE: 'x'.repeat(513), OIDC_SUBJECTS: subjects }).message,
      /OIDC_AUDIENCE: is 513 characters long; at most 512/,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { eventAttributesProblem } from '../../src/events/envelope.ts';
import { type IncomingEvent, PENDING_TYPE, readRequest } from '../../src/events/pending-request.ts';

const config = parseConfig({});
const event = (data: unknown, overrides: Partial<IncomingEvent> = {}): IncomingEvent => ({
  id: 'e-1',
  source: '/producer',
  type: PENDING_TYPE,
  data,
  ...overrides,
});

describe('reading a pending event', () => {
  it('accepts a gateway name and an optional message, ignoring other fields with a warning', () => {
    const verdict = readRequest(event({ gateway_name: 'foo', message: 'hi', extra: 1 }), config);
    assert.deepEqual(verdict, {
      kind: 'accepted',
      request: {
        gatewayName: 'foo',
        message: 'hi',
        eventId: 'e-1',
        eventSource: '/producer',
        overrides: {},
        warnings: [
          'data.extra is not a field of this event and was ignored; the fields are gateway_name, message, image, command, args, env, resources',
        ],
      },
    });
  });

  it('takes only a JSON object, not JSON text or bytes', () => {
    for (const data of ['{"gateway_name":"foo"}', Buffer.from('{"gateway_name":"foo"}')]) {
      const verdict = readRequest(event(data), config);
      assert.equal(verdict.kind, 'rejected');
      assert.match(verdict.kind === 'rejected' ? verdict.message : '', /is a string|is binary/);
    }
  });

  it('takes application/json, text/json and +json data, and rejects other content types', () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'text/json',
      'application/vnd.example+json',
    ]) {
      assert.equal(
        readRequest(event({ gateway_name: 'foo' }, { datacontenttype: type }), config).kind,
        'accepted',
        type,
      );
    }
    const verdict = readRequest(
      event({ gateway_name: 'foo' }, { datacontenttype: 'application/x-www-form-urlencoded' }),
      config,
    );
    assert.match(
      verdict.kind === 'rejected' ? verdict.message : '',
      /datacontenttype "application\/x-www-form-urlencoded" is not JSON/,
    );
  });

  it('rejects another event type, naming the expected one', () => {
    const verdict = readRequest(
      event({ gateway_name: 'foo' }, { type: 'com.example.other' }),
      config,
    );
    assert.equal(verdict.kind, 'rejected');
    assert.match(
      verdict.kind === 'rejected' ? verdict.message : '',
      /"com.example.other" is not handled; expected "io.podgateway.client.pending"/,
    );
  });

  const rejected: Array<[string, unknown, RegExp]> = [
    ['no data', undefined, /has no data/],
    ['data that is text', '{gateway_name: foo', /is a string/],
    ['data an array', ['foo'], /is an array/],
    ['data a number', 5, /is a number/],
    ['data an object wrapped in a string', '{"gateway_name":"foo"}', /is a string/],
    [
      'gateway_name a number',
      { gateway_name: 5 },
      /data.gateway_name must be a string, got a number/,
    ],
    ['message an object', { gateway_name: 'foo', message: {} }, /data.message must be a string/],
    ['message too long', { gateway_name: 'foo', message: 'x'.repeat(1025) }, /longer than 1024/],
  ];
  for (const [name, data, message] of rejected) {
    it(`rejects ${name}`, () => {
      const verdict = readRequest(event(data), config);
      assert.equal(verdict.kind, 'rejected');
      assert.match(verdict.kind === 'rejected' ? verdict.message : '', message);
    });
  }

  it('leaves ids and sources too long to record on the pod to the check every type gets', () => {
    for (const attributes of [{ id: 'i'.repeat(1025) }, { source: 's'.repeat(1025) }]) {
      const incoming = event({ gateway_name: 'foo' }, attributes);
      assert.match(eventAttributesProblem(incoming) ?? '', /longer than 1024 characters/);
    }
    assert.equal(
      eventAttributesProblem(event({ gateway_name: 'foo' }, { id: 'i'.repeat(1024) })),
      undefined,
    );
  });

  const invalidNames = [
    '',
    'foo,bar',
    'foo=bar',
    'foo\nbar',
    '-foo',
    'foo-',
    'a'.repeat(64),
    'fоo' /* Cyrillic о */,
  ];
  for (const name of invalidNames) {
    it(`fails gateway name ${JSON.stringify(name)} as InvalidGatewayName`, () => {
      const verdict = readRequest(event({ gateway_name: name }), config);
      assert.equal(verdict.kind, 'failed');
      assert.equal(verdict.kind === 'failed' && verdict.reason, 'InvalidGatewayName');
    });
  }

  it('fails a missing gateway name as InvalidGatewayName', () => {
    const verdict = readRequest(event({}), config);
    assert.equal(verdict.kind === 'failed' && verdict.reason, 'InvalidGatewayName');
  });

  it('does not read gateway_name through __proto__', () => {
    const verdict = readRequest(
      event(JSON.parse('{"__proto__": {"gateway_name": "foo"}}')),
      config,
    );
    assert.equal(verdict.kind === 'failed' && verdict.reason, 'InvalidGatewayName');
  });

  it('accepts only configured gateways when GATEWAYS is set', () => {
    const restricted = parseConfig({ GATEWAYS: 'foo,bar' });
    assert.equal(readRequest(event({ gateway_name: 'bar' }), restricted).kind, 'accepted');
    const verdict = readRequest(event({ gateway_name: 'baz' }), restricted);
    assert.equal(verdict.kind === 'failed' && verdict.reason, 'UnknownGateway');
    assert.match(
      verdict.kind === 'failed' ? verdict.message : '',
      /not one of the configured gateways \(foo, bar\)/,
    );
  });
});

describe('per-event overrides', () => {
  const open = parseConfig({
    ALLOWED_OVERRIDES: 'image,command,args,env,resources',
    ALLOWED_IMAGES: 'alpine/curl:*,registry.example/tools:1',
  });
  const read = (data: Record<string, unknown>, config = open) =>
    readRequest(event({ gateway_name: 'foo', ...data }), config);

  it('are refused by default, as a PolicyViolation naming the field', () => {
    const verdict = read({ image: 'alpine/curl:8' }, parseConfig({}));
    assert.equal(verdict.kind === 'failed' && verdict.reason, 'PolicyViolation');
    assert.match(
      verdict.kind === 'failed' ? verdict.message : '',
      /data.image: .*ALLOWED_OVERRIDES allows: none/,
    );
  });

  it('are taken when allowed', () => {
    const verdict = read({
      image: 'alpine/curl:8.5.0',
      command: ['sh'],
      args: ['-c', 'sleep 1'],
      env: { A: '1' },
      resources: { requests: { cpu: '20m' }, limits: { memory: '32Mi' } },
    });
    assert.equal(verdict.kind, 'accepted');
    assert.deepEqual(verdict.kind === 'accepted' && verdict.request.overrides, {
      image: 'alpine/curl:8.5.0',
      command: ['sh'],
      args: ['-c', 'sleep 1'],
      env: { A: '1' },
      resources: { requests: { cpu: '20m' }, limits: { memory: '32Mi' } },
    });
  });

  const forbidden: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'an image outside ALLOWED_IMAGES',
      { image: 'evil/miner:latest' },
      /not allowed \(ALLOWED_IMAGES/,
    ],
    ['an exact image with another tag', { image: 'registry.example/tools:2' }, /not allowed/],
    [
      'a limit above CLIENT_LIMITS',
      { resources: { limits: { memory: '1Gi' } } },
      /above the limit 64Mi/,
    ],
    [
      'a request above CLIENT_LIMITS',
      { resources: { requests: { cpu: '2' } } },
      /above the limit 100m/,
    ],
  ];
  for (const [name, data, message] of forbidden) {
    it(`refuse ${name} as a PolicyViolation`, () => {
      const verdict = read(data);
      assert.equal(verdict.kind === 'failed' && verdict.reason, 'PolicyViolation');
      assert.match(verdict.kind === 'failed' ? verdict.message : '', message);
    });
  }

  const malformed: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a command that is a string',
      { command: 'sleep 1' },
      /data.command must be an array of strings/,
    ],
    ['an empty command', { command: [] }, /not empty/],
    ['args with a number', { args: ['a', 1] }, /data.args must be an array of strings/],
    ['env as a list', { env: [{ name: 'A', value: '1' }] }, /data.env must be an object/],
    ['an env name with a space', { env: { 'A B': '1' } }, /"A B" is not a valid variable name/],
    ['an env value that is a number', { env: { A: 1 } }, /data.env.A must be a string/],
    ['an unknown resource', { resources: { limits: { gpu: '1' } } }, /data.resources.limits.gpu/],
    ['a bad quantity', { resources: { limits: { memory: 'lots' } } }, /quantity/],
    ['an image with a space', { image: 'alpine curl' }, /data.image must be an image reference/],
  ];
  for (const [name, data, message] of malformed) {
    it(`reject ${name} with 400`, () => {
      const verdict = read(data);
      assert.equal(verdict.kind, 'rejected');
      assert.match(verdict.kind === 'rejected' ? verdict.message : '', message);
    });
  }
});

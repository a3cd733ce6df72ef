// Property tests (fast-check): the pure parts against reference definitions written from the
// Kubernetes and CloudEvents rules, and random events through the running function.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../../src/config/config.ts';
import { eventAttributesProblem } from '../../src/events/envelope.ts';
import {
  type IncomingEvent,
  PENDING_TYPE,
  type RequestVerdict,
  readRequest,
} from '../../src/events/pending-request.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import {
  isDns1123Label,
  isDns1123Subdomain,
  isLabelValue,
  isQualifiedName,
} from '../../src/formats/names.ts';
import { podNameFor } from '../../src/pods/client-pod.ts';
import { startInProcess } from '../../testbed/function-in-process.ts';
import type { ServedFunction } from '../../testbed/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { post } from '../support/events.ts';

// ---------------------------------------------------------------------------------------------
// Reference definitions: k8s.io/apimachinery/pkg/util/validation, written out again here.

const REF_LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const REF_DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const REF_DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const REF_QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const refLabelValue = (v: string): boolean => v.length <= 63 && REF_LABEL_VALUE.test(v);
const refDns1123Label = (v: string): boolean => v.length <= 63 && REF_DNS1123_LABEL.test(v);
const refDns1123Subdomain = (v: string): boolean =>
  v.length <= 253 && REF_DNS1123_SUBDOMAIN.test(v);
/** IsQualifiedName: `name` or `prefix/name`, the prefix a non-empty DNS-1123 subdomain. */
function refQualifiedName(value: string): boolean {
  const parts = value.split('/');
  if (parts.length > 2) return false;
  const name = parts.length === 1 ? parts[0] : parts[1];
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '' || !refDns1123Subdomain(prefix)) return false;
  }
  return name !== undefined && name.length <= 63 && REF_QUALIFIED_NAME.test(name);
}

/** What the README promises for an event's data: provision only for this. */
interface Provisionable {
  readonly gatewayName: string;
  readonly message: string | undefined;
}

/** The data as the function should read it (JSON text is decoded), or undefined to refuse. */
function refProvisionable(data: unknown): Provisionable | undefined {
  // Only a JSON object: not JSON text, not bytes.
  const value = data;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (ArrayBuffer.isView(value)) return undefined;
  const own = (key: string): unknown =>
    Object.hasOwn(value, key) ? Reflect.get(value, key) : undefined;
  const gatewayName = own('gateway_name');
  const message = own('message');
  if (typeof gatewayName !== 'string' || gatewayName === '' || !refLabelValue(gatewayName)) {
    return undefined;
  }
  if (message !== undefined && (typeof message !== 'string' || message.length > 1024)) {
    return undefined;
  }
  return { gatewayName, message };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Characters around the edges of the naming rules. */
const nameChar = fc.constantFrom(
  ...Array.from('aZz09-_./ .,=!:;\n\t\u0000A\u00e9\u043e\uff46\u200d\u{1f642}\ud800'),
  'a',
  'b',
  '1',
);
const edgyName = fc.string({ unit: nameChar, maxLength: 80 });
const validLabel = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
const gatewayName = fc.oneof(
  { weight: 3, arbitrary: validLabel },
  { weight: 2, arbitrary: edgyName },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 70 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 60, maxLength: 70 }) },
);
const message = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 1020, maxLength: 1030 }),
  fc.jsonValue({ maxDepth: 1 }),
);
/** Event data: mostly objects with a gateway_name, and any JSON besides. */
const dataObject = fc
  .record(
    {
      gateway_name: fc.oneof(gatewayName, fc.jsonValue({ maxDepth: 1 })),
      message,
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  )
  .map((record) =>
    Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)),
  );
const hostileText = fc.constantFrom(
  '{"__proto__":{"gateway_name":"foo"}}',
  '{"constructor":{"prototype":{"gateway_name":"foo"}}}',
  '{"gateway_name":"foo","__proto__":{"message":5}}',
  '{"gateway_name":"foo"',
  '',
  '[',
);
const eventData = fc.oneof(
  { weight: 4, arbitrary: dataObject },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: dataObject.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: hostileText },
  { weight: 1, arbitrary: dataObject.map((value) => Buffer.from(JSON.stringify(value))) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const attribute = fc.oneof(
  { weight: 5, arbitrary: fc.string({ minLength: 1, maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 1020, maxLength: 1030 }) },
);

const config = parseConfig({});

// ---------------------------------------------------------------------------------------------

describe('Kubernetes name validators agree with the reference definitions', () => {
  const edgy = fc.oneof(
    fc.string({ unit: nameChar, maxLength: 300 }),
    fc.stringMatching(/^[a-z0-9.-]{1,300}(\/[A-Za-z0-9._-]{0,70})?$/),
  );
  for (const [name, actual, reference] of [
    ['isLabelValue', isLabelValue, refLabelValue],
    ['isDns1123Label', isDns1123Label, refDns1123Label],
    ['isDns1123Subdomain', isDns1123Subdomain, refDns1123Subdomain],
    ['isQualifiedName', isQualifiedName, refQualifiedName],
  ] as const) {
    it(name, () => {
      fc.assert(
        fc.property(edgy, (value) => actual(value) === reference(value)),
        { numRuns: 3000 },
      );
    });
  }
});

describe('readRequest, for any event', () => {
  const event = fc.record({
    id: attribute,
    source: attribute,
    type: fc.oneof(
      { weight: 5, arbitrary: fc.constant(PENDING_TYPE) },
      { weight: 1, arbitrary: fc.string() },
    ),
    data: eventData,
  });

  it('never throws, and provisions exactly the events whose data has a valid gateway name', () => {
    fc.assert(
      fc.property(event, (incoming: IncomingEvent) => {
        // What the function does with any event: the attributes every type shares, then the data.
        const refused = eventAttributesProblem(incoming);
        const verdict: RequestVerdict = refused
          ? { kind: 'rejected', message: refused }
          : readRequest(incoming, config);
        const data =
          incoming.data instanceof Uint8Array
            ? Buffer.from(incoming.data).toString('utf8')
            : incoming.data;
        const expected =
          incoming.type === PENDING_TYPE &&
          incoming.id.length <= 1024 &&
          incoming.source.length <= 1024
            ? refProvisionable(data)
            : undefined;
        if (expected === undefined) {
          assert.notEqual(verdict.kind, 'accepted', JSON.stringify(verdict));
          assert.ok(verdict.kind !== 'accepted' && verdict.message.length > 0);
          if (verdict.kind === 'failed') assert.equal(verdict.reason, 'InvalidGatewayName');
          return;
        }
        assert.equal(verdict.kind, 'accepted');
        const { warnings, ...request } = verdict.kind === 'accepted' ? verdict.request : {};
        assert.deepEqual(request, {
          gatewayName: expected.gatewayName,
          message: expected.message,
          eventId: incoming.id,
          eventSource: incoming.source,
          // No overrides are allowed by this configuration.
          overrides: {},
        });
        // One warning per field a pending event does not know (ten at the most), none otherwise.
        const known = ['gateway_name', 'message', 'image', 'command', 'args', 'env', 'resources'];
        const unknown = Object.keys(data as object).filter((name) => !known.includes(name));
        assert.equal(warnings?.length ?? 0, Math.min(10, unknown.length));
      }),
      { numRuns: 3000 },
    );
  });

  it('provisions only the configured gateways when GATEWAYS is set', () => {
    const restricted = parseConfig({ GATEWAYS: 'foo,bar' });
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom('foo', 'bar', 'baz', 'Foo', 'foo '), validLabel),
        (name) => {
          const verdict = readRequest(
            { id: 'e', source: '/s', type: PENDING_TYPE, data: { gateway_name: name } },
            restricted,
          );
          assert.equal(verdict.kind === 'accepted', name === 'foo' || name === 'bar');
          if (verdict.kind === 'failed') {
            assert.equal(
              verdict.reason,
              refLabelValue(name) ? 'UnknownGateway' : 'InvalidGatewayName',
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('podNameFor, for any source, id and gateway', () => {
  const request = fc.record({
    gatewayName: gatewayName,
    message: fc.constant(undefined),
    eventId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1024 }),
    eventSource: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1024 }),
  });

  it('is a DNS-1123 subdomain of at most 63 characters, and the same every time', () => {
    fc.assert(
      fc.property(request, (r) => {
        const name = podNameFor(r);
        assert.ok(refDns1123Subdomain(name) && name.length <= 63, name);
        assert.equal(podNameFor({ ...r }), name);
      }),
      { numRuns: 2000 },
    );
  });

  it('differs for different (source, id) pairs', () => {
    // Sources as producers send them: URI-references, which have no whitespace.
    const source = fc.oneof(
      fc.stringMatching(/^\/[A-Za-z0-9/._~-]{0,40}$/),
      fc.stringMatching(/^urn:[a-z]{1,8}:[A-Za-z0-9:.-]{1,30}$/),
    );
    const id = fc.oneof(
      fc.uuid(),
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.nat().map(String),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(source, id), {
          minLength: 2,
          maxLength: 200,
          selector: ([s, i]) => JSON.stringify([s, i]),
        }),
        (pairs) => {
          const names = pairs.map(([eventSource, eventId]) => podNameFor({ eventSource, eventId }));
          assert.equal(new Set(names).size, names.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps source and id apart when either contains a newline', () => {
    const name = (eventSource: string, eventId: string) => podNameFor({ eventSource, eventId });
    assert.notEqual(name('/a', 'b\nc'), name('/a\nb', 'c'));
  });
});

// ---------------------------------------------------------------------------------------------
// Random events through the running function.

describe('random events through the running function', () => {
  let server: KubeApiServer;
  let fn: ServedFunction;
  let workDir: string;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisioner-properties-'));
    server = await startKubeApiServer({ namespaces: ['default'] });
    fn = await startInProcess({ KUBECONFIG: await server.writeKubeconfig(workDir) });
  });

  after(async () => {
    await fn?.stop();
    await server?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  const printable = fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: 60,
  });
  const wireEvent = (ids: fc.Arbitrary<string>, modes: Array<WireEvent['mode']>) =>
    fc.record({
      mode: fc.constantFrom(...modes),
      id: fc.oneof(
        { weight: 6, arbitrary: ids },
        { weight: 1, arbitrary: fc.constant('i'.repeat(1025)) },
      ),
      source: fc.oneof(
        { weight: 6, arbitrary: fc.stringMatching(/^\/[a-z0-9/-]{0,30}$/) },
        { weight: 1, arbitrary: fc.constantFrom('/has space', `/${'s'.repeat(1024)}`) },
      ),
      type: fc.oneof(
        { weight: 8, arbitrary: fc.constant(PENDING_TYPE) },
        { weight: 1, arbitrary: fc.constant('com.example.other') },
      ),
      data: fc.oneof(
        { weight: 4, arbitrary: dataObject },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
        { weight: 1, arbitrary: dataObject.map((value) => JSON.stringify(value)) },
      ),
    });
  type WireEvent = {
    mode: 'binary' | 'structured';
    id: string;
    source: string;
    type: string;
    data: unknown;
  };

  /** Whether the function must make a pod for this event; undefined: it must refuse it. */
  function expectedPod(event: WireEvent): string | undefined {
    if (event.type !== PENDING_TYPE || event.id.length > 1024 || event.source.length > 1024) {
      return undefined;
    }
    if (/\s/.test(event.source)) return undefined; // not a URI-reference
    // The runtime's JSON parser refuses prototype keys in a binary event's body.
    if (event.mode === 'binary' && hasPrototypeKey(event.data)) return undefined;
    const provisionable = refProvisionable(event.data);
    if (provisionable === undefined) return undefined;
    return podNameFor({ ...provisionable, eventId: event.id, eventSource: event.source });
  }

  function hasPrototypeKey(value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if (Object.hasOwn(value, '__proto__')) return true;
    const ctor = Object.hasOwn(value, 'constructor')
      ? Reflect.get(value, 'constructor')
      : undefined;
    if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) {
      return true;
    }
    return Object.values(value).some(hasPrototypeKey);
  }

  function send(event: WireEvent) {
    if (event.mode === 'binary') {
      return post(
        fn.url,
        {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': event.id,
          'ce-source': event.source,
          'ce-type': event.type,
        },
        JSON.stringify(event.data),
      );
    }
    const envelope = {
      specversion: '1.0',
      id: event.id,
      source: event.source,
      type: event.type,
      datacontenttype: 'application/json',
      data: event.data,
    };
    return post(
      fn.url,
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify(envelope),
    );
  }

  async function check(event: WireEvent): Promise<void> {
    // One event at a time on an empty server: two random events may share a source and id.
    server.reset();
    const reply = await send(event);
    const created = server.pods().map((pod) => pod.metadata?.name);
    const seen = `HTTP ${reply.status} ${reply.event?.type ?? ''} ${reply.text.slice(0, 300)}`;
    assert.ok(reply.status < 500, seen);
    const pod = expectedPod(event);
    if (pod === undefined) {
      assert.deepEqual(created, [], seen);
      assert.ok(
        (reply.status >= 400 && reply.status < 500) || reply.event?.type === FAILED_TYPE,
        seen,
      );
      return;
    }
    assert.equal(reply.event?.type, DONE_TYPE, seen);
    assert.equal(reply.event?.data?.pod_name, pod, seen);
    assert.deepEqual(created, [pod], seen);
  }

  it('never answers 5xx, makes a pod exactly for the valid ones, and only that one', async () => {
    await fc.assert(fc.asyncProperty(wireEvent(printable, ['binary', 'structured']), check), {
      numRuns: 300,
    });
    assert.ok(fn.alive());
  });

  it('also with ids of any Unicode', async () => {
    // Structured mode: a header cannot carry them as characters.
    const anyId = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
    await fc.assert(fc.asyncProperty(wireEvent(anyId, ['structured']), check), { numRuns: 100 });
  });
});

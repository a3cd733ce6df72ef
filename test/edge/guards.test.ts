// The pure checks behind issue 9's fixes, case by case: image references and patterns, W3C trace
// context, addresses kept out of replies, and requests refused before the function.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutAddresses } from '../../src/edge/redact.ts';
import { refusalOf } from '../../src/edge/request-refusals.ts';
import { isTraceparent, isTracestate } from '../../src/events/trace-context.ts';
import { imageMatches, imagePatternProblem, isImageReference } from '../../src/formats/images.ts';

describe('image references', () => {
  const valid = [
    'alpine',
    'alpine/curl',
    'alpine/curl:8.5.0',
    'localhost:5001/client-provisioner:latest',
    'ghcr.io/acme/tools/curl:1.2_3-rc.1',
    `ghcr.io/acme/curl@sha256:${'a'.repeat(64)}`,
    `alpine/curl:8.5.0@sha256:${'b'.repeat(64)}`,
  ];
  const invalid = [
    '',
    'curlimages/curl:../../evil',
    'alpine/curl:',
    'alpine curl',
    'Alpine/curl',
    'a//b',
    'ghcr.io/',
    ':latest',
    'alpine/curl:-x',
    'alpine@sha256:short',
    `alpine/curl:${'t'.repeat(129)}`,
  ];
  for (const image of valid) it(`accepts ${image}`, () => assert.ok(isImageReference(image)));
  for (const image of invalid) {
    it(`refuses ${JSON.stringify(image)}`, () => assert.ok(!isImageReference(image)));
  }
});

describe('ALLOWED_IMAGES patterns', () => {
  for (const pattern of ['*', 'ghcr.io/acme*', 'registry.example.com*', 'ghcr.io/*/x', 'a:*:*']) {
    it(`refuses ${pattern}`, () => assert.match(imagePatternProblem(pattern) ?? '', /wildcard/));
  }
  for (const pattern of ['ghcr.io/acme/*', 'alpine/curl:*', 'alpine/curl:8.5.0', 'ghcr.io/*']) {
    it(`accepts ${pattern}`, () => assert.equal(imagePatternProblem(pattern), undefined));
  }
  const matches: Array<[string, string, boolean]> = [
    ['ghcr.io/acme/miner:1', 'ghcr.io/acme/*', true],
    ['ghcr.io/acme/a/b:1', 'ghcr.io/acme/*', true],
    ['ghcr.io/acme-attacker/miner:1', 'ghcr.io/acme/*', false],
    ['ghcr.io/acme', 'ghcr.io/acme/*', false],
    ['alpine/curl:8.5.0', 'alpine/curl:*', true],
    ['alpine/curl', 'alpine/curl:*', false],
    ['alpine/curlx:1', 'alpine/curl:*', false],
    ['alpine/curl:8.5.0', 'alpine/curl:8.5.0', true],
    ['alpine/curl:8.5.1', 'alpine/curl:8.5.0', false],
  ];
  for (const [image, pattern, expected] of matches) {
    it(`${image} ${expected ? 'matches' : 'does not match'} ${pattern}`, () =>
      assert.equal(imageMatches(image, pattern), expected));
  }
});

describe('W3C trace context', () => {
  const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  it('accepts a traceparent, and a later version with more fields', () => {
    assert.ok(isTraceparent(parent));
    assert.ok(isTraceparent(`01${parent.slice(2)}-more`));
  });
  for (const value of [
    `${parent}\r\n`,
    `${parent} `,
    parent.toUpperCase(),
    `ff${parent.slice(2)}`,
    `${parent}-more`,
    `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
    `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`,
  ]) {
    it(`refuses traceparent ${JSON.stringify(value)}`, () => assert.ok(!isTraceparent(value)));
  }
  it('accepts a tracestate with spaces around members and empty members', () => {
    assert.ok(isTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7,,tenant@vendor=x'));
  });
  for (const value of ['congo', 'congo=a\u0000', 'congo=ü', 'a=b\r\nc=d', `k=${'v'.repeat(600)}`]) {
    it(`refuses tracestate ${JSON.stringify(value.slice(0, 30))}`, () =>
      assert.ok(!isTracestate(value)));
  }
});

describe('addresses kept out of replies', () => {
  const cases: Array<[string, string]> = [
    [
      'the Kubernetes API could not be reached: fetch failed: connect ECONNREFUSED 10.1.2.3:443',
      'the Kubernetes API could not be reached: fetch failed: connect ECONNREFUSED <address>',
    ],
    ['getaddrinfo ENOTFOUND kubernetes.default.svc', 'getaddrinfo ENOTFOUND <address>'],
    [
      'Post "https://gw.svc:443/mutate?timeout=10s": dial tcp 10.96.0.5:443: connect: refused',
      'Post "<url>": dial tcp <address>: connect: refused',
    ],
    ['connect ECONNREFUSED ::1:443', 'connect ECONNREFUSED <address>'],
    ['at 12:30:45, pod "client-1" took 10.5 s', 'at 12:30:45, pod "client-1" took 10.5 s'],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text.slice(0, 50)), () => assert.equal(withoutAddresses(text), expected));
  }
});

describe('requests refused before the function', () => {
  const at = (url: string, routeUrl: string | undefined = '/', origin?: string) =>
    refusalOf({ raw: { url }, routeUrl, headers: origin ? { origin } : {} });
  it('a query string on the function, naming the parameter, decoded', () => {
    assert.match(at('/?%63loudevent=1')?.message ?? '', /"cloudevent"/);
    assert.equal(at('/?')?.status, 400);
    assert.equal(at('/health/readiness?x=1', '/health/readiness'), undefined);
  });
  it('a target other than the route exactly, though the router matched the route', () => {
    for (const url of ['/;x=1', '/%3B', '//', '/#x', '/health/readiness;x']) {
      assert.equal(at(url, url.startsWith('/h') ? '/health/readiness' : '/')?.status, 404, url);
    }
    const unrouted = { raw: { url: '/nowhere' }, routeUrl: undefined, headers: {} };
    assert.equal(refusalOf(unrouted), undefined);
  });
  it('any Origin: no browser page may post', () => {
    assert.equal(at('/', '/', 'https://a.example')?.status, 403);
    assert.equal(at('/health/readiness', '/health/readiness', 'null')?.status, 403);
    assert.equal(at('/', '/'), undefined);
  });
});

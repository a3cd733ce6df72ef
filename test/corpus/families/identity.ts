// The families of the identifying attributes: ids and sources a pod name cannot hold, event
// types, and the trace attributes copied into the reply's headers.

import { quoted } from '../../../src/formats/bounded-text.ts';
import type { CorpusCase, Expectation } from '../corpus.ts';
import {
  BAD_GATEWAY_DATA,
  binary,
  escapeRegExp,
  GOOD_DATA,
  invalidGateway,
  type Mode,
  PENDING,
  rejected,
  structured,
} from './build.ts';

/**
 * Event ids and sources with characters a pod name cannot have. The pod name is a hash of them,
 * so they are fine as long as they fit on the pod (1024 characters); paired with a bad gateway
 * name, the `failed` reply must still carry them back (the `inresponseto` extension).
 */
export function idsAndSources(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const failedForGateway = invalidGateway('foo,bar');
  const ids: ReadonlyArray<readonly [string, string, Mode[]]> = [
    ['spaces', 'id with spaces', ['binary', 'structured']],
    ['uppercase', 'UPPER-Case-ID', ['binary', 'structured']],
    ['slashes', 'a/b/c', ['binary', 'structured']],
    ['dot-dot', '../..', ['binary', 'structured']],
    ['a comma', 'a,b', ['binary', 'structured']],
  ];
  for (const [name, id, modes] of ids) {
    for (const mode of modes) {
      const variant = { name: `id with ${name}`, expect: failedForGateway };
      cases.push(
        mode === 'binary'
          ? binary('event id', variant, BAD_GATEWAY_DATA, { 'ce-id': id })
          : structured('event id', variant, BAD_GATEWAY_DATA, { id }),
      );
    }
  }
  // Not ASCII. In a header they arrive as bytes (read as Latin-1); in JSON as characters, which
  // the reply carries back in its ce-inresponseto header: Latin-1 fits in a header, more does not.
  const unicodeIds: ReadonlyArray<readonly [string, string]> = [
    ['CJK', '\u4e8b\u4ef6-1'],
    ['an emoji', 'id-\u{1f642}'],
  ];
  const latin1 = { name: 'id with accented letters', expect: failedForGateway };
  const accented = '\u00fcn\u00efc\u00f6d\u00e9';
  cases.push(binary('event id', latin1, BAD_GATEWAY_DATA, { 'ce-id': accented }));
  cases.push(structured('event id', latin1, BAD_GATEWAY_DATA, { id: accented }));
  // Sent raw in a header, their UTF-8 bytes are read as Latin-1, and these hold bytes 0x80-0x9F:
  // C1 control characters, which would be stored on the pod as they are.
  const controlInId = rejected('event id holds a control');
  for (const [name, id] of unicodeIds) {
    const variant = { name: `id with ${name}`, expect: failedForGateway };
    cases.push(
      binary('event id', { ...variant, expect: controlInId }, BAD_GATEWAY_DATA, { 'ce-id': id }),
    );
    cases.push(structured('event id', { ...variant }, BAD_GATEWAY_DATA, { id }));
  }
  // Most control characters cannot be in a header; in structured mode they can be in the id, and
  // would reach the pod's annotations (and the operator's terminal) as they are.
  for (const [name, id] of [
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['ESC', 'a\u001b[2Jb'],
    ['a right-to-left override', 'a\u202eb'],
  ] as const) {
    cases.push(
      structured('event id', { name: `id with ${name}`, expect: controlInId }, BAD_GATEWAY_DATA, {
        id,
      }),
    );
  }
  for (const length of [1025, 5000]) {
    const id = 'i'.repeat(length);
    const variant = {
      name: `id of ${length} characters`,
      expect: rejected('event id is longer than 1024 characters'),
    };
    cases.push(binary('event id', variant, GOOD_DATA, { 'ce-id': id }));
    cases.push(structured('event id', variant, GOOD_DATA, { id }));
  }

  const sources: ReadonlyArray<readonly [string, string, Expectation]> = [
    ['uppercase', '/Producer/UPPER', failedForGateway],
    ['dot-dot', '/../../etc', failedForGateway],
    ['a URN', 'urn:example:producer', failedForGateway],
    ['a query and fragment', '/p?x=1#y', failedForGateway],
    ['spaces', '/has spaces', rejected('source.*uri-reference')],
    ['1025 characters', `/${'s'.repeat(1024)}`, rejected('event source is longer than 1024')],
  ];
  for (const [name, source, expect] of sources) {
    const variant = { name: `source with ${name}`, expect };
    const data = 'failed' in expect ? BAD_GATEWAY_DATA : GOOD_DATA;
    cases.push(binary('event source', variant, data, { 'ce-source': source }));
    cases.push(structured('event source', variant, data, { source }));
  }
  cases.push(
    structured(
      'event source',
      { name: 'source with a newline', expect: rejected('source.*uri-reference') },
      GOOD_DATA,
      { source: '/a\nb' },
    ),
    structured(
      'event source',
      { name: 'source with a control character', expect: rejected('source.*uri-reference') },
      GOOD_DATA,
      { source: '/a\u0001b' },
    ),
    structured(
      'event source',
      { name: 'source with non-ASCII letters', expect: rejected('source.*uri-reference') },
      GOOD_DATA,
      { source: '/\u00fcn\u00efc\u00f6d\u00e9' },
    ),
  );
  return cases;
}

export function eventTypes(): CorpusCase[] {
  const other = (type: string): Expectation =>
    rejected(`event type ${escapeRegExp(quoted(type))} is not handled; expected "${PENDING}", `);
  const types: ReadonlyArray<readonly [string, string, Mode[]]> = [
    ['another type', 'com.example.other', ['binary', 'structured']],
    ['a versioned type', `${PENDING}.v2`, ['binary', 'structured']],
    ['the type in uppercase', PENDING.toUpperCase(), ['binary', 'structured']],
    ['our own done reply', 'io.podgateway.client.scheduling.done', ['binary', 'structured']],
    ['our own failed reply', 'io.podgateway.client.scheduling.failed', ['binary', 'structured']],
    ['our own release reply', 'io.podgateway.client.release.done', ['binary', 'structured']],
    ['our own sweep reply', 'io.podgateway.client.sweep.done', ['binary', 'structured']],
    ['a prefix of the type', 'io.podgateway.client', ['binary', 'structured']],
    // A header value loses its surrounding spaces on the way; a JSON string keeps them.
    ['the type with a leading space', ` ${PENDING}`, ['structured']],
    ['the type with a NUL', `${PENDING}\u0000`, ['structured']],
  ];
  const cases: CorpusCase[] = [];
  for (const [name, type, modes] of types) {
    for (const mode of modes) {
      const variant = { name, expect: other(type) };
      cases.push(
        mode === 'binary'
          ? binary('event type', variant, GOOD_DATA, { 'ce-type': type })
          : structured('event type', variant, GOOD_DATA, { type }),
      );
    }
  }
  return cases;
}

/**
 * Attributes copied into the reply's headers (traceparent, tracestate) that no header can carry
 * or that are not in the W3C form: refused before any pod (issue 9), in structured mode, where
 * JSON can hold any character, and in binary mode where HTTP lets it through.
 */
export function replyHeaders(): CorpusCase[] {
  const family = 'reply headers';
  const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const structuredOnly: ReadonlyArray<readonly [string, string, string]> = [
    ['traceparent with CR LF', 'traceparent', `${parent}\r\nx-evil: 1`],
    ['traceparent with NUL', 'traceparent', `${parent}\u0000`],
    ['traceparent with a non-ASCII character', 'traceparent', `${parent.slice(0, -1)}é`],
    ['tracestate with CR LF', 'tracestate', 'congo=t61rcWkgMzE\r\nx-evil: 1'],
    ['tracestate with NUL', 'tracestate', 'congo=t61rcWkgMzE\u0000'],
    ['tracestate with a non-ASCII character', 'tracestate', 'congo=ünïcode'],
  ];
  const both: ReadonlyArray<readonly [string, string, string]> = [
    ['traceparent not in the W3C form', 'traceparent', 'abc'],
    ['traceparent in uppercase hex', 'traceparent', parent.toUpperCase()],
    ['traceparent of version ff', 'traceparent', `ff${parent.slice(2)}`],
    ['traceparent with a zero trace id', 'traceparent', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`],
    [
      'traceparent with a zero parent id',
      'traceparent',
      `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`,
    ],
    ['traceparent of version 00 with more fields', 'traceparent', `${parent}-extra`],
    ['tracestate without =', 'tracestate', 'congo'],
    ['tracestate of 600 characters', 'tracestate', `congo=${'t'.repeat(594)}`],
    [
      'tracestate of 33 members',
      'tracestate',
      Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','),
    ],
  ];
  const expect = (attribute: string) => rejected(`^${attribute} .* is not a W3C ${attribute}`);
  const cases: CorpusCase[] = [];
  for (const [name, attribute, value] of structuredOnly) {
    cases.push(
      structured(family, { name, expect: expect(attribute) }, GOOD_DATA, { [attribute]: value }),
    );
  }
  for (const [name, attribute, value] of both) {
    cases.push(
      binary(family, { name, expect: expect(attribute) }, GOOD_DATA, {
        [`ce-${attribute}`]: value,
      }),
      structured(family, { name, expect: expect(attribute) }, GOOD_DATA, { [attribute]: value }),
    );
  }
  return cases;
}

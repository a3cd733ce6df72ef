// The systematic families of the bad-input corpus: one bad thing at a time, in binary and in
// structured mode, on an event that is otherwise valid (so that letting the bad thing through
// would show as a pod). Generated because they are lists crossed with modes; `npm run corpus`
// prints every case.
import type { CorpusCase, Expectation } from './corpus.ts';

const PENDING = 'io.podgateway.client.pending';
const SOURCE = '/corpus';
/** The function's default body limit (src/http-guard.ts; FUNC_BODY_LIMIT unset): 64 KiB. */
export const BODY_LIMIT = 64 * 1024;

type Mode = 'binary' | 'structured';
const MODES: readonly Mode[] = ['binary', 'structured'];

/** CloudEvent attributes of a case; null leaves one out. */
type Attributes = Record<string, string | null>;
/** Structured-mode envelope fields; undefined leaves one out, any JSON value goes. */
type Envelope = Record<string, unknown>;

interface Variant {
  readonly name: string;
  readonly expect: Expectation;
  readonly todo?: string;
  readonly note?: string;
}

let sequence = 0;
const nextId = (family: string): string => {
  sequence += 1;
  return `corpus-${family}-${sequence}`;
};

/** A binary-mode request: ce-* headers from the attributes, `data` the raw body text. */
function binary(
  family: string,
  variant: Variant,
  data: string,
  attributes: Attributes = {},
  extraHeaders: ReadonlyArray<readonly [string, string]> = [],
): CorpusCase {
  const all: Attributes = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': nextId(family),
    'ce-source': SOURCE,
    'ce-type': PENDING,
    ...attributes,
  };
  const headers: Array<readonly [string, string]> = [];
  for (const [name, value] of Object.entries(all)) if (value !== null) headers.push([name, value]);
  headers.push(...extraHeaders);
  return withVariant(family, 'binary', variant, { headers, body: data });
}

/** A structured-mode request; `data` is raw JSON text spliced in as the data member. */
function structured(
  family: string,
  variant: Variant,
  data: string | undefined,
  envelope: Envelope = {},
): CorpusCase {
  const fields: Envelope = {
    specversion: '1.0',
    id: nextId(family),
    source: SOURCE,
    type: PENDING,
    datacontenttype: 'application/json',
    ...envelope,
  };
  const members = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  if (data !== undefined) members.push(`"data":${data}`);
  return withVariant(family, 'structured', variant, {
    headers: [['content-type', 'application/cloudevents+json']],
    body: `{${members.join(',')}}`,
  });
}

function withVariant(
  family: string,
  mode: Mode,
  variant: Variant,
  request: Pick<CorpusCase, 'headers' | 'body'>,
): CorpusCase {
  return {
    name: `${family}: ${variant.name} (${mode})`,
    family,
    ...request,
    expect: variant.expect,
    ...(variant.todo === undefined ? {} : { todo: variant.todo }),
    ...(variant.note === undefined ? {} : { note: variant.note }),
  };
}

function inBothModes(
  family: string,
  variant: Variant,
  data: string,
  envelope: { binary?: Attributes; structured?: Envelope } = {},
): CorpusCase[] {
  return MODES.map((mode) =>
    mode === 'binary'
      ? binary(family, variant, data, envelope.binary)
      : structured(family, variant, data, envelope.structured),
  );
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const GOOD_DATA = '{"gateway_name":"foo"}';
const BAD_GATEWAY_DATA = '{"gateway_name":"foo,bar"}';

const rejected = (message: string): Expectation => ({ status: 400, message });
const invalidGateway = (name: string): Expectation => ({
  failed: 'InvalidGatewayName',
  message: `^data\\.gateway_name ${escapeRegExp(JSON.stringify(name))} is not a valid label value`,
  gateway_name: name,
});
const missingGateway: Expectation = {
  failed: 'InvalidGatewayName',
  message: '^data\\.gateway_name is missing or empty',
};

// ---------------------------------------------------------------------------------------------

/** Gateway names that are not label values: label-selector and shell injection, look-alikes. */
const BAD_GATEWAY_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['comma (selector list)', 'foo,bar'],
  ['equals (selector)', 'foo=bar'],
  ['not-equals (selector)', 'foo!=bar'],
  ['set selector', 'foo in (a,b)'],
  ['space', 'foo bar'],
  ['newline', 'foo\nbar'],
  ['CRLF and a header', 'foo\r\nx-injected: 1'],
  ['tab', 'foo\tbar'],
  ['NUL', 'foo\u0000'],
  ['semicolon', 'foo;rm'],
  ['shell substitution', '$(id)'],
  ['backticks', '`id`'],
  ['double quote', 'foo"bar'],
  ['backslash', 'foo\\bar'],
  ['dot-dot-slash', '../foo'],
  ['slash', 'foo/bar'],
  ['star', '*'],
  ['leading dash', '-foo'],
  ['trailing dash', 'foo-'],
  ['leading dot', '.foo'],
  ['trailing dot', 'foo.'],
  ['leading underscore', '_foo'],
  ['trailing underscore', 'foo_'],
  ['64 characters', 'a'.repeat(64)],
  ['1000 characters', 'g'.repeat(1000)],
  ['only spaces', '   '],
  ['leading space', ' foo'],
  ['trailing space', 'foo '],
  ['Cyrillic look-alike', 'f\u043e\u043e'],
  ['fullwidth look-alike', '\uff46\uff4f\uff4f'],
  ['zero-width joiner inside', 'fo\u200do'],
  ['zero-width space at the end', 'foo\u200b'],
  ['RTL override', '\u202efoo'],
  ['emoji', 'foo\u{1f642}'],
  ['percent-encoded comma', 'foo%2Cbar'],
  ['no-break space', 'foo\u00a0'],
  ['accented letter', 'f\u00f3o'],
  ['combining accent', 'fo\u0301o'],
  ['lone surrogate', 'foo\ud800'],
];

function gatewayNames(): CorpusCase[] {
  const cases = BAD_GATEWAY_NAMES.flatMap(([name, value]) =>
    inBothModes(
      'gateway name',
      { name, expect: invalidGateway(value) },
      JSON.stringify({ gateway_name: value }),
    ),
  );
  cases.push(
    ...inBothModes(
      'gateway name',
      { name: 'empty', expect: missingGateway },
      '{"gateway_name":""}',
    ),
  );
  return cases;
}

/** gateway_name of another JSON type than string: 400, naming the type. */
const GATEWAY_NAME_TYPES: ReadonlyArray<readonly [string, string, string]> = [
  ['a number', '5', 'a number'],
  ['zero', '0', 'a number'],
  ['a huge number', '1e400', 'a number'],
  ['null', 'null', 'null'],
  ['true', 'true', 'a boolean'],
  ['an array of a name', '["foo"]', 'an array'],
  ['an empty array', '[]', 'an array'],
  ['an object', '{"a":1}', 'an? object'],
];

function gatewayNameTypes(): CorpusCase[] {
  return GATEWAY_NAME_TYPES.flatMap(([name, json, type]) =>
    inBothModes(
      'gateway_name type',
      { name, expect: rejected(`data\\.gateway_name must be a string, got ${type}`) },
      `{"gateway_name":${json}}`,
    ),
  );
}

const DEEP = 10_000;

function dataShapes(): CorpusCase[] {
  const shapes: ReadonlyArray<readonly [string, string, Expectation]> = [
    ['null', 'null', rejected('the event has no data')],
    ['a number', '5', rejected('the event data is a number')],
    ['a fraction', '5.5', rejected('the event data is a number')],
    ['true', 'true', rejected('the event data is a boolean')],
    // The SDK drops a falsy data member of a structured event: "no data" is what can be said.
    ['false', 'false', rejected('the event data is a boolean|the event has no data')],
    ['a string', '"foo"', rejected('the event data is (not JSON|a string)')],
    ['an empty string', '""', rejected('the event (data is (not JSON|a string)|has no data)')],
    [
      'a string holding JSON of a bad type',
      JSON.stringify('{"gateway_name":5}'),
      rejected('the event data is a string|data\\.gateway_name must be a string'),
    ],
    ['an empty array', '[]', rejected('the event data is an array')],
    ['an array of a name', '["foo"]', rejected('the event data is an array')],
    ['an array of the object', `[${GOOD_DATA}]`, rejected('the event data is an array')],
    [
      `${DEEP} nested arrays`,
      `${'['.repeat(DEEP)}${']'.repeat(DEEP)}`,
      rejected('the event data is an array'),
    ],
    [`${DEEP} nested objects`, `${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}`, missingGateway],
    ['an empty object', '{}', missingGateway],
    ['another key', '{"gateway":"foo"}', missingGateway],
    ['the key in another case', '{"Gateway_Name":"foo"}', missingGateway],
    ['the key with a trailing space', '{"gateway_name ":"foo"}', missingGateway],
    ['the key in camel case', '{"gatewayName":"foo"}', missingGateway],
  ];
  const cases = shapes.flatMap(([name, json, expect]) => {
    return [
      binary('data shape', { name, expect }, json),
      structured('data shape', { name, expect }, json),
    ];
  });
  // No data at all: an empty body without content-type, and an envelope without "data".
  cases.push(
    binary('data shape', { name: 'absent', expect: rejected('the event has no data') }, '', {
      'content-type': null,
    }),
    structured(
      'data shape',
      { name: 'absent', expect: rejected('the event has no data') },
      undefined,
    ),
  );
  return cases;
}

function messages(): CorpusCase[] {
  const bad: ReadonlyArray<readonly [string, string, string]> = [
    ['a number', '5', 'data\\.message must be a string when present, got a number'],
    ['an object', '{"a":1}', 'data\\.message must be a string when present, got an? object'],
    ['an array', '["hi"]', 'data\\.message must be a string when present, got an array'],
    ['true', 'true', 'data\\.message must be a string when present, got a boolean'],
    ['null', 'null', 'data\\.message must be a string when present, got null'],
    ['1025 characters', JSON.stringify('m'.repeat(1025)), 'data\\.message is longer than 1024'],
    ['60000 characters', JSON.stringify('m'.repeat(60_000)), 'data\\.message is longer than 1024'],
    [
      '513 emoji (1026 UTF-16 units)',
      JSON.stringify('\u{1f642}'.repeat(513)),
      'data\\.message is longer than 1024',
    ],
  ];
  return bad.flatMap(([name, json, message]) =>
    inBothModes(
      'message',
      { name, expect: rejected(message) },
      `{"gateway_name":"foo","message":${json}}`,
    ),
  );
}

/**
 * Event ids and sources with characters a pod name cannot have. The pod name is a hash of them,
 * so they are fine as long as they fit on the pod (1024 characters); paired with a bad gateway
 * name, the `failed` reply must still carry them back (the `inresponseto` extension).
 */
function idsAndSources(): CorpusCase[] {
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
  for (const [name, id] of unicodeIds) {
    const variant = { name: `id with ${name}`, expect: failedForGateway };
    cases.push(binary('event id', variant, BAD_GATEWAY_DATA, { 'ce-id': id }));
    cases.push(structured('event id', { ...variant }, BAD_GATEWAY_DATA, { id }));
  }
  // Control characters cannot be in a header; in structured mode they can be in the id.
  for (const [name, id] of [
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
  ] as const) {
    cases.push(
      structured(
        'event id',
        { name: `id with ${name}`, expect: failedForGateway },
        BAD_GATEWAY_DATA,
        { id },
      ),
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

function eventTypes(): CorpusCase[] {
  const other = (type: string): Expectation =>
    rejected(`event type "${escapeRegExp(type)}" is not handled; expected "${PENDING}", `);
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
 * `__proto__`, `constructor` and `prototype` keys, at the top and nested. In binary mode the
 * runtime's JSON parser (Fastify, secure-json-parse) refuses `__proto__` and
 * `constructor.prototype` outright; in structured mode the cloudevents SDK parses them as plain
 * keys, and the function must read only the data's own `gateway_name`.
 */
function prototypeKeys(): CorpusCase[] {
  const family = 'prototype keys';
  const forbidden = rejected('forbidden prototype property');
  const keys: ReadonlyArray<readonly [string, string, Expectation, boolean]> = [
    ['gateway_name under __proto__', '{"__proto__":{"gateway_name":"foo"}}', missingGateway, true],
    [
      'gateway_name under constructor.prototype',
      '{"constructor":{"prototype":{"gateway_name":"foo"}}}',
      missingGateway,
      true,
    ],
    ['constructor.prototype.x', '{"constructor":{"prototype":{"x":1}}}', missingGateway, true],
    ['gateway_name under prototype', '{"prototype":{"gateway_name":"foo"}}', missingGateway, false],
    [
      'gateway_name under a nested __proto__',
      '{"a":{"__proto__":{"gateway_name":"foo"}}}',
      missingGateway,
      true,
    ],
    [
      '__proto__ next to a bad gateway name',
      '{"__proto__":{"gateway_name":"foo"},"gateway_name":"foo,bar"}',
      invalidGateway('foo,bar'),
      true,
    ],
    [
      'message under __proto__',
      '{"__proto__":{"message":5},"gateway_name":"foo,bar"}',
      invalidGateway('foo,bar'),
      true,
    ],
    ['__proto__ null', '{"__proto__":null}', missingGateway, true],
    [
      '__proto__ inside gateway_name',
      '{"gateway_name":{"__proto__":{"toString":"foo"}}}',
      rejected('data\\.gateway_name must be a string, got an? object'),
      true,
    ],
    [
      'hasOwnProperty shadowed',
      '{"hasOwnProperty":"x","gateway_name":"foo,bar"}',
      invalidGateway('foo,bar'),
      false,
    ],
    ['toString as the only key', '{"toString":"foo"}', missingGateway, false],
  ];
  return keys.flatMap(([name, json, expect, refusedByParser]) => [
    binary(family, { name, expect: refusedByParser ? forbidden : expect }, json),
    structured(family, { name, expect }, json),
  ]);
}

/** Missing or invalid attributes in binary mode: ce-* headers. */
function binaryAttributes(): CorpusCase[] {
  const family = 'binary attributes';
  const variants: ReadonlyArray<readonly [Variant, Attributes]> = [
    [{ name: 'no ce-id', expect: rejected('ce-id is missing') }, { 'ce-id': null }],
    [
      {
        name: 'empty ce-id',
        expect: rejected('ce-id.*empty|missing: ce-id'),
      },
      { 'ce-id': '' },
    ],
    [
      {
        name: 'no ce-source',
        expect: rejected("required property 'source'|missing: ce-source|ce-source is missing"),
      },
      {
        'ce-source': null,
      },
    ],
    [
      {
        name: 'empty ce-source',
        expect: rejected(
          "source.*fewer than 1 characters|required property 'source'|ce-source must be a non-empty string",
        ),
      },
      { 'ce-source': '' },
    ],
    [
      { name: 'ce-source with a space', expect: rejected('source.*uri-reference') },
      {
        'ce-source': '/a b',
      },
    ],
    [
      { name: 'ce-source with a tab', expect: rejected('source.*uri-reference') },
      {
        'ce-source': '/a\tb',
      },
    ],
    [
      { name: 'ce-source with angle brackets', expect: rejected('source.*uri-reference') },
      {
        'ce-source': '/<script>',
      },
    ],
    [
      {
        name: 'no ce-type',
        expect: rejected("required property 'type'|missing: ce-type|ce-type is missing"),
      },
      {
        'ce-type': null,
      },
    ],
    [
      {
        name: 'empty ce-type',
        expect: rejected(
          'type.*fewer than 1 characters|missing: ce-type|ce-type must be a non-empty string',
        ),
      },
      {
        'ce-type': '',
      },
    ],
    [
      {
        name: 'no ce-specversion',
        expect: rejected('ce-specversion is missing'),
      },
      { 'ce-specversion': null },
    ],
    [
      {
        name: 'ce-specversion 0.3-invalid',
        expect: rejected('specversion'),
      },
      { 'ce-specversion': '0.3-invalid' },
    ],
    [{ name: 'ce-specversion 2.0', expect: rejected('specversion') }, { 'ce-specversion': '2.0' }],
    [{ name: 'ce-specversion 1', expect: rejected('specversion') }, { 'ce-specversion': '1' }],
    [
      {
        name: 'ce-specversion 2.0 and a source that is not a URI',
        expect: rejected('specversion|source'),
      },
      { 'ce-specversion': '2.0', 'ce-source': 'not a uri' },
    ],
    [{ name: 'ce-time not a timestamp', expect: rejected('time') }, { 'ce-time': 'yesterday' }],
    [
      { name: 'ce-time out of range', expect: rejected('time') },
      { 'ce-time': '2024-13-45T99:99:99Z' },
    ],
    [{ name: 'ce-time in epoch seconds', expect: rejected('time') }, { 'ce-time': '1700000000' }],
    [
      { name: 'extension name with a dash', expect: rejected('invalid attribute name: "my-ext"') },
      {
        'CE-My-Ext': 'x',
      },
    ],
    [
      {
        name: 'extension name with an underscore',
        expect: rejected('invalid attribute name: "my_ext"'),
      },
      { 'ce-my_ext': 'x' },
    ],
    [
      {
        name: 'ce-schemaurl on a 1.0 event',
        expect: rejected('schemaurl'),
      },
      { 'ce-schemaurl': 'https://example.com/schema' },
    ],
    [
      { name: 'ce-dataschema not a URI', expect: rejected('dataschema.*uri') },
      { 'ce-dataschema': 'not a uri' },
    ],
  ];
  const cases = variants.map(([variant, attributes]) =>
    binary(family, variant, GOOD_DATA, attributes),
  );
  // The same ce-* header twice with different values: Node joins them with ", " (two ids would
  // become the one id "<id>, corpus-other-id"), so the function refuses the repetition itself.
  const duplicated: ReadonlyArray<readonly [string, string]> = [
    ['ce-id', 'corpus-other-id'],
    ['ce-source', '/other'],
    ['ce-type', 'com.example.other'],
    ['ce-specversion', '0.3'],
  ];
  for (const [header, second] of duplicated) {
    const variant: Variant = {
      name: `${header} twice with different values`,
      expect: rejected(`${header} is sent more than once`),
    };
    cases.push(binary(family, variant, GOOD_DATA, {}, [[header, second]]));
  }
  // Twice with the same value: harmless, but refused alike (one attribute, one header).
  cases.push(
    binary(
      family,
      { name: 'ce-id twice with the same value', expect: rejected('ce-id is sent more than once') },
      GOOD_DATA,
      { 'ce-id': 'corpus-same-id' },
      [['ce-id', 'corpus-same-id']],
    ),
  );
  return cases;
}

/** Missing or invalid attributes in structured mode: members of the JSON envelope. */
function structuredAttributes(): CorpusCase[] {
  const family = 'structured attributes';
  const variants: ReadonlyArray<readonly [Variant, Envelope]> = [
    [
      { name: 'no id', expect: rejected("required property 'id'|\\bid\\b") },
      {
        id: undefined,
      },
    ],
    [{ name: 'empty id', expect: rejected('\\bid\\b') }, { id: '' }],
    [{ name: 'id null', expect: rejected('\\bid\\b') }, { id: null }],
    [
      {
        name: 'id a number',
        expect: rejected('/id.*must be string|\\bid must be a non-empty string'),
      },
      { id: 5 },
    ],
    [
      {
        name: 'id an object',
        expect: rejected('/id.*must be string|\\bid must be a non-empty string'),
      },
      { id: { a: 1 } },
    ],
    [
      { name: 'no source', expect: rejected("required property 'source'|\\bsource is missing") },
      { source: undefined },
    ],
    [
      { name: 'empty source', expect: rejected("required property 'source'|source") },
      {
        source: '',
      },
    ],
    [
      {
        name: 'source a number',
        expect: rejected('/source.*must be string|\\bsource must be a non-empty string'),
      },
      { source: 5 },
    ],
    [
      { name: 'no type', expect: rejected("required property 'type'|\\btype is missing") },
      { type: undefined },
    ],
    [
      {
        name: 'empty type',
        expect: rejected("required property 'type'|/type|\\btype must be a non-empty string"),
      },
      { type: '' },
    ],
    [
      {
        name: 'type a number',
        expect: rejected('/type.*must be string|\\btype must be a non-empty string'),
      },
      { type: 5 },
    ],
    [
      {
        name: 'no specversion',
        expect: rejected('specversion'),
      },
      { specversion: undefined },
    ],
    [
      { name: 'specversion 0.3-invalid', expect: rejected('specversion') },
      { specversion: '0.3-invalid' },
    ],
    [{ name: 'specversion 2.0', expect: rejected('specversion') }, { specversion: '2.0' }],
    [{ name: 'specversion the number 1', expect: rejected('specversion') }, { specversion: 1 }],
    [
      {
        name: 'specversion 2.0, no id and a source that is not a URI',
        expect: rejected('specversion|source|\\bid\\b'),
      },
      { specversion: '2.0', id: undefined, source: 'not a uri' },
    ],
    [{ name: 'time not a timestamp', expect: rejected('time') }, { time: 'yesterday' }],
    [{ name: 'time a number', expect: rejected('time') }, { time: 1700000000 }],
    [
      { name: 'attribute name in uppercase', expect: rejected('invalid attribute name: "ID"') },
      {
        ID: 'x',
      },
    ],
    [
      { name: 'attribute name capitalised', expect: rejected('invalid attribute name: "Source"') },
      {
        Source: '/x',
      },
    ],
    [
      { name: 'attribute name with a dash', expect: rejected('invalid attribute name: "my-ext"') },
      {
        'my-ext': 'x',
      },
    ],
    [
      {
        name: 'attribute name with an underscore',
        expect: rejected('invalid attribute name: "my_ext"'),
      },
      { my_ext: 'x' },
    ],
    [
      { name: 'attribute name with a space', expect: rejected('invalid attribute name: "my ext"') },
      { 'my ext': 'x' },
    ],
    [
      {
        name: 'extension value an object',
        expect: rejected('extension value|ext'),
      },
      { ext: { a: 1 } },
    ],
    [
      {
        name: 'schemaurl on a 1.0 event',
        expect: rejected('schemaurl'),
      },
      { schemaurl: 'https://example.com/schema' },
    ],
    [
      {
        name: 'data_base64 a number',
        expect: rejected('data_base64'),
      },
      { data_base64: 5 },
    ],
  ];
  const cases = variants.map(([variant, envelope]) =>
    structured(family, variant, GOOD_DATA, envelope),
  );
  const base64 = (json: string): string => Buffer.from(json).toString('base64');
  cases.push(
    structured(
      family,
      {
        name: 'data_base64 with a bad gateway name',
        expect: rejected('data_base64 is not supported'),
      },
      undefined,
      { data_base64: base64(BAD_GATEWAY_DATA) },
    ),
    structured(
      family,
      {
        name: 'both data and data_base64',
        expect: rejected('data_base64'),
      },
      GOOD_DATA,
      { data_base64: base64('{}') },
    ),
  );
  return cases;
}

/** Event data of exactly `bytes` bytes: a good gateway name and padding. */
function paddedTo(bytes: number): string {
  const [head, tail] = ['{"gateway_name":"foo","pad":"', '"}'];
  return `${head}${'p'.repeat(bytes - head.length - tail.length)}${tail}`;
}

/** Sizes: bodies over the runtime's limit, headers over Node's, attributes over ours. */
function sizes(): CorpusCase[] {
  const family = 'size';
  const tooLarge: Expectation = { status: 413, message: 'Request body is too large' };
  const padded = paddedTo(2 * BODY_LIMIT);
  const cases: CorpusCase[] = [
    binary(family, { name: 'body of 2 MiB', expect: tooLarge }, padded),
    binary(
      family,
      { name: 'body of 1 MiB, the runtime’s own limit', expect: tooLarge },
      paddedTo(1024 * 1024),
    ),
    structured(family, { name: 'body of 2 MiB', expect: tooLarge }, padded),
    binary(
      family,
      { name: 'body one byte over the limit', expect: tooLarge },
      paddedTo(BODY_LIMIT + 1),
    ),
    binary(
      family,
      {
        name: 'content-length of 2 MB declared, small body',
        expect: tooLarge,
        note: 'the runtime refuses on the declared length, before reading',
      },
      GOOD_DATA,
      {},
      [['content-length', String(2 * BODY_LIMIT)]],
    ),
    binary(
      family,
      {
        name: 'a 20 KB header',
        expect: { status: 431, message: 'header' },
        note: "over Node's 16 KiB limit on the request head",
      },
      GOOD_DATA,
      {},
      [['x-padding', 'h'.repeat(20_000)]],
    ),
    binary(
      family,
      { name: 'a 12 KB ce-id', expect: rejected('event id is longer than 1024') },
      GOOD_DATA,
      { 'ce-id': 'i'.repeat(12_000) },
    ),
    binary(
      family,
      { name: 'a 12 KB ce-source', expect: rejected('event source is longer than 1024') },
      GOOD_DATA,
      { 'ce-source': `/${'s'.repeat(12_000)}` },
    ),
    binary(
      family,
      { name: 'a 12 KB traceparent', expect: rejected('^traceparent "t+….* is not a W3C') },
      BAD_GATEWAY_DATA,
      { 'ce-traceparent': 't'.repeat(12_000) },
    ),
    binary(
      family,
      { name: '300 extension headers', expect: invalidGateway('foo,bar') },
      BAD_GATEWAY_DATA,
      {},
      Array.from({ length: 300 }, (_, i) => [`ce-ext${i}`, `v${i}`] as const),
    ),
    structured(
      family,
      { name: '3000 extension attributes', expect: invalidGateway('foo,bar') },
      BAD_GATEWAY_DATA,
      Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`ext${i}`, `v${i}`])),
    ),
  ];
  return cases;
}

/** Every generated case, in a stable order with stable ids. */
export function generatedCases(): CorpusCase[] {
  sequence = 0;
  return [
    ...gatewayNames(),
    ...gatewayNameTypes(),
    ...dataShapes(),
    ...prototypeKeys(),
    ...messages(),
    ...idsAndSources(),
    ...eventTypes(),
    ...binaryAttributes(),
    ...structuredAttributes(),
    ...sizes(),
    ...replyHeaders(),
  ];
}

/**
 * Attributes copied into the reply's headers (traceparent, tracestate) that no header can carry
 * or that are not in the W3C form: refused before any pod (issue 9), in structured mode, where
 * JSON can hold any character, and in binary mode where HTTP lets it through.
 */
function replyHeaders(): CorpusCase[] {
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

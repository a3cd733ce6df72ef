// The families of bad event data: gateway names that are not label values, gateway_name of
// another type, data of other shapes, prototype keys, messages.
import type { CorpusCase, Expectation } from '../corpus.ts';
import {
  binary,
  GOOD_DATA,
  inBothModes,
  invalidGateway,
  missingGateway,
  rejected,
  structured,
} from './build.ts';

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

export function gatewayNames(): CorpusCase[] {
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

export function gatewayNameTypes(): CorpusCase[] {
  return GATEWAY_NAME_TYPES.flatMap(([name, json, type]) =>
    inBothModes(
      'gateway_name type',
      { name, expect: rejected(`data\\.gateway_name must be a string, got ${type}`) },
      `{"gateway_name":${json}}`,
    ),
  );
}

const DEEP = 10_000;

export function dataShapes(): CorpusCase[] {
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

export function messages(): CorpusCase[] {
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
 * `__proto__`, `constructor` and `prototype` keys, at the top and nested. In binary mode the
 * runtime's JSON parser (Fastify, secure-json-parse) refuses `__proto__` and
 * `constructor.prototype` outright; in structured mode the cloudevents SDK parses them as plain
 * keys, and the function must read only the data's own `gateway_name`.
 */
export function prototypeKeys(): CorpusCase[] {
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

// The families of missing or invalid attributes: ce-* headers in binary mode, envelope members in
// structured mode.
import type { CorpusCase } from '../corpus.ts';
import {
  type Attributes,
  BAD_GATEWAY_DATA,
  binary,
  type Envelope,
  GOOD_DATA,
  rejected,
  structured,
  type Variant,
} from './build.ts';

/** Missing or invalid attributes in binary mode: ce-* headers. */
export function binaryAttributes(): CorpusCase[] {
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
export function structuredAttributes(): CorpusCase[] {
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

// The builders the families of the bad-input corpus share: a case in binary or in structured mode
// on an otherwise valid event, and the expectations most of them use.
import { bounded, quoted } from '../../../src/formats/bounded-text.ts';
import type { CorpusCase, Expectation } from '../corpus.ts';

export const PENDING = 'io.podgateway.client.pending';
const SOURCE = '/corpus';
/** The function's default body limit (src/edge/plugin.ts; FUNC_BODY_LIMIT unset): 64 KiB. */
export const BODY_LIMIT = 64 * 1024;

export type Mode = 'binary' | 'structured';
const MODES: readonly Mode[] = ['binary', 'structured'];

/** CloudEvent attributes of a case; null leaves one out. */
export type Attributes = Record<string, string | null>;
/** Structured-mode envelope fields; undefined leaves one out, any JSON value goes. */
export type Envelope = Record<string, unknown>;

export interface Variant {
  readonly name: string;
  readonly expect: Expectation;
  readonly todo?: string;
  readonly note?: string;
}

let sequence = 0;
/** Restarts the ids at 1, so that every generation of the corpus numbers its cases alike. */
export function restartIds(): void {
  sequence = 0;
}
const nextId = (family: string): string => {
  sequence += 1;
  return `corpus-${family}-${sequence}`;
};

/** A binary-mode request: ce-* headers from the attributes, `data` the raw body text. */
export function binary(
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
export function structured(
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

export function inBothModes(
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

export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
export const GOOD_DATA = '{"gateway_name":"foo"}';
export const BAD_GATEWAY_DATA = '{"gateway_name":"foo,bar"}';

export const rejected = (message: string): Expectation => ({ status: 400, message });
/** The name is told back bounded, unprintable characters as `<U+…>` (src/formats/bounded-text.ts). */
export const invalidGateway = (name: string): Expectation => ({
  failed: 'InvalidGatewayName',
  message: `^data\\.gateway_name ${escapeRegExp(quoted(name))} is not a valid label value`,
  gateway_name: bounded(name),
});
export const missingGateway: Expectation = {
  failed: 'InvalidGatewayName',
  message: '^data\\.gateway_name is missing or empty',
};

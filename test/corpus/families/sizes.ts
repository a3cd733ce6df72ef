// The family of sizes: bodies over the runtime's limit, headers over Node's, attributes over ours.
import type { CorpusCase, Expectation } from '../corpus.ts';
import {
  BAD_GATEWAY_DATA,
  BODY_LIMIT,
  binary,
  GOOD_DATA,
  invalidGateway,
  rejected,
  structured,
} from './build.ts';

/** Event data of exactly `bytes` bytes: a good gateway name and padding. */
function paddedTo(bytes: number): string {
  const [head, tail] = ['{"gateway_name":"foo","pad":"', '"}'];
  return `${head}${'p'.repeat(bytes - head.length - tail.length)}${tail}`;
}

/** Sizes: bodies over the runtime's limit, headers over Node's, attributes over ours. */
export function sizes(): CorpusCase[] {
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

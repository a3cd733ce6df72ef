import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentEncoded } from '../../src/events/replies.ts';

describe('the inresponseto attribute', () => {
  it('keeps printable ASCII ids as they are', () => {
    assert.equal(percentEncoded('test-1/a:b_c.d~e'), 'test-1/a:b_c.d~e');
  });
  it('percent-encodes space, quote, percent and anything beyond ASCII, as UTF-8', () => {
    assert.equal(percentEncoded('a b"c%d'), 'a%20b%22c%25d');
    assert.equal(percentEncoded('é€\n'), '%C3%A9%E2%82%AC%0A');
    assert.equal(decodeURIComponent(percentEncoded('ü 🚀')), 'ü 🚀');
  });
});

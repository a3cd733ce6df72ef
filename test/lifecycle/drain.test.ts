// Graceful shutdown's bookkeeping: what it answers, and what it does not keep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Drain } from '../../src/lifecycle/drain.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('Drain', () => {
  it('returns what the work returns while no drain is under way', async () => {
    const drain = new Drain();
    assert.equal(
      await drain.track(
        async () => 'done',
        () => 'late',
      ),
      'done',
    );
    assert.equal(drain.inflight, 0);
  });

  it('answers with whenGraceOver for work still running when the grace period ends', async () => {
    const drain = new Drain();
    const slow = drain.track(
      () => new Promise<string>((resolve) => setTimeout(() => resolve('done'), 500)),
      () => 'late',
    );
    const quick = drain.track(
      async () => 'done',
      () => 'late',
    );
    await drain.drain(50);
    assert.equal(await quick, 'done');
    assert.equal(await slow, 'late');
  });

  it('keeps nothing of a request once it has ended', async () => {
    const drain = new Drain();
    // As handle() does: both closures share the scope that holds the request.
    const handleOne = async () => {
      const request = { payload: new Uint8Array(1024) };
      await drain.track(
        async () => request.payload.length,
        () => request.payload.length,
      );
      return new WeakRef(request);
    };
    const released = [await handleOne(), await handleOne()];
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.deepEqual(
      released.map((ref) => ref.deref()),
      [undefined, undefined],
      'a request was kept after it ended',
    );
  });
});

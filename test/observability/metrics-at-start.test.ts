// The labelled counters with known label values have their series from the start, at 0: a
// dashboard or an alert sees 0, not nothing, before the first release or sweep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useHarness } from '../support/harness.ts';

const h = useHarness({});

describe('/metrics before any event', () => {
  it('has every release outcome and sweep reason at 0', async () => {
    const text = await (await fetch(`${h.fn.url}/metrics`)).text();
    const series = (name: string, label: string, value: string) =>
      new RegExp(`^${name}\\{${label}="${value}"[^}]*\\} 0$`, 'm');
    for (const outcome of ['deleted', 'gone']) {
      assert.match(text, series('podgateway_pods_released_total', 'outcome', outcome));
    }
    for (const reason of ['Succeeded', 'Failed', 'Expired']) {
      assert.match(text, series('podgateway_pods_swept_total', 'reason', reason));
    }
  });
});

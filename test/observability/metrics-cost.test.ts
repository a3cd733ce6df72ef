// /metrics costs less than an event and starts no process: faas-js-runtime's OS gauges
// (faas_cpu_utilization, faas_mem_utilization, faas_netio_utilization, through node-os-utils)
// ran shell commands on every scrape. Here the function runs as the tests run it (the runtime's
// CLI over index.ts); test/observability/built-function.test.ts checks what `npm start` runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { makeCommandSpy } from '../support/command-spy.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const spy = makeCommandSpy();
const h = useHarness({ PATH: `${spy.dir}:${process.env.PATH ?? ''}` });

describe('/metrics', () => {
  it('runs no command, however often it is scraped, and serves no OS gauge', async () => {
    const scrapes = await Promise.all(
      Array.from({ length: 8 }, async () => (await fetch(`${h.fn.url}/metrics`)).text()),
    );
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const last = await (await fetch(`${h.fn.url}/metrics`)).text();
    for (const text of [...scrapes, last]) {
      assert.doesNotMatch(text, /faas_(cpu|mem|netio)_utilization/);
    }
    // What the OS gauges stood for: the process's own, from prom-client's default metrics.
    assert.match(last, /^process_cpu_seconds_total\{/m);
    assert.match(last, /^process_resident_memory_bytes\{/m);
    assert.match(last, /^podgateway_provisions_total\{/m);
    // The gauges' collect() ran the commands without waiting for them: give a stray one time.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(spy.commandsRun(), []);
  });
});

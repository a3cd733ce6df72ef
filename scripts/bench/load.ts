// The load generator: pending events over keep-alive HTTP, and their latencies.
import { Agent, request } from 'node:http';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { percentile } from './stats.ts';

export interface LoadResult {
  readonly eventsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
  readonly events: number;
  /** CPU time of the subject's process per event, in ms (set by the caller that knows it). */
  cpuPerEvent?: number;
}

let sequence = 0;
export const RUN_TAG = `${process.pid}-${Date.now()}`;
const BODY = JSON.stringify({ gateway_name: 'foo' });

function eventHeaders(): Record<string, string | number> {
  sequence += 1;
  return {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(BODY),
    'ce-specversion': '1.0',
    'ce-id': `bench-${RUN_TAG}-${sequence}`,
    'ce-source': '/bench',
    'ce-type': 'io.podgateway.client.pending',
  };
}

/** Sends one pending event; resolves whether the reply was a `done` event. */
export function sendEvent(port: number, agent: Agent | false): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: eventHeaders() },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.statusCode === 200 && res.headers['ce-type'] === DONE_TYPE),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

/** `concurrency` senders over keep-alive connections, until `count` events or `durationMs`. */
export async function load(
  port: number,
  concurrency: number,
  limit: { count?: number; durationMs?: number },
  onEvent?: (sent: number) => void,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let sent = 0;
  let failures = 0;
  const started = performance.now();
  const deadline = limit.durationMs === undefined ? Infinity : started + limit.durationMs;
  const count = limit.count ?? Infinity;
  const sender = async () => {
    while (sent < count && performance.now() < deadline) {
      sent += 1;
      const t0 = performance.now();
      const done = await sendEvent(port, agent);
      latencies.push(performance.now() - t0);
      if (!done) failures += 1;
      onEvent?.(latencies.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    eventsPerSecond: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
    events: latencies.length,
  };
}

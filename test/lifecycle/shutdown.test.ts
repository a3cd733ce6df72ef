// Graceful shutdown with a real SIGTERM: new requests are refused with 503, requests in flight
// finish within SHUTDOWN_GRACE_MS or are answered 503, and the process exits.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { eventually } from '../../testbed/eventually.ts';
import { type RunningFunction, startFunction } from '../../testbed/function-process.ts';
import { POD_CREATES } from '../../testbed/kube-api-server/faults.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';

let server: KubeApiServer;
let workDir: string;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-shutdown-'));
  server = await startKubeApiServer();
});

after(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

/** A pod create: not the access check's SelfSubjectAccessReviews, POSTs too. */
const isPodCreate = (request: { method: string; path: string }) =>
  request.method === 'POST' && request.path.endsWith('/pods');

/** Resolves once the API server has received a create. */
function createArrived(): Promise<void> {
  return eventually('a pod create', () => server.requests.some(isPodCreate), { intervalMs: 10 });
}

/** Resolves once the function says it is shutting down: it drains from then on. */
function draining(fn: RunningFunction): Promise<void> {
  return eventually('the function to drain', async () => {
    const answer = await fetch(`${fn.url}/health/readiness`);
    return answer.status === 503 && /shutting down/.test(await answer.text());
  });
}

describe('on SIGTERM', () => {
  it('finishes the request in flight, refuses new ones with 503, then exits 0', async () => {
    server.reset();
    const fn = await startFunction({
      env: { KUBECONFIG: await server.writeKubeconfig(workDir), SHUTDOWN_GRACE_MS: '5000' },
    });
    server.injectFault({ method: 'POST', path: /\/pods$/, delayMs: 1000 });
    const inFlight = sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    await createArrived();
    const exited = once(fn.process, 'exit');
    fn.process.kill('SIGTERM');
    await draining(fn);

    const refused = await sendEvent(fn.url, pendingEvent({ gateway_name: 'bar' }), 'binary');
    assert.equal(refused.status, 503);
    assert.ok(refused.headers.get('retry-after'));

    const reply = await inFlight;
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const [code] = await exited;
    assert.equal(code, 0);
    assert.equal(server.pods('default').length, 1, 'only the request in flight made a pod');
  });

  it('answers 503 to a request still in flight when the grace period ends, and exits', async () => {
    server.reset();
    const fn = await startFunction({
      env: { KUBECONFIG: await server.writeKubeconfig(workDir), SHUTDOWN_GRACE_MS: '300' },
    });
    server.injectFault({ method: 'POST', path: /\/pods$/, delayMs: 3000 });
    const inFlight = sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    await createArrived();
    const exited = once(fn.process, 'exit');
    fn.process.kill('SIGTERM');

    const reply = await inFlight;
    assert.equal(reply.status, 503);
    assert.match(reply.text, /shut down before the event was handled/);
    await exited;
    const create = server.requests.find(isPodCreate);
    assert.equal(create?.status, 0, 'the process did not wait for the slow API call to finish');
  });

  it('writes the Kubernetes Event of a request it finished during the drain before it exits', async () => {
    server.reset();
    const fn = await startFunction({
      env: { KUBECONFIG: await server.writeKubeconfig(workDir), SHUTDOWN_GRACE_MS: '5000' },
    });
    server.injectFault({ method: 'POST', path: POD_CREATES, delayMs: 500 });
    // The Event's first write is refused for a while: it is written again after Retry-After,
    // once the drain is over and the runtime would have exited.
    const eventCreates = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/[^/]+\/events$/;
    server.injectFault({ method: 'POST', path: eventCreates, status: 503, retryAfterSeconds: 1 });
    const inFlight = sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    await createArrived();
    const exited = once(fn.process, 'exit');
    fn.process.kill('SIGTERM');

    const reply = await inFlight;
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const [code] = await exited;
    assert.equal(code, 0);
    const refusedFirst = server.requests.filter(
      (request) => request.method === 'POST' && eventCreates.test(request.path),
    );
    assert.equal(refusedFirst.length, 2, 'the Event was refused once, then written again');
    const told = server.events('default').map((event) => event.reason);
    assert.deepEqual(told, ['Provisioned']);
  });
});

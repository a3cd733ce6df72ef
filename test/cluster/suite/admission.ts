// Admission refusals as the real kube-apiserver words them, and what the function answers for
// each (docs/troubleshooting.md): Pod Security, ResourceQuota, a webhook that is down, a
// ServiceAccount that does not exist yet; and a redelivery, whose pod exists, while they refuse.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import type { Reply } from '../../support/events.ts';
import {
  CLIENT_NAMESPACE,
  pendingFor,
  podOf,
  replyData,
  retryBody,
  type Suite,
  send,
  waitFor,
} from './context.ts';
import { createClientNamespace, deleteNamespace } from './namespaces.ts';

const DONE = 'io.podgateway.client.scheduling.done';
const FAILED = 'io.podgateway.client.scheduling.failed';
const ENFORCE = 'pod-security.kubernetes.io/enforce';
/** Short, so that a webhook that is down ends in its 503 soon. */
const SHORT_DEADLINE = { EVENT_DEADLINE_MS: '4000', API_TIMEOUT_MS: '2000' };

function assertRetry(reply: Reply, reason: string, retryAfter: string): string {
  assert.equal(reply.status, 503, reply.text);
  assert.equal(reply.event, undefined);
  assert.equal(reply.headers.get('retry-after'), retryAfter);
  const body = retryBody(reply);
  assert.equal(body.error, reason);
  return body.message;
}

function assertFailed(reply: Reply, reason: string): string {
  assert.equal(reply.event?.type, FAILED, reply.text);
  const data = replyData(reply);
  assert.equal(data.reason, reason);
  return String(data.message);
}

async function applyQuota(suite: Suite, name: string, hard: Record<string, string>) {
  await suite.core.createNamespacedResourceQuota({
    namespace: CLIENT_NAMESPACE,
    body: { metadata: { name }, spec: { hard } },
  });
}

export function describeAdmission(suite: Suite): void {
  describe('admission refusals in client-system', () => {
    let fn: RunningFunction | undefined;
    const running = () => {
      if (fn === undefined) throw new Error('the function is not running');
      return fn;
    };
    /** A pod made while admission let it through, for the redeliveries. */
    const made = pendingFor('foo');
    before(async () => {
      fn = await suite.startFunction(SHORT_DEADLINE);
      const reply = await send(running(), made);
      assert.equal(reply.event?.type, DONE, reply.text);
    });
    after(() => fn?.stop());

    it('Pod Security restricted refuses the webhook NET_ADMIN containers: PodSecurityViolation', async () => {
      await suite.labelNamespace(CLIENT_NAMESPACE, { [ENFORCE]: 'restricted' });
      try {
        await suite.waitForAdmission('Pod Security enforcing restricted', (dryRun) => {
          return dryRun.kind === 'refused' && dryRun.message.includes('violates PodSecurity');
        });
        const event = pendingFor('foo');
        const message = assertFailed(await send(running(), event), 'PodSecurityViolation');
        assert.match(
          message,
          /^pods "client-[0-9a-f]{20}" is forbidden: violates PodSecurity "restricted:latest": /,
        );
        assert.match(message, /"gateway-init", "gateway-sidecar"/);
        assert.match(message, /"NET_ADMIN", "NET_RAW"/);
        assert.equal(await suite.podExists(podOf(event)), false);

        const again = await send(running(), made);
        assert.equal(again.event?.type, DONE, again.text);
        assert.equal(replyData(again).pod_name, podOf(made));
      } finally {
        await suite.labelNamespace(CLIENT_NAMESPACE, { [ENFORCE]: 'privileged' });
        await suite.waitForAdmission('Pod Security privileged again', (d) => d.kind === 'admitted');
      }
    });

    it('a full ResourceQuota: 503 QuotaExceeded, as docs/troubleshooting.md says', async () => {
      await applyQuota(suite, 'full', { pods: '0' });
      try {
        await suite.waitForAdmission('the quota counted', (dryRun) => {
          return dryRun.kind === 'refused' && dryRun.message.includes('exceeded quota: full');
        });
        const event = pendingFor('foo');
        const message = assertRetry(await send(running(), event), 'QuotaExceeded', '10');
        assert.match(
          message,
          /^pods "client-[0-9a-f]{20}" is forbidden: exceeded quota: full, requested: pods=1, used: pods=\d+, limited: pods=0$/,
        );
        const again = await send(running(), made);
        assert.equal(again.event?.type, DONE, again.text);
      } finally {
        await suite.core.deleteNamespacedResourceQuota({
          name: 'full',
          namespace: CLIENT_NAMESPACE,
        });
        await suite.waitForAdmission('the quota gone', (dryRun) => dryRun.kind === 'admitted');
      }
    });

    it('a quota on limits.cpu the sidecar cannot meet: failed QuotaRejected', async () => {
      await applyQuota(suite, 'cpu-limits', { 'limits.cpu': '100' });
      try {
        await suite.waitForAdmission('the quota counted', (dryRun) => {
          return dryRun.kind === 'refused' && dryRun.message.includes('failed quota: cpu-limits');
        });
        const message = assertFailed(await send(running(), pendingFor('foo')), 'QuotaRejected');
        assert.match(
          message,
          /is forbidden: failed quota: cpu-limits: must specify limits\.cpu for: gateway-init,gateway-sidecar$/,
        );
      } finally {
        await suite.core.deleteNamespacedResourceQuota({
          name: 'cpu-limits',
          namespace: CLIENT_NAMESPACE,
        });
        await suite.waitForAdmission('the quota gone', (dryRun) => dryRun.kind === 'admitted');
      }
    });

    it('the webhook down (failurePolicy Fail): 503 WebhookUnavailable; a redelivery is done', async () => {
      await suite.cluster.stopWebhook('foo');
      try {
        const message = assertRetry(
          await send(running(), pendingFor('foo')),
          'WebhookUnavailable',
          '2',
        );
        assert.match(message, /failed calling webhook "[^"]*foo[^"]*"/);
        assert.match(message, /connection refused/);
        // Each webhook selects the namespace, not a gateway's pods: as docs/troubleshooting.md
        // says, one that is down blocks every pod create in client-system, bar's too.
        const bar = await send(running(), pendingFor('bar'));
        assertRetry(bar, 'WebhookUnavailable', '2');
        const again = await send(running(), made);
        assert.equal(again.event?.type, DONE, again.text);
      } finally {
        await suite.cluster.startWebhook('foo');
      }
    });
  });

  describe('a client namespace made a moment ago', () => {
    const namespace = 'fresh-clients';
    let fn: RunningFunction | undefined;
    before(async () => {
      // No service account controller: the namespace stays without its `default` ServiceAccount.
      await suite.cluster.stopControllerManager();
      await createClientNamespace(suite.admin, namespace);
      fn = await suite.startFunction({ ...SHORT_DEADLINE, CLIENT_NAMESPACE: namespace });
    });
    after(async () => {
      await fn?.stop();
      await suite.cluster.startControllerManager();
      await deleteNamespace(suite.admin, namespace);
    });

    it('503 ServiceAccountNotReady until the default ServiceAccount exists, then done', async () => {
      if (fn === undefined) throw new Error('the function is not running');
      const event = pendingFor('foo');
      const message = assertRetry(await send(fn, event), 'ServiceAccountNotReady', '2');
      assert.match(message, /error looking up service account fresh-clients\/default/);

      await suite.cluster.startControllerManager();
      await waitFor('the default ServiceAccount of fresh-clients', async () => {
        try {
          await suite.core.readNamespacedServiceAccount({ name: 'default', namespace });
          return true;
        } catch (error) {
          if (error instanceof k8s.ApiException && error.code === 404) return false;
          throw error;
        }
      });
      const again = await send(fn, event);
      assert.equal(again.event?.type, DONE, again.text);
      assert.equal(replyData(again).namespace, namespace);
    });
  });
}

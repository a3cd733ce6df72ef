// OIDC_AUDIENCE against the real issuer: tokens kube-apiserver makes (TokenRequest, `kubectl
// create token --audience`) for a ServiceAccount named as Eventing names a Trigger's, checked by
// the function against kube-apiserver's own discovery document and JWKS; the refusals make
// nothing; a signing key rotated by restarting kube-apiserver is accepted after one refetch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HTTP } from 'cloudevents';
import { MIN_REFETCH_INTERVAL_MS } from '../../../src/edge/token-verifier.ts';
import { DONE_TYPE } from '../../../src/events/replies.ts';
import { SERVICE_ACCOUNT_ISSUER } from '../../../testbed/cluster/flags.ts';
import { createObjects, FUNCTION_SERVICE_ACCOUNT } from '../../../testbed/cluster/manifests.ts';
import { addressableAudience, triggerOidcServiceAccount } from '../../../testbed/eventing-names.ts';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import { keyId, signJwt } from '../../../testbed/kube-api-server/service-account-issuer.ts';
import { post, type Reply } from '../../support/events.ts';
import { type PendingEvent, pendingFor, podOf, type Suite } from './context.ts';

const NAMESPACE = FUNCTION_SERVICE_ACCOUNT.namespace;
const AUDIENCE = addressableAudience(
  'serving.knative.dev',
  'Service',
  NAMESPACE,
  'client-provisioner',
);
/** As Eventing names the OIDC ServiceAccount of deploy/service.yaml's first Trigger. */
const TRIGGER_ACCOUNT = triggerOidcServiceAccount('client-provisioner-function-trigger-0');
const OTHER_ACCOUNT = 'some-other-producer';
const REFETCHED = /keys fetched again for the new key id/g;

function sendWith(
  fn: RunningFunction,
  event: PendingEvent,
  token: string | undefined,
): Promise<Reply> {
  const message = HTTP.binary(event);
  const headers: Record<string, string> = { ...(message.headers as Record<string, string>) };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return post(fn.url, headers, String(message.body));
}

/** A key pair written as kube-apiserver reads it: the private key (PKCS#8) and the public one. */
async function writeKey(dir: string, name: string, type: 'ec' | 'rsa') {
  const { privateKey, publicKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, `${name}.key`);
  const publicFile = join(dir, `${name}.pub`);
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, keyFile, publicFile, kid: keyId(publicKey) };
}

/** A token kube-apiserver's would be, but signed here: claims shifted in time as a case asks. */
function craftedToken(
  key: { privateKey: KeyObject; kid: string },
  times: { iat: number; nbf: number; exp: number },
): string {
  return signJwt(
    { alg: 'ES256', kid: key.kid },
    {
      aud: [AUDIENCE],
      iss: SERVICE_ACCOUNT_ISSUER,
      sub: `system:serviceaccount:${NAMESPACE}:${TRIGGER_ACCOUNT}`,
      ...times,
    },
    key.privateKey,
  );
}

function decodePart(token: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

export function describeOidc(suite: Suite): void {
  describe('OIDC_AUDIENCE: only tokens of the cluster’s issuer for the Triggers’ ServiceAccounts', () => {
    let fn: RunningFunction;
    let keyDir: string;
    /** The last moment the function may have fetched the keys (its start, an unknown key id). */
    let lastFetch = 0;

    const tokenFor = async (name: string, audiences: string[]): Promise<string> => {
      const answer = await suite.core.createNamespacedServiceAccountToken({
        name,
        namespace: NAMESPACE,
        body: { spec: { audiences, expirationSeconds: 600 } },
      });
      return answer.status?.token ?? '';
    };

    /** A refused event: the status, the message, and no pod. */
    const assertRefused = async (token: string | undefined, status: number, message: RegExp) => {
      const event = pendingFor('foo');
      const reply = await sendWith(fn, event, token);
      assert.equal(reply.status, status, reply.text);
      assert.match(reply.text, message);
      assert.equal(await suite.podExists(podOf(event)), false, 'a pod was made');
    };

    const assertServed = async (token: string) => {
      const event = pendingFor('foo');
      const reply = await sendWith(fn, event, token);
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(await suite.podExists(podOf(event)), true);
    };

    before(async () => {
      keyDir = await mkdtemp(join(tmpdir(), 'oidc-keys-'));
      await createObjects(
        suite.admin,
        [TRIGGER_ACCOUNT, OTHER_ACCOUNT].map((name) => ({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name, namespace: NAMESPACE },
        })),
      );
      fn = await suite.startFunction({
        OIDC_AUDIENCE: AUDIENCE,
        OIDC_SUBJECTS: `system:serviceaccount:${NAMESPACE}:${TRIGGER_ACCOUNT}`,
      });
      lastFetch = Date.now();
    });
    after(async () => {
      await fn?.stop();
      await rm(keyDir, { recursive: true, force: true });
    });

    it('names kube-apiserver’s issuer and its key at start', () => {
      assert.match(
        fn.output(),
        new RegExp(`events need a bearer token of issuer ${SERVICE_ACCOUNT_ISSUER} \\(1 key\\)`),
      );
    });

    it('serves an event with a TokenRequest token of the Trigger’s ServiceAccount (ES256)', async () => {
      const token = await tokenFor(TRIGGER_ACCOUNT, [AUDIENCE]);
      assert.equal(decodePart(token, 0).alg, 'ES256');
      await assertServed(token);
    });

    it('serves an event with a token of `kubectl create token --audience`', async () => {
      const made = spawnSync(
        'kubectl',
        [
          `--kubeconfig=${suite.cluster.adminKubeconfig}`,
          'create',
          'token',
          TRIGGER_ACCOUNT,
          `--namespace=${NAMESPACE}`,
          `--audience=${AUDIENCE}`,
          '--duration=10m',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(made.status, 0, made.stderr);
      await assertServed(made.stdout.trim());
    });

    it('refuses, making nothing: no token, another audience, another subject', async () => {
      await assertRefused(undefined, 401, /no bearer token/);
      await assertRefused(
        await tokenFor(TRIGGER_ACCOUNT, ['https://kubernetes.default.svc.cluster.local']),
        401,
        /not for this function's audience/,
      );
      await assertRefused(
        await tokenFor(OTHER_ACCOUNT, [AUDIENCE]),
        403,
        /subject \\"system:serviceaccount:podgateway-provisioner:some-other-producer\\" is not in OIDC_SUBJECTS/,
      );
    });

    it('refuses, making nothing: a tampered token, alg none, another key', async () => {
      const token = await tokenFor(TRIGGER_ACCOUNT, [AUDIENCE]);
      const [header = '', claims = '', signature = ''] = token.split('.');
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const changed = encode({
        ...decodePart(token, 1),
        exp: Number(decodePart(token, 1).exp) + 86_400,
      });
      await assertRefused(`${header}.${changed}.${signature}`, 401, /signature does not verify/);
      await assertRefused(
        `${encode({ ...decodePart(token, 0), alg: 'none' })}.${claims}.`,
        401,
        /algorithm \\"none\\" is not accepted/,
      );
      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const underKnownKid = signJwt(
        decodePart(token, 0),
        decodePart(token, 1),
        stranger.privateKey,
      );
      await assertRefused(underKnownKid, 401, /signature does not verify/);
      const underOwnKid = signJwt(
        { alg: 'ES256', kid: keyId(stranger.publicKey) },
        decodePart(token, 1),
        stranger.privateKey,
      );
      await assertRefused(underOwnKid, 401, /is not one of the issuer's keys/);
      lastFetch = Date.now();
    });

    it('accepts a rotated signing key (RSA: RS256) after one refetch of the keys; expired and not-yet-valid tokens of a trusted key are refused', async () => {
      const rotated = await writeKey(keyDir, 'rotated', 'rsa');
      const crafted = await writeKey(keyDir, 'crafted', 'ec');
      await suite.cluster.restartApiServer({
        signingKeyFile: rotated.keyFile,
        extraKeyFiles: [rotated.publicFile, crafted.publicFile],
      });
      try {
        // The function asks for the keys again at most once per MIN_REFETCH_INTERVAL_MS.
        const wait = lastFetch + MIN_REFETCH_INTERVAL_MS + 500 - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const refetchesBefore = fn.output().match(REFETCHED)?.length ?? 0;
        const token = await tokenFor(TRIGGER_ACCOUNT, [AUDIENCE]);
        assert.deepEqual(decodePart(token, 0), { alg: 'RS256', kid: rotated.kid });
        await assertServed(token);
        await assertServed(await tokenFor(TRIGGER_ACCOUNT, [AUDIENCE]));
        assert.equal((fn.output().match(REFETCHED)?.length ?? 0) - refetchesBefore, 1);
        assert.match(fn.output(), /3 keys, the key found/);

        const now = Math.floor(Date.now() / 1000);
        await assertServed(craftedToken(crafted, { iat: now, nbf: now, exp: now + 600 }));
        await assertRefused(
          craftedToken(crafted, { iat: now - 4200, nbf: now - 4200, exp: now - 600 }),
          401,
          /the token expired 6\d\d s ago/,
        );
        await assertRefused(
          craftedToken(crafted, { iat: now + 600, nbf: now + 600, exp: now + 4200 }),
          401,
          /not valid for another \d+ s \(nbf\)/,
        );
      } finally {
        await suite.cluster.restartApiServer();
      }
    });
  });
}

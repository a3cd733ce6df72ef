// The token check of OIDC_AUDIENCE (src/edge/token-verifier.ts) with the issuer's keys fetched from
// the API test server through the function's own client (src/kube/issuer-keys.ts), and a clock the
// test moves: expiry, not-before, the refetch on a new key id and its rate limit.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parseOidcSettings } from '../../src/config/oidc.ts';
import {
  CLOCK_SKEW_SECONDS,
  MIN_REFETCH_INTERVAL_MS,
  type TokenVerdict,
  TokenVerifier,
} from '../../src/edge/token-verifier.ts';
import { makeKubeClient } from '../../src/kube/client.ts';
import { fetchIssuerKeys, JWKS_PATH } from '../../src/kube/issuer-keys.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import {
  makeSigningKey,
  SERVICE_ACCOUNT_ISSUER,
  signJwt,
} from '../../testbed/kube-api-server/service-account-issuer.ts';

const AUDIENCE = 'podgateway/provisioner';
const TRIGGER_ACCOUNT = 'client-provisioner-pending-oidc-eventing.knative.dev-trigger';
const SETTINGS = parseOidcSettings(
  AUDIENCE,
  `system:serviceaccount:podgateway-provisioner:${TRIGGER_ACCOUNT}, system:serviceaccount:producers:*`,
);

let server: KubeApiServer;
let workDir: string;
let clock: number;
let refetches: string[];

async function startVerifier(): Promise<TokenVerifier> {
  if (SETTINGS === undefined) throw new Error('no settings');
  const kubeconfig = await server.writeKubeconfig(workDir);
  const kube = makeKubeClient({ KUBECONFIG: kubeconfig });
  return TokenVerifier.start(SETTINGS, () => fetchIssuerKeys(kube.kubeConfig, 5000), {
    now: () => clock,
    onRefetch: (why) => refetches.push(why),
  });
}

function jwksFetches(): number {
  return server.requests.filter((request) => request.path === JWKS_PATH).length;
}

function triggerToken(options: { shiftSeconds?: number; expirationSeconds?: number } = {}) {
  return server.issuer.createToken({
    namespace: 'podgateway-provisioner',
    serviceAccount: TRIGGER_ACCOUNT,
    audiences: [AUDIENCE],
    ...options,
  });
}

function refused(verdict: TokenVerdict, status: number, pattern: RegExp): void {
  assert.equal(verdict.ok, false, 'accepted');
  if (verdict.ok) return;
  assert.equal(verdict.status, status, verdict.message);
  assert.match(verdict.message, pattern);
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'token-verifier-'));
  server = await startKubeApiServer();
});
after(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});
beforeEach(() => {
  clock = Date.now();
  refetches = [];
  server.reset();
});

describe('a token of the cluster’s issuer', () => {
  it('is accepted for an allowed subject, and fetching the keys costs two requests at start only', async () => {
    const verifier = await startVerifier();
    const before = server.requests.length;
    for (let index = 0; index < 3; index += 1) {
      const verdict = await verifier.verify(`Bearer ${triggerToken()}`);
      assert.deepEqual(verdict, {
        ok: true,
        subject: `system:serviceaccount:podgateway-provisioner:${TRIGGER_ACCOUNT}`,
      });
    }
    assert.equal(before, 2, 'discovery document and JWKS');
    assert.equal(server.requests.length, before, 'no request per token');
  });

  it('is accepted from any ServiceAccount of a namespace allowed with :*', async () => {
    const verifier = await startVerifier();
    const token = server.issuer.createToken({
      namespace: 'producers',
      serviceAccount: 'argo-sensor',
      audiences: ['other', AUDIENCE],
    });
    const verdict = await verifier.verify(`bearer ${token}`);
    assert.deepEqual(verdict, { ok: true, subject: 'system:serviceaccount:producers:argo-sensor' });
  });

  it('is refused with 403 for a subject not allowed', async () => {
    const verifier = await startVerifier();
    const token = server.issuer.createToken({
      namespace: 'podgateway-provisioner',
      serviceAccount: 'other-oidc-eventing.knative.dev-trigger',
      audiences: [AUDIENCE],
    });
    refused(
      await verifier.verify(`Bearer ${token}`),
      403,
      /subject ".*:other-oidc.*" is not in OIDC_SUBJECTS/,
    );
  });

  it('is refused with 401 for another audience', async () => {
    const verifier = await startVerifier();
    const token = server.issuer.createToken({
      namespace: 'podgateway-provisioner',
      serviceAccount: TRIGGER_ACCOUNT,
      audiences: ['https://kubernetes.default.svc.cluster.local'],
    });
    refused(await verifier.verify(`Bearer ${token}`), 401, /not for this function's audience/);
  });

  it('is refused once expired beyond the clock skew, and accepted within it', async () => {
    const verifier = await startVerifier();
    const token = triggerToken({ expirationSeconds: 600 });
    clock += (600 + CLOCK_SKEW_SECONDS - 5) * 1000;
    assert.equal((await verifier.verify(`Bearer ${token}`)).ok, true);
    clock += 10_000;
    refused(await verifier.verify(`Bearer ${token}`), 401, /the token expired 6\d s ago/);
  });

  it('is refused before its not-before beyond the clock skew', async () => {
    const verifier = await startVerifier();
    refused(
      await verifier.verify(`Bearer ${triggerToken({ shiftSeconds: CLOCK_SKEW_SECONDS + 30 })}`),
      401,
      /not valid for another \d+ s \(nbf\)/,
    );
    assert.equal(
      (await verifier.verify(`Bearer ${triggerToken({ shiftSeconds: CLOCK_SKEW_SECONDS - 30 })}`))
        .ok,
      true,
    );
  });
});

describe('a token that is not the issuer’s own', () => {
  it('is refused: no header, another scheme, not a JWT', async () => {
    const verifier = await startVerifier();
    refused(await verifier.verify(undefined), 401, /no Authorization header/);
    refused(await verifier.verify('Basic dXNlcjpwYXNz'), 401, /not "Bearer <token>"/);
    refused(await verifier.verify('Bearer a.b'), 401, /not a JWT/);
    refused(await verifier.verify(`Bearer ${'a'.repeat(9000)}`), 401, /at most 8192/);
  });

  it('is refused when its claims were changed after signing', async () => {
    const verifier = await startVerifier();
    const [header, claims, signature] = triggerToken().split('.');
    const changed = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString());
    changed.sub = 'system:serviceaccount:producers:changed';
    const tampered = `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
    refused(await verifier.verify(`Bearer ${tampered}`), 401, /signature does not verify/);
  });

  it('is refused with alg none, and with HS256 keyed by the public key', async () => {
    const verifier = await startVerifier();
    const [, claims] = triggerToken().split('.');
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const kid = server.issuer.signingKey.kid;
    refused(
      await verifier.verify(`Bearer ${encode({ alg: 'none', kid })}.${claims}.`),
      401,
      /algorithm "none" is not accepted/,
    );
    refused(
      await verifier.verify(`Bearer ${encode({ alg: 'HS256', kid })}.${claims}.c2ln`),
      401,
      /algorithm "HS256" is not accepted/,
    );
  });

  it('is refused when its algorithm is not its key’s type', async () => {
    const verifier = await startVerifier();
    const [, claims, signature] = triggerToken().split('.');
    const header = Buffer.from(
      JSON.stringify({ alg: 'RS256', kid: server.issuer.signingKey.kid }),
    ).toString('base64url');
    refused(
      await verifier.verify(`Bearer ${header}.${claims}.${signature}`),
      401,
      /algorithm RS256 is not its key's \(ES256\)/,
    );
  });

  it('is refused when signed by another key under a known key id', async () => {
    const verifier = await startVerifier();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const [, claims] = triggerToken().split('.');
    const decoded = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString());
    const token = signJwt({ alg: 'ES256', kid: server.issuer.signingKey.kid }, decoded, other);
    refused(await verifier.verify(`Bearer ${token}`), 401, /signature does not verify/);
  });

  it('is refused when another issuer signed it', async () => {
    const verifier = await startVerifier();
    const [, claims] = triggerToken().split('.');
    const decoded = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString());
    const key = server.issuer.signingKey;
    const token = signJwt(
      { alg: key.alg, kid: key.kid },
      { ...decoded, iss: 'https://issuer.example' },
      key.privateKey,
    );
    refused(
      await verifier.verify(`Bearer ${token}`),
      401,
      /issuer "https:\/\/issuer.example" is not the cluster's/,
    );
  });
});

describe('the issuer’s keys', () => {
  it('are fetched again once for a rotated signing key (RSA: RS256), which is then accepted', async () => {
    const verifier = await startVerifier();
    server.issuer.rotateSigningKey('rsa');
    clock += MIN_REFETCH_INTERVAL_MS;
    assert.equal(jwksFetches(), 1);
    const verdicts = await Promise.all(
      Array.from({ length: 5 }, () => verifier.verify(`Bearer ${triggerToken()}`)),
    );
    for (const verdict of verdicts) assert.equal(verdict.ok, true);
    assert.equal(jwksFetches(), 2, 'one refetch shared by every request that waited for it');
    assert.equal(refetches.length, 1);
    assert.match(
      refetches[0] ?? '',
      /fetched again for the new key id ".+": 2 keys, the key found/,
    );
  });

  it('once fetched again, no longer accept a token accepted before whose key left them', async () => {
    const verifier = await startVerifier();
    const retired = server.issuer.signingKey;
    const earlier = triggerToken();
    assert.equal((await verifier.verify(`Bearer ${earlier}`)).ok, true);
    server.issuer.rotateSigningKey();
    server.issuer.retireKey(retired.kid);
    clock += MIN_REFETCH_INTERVAL_MS;
    assert.equal((await verifier.verify(`Bearer ${triggerToken()}`)).ok, true);
    refused(await verifier.verify(`Bearer ${earlier}`), 401, /is not one of the issuer's keys/);
  });

  it('are fetched at most once per interval however many unknown key ids arrive', async () => {
    const verifier = await startVerifier();
    const stranger = makeSigningKey();
    const [, claims] = triggerToken().split('.');
    const decoded = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString());
    const bogus = (index: number) =>
      signJwt({ alg: 'ES256', kid: `bogus-${index}` }, decoded, stranger.privateKey);
    // Within the interval of the start-up fetch: none.
    refused(await verifier.verify(`Bearer ${bogus(0)}`), 401, /key id "bogus-0" is not one of/);
    assert.equal(jwksFetches(), 1);
    clock += MIN_REFETCH_INTERVAL_MS;
    for (let index = 1; index <= 50; index += 1) {
      refused(
        await verifier.verify(`Bearer ${bogus(index)}`),
        401,
        /is not one of the issuer's keys/,
      );
    }
    assert.equal(jwksFetches(), 2, 'one refetch for fifty unknown key ids');
  });

  it('that cannot be fetched again leave a token of a new key id answered 503, the known keys still used', async () => {
    const verifier = await startVerifier();
    const earlier = triggerToken();
    server.issuer.rotateSigningKey();
    clock += MIN_REFETCH_INTERVAL_MS;
    server.injectFault({ path: JWKS_PATH, status: 403, times: 10 });
    refused(await verifier.verify(`Bearer ${triggerToken()}`), 503, /could not be fetched again/);
    assert.equal((await verifier.verify(`Bearer ${earlier}`)).ok, true);
    assert.match(
      refetches[0] ?? '',
      /could not be fetched again: .*\/openid\/v1\/jwks could not be read: .*forbidden/,
    );
  });

  it('are needed to start: a start-up that cannot read them says which document and why', async () => {
    server.injectFault({ path: '/.well-known/openid-configuration', status: 403, times: 10 });
    await assert.rejects(
      startVerifier(),
      /\/\.well-known\/openid-configuration could not be read: .*forbidden/i,
    );
  });

  it('name the issuer of the discovery document', async () => {
    const verifier = await startVerifier();
    assert.match(
      verifier.describe(),
      new RegExp(`issuer ${SERVICE_ACCOUNT_ISSUER} \\(\\d+ keys?\\)`),
    );
    assert.match(verifier.describe(), /every ServiceAccount of namespace producers/);
  });
});

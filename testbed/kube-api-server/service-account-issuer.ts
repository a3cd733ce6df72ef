// The ServiceAccount token issuer as kube-apiserver runs it: its OIDC discovery document
// (/.well-known/openid-configuration) and JWKS (/openid/v1/jwks), and tokens as TokenRequest
// makes them (pkg/serviceaccount/claims.go: iss, sub, aud, exp, iat, nbf, jti and the
// kubernetes.io claim), signed ES256 with a P-256 key (as the test cluster's, test/cluster/
// certificates.ts) or RS256 with an RSA key, with a key id that is the SHA-256 of the public
// key's DER (pkg/serviceaccount/jwt.go keyIDFromPublicKey). Keys are made on first use: most
// tests never ask for one.
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/openid/v1/jwks';

export type KeyType = 'ec' | 'rsa';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
  /** The algorithm kube-apiserver signs with for this key's type. */
  readonly alg: 'ES256' | 'RS256';
}

/** A key as kube-apiserver's --service-account-signing-key-file would hold it. */
export function makeSigningKey(type: KeyType = 'ec'): SigningKey {
  const { privateKey, publicKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, kid: keyId(publicKey), alg: type === 'ec' ? 'ES256' : 'RS256' };
}

export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * A compact JWS of `header` and `claims`, signed with `privateKey` and SHA-256 (RS256 or ES256,
 * the signature r‖s as JWS has it, whatever the header says).
 */
export function signJwt(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  privateKey: KeyObject,
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  const key =
    privateKey.asymmetricKeyType === 'ec'
      ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
      : privateKey;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

export interface TokenRequest {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audiences: readonly string[];
  /** 3600 unless said; TokenRequest's least is 600. */
  readonly expirationSeconds?: number;
  /** Seconds added to now for iat and nbf (a token dated into the future, or the past). */
  readonly shiftSeconds?: number;
}

export class ServiceAccountIssuer {
  #keys: SigningKey[] = [];

  /** The key that signs; the JWKS serves it and every earlier one. */
  get signingKey(): SigningKey {
    return this.#published().at(-1) as SigningKey;
  }

  /** Every key the JWKS serves, oldest first: one made now if there was none. */
  #published(): readonly SigningKey[] {
    if (this.#keys.length === 0) this.#keys.push(makeSigningKey());
    return this.#keys;
  }

  /** A new key signs from now on; the old ones stay in the JWKS, as after a key rotation. */
  rotateSigningKey(type: KeyType = 'ec'): SigningKey {
    const key = makeSigningKey(type);
    this.#keys.push(key);
    return key;
  }

  /** The key leaves the JWKS (a retired key): tokens it signed no longer verify. */
  retireKey(kid: string): void {
    this.#keys = this.#keys.filter((key) => key.kid !== kid);
  }

  discovery(): object {
    return {
      issuer: SERVICE_ACCOUNT_ISSUER,
      jwks_uri: `${SERVICE_ACCOUNT_ISSUER}${JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...new Set(this.#published().map((key) => key.alg))],
    };
  }

  jwks(): object {
    return {
      keys: this.#published().map(({ publicKey, kid, alg }) => ({
        use: 'sig',
        ...publicKey.export({ format: 'jwk' }),
        kid,
        alg,
      })),
    };
  }

  createToken(request: TokenRequest): string {
    const key = this.signingKey;
    const now = Math.floor(Date.now() / 1000) + (request.shiftSeconds ?? 0);
    const subject = `system:serviceaccount:${request.namespace}:${request.serviceAccount}`;
    return signJwt(
      { alg: key.alg, kid: key.kid },
      {
        aud: [...request.audiences],
        exp: now + (request.expirationSeconds ?? 3600),
        iat: now,
        iss: SERVICE_ACCOUNT_ISSUER,
        jti: randomUUID(),
        'kubernetes.io': {
          namespace: request.namespace,
          serviceaccount: { name: request.serviceAccount, uid: randomUUID() },
        },
        nbf: now,
        sub: subject,
      },
      key.privateKey,
    );
  }
}

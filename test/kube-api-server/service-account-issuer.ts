// The ServiceAccount token issuer as kube-apiserver runs it: its OIDC discovery document
// (/.well-known/openid-configuration) and JWKS (/openid/v1/jwks), and tokens as TokenRequest
// makes them (pkg/serviceaccount/claims.go: iss, sub, aud, exp, iat, nbf, jti and the
// kubernetes.io claim), signed RS256 with a key id that is the SHA-256 of the public key's DER
// (pkg/serviceaccount/jwt.go keyIDFromPublicKey). Keys are made on first use: most tests never
// ask for one.
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/openid/v1/jwks';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
}

/** An RSA key as kube-apiserver's --service-account-signing-key-file would hold it. */
export function makeSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, kid: keyId(publicKey) };
}

export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

/** A compact JWS of `header` and `claims`, signed RS256 with `privateKey`. */
export function signJwt(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  privateKey: KeyObject,
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
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
    if (this.#keys.length === 0) this.#keys.push(makeSigningKey());
    return this.#keys.at(-1) as SigningKey;
  }

  /** A new key signs from now on; the old ones stay in the JWKS, as after a key rotation. */
  rotateSigningKey(): SigningKey {
    const key = makeSigningKey();
    this.#keys.push(key);
    return key;
  }

  discovery(): object {
    return {
      issuer: SERVICE_ACCOUNT_ISSUER,
      jwks_uri: `${SERVICE_ACCOUNT_ISSUER}${JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
  }

  jwks(): object {
    if (this.#keys.length === 0) this.#keys.push(makeSigningKey());
    return {
      keys: this.#keys.map(({ publicKey, kid }) => ({
        use: 'sig',
        ...publicKey.export({ format: 'jwk' }),
        kid,
        alg: 'RS256',
      })),
    };
  }

  createToken(request: TokenRequest): string {
    const key = this.signingKey;
    const now = Math.floor(Date.now() / 1000) + (request.shiftSeconds ?? 0);
    const subject = `system:serviceaccount:${request.namespace}:${request.serviceAccount}`;
    return signJwt(
      { alg: 'RS256', kid: key.kid },
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

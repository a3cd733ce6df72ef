// The bearer token of each event, when OIDC_AUDIENCE is set: a ServiceAccount token of the
// cluster's issuer (Knative Eventing's dispatcher gets one per Trigger from TokenRequest), checked
// here against the issuer's public keys: signature, issuer, audience, expiry and not-before, then
// its subject against OIDC_SUBJECTS. The keys are fetched at start and again only for a key id
// not seen before, at most once per MIN_REFETCH_INTERVAL_MS: checking a token costs no request,
// and a token accepted before costs a lookup until it expires.
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import { type OidcSettings, subjectAllowed } from '../config/config.ts';
import { type DecodedJwt, decodeJwt } from '../formats/jwt.ts';
import { REASON } from '../formats/reasons.ts';

/** The issuer's discovery document's `issuer`, and its JWKS's keys, as fetched. */
export interface IssuerKeys {
  readonly issuer: string;
  readonly keys: readonly unknown[];
}

export type FetchIssuerKeys = () => Promise<IssuerKeys>;

/** What is answered: the request goes on, or is refused with this status and one line. */
export type TokenVerdict =
  | { readonly ok: true; readonly subject: string }
  | {
      readonly ok: false;
      readonly status: 401 | 403 | 503;
      readonly reason: string;
      readonly message: string;
    };

/** Clocks of the issuer and the function may disagree this much. */
export const CLOCK_SKEW_SECONDS = 60;
/** A flood of made-up key ids makes at most one fetch of the keys per this long. */
export const MIN_REFETCH_INTERVAL_MS = 10_000;
/**
 * Tokens accepted, remembered until they expire: the Broker sends one token for many events (it
 * asks TokenRequest again near expiry), and a remembered one costs a lookup instead of a
 * signature check. The oldest goes first beyond this many; all go when the keys change.
 */
export const ACCEPTED_TOKENS_KEPT = 256;
/** Longest claim or header value repeated in a message. */
const MAX_QUOTED = 120;

type Algorithm = 'RS256' | 'ES256' | 'ES384' | 'ES512';

/** The algorithm each key type is used with (kube-apiserver's choice for each, too). */
const CURVE_ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
};

interface VerificationKey {
  readonly key: KeyObject;
  readonly algorithm: Algorithm;
}

interface KeySet {
  readonly issuer: string;
  readonly keys: ReadonlyMap<string, VerificationKey>;
  /** JWKS entries that cannot verify a ServiceAccount token (no kid, other use, other type). */
  readonly skipped: number;
  readonly fetchedAt: number;
}

export interface VerifierOptions {
  /** Milliseconds since the epoch; Date.now unless a test says otherwise. */
  readonly now?: () => number;
  /** Told each time the keys are fetched again, with why (for the log). */
  readonly onRefetch?: (why: string) => void;
}

export class TokenVerifier {
  readonly #settings: OidcSettings;
  readonly #fetchKeys: FetchIssuerKeys;
  readonly #now: () => number;
  readonly #onRefetch: (why: string) => void;
  #keySet: KeySet;
  #refetching: Promise<void> | undefined;
  /** Accepted tokens and their verdicts, by the token's text; see ACCEPTED_TOKENS_KEPT. */
  readonly #accepted = new Map<string, { readonly verdict: TokenVerdict; readonly exp: number }>();

  private constructor(
    settings: OidcSettings,
    fetchKeys: FetchIssuerKeys,
    keySet: KeySet,
    options: VerifierOptions,
  ) {
    this.#settings = settings;
    this.#fetchKeys = fetchKeys;
    this.#keySet = keySet;
    this.#now = options.now ?? Date.now;
    this.#onRefetch = options.onRefetch ?? (() => {});
  }

  /** Fetches the issuer's keys once; throws, saying why, when they cannot be had. */
  static async start(
    settings: OidcSettings,
    fetchKeys: FetchIssuerKeys,
    options: VerifierOptions = {},
  ): Promise<TokenVerifier> {
    const now = options.now ?? Date.now;
    const keySet = toKeySet(await fetchKeys(), now());
    if (keySet.keys.size === 0) {
      throw new Error(
        `the issuer ${keySet.issuer}'s JWKS has no RSA or EC signing key with a key id`,
      );
    }
    return new TokenVerifier(settings, fetchKeys, keySet, options);
  }

  /** For the start-up line. */
  describe(): string {
    const { issuer, keys, skipped } = this.#keySet;
    const namespaces = [...this.#settings.namespaces].map(
      (namespace) => `every ServiceAccount of namespace ${namespace}`,
    );
    const subjects = [...this.#settings.subjects, ...namespaces].join(', ');
    const ignored = skipped > 0 ? `, ${skipped} other ignored` : '';
    return `events need a bearer token of issuer ${issuer} (${keys.size} key${keys.size === 1 ? '' : 's'}${ignored}) for audience ${this.#settings.audience} from ${subjects} (OIDC_AUDIENCE, OIDC_SUBJECTS)`;
  }

  /** The verdict on a request's Authorization header. */
  async verify(authorization: string | undefined): Promise<TokenVerdict> {
    if (authorization === undefined || authorization === '') {
      return unauthorized('no bearer token: the request has no Authorization header');
    }
    const match = /^bearer +(\S+) *$/i.exec(authorization);
    if (match?.[1] === undefined) {
      return unauthorized('the Authorization header is not "Bearer <token>"');
    }
    const token = match[1];
    const remembered = this.#accepted.get(token);
    if (remembered !== undefined) {
      if (this.#now() / 1000 <= remembered.exp + CLOCK_SKEW_SECONDS) return remembered.verdict;
      this.#accepted.delete(token);
    }
    const decoded = decodeJwt(token);
    if (typeof decoded === 'string') return unauthorized(decoded);
    const { alg, kid } = decoded.header;
    if (typeof alg !== 'string' || !isAlgorithm(alg)) {
      return unauthorized(
        `the token's algorithm ${quote(alg)} is not accepted: RS256, ES256, ES384 or ES512`,
      );
    }
    if (typeof kid !== 'string' || kid === '') {
      return unauthorized("the token's header has no key id (kid)");
    }
    const key = this.#keySet.keys.get(kid) ?? (await this.#refetchFor(kid));
    if (key === 'unavailable') {
      return {
        ok: false,
        status: 503,
        reason: REASON.ApiUnavailable,
        message: `the token's key id ${quote(kid)} is new and the issuer's keys could not be fetched again`,
      };
    }
    if (key === undefined) {
      return unauthorized(`the token's key id ${quote(kid)} is not one of the issuer's keys`);
    }
    const verdict = this.#checkToken(decoded, alg, key);
    if (verdict.ok) this.#remember(token, verdict, decoded.claims.exp);
    return verdict;
  }

  #remember(token: string, verdict: TokenVerdict, exp: unknown): void {
    if (typeof exp !== 'number') return;
    if (this.#accepted.size >= ACCEPTED_TOKENS_KEPT) {
      const [oldest] = this.#accepted.keys();
      if (oldest !== undefined) this.#accepted.delete(oldest);
    }
    this.#accepted.set(token, { verdict, exp });
  }

  #checkToken(token: DecodedJwt, alg: Algorithm, key: VerificationKey): TokenVerdict {
    if (alg !== key.algorithm) {
      return unauthorized(
        `the token's algorithm ${alg} is not its key's (${key.algorithm}): not accepted`,
      );
    }
    if (!signatureValid(token, key)) return unauthorized("the token's signature does not verify");
    const problem = claimsProblem(
      token.claims,
      this.#keySet.issuer,
      this.#settings.audience,
      this.#now() / 1000,
    );
    if (problem) return unauthorized(problem);
    const subject = token.claims.sub;
    if (typeof subject !== 'string' || subject === '') {
      return unauthorized('the token has no subject (sub)');
    }
    if (!subjectAllowed(this.#settings, subject)) {
      return {
        ok: false,
        status: 403,
        reason: REASON.Forbidden,
        message: `the token's subject ${quote(subject)} is not in OIDC_SUBJECTS`,
      };
    }
    return { ok: true, subject };
  }

  /**
   * The key after fetching the keys again; undefined when it is still unknown, or when the keys
   * were fetched too recently to ask again; 'unavailable' when the fetch failed. Requests that
   * arrive during a fetch share it.
   */
  async #refetchFor(kid: string): Promise<VerificationKey | undefined | 'unavailable'> {
    if (this.#refetching === undefined) {
      if (this.#now() - this.#keySet.fetchedAt < MIN_REFETCH_INTERVAL_MS) return undefined;
      this.#refetching = this.#refetch(kid).finally(() => {
        this.#refetching = undefined;
      });
    }
    try {
      await this.#refetching;
    } catch {
      return 'unavailable';
    }
    return this.#keySet.keys.get(kid);
  }

  async #refetch(kid: string): Promise<void> {
    const startedAt = this.#now();
    let fetched: IssuerKeys;
    try {
      fetched = await this.#fetchKeys();
    } catch (error) {
      // Counted as a fetch: an API server that does not answer is not asked per event either.
      this.#keySet = { ...this.#keySet, fetchedAt: startedAt };
      const cause = error instanceof Error ? error.message : String(error);
      this.#onRefetch(`the issuer's keys could not be fetched again: ${cause.slice(0, 300)}`);
      throw error;
    }
    this.#keySet = toKeySet(fetched, startedAt);
    // A key gone from the JWKS takes the tokens it signed with it.
    this.#accepted.clear();
    const found = this.#keySet.keys.has(kid) ? 'found' : 'still unknown';
    this.#onRefetch(
      `the issuer's keys fetched again for the new key id ${quote(kid)}: ${this.#keySet.keys.size} keys, the key ${found}`,
    );
  }
}

function isAlgorithm(alg: string): alg is Algorithm {
  return alg === 'RS256' || alg === 'ES256' || alg === 'ES384' || alg === 'ES512';
}

function unauthorized(message: string): TokenVerdict {
  return { ok: false, status: 401, reason: REASON.Unauthorized, message };
}

/** A value from the token, bounded, quoted, in one line. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const bounded = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return JSON.stringify(bounded);
}

function signatureValid(token: DecodedJwt, key: VerificationKey): boolean {
  const data = Buffer.from(token.signingInput, 'latin1');
  try {
    if (key.algorithm === 'RS256') return verify('sha256', data, key.key, token.signature);
    const hash =
      key.algorithm === 'ES256' ? 'sha256' : key.algorithm === 'ES384' ? 'sha384' : 'sha512';
    // JWS carries an ECDSA signature as r‖s, not DER.
    return verify(hash, data, { key: key.key, dsaEncoding: 'ieee-p1363' }, token.signature);
  } catch {
    return false;
  }
}

/** What is wrong with the claims of a token whose signature verified; undefined: nothing. */
function claimsProblem(
  claims: Readonly<Record<string, unknown>>,
  issuer: string,
  audience: string,
  nowSeconds: number,
): string | undefined {
  if (claims.iss !== issuer) {
    return `the token's issuer ${quote(claims.iss)} is not the cluster's (${issuer})`;
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(audience)) {
    return `the token is not for this function's audience ${quote(audience)} (its aud: ${quote(audiences.slice(0, 5).join(', '))})`;
  }
  const { exp, nbf } = claims;
  if (typeof exp !== 'number') return 'the token has no expiry (exp)';
  if (nowSeconds > exp + CLOCK_SKEW_SECONDS) {
    return `the token expired ${Math.round(nowSeconds - exp)} s ago`;
  }
  if (nbf !== undefined && typeof nbf !== 'number') return "the token's nbf is not a number";
  if (typeof nbf === 'number' && nowSeconds < nbf - CLOCK_SKEW_SECONDS) {
    return `the token is not valid for another ${Math.round(nbf - nowSeconds)} s (nbf)`;
  }
  return undefined;
}

/** The usable keys of a JWKS, by key id. */
function toKeySet(fetched: IssuerKeys, fetchedAt: number): KeySet {
  const keys = new Map<string, VerificationKey>();
  let skipped = 0;
  for (const jwk of fetched.keys) {
    const usable = verificationKey(jwk);
    if (usable === undefined) skipped += 1;
    else keys.set(usable.kid, usable.key);
  }
  return { issuer: fetched.issuer, keys, skipped, fetchedAt };
}

function verificationKey(
  entry: unknown,
): { readonly kid: string; readonly key: VerificationKey } | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const jwk = entry as JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown };
  if (typeof jwk.kid !== 'string' || jwk.kid === '') return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  const algorithm =
    jwk.kty === 'RSA'
      ? 'RS256'
      : jwk.kty === 'EC' && typeof jwk.crv === 'string'
        ? CURVE_ALGORITHMS[jwk.crv]
        : undefined;
  if (algorithm === undefined) return undefined;
  // A key that names its algorithm is used with that one only.
  if (jwk.alg !== undefined && jwk.alg !== algorithm) return undefined;
  try {
    const { kid: _kid, use: _use, alg: _alg, ...material } = jwk;
    return {
      kid: jwk.kid,
      key: { key: createPublicKey({ key: material, format: 'jwk' }), algorithm },
    };
  } catch {
    return undefined;
  }
}

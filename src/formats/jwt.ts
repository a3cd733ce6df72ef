// A JSON Web Token in its compact form (RFC 7519, RFC 7515): three base64url parts, the first
// two JSON objects. Only taken apart here; src/edge/token-verifier.ts decides whether to trust it.

/** Far above a Kubernetes ServiceAccount token (about 1 KB), far below Node's header limit. */
export const MAX_TOKEN_LENGTH = 8192;

export interface DecodedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  /** `header.payload`, as sent: what the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The token's parts, or what is wrong with it (in words that never repeat the token). */
export function decodeJwt(token: string): DecodedJwt | string {
  if (token.length > MAX_TOKEN_LENGTH) {
    return `the token is ${token.length} characters long; at most ${MAX_TOKEN_LENGTH}`;
  }
  const parts = token.split('.');
  if (parts.length !== 3) return 'the token is not a JWT (three base64url parts separated by dots)';
  const [headerPart = '', claimsPart = '', signaturePart = ''] = parts;
  if (!parts.every((part) => BASE64URL.test(part))) {
    return 'the token is not a JWT: a part is not base64url';
  }
  const header = jsonObject(headerPart);
  if (header === undefined) return 'the token’s header is not a JSON object';
  const claims = jsonObject(claimsPart);
  if (claims === undefined) return 'the token’s claims are not a JSON object';
  return {
    header,
    claims,
    signingInput: `${headerPart}.${claimsPart}`,
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}

function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

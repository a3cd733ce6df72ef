// Image references and the ALLOWED_IMAGES patterns they are checked against. The grammar is the
// one container registries and the kubelet accept (distribution's reference grammar): a name of
// `/`-separated components, an optional registry host first, then an optional `:tag` and
// `@algorithm:digest`.

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const DOMAIN_ONLY = new RegExp(`^${DOMAIN}$`);
const PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;
const MAX_NAME_LENGTH = 255;

export interface ImageReference {
  readonly name: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/** The parts of an image reference such as `ghcr.io/acme/tool:1.2@sha256:…`; undefined if invalid. */
export function parseImageReference(text: string): ImageReference | undefined {
  const at = text.indexOf('@');
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  const digest = at === -1 ? undefined : text.slice(at + 1);
  const colon = beforeDigest.lastIndexOf(':');
  const hasTag = colon > beforeDigest.lastIndexOf('/');
  const name = hasTag ? beforeDigest.slice(0, colon) : beforeDigest;
  const tag = hasTag ? beforeDigest.slice(colon + 1) : undefined;
  if (!isImageName(name)) return undefined;
  if (tag !== undefined && !TAG.test(tag)) return undefined;
  if (digest !== undefined && !DIGEST.test(digest)) return undefined;
  return { name, tag, digest };
}

export function isImageReference(text: string): boolean {
  return parseImageReference(text) !== undefined;
}

/**
 * The first component names a registry when it has a `.` or a port, or is `localhost` (else
 * `acme/tool` is `docker.io/acme/tool`); the rest is a lowercase path.
 */
function isImageName(name: string): boolean {
  if (name.length > MAX_NAME_LENGTH) return false;
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  return isRegistry ? DOMAIN_ONLY.test(first) && PATH.test(name.slice(slash + 1)) : PATH.test(name);
}

/**
 * Why an ALLOWED_IMAGES entry is not a pattern; undefined when it is one. A pattern is an image
 * reference, `<registry or repository path>/*` (any image under that path), or `<name>:*` (any
 * tag of that one image). A `*` anywhere else would match continuations the operator did not
 * mean: `ghcr.io/acme*` admits `ghcr.io/acme-attacker/miner`.
 */
export function imagePatternProblem(pattern: string): string | undefined {
  const example =
    'write an image (alpine/curl:8.5.0), a path ending in /* (ghcr.io/acme/*) or a name ending in :* (alpine/curl:*)';
  if (!pattern.includes('*')) {
    return isImageReference(pattern)
      ? undefined
      : `"${pattern}" is not an image reference; ${example}`;
  }
  const [stem, wildcard] = pattern.endsWith('/*')
    ? [pattern.slice(0, -2), '/*']
    : pattern.endsWith(':*')
      ? [pattern.slice(0, -2), ':*']
      : [pattern, ''];
  if (wildcard === '' || stem.includes('*') || !isImageName(stem)) {
    return `"${pattern}": a wildcard must stand for a whole path segment or tag; ${example}`;
  }
  return undefined;
}

/** Whether `image` (already a valid reference) is allowed by `pattern` (a valid pattern). */
export function imageMatches(image: string, pattern: string): boolean {
  const reference = parseImageReference(image);
  if (reference === undefined) return false;
  if (pattern.endsWith('/*')) return reference.name.startsWith(pattern.slice(0, -1));
  if (pattern.endsWith(':*')) {
    return reference.name === pattern.slice(0, -2) && reference.tag !== undefined;
  }
  return image === pattern;
}

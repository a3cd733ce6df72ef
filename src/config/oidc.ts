// OIDC_AUDIENCE and OIDC_SUBJECTS: who may post events, when Knative Eventing's OIDC is on.
// Unset, every request that reaches the function is served, as before (the NetworkPolicy is the
// only fence). Set, each event must bring a ServiceAccount token of the cluster's issuer, made for
// this audience, whose subject the list allows (src/edge/token-verifier.ts).
import { isDns1123Label, isDns1123Subdomain } from '../formats/names.ts';
import { ConfigError, throwProblems } from './errors.ts';

export const SERVICE_ACCOUNT_SUBJECT_PREFIX = 'system:serviceaccount:';
/** Longest OIDC_AUDIENCE: Eventing's own audiences (`group/kind/namespace/name`) are far shorter. */
export const MAX_AUDIENCE_LENGTH = 512;

export interface OidcSettings {
  /** The `aud` a token must carry. */
  readonly audience: string;
  /** The subjects allowed: `system:serviceaccount:NS:NAME`, exactly. */
  readonly subjects: ReadonlySet<string>;
  /** Namespaces all of whose ServiceAccounts are allowed (`system:serviceaccount:NS:*`). */
  readonly namespaces: ReadonlySet<string>;
}

/** The settings, or undefined when OIDC_AUDIENCE is empty (no token is asked for). */
export function parseOidcSettings(
  audienceValue: string | undefined,
  subjectsValue: string | undefined,
): OidcSettings | undefined {
  const audience = (audienceValue ?? '').trim();
  const entries = (subjectsValue ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (audience === '') {
    if (entries.length === 0) return undefined;
    throw new ConfigError(
      'OIDC_SUBJECTS',
      'is set but OIDC_AUDIENCE is empty: no token is checked; set OIDC_AUDIENCE to the audience the Triggers name, or empty OIDC_SUBJECTS',
    );
  }
  const problems: ConfigError[] = [];
  const audienceProblem = describeAudienceProblem(audience);
  if (audienceProblem) problems.push(new ConfigError('OIDC_AUDIENCE', audienceProblem));
  if (entries.length === 0) {
    problems.push(
      new ConfigError(
        'OIDC_SUBJECTS',
        'is empty while OIDC_AUDIENCE is set: every event would be refused; list the Triggers’ OIDC ServiceAccounts, e.g. system:serviceaccount:podgateway-provisioner:client-provisioner-pending-oidc-eventing.knative.dev-trigger',
      ),
    );
  }
  const subjects = new Set<string>();
  const namespaces = new Set<string>();
  for (const entry of entries) {
    const parsed = parseSubject(entry);
    if (typeof parsed === 'string') {
      problems.push(new ConfigError('OIDC_SUBJECTS', parsed));
    } else if (parsed.name === '*') {
      namespaces.add(parsed.namespace);
    } else {
      subjects.add(entry);
    }
  }
  throwProblems(problems);
  return Object.freeze({
    audience,
    subjects: Object.freeze(subjects),
    namespaces: Object.freeze(namespaces),
  });
}

function describeAudienceProblem(audience: string): string | undefined {
  if (audience.length > MAX_AUDIENCE_LENGTH) {
    return `is ${audience.length} characters long; at most ${MAX_AUDIENCE_LENGTH}`;
  }
  if (!/^[\x21-\x7e]+$/.test(audience) || audience.includes(',')) {
    return `"${audience.slice(0, 100)}" is not one audience: printable ASCII without spaces or commas, e.g. the Trigger's spec.subscriber.audience`;
  }
  return undefined;
}

/** `system:serviceaccount:NS:NAME` or `system:serviceaccount:NS:*`, or what is wrong with it. */
function parseSubject(entry: string): { namespace: string; name: string } | string {
  const quoted = JSON.stringify(entry.slice(0, 300));
  const expected =
    'expected system:serviceaccount:NAMESPACE:NAME, or system:serviceaccount:NAMESPACE:* for every ServiceAccount of a namespace';
  if (!entry.startsWith(SERVICE_ACCOUNT_SUBJECT_PREFIX)) return `${quoted}: ${expected}`;
  const parts = entry.slice(SERVICE_ACCOUNT_SUBJECT_PREFIX.length).split(':');
  const [namespace = '', name = ''] = parts;
  if (parts.length !== 2) return `${quoted}: ${expected}`;
  if (!isDns1123Label(namespace)) {
    return `${quoted}: "${namespace.slice(0, 100)}" is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`;
  }
  if (name !== '*' && !isDns1123Subdomain(name)) {
    return `${quoted}: "${name.slice(0, 100)}" is not a ServiceAccount name (lowercase letters, digits, '-' and '.', at most 253 characters), nor * for the whole namespace`;
  }
  return { namespace, name };
}

/** Whether `subject` (a token's `sub`) is allowed. */
export function subjectAllowed(settings: OidcSettings, subject: string): boolean {
  if (settings.subjects.has(subject)) return true;
  if (!subject.startsWith(SERVICE_ACCOUNT_SUBJECT_PREFIX)) return false;
  const rest = subject.slice(SERVICE_ACCOUNT_SUBJECT_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1 || rest.indexOf(':', colon + 1) !== -1) return false;
  return settings.namespaces.has(rest.slice(0, colon));
}

// Names Knative Eventing gives, computed as it computes them, so the manifests can be checked
// against them: a Trigger's OIDC ServiceAccount (pkg/auth/serviceaccount.go:
// knative.dev/pkg kmeta.ChildName(<trigger>, "-oidc-<group>-<Kind>"), lower-cased) and the audience
// Eventing derives for an Addressable (pkg/auth/audience.go: group/kind/namespace/name, lower-cased).
import { createHash } from 'node:crypto';

/** Kubernetes' longest name, and how much of the parent a hashed name keeps. */
const LONGEST = 63;
const HASH_LENGTH = 32;
const HEAD = LONGEST - HASH_LENGTH;

/** kmeta.ChildName: parent+suffix, or, when too long, the parent cut short and an MD5 in hex. */
export function childName(parent: string, suffix: string): string {
  if (parent.length <= LONGEST - suffix.length) return parent + suffix;
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');
  if (HEAD - suffix.length > 0) {
    return `${parent.slice(0, HEAD - suffix.length)}${md5(parent)}${suffix}`;
  }
  // A suffix longer than the head: the whole name is hashed, padded with the suffix's start.
  let name = `${parent.slice(0, HEAD)}${md5(parent + suffix)}`;
  if (name.length < LONGEST) name += suffix.slice(0, LONGEST - name.length);
  return name.replace(/[^a-zA-Z0-9]+$/, '');
}

/** The ServiceAccount whose tokens a Trigger's deliveries carry. */
export function triggerOidcServiceAccount(trigger: string): string {
  return childName(trigger, '-oidc-eventing.knative.dev-Trigger').toLowerCase();
}

export function addressableAudience(
  group: string,
  kind: string,
  namespace: string,
  name: string,
): string {
  return `${group}/${kind}/${namespace}/${name}`.toLowerCase();
}

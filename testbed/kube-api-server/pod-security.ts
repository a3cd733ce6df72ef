// Pod Security Admission, the checks that matter for routed pods: the namespace label
// `pod-security.kubernetes.io/enforce` picks a level (staging/src/k8s.io/pod-security-admission/
// admission/admission.go); the baseline and restricted checks and their wording follow
// staging/src/k8s.io/pod-security-admission/policy/check_*.go. Without the label the level is
// the cluster default: `privileged` unless an AdmissionConfiguration says otherwise.
import type { Container, PodObject } from './validation.ts';

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';

/** check_capabilities_baseline.go: what baseline allows in capabilities.add. */
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

export function enforcedLevel(
  labels: Readonly<Record<string, string>>,
  clusterDefault: PodSecurityLevel,
): PodSecurityLevel {
  const level = labels[ENFORCE_LABEL];
  return level === 'baseline' || level === 'restricted' || level === 'privileged'
    ? level
    : clusterDefault;
}

/** One failed check: its ID in pod-security-admission (policy/check_*.go) and its words. */
interface Failure {
  readonly id: string;
  readonly text: string;
}

/**
 * The message of the 403, after `pods "NAME" is forbidden: `, or undefined when the pod passes:
 * `violates PodSecurity "baseline:latest": non-default capabilities (...), ...`. The failed
 * checks come in the order of their IDs; restricted's capabilities check overrides baseline's.
 */
export function podSecurityViolation(pod: PodObject, level: PodSecurityLevel): string | undefined {
  if (level === 'privileged') return undefined;
  const baseline = baselineFailures(pod);
  const failures =
    level === 'restricted'
      ? [...baseline.filter((f) => f.id !== 'capabilities_baseline'), ...restrictedFailures(pod)]
      : baseline;
  if (failures.length === 0) return undefined;
  const ordered = failures.toSorted((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return `violates PodSecurity "${level}:latest": ${ordered.map((f) => f.text).join(', ')}`;
}

function containersOf(pod: PodObject): Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

/** `container "a"` or `containers "a", "b"`, as the checks name them. */
function named(containers: readonly Container[], word = 'container'): string {
  const names = containers.map((c) => JSON.stringify(c.name)).join(', ');
  return `${word}${containers.length === 1 ? '' : 's'} ${names}`;
}

function baselineFailures(pod: PodObject): Failure[] {
  const failures: Failure[] = [];
  const spec = pod.spec;
  const hostNamespaces = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec?.[f]);
  if (hostNamespaces.length > 0) {
    const text = `host namespaces (${hostNamespaces.map((f) => `${f}=true`).join(', ')})`;
    failures.push({ id: 'hostNamespaces', text });
  }
  const privileged = containersOf(pod).filter((c) => c.securityContext?.privileged === true);
  if (privileged.length > 0) {
    const text = `privileged (${named(privileged)} must not set securityContext.privileged=true)`;
    failures.push({ id: 'privileged', text });
  }
  const adding = containersOf(pod).filter((c) =>
    (c.securityContext?.capabilities?.add ?? []).some((cap) => !BASELINE_CAPABILITIES.has(cap)),
  );
  if (adding.length > 0) {
    const caps = [
      ...new Set(
        adding.flatMap((c) =>
          (c.securityContext?.capabilities?.add ?? []).filter(
            (cap) => !BASELINE_CAPABILITIES.has(cap),
          ),
        ),
      ),
    ].sort();
    failures.push({
      id: 'capabilities_baseline',
      text: `non-default capabilities (${named(adding)} must not include ${caps.map((c) => JSON.stringify(c)).join(', ')} in securityContext.capabilities.add)`,
    });
  }
  const hostPaths = (spec?.volumes ?? []).filter((v) => v.hostPath !== undefined);
  if (hostPaths.length > 0) {
    const volumes = hostPaths.map((v) => JSON.stringify(v.name)).join(', ');
    failures.push({
      id: 'hostPathVolumes',
      text: `hostPath volume${hostPaths.length === 1 ? '' : 's'} (volume${hostPaths.length === 1 ? '' : 's'} ${volumes})`,
    });
  }
  return failures;
}

function restrictedFailures(pod: PodObject): Failure[] {
  const podContext = pod.spec?.securityContext;
  const containers = containersOf(pod);
  const failures: Failure[] = [];
  const escalating = containers.filter(
    (c) => c.securityContext?.allowPrivilegeEscalation !== false,
  );
  if (escalating.length > 0) {
    failures.push({
      id: 'allowPrivilegeEscalation',
      text: `allowPrivilegeEscalation != false (${named(escalating)} must set securityContext.allowPrivilegeEscalation=false)`,
    });
  }
  const capabilities = restrictedCapabilities(containers);
  if (capabilities !== undefined) {
    failures.push({
      id: 'capabilities_restricted',
      text: `unrestricted capabilities (${capabilities})`,
    });
  }
  const nonRoot = runAsNonRootDetail(podContext?.runAsNonRoot, containers);
  if (nonRoot !== undefined) {
    failures.push({ id: 'runAsNonRoot', text: `runAsNonRoot != true (${nonRoot})` });
  }
  const rootUser = runAsUserDetail(podContext?.runAsUser, containers);
  if (rootUser !== undefined) failures.push({ id: 'runAsUser', text: `runAsUser=0 (${rootUser})` });
  const unconfined = containers.filter((c) => {
    const type = c.securityContext?.seccompProfile?.type ?? podContext?.seccompProfile?.type;
    return type !== 'RuntimeDefault' && type !== 'Localhost';
  });
  if (unconfined.length > 0) {
    failures.push({
      id: 'seccompProfile_restricted',
      text: `seccompProfile (pod or ${named(unconfined)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    });
  }
  return failures;
}

/** check_capabilities_restricted.go: drop ALL, and add nothing but NET_BIND_SERVICE. */
function restrictedCapabilities(containers: readonly Container[]): string | undefined {
  const undropped = containers.filter(
    (c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'),
  );
  const forbidden = (c: Container) =>
    (c.securityContext?.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
  const adding = containers.filter((c) => forbidden(c).length > 0);
  const details: string[] = [];
  if (undropped.length > 0) {
    details.push(`${named(undropped)} must set securityContext.capabilities.drop=["ALL"]`);
  }
  if (adding.length > 0) {
    const caps = [...new Set(adding.flatMap(forbidden))].sort();
    details.push(
      `${named(adding)} must not include ${caps.map((c) => JSON.stringify(c)).join(', ')} in securityContext.capabilities.add`,
    );
  }
  return details.length > 0 ? details.join('; ') : undefined;
}

/**
 * check_runAsNonRoot.go: who sets runAsNonRoot=false explicitly is named first, and alone;
 * otherwise the containers it is unset for, when the pod does not set it true.
 */
function runAsNonRootDetail(
  podValue: boolean | undefined,
  containers: readonly Container[],
): string | undefined {
  const badSetters = podValue === false ? ['pod'] : [];
  const explicit = containers.filter((c) => c.securityContext?.runAsNonRoot === false);
  if (explicit.length > 0) badSetters.push(named(explicit));
  if (badSetters.length > 0) {
    return `${badSetters.join(' and ')} must not set securityContext.runAsNonRoot=false`;
  }
  const implicit = containers.filter(
    (c) => c.securityContext?.runAsNonRoot === undefined && podValue !== true,
  );
  return implicit.length > 0
    ? `pod or ${named(implicit)} must set securityContext.runAsNonRoot=true`
    : undefined;
}

/** check_runAsUser.go: neither the pod nor a container may set runAsUser 0. */
function runAsUserDetail(
  podValue: number | undefined,
  containers: readonly Container[],
): string | undefined {
  const badSetters = podValue === 0 ? ['pod'] : [];
  const root = containers.filter((c) => c.securityContext?.runAsUser === 0);
  if (root.length > 0) badSetters.push(named(root));
  return badSetters.length > 0 ? `${badSetters.join(' and ')} must not set runAsUser=0` : undefined;
}

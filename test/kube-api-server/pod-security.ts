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

/**
 * The message of the 403, after `pods "NAME" is forbidden: `, or undefined when the pod passes:
 * `violates PodSecurity "baseline:latest": non-default capabilities (...), ...`.
 */
export function podSecurityViolation(pod: PodObject, level: PodSecurityLevel): string | undefined {
  if (level === 'privileged') return undefined;
  const failures = [...baselineFailures(pod)];
  if (level === 'restricted') failures.push(...restrictedFailures(pod));
  if (failures.length === 0) return undefined;
  return `violates PodSecurity "${level}:latest": ${failures.join(', ')}`;
}

function containersOf(pod: PodObject): Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

/** `container "a"` or `containers "a", "b"`, as the checks name them. */
function named(containers: readonly Container[], word = 'container'): string {
  const names = containers.map((c) => JSON.stringify(c.name)).join(', ');
  return `${word}${containers.length === 1 ? '' : 's'} ${names}`;
}

function baselineFailures(pod: PodObject): string[] {
  const failures: string[] = [];
  const spec = pod.spec;
  const hostNamespaces = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec?.[f]);
  if (hostNamespaces.length > 0) {
    failures.push(`host namespaces (${hostNamespaces.map((f) => `${f}=true`).join(', ')})`);
  }
  const privileged = containersOf(pod).filter((c) => c.securityContext?.privileged === true);
  if (privileged.length > 0) {
    failures.push(`privileged (${named(privileged)} must not set securityContext.privileged=true)`);
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
    failures.push(
      `non-default capabilities (${named(adding)} must not include ${caps.map((c) => JSON.stringify(c)).join(', ')} in securityContext.capabilities.add)`,
    );
  }
  const hostPaths = (spec?.volumes ?? []).filter((v) => v.hostPath !== undefined);
  if (hostPaths.length > 0) {
    const volumes = hostPaths.map((v) => JSON.stringify(v.name)).join(', ');
    failures.push(
      `hostPath volume${hostPaths.length === 1 ? '' : 's'} (volume${hostPaths.length === 1 ? '' : 's'} ${volumes})`,
    );
  }
  return failures;
}

function restrictedFailures(pod: PodObject): string[] {
  const failures: string[] = [];
  const podContext = pod.spec?.securityContext;
  const containers = containersOf(pod);
  const escalating = containers.filter(
    (c) => c.securityContext?.allowPrivilegeEscalation !== false,
  );
  if (escalating.length > 0) {
    failures.push(
      `allowPrivilegeEscalation != false (${named(escalating)} must set securityContext.allowPrivilegeEscalation=false)`,
    );
  }
  const undropped = containers.filter(
    (c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'),
  );
  if (undropped.length > 0) {
    failures.push(
      `unrestricted capabilities (${named(undropped)} must set securityContext.capabilities.drop=["ALL"])`,
    );
  }
  const rootAllowed = containers.filter(
    (c) => (c.securityContext?.runAsNonRoot ?? podContext?.runAsNonRoot) !== true,
  );
  if (rootAllowed.length > 0) {
    failures.push(
      `runAsNonRoot != true (pod or ${named(rootAllowed)} must set securityContext.runAsNonRoot=true)`,
    );
  }
  const unconfined = containers.filter((c) => {
    const type = c.securityContext?.seccompProfile?.type ?? podContext?.seccompProfile?.type;
    return type !== 'RuntimeDefault' && type !== 'Localhost';
  });
  if (unconfined.length > 0) {
    failures.push(
      `seccompProfile (pod or ${named(unconfined)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    );
  }
  return failures;
}

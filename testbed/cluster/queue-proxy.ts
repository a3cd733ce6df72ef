// Serving's queue-proxy in front of a function process, as in the pod Serving makes: its
// environment is the one the controller wrote into the Revision's Deployment, with what only a
// pod has (its name and IP) filled in, and its ports moved off the pod's (the user port is the
// function's free port; the readiness probe follows it). Its admin (8022) and metrics (9090)
// ports are fixed: one queue-proxy at a time on a machine.
import type * as k8s from '@kubernetes/client-node';
import { loopbackPort, type ManagedProcess, startProcess } from './processes.ts';

/** What kube-probe sends, and the header that makes queue-proxy answer its own readiness. */
export const PROBE_HEADERS = { 'User-Agent': 'kube-probe/1.37', 'K-Network-Probe': 'queue' };

/** Values the pod's downward API would give. */
const POD_VALUES: Readonly<Record<string, string>> = {
  SERVING_POD: 'queue-proxy-test',
  SERVING_POD_IP: '127.0.0.1',
  HOST_IP: '127.0.0.1',
};

/** The queue-proxy container's env as the Deployment has it, pod-only values filled in. */
export function queueProxyEnv(container: k8s.V1Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    // An empty value is left out of the Deployment's JSON: it is "".
    const value =
      variable.valueFrom === undefined ? (variable.value ?? '') : POD_VALUES[variable.name];
    if (value === undefined) {
      throw new Error(
        `queue-proxy's ${variable.name} comes from ${JSON.stringify(variable.valueFrom)}`,
      );
    }
    env[variable.name] = value;
  }
  return env;
}

/** SERVING_READINESS_PROBE (the controller's JSON) pointed at `userPort`. */
export function probeOnPort(probeJson: string, userPort: number): string {
  const probe = JSON.parse(probeJson) as { httpGet?: { port?: number } };
  if (probe.httpGet === undefined) throw new Error(`not an httpGet probe: ${probeJson}`);
  return JSON.stringify({ ...probe, httpGet: { ...probe.httpGet, port: userPort } });
}

export interface RunningQueueProxy {
  /** http://127.0.0.1:QUEUE_SERVING_PORT */
  readonly url: string;
  readonly process: ManagedProcess;
}

/** Starts queue-proxy with the Deployment's env, in front of a function on `userPort`. */
export async function startQueueProxy(options: {
  readonly binary: string;
  readonly container: k8s.V1Container;
  readonly userPort: number;
  readonly logDir: string;
  readonly overrides?: Readonly<Record<string, string>>;
}): Promise<RunningQueueProxy> {
  const env = queueProxyEnv(options.container);
  const servingPort = await loopbackPort();
  const process = startProcess('queue-proxy', options.binary, [], options.logDir, {
    ...env,
    QUEUE_SERVING_PORT: String(servingPort),
    QUEUE_SERVING_TLS_PORT: String(await loopbackPort()),
    USER_PORT: String(options.userPort),
    SERVING_READINESS_PROBE: probeOnPort(env.SERVING_READINESS_PROBE ?? '', options.userPort),
    ...options.overrides,
  });
  return { url: `http://127.0.0.1:${servingPort}`, process };
}

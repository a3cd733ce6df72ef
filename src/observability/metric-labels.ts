// The labels faas-js-runtime puts on every metric series (faas_id, faas_instance, faas_version)
// come from FAAS_* variables, else from POD_NAME and K_REVISION: outside Knative, or without
// POD_NAME from the downward API, they read "undefined". Filled in before the runtime reads them.
import { hostname } from 'node:os';
import packageJson from '../../package.json' with { type: 'json' };
import type { Environment } from '../config/config.ts';

export interface RuntimeLabels {
  readonly FAAS_INSTANCE: string;
  readonly FAAS_ID: string;
  readonly FAAS_VERSION: string;
}

/**
 * The instance is the pod (a pod's host name is its name), the id the same (the runtime's own
 * default is the pod name and a random UUID, a new series on every restart), the version the
 * Knative revision, else the package version.
 */
export function runtimeLabels(env: Environment, host: string = hostname()): RuntimeLabels {
  const instance = env.FAAS_INSTANCE || env.POD_NAME || host;
  return {
    FAAS_INSTANCE: instance,
    FAAS_ID: env.FAAS_ID || instance,
    FAAS_VERSION: env.FAAS_VERSION || env.K_REVISION || packageJson.version,
  };
}

export function labelRuntimeMetrics(env: NodeJS.ProcessEnv = process.env): void {
  Object.assign(env, runtimeLabels(env));
}

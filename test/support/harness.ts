// The usual end-to-end set-up: a Kubernetes API test server, and the function reaching it
// through a kubeconfig file, both stopped after the test file. The function runs in the test's
// process (testbed/function-in-process.ts): real HTTP in, real API requests out.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { readDeployedRole } from '../../testbed/deployed-role.ts';
import { startInProcess } from '../../testbed/function-in-process.ts';
import type { ServedFunction } from '../../testbed/function-process.ts';
import {
  authorizerFromRules,
  type KubeApiServer,
  type KubeApiServerOptions,
  startKubeApiServer,
} from '../../testbed/kube-api-server/server.ts';

export interface Harness {
  readonly server: KubeApiServer;
  readonly fn: ServedFunction;
}

/**
 * Registers `before`/`after` hooks that start and stop the server and the function (configured
 * by `env`, on top of KUBECONFIG), and returns a getter for them, usable inside tests.
 */
export function useHarness(
  env: Record<string, string>,
  serverOptions?: KubeApiServerOptions,
): Harness {
  let harness: Harness | undefined;
  let workDir: string | undefined;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisioner-test-'));
    // The Role of deploy/rbac.yaml, as bound in the function's client namespace, is enforced.
    const role = await readDeployedRole();
    const roleAllows = authorizerFromRules(role.rules, env.CLIENT_NAMESPACE ?? 'default');
    const server = await startKubeApiServer({
      user: `system:serviceaccount:${role.namespace}:${role.account}`,
      ...serverOptions,
      authorize: (request, user) =>
        roleAllows(request) && (serverOptions?.authorize?.(request, user) ?? true),
    });
    const kubeconfig = await server.writeKubeconfig(workDir);
    harness = { server, fn: await startInProcess({ KUBECONFIG: kubeconfig, ...env }) };
  });
  after(async () => {
    await harness?.fn.stop();
    await harness?.server.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });
  const started = (): Harness => {
    if (!harness) throw new Error('the harness is not started: use it inside a test');
    return harness;
  };
  return {
    get server() {
      return started().server;
    },
    get fn() {
      return started().fn;
    },
  };
}

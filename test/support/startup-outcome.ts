// Settings refused at start-up, checked in process against an API test server of the file's own
// (src/lifecycle/startup.ts runs as `init` would, its exit handed in).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startupOutcome } from '../../testbed/function-in-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';

export interface StartupOutcomes {
  /** The start-up of a function with `env`: its exit code (null: it started) and its output. */
  readonly outcome: (
    env: Record<string, string>,
  ) => Promise<{ code: number | null; output: string }>;
  /** The API server the functions are pointed at (for faults), once `before` has run. */
  readonly server: () => KubeApiServer;
}

/** Registers the API server's start and stop in the enclosing suite. */
export function useStartupOutcome(label: string): StartupOutcomes {
  let server: KubeApiServer;
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), `provisioner-${label}-`));
    server = await startKubeApiServer();
  });
  after(async () => {
    await server?.close();
    await rm(workDir, { recursive: true, force: true });
  });
  return {
    outcome: async (env) =>
      startupOutcome({ KUBECONFIG: await server.writeKubeconfig(workDir), ...env }),
    server: () => server,
  };
}

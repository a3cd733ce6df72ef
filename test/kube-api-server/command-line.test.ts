// The Kubernetes API test server as a command: started, used through the real client, stopped with
// SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { freshDir, pod, SERVER_MODULE } from './test-support.ts';

describe('command line', () => {
  it('serves until SIGTERM and prints the URL and a kubeconfig', async (t) => {
    const dir = freshDir();
    const child = spawn(
      process.execPath,
      [SERVER_MODULE, '--namespace', 'sandbox', '--kubeconfig-dir', dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const lines = createInterface({ input: child.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    const started = JSON.parse(line) as { url: string; kubeconfig: string };
    assert.match(started.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(started.kubeconfig, join(dir, 'kubeconfig'));
    const kc = new KubeConfig();
    kc.loadFromFile(started.kubeconfig);
    const api = kc.makeApiClient(CoreV1Api);
    const created = await api.createNamespacedPod({ namespace: 'sandbox', body: pod('cli') });
    assert.equal(created.metadata?.namespace, 'sandbox');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  });
});

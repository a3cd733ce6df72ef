// The sandbox's temporary folder holds two kubeconfigs, a cluster admin's among them: stopped by
// SIGTERM or Ctrl-C (SIGINT), at any point, it leaves nothing behind.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../../testbed/eventually.ts';
import { freePort, PROJECT_ROOT } from '../../testbed/function-process.ts';
import { PRELOAD_FLAGS } from '../support/preloads.ts';

/** The sandbox's temporary folders go here (TMPDIR), and nowhere else. */
let parent: string;

before(async () => {
  parent = await mkdtemp(join(tmpdir(), 'provisioner-sandbox-cleanup-'));
});

after(async () => {
  await rm(parent, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
}

async function startSandbox(): Promise<Started> {
  const child = spawn(
    process.execPath,
    [...PRELOAD_FLAGS, 'scripts/dev.ts', '--port', String(await freePort())],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, TMPDIR: parent },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const add = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return { child, output: () => output };
}

async function stopWith(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.kill(signal);
  await exited;
  clearTimeout(timer);
}

describe('npm run dev removes its temporary folder', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal} once running: the kubeconfigs are gone, and it said it stopped`, async () => {
      const { child, output } = await startSandbox();
      await eventually('the banner', () => /Ctrl-C stops the function/.test(output()), {
        timeoutMs: 60_000,
      });
      const admin = /export KUBECONFIG=(\S+)/.exec(output())?.[1] ?? '';
      assert.ok(admin.startsWith(parent), output());
      await stopWith(child, signal);
      assert.match(output(), /\[sandbox\] stopped/);
      assert.deepEqual(await readdir(parent), [], output());
    });
  }

  it('on SIGTERM while it starts: the folder made so far is gone', async () => {
    const { child, output } = await startSandbox();
    await eventually('the temporary folder', async () => (await readdir(parent)).length > 0, {
      timeoutMs: 60_000,
    });
    await stopWith(child, 'SIGTERM');
    assert.deepEqual(await readdir(parent), [], output());
  });
});

// Every npm script that runs a script of ours answers `--help` and `-h` with its usage and exit
// code 0, and a flag it does not know with its usage on stderr and exit code 2, before it builds
// or starts anything: `npm run bench -- --help` once built first, then died.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import { PRELOAD_FLAGS } from '../support/preloads.ts';

interface PackageJson {
  readonly scripts: Record<string, string>;
}

const { scripts } = JSON.parse(
  await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8'),
) as PackageJson;

/** npm scripts that are `node <our .ts file>` and nothing else: their --help is the file's. */
const SCRIPT_FILES = Object.entries(scripts).flatMap(([name, command]) => {
  const file = /^node (\S+\.ts)$/.exec(command)?.[1];
  return file ? [{ name, file }] : [];
});

async function runWith(
  file: string,
  flag: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...PRELOAD_FLAGS, file, flag], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe('--help of every script', () => {
  it('covers the scripts a user runs, none of them building first', () => {
    const names = SCRIPT_FILES.map(({ name }) => name);
    for (const name of ['dev', 'invoke', 'bench', 'soak', 'corpus', 'build']) {
      assert.ok(
        names.includes(name),
        `npm run ${name} is not \`node <file>.ts\`: ${scripts[name]}`,
      );
    }
  });

  for (const { name, file } of SCRIPT_FILES) {
    for (const flag of ['--help', '-h']) {
      it(`npm run ${name} -- ${flag} prints its usage and exits 0`, async () => {
        const { code, stdout } = await runWith(file, flag);
        assert.equal(code, 0, stdout);
        assert.match(stdout, new RegExp(`^usage: npm run ${name}\\b`), stdout);
      });
    }

    // One rule for every script: a flag it does not know is refused before anything starts.
    it(`npm run ${name} -- --no-such-flag prints its usage on stderr and exits 2`, async () => {
      const { code, stdout, stderr } = await runWith(file, '--no-such-flag');
      assert.equal(code, 2, `${stdout}${stderr}`);
      assert.match(stderr, new RegExp(`^usage: npm run ${name}\\b`, 'm'), stderr);
      assert.doesNotMatch(stdout, /^usage:/m);
    });
  }
});

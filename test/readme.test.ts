// The README's commands: each shell block says whether it needs a cluster or which check runs it,
// and the files it names exist.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from './support/function-process.ts';

const README = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('marks every shell block as needing a cluster, or names the check that runs it', () => {
    const blocks = [...README.matchAll(/```shell\n([^\n]*)\n/g)].map((match) => match[1] ?? '');
    assert.ok(blocks.length >= 15, `only ${blocks.length} shell blocks`);
    for (const first of blocks) {
      const checked = /^# checked by (\S+)/.exec(first)?.[1];
      if (checked) assert.ok(existsSync(join(PROJECT_ROOT, checked)), `${checked} does not exist`);
      else assert.match(first, /^# needs a cluster/, `unmarked shell block: ${first}`);
    }
  });

  it('names only files that exist in deploy/ and samples/', () => {
    const paths = new Set(
      [...README.matchAll(/\b((?:deploy|samples)\/[\w./-]*\w)/g)].map((match) => match[1] ?? ''),
    );
    assert.ok(paths.size >= 8);
    for (const path of paths) assert.ok(existsSync(join(PROJECT_ROOT, path)), path);
  });
});

// The func toolchain: func.yaml fields, the s2i Node image, .funcignore.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import { funcYamlProblems } from '../support/func-yaml.ts';
import { at, obj, str } from '../support/manifests.ts';
import { funcYaml, loadDeployment } from './support.ts';

before(loadDeployment);

describe('the func toolchain', () => {
  it("func.yaml is valid against func's own schema (draft-04)", () => {
    assert.deepEqual(funcYamlProblems(funcYaml), []);
  });

  it("func's schema refuses a misplaced or unknown field, a value outside an enum, a bad env", () => {
    const misplaced = { ...funcYaml, build: { ...obj(funcYaml.build), namespace: 'x' } };
    assert.deepEqual(funcYamlProblems(misplaced), ['build.namespace is not a func.yaml field']);
    assert.deepEqual(funcYamlProblems({ ...funcYaml, invoke: 'event' }), [
      'invoke: must be one of http, cloudevent',
    ]);
    const badEnv = { ...funcYaml, run: { envs: [{ name: 'A B', value: 1 }] } };
    assert.deepEqual(funcYamlProblems(badEnv), [
      'run.envs.0.name: must match pattern "^[-._a-zA-Z][-._a-zA-Z0-9]*$"',
      'run.envs.0.value: must be string',
    ]);
  });

  it('an s2i build gets a Node image the function loads on (package.json engines)', async () => {
    const image = str(at(funcYaml, 'build', 'builderImages', 's2i'));
    const major = /nodejs-(\d+)/.exec(image)?.[1];
    assert.ok(major, `${image} names its Node version`);
    const packageJson = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const engines = String(packageJson.engines.node);
    assert.match(
      engines,
      new RegExp(`\\^${major}(\\D|$)`),
      `Node ${major} is in engines ${engines}`,
    );
  });

  it('.funcignore keeps node_modules, build and func state out of the build upload, not the sources', async () => {
    const patterns = (await readFile(join(PROJECT_ROOT, '.funcignore'), 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.replace(/^\/|\/$/g, ''));
    for (const ignored of ['node_modules', 'build', '.func']) {
      assert.ok(patterns.includes(ignored), `.funcignore lists ${ignored}`);
    }
    // What `npm ci`, `npm run build` and `npm start` read.
    const needed = ['package.json', 'package-lock.json', 'index.ts', 'src', 'scripts', 'func.yaml'];
    for (const path of needed) {
      assert.ok(!patterns.includes(path), `${path} is needed by the build`);
    }
    const gitignore = await readFile(join(PROJECT_ROOT, '.gitignore'), 'utf8');
    assert.match(gitignore, /^\.func\/$/m, '.gitignore lists .func/');
  });
});

// The README's and docs/' commands: each shell block says whether it needs a cluster or which
// check runs it, and the files and pages they name exist.
import assert from 'node:assert/strict';
import { existsSync, globSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';

const PAGES = ['README.md', 'docs/deploy.md', 'docs/troubleshooting.md', 'docs/reference.md'];
const README = (
  await Promise.all(PAGES.map((page) => readFile(join(PROJECT_ROOT, page), 'utf8')))
).join('\n');
const README_ONLY = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');

describe('README and docs/', () => {
  it('keeps the README short: quick start first, reference under docs/', () => {
    const lines = README_ONLY.split('\n').length;
    assert.ok(lines <= 400, `README.md has ${lines} lines`);
    assert.ok(README_ONLY.indexOf('npm test') < README_ONLY.indexOf('docs/deploy.md'));
  });

  it('links only pages that exist', async () => {
    let links = 0;
    for (const page of PAGES) {
      const text = await readFile(join(PROJECT_ROOT, page), 'utf8');
      for (const match of text.matchAll(/\]\(([\w./-]+\.md)(?:#[\w-]+)?\)/g)) {
        links += 1;
        const target = join(PROJECT_ROOT, dirname(page), match[1] ?? '');
        assert.ok(existsSync(target), `${page} links ${match[1]}, which does not exist`);
      }
    }
    assert.ok(links >= 8, `only ${links} links between the pages`);
  });

  it('marks every shell block as needing a cluster, or names the check that runs it', () => {
    const blocks = [...README.matchAll(/```shell\n([^\n]*)\n/g)].map((match) => match[1] ?? '');
    assert.ok(blocks.length >= 15, `only ${blocks.length} shell blocks`);
    for (const first of blocks) {
      const checked = /^# checked by (\S+)/.exec(first)?.[1];
      if (checked) assert.ok(existsSync(join(PROJECT_ROOT, checked)), `${checked} does not exist`);
      else assert.match(first, /^# needs a cluster/, `unmarked shell block: ${first}`);
    }
  });

  it('starts the function against a cluster with the settings func.yaml would have given', () => {
    // `npm start` reads no func.yaml: the section must set what a routed `done` needs.
    const section =
      README.split(/^## /m).find((part) => part.startsWith('Against a cluster')) ?? '';
    const start =
      section.split('\n').find((line) => /\bnpm start\b/.test(line) && !line.includes('`')) ?? '';
    const funcYaml = readFileSync(join(PROJECT_ROOT, 'func.yaml'), 'utf8');
    for (const name of ['CLIENT_NAMESPACE', 'GATEWAYS']) {
      const value = new RegExp(`- name: ${name}\\n\\s+value: (\\S+)`).exec(funcYaml)?.[1];
      assert.ok(value, `func.yaml sets ${name}`);
      assert.ok(
        start.includes(`${name}=${value}`),
        `the npm start line sets ${name}=${value}: ${start}`,
      );
    }
    assert.match(section, /kubectl apply -f deploy\/namespace\.yaml/);
    assert.match(section, /REQUIRE_ROUTING=false/);
  });

  it('shows a Ready Kubernetes Event only where WAIT_FOR=ready is said', () => {
    const example = /kubectl events` \(and[\s\S]*?```text\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
    assert.match(example, /Provisioned/);
    assert.doesNotMatch(example, /\bReady\b/);
    assert.match(README, /`npm run dev -- --cluster`/);
  });

  it('docs/deploy.md: each post to the Broker prints its status; leaving the Broker takes the dashboard too', () => {
    const deploy = readFileSync(join(PROJECT_ROOT, 'docs/deploy.md'), 'utf8');
    const posts = deploy
      .split('\n')
      .filter((line) => line.includes('broker-ingress.knative-eventing'));
    assert.ok(posts.length >= 3, `only ${posts.length} posts to the Broker`);
    for (const post of posts) assert.match(post, /-w '%\{http_code\}\\n'|\s-i\s/, post);
    const removal =
      /```shell\n# needs a cluster \(with deploy\/ applied[^\n]*\n([\s\S]*?)```/.exec(
        deploy,
      )?.[1] ?? '';
    const lines = removal.trim().split('\n');
    const dashboard = lines.findIndex((line) => line.includes('deploy/cloudevents-player.yaml'));
    const broker = lines.findIndex((line) => line.includes('broker/default'));
    assert.ok(dashboard >= 0 && dashboard < broker, removal);
  });

  it('ships the licence package.json names, in full', async () => {
    const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    assert.equal(manifest.license, 'Apache-2.0');
    const licence = await readFile(join(PROJECT_ROOT, 'LICENSE'), 'utf8');
    assert.match(licence, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(licence, /END OF TERMS AND CONDITIONS/);
  });

  it('names only files that exist in deploy/ and samples/', () => {
    const paths = new Set(
      [...README.matchAll(/\b((?:deploy|samples)\/[\w./*-]*\w)/g)].map((match) => match[1] ?? ''),
    );
    assert.ok(paths.size >= 8);
    for (const path of paths) {
      assert.ok(globSync(path, { cwd: PROJECT_ROOT }).length > 0, path);
    }
  });
});

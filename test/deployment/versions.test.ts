// The version matrix of docs/deploy.md and the image pins of deploy/ and examples/, against what
// the repository builds and checks: no `latest`, the function's tag is package.json's version.
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const { version } = JSON.parse(read('package.json')) as { version: string };
const matrix = read('docs/deploy.md').split('### Versions deploy/ is checked against')[1] ?? '';
const row = (component: string) =>
  matrix.split('\n').find((line) => line.startsWith(`| ${component} |`)) ?? '';

describe('the versions deploy/ is checked against', () => {
  it('pins the function’s image to package.json’s version, in the kustomization and the docs', () => {
    const newTag = /newTag: "?([^"\s]+)"?/.exec(read('deploy/kustomization.yaml'))?.[1];
    assert.equal(newTag, version);
    assert.match(row("the function's image"), new RegExp(`client-provisioner:${version}\``));
    assert.match(
      read('docs/deploy.md'),
      new RegExp(`func build --image "\\$REGISTRY/client-provisioner:${version}" --push`),
    );
  });

  it('names no :latest image in deploy/ or examples/', () => {
    const manifests = globSync('{deploy,examples}/**/*.yaml', { cwd: PROJECT_ROOT });
    assert.ok(manifests.length >= 8);
    for (const path of manifests) {
      const text = read(path);
      assert.doesNotMatch(text, /^\s*image: \S+:latest\s*$/m, path);
      assert.doesNotMatch(text, /^\s*newTag: "?latest"?\s*$/m, path);
    }
  });

  it('pins every other image in deploy/ and examples/ to a tag or a digest', () => {
    // The function's own image is named bare in deploy/service.yaml: kustomization's newTag pins it.
    const manifests = globSync('{deploy,examples}/**/*.yaml', { cwd: PROJECT_ROOT });
    const images = manifests.flatMap((path) =>
      [...read(path).matchAll(/^\s*(?:- )?image: (\S+)\s*$/gm)].map((m) => ({ path, image: m[1] })),
    );
    assert.ok(images.some(({ image }) => image.includes('event_display')));
    for (const { path, image } of images) {
      if (image === 'client-provisioner') continue;
      assert.match(image ?? '', /(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$/, `${path}: ${image}`);
    }
  });

  it('names the Serving, func and chart versions the repository builds and validates against', () => {
    const serving = /knative\.dev\/serving (v[\d.]+)/.exec(
      read('testbed/cluster/go/knative/go.mod'),
    )?.[1];
    assert.ok(serving);
    assert.match(row('Knative Serving'), new RegExp(`\\| ${serving.replaceAll('.', '\\.')} `));
    const specVersion = /^specVersion: (\S+)$/m.exec(read('func.yaml'))?.[1] ?? '';
    assert.ok(row('func').includes(`\`specVersion\` ${specVersion}`), row('func'));
    const chart = /--version (\S+)/.exec(read('deploy/pod-gateway-foo-values.yaml'))?.[1] ?? '';
    assert.ok(row('pod-gateway chart').includes(`pod-gateway ${chart}`), row('pod-gateway chart'));
    assert.match(row('Knative Eventing'), /commit `[0-9a-f]{40}`/);
  });
});

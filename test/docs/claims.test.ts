// What the docs, BENCHMARKS.md and the manifests' comments claim about the repository, checked
// against it: every path they cite exists; every metric and setting the docs name exists in the
// code, and every one the code has is documented; counted figures match the real count.
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_VARIABLES } from '../../src/config/config.ts';
import { RUNTIME_VARIABLES } from '../../src/edge/http-guard.ts';
import { SINK_VARIABLES } from '../../src/events/sink.ts';
import { REASON } from '../../src/formats/reasons.ts';
import { POD_ROUTES } from '../../src/kube/api-observer.ts';
import { API_CALLS } from '../../src/kube/client.ts';
import * as metrics from '../../src/observability/metrics.ts';
import { OTEL_VARIABLES } from '../../src/observability/tracing-settings.ts';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import { loadCorpus } from '../corpus/corpus.ts';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const files = (pattern: string) => globSync(pattern, { cwd: PROJECT_ROOT }).sort();

/** Pages whose text is all claims. */
const PAGES = ['README.md', 'BENCHMARKS.md', 'samples/README.md', ...files('docs/*.md')];
/** Manifests whose comments are claims. */
const MANIFESTS = ['func.yaml', ...files('deploy/**/*.yaml'), ...files('examples/**/*.yaml')];
const DOCS = ['README.md', ...files('docs/*.md')];

/** The comments of a YAML file: what follows a `#` at a line's start or after a space. */
export function yamlComments(text: string): string {
  return text
    .split('\n')
    .map((line) => /(?:^|\s)#(.*)$/.exec(line)?.[1] ?? '')
    .join('\n');
}

/**
 * Repository paths in a text: `src/…`, `test/…`, `scripts/…`, `deploy/…`, `docs/…`,
 * `samples/…`, `examples/…`, globs included; not the tail of a URL or of another path.
 */
export function citedPaths(text: string): string[] {
  const pattern =
    /(?<![\w./@:-])((?:src|test|scripts|deploy|docs|samples|examples)\/(?:[\w.*-]+\/?)*)/g;
  return [...text.matchAll(pattern)].map((match) => (match[1] ?? '').replace(/\.$/, ''));
}

/** Whether a cited path (a file, a folder, or a glob) names something in the repository. */
export function pathExists(path: string): boolean {
  return globSync(path.replace(/\/$/, ''), { cwd: PROJECT_ROOT }).length > 0;
}

function claimsBySource(): Array<{ source: string; text: string }> {
  return [
    ...PAGES.map((source) => ({ source, text: read(source) })),
    ...MANIFESTS.map((source) => ({ source, text: yamlComments(read(source)) })),
  ];
}

/** The metrics src/observability/metrics.ts defines. */
const DEFINED_METRICS = Object.values(metrics)
  .flatMap((value: unknown) =>
    typeof value === 'object' && value !== null && 'name' in value ? [String(value.name)] : [],
  )
  .filter((name) => name.startsWith('podgateway_'))
  .sort();

/** Metric names in a text, without the series suffixes of a histogram. */
export function namedMetrics(text: string): string[] {
  return [...text.matchAll(/\bpodgateway_[a-z_]*[a-z]/g)].map((match) =>
    (match[0] ?? '').replace(/_(bucket|sum|count)$/, ''),
  );
}

/** The variables of the tables of docs/reference.md's `## Configuration` section. */
export function documentedSettings(reference: string): string[] {
  const section = reference.split(/^## /m).find((part) => part.startsWith('Configuration')) ?? '';
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` +\|/gm)].map((match) => match[1] ?? '');
}

/** The variables of the table of docs/reference.md's `## Tracing` section, several to a row. */
export function documentedTracingVariables(reference: string): string[] {
  const section = reference.split(/^## /m).find((part) => part.startsWith('Tracing')) ?? '';
  const firstCells = [...section.matchAll(/^\| ([^|]+) \|/gm)].map((match) => match[1] ?? '');
  return firstCells.flatMap((cell) => namedVariables(cell));
}

/** Environment-like names in backquotes: `CLIENT_IMAGE`, `FUNC_PORT`, … */
export function namedVariables(text: string): string[] {
  return [...text.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])`/g)].map(
    (match) => match[1] ?? '',
  );
}

/** Capitals in backquotes that are not variables of ours: the docs' own words. */
const NOT_VARIABLES = new Set([
  'NET_ADMIN', // a Linux capability
  'API_CALLS', // a constant of src/kube/client.ts, checked below as source text
  'LD_PRELOAD', // a variable docs/security.md says a client pod must not be given
]);

/** Figures the docs state about the corpus: "387 malformed …", "387 such malformed …". */
export function corpusFigures(text: string): number[] {
  return [...text.matchAll(/\b(\d[\d,]*) (?:such )?malformed\b/g)].map((match) =>
    Number((match[1] ?? '').replace(/,/g, '')),
  );
}

const VERB = '(?:create|get|list|watch|delete|patch|update)';

/** The verbs of each "may create, get and watch pods" the text says, whitespace folded. */
export function accessCheckClaims(text: string): string[][] {
  const folded = text.replace(/\s+/g, ' ');
  const verbs = `${VERB}(?:(?:, and |, | and )${VERB})*`;
  const pattern = new RegExp(`\\bmay (${verbs}) pods(?:,? and (${verbs}) events)?\\b`, 'g');
  const split = (list: string | undefined) => (list ? list.split(/, and |, | and /) : []);
  return [...folded.matchAll(pattern)].map((match) => [...split(match[1]), ...split(match[2])]);
}

/** The verbs a row of the metrics table names, in backquotes. */
export function verbsOfRow(text: string, metric: string): string[] {
  const row = text.split('\n').find((line) => line.startsWith(`| \`${metric}\``)) ?? '';
  return [...row.matchAll(new RegExp(`\`(${VERB})\``, 'g'))].map((match) => match[1] ?? '');
}

const CODE = [...files('src/**/*.ts'), 'index.ts'].map(read).join('\n');
const HELM_VALUES = files('deploy/pod-gateway-*-values.yaml').map(read).join('\n');

describe('claims the docs make about the repository', () => {
  it('every repository path a page, a manifest comment or func.yaml cites exists', () => {
    const missing: string[] = [];
    let cited = 0;
    for (const { source, text } of claimsBySource()) {
      for (const path of new Set(citedPaths(text))) {
        cited += 1;
        if (!pathExists(path)) missing.push(`${source}: ${path}`);
      }
    }
    assert.ok(cited >= 50, `only ${cited} cited paths found`);
    assert.deepEqual(missing, []);
  });

  it('the path check finds a stale path, and reads comments only in YAML', () => {
    const text = 'tested by test/deploy.test.ts, see https://knative.dev/docs/functions/';
    assert.deepEqual(citedPaths(text), ['test/deploy.test.ts']);
    assert.equal(pathExists('test/deploy.test.ts'), false);
    assert.equal(pathExists('deploy/pod-gateway-*-values.yaml'), true);
    assert.equal(pathExists('src/kube/'), true);
    assert.deepEqual(citedPaths(yamlComments('image: src/x # see docs/deploy.md')), [
      'docs/deploy.md',
    ]);
  });

  it('every metric the docs name is defined, and every defined metric is in docs/reference.md', () => {
    assert.ok(DEFINED_METRICS.length >= 5, DEFINED_METRICS.join(' '));
    const named = new Set(DOCS.flatMap((page) => namedMetrics(read(page))));
    assert.deepEqual(
      [...named].filter((name) => !DEFINED_METRICS.includes(name)),
      [],
      'named in the docs, not defined in src/observability/metrics.ts',
    );
    const reference = new Set(namedMetrics(read('docs/reference.md')));
    assert.deepEqual(
      DEFINED_METRICS.filter((name) => !reference.has(name)),
      [],
      'defined, not in docs/reference.md',
    );
  });

  it('the settings table of docs/reference.md is exactly what src/config/ reads, and K_SINK', () => {
    const documented = documentedSettings(read('docs/reference.md')).sort();
    assert.deepEqual(documented, [...CONFIG_VARIABLES, ...SINK_VARIABLES].sort());
  });

  it('the Tracing table of docs/reference.md is exactly the standard OTEL_* variables honoured', () => {
    // Read by the OpenTelemetry SDK or src/observability/tracing-settings.ts, not src/config/.
    const documented = documentedTracingVariables(read('docs/reference.md')).sort();
    assert.deepEqual(documented, [...OTEL_VARIABLES].sort());
  });

  it('every variable the docs name is read by the code, or set in the gateways’ Helm values', () => {
    const named = new Set(DOCS.flatMap((page) => namedVariables(read(page))));
    const unknown = [...named].filter(
      (name) =>
        !NOT_VARIABLES.has(name) &&
        !(RUNTIME_VARIABLES as readonly string[]).includes(name) &&
        !(OTEL_VARIABLES as readonly string[]).includes(name) &&
        !CODE.includes(name) &&
        !HELM_VALUES.includes(name),
    );
    assert.deepEqual(unknown, []);
    assert.deepEqual(namedVariables('`CLIENT_IMAGES` and `NET_ADMIN`'), [
      'CLIENT_IMAGES',
      'NET_ADMIN',
    ]);
    assert.equal(CODE.includes('CLIENT_IMAGES'), false, 'a misspelled setting is caught');
  });

  it('the reply tables and the provisions counter of docs/reference.md name warnings, pod_name and AlreadyGone', () => {
    const reference = read('docs/reference.md');
    // The reply tables' rows, not the data-schema table's (which links the schema files).
    const row = (start: string) =>
      reference
        .split('\n')
        .find((line) => line.startsWith(`| \`${start}\``) && !line.includes('../schemas/')) ?? '';
    assert.match(row('io.podgateway.client.scheduling.done'), /`warnings`/);
    assert.match(row('io.podgateway.client.scheduling.failed'), /`warnings`/);
    assert.match(
      row('io.podgateway.client.release.failed'),
      new RegExp(`\`${REASON.InvalidPodName}\`[^|]*\`pod_name\``),
    );
    assert.match(
      row('podgateway_requests_total'),
      new RegExp(`\`released\` \\(\`reason="${REASON.AlreadyGone}"\``),
    );
  });

  it('the access check line the docs quote names every verb of src/kube/client.ts API_CALLS', () => {
    const verbs = API_CALLS.map(({ verb }) => verb);
    const claims = DOCS.flatMap((page) =>
      accessCheckClaims(read(page)).map((claimed) => ({ page, claimed })),
    );
    assert.ok(claims.length >= 2, 'README.md and docs/reference.md say what is checked');
    assert.deepEqual(
      claims.filter(({ claimed }) => claimed.join() !== verbs.join()),
      [],
      `the check asks for: ${verbs.join(', ')}`,
    );
    assert.deepEqual(accessCheckClaims('it may create, get and\n watch pods'), [
      ['create', 'get', 'watch'],
    ]);
    assert.deepEqual(accessCheckClaims('may create, delete pods and create, patch events'), [
      ['create', 'delete', 'create', 'patch'],
    ]);
  });

  it('the API timing metric’s verbs in docs/reference.md are those the code times', () => {
    const timed = [...new Set(Object.values(POD_ROUTES).map((route) => route.verb))];
    assert.ok(timed.length >= 3, timed.join());
    const documented = verbsOfRow(
      read('docs/reference.md'),
      'podgateway_kube_api_request_duration_seconds',
    );
    assert.deepEqual([...new Set(documented)].sort(), timed.sort());
  });

  it('the corpus count the docs state is the corpus’s', () => {
    const count = loadCorpus().length;
    const figures = DOCS.flatMap((page) =>
      corpusFigures(read(page)).map((figure) => ({ page, figure })),
    );
    assert.ok(figures.length >= 2, 'README.md and docs/reference.md state the count');
    assert.deepEqual(
      figures.filter(({ figure }) => figure !== count),
      [],
      `the corpus holds ${count} cases`,
    );
    assert.deepEqual(corpusFigures('holds 1,387 such malformed'), [1387]);
  });
});

// Builds the cluster's binaries from the wrapper modules under testbed/cluster/go into a cache
// outside the work tree, one folder per module keyed by what decides its binaries (go.mod,
// go.sum, the Go version, the ldflags): a fresh clone elsewhere on the machine reuses them.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { COMPONENTS, type Component, WRAPPER_MODULES_DIR } from './components.ts';
import { ClusterError, tail } from './errors.ts';

export type Log = (line: string) => void;

/** Where every binary of the cluster is, once built. */
export interface Binaries {
  readonly paths: Readonly<Record<string, string>>;
  /** kwok's own stage files, copied out of its module at build time. */
  readonly kwokStages: readonly string[];
  /** Knative Serving's CRDs, ConfigMaps and webhook objects, in order; [] unless asked for. */
  readonly knativeConfig: readonly string[];
}

export interface BuildOptions {
  /** Also the optional components (Knative Serving's), and their config files. */
  readonly knative?: boolean;
}

const KWOK_STAGE_SET = 'kustomize/stage/fast';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CLUSTER_CACHE_DIR) return env.CLUSTER_CACHE_DIR;
  const xdg = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'podgateway-provisioner', 'cluster');
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
}

interface GoResult {
  readonly code: number;
  readonly output: string;
}

function runGo(args: readonly string[], cwd: string): Promise<GoResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd, env: goEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-64_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new ClusterError(
              'go not found on PATH: install Go 1.26 or newer to build the test cluster',
            )
          : error,
      );
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function goOutput(args: readonly string[], cwd: string): Promise<string> {
  const result = await runGo(args, cwd);
  if (result.code !== 0) {
    throw new ClusterError(`go ${args.join(' ')} failed:\n${tail(result.output)}`);
  }
  return result.output.trim();
}

/** The folder of `module`'s binaries in the cache: changes whenever they would. */
export async function moduleCacheDir(module: string, goVersion: string): Promise<string> {
  const dir = join(WRAPPER_MODULES_DIR, module);
  const hash = createHash('sha256').update(goVersion);
  // go.mod and go.sum, and the sources of a module with its own program (go/cloudevents).
  const files = (await readdir(dir)).filter((name) => /^go\.(mod|sum)$|\.go$/.test(name)).sort();
  for (const file of files) hash.update(await readFile(join(dir, file)));
  for (const component of componentsOf(module)) hash.update(JSON.stringify(component));
  return join(cacheRoot(), `${module}-${hash.digest('hex').slice(0, 16)}`);
}

/** The file `go build -o DIR` writes for a main package: a trailing /vN names no binary. */
export function goBinaryName(mainPackage: string): string {
  const parts = mainPackage.split('/');
  const last = parts.at(-1) ?? mainPackage;
  return /^v\d+$/.test(last) && parts.length > 1 ? (parts.at(-2) ?? last) : last;
}

function componentsOf(module: string): Component[] {
  return COMPONENTS.filter((component) => component.module === module);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(0)} s`;
}

/** One `go build` for all the missing binaries of a module: they share most packages. */
async function buildModule(module: string, outDir: string, missing: Component[], log: Log) {
  const names = missing.map((component) => component.name).join(', ');
  log(`building ${names} (first run for these versions; several minutes)…`);
  const started = Date.now();
  const temp = await mkdtemp(join(outDir, '.build-'));
  try {
    const ldflags = [...new Set(missing.flatMap((component) => component.ldflags))].join(' ');
    const packages = missing.map((component) => component.mainPackage);
    const args = ['build', '-trimpath', '-ldflags', ldflags, '-o', temp, ...packages];
    const result = await runGo(args, join(WRAPPER_MODULES_DIR, module));
    if (result.code !== 0) {
      throw new ClusterError(`building ${names} failed:\n${tail(result.output)}`);
    }
    for (const component of missing) {
      await rename(join(temp, goBinaryName(component.mainPackage)), join(outDir, component.name));
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  log(`built ${names} in ${seconds(started)}`);
}

/** The stage files kwok's "fast" set lists, through its kustomizations, in its module. */
async function kwokStageFiles(moduleDir: string): Promise<string[]> {
  const files: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    const kustomization = parse(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as {
      resources?: string[];
    };
    for (const resource of kustomization.resources ?? []) {
      const path = join(dir, resource);
      if (resource.endsWith('.yaml')) files.push(path);
      else await visit(path);
    }
  };
  await visit(join(moduleDir, KWOK_STAGE_SET));
  return files;
}

async function copyKwokStages(outDir: string): Promise<void> {
  const moduleDir = await goOutput(
    ['list', '-m', '-f', '{{.Dir}}', 'sigs.k8s.io/kwok'],
    join(WRAPPER_MODULES_DIR, 'kwok'),
  );
  const stagesDir = join(outDir, 'stages');
  await mkdir(stagesDir, { recursive: true });
  for (const file of await kwokStageFiles(moduleDir)) {
    await copyFile(file, join(stagesDir, `${basename(dirname(file))}-${basename(file)}`));
  }
}

/**
 * What of Knative's config/ the test control plane applies, module by module. Serving's links
 * to networking's and caching's files are dropped from its module zip: those come from the
 * modules its go.mod pins. No Deployments, roles or HPAs: the processes run outside the cluster.
 */
const KNATIVE_CONFIG: readonly { module: string; files: readonly string[] }[] = [
  { module: 'knative.dev/serving', files: ['config/core/100-namespace.yaml'] },
  { module: 'knative.dev/caching', files: ['config/image.yaml'] },
  {
    module: 'knative.dev/networking',
    files: [
      'config/certificate.yaml',
      'config/domain-claim.yaml',
      'config/ingress.yaml',
      'config/serverlessservice.yaml',
      'config/config-network.yaml',
    ],
  },
  {
    module: 'knative.dev/serving',
    files: [
      ...[
        'configuration',
        'domain-mapping',
        'metric',
        'podautoscaler',
        'revision',
        'route',
        'service',
      ].map((name) => `config/core/300-resources/${name}.yaml`),
      ...[
        'autoscaler',
        'defaults',
        'deployment',
        'domain',
        'features',
        'gc',
        'leader-election',
        'logging',
        'observability',
        'tracing',
      ].map((name) => `config/core/configmaps/${name}.yaml`),
      'config/core/webhooks/secret.yaml',
      'config/core/webhooks/configmap-validation.yaml',
      'config/core/webhooks/defaulting.yaml',
      'config/core/webhooks/resource-validation.yaml',
    ],
  },
];

/** Copies KNATIVE_CONFIG out of the module cache into `outDir`/config, numbered in order. */
async function copyKnativeConfig(outDir: string): Promise<void> {
  const wrapper = join(WRAPPER_MODULES_DIR, 'knative');
  const temp = await mkdtemp(join(outDir, '.config-'));
  try {
    let index = 0;
    for (const { module, files } of KNATIVE_CONFIG) {
      // Downloads the module when a build did not need it (caching's CRD only), and says where.
      const { Dir: moduleDir } = JSON.parse(
        await goOutput(['mod', 'download', '-json', module], wrapper),
      ) as { Dir: string };
      for (const file of files) {
        index += 1;
        const name = `${String(index).padStart(2, '0')}-${basename(dirname(file))}-${basename(file)}`;
        await copyFile(join(moduleDir, file), join(temp, name));
      }
    }
    await rename(temp, join(outDir, 'config'));
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function knativeConfigIn(outDir: string): Promise<string[]> {
  const dir = join(outDir, 'config');
  return (await readdir(dir)).sort().map((name) => join(dir, name));
}

async function stagesIn(outDir: string): Promise<string[]> {
  const dir = join(outDir, 'stages');
  return (await readdir(dir)).sort().map((name) => join(dir, name));
}

/** Builds whatever is missing (only then is Go needed beyond `go version`) and says where all is. */
export async function ensureBinaries(
  log: Log = console.log,
  options: BuildOptions = {},
): Promise<Binaries> {
  const goVersion = await goOutput(['env', 'GOVERSION'], WRAPPER_MODULES_DIR);
  const paths: Record<string, string> = {};
  let kwokStages: string[] = [];
  let knativeConfig: string[] = [];
  const wanted = COMPONENTS.filter((component) => options.knative === true || !component.optional);
  for (const module of [...new Set(wanted.map((component) => component.module))]) {
    const outDir = await moduleCacheDir(module, goVersion);
    await mkdir(outDir, { recursive: true });
    const components = componentsOf(module);
    const missing: Component[] = [];
    for (const component of components) {
      if (!(await exists(join(outDir, component.name)))) missing.push(component);
    }
    if (missing.length > 0) await buildModule(module, outDir, missing, log);
    if (module === 'kwok') {
      if (!(await exists(join(outDir, 'stages')))) await copyKwokStages(outDir);
      kwokStages = await stagesIn(outDir);
    }
    if (module === 'knative') {
      if (!(await exists(join(outDir, 'config')))) await copyKnativeConfig(outDir);
      knativeConfig = await knativeConfigIn(outDir);
    }
    for (const component of components) paths[component.name] = join(outDir, component.name);
  }
  return { paths, kwokStages, knativeConfig };
}

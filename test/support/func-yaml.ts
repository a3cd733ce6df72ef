// func.yaml as knative/func reads it: the fields of its schema (schema/func_yaml-schema.json,
// where every object has additionalProperties false), listed here by hand, so that a misspelt
// or misplaced field is found before `func` refuses the file.
const FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': [
    'specVersion',
    'name',
    'domain',
    'runtime',
    'registry',
    'image',
    'namespace',
    'created',
    'invoke',
    'build',
    'run',
    'deploy',
  ],
  build: [
    'git',
    'builderImages',
    'buildpacks',
    'builder',
    'buildEnvs',
    'pvcSize',
    'remoteStorageClass',
  ],
  run: ['volumes', 'envs', 'podSecurityContext', 'startTimeout'],
  deploy: [
    'namespace',
    'image',
    'annotations',
    'options',
    'labels',
    'healthEndpoints',
    'serviceAccountName',
    'subscriptions',
  ],
  'deploy.options': ['scale', 'resources'],
  'deploy.options.scale': ['min', 'max', 'metric', 'target', 'utilization'],
  'deploy.options.resources': ['requests', 'limits'],
  'deploy.healthEndpoints': ['liveness', 'readiness'],
};

const ENUMS: Readonly<Record<string, readonly string[]>> = {
  invoke: ['http', 'cloudevent'],
  'build.builder': ['pack', 's2i'],
};

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  return path
    .split('.')
    .reduce<unknown>((value, key) => (isRecord(value) ? value[key] : undefined), doc);
}

/** The fields func's schema does not know, and values outside its enums; [] when none. */
export function funcYamlProblems(doc: unknown): string[] {
  const problems: string[] = [];
  for (const [path, known] of Object.entries(FIELDS)) {
    const section = valueAt(doc, path);
    if (section === undefined) continue;
    if (!isRecord(section)) {
      problems.push(`${path || 'the document'} is not a mapping`);
      continue;
    }
    for (const key of Object.keys(section)) {
      if (!known.includes(key))
        problems.push(`${path ? `${path}.` : ''}${key} is not a func.yaml field`);
    }
  }
  for (const [path, allowed] of Object.entries(ENUMS)) {
    const value = valueAt(doc, path);
    if (value !== undefined && !allowed.includes(String(value))) {
      problems.push(`${path}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
    }
  }
  for (const path of ['build.buildEnvs', 'run.envs']) {
    const envs = valueAt(doc, path);
    if (envs === undefined) continue;
    for (const env of Array.isArray(envs) ? envs : [envs]) {
      const ok =
        isRecord(env) &&
        typeof env.name === 'string' &&
        /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(env.name) &&
        (env.value === undefined || typeof env.value === 'string');
      if (!ok)
        problems.push(`${path}: ${JSON.stringify(env)} is not {name, value} with a string value`);
    }
  }
  const images = valueAt(doc, 'build.builderImages');
  if (
    images !== undefined &&
    !(isRecord(images) && Object.values(images).every((v) => typeof v === 'string'))
  ) {
    problems.push('build.builderImages: a mapping of builder name to image');
  }
  return problems;
}

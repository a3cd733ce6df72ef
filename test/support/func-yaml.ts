// func.yaml as knative/func reads it: validated against func's own JSON Schema (draft-04,
// schema/func_yaml-schema.json, where every object has additionalProperties false), so that a
// misspelt or misplaced field, or a value outside its enums, is found before `func` refuses it.
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { sharedReference } from '../../testbed/shared-reference.ts';

type Validate = ((doc: unknown) => boolean) & { errors?: ErrorObject[] | null };

// Both are CommonJS modules whose class or function is also their `default` export.
const Ajv = ajvDraft04.default;
const addFormats = ajvFormats.default;

function validator(): Validate {
  const schema = JSON.parse(
    readFileSync(sharedReference('knative', 'func_yaml-schema.json'), 'utf8'),
  ) as object;
  // allErrors: every problem at once; strict off: func's schema carries its own keywords
  // (a nested $schema, descriptions beside $ref) that draft-04 allows.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv, ['date-time']); // `created`
  return ajv.compile(schema);
}

/** One line per problem: where in func.yaml (a dotted path), then what the schema expected. */
export function describeSchemaError(error: ErrorObject): string {
  const at = error.instancePath.split('/').slice(1).join('.') || 'the document';
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    const field = String(params.additionalProperty);
    return `${at === 'the document' ? '' : `${at}.`}${field} is not a func.yaml field`;
  }
  if (error.keyword === 'enum') {
    const allowed = (params.allowedValues as unknown[]).map(String).join(', ');
    return `${at}: must be one of ${allowed}`;
  }
  return `${at}: ${error.message ?? error.keyword}`;
}

/** What func's schema refuses in `doc`; [] when it accepts it. */
export function funcYamlProblems(doc: unknown): string[] {
  const validate = validator();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(describeSchemaError);
}

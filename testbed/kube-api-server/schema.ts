// Layer 1 of pod validation: the OpenAPI schema (kubernetes-models), its violations worded as
// the API server's field errors.
import { Pod } from 'kubernetes-models/v1/Pod';
import { QUANTITY_REGEX_TEXT } from './apimachinery.ts';
import { type FieldError, fieldError } from './status.ts';

interface SchemaViolation {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

function isSchemaViolation(value: unknown): value is SchemaViolation {
  return (
    typeof value === 'object' &&
    value !== null &&
    'instancePath' in value &&
    typeof value.instancePath === 'string' &&
    'keyword' in value &&
    typeof value.keyword === 'string'
  );
}

/** Schema errors of a decoded JSON body that is meant to be a Pod. */
export function podSchemaErrors(body: Record<string, unknown>): FieldError[] {
  try {
    new Pod(body as ConstructorParameters<typeof Pod>[0]).validate();
    return [];
  } catch (error) {
    const violations =
      error instanceof Error && 'errors' in error && Array.isArray(error.errors)
        ? error.errors.filter(isSchemaViolation)
        : [];
    if (violations.length === 0) {
      return [fieldError.invalid('', null, error instanceof Error ? error.message : String(error))];
    }
    return schemaViolationsToFieldErrors(violations, body);
  }
}

/** One field error per offending field, worded like the API server's own. */
export function schemaViolationsToFieldErrors(
  violations: readonly SchemaViolation[],
  body: unknown,
): FieldError[] {
  const byPath = new Map<string, SchemaViolation[]>();
  for (const violation of violations) {
    const list = byPath.get(violation.instancePath) ?? [];
    list.push(violation);
    byPath.set(violation.instancePath, list);
  }
  const errors: FieldError[] = [];
  for (const [pointer, list] of byPath) {
    const segments = pointerSegments(pointer);
    const field = fieldPath(segments);
    const value = valueAt(body, segments);
    // In a oneOf (a quantity: number or string), the branch of the value's own type says more
    // than "must be of type" the others.
    const specific = list.filter((v) => !['type', 'oneOf', 'anyOf'].includes(v.keyword));
    const types = [
      ...new Set(list.filter((v) => v.keyword === 'type').map((v) => String(v.params.type))),
    ];
    if (specific.length === 0 && types.length > 0) {
      errors.push(fieldError.typeInvalid(field, value, `must be of type ${types.join(' or ')}`));
    }
    for (const violation of specific) {
      errors.push(schemaViolationToFieldError(violation, field, value));
    }
    if (specific.length === 0 && types.length === 0) {
      errors.push(fieldError.invalid(field, value, list[0]?.message ?? 'is invalid'));
    }
  }
  return errors;
}

function schemaViolationToFieldError(
  violation: SchemaViolation,
  field: string,
  value: unknown,
): FieldError {
  switch (violation.keyword) {
    case 'required':
      return fieldError.required(childField(field, String(violation.params.missingProperty)));
    case 'enum': {
      const allowed = violation.params.allowedValues;
      return fieldError.notSupported(
        field,
        value,
        Array.isArray(allowed) ? allowed.map(String) : [],
      );
    }
    case 'format':
      if (violation.params.format === 'quantity') {
        return fieldError.invalid(
          field,
          value,
          `quantities must match the regular expression '${QUANTITY_REGEX_TEXT}'`,
        );
      }
      return fieldError.invalid(field, value, `must be a valid ${String(violation.params.format)}`);
    default:
      return fieldError.invalid(field, value, violation.message ?? violation.keyword);
  }
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Fields of a Pod that are maps: their keys render as `[key]`. */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'limits',
  'requests',
  'nodeSelector',
  'overhead',
  'allocatedResources',
]);

/** `/spec/containers/0/command` → `spec.containers[0].command` (field.Path rendering). */
function fieldPath(segments: readonly string[]): string {
  let path = '';
  let parent = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment) || MAP_FIELDS.has(parent)) path += `[${segment}]`;
    else path = childField(path, segment);
    parent = segment;
  }
  return path;
}

function childField(path: string, child: string): string {
  return path === '' ? child : `${path}.${child}`;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

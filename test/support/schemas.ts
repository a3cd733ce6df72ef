// The events' JSON Schemas (schemas/), compiled once per test process: every reply a test reads
// through test/support/events.ts or the test sink is checked against the schema its
// `dataschema` names, so a reply that drifts from its published contract fails the test.
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { dataSchemaOf } from '../../src/events/schemas.ts';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';

export interface EventSchema {
  readonly file: string;
  readonly schema: Readonly<Record<string, unknown>> & {
    readonly $id: string;
    readonly title: string;
  };
}

/** schemas/*.json, each file named after the event type it describes. */
export function eventSchemas(): EventSchema[] {
  return globSync('schemas/*.json', { cwd: PROJECT_ROOT })
    .sort()
    .map((file) => ({ file, schema: JSON.parse(readFileSync(join(PROJECT_ROOT, file), 'utf8')) }));
}

let validators: ReadonlyMap<string, ValidateFunction> | undefined;

function compiled(): ReadonlyMap<string, ValidateFunction> {
  if (validators) return validators;
  // strict: a keyword ajv does not know (a typo such as `requried`) is an error, not ignored.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  validators = new Map(eventSchemas().map(({ schema }) => [schema.$id, ajv.compile(schema)]));
  return validators;
}

/** Fails the test unless the reply names its type's schema and its data passes it. */
export function assertReplyMatchesSchema(event: {
  readonly type: string;
  readonly dataschema?: string | undefined;
  readonly data?: unknown;
}): void {
  assert.equal(event.dataschema, dataSchemaOf(event.type), `the dataschema of ${event.type}`);
  const validate = compiled().get(event.dataschema);
  assert.ok(validate, `no schema in schemas/ has the $id ${event.dataschema}`);
  if (!validate(event.data)) {
    assert.fail(
      `the data of a ${event.type} reply does not match ${event.dataschema}: ${JSON.stringify(validate.errors)}\ndata: ${JSON.stringify(event.data)}`,
    );
  }
}

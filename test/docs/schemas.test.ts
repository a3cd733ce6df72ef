// The JSON Schemas of schemas/ against the code and docs/reference.md: one per type the function
// takes and gives, each named by its `$id` as the replies' dataschema; the reference's tables
// list the same fields, with the same JSON types and the same required ones.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  RELEASE_DONE_TYPE,
  RELEASE_FAILED_TYPE,
  RELEASE_TYPE,
  SWEEP_DONE_TYPE,
  SWEEP_FAILED_TYPE,
  SWEEP_TYPE,
} from '../../src/events/event-types.ts';
import { PENDING_TYPE } from '../../src/events/pending-request.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { dataSchemaOf } from '../../src/events/schemas.ts';
import { PING_TYPE } from '../../src/handlers/sweep.ts';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import { assertReplyMatchesSchema, eventSchemas } from '../support/schemas.ts';

const TAKEN = [PENDING_TYPE, RELEASE_TYPE, SWEEP_TYPE, PING_TYPE];
const GIVEN = [
  DONE_TYPE,
  FAILED_TYPE,
  RELEASE_DONE_TYPE,
  RELEASE_FAILED_TYPE,
  SWEEP_DONE_TYPE,
  SWEEP_FAILED_TYPE,
];

const reference = readFileSync(join(PROJECT_ROOT, 'docs/reference.md'), 'utf8');

interface Property {
  readonly type?: string;
  readonly enum?: readonly string[];
}

/** `pod_name`* string, …: how the reference's Data schemas table lists a schema's fields. */
function describedFields(schema: Readonly<Record<string, unknown>>): string {
  const properties = (schema.properties ?? {}) as Readonly<Record<string, Property>>;
  const required = (schema.required ?? []) as readonly string[];
  const fields = Object.entries(properties).map(
    ([name, property]) =>
      `\`${name}\`${required.includes(name) ? '*' : ''} ${property.type ?? (property.enum ? 'string' : 'any')}`,
  );
  return fields.length === 0 ? '(any data, ignored)' : fields.join(', ');
}

/** The rows of the Data schemas table: type → its fields cell. */
function documentedSchemas(): Map<string, string> {
  const section = reference.split(/^### /m).find((part) => part.startsWith('Data schemas')) ?? '';
  const rows = [
    ...section.matchAll(/^\| `([a-z.]+)` \| \[[^\]]+\]\(\.\.\/schemas\/([^)]+)\) \| (.+) \|$/gm),
  ];
  for (const row of rows) assert.equal(row[2], `${row[1]}.json`, 'the row links its own schema');
  return new Map(rows.map((row) => [row[1] ?? '', row[3] ?? '']));
}

describe('the data schemas', () => {
  const schemas = eventSchemas();

  it('are one per type the function takes and gives, each file named after its type', () => {
    assert.deepEqual(schemas.map(({ schema }) => schema.title).sort(), [...TAKEN, ...GIVEN].sort());
    for (const { file, schema } of schemas) {
      assert.equal(file, `schemas/${schema.title}.json`);
      assert.equal(schema.$id, dataSchemaOf(schema.title), `${file}'s $id is the dataschema sent`);
      assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    }
  });

  it('are listed in docs/reference.md with the same fields, JSON types and required ones', () => {
    const documented = documentedSchemas();
    assert.deepEqual(
      [...documented.keys()].sort(),
      schemas.map(({ schema }) => schema.title).sort(),
    );
    for (const { schema } of schemas) {
      assert.equal(documented.get(schema.title), describedFields(schema), schema.title);
    }
  });

  it("agree with the reference's tables of replies: the fields each row names are the schema's", () => {
    for (const type of [DONE_TYPE, FAILED_TYPE, RELEASE_DONE_TYPE, RELEASE_FAILED_TYPE]) {
      // The reply's row in its section's table, not in the Data schemas table.
      const row =
        reference
          .split('\n')
          .find(
            (line) =>
              line.split('|')[1]?.trim() === `\`${type}\`` && !line.includes('](../schemas/'),
          ) ?? '';
      const data = row.split('|')[2] ?? '';
      const named = [...data.matchAll(/`\{([^}]*)\}`|`([a-z_]+)`/g)].flatMap((match) =>
        match[1] !== undefined ? match[1].split(',').map((name) => name.trim()) : [match[2] ?? ''],
      );
      const schema = schemas.find((entry) => entry.schema.title === type)?.schema;
      const properties = Object.keys((schema?.properties ?? {}) as object).sort();
      const fields = new Set(named.filter((name) => name !== 'subject'));
      assert.deepEqual([...fields].sort(), properties, type);
    }
  });

  it('refuse a reply whose data breaks them, or that names no schema', () => {
    const done = {
      type: DONE_TYPE,
      dataschema: dataSchemaOf(DONE_TYPE),
      data: { pod_name: 'client-x', namespace: 'ns', gateway_name: 'foo', message: 'made' },
    };
    assertReplyMatchesSchema(done);
    const { pod_name: _missing, ...withoutPod } = done.data;
    assert.throws(() => assertReplyMatchesSchema({ ...done, data: withoutPod }), /pod_name/);
    assert.throws(() => assertReplyMatchesSchema({ ...done, data: { ...done.data, extra: 1 } }));
    assert.throws(
      () => assertReplyMatchesSchema({ ...done, data: { ...done.data, ready_after_ms: '5' } }),
      /ready_after_ms/,
    );
    assert.throws(() => assertReplyMatchesSchema({ ...done, dataschema: undefined }), /dataschema/);
  });
});

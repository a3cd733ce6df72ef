// deploy/eventtypes.yaml and deploy/request-reply.yaml against the code: one EventType per type
// the function takes and gives, on the Broker of deploy/, each carrying its schema of schemas/
// verbatim; the RequestReply's attribute names are the function's defaults.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DEFAULTS } from '../../src/config/config.ts';
import { CORRELATION_DEFAULTS } from '../../src/config/correlation.ts';
import { PING_TYPE } from '../../src/handlers/sweep.ts';
import { DEPLOY_DIR, obj, str } from '../support/manifests.ts';
import { eventSchemas } from '../support/schemas.ts';

const documents = (file: string) =>
  parseAllDocuments(readFileSync(join(DEPLOY_DIR, file), 'utf8')).map((doc) => obj(doc.toJS()));
const eventTypes = documents('eventtypes.yaml');
const broker = documents('broker.yaml').find((doc) => doc.kind === 'Broker') ?? {};

describe('deploy/eventtypes.yaml', () => {
  it('has one v1beta2 EventType per schema of schemas/, on the Broker, with the schema in it', () => {
    const schemas = eventSchemas();
    assert.equal(eventTypes.length, schemas.length);
    for (const { file, schema } of schemas) {
      const eventType = eventTypes.find((doc) => obj(doc.spec).type === schema.title);
      assert.ok(eventType, `no EventType for ${schema.title}`);
      assert.equal(eventType.apiVersion, 'eventing.knative.dev/v1beta2');
      assert.equal(obj(eventType.metadata).namespace, obj(broker.metadata).namespace);
      const spec = obj(eventType.spec);
      assert.deepEqual(spec.reference, {
        apiVersion: broker.apiVersion,
        kind: 'Broker',
        name: obj(broker.metadata).name,
      });
      assert.equal(spec.schema, schema.$id);
      assert.deepEqual(JSON.parse(str(spec.schemaData)), schema, `${file} and its schemaData`);
    }
  });

  it("names the replies' source and the PingSource's as the function's defaults", () => {
    for (const doc of eventTypes) {
      const spec = obj(doc.spec);
      const type = str(spec.type);
      const expected =
        type === PING_TYPE
          ? DEFAULTS.pingSource
          : type.match(/\.(done|failed)$/)
            ? DEFAULTS.eventSource
            : undefined;
      assert.equal(spec.source, expected, type);
    }
  });
});

describe('deploy/request-reply.yaml', () => {
  it("targets the Broker with the function's attribute names", () => {
    const [requestReply, ...more] = documents('request-reply.yaml');
    assert.deepEqual(more, []);
    const spec = obj(requestReply?.spec);
    assert.equal(obj(spec.brokerRef).name, obj(broker.metadata).name);
    assert.equal(obj(requestReply?.metadata).namespace, obj(broker.metadata).namespace);
    assert.equal(spec.correlationAttribute, CORRELATION_DEFAULTS.requestAttribute);
    assert.equal(spec.replyAttribute, CORRELATION_DEFAULTS.replyAttribute);
    assert.match(str(spec.timeout), /^PT\d+S$/);
  });
});

// The JSON Schemas of the events' data (schemas/ at the repository's top, one file per type,
// each with this `$id`): sent as the replies' `dataschema`, named by deploy/eventtypes.yaml.
// The URI names the schema and its version; the EventTypes carry the schema itself.

export const SCHEMA_BASE = 'https://podgateway.io/schemas/client-provisioner/v1/';

/** The `$id` of the schema of `type`'s data, and the `dataschema` of its events. */
export function dataSchemaOf(type: string): string {
  return `${SCHEMA_BASE}${type}.json`;
}

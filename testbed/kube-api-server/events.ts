// Events: created and patched through events.k8s.io/v1 (what the function writes), listed and
// read through both events.k8s.io/v1 and the core v1 API (what `kubectl events` and
// `kubectl describe pod` read), one store behind both as in kube-apiserver
// (pkg/registry/core/event). Watches are not served. Discovery documents for the group are here.
import { randomUUID } from 'node:crypto';
import {
  asCoreEvent,
  type EventObject,
  eventCreateErrors,
  eventUpdateErrors,
  mergePatch,
} from './event-validation.ts';
import { copy, isObject, jsonReply, type Reply, statusReply } from './http.ts';
import { rfc3339 } from './pods.ts';
import type { RequestInfo } from './routing.ts';
import {
  alreadyExists,
  badRequest,
  invalid,
  methodNotAllowed,
  notFound,
  unsupportedMediaType,
} from './status.ts';

export const EVENTS_GROUP = 'events.k8s.io';
const GROUP_VERSION = `${EVENTS_GROUP}/v1`;

/** /apis/events.k8s.io, and its entry in /apis. */
export const EVENTS_API_GROUP = {
  name: EVENTS_GROUP,
  versions: [{ groupVersion: GROUP_VERSION, version: 'v1' }],
  preferredVersion: { groupVersion: GROUP_VERSION, version: 'v1' },
};

/** /apis/events.k8s.io/v1 */
export const EVENTS_API_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: GROUP_VERSION,
  resources: [
    {
      name: 'events',
      singularName: 'event',
      namespaced: true,
      kind: 'Event',
      verbs: ['create', 'get', 'list', 'patch'],
      shortNames: ['ev'],
    },
  ],
};

const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];

/** The selectable fields of each API's Event (pkg/registry/core/event/strategy.go ToSelectableFields). */
function selectableFields(event: EventObject, core: boolean): Record<string, string> {
  const regarding = isObject(event.regarding) ? event.regarding : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const object = core ? 'involvedObject' : 'regarding';
  const fields: Record<string, string> = {
    'metadata.name': text(event.metadata.name),
    'metadata.namespace': text(event.metadata.namespace),
    reason: text(event.reason),
    type: text(event.type),
    [core ? 'reportingComponent' : 'reportingController']: text(event.reportingController),
  };
  for (const key of [
    'kind',
    'namespace',
    'name',
    'uid',
    'apiVersion',
    'resourceVersion',
    'fieldPath',
  ]) {
    fields[`${object}.${key}`] = text(regarding[key]);
  }
  return fields;
}

type Selection =
  | { ok: true; matches: (event: EventObject) => boolean }
  | { ok: false; message: string };

/** A field selector of `a=b,c!=d` terms over the API's selectable fields. */
function selectByFields(selector: string, core: boolean): Selection {
  const terms: Array<{ field: string; equal: boolean; value: string }> = [];
  for (const term of selector
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)) {
    const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (match === null)
      return { ok: false, message: `invalid selector: '${selector}'; can't understand '${term}'` };
    terms.push({ field: match[1] ?? '', equal: match[2] !== '!=', value: match[3] ?? '' });
  }
  return {
    ok: true,
    matches: (event) => {
      const fields = selectableFields(event, core);
      return terms.every(({ field, equal, value }) => (fields[field] === value) === equal);
    },
  };
}

export class EventStore {
  readonly #events = new Map<string, EventObject>();
  #resourceVersion = 0;

  /** Deep copies of the stored events.k8s.io/v1 Events, oldest first. */
  all(namespace?: string): EventObject[] {
    return [...this.#events.values()]
      .filter((event) => namespace === undefined || event.metadata.namespace === namespace)
      .map(copy);
  }

  clear(): void {
    this.#events.clear();
  }

  /**
   * The answer to an Event request (either API), or undefined when the request is not about
   * Events. Authorization has already been decided.
   */
  answer(
    method: string,
    info: RequestInfo,
    query: URLSearchParams,
    contentType: string,
    body: Buffer,
  ): Reply | undefined {
    if (info.kind !== 'resource' || info.attributes.resource !== 'events') return undefined;
    const core = info.apiVersion === 'v1';
    if (!core && info.apiVersion !== GROUP_VERSION) return undefined;
    const { namespace, verb, name } = info.attributes;
    if (info.parts.length > 2 || verb === 'watch') return statusReply(methodNotAllowed());
    if (name === undefined) {
      if (method === 'GET') return this.#list(namespace, query.get('fieldSelector') ?? '', core);
      if (method === 'POST' && namespace !== undefined && !core)
        return this.#create(namespace, contentType, body);
      return statusReply(methodNotAllowed());
    }
    if (namespace === undefined) return statusReply(methodNotAllowed());
    const stored = this.#events.get(`${namespace}/${name}`);
    if (method === 'GET') {
      if (stored === undefined)
        return statusReply(notFound('events', name, core ? '' : EVENTS_GROUP));
      return jsonReply(200, core ? asCoreEvent(copy(stored)) : copy(stored));
    }
    if (method === 'PATCH' && !core) return this.#patch(namespace, name, stored, contentType, body);
    return statusReply(methodNotAllowed());
  }

  #list(namespace: string | undefined, fieldSelector: string, core: boolean): Reply {
    const selection = selectByFields(fieldSelector, core);
    if (!selection.ok) return statusReply(badRequest(selection.message));
    const items = this.all(namespace)
      .filter(selection.matches)
      .map((event) => (core ? asCoreEvent(event) : event));
    return jsonReply(200, {
      kind: 'EventList',
      apiVersion: core ? 'v1' : GROUP_VERSION,
      metadata: { resourceVersion: String(this.#resourceVersion) },
      items,
    });
  }

  #create(namespace: string, contentType: string, body: Buffer): Reply {
    const decoded = decodeJson(contentType, ['application/json'], body);
    if (!decoded.ok) return decoded.reply;
    const metadata = isObject(decoded.value.metadata) ? decoded.value.metadata : {};
    if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
      return statusReply(
        badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        ),
      );
    }
    const event: EventObject = { ...decoded.value, metadata: { ...metadata, namespace } };
    const errors = eventCreateErrors(event, namespace);
    const name = typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : '';
    if (errors.length > 0) return statusReply(invalid('Event', name, errors, EVENTS_GROUP));
    if (name === '')
      event.metadata.name = `${String(metadata.generateName)}${randomUUID().slice(0, 5)}`;
    const key = `${namespace}/${String(event.metadata.name)}`;
    if (this.#events.has(key))
      return statusReply(alreadyExists('events', String(event.metadata.name), EVENTS_GROUP));
    event.metadata.uid = randomUUID();
    event.metadata.creationTimestamp = rfc3339();
    this.#store(key, event);
    return jsonReply(201, copy(event));
  }

  #patch(
    namespace: string,
    name: string,
    stored: EventObject | undefined,
    contentType: string,
    body: Buffer,
  ): Reply {
    if (stored === undefined) return statusReply(notFound('events', name, EVENTS_GROUP));
    const decoded = decodeJson(contentType, PATCH_TYPES, body);
    if (!decoded.ok) return decoded.reply;
    const patched = mergePatch(stored, decoded.value);
    const updated = (isObject(patched) ? patched : {}) as EventObject;
    updated.metadata = {
      ...(isObject(updated.metadata) ? updated.metadata : {}),
      ...identity(stored),
    };
    const errors = eventUpdateErrors(updated, stored, namespace);
    if (errors.length > 0) return statusReply(invalid('Event', name, errors, EVENTS_GROUP));
    this.#store(`${namespace}/${name}`, updated);
    return jsonReply(200, copy(updated));
  }

  #store(key: string, event: EventObject): void {
    this.#resourceVersion += 1;
    event.metadata.resourceVersion = String(this.#resourceVersion);
    this.#events.set(key, event);
  }
}

/** What a patch may not change in the metadata: the server's own fields. */
function identity(event: EventObject): Record<string, unknown> {
  const { name, namespace, uid, creationTimestamp } = event.metadata;
  return { name, namespace, uid, creationTimestamp };
}

type Decoded = { ok: true; value: Record<string, unknown> } | { ok: false; reply: Reply };

function decodeJson(contentType: string, accepted: readonly string[], body: Buffer): Decoded {
  const type = contentType.split(';')[0]?.trim() ?? '';
  if (!accepted.includes(type))
    return { ok: false, reply: statusReply(unsupportedMediaType(type)) };
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (isObject(value)) return { ok: true, value };
  } catch {
    // answered below
  }
  return {
    ok: false,
    reply: statusReply(badRequest('the body of the request could not be decoded as a JSON object')),
  };
}

// The pod store of the API test server: objects with resource versions, the event history that
// watches replay, list with selectors and continue tokens, and graceful deletion
// (staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go; watch cache replay from
// staging/src/k8s.io/apiserver/pkg/storage/cacher).
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { copy, isObject, jsonReply, type Reply, statusReply } from './http.ts';
import { rfc3339 } from './pods.ts';
import { type Matcher, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { badRequest, conflict, expired, notFound, type Status } from './status.ts';
import type { PodObject } from './validation.ts';

export type StoredPod = PodObject;
export type PodStatus = NonNullable<PodObject['status']>;
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: Status };

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface StoreEvent {
  readonly resourceVersion: number;
  readonly type: EventType;
  readonly previous: StoredPod | undefined;
  readonly current: StoredPod;
}

interface Watcher {
  readonly matches: Matcher<StoredPod>;
  readonly res: ServerResponse;
  timer?: NodeJS.Timeout;
}

const HISTORY_LIMIT = 1000;

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function keyOf(pod: StoredPod): string {
  return podKey(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
}

export class PodStore {
  readonly #pods = new Map<string, StoredPod>();
  readonly #watchers = new Set<Watcher>();
  readonly #listeners = new Set<(type: EventType, pod: StoredPod) => void>();
  /** Pods being deleted gracefully: removed when the timer fires, as the kubelet would. */
  readonly #finalizing = new Map<string, NodeJS.Timeout>();
  #history: StoreEvent[] = [];
  /** Events after this resource version are all in #history. */
  #historyFloor = 0;
  #resourceVersion = 0;

  get(namespace: string, name: string): StoredPod | undefined {
    return this.#pods.get(podKey(namespace, name));
  }

  has(namespace: string, name: string): boolean {
    return this.#pods.has(podKey(namespace, name));
  }

  existing(namespace: string, name: string): StoredPod {
    const pod = this.get(namespace, name);
    if (pod === undefined) throw new Error(`pods "${name}" not found in namespace "${namespace}"`);
    return pod;
  }

  sorted(): StoredPod[] {
    return [...this.#pods.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, p]) => p);
  }

  /** Records a change with a new resourceVersion and tells the watchers. */
  store(type: EventType, previous: StoredPod | undefined, current: StoredPod): void {
    this.#resourceVersion += 1;
    const metadata = current.metadata ?? {};
    metadata.resourceVersion = String(this.#resourceVersion);
    current.metadata = metadata;
    const key = keyOf(current);
    if (type === 'DELETED') {
      this.#pods.delete(key);
      clearTimeout(this.#finalizing.get(key));
      this.#finalizing.delete(key);
    } else {
      this.#pods.set(key, current);
    }
    const event: StoreEvent = {
      resourceVersion: this.#resourceVersion,
      type,
      previous: previous === undefined ? undefined : copy(previous),
      current: copy(current),
    };
    this.#history.push(event);
    if (this.#history.length > HISTORY_LIMIT) {
      const dropped = this.#history.shift();
      if (dropped !== undefined) this.#historyFloor = dropped.resourceVersion;
    }
    for (const watcher of this.#watchers) {
      const seen = watchEvent(watcher.matches, event);
      if (seen !== undefined) writeWatchEvent(watcher.res, seen.type, seen.object);
    }
    for (const listener of this.#listeners) listener(type, copy(current));
  }

  /** Calls `listener` after each stored change; returns the unsubscribe. */
  onChange(listener: (type: EventType, pod: StoredPod) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  /**
   * Graceful deletion (store.go Delete, BeforeDelete in registry/rest/delete.go): a pod on a node
   * gets metadata.deletionTimestamp and deletionGracePeriodSeconds (a MODIFIED event) and stays
   * until the kubelet has stopped it, here when the grace period ends; other pods go at once.
   * Returns the object as the DELETE answers it.
   */
  delete(pod: StoredPod, graceSeconds: number): StoredPod {
    const key = keyOf(pod);
    if (!pod.spec?.nodeName || graceSeconds <= 0) {
      const deleted = copy(pod);
      this.store('DELETED', pod, deleted);
      return copy(deleted);
    }
    const terminating = copy(pod);
    const metadata = terminating.metadata ?? {};
    const current = metadata.deletionTimestamp ? Date.parse(metadata.deletionTimestamp) : Infinity;
    const end = Math.min(current, Date.now() + graceSeconds * 1000);
    // apiserver rest.BeforeDelete: a graceful deletion moves the generation on, once.
    if (metadata.deletionTimestamp === undefined && metadata.generation !== undefined) {
      metadata.generation += 1;
    }
    metadata.deletionTimestamp = rfc3339(new Date(end));
    metadata.deletionGracePeriodSeconds = graceSeconds;
    terminating.metadata = metadata;
    this.store('MODIFIED', pod, terminating);
    clearTimeout(this.#finalizing.get(key));
    const timer = setTimeout(() => this.#finalize(key), Math.max(0, end - Date.now()));
    timer.unref();
    this.#finalizing.set(key, timer);
    return copy(terminating);
  }

  #finalize(key: string): void {
    this.#finalizing.delete(key);
    const pod = this.#pods.get(key);
    if (pod !== undefined) this.store('DELETED', pod, copy(pod));
  }

  /** Forgets everything but the resource version counter (watch clients see "too old"). */
  clear(): void {
    for (const timer of this.#finalizing.values()) clearTimeout(timer);
    this.#finalizing.clear();
    this.#pods.clear();
    this.endWatches();
    this.#history = [];
    this.#historyFloor = this.#resourceVersion;
  }

  /**
   * The server ends a watch stream when its timeout passes or it shuts down; the client resumes
   * from the last resourceVersion it saw (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go,
   * the `timeoutCh` case of `serveWatch`).
   */
  endWatches(): void {
    for (const watcher of this.#watchers) {
      clearTimeout(watcher.timer);
      watcher.res.end();
    }
    this.#watchers.clear();
  }

  // -------------------------------------------------------------------------------------------
  // DELETE, list and watch

  /** DELETE with DeleteOptions (preconditions, gracePeriodSeconds; dryRun=All answers only). */
  deleteRequest(namespace: string, name: string, query: URLSearchParams, body: Buffer): Reply {
    const pod = this.get(namespace, name);
    if (pod === undefined) return statusReply(notFound('pods', name));
    let options: Record<string, unknown> = {};
    if (body.length > 0) {
      try {
        const parsed: unknown = JSON.parse(body.toString('utf8'));
        if (isObject(parsed)) options = parsed;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return statusReply(badRequest(`couldn't get version/kind; json parse error: ${reason}`));
      }
    }
    const failed = preconditionFailure(pod, name, options.preconditions);
    if (failed !== undefined) return statusReply(failed);
    const queryGrace = query.get('gracePeriodSeconds');
    const grace =
      queryGrace !== null
        ? Number(queryGrace)
        : typeof options.gracePeriodSeconds === 'number'
          ? options.gracePeriodSeconds
          : (pod.spec?.terminationGracePeriodSeconds ?? 30);
    if (query.getAll('dryRun').includes('All')) return jsonReply(200, copy(pod));
    return jsonReply(200, this.delete(pod, grace));
  }

  list(query: URLSearchParams, namespace: string | undefined): Reply {
    const selected = selector(query, namespace);
    if (!selected.ok) return statusReply(selected.status);
    let items = this.sorted().filter(selected.value);
    const continueToken = query.get('continue');
    if (continueToken) {
      const start = decodeContinue(continueToken);
      if (start === undefined) {
        return statusReply(
          badRequest(
            'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
          ),
        );
      }
      items = items.filter((pod) => keyOf(pod) >= start);
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(this.#resourceVersion) };
    const limit = Number(query.get('limit') ?? '0');
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      if (last !== undefined)
        metadata.continue = encodeContinue(this.#resourceVersion, keyOf(last));
      if (!query.get('labelSelector') && !query.get('fieldSelector')) {
        metadata.remainingItemCount = items.length - limit;
      }
      items = items.slice(0, limit);
    }
    return jsonReply(200, {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata,
      // Items of a list carry no kind and apiVersion of their own.
      items: items.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest),
    });
  }

  /** Starts a watch stream on `res`; a Reply only when the request is refused. */
  watch(
    query: URLSearchParams,
    res: ServerResponse,
    namespace: string | undefined,
    name?: string,
  ): Reply | 'streaming' {
    const selected = selector(query, namespace);
    if (!selected.ok) return statusReply(selected.status);
    const select = selected.value;
    const matches: Matcher<StoredPod> =
      name === undefined ? select : (pod) => pod.metadata?.name === name && select(pod);
    const resourceVersion = query.get('resourceVersion') ?? '';
    if (resourceVersion !== '' && !/^\d+$/.test(resourceVersion)) {
      return statusReply(
        badRequest(`invalid resource version: ${JSON.stringify(resourceVersion)}`),
      );
    }
    const from = Number(resourceVersion || '0');
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-cache, private',
      'audit-id': randomUUID(),
    });
    res.flushHeaders();
    if (from > 0 && from < this.#historyFloor) {
      const status = expired(`too old resource version: ${from} (${this.#historyFloor + 1})`);
      writeWatchEvent(res, 'ERROR', status);
      res.end();
      return 'streaming';
    }
    if (from === 0) {
      // No resource version, or "0": the current state first, as synthetic ADDED events.
      for (const pod of this.sorted()) if (matches(pod)) writeWatchEvent(res, 'ADDED', pod);
    } else {
      for (const event of this.#history) {
        if (event.resourceVersion <= from) continue;
        const seen = watchEvent(matches, event);
        if (seen !== undefined) writeWatchEvent(res, seen.type, seen.object);
      }
    }
    const watcher: Watcher = { matches, res };
    this.#watchers.add(watcher);
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      watcher.timer = setTimeout(() => {
        this.#watchers.delete(watcher);
        res.end();
      }, timeoutSeconds * 1000);
    }
    res.once('close', () => {
      clearTimeout(watcher.timer);
      this.#watchers.delete(watcher);
    });
    return 'streaming';
  }
}

/**
 * apiserver pkg/registry/rest/delete.go BeforeDelete, which checks the preconditions first: its
 * Conflict names the Kind (`on Pod "x"`, details.kind `Pod`), not the resource.
 */
function preconditionFailure(pod: StoredPod, name: string, value: unknown): Status | undefined {
  const preconditions = isObject(value) ? value : {};
  const uid = pod.metadata?.uid ?? '';
  const resourceVersion = pod.metadata?.resourceVersion ?? '';
  if (typeof preconditions.uid === 'string' && preconditions.uid !== uid) {
    return conflict(
      'Pod',
      name,
      `the UID in the precondition (${preconditions.uid}) does not match the UID in record (${uid}). The object might have been deleted and then recreated`,
    );
  }
  if (
    typeof preconditions.resourceVersion === 'string' &&
    preconditions.resourceVersion !== resourceVersion
  ) {
    return conflict(
      'Pod',
      name,
      `the ResourceVersion in the precondition (${preconditions.resourceVersion}) does not match the ResourceVersion in record (${resourceVersion}). The object might have been modified`,
    );
  }
  return undefined;
}

function selector(
  query: URLSearchParams,
  namespace: string | undefined,
): Outcome<Matcher<StoredPod>> {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  if (!labels.ok) return { ok: false, status: badRequest(labels.message) };
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  if (!fields.ok) return { ok: false, status: badRequest(fields.message) };
  const matchLabels = labels.value;
  const matchFields = fields.value.matches;
  return {
    ok: true,
    value: (pod) =>
      (namespace === undefined || pod.metadata?.namespace === namespace) &&
      matchLabels(pod.metadata?.labels) &&
      matchFields(pod),
  };
}

function encodeContinue(resourceVersion: number, lastKey: string): string {
  const token = { v: 'meta.k8s.io/v1', rv: resourceVersion, start: `${lastKey}\u0000` };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(token: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return isObject(parsed) && typeof parsed.start === 'string' ? parsed.start : undefined;
  } catch {
    return undefined;
  }
}

/** What one watcher sees of a change: objects entering or leaving its selection are ADDED or DELETED. */
function watchEvent(
  matches: Matcher<StoredPod>,
  event: StoreEvent,
): { type: EventType; object: StoredPod } | undefined {
  const now = matches(event.current);
  const before = event.previous !== undefined && matches(event.previous);
  switch (event.type) {
    case 'ADDED':
      return now ? { type: 'ADDED', object: event.current } : undefined;
    case 'DELETED':
      return now || before ? { type: 'DELETED', object: event.current } : undefined;
    case 'MODIFIED':
      if (now && before) return { type: 'MODIFIED', object: event.current };
      if (now) return { type: 'ADDED', object: event.current };
      if (before) return { type: 'DELETED', object: event.current };
      return undefined;
  }
}

function writeWatchEvent(res: ServerResponse, type: EventType | 'ERROR', object: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`${JSON.stringify({ type, object })}\n`);
}

/** A status update: conditions replace those of the same type, other fields replace. */
export function mergePodStatus(current: PodStatus, update: PodStatus): PodStatus {
  const merged: PodStatus = { ...current, ...update };
  if (update.conditions !== undefined) {
    const conditions = [...(current.conditions ?? [])];
    for (const condition of update.conditions) {
      const index = conditions.findIndex((c) => c.type === condition.type);
      if (index === -1) conditions.push(condition);
      else conditions[index] = { ...conditions[index], ...condition };
    }
    merged.conditions = conditions;
  }
  return merged;
}

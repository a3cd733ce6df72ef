// One watch per process on the function's own pods, shared by every event waiting for its pod:
// however many events wait at once, the API server serves one watch connection.
import { type CoreV1Api, type KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import type { ApiCallObserver } from './api-observer.ts';
import { listPodPages } from './pod-api.ts';

/** A pod as the watch last saw it; `deleted` once it is gone. */
export interface PodSeen {
  readonly pod: V1Pod;
  readonly deleted: boolean;
}

/** How a wait ended: the waiter's own decision, the deadline, or the API refusing to watch. */
export type WaitEnd<T> =
  | { readonly kind: 'decided'; readonly value: T }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'refused'; readonly code: number; readonly message: string };

/** Decides on a state of the pod: a value ends the wait, undefined waits on. */
export type Decide<T> = (seen: PodSeen) => T | undefined;

export interface Waiting<T> {
  readonly result: Promise<WaitEnd<T>>;
  /**
   * A state of the pod learnt otherwise (the create or read-back answer): decided on too. The
   * first one pins the wait to that pod's uid: states of any other pod of the name are ignored.
   */
  offer(pod: V1Pod): void;
  /** Ends the wait now (as a timeout), e.g. when the pod was never created. */
  cancel(): void;
}

export interface PodWatchOptions {
  readonly kubeConfig: KubeConfig;
  readonly api: CoreV1Api;
  /** Told of each list call's attempts (src/kube/client.ts `observer`). */
  readonly observer: ApiCallObserver | undefined;
  readonly namespace: string;
  /** Selects the function's own pods: the watch sees nothing else. */
  readonly labelSelector: string;
  /** Longest wait for one list page. */
  readonly apiTimeoutMs: number;
}

interface Waiter {
  /** True once the waiter has ended. */
  see(seen: PodSeen): boolean;
  end(result: WaitEnd<never>): void;
}

/** Items per list page when the watch (re)lists. */
const LIST_PAGE = 500;
/**
 * The server ends each watch after this long and it resumes from its last resourceVersion, so
 * the connection pool under it is renewed (src/kube/connections.ts) and a stuck stream is noticed.
 * client-go's reflector picks 5–10 minutes; under the library's own 30 s inactivity timeout a
 * quiet watch resumes sooner.
 */
const WATCH_SECONDS = 290;
const RETRY_MS = 250;

/**
 * The shared watch. Waiters register a decision on a pod name before the pod exists (so no
 * change can pass unseen), then see every state of it: from the first list, from the watch,
 * and from what their caller offers, which pins them to one pod (uid) of that name. The watch starts with the first waiter (or `start()`),
 * lists once for a resourceVersion and the current states, then watches from there, resuming
 * from the last resourceVersion it saw when a watch ends, and listing again on 410 Gone. When
 * the API refuses to list or watch (401, 403, 404), every waiter is told and the watch stops,
 * to start again with the next waiter.
 */
export class PodWatch {
  readonly #options: PodWatchOptions;
  readonly #waiters = new Map<string, Set<Waiter>>();
  #running: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #stopped = false;

  constructor(options: PodWatchOptions) {
    this.#options = options;
  }

  /** Waiters registered now. */
  get waiting(): number {
    let count = 0;
    for (const set of this.#waiters.values()) count += set.size;
    return count;
  }

  /** Starts the watch if it is not running. */
  start(): void {
    if (this.#running || this.#stopped) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = this.#run(abort.signal).finally(() => {
      this.#running = undefined;
    });
  }

  /** Stops the watch; waiters left end as timed out. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    await this.#running;
    this.#endAll({ kind: 'timeout' });
  }

  /**
   * Waits until `decide` returns a value for a state of pod `name`, or until `deadline`. The wait
   * is pinned to one pod by the first `offer` (the create's answer or the read-back): a name is
   * reused when a pod is deleted and its event redelivered, and a lagging watch still replays the
   * predecessor's changes (its last MODIFIED, its DELETED). Until then, what the watch shows is
   * kept, the latest state per uid, and decided on once the uid is known.
   */
  wait<T>(name: string, decide: Decide<T>, deadline: number): Waiting<T> {
    const { promise, resolve } = Promise.withResolvers<WaitEnd<T>>();
    let ended = false;
    let pinned: { readonly uid: string | undefined } | undefined;
    const unpinned = new Map<string | undefined, PodSeen>();
    const end = (result: WaitEnd<T>) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      unpinned.clear();
      this.#remove(name, waiter);
      resolve(result);
    };
    const consider = (seen: PodSeen) => {
      const value = decide(seen);
      if (value !== undefined) end({ kind: 'decided', value });
    };
    const waiter: Waiter = {
      see(seen) {
        const uid = seen.pod.metadata?.uid;
        if (pinned === undefined) unpinned.set(uid, seen);
        else if (pinned.uid === undefined || pinned.uid === uid) consider(seen);
        return ended;
      },
      end,
    };
    const timer = setTimeout(() => end({ kind: 'timeout' }), Math.max(0, deadline - Date.now()));
    let set = this.#waiters.get(name);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(name, set);
    }
    set.add(waiter);
    if (this.#stopped) end({ kind: 'timeout' });
    else this.start();
    return {
      result: promise,
      offer: (pod) => {
        if (ended) return;
        if (pinned === undefined) {
          pinned = { uid: pod.metadata?.uid };
          consider({ pod, deleted: false });
          const early = unpinned.get(pinned.uid);
          unpinned.clear();
          if (early !== undefined && !ended) consider(early);
          return;
        }
        waiter.see({ pod, deleted: false });
      },
      cancel: () => end({ kind: 'timeout' }),
    };
  }

  #remove(name: string, waiter: Waiter): void {
    const set = this.#waiters.get(name);
    if (set === undefined) return;
    set.delete(waiter);
    if (set.size === 0) this.#waiters.delete(name);
  }

  #tell(pod: V1Pod, deleted: boolean): void {
    const set = this.#waiters.get(pod.metadata?.name ?? '');
    if (set === undefined) return;
    for (const waiter of [...set]) waiter.see({ pod, deleted });
  }

  #endAll(result: WaitEnd<never>): void {
    for (const set of [...this.#waiters.values()]) {
      for (const waiter of [...set]) waiter.end(result);
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        resourceVersion ??= await this.#list();
        const began = Date.now();
        const ended = await this.#watchFrom(resourceVersion, signal);
        resourceVersion = ended.gone ? undefined : ended.resourceVersion;
        if (ended.error !== undefined) throw ended.error;
        // A watch the server ends at once, again and again, is not resumed in a tight loop.
        if (Date.now() - began < RETRY_MS) await pause(RETRY_MS, signal);
      } catch (error) {
        const refused = refusal(error);
        if (refused) {
          this.#endAll(refused);
          return;
        }
        if (isGone(error)) resourceVersion = undefined;
        await pause(RETRY_MS, signal);
      }
    }
  }

  /** Lists the pods (page by page): every waiter sees its pod's state; returns the list's version. */
  async #list(): Promise<string> {
    const { api, observer, namespace, labelSelector, apiTimeoutMs } = this.#options;
    let resourceVersion: string | undefined;
    const pages = listPodPages(
      { api, observer },
      { namespace, labelSelector, limit: LIST_PAGE },
      () => ({
        timeoutMs: apiTimeoutMs,
        deadline: Date.now() + apiTimeoutMs,
      }),
    );
    for await (const page of pages) {
      // The first page's version is the snapshot the continued pages belong to.
      resourceVersion ??= page.metadata?.resourceVersion;
      for (const pod of page.items) this.#tell(pod, false);
    }
    if (!resourceVersion) throw new Error('the pod list has no resourceVersion');
    return resourceVersion;
  }

  /** One watch request, until the server or the network ends it. */
  #watchFrom(
    from: string,
    signal: AbortSignal,
  ): Promise<{ resourceVersion: string; gone: boolean; error: unknown }> {
    const { kubeConfig, namespace, labelSelector } = this.#options;
    let resourceVersion = from;
    let gone = false;
    return new Promise((resolve) => {
      const finish = (error: unknown) => {
        signal.removeEventListener('abort', abort);
        resolve({ resourceVersion, gone, error: error ?? undefined });
      };
      let controller: AbortController | undefined;
      const abort = () => controller?.abort();
      signal.addEventListener('abort', abort);
      new Watch(kubeConfig)
        .watch(
          `/api/v1/namespaces/${namespace}/pods`,
          {
            labelSelector,
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: WATCH_SECONDS,
          },
          (type: string, object: unknown) => {
            if (type === 'ERROR') {
              // A Status; 410 Gone: the version is too old to resume from.
              gone ||= isGone(object);
              return;
            }
            if (!isPod(object)) return;
            resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
            if (type !== 'BOOKMARK') this.#tell(object, type === 'DELETED');
          },
          finish,
        )
        .then((started) => {
          controller = started;
          if (signal.aborted) started.abort();
        }, finish);
    });
  }
}

function isPod(value: unknown): value is V1Pod {
  return typeof value === 'object' && value !== null && 'metadata' in value;
}

/** The HTTP status of a failure: a watch error, a Status object, or a failed API call. */
function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('failure' in error) return statusCode(error.failure);
  if ('statusCode' in error) return Number(error.statusCode);
  if ('code' in error && typeof error.code === 'number') return error.code;
  return undefined;
}

function isGone(value: unknown): boolean {
  return statusCode(value) === 410;
}

/** The list or the watch was refused: waiting longer will not help. */
function refusal(error: unknown): WaitEnd<never> | undefined {
  const code = statusCode(error);
  if (code === 401 || code === 403 || code === 404) {
    return {
      kind: 'refused',
      code,
      message: `the Kubernetes API refused to list or watch pods: HTTP ${code}`,
    };
  }
  return undefined;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

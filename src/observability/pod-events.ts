// Kubernetes Events (events.k8s.io/v1) on the client pods, as `kubectl describe pod` and
// `kubectl events` show them: what the function did to the pod and why. Reported in the
// background: an Event that cannot be written is counted (podgateway_pod_events_failed_total)
// and never changes a reply.
//
// Repeats are aggregated as client-go's event recorder does (k8s.io/client-go/tools/events): the
// second time the same thing happens to the same pod within SERIES_WINDOW_MS turns the Event into
// a series, and every further one patches its count and lastObservedTime instead of creating
// another Event. Unlike client-go, each repeat is written at once (no periodic flush), but at most
// one request per Event is in flight: repeats that come meanwhile are sent together after it.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type EventsV1Event,
  type EventsV1EventSeries,
  V1MicroTime,
  type V1ObjectReference,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Environment } from '../config/config.ts';
import { EVENT_REASON } from '../formats/reasons.ts';
import { clipUtf8Bytes } from '../formats/utf8-bytes.ts';
import { ApiCallError, type CallLimits } from '../kube/api-call.ts';
import type { KubeClient } from '../kube/client.ts';
import { apiEventSink, type EventSink } from '../kube/event-sink.ts';
import { podEventsFailedTotal, reasonLabel } from './metrics.ts';

/** The function's component name: the Events' reportingController. */
export const REPORTING_CONTROLLER = 'podgateway.io/client-provisioner';

/** A CloudEvent, as the note names it: `<source>/<id>`. */
interface CloudEventId {
  readonly source: string;
  readonly id: string;
}

/**
 * What happened to the pod: one variant per occurrence, worded by wordingOf(). The handlers pass
 * what they already hold (the request, the incoming event, the wait's ready state).
 */
export type PodOccurrence =
  | {
      readonly kind: 'provisioned';
      readonly request: {
        readonly eventSource: string;
        readonly eventId: string;
        readonly gatewayName: string;
      };
    }
  | { readonly kind: 'ready'; readonly nodeName: string; readonly podIp: string }
  | { readonly kind: 'released'; readonly cloudEvent: CloudEventId }
  | { readonly kind: 'swept'; readonly why: 'Succeeded' | 'Failed' | 'Expired' }
  /** The pod lacked the gateway's containers and was deleted. */
  | { readonly kind: 'notRouted'; readonly missingContainers: readonly string[] };

/** How an occurrence reads as a Kubernetes Event. */
export interface EventWording {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

const quoted = ({ source, id }: CloudEventId) => `${source}/${id}`;

export function wordingOf(occurrence: PodOccurrence): EventWording {
  switch (occurrence.kind) {
    case 'provisioned':
      return {
        type: 'Normal',
        reason: EVENT_REASON.Provisioned,
        action: 'Provision',
        note: `provisioned for CloudEvent ${quoted({ source: occurrence.request.eventSource, id: occurrence.request.eventId })} for gateway ${occurrence.request.gatewayName}`,
      };
    case 'ready':
      return {
        type: 'Normal',
        reason: EVENT_REASON.Ready,
        action: 'WaitForReady',
        note: `ready on node ${occurrence.nodeName} with IP ${occurrence.podIp}`,
      };
    case 'released':
      return {
        type: 'Normal',
        reason: EVENT_REASON.Released,
        action: 'Release',
        note: `deleted: released for CloudEvent ${quoted(occurrence.cloudEvent)}`,
      };
    case 'swept':
      return {
        type: 'Normal',
        reason: EVENT_REASON.Swept,
        action: 'Sweep',
        note: `deleted by the sweep: ${SWEPT_BECAUSE[occurrence.why]}`,
      };
    case 'notRouted':
      return {
        type: 'Warning',
        reason: EVENT_REASON.NotRouted,
        action: 'CheckRouting',
        note: `deleted: not routed through the gateway (missing ${occurrence.missingContainers.join(', ')}), so that no traffic leaves unrouted; check the namespace's gateway label, the webhook's health and the pod's setGateway value`,
      };
  }
}

const SWEPT_BECAUSE = {
  Succeeded: 'the pod Succeeded',
  Failed: 'the pod Failed',
  Expired: 'the pod outlived CLIENT_TTL_SECONDS',
} as const;

/** Repeats within this time of the last one are a series; later, a new Event (client-go: 6 min). */
export const SERIES_WINDOW_MS = 6 * 60 * 1000;
/** Stories remembered for aggregation, least recently seen forgotten first. */
export const MAX_REMEMBERED = 1024;
/** One write's time limits: a transient failure is retried within the deadline. */
const WRITE_TIMEOUT_MS = 5000;
const WRITE_DEADLINE_MS = 10_000;
/**
 * The API's limits on a note and a reportingInstance (kubernetes pkg/apis/core/validation/events.go),
 * in UTF-8 bytes: Go's len().
 */
const NOTE_LIMIT = 1024;
const REPORTING_INSTANCE_LIMIT = 128;

/** The reference to the pod an Event is about. */
export function podReference(pod: V1Pod): V1ObjectReference {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: pod.metadata?.namespace,
    name: pod.metadata?.name,
    uid: pod.metadata?.uid,
  };
}

/**
 * The Event an occurrence first makes. Named after the pod and 64 random bits: client-go names them
 * after the time in nanoseconds, which anyone who may create Events in the namespace can guess
 * and take first (the function's create would then get 409 and the Event be lost), or create
 * after deleting ours, to have the function patch theirs.
 */
export function newEvent(
  regarding: V1ObjectReference,
  wording: EventWording,
  reportingInstance: string,
  now: number,
): EventsV1Event {
  const suffix = randomBytes(8).toString('hex');
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: `${regarding.name}.${suffix}`, namespace: regarding.namespace },
    eventTime: new V1MicroTime(now),
    regarding,
    reportingController: REPORTING_CONTROLLER,
    reportingInstance,
    type: wording.type,
    reason: wording.reason,
    action: wording.action,
    note: clipUtf8Bytes(wording.note, NOTE_LIMIT),
  };
}

/** Two occurrences are one series when all of this is the same. */
export function isomorphismKey(event: EventsV1Event): string {
  const { regarding } = event;
  return JSON.stringify([
    regarding?.namespace,
    regarding?.name,
    regarding?.uid,
    event.type,
    event.reason,
    event.action,
    event.reportingController,
    event.reportingInstance,
    event.note,
  ]);
}

export function seriesAt(count: number, lastObserved: number): EventsV1EventSeries {
  return { count, lastObservedTime: new V1MicroTime(lastObserved) };
}

/** The function's pod name (the downward API's POD_NAME, else the host name a pod gets). */
export function reportingInstanceOf(env: Environment, host: string = hostname()): string {
  return clipUtf8Bytes(env.POD_NAME || env.HOSTNAME || host, REPORTING_INSTANCE_LIMIT, '');
}

/** One occurrence's Event as written so far. */
interface Remembered {
  readonly event: EventsV1Event;
  count: number;
  lastObserved: number;
  /** The Event exists on the server (a series is patched, else created). */
  written: boolean;
  writing: boolean;
  /** A repeat came while a write was in flight: write again after it. */
  stale: boolean;
}

class PodEventRecorder {
  readonly #sink: EventSink;
  readonly #reportingInstance: string;
  readonly #remembered = new Map<string, Remembered>();

  constructor(sink: EventSink, reportingInstance: string) {
    this.#sink = sink;
    this.#reportingInstance = reportingInstance;
  }

  record(pod: V1Pod, occurrence: PodOccurrence, now: number): void {
    const event = newEvent(podReference(pod), wordingOf(occurrence), this.#reportingInstance, now);
    const key = isomorphismKey(event);
    let entry = this.#remembered.get(key);
    this.#remembered.delete(key); // re-inserted last: the Map's order is the LRU order
    if (entry === undefined || now - entry.lastObserved > SERIES_WINDOW_MS) {
      entry = { event, count: 1, lastObserved: now, written: false, writing: false, stale: false };
    } else {
      entry.count += 1;
      entry.lastObserved = now;
    }
    this.#remembered.set(key, entry);
    this.#forgetOldest();
    this.#write(entry);
  }

  #forgetOldest(): void {
    for (const key of this.#remembered.keys()) {
      if (this.#remembered.size <= MAX_REMEMBERED) return;
      this.#remembered.delete(key);
    }
  }

  #write(entry: Remembered): void {
    if (entry.writing) {
      entry.stale = true;
      return;
    }
    entry.writing = true;
    // After the reply: the handler's answer is on its way before any Event request starts.
    setImmediate(() => void this.#writeUntilCurrent(entry));
  }

  async #writeUntilCurrent(entry: Remembered): Promise<void> {
    do {
      entry.stale = false;
      try {
        await this.#writeOnce(entry);
        entry.written = true;
      } catch (error) {
        const reason = error instanceof ApiCallError ? error.failure.reason : 'Error';
        podEventsFailedTotal.inc({ reason: reasonLabel(reason) });
      }
    } while (entry.stale);
    entry.writing = false;
  }

  async #writeOnce(entry: Remembered): Promise<void> {
    const { event, count, lastObserved } = entry;
    const name = event.metadata?.name ?? '';
    const namespace = event.metadata?.namespace ?? '';
    const limits: CallLimits = {
      timeoutMs: WRITE_TIMEOUT_MS,
      deadline: Date.now() + WRITE_DEADLINE_MS,
    };
    const series = count > 1 ? seriesAt(count, lastObserved) : undefined;
    // Gone (Events expire on the server): made again below, with its series.
    if (entry.written && series !== undefined) {
      if ((await this.#sink.patchSeries(name, namespace, series, limits)) === 'patched') return;
    }
    const body = series === undefined ? event : { ...event, series };
    await this.#sink.create(namespace, body, limits);
  }
}

const recorders = new WeakMap<KubeClient, PodEventRecorder>();

/**
 * Reports the occurrence as a Kubernetes Event on the pod, in the background: returns at once,
 * and never throws. The pod must carry its name, namespace and uid (as the API returned it).
 */
export function reportPodEvent(kube: KubeClient, pod: V1Pod, occurrence: PodOccurrence): void {
  let recorder = recorders.get(kube);
  if (recorder === undefined) {
    recorder = new PodEventRecorder(apiEventSink(kube), reportingInstanceOf(process.env));
    recorders.set(kube, recorder);
  }
  recorder.record(pod, occurrence, Date.now());
}

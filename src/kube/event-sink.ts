// What the Events on the client pods need of the API (src/observability/pod-events.ts), as
// client-go's tools/record asks its EventSink: create an Event, or patch a repeat's series into it.
import {
  type EventsV1Event,
  type EventsV1EventSeries,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { ApiCallError, type CallLimits, callApi } from './api-call.ts';
import type { KubeClient } from './client.ts';
import { postEvent } from './transport.ts';

export interface EventSink {
  /** Creates the Event in `namespace`. Throws ApiCallError. */
  create(namespace: string, event: EventsV1Event, limits: CallLimits): Promise<void>;
  /**
   * Sets the series of the Event `name`: `gone` when it no longer exists (Events expire on the
   * server). Throws ApiCallError.
   */
  patchSeries(
    name: string,
    namespace: string,
    series: EventsV1EventSeries,
    limits: CallLimits,
  ): Promise<'patched' | 'gone'>;
}

/** The sink that writes through the function's client (events.k8s.io/v1). */
export function apiEventSink(kube: KubeClient): EventSink {
  const { events, kubeConfig } = kube;
  return {
    async create(namespace, event, limits) {
      await callApi((options) => postEvent(kubeConfig, namespace, event, options), limits);
    },
    async patchSeries(name, namespace, series, limits) {
      try {
        await callApi(
          (options) =>
            events.patchNamespacedEvent(
              { name, namespace, body: { series } },
              setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch, options),
            ),
          limits,
        );
        return 'patched';
      } catch (error) {
        if (error instanceof ApiCallError && error.failure.code === 404) return 'gone';
        throw error;
      }
    },
  };
}

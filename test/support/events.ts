// Sends CloudEvents over HTTP as producers do, and reads the replies.
import { CloudEvent, type CloudEventV1, HTTP } from 'cloudevents';
import { assertReplyMatchesSchema } from './schemas.ts';

export type Mode = 'binary' | 'structured';
export const MODES: readonly Mode[] = ['binary', 'structured'];

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The reply event, when the response carries one. */
  readonly event: CloudEventV1<Record<string, unknown>> | undefined;
}

let sequence = 0;

export function pendingEvent(
  data: unknown,
  attributes: Partial<CloudEventV1<unknown>> = {},
): CloudEvent<unknown> {
  sequence += 1;
  return new CloudEvent<unknown>({
    id: `test-${process.pid}-${Date.now()}-${sequence}`,
    source: '/tests/producer',
    type: 'io.podgateway.client.pending',
    datacontenttype: 'application/json',
    data,
    ...attributes,
  });
}

/** Sends `event` in `mode`; `extra` headers (a Broker's `authorization`) go with it. */
export async function sendEvent(
  url: string,
  event: CloudEvent<unknown>,
  mode: Mode,
  extra: Readonly<Record<string, string>> = {},
): Promise<Reply> {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  const headers = { ...(message.headers as Record<string, string>), ...extra };
  // An event without data (a PingSource's) has no body and no content type.
  if (message.body === undefined) delete headers['content-type'];
  return post(url, headers, String(message.body ?? ''));
}

export async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<Reply> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  const plainHeaders = Object.fromEntries(response.headers);
  const event = HTTP.isEvent({ headers: plainHeaders, body: text })
    ? (HTTP.toEvent({ headers: plainHeaders, body: text }) as CloudEventV1<Record<string, unknown>>)
    : undefined;
  // Every reply the suite reads is checked against its published schema.
  if (event) assertReplyMatchesSchema(event);
  return { status: response.status, headers: response.headers, text, event };
}

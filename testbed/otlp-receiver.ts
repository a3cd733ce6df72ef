// An OTLP/HTTP receiver in the process: what a collector's port 4318 would take, decoded from
// OTLP/JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) into plain spans. For the tests and for
// `npm run dev -- --traces`.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from './eventually.ts';

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a span without a parent. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly status: { readonly code: 'unset' | 'ok' | 'error'; readonly message: string };
  readonly events: ReadonlyArray<{
    readonly name: string;
    readonly attributes: Readonly<Record<string, AttributeValue>>;
  }>;
  /** The resource's attributes: service.name, … */
  readonly resource: Readonly<Record<string, AttributeValue>>;
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** Every span received so far. */
  spans(): readonly ReceivedSpan[];
  /** Requests received, to any path. */
  requests(): number;
  /** Resolves once `accept` holds for the spans received, or rejects after `timeoutMs`. */
  waitFor(
    accept: (spans: readonly ReceivedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<readonly ReceivedSpan[]>;
  close(): Promise<void>;
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const STATUS_CODES = ['unset', 'ok', 'error'] as const;

/** Starts the receiver on 127.0.0.1; `onSpans` is told of each request's spans. */
export async function startOtlpReceiver(
  onSpans: (spans: readonly ReceivedSpan[]) => void = () => {},
): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  let requests = 0;
  const server = createServer(async (request, response) => {
    requests += 1;
    const body = await readBody(request);
    if (request.url !== '/v1/traces' || !request.headers['content-type']?.includes('json')) {
      response.writeHead(415).end();
      return;
    }
    const spans = decodeTraces(JSON.parse(body));
    received.push(...spans);
    onSpans(spans);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => received,
    requests: () => requests,
    async waitFor(accept, timeoutMs = 10_000) {
      await eventually('the spans', () => accept(received), { timeoutMs, intervalMs: 25 }).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}; got: ${received.map((s) => s.name)}`);
        },
      );
      return received;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type Json = Readonly<Record<string, unknown>>;

function objects(value: unknown): Json[] {
  return Array.isArray(value)
    ? value.filter((item): item is Json => typeof item === 'object' && item !== null)
    : [];
}

function object(value: unknown): Json {
  return typeof value === 'object' && value !== null ? (value as Json) : {};
}

/** An ExportTraceServiceRequest in OTLP/JSON: ids in hex, 64-bit numbers as strings. */
export function decodeTraces(request: unknown): ReceivedSpan[] {
  return objects(object(request).resourceSpans).flatMap((resourceSpans) => {
    const resource = attributesOf(object(resourceSpans.resource).attributes);
    return objects(resourceSpans.scopeSpans).flatMap((scope) =>
      objects(scope.spans).map((span) => decodeSpan(span, resource)),
    );
  });
}

function decodeSpan(span: Json, resource: Record<string, AttributeValue>): ReceivedSpan {
  const status = object(span.status);
  return {
    traceId: String(span.traceId ?? ''),
    spanId: String(span.spanId ?? ''),
    parentSpanId: String(span.parentSpanId ?? ''),
    name: String(span.name ?? ''),
    kind: KINDS[Number(span.kind ?? 0)] ?? 'unspecified',
    startNs: BigInt(String(span.startTimeUnixNano ?? '0')),
    endNs: BigInt(String(span.endTimeUnixNano ?? '0')),
    attributes: attributesOf(span.attributes),
    status: {
      code: STATUS_CODES[Number(status.code ?? 0)] ?? 'unset',
      message: String(status.message ?? ''),
    },
    events: objects(span.events).map((event) => ({
      name: String(event.name ?? ''),
      attributes: attributesOf(event.attributes),
    })),
    resource,
  };
}

function attributesOf(list: unknown): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of objects(list)) {
    const typed = object(value);
    const scalar =
      typed.stringValue ??
      typed.boolValue ??
      (typed.intValue === undefined ? typed.doubleValue : Number(typed.intValue));
    if (typeof scalar === 'string' || typeof scalar === 'number' || typeof scalar === 'boolean') {
      attributes[String(key)] = scalar;
    }
  }
  return attributes;
}

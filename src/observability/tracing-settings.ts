// Tracing is configured by OpenTelemetry's standard variables only. This module reads the ones
// that decide whether the SDK is loaded at all and how it is put together; it loads nothing of
// the SDK itself, so that tracing off costs nothing (src/observability/otel-sdk.ts is imported
// only when this says on).
import { ConfigError, type Environment, parseAll, parseWholeNumber } from '../config/config.ts';

/**
 * The standard variables the function honours: those read here, and those the SDK's exporter
 * and resource detection read by themselves (endpoint, headers, TLS files, timeout, compression,
 * service name, resource attributes). None is ours: docs/reference.md, "Tracing".
 */
export const OTEL_VARIABLES = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
  'OTEL_EXPORTER_OTLP_COMPRESSION',
  'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION',
  'OTEL_EXPORTER_OTLP_CERTIFICATE',
  'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE',
  'OTEL_EXPORTER_OTLP_CLIENT_KEY',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT',
] as const;

/**
 * Longest attribute value (and status message) on a span, unless OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT
 * or OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise. The standard's default is no limit: with a
 * collector that does not answer, the export queue (2,048 spans) of events carrying 60 KB values
 * outgrew the heap (issue 25). Values from a request are cut shorter before (src/formats/bounded-text.ts).
 */
export const DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT = 1024;

/** OTLP over HTTP, as protobuf (the standard's default) or JSON. gRPC is not supported. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** OTEL_BSP_*: the BatchSpanProcessor's settings; the SDK's defaults where unset, but the queue's. */
export interface BatchSettings {
  readonly scheduledDelayMillis?: number;
  readonly exportTimeoutMillis?: number;
  readonly maxQueueSize?: number;
  readonly maxExportBatchSize?: number;
}

export interface TracingSettings {
  readonly protocol: OtlpProtocol;
  /** Where spans go, as the exporter will compute it: for the settings line. */
  readonly endpoint: URL;
  readonly sampler: SamplerName;
  /** OTEL_TRACES_SAMPLER_ARG, for the ratio samplers. */
  readonly ratio: number;
  readonly batch: BatchSettings;
  /** The span limit on attribute values' length, in characters. */
  readonly attributeValueLengthLimit: number;
}

const TRACES_PATH = 'v1/traces';

/**
 * The tracing settings, or undefined when tracing is off: no OTLP endpoint, OTEL_SDK_DISABLED=true
 * or OTEL_TRACES_EXPORTER=none. Throws a ConfigError per unusable value.
 */
export function readTracingSettings(env: Environment): TracingSettings | undefined {
  if (isOff(env)) return undefined;
  return parseAll<TracingSettings>({
    protocol: () => readProtocol(env),
    endpoint: () => readEndpoint(env),
    sampler: () => readSampler(env.OTEL_TRACES_SAMPLER),
    ratio: () => readRatio(env.OTEL_TRACES_SAMPLER_ARG),
    batch: () => readBatch(env),
    attributeValueLengthLimit: () => readAttributeValueLengthLimit(env),
  });
}

function isOff(env: Environment): boolean {
  if (value(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true') return true;
  const exporter = value(env.OTEL_TRACES_EXPORTER);
  if (exporter === 'none') return true;
  if (exporter !== undefined && exporter !== 'otlp') {
    throw new ConfigError(
      'OTEL_TRACES_EXPORTER',
      `"${exporter}" is not supported: otlp (with OTEL_EXPORTER_OTLP_ENDPOINT) or none`,
    );
  }
  return (
    value(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) === undefined &&
    value(env.OTEL_EXPORTER_OTLP_ENDPOINT) === undefined
  );
}

function readProtocol(env: Environment): OtlpProtocol {
  const specific = value(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL);
  const variable = specific ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = specific ?? value(env.OTEL_EXPORTER_OTLP_PROTOCOL) ?? 'http/protobuf';
  const known = OTLP_PROTOCOLS.find((name) => name === protocol);
  if (known) return known;
  throw new ConfigError(
    variable,
    `"${protocol}" is not supported: ${OTLP_PROTOCOLS.join(' or ')} (OTLP over HTTP, a collector's port 4318)`,
  );
}

/** The traces URL: the signal's own endpoint as given, else the base endpoint plus v1/traces. */
function readEndpoint(env: Environment): URL {
  const specific = value(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const variable = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const given = specific ?? value(env.OTEL_EXPORTER_OTLP_ENDPOINT) ?? '';
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new ConfigError(variable, 'is not an absolute URL (the value is not repeated here)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(variable, `is a ${url.protocol} URL; an http or https URL is needed`);
  }
  if (specific) return url;
  const base = url.pathname.endsWith('/') ? url : new URL(`${url.pathname}/`, url);
  return new URL(TRACES_PATH, base);
}

function readSampler(given: string | undefined): SamplerName {
  const name = value(given) ?? 'parentbased_always_on';
  const known = SAMPLERS.find((sampler) => sampler === name);
  if (known) return known;
  throw new ConfigError('OTEL_TRACES_SAMPLER', `"${name}" is not one of ${SAMPLERS.join(', ')}`);
}

function readRatio(given: string | undefined): number {
  const text = value(given);
  if (text === undefined) return 1;
  const ratio = Number(text);
  if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) return ratio;
  throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', `"${text}" is not a ratio from 0 to 1`);
}

/**
 * Most of any OTEL_* whole number: Node's longest timer (ms), and beyond any queue or length
 * worth having.
 */
const MAX_OTEL_NUMBER = 2_147_483_647;
/**
 * The queue's defaults, a quarter of the SDK's (2048 and 512): with a collector that never
 * answers the queue stays full, and its 2048 spans held the hostile soak's RSS at 169 MB, past
 * the 160 MB the manifests allow for; 512 held it at 156 (BENCHMARKS.md, the hostile soak).
 */
export const DEFAULT_MAX_QUEUE_SIZE = 512;
export const DEFAULT_MAX_EXPORT_BATCH_SIZE = 128;

function readBatch(env: Environment): BatchSettings {
  const settings: Record<string, number> = {};
  const fields = [
    ['scheduledDelayMillis', 'OTEL_BSP_SCHEDULE_DELAY', 0],
    ['exportTimeoutMillis', 'OTEL_BSP_EXPORT_TIMEOUT', 1],
    ['maxQueueSize', 'OTEL_BSP_MAX_QUEUE_SIZE', 1],
    ['maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 1],
  ] as const;
  for (const [field, variable, least] of fields) {
    const number = parseWholeNumber(variable, value(env[variable]), {
      least,
      most: MAX_OTEL_NUMBER,
    });
    if (number !== undefined) settings[field] = number;
  }
  const { maxQueueSize, maxExportBatchSize } = settings;
  if (maxQueueSize !== undefined && maxExportBatchSize !== undefined) {
    if (maxExportBatchSize > maxQueueSize) {
      throw new ConfigError(
        'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
        `${maxExportBatchSize} is above OTEL_BSP_MAX_QUEUE_SIZE (${maxQueueSize})`,
      );
    }
  }
  return { ...settings, ...boundedQueue(maxQueueSize, maxExportBatchSize) };
}

/** Our smaller queue where unset, kept consistent with whichever of the two was given. */
function boundedQueue(
  queue: number | undefined,
  batch: number | undefined,
): Required<Pick<BatchSettings, 'maxQueueSize' | 'maxExportBatchSize'>> {
  const maxQueueSize = queue ?? Math.max(DEFAULT_MAX_QUEUE_SIZE, batch ?? 0);
  return {
    maxQueueSize,
    maxExportBatchSize: batch ?? Math.min(DEFAULT_MAX_EXPORT_BATCH_SIZE, maxQueueSize),
  };
}

/** The span-specific variable over the general one, as the standard orders them. */
function readAttributeValueLengthLimit(env: Environment): number {
  const specific = value(env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT);
  const variable = specific
    ? 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT'
    : 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT';
  const text = specific ?? value(env.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT);
  return (
    parseWholeNumber(variable, text, {
      least: MIN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
      most: MAX_OTEL_NUMBER,
      unit: 'characters',
    }) ?? DEFAULT_ATTRIBUTE_VALUE_LENGTH_LIMIT
  );
}

/** Below this, a pod name or a URL would not fit on a span. */
const MIN_ATTRIBUTE_VALUE_LENGTH_LIMIT = 64;

/** A set, non-blank value, trimmed. */
function value(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** For the settings line: where the traces go, without credentials or query. */
export function describeTracing(settings: TracingSettings | undefined): string {
  if (settings === undefined) return 'no traces (OTEL_EXPORTER_OTLP_ENDPOINT not set)';
  const { endpoint, protocol, sampler, ratio } = settings;
  const ratioText = sampler.endsWith('traceidratio') ? ` ${ratio}` : '';
  return `traces to ${endpoint.origin}${endpoint.pathname} (${protocol}, sampler ${sampler}${ratioText})`;
}

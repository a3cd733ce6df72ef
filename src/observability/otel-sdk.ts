// The OpenTelemetry SDK behind src/observability/tracing.ts: imported at start only when tracing
// is on (src/lifecycle/startup.ts), and its packages with it, each by a dynamic import: the
// bundle keeps them out (scripts/build.ts EXTERNAL), so that tracing off loads none of them.
// Spans are passed by hand from the event's span to its steps: no context manager, no
// instrumentation of Node's modules, nothing global registered.
import type { Attributes, Context, Span, SpanOptions, Tracer } from '@opentelemetry/api';
import type { Sampler, SpanExporter } from '@opentelemetry/sdk-trace';
import { bounded } from '../formats/bounded-text.ts';
import type {
  EventSpanStart,
  SpanAttributes,
  TraceHeaders,
  TraceSpan,
  Tracing,
} from './tracing.ts';
import type { SamplerName, TracingSettings } from './tracing-settings.ts';

type Api = typeof import('@opentelemetry/api');
type Sdk = typeof import('@opentelemetry/sdk-trace');

const INSTRUMENTATION_SCOPE = 'podgateway-client-provisioner';
const LOG_PREFIX = 'podgateway client provisioner: tracing';

/** Loads the SDK and makes the tracer: a BatchSpanProcessor exporting over OTLP/HTTP. */
export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  const [api, core, resources, sdk, exporter] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
    makeExporter(settings),
  ]);
  // Export failures as plain lines: the SDK is silent otherwise.
  api.diag.setLogger(plainLogger(), api.DiagLogLevel.ERROR);
  const provider = new sdk.TracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, over the SDK's own attributes.
    resource: resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ 'service.name': INSTRUMENTATION_SCOPE }))
      .merge(resources.detectResources({ detectors: [resources.envDetector] })),
    sampler: makeSampler(sdk, settings.sampler, settings.ratio),
    spanLimits: { attributeValueLengthLimit: settings.attributeValueLengthLimit },
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...settings.batch })],
  });
  const tracer = provider.getTracer(INSTRUMENTATION_SCOPE);
  const propagator = new core.W3CTraceContextPropagator();
  const tools: Tools = { api, tracer, propagator, limit: settings.attributeValueLengthLimit };
  return {
    startEvent(start: EventSpanStart): TraceSpan {
      const parent = propagator.extract(api.ROOT_CONTEXT, start.parent, api.defaultTextMapGetter);
      const options = { kind: api.SpanKind.SERVER, attributes: defined(start.attributes) };
      return wrap(tools, tracer.startSpan(start.name, options, parent));
    },
    async shutdown(timeoutMs: number): Promise<void> {
      await Promise.race([
        provider.forceFlush({ timeoutMillis: timeoutMs }).then(() => provider.shutdown()),
        new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    },
  };
}

async function makeExporter(settings: TracingSettings): Promise<SpanExporter> {
  // The exporter reads the other OTEL_EXPORTER_OTLP_* variables (headers, TLS, timeout) itself.
  const config = { url: settings.endpoint.href };
  if (settings.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter(config);
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter(config);
}

function makeSampler(sdk: Sdk, name: SamplerName, ratio: number): Sampler {
  const root = (base: string): Sampler => {
    if (base === 'always_off') return new sdk.AlwaysOffSampler();
    if (base === 'traceidratio') return new sdk.TraceIdRatioBasedSampler(ratio);
    return new sdk.AlwaysOnSampler();
  };
  if (!name.startsWith('parentbased_')) return root(name);
  return new sdk.ParentBasedSampler({ root: root(name.slice('parentbased_'.length)) });
}

interface Tools {
  readonly api: Api;
  readonly tracer: Tracer;
  readonly propagator: InstanceType<typeof import('@opentelemetry/core').W3CTraceContextPropagator>;
  /** The attribute value length limit, for the status message, which the SDK does not cut. */
  readonly limit: number;
}

function wrap(tools: Tools, span: Span): TraceSpan {
  const { api, tracer, propagator } = tools;
  const context = (): Context => api.trace.setSpan(api.ROOT_CONTEXT, span);
  const { traceId, traceFlags } = span.spanContext();
  return {
    traceId,
    // The W3C sampled flag: what the BatchSpanProcessor exports.
    sampled: (traceFlags & api.TraceFlags.SAMPLED) !== 0,
    child(name, kind, attributes = {}) {
      const options: SpanOptions = {
        kind: kind === 'client' ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL,
        attributes: defined(attributes),
      };
      return wrap(tools, tracer.startSpan(name, options, context()));
    },
    setAttributes(attributes) {
      span.setAttributes(defined(attributes));
    },
    fail(problem) {
      const described = describeProblem(problem);
      const type = bounded(described.type, tools.limit);
      const message = bounded(described.message, tools.limit);
      span.recordException({ name: type, message });
      span.setStatus({ code: api.SpanStatusCode.ERROR, message });
      span.setAttribute('error.type', type);
    },
    end() {
      span.end();
    },
    traceHeaders(): TraceHeaders {
      const carrier: Record<string, string> = {};
      propagator.inject(context(), carrier, api.defaultTextMapSetter);
      return carrier;
    },
  };
}

/** The attributes that have a value: OpenTelemetry drops undefined ones, with a warning. */
function defined(attributes: SpanAttributes): Attributes {
  const kept: Attributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

function describeProblem(problem: unknown): { type: string; message: string } {
  if (problem instanceof Error) return { type: problem.name, message: problem.message };
  if (typeof problem === 'object' && problem !== null) {
    const type: unknown = Reflect.get(problem, 'type');
    const message: unknown = Reflect.get(problem, 'message');
    if (typeof type === 'string' && typeof message === 'string') return { type, message };
  }
  return { type: 'Error', message: String(problem) };
}

function plainLogger() {
  const print = (message: string, ...args: unknown[]) =>
    console.error(`${LOG_PREFIX}: ${[message, ...args.map(String)].join(' ')}`);
  const ignore = () => {};
  return { error: print, warn: print, info: ignore, debug: ignore, verbose: ignore };
}

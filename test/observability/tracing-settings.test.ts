// The standard OTEL_* variables as the function reads them: what turns tracing on, and what it
// refuses at start, in one plain line.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config.ts';
import { describeTracing, readTracingSettings } from '../../src/observability/tracing-settings.ts';
import { runUntilExit } from '../../testbed/function-process.ts';
import { startKubeApiServer } from '../../testbed/kube-api-server/server.ts';

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.observability:4318' };

function problem(env: Record<string, string>): string {
  try {
    readTracingSettings(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  return 'no problem';
}

describe('tracing settings', () => {
  it('off without an endpoint, with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none', () => {
    assert.equal(readTracingSettings({}), undefined);
    assert.equal(readTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), undefined);
    assert.equal(readTracingSettings({ ...ENDPOINT, OTEL_SDK_DISABLED: 'TRUE' }), undefined);
    assert.equal(readTracingSettings({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' }), undefined);
    assert.equal(describeTracing(undefined), 'no traces (OTEL_EXPORTER_OTLP_ENDPOINT not set)');
  });

  it('on with the standard defaults: http/protobuf, parentbased_always_on, /v1/traces', () => {
    const settings = readTracingSettings(ENDPOINT);
    assert.equal(settings?.protocol, 'http/protobuf');
    assert.equal(settings?.sampler, 'parentbased_always_on');
    assert.equal(settings?.endpoint.href, 'http://collector.observability:4318/v1/traces');
    assert.deepEqual(settings?.batch, { maxQueueSize: 512, maxExportBatchSize: 128 });
    assert.equal(
      describeTracing(settings),
      'traces to http://collector.observability:4318/v1/traces (http/protobuf, sampler parentbased_always_on)',
    );
  });

  it("bounds the span queue below the SDK's 2048 unless told, consistent with what is given", () => {
    const batch = (env: Record<string, string>) =>
      readTracingSettings({ ...ENDPOINT, ...env })?.batch;
    assert.deepEqual(batch({ OTEL_BSP_MAX_QUEUE_SIZE: '4096' }), {
      maxQueueSize: 4096,
      maxExportBatchSize: 128,
    });
    assert.deepEqual(batch({ OTEL_BSP_MAX_QUEUE_SIZE: '64' }), {
      maxQueueSize: 64,
      maxExportBatchSize: 64,
    });
    assert.deepEqual(batch({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1000' }), {
      maxQueueSize: 1000,
      maxExportBatchSize: 1000,
    });
  });

  it('the traces endpoint and protocol win over the general ones; a base path is kept', () => {
    const settings = readTracingSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/base/',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    assert.equal(settings?.endpoint.href, 'https://otel.example/base/v1/traces');
    assert.equal(settings?.protocol, 'http/json');
    assert.equal(settings?.ratio, 0.25);
    assert.deepEqual(settings?.batch, {
      scheduledDelayMillis: 200,
      maxQueueSize: 512,
      maxExportBatchSize: 128,
    });
    const specific = readTracingSettings({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/custom',
    });
    assert.equal(specific?.endpoint.href, 'http://tempo:4318/custom');
  });

  it('limits attribute values to 1024 characters unless OTEL_[SPAN_]ATTRIBUTE_VALUE_LENGTH_LIMIT says', () => {
    assert.equal(readTracingSettings(ENDPOINT)?.attributeValueLengthLimit, 1024);
    const general = { ...ENDPOINT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '300' };
    assert.equal(readTracingSettings(general)?.attributeValueLengthLimit, 300);
    const both = { ...general, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '4096' };
    assert.equal(readTracingSettings(both)?.attributeValueLengthLimit, 4096);
    assert.match(
      problem({ ...ENDPOINT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '10' }),
      /^OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: "10" is not a whole number of characters from 64 to/,
    );
    assert.match(
      problem({ ...ENDPOINT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: 'none' }),
      /^OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "none" is not a whole number/,
    );
  });

  it('refuses what it cannot do, naming the variable', () => {
    assert.match(
      problem({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
      /^OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported: http\/protobuf or http\/json/,
    );
    assert.match(problem({ OTEL_EXPORTER_OTLP_ENDPOINT: '/v1/traces' }), /not an absolute URL/);
    assert.match(problem({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /http or https URL/);
    assert.match(problem({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'jaeger_remote' }), /not one of/);
    assert.match(problem({ ...ENDPOINT, OTEL_TRACES_SAMPLER_ARG: '2' }), /not a ratio/);
    assert.match(problem({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'zipkin' }), /not supported/);
    assert.match(problem({ ...ENDPOINT, OTEL_BSP_MAX_QUEUE_SIZE: '0' }), /"0" .* from 1 to/);
    // Read as every other number: a delay past Node's longest timer was taken, and ran at once.
    assert.match(
      problem({ ...ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: '3000000000' }),
      /3000000000 is above the maximum, 2147483647/,
    );
  });

  it('an unsupported protocol stops the function at start with one plain line', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'provisioner-otel-'));
    const server = await startKubeApiServer();
    try {
      const { code, output } = await runUntilExit({
        KUBECONFIG: await server.writeKubeconfig(workDir),
        ...ENDPOINT,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      });
      assert.equal(code, 1);
      assert.deepEqual(output.trim().split('\n'), [
        'podgateway client provisioner: cannot start: OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported: http/protobuf or http/json (OTLP over HTTP, a collector\'s port 4318)',
      ]);
    } finally {
      await server.close();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});

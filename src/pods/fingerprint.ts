// What a request asked for, kept on its pod, so that a second request with the same `source` and
// `id` can be told apart from a redelivery. An event id is the producer's promise that the
// content is the same: when it is not, the second request is refused, naming what differs.
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import type { ProvisionRequest } from './provision-request.ts';

/** Annotation holding a digest of each part of the request (bounded, whatever the request). */
export const FINGERPRINT_ANNOTATION = 'podgateway.io/request-digests';

const PARTS = ['gateway_name', 'message', 'image', 'command', 'args', 'env', 'resources'] as const;
type Part = (typeof PARTS)[number];
type Fingerprint = Readonly<Record<Part, string>>;

export function fingerprintOf(request: ProvisionRequest): Fingerprint {
  const { overrides } = request;
  const values: Readonly<Record<Part, unknown>> = {
    gateway_name: request.gatewayName,
    message: request.message,
    image: overrides.image,
    command: overrides.command,
    args: overrides.args,
    env: overrides.env,
    resources: overrides.resources,
  };
  return Object.fromEntries(PARTS.map((part) => [part, digest(values[part])])) as Fingerprint;
}

export function fingerprintAnnotation(request: ProvisionRequest): string {
  return JSON.stringify(fingerprintOf(request));
}

/**
 * The parts of `request` that differ from what the pod was made for; empty for a redelivery.
 * `gatewayOfPod` is the gateway the pod carries (its label or annotation).
 */
export function differencesFrom(
  pod: V1Pod,
  gatewayOfPod: string | undefined,
  request: ProvisionRequest,
): string[] {
  const differences: string[] = [];
  if (gatewayOfPod !== request.gatewayName) {
    differences.push(
      `gateway_name (${JSON.stringify(gatewayOfPod ?? null)} then, ${JSON.stringify(request.gatewayName)} now)`,
    );
  }
  const stored = readFingerprint(pod.metadata?.annotations?.[FINGERPRINT_ANNOTATION]);
  // A pod made before fingerprints were kept: only the gateway can be compared.
  if (stored === undefined) return differences;
  const asked = fingerprintOf(request);
  for (const part of PARTS) {
    if (part !== 'gateway_name' && stored[part] !== asked[part]) differences.push(part);
  }
  return differences;
}

function readFingerprint(text: string | undefined): Partial<Record<Part, unknown>> | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A short digest of a JSON value, `-` for an absent one; the order of object keys is ignored. */
function digest(value: unknown): string {
  if (value === undefined) return '-';
  return createHash('sha256')
    .update(JSON.stringify(sortedKeys(value)))
    .digest('hex')
    .slice(0, 16);
}

/** The same JSON value with every object's keys in order: `{"b":1,"a":2}` reads as `{"a":2,"b":1}`. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, item]) => [key, sortedKeys(item)]));
}

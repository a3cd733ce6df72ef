// The kube client: one KubeConfig and one CoreV1Api per process, and what its errors mean.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  EventsV1Api,
  type KubeConfig,
  loadYaml,
} from '@kubernetes/client-node';
import { type Environment, SERVICE_ACCOUNT_DIR } from '../config/config.ts';
import { causeChain } from '../formats/cause-chain.ts';
import { REASON } from '../formats/reasons.ts';
import type { ApiCallObserver } from './api-observer.ts';
import { PooledKubeConfig } from './connections.ts';
import { useRotatingToken } from './token-file.ts';
import { makeApiClient } from './transport.ts';

export interface KubeClient {
  readonly api: CoreV1Api;
  /** For the Events on the client pods (src/observability/pod-events.ts). */
  readonly events: EventsV1Api;
  /** For watches, which the generated API does not cover. */
  readonly kubeConfig: KubeConfig;
  /** The API server URL, for logs. */
  readonly server: string;
  /** Where the configuration came from: `in-cluster` or the kubeconfig path. */
  readonly origin: string;
  /** Told of every attempt of every pod call (src/kube/pod-api.ts): the API metric. */
  readonly observer: ApiCallObserver | undefined;
}

/**
 * Every Kubernetes API call the function makes (in the core group unless `group` says otherwise).
 * deploy/rbac.yaml must grant exactly these, and
 * the tests check that it does: add a line here when the code starts making a new call.
 * src/kube/access-check.ts asks at start whether each is allowed; its SelfSubjectAccessReviews need no
 * grant (every authenticated user may create them: the system:basic-user ClusterRole).
 */
export const API_CALLS: readonly ApiCall[] = [
  {
    verb: 'create',
    resource: 'pods',
    why: 'create the client pod',
    ifDenied: 'the requests that need it fail with Forbidden',
  },
  {
    verb: 'get',
    resource: 'pods',
    why: 'read the pod a redelivered event already created',
    ifDenied: 'the requests that need it fail with Forbidden',
  },
  {
    verb: 'list',
    resource: 'pods',
    why: 'WAIT_FOR=scheduled|ready: the shared watch starts from a list of the function’s own pods; the sweep lists them page by page',
    ifDenied: 'the requests that need it fail with Forbidden',
  },
  {
    verb: 'watch',
    resource: 'pods',
    why: 'WAIT_FOR=scheduled|ready: wait until the pod is scheduled or ready',
    ifDenied: 'the requests that need it fail with Forbidden',
  },
  {
    verb: 'delete',
    resource: 'pods',
    why: 'release a pod, and sweep finished and expired ones',
    ifDenied: 'the requests that need it fail with Forbidden',
  },
  {
    verb: 'create',
    resource: 'events',
    group: 'events.k8s.io',
    why: 'report on each client pod what was done to it (kubectl events, kubectl describe pod)',
    ifDenied: 'its Kubernetes Events are not recorded (replies are unaffected: docs/security.md)',
  },
  {
    verb: 'patch',
    resource: 'events',
    group: 'events.k8s.io',
    why: 'count a repeated report in its Event’s series instead of making another Event',
    ifDenied: 'its Kubernetes Events are not recorded (replies are unaffected: docs/security.md)',
  },
];

export interface ApiCall {
  readonly verb: string;
  readonly resource: string;
  /** The API group; the core group ('') when absent. */
  readonly group?: string;
  /** What the function needs it for, in the words of a warning. */
  readonly why: string;
  /** What happens without it, in the words of a warning: a pod call fails its request; an Event
   * call only loses the Kubernetes Event (never a reply). */
  readonly ifDenied: string;
}

/**
 * Makes the client: in-cluster (service-account token and CA) when KUBERNETES_SERVICE_HOST is
 * set, else from KUBECONFIG or ~/.kube/config. Throws, with what to do, when neither is there;
 * the library would otherwise fall back to http://localhost:8080 without saying so.
 */
export function makeKubeClient(
  env: Environment = process.env,
  observer?: ApiCallObserver,
): KubeClient {
  const kubeConfig = new PooledKubeConfig();
  let origin: string;
  if (env.KUBERNETES_SERVICE_HOST) {
    kubeConfig.loadFromCluster();
    useRotatingToken(kubeConfig, `${SERVICE_ACCOUNT_DIR}/token`);
    origin = 'in-cluster';
  } else {
    const file = findKubeconfig(env);
    loadKubeconfig(kubeConfig, file, env);
    // The library reads a user's token-file once, at load: a bound token rotated in that file
    // would be sent after it was revoked. Read it as the in-cluster token file is read.
    const tokenFile = currentUserTokenFile(file, kubeConfig.getCurrentUser()?.name);
    if (tokenFile !== undefined) useRotatingToken(kubeConfig, resolve(dirname(file), tokenFile));
    origin = file;
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    throw new Error(`no current cluster in the Kubernetes configuration from ${origin}`);
  }
  return {
    api: makeApiClient(kubeConfig, CoreV1Api),
    events: makeApiClient(kubeConfig, EventsV1Api),
    kubeConfig,
    server: cluster.server,
    origin,
    observer,
  };
}

/** A file that is not YAML: the parser's first line, with the file and where its name came from. */
function loadKubeconfig(kubeConfig: KubeConfig, file: string, env: Environment): void {
  try {
    kubeConfig.loadFromFile(file);
  } catch (error) {
    const where = env.KUBECONFIG ? `KUBECONFIG: ${file}` : `${file} (KUBECONFIG is not set)`;
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(`${where} is not a valid kubeconfig: ${detail}`);
  }
}

/** The `token-file` of the kubeconfig's user `userName`, as the file names it; undefined if none. */
function currentUserTokenFile(file: string, userName: string | undefined): string | undefined {
  if (userName === undefined) return undefined;
  const document = loadYaml<{ users?: Array<{ name?: string; user?: Record<string, unknown> }> }>(
    readFileSync(file, 'utf8'),
  );
  const user = document?.users?.find((entry) => entry.name === userName)?.user;
  const tokenFile = user?.['token-file'];
  // A literal token wins over the file in the library: then the file is not read at all.
  return typeof tokenFile === 'string' && user?.token === undefined ? tokenFile : undefined;
}

function findKubeconfig(env: Environment): string {
  const candidates = env.KUBECONFIG
    ? env.KUBECONFIG.split(delimiter).filter(Boolean)
    : [join(env.HOME ?? homedir(), '.kube', 'config')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) {
    throw new Error(
      `no Kubernetes configuration: ${candidates.join(', ')} not found. Set KUBECONFIG, or run in a cluster (KUBERNETES_SERVICE_HOST)`,
    );
  }
  return found;
}

/** A failed API call, in the words of the API server where it gave them. */
export interface ApiFailure {
  /** The API's `Status.reason` (Forbidden, Invalid, AlreadyExists, …) or ApiUnavailable. */
  readonly reason: string;
  readonly message: string;
  /** HTTP status, when the server answered. */
  readonly code: number | undefined;
  /** From a Retry-After header, when the server sent one. */
  readonly retryAfterSeconds: number | undefined;
  /** For the operator's log line only, never the reply: what the producer must not be told. */
  readonly logDetail?: string;
}

/** The part of a Kubernetes `Status` read here; a 422's message already lists the invalid fields. */
interface StatusBody {
  readonly reason?: string;
  readonly message?: string;
}

export function describeApiFailure(error: unknown): ApiFailure {
  if (!(error instanceof ApiException)) {
    const cause = error instanceof Error ? causeChain(error) : String(error);
    return {
      reason: REASON.ApiUnavailable,
      message: `the Kubernetes API could not be reached: ${cause}`,
      code: undefined,
      retryAfterSeconds: undefined,
    };
  }
  const code: number = error.code;
  const status = parseStatus(error.body);
  const answered = `the Kubernetes API answered HTTP ${code}${status?.reason ? ` ${status.reason}` : ''}`;
  // API Priority and Fairness answers its 429 in plain text, not with a Status.
  const detail = status?.message ?? plainText(error.body);
  // A server-side failure says nothing about the request: one reason for all of them, but for
  // an admission webhook the API server could not call (failurePolicy Fail).
  const unavailable = code >= 500;
  const webhookDown = unavailable && detail?.includes('failed calling webhook') === true;
  return {
    reason: webhookDown
      ? REASON.WebhookUnavailable
      : unavailable
        ? REASON.ApiUnavailable
        : status?.reason || reasonForCode(code),
    message: status?.message && !unavailable ? status.message : withDetail(answered, detail),
    code,
    retryAfterSeconds: parseRetryAfter(error.headers['retry-after']),
  };
}

function plainText(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  const text = body.trim();
  return text === '' || text.startsWith('{') ? undefined : text.slice(0, 200);
}

function withDetail(summary: string, detail: string | undefined): string {
  return detail ? `${summary}: ${detail}` : summary;
}

/** 5xx, 429 and no answer at all are worth trying again; the rest will fail the same way. */
export function isTransient(failure: ApiFailure): boolean {
  return failure.code === undefined || failure.code === 429 || failure.code >= 500;
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as StatusBody) : undefined;
  } catch {
    return undefined;
  }
}

function reasonForCode(code: number): string {
  if (code === 401) return 'Unauthorized';
  if (code === 403) return REASON.Forbidden;
  if (code === 404) return REASON.NotFound;
  if (code === 409) return REASON.AlreadyExists;
  if (code === 422) return 'Invalid';
  if (code === 429) return REASON.TooManyRequests;
  return REASON.BadRequest;
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

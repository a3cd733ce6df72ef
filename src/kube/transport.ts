// How the generated API client sends its requests: through the undici dispatcher the KubeConfig
// authenticated it with, with undici's request() rather than its fetch().
import {
  type ApiConstructor,
  ApiException,
  type ApiType,
  type ConfigurationOptions,
  createConfiguration,
  type EventsV1Event,
  HttpMethod,
  type KubeConfig,
  type PromiseHttpLibrary,
  RequestContext,
  ResponseContext,
  ServerConfiguration,
  setHeaderMiddleware,
  type V1Pod,
  type V1SelfSubjectAccessReview,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { IsomorphicFetchHttpLibrary } from '@kubernetes/client-node/dist/gen/http/isomorphic-fetch.js';
import clientPackage from '@kubernetes/client-node/package.json' with { type: 'json' };

type Headers = Record<string, string>;

const USER_AGENT = `kubernetes-client-javascript/${clientPackage.version}`;

/**
 * @kubernetes/client-node sends every call with undici's WHATWG fetch(), whose Request,
 * Response, Headers and web-stream body cost about as much CPU again as the HTTP exchange itself
 * (BENCHMARKS.md, "What the source's choices are worth"). The responses
 * of the calls the function makes are small JSON documents, read whole.
 *
 * Everything else stays the library's: the request is built, authenticated (token, TLS settings,
 * the shared pool of src/kube/connections.ts) and run through the middleware (timeouts set by
 * src/kube/api-call.ts as abort signals) exactly as before, and the response is parsed the same way.
 * A request without a dispatcher (plain http without TLS settings) or with a body other than a
 * string (form data) goes through the library's own fetch() transport, unchanged.
 */
const libraryTransport = new IsomorphicFetchHttpLibrary();

export const dispatcherHttpLibrary: PromiseHttpLibrary = {
  async send(request: RequestContext): Promise<ResponseContext> {
    const dispatcher = request.getDispatcher();
    const body = request.getBody();
    if (dispatcher === undefined || (body !== undefined && typeof body !== 'string')) {
      return libraryTransport.send(request).toPromise();
    }
    const url = new URL(request.getUrl());
    const signal = request.getSignal();
    const response = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.getHttpMethod(),
      headers: request.getHeaders(),
      body,
      ...(signal ? { signal } : {}),
    });
    const data = Buffer.from(await response.body.arrayBuffer());
    const headers: Headers = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    return new ResponseContext(response.statusCode, headers, bufferedBody(data));
  },
};

function bufferedBody(data: Buffer) {
  return {
    text: () => Promise.resolve(data.toString('utf8')),
    binary: () => Promise.resolve(data),
    stream: () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(data);
          controller.close();
        },
      }),
  };
}

/**
 * `kubeConfig.makeApiClient(type)`, sending through dispatcherHttpLibrary: the same server, the
 * KubeConfig as the authentication of every call, and the library's User-Agent.
 */
export function makeApiClient<T extends ApiType>(
  kubeConfig: KubeConfig,
  type: ApiConstructor<T>,
): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the Kubernetes configuration');
  return new type(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      middleware: [setHeaderMiddleware('User-Agent', USER_AGENT)],
      httpApi: wrapHttpLibrary(dispatcherHttpLibrary),
    }),
  );
}

/**
 * `createNamespacedPod`, the one call of every event, without the generated API's request
 * building and model classes: the pod, built here as plain JSON, is sent as JSON and the created
 * pod read back as JSON. The generated path runs the pod through ObjectSerializer both ways (its
 * type maps walked field by field, Date objects made for every timestamp), and its request
 * context through two layers of Observable middleware: a large share of the function's CPU per
 * event (BENCHMARKS.md, "What the source's choices are worth").
 */
export function postPod(
  kubeConfig: KubeConfig,
  namespace: string,
  pod: V1Pod,
  options: ConfigurationOptions,
): Promise<V1Pod> {
  return postJson(
    kubeConfig,
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    pod,
    options,
    (text) => JSON.parse(text) as V1Pod,
  );
}

/**
 * `createNamespacedEvent` (events.k8s.io/v1) the same way: one per created pod, so its cost is
 * the pod create's. The answer, the Event as stored, is not parsed: only its status counts.
 */
export async function postEvent(
  kubeConfig: KubeConfig,
  namespace: string,
  event: EventsV1Event,
  options: ConfigurationOptions,
): Promise<void> {
  await postJson(
    kubeConfig,
    `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
    event,
    options,
    () => undefined,
  );
}

/**
 * `createSelfSubjectAccessReview` the same way: the start-up check's seven reviews
 * (src/kube/access-check.ts) run beside the first event, and through the generated client they
 * were its code's first run then, paid by the cold start (BENCHMARKS.md, "Memory and cold start").
 */
export function postAccessReview(
  kubeConfig: KubeConfig,
  review: V1SelfSubjectAccessReview,
  options: ConfigurationOptions,
): Promise<V1SelfSubjectAccessReview> {
  return postJson(
    kubeConfig,
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    review,
    options,
    (text) => JSON.parse(text) as V1SelfSubjectAccessReview,
  );
}

/**
 * A create: `body` sent as JSON to `path` on the current cluster, the answer given to `read`.
 * What the library gives stays: the KubeConfig authenticates the request (token, token file,
 * exec and auth-provider plugins with their refresh; CA, client certificate, TLS server name and
 * proxy through its dispatcher, pooled by src/kube/connections.ts), the per-call middleware of
 * src/kube/api-call.ts (the abort signal) runs as before, and a failure is the library's ApiException
 * with the status, the body and the headers, as the generated call throws it.
 */
function postJson<T>(
  kubeConfig: KubeConfig,
  path: string,
  body: object,
  options: ConfigurationOptions,
  read: (text: string) => T,
): Promise<T> {
  return sendJson(kubeConfig, HttpMethod.POST, path, body, options, read);
}

/**
 * A GET of `path` on the current cluster (a non-resource path such as the service-account
 * issuer's discovery document), sent and authenticated as postJson's creates are.
 */
export function getJson(
  kubeConfig: KubeConfig,
  path: string,
  options: ConfigurationOptions,
): Promise<unknown> {
  return sendJson(kubeConfig, HttpMethod.GET, path, undefined, options, (text) => JSON.parse(text));
}

/** A GET whose answer is text (`/readyz` answers `ok`): ApiException unless 2xx. */
export function getText(
  kubeConfig: KubeConfig,
  path: string,
  options: ConfigurationOptions,
): Promise<string> {
  return sendJson(kubeConfig, HttpMethod.GET, path, undefined, options, (text) => text);
}

async function sendJson<T>(
  kubeConfig: KubeConfig,
  method: HttpMethod,
  path: string,
  body: object | undefined,
  options: ConfigurationOptions,
  read: (text: string) => T,
): Promise<T> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the Kubernetes configuration');
  const context = new RequestContext(`${cluster.server}${path}`, method);
  context.setHeaderParam('Accept', 'application/json, */*;q=0.8');
  context.setHeaderParam('User-Agent', USER_AGENT);
  if (body !== undefined) {
    context.setHeaderParam('Content-Type', 'application/json');
    context.setBody(JSON.stringify(body));
  }
  await kubeConfig.applySecurityAuthentication(context);
  for (const middleware of options.middleware ?? []) {
    await middleware.pre(context).toPromise();
  }
  let response = await dispatcherHttpLibrary.send(context);
  for (const middleware of options.middleware ?? []) {
    response = await middleware.post(response).toPromise();
  }
  const code = response.httpStatusCode;
  if (code >= 200 && code <= 299) return read(await response.body.text());
  if (code === 401) throw new ApiException(401, 'Unauthorized', undefined, response.headers);
  throw new ApiException(
    code,
    'Unknown API Status Code!',
    await response.body.text(),
    response.headers,
  );
}

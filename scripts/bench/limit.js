// Bench subject: the physical limit of this design. A bare node:http server that, for each
// event, sends one pod create over keep-alive HTTPS to the Kubernetes API server of KUBECONFIG
// and replies with a binary-mode `done` CloudEvent: no runtime, no CloudEvents SDK, no client
// library, no validation. Whatever the provisioner spends beyond this is its own overhead.
// With LIMIT_EVENT=true, it also writes the pod's Kubernetes Event after the reply, as the
// provisioner does (the limit with its Event: the reference of `npm run bench -- --cluster`).
// With WAIT_FOR=ready besides, it waits for each pod to be ready on one shared watch (a list, then
// a watch resumed from its last resourceVersion) before the reply, then writes the Ready Event too.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Agent, request } from 'node:https';
import { limitPod } from './limit-pod.js';

const namespace = process.env.CLIENT_NAMESPACE ?? 'default';
const kubeconfig = readFileSync(process.env.KUBECONFIG ?? '', 'utf8');
/** The kubeconfig written by testbed/kube-api-server/server.ts: JSON strings as YAML scalars. */
const field = (name) => {
  const match = new RegExp(`${name}: (".*")`).exec(kubeconfig);
  if (!match) throw new Error(`no ${name} in ${process.env.KUBECONFIG}`);
  return JSON.parse(match[1]);
};
const server = new URL(field('server'));
const token = field('token');
const agent = new Agent({
  keepAlive: true,
  ca: Buffer.from(field('certificate-authority-data'), 'base64'),
});
const path = `/api/v1/namespaces/${namespace}/pods`;
const writeEvents = process.env.LIMIT_EVENT === 'true';
const waitForReady = process.env.WAIT_FOR === 'ready';

/** The provisioner's pod for the event (scripts/bench/limit-pod.js), as the body of a create. */
function podBody(source, id) {
  const { name, pod } = limitPod(namespace, source, id);
  return { name, body: JSON.stringify(pod) };
}

/** For scripts/bench/runtime-https.js: the same create, as a promise of the pod's name. */
export function createPodWithHttps(source, id) {
  const pod = podBody(source, id);
  return new Promise((resolve, reject) =>
    createPod(pod.body, (error) => (error ? reject(error) : resolve(pod.name))),
  );
}

/**
 * For scripts/bench/runtime-https-event.js: the Kubernetes Event the provisioner writes on each
 * pod it creates (events.k8s.io/v1, src/observability/pod-events.ts), sent the same way.
 */
export function createEventWithHttps(podName, source, id) {
  return postEvent(podName, {
    reason: 'Provisioned',
    action: 'Provision',
    note: `provisioned for CloudEvent ${source}/${id} for gateway foo`,
  });
}

/** An Event on pod `podName` telling `story` ({ reason, action, note }), as a promise. */
function postEvent(podName, story) {
  const now = new Date();
  const body = JSON.stringify({
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: `${podName}.${(now.getTime() * 1000).toString(16)}`, namespace },
    eventTime: `${now.toISOString().slice(0, -1)}000Z`,
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace, name: podName },
    reportingController: 'podgateway.io/client-provisioner',
    reportingInstance: 'bench',
    type: 'Normal',
    ...story,
  });
  return new Promise((resolve, reject) =>
    post(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`, body, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

function createPod(body, done) {
  post(path, body, done);
}

/** One POST of a JSON body; `done` once its answer is read, with an error unless 201. */
function post(target, body, done) {
  const req = request(
    {
      host: server.hostname,
      port: server.port,
      method: 'POST',
      path: target,
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    },
    (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        // Read as the client does: the created object, parsed.
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        done(res.statusCode === 201 ? undefined : new Error(`HTTP ${res.statusCode}`));
      });
    },
  );
  req.on('error', done);
  req.end(body);
}

const http = createServer(answer);

function answer(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const id = String(req.headers['ce-id'] ?? randomUUID());
    const source = String(req.headers['ce-source'] ?? '/limit');
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const pod = podBody(source, id);
    const ready = waitForReady ? readyPod(pod.name) : undefined;
    createPod(pod.body, async (error) => {
      if (error) {
        ready?.cancel();
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end(String(error));
        return;
      }
      const readyState = ready ? await ready.promise : undefined;
      if (ready && readyState === undefined) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end(`pod ${pod.name} not ready in time`);
        return;
      }
      const reply = JSON.stringify({
        pod_name: pod.name,
        namespace,
        gateway_name: 'foo',
        message: `pod ${pod.name} created`,
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': randomUUID(),
        'ce-source': 'bench/limit',
        'ce-type': 'io.podgateway.client.scheduling.done',
        'ce-time': new Date().toISOString(),
        'ce-inresponseto': id,
        'content-length': Buffer.byteLength(reply),
      });
      res.end(reply);
      if (!writeEvents) return;
      // After the reply, as the provisioner writes them; a failure changes nothing.
      setImmediate(() => {
        createEventWithHttps(pod.name, source, id).catch(() => undefined);
        if (readyState === undefined) return;
        postEvent(pod.name, {
          reason: 'Ready',
          action: 'WaitForReady',
          note: `ready on node ${readyState.node} with IP ${readyState.ip}`,
        }).catch(() => undefined);
      });
    });
  });
}

/** WAIT_FOR=ready: pod name → what its waiter is told once the shared watch sees it ready. */
const readyWaiters = new Map();

/** Registered before the create, so that no change of the pod passes unseen. */
function readyPod(name) {
  const { promise, resolve } = Promise.withResolvers();
  const timer = setTimeout(() => {
    readyWaiters.delete(name);
    resolve(undefined);
  }, 30_000);
  readyWaiters.set(name, (state) => {
    clearTimeout(timer);
    resolve(state);
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      readyWaiters.delete(name);
    },
  };
}

/** Tells the waiter of `pod` when it is ready as the provisioner reads it (src/pods/wait-ready.ts). */
function see(pod) {
  const resolve = readyWaiters.get(pod.metadata?.name);
  if (resolve === undefined) return;
  const client = pod.status?.containerStatuses?.find((status) => status.name === 'client');
  if (pod.status?.phase !== 'Running' || client?.ready !== true) return;
  if (!pod.spec?.nodeName || !pod.status?.podIP) return;
  readyWaiters.delete(pod.metadata.name);
  resolve({ node: pod.spec.nodeName, ip: pod.status.podIP });
}

const SELECTOR = encodeURIComponent('app.kubernetes.io/managed-by=podgateway-client-provisioner');

/** The shared watch: one list for a resourceVersion, then watches resumed from the last one. */
function watchPods(resourceVersion) {
  if (resourceVersion === undefined) {
    get(`${path}?labelSelector=${SELECTOR}`, (error, list) => {
      if (error) return setTimeout(watchPods, 250);
      for (const pod of list.items) see(pod);
      watchPods(list.metadata.resourceVersion);
    });
    return;
  }
  let last = resourceVersion;
  let buffered = '';
  const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=290&labelSelector=${SELECTOR}`;
  const req = request(
    {
      host: server.hostname,
      port: server.port,
      path: `${path}?${query}&resourceVersion=${last}`,
      agent,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    },
    (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const { type, object } = JSON.parse(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          // 410 Gone: list again.
          if (type === 'ERROR') last = undefined;
          else last = object.metadata?.resourceVersion ?? last;
          if (type === 'ADDED' || type === 'MODIFIED') see(object);
        }
      });
      res.on('end', () => setTimeout(() => watchPods(last), res.statusCode === 200 ? 0 : 250));
    },
  );
  req.on('error', () => setTimeout(() => watchPods(last), 250));
  req.end();
}

/** One GET of a JSON answer; `done(error, parsed)`. */
function get(target, done) {
  const req = request(
    {
      host: server.hostname,
      port: server.port,
      path: target,
      agent,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    },
    (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return done(new Error(`HTTP ${res.statusCode}`));
        done(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
    },
  );
  req.on('error', done);
  req.end();
}

// Run as a script: the limit subject. Imported (by runtime-https.js and runtime-https-event.js):
// only createPodWithHttps and createEventWithHttps.
if (import.meta.main) {
  if (waitForReady) watchPods(undefined);
  http.listen(Number(process.env.FUNC_PORT ?? 8080), '::');
  process.on('SIGTERM', () => http.close(() => process.exit(0)));
}

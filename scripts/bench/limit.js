// Bench subject: the physical limit of this design. A bare node:http server that, for each
// event, sends one pod create over keep-alive HTTPS to the Kubernetes API server of KUBECONFIG
// and replies with a binary-mode `done` CloudEvent: no runtime, no CloudEvents SDK, no client
// library, no validation. Whatever the provisioner spends beyond this is its own overhead.
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
    reason: 'Provisioned',
    action: 'Provision',
    note: `provisioned for CloudEvent ${source}/${id} for gateway foo`,
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
    createPod(pod.body, (error) => {
      if (error) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end(String(error));
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
    });
  });
}

// Run as a script: the limit subject. Imported (by runtime-https.js and runtime-https-event.js):
// only createPodWithHttps and createEventWithHttps.
if (import.meta.main) {
  http.listen(Number(process.env.FUNC_PORT ?? 8080), '::');
  process.on('SIGTERM', () => http.close(() => process.exit(0)));
}

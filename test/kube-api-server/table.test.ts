// The test API server's Tables of pods (`kubectl get pods`) and cluster reads, over HTTPS.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { humanDuration, wantsTable } from '../../testbed/kube-api-server/table.ts';

let server: KubeApiServer;

before(async () => {
  server = await startKubeApiServer({ namespaces: ['default', 'client-system'] });
});

after(() => server?.close());

/** GET as kubectl sends it, with the given token and Accept header. */
function get(
  path: string,
  token: string,
  accept: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { ca: server.caPem, headers: { authorization: `Bearer ${token}`, accept } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const KUBECTL_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('Tables of pods', () => {
  it('answers kubectl’s Accept with the printer’s columns and a row per pod', async () => {
    server.addPod({
      metadata: { name: 'web', namespace: 'client-system', labels: { setGateway: 'foo' } },
      spec: { containers: [{ name: 'main', image: 'alpine' }] },
    });
    const { status, body } = await get(
      '/api/v1/namespaces/client-system/pods',
      server.token,
      KUBECTL_ACCEPT,
    );
    assert.equal(status, 200);
    const table = body as {
      kind: string;
      columnDefinitions: Array<{ name: string }>;
      rows: Array<{ cells: unknown[]; object: { metadata: { labels?: Record<string, string> } } }>;
    };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((column) => column.name).slice(0, 5), [
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
    ]);
    assert.deepEqual(table.rows[0]?.cells.slice(0, 4), ['web', '0/1', 'Pending', 0]);
    assert.equal(table.rows[0]?.object.metadata.labels?.setGateway, 'foo', 'metadata for -L');
    const plain = await get(
      '/api/v1/namespaces/client-system/pods',
      server.token,
      'application/json',
    );
    assert.equal((plain.body as { kind: string }).kind, 'PodList');
  });

  it('words durations as kubectl does', () => {
    assert.equal(humanDuration(45_000), '45s');
    assert.equal(humanDuration(119_000), '119s');
    assert.equal(humanDuration(192_000), '3m12s');
    assert.equal(humanDuration(25 * 60_000), '25m');
    assert.equal(humanDuration((5 * 60 + 3) * 60_000), '5h3m');
    assert.equal(humanDuration(52 * 3_600_000), '2d4h');
    assert.equal(wantsTable('application/json'), false);
    assert.equal(wantsTable(KUBECTL_ACCEPT), true);
  });
});

describe('cluster reads', () => {
  it('lists the namespaces, gets one, and lists no events', async () => {
    const namespaces = await get('/api/v1/namespaces', server.token, 'application/json');
    assert.equal(namespaces.status, 200);
    const names = (namespaces.body as { items: Array<{ metadata: { name: string } }> }).items.map(
      (item) => item.metadata.name,
    );
    assert.deepEqual(names, ['client-system', 'default']);
    const events = await get(
      '/api/v1/namespaces/client-system/events',
      server.token,
      'application/json',
    );
    assert.equal((events.body as { kind: string }).kind, 'EventList');
    const missing = await get('/api/v1/namespaces/nope', server.token, 'application/json');
    assert.equal(missing.status, 404);
  });
});

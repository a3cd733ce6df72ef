// Where `npm start` listens (issue 25): outside a cluster, with the user's own kubeconfig, on
// loopback only, so that no one else on the network makes pods with those credentials; in a
// cluster and where LISTEN_HOST says (func.yaml sets it for `func run`'s container), everywhere.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startInProcess } from '../../testbed/function-in-process.ts';
import {
  CAN_UNSHARE,
  type FunctionOptions,
  type ServedFunction,
  startFunction,
  withServiceAccountDir,
} from '../../testbed/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';

const NAMESPACE = 'default';

/** An address of this machine that is not loopback: how another machine would reach it. */
const OUTSIDE_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

/** Whether a TCP connection to host:port is taken (true) or refused (false). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

let server: KubeApiServer;
let workDir: string;
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-listen-'));
  server = await startKubeApiServer({ namespaces: [NAMESPACE] });
});
after(async () => {
  await server?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** In this process, unless the function must see other files (`wrap`): then in its own. */
async function withFunction(
  options: FunctionOptions,
  body: (fn: ServedFunction, port: number) => Promise<void>,
): Promise<void> {
  const fn = options.wrap ? await startFunction(options) : await startInProcess(options.env);
  try {
    await body(fn, Number(new URL(fn.url).port));
  } finally {
    await fn.stop();
  }
}

describe('where the function listens', {
  skip: !OUTSIDE_ADDRESS && 'no non-loopback address',
}, () => {
  it('outside a cluster: loopback only, and says so in one line', async () => {
    const kubeconfig = await server.writeKubeconfig(workDir);
    await withFunction({ env: { KUBECONFIG: kubeconfig } }, async (fn, port) => {
      assert.equal(await accepts('127.0.0.1', port), true);
      assert.equal(await accepts(OUTSIDE_ADDRESS ?? '', port), false, 'reachable from outside');
      const lines = fn
        .output()
        .split('\n')
        .filter((line) => line.includes('listening on'));
      assert.deepEqual(lines, [
        `podgateway client provisioner: listening on http://127.0.0.1:${port} (loopback only: not in a cluster; LISTEN_HOST=:: opens it)`,
      ]);
    });
  });

  it('LISTEN_HOST=:: (func.yaml, for func run’s container): every interface', async () => {
    const kubeconfig = await server.writeKubeconfig(workDir);
    await withFunction({ env: { KUBECONFIG: kubeconfig, LISTEN_HOST: '::' } }, async (fn, port) => {
      assert.equal(await accepts(OUTSIDE_ADDRESS ?? '', port), true);
      assert.match(
        fn.output(),
        new RegExp(`listening on http://\\[::\\]:${port} \\(LISTEN_HOST\\)`),
      );
    });
  });

  it('in a cluster (KUBERNETES_SERVICE_HOST): every interface', {
    skip: !CAN_UNSHARE && 'unshare --mount is not permitted here',
  }, async () => {
    const accountDir = join(workDir, 'serviceaccount');
    await mkdir(accountDir, { recursive: true });
    await server.writeServiceAccountDir(accountDir, NAMESPACE);
    const env = {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(server.port),
    };
    await withFunction({ env, wrap: withServiceAccountDir(accountDir) }, async (fn, port) => {
      assert.equal(await accepts(OUTSIDE_ADDRESS ?? '', port), true);
      assert.match(
        fn.output(),
        /listening on http:\/\/\[::\]:\d+ \(every interface: in a cluster\)/,
      );
    });
  });
});

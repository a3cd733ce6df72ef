// Bench baseline: a bare node:http server that answers every request with a binary-mode `done`
// CloudEvent, listening on FUNC_PORT as faas-js-runtime does.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const body = JSON.stringify({
      pod_name: 'none',
      namespace: 'none',
      gateway_name: 'none',
      message: 'bare',
    });
    response.writeHead(200, {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': randomUUID(),
      'ce-source': 'bench/bare-http',
      'ce-type': 'io.podgateway.client.scheduling.done',
      'ce-time': new Date().toISOString(),
      'ce-inresponseto': String(request.headers['ce-id'] ?? 'none'),
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
});
server.listen(Number(process.env.FUNC_PORT ?? 8080), '::');
process.on('SIGTERM', () => server.close(() => process.exit(0)));

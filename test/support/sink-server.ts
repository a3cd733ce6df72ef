// An event sink for tests: an HTTP server that records what is POSTed to it and answers as told.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudEventV1, HTTP } from 'cloudevents';

export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The CloudEvent the request carries, when it carries one. */
  readonly event: CloudEventV1<Record<string, unknown>> | undefined;
}

/** How to answer one request: a status, or 'hang' (never answer), or 'drop' (close the socket). */
export type SinkBehaviour = number | 'hang' | 'drop';

export interface SinkServer {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Answers the next requests with these, in order; then 202. */
  answerNext(...behaviours: SinkBehaviour[]): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startSinkServer(): Promise<SinkServer> {
  const received: ReceivedRequest[] = [];
  let queue: SinkBehaviour[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const message = { headers: req.headers, body };
      const event = HTTP.isEvent(message)
        ? (HTTP.toEvent(message) as CloudEventV1<Record<string, unknown>>)
        : undefined;
      received.push({ headers: req.headers, body, event });
      const behaviour = queue.shift() ?? 202;
      if (behaviour === 'hang') return;
      if (behaviour === 'drop') {
        req.socket.destroy();
        return;
      }
      res.statusCode = behaviour;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/replies`,
    received,
    answerNext(...behaviours) {
      queue.push(...behaviours);
    },
    reset() {
      received.length = 0;
      queue = [];
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

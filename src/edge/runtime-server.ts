// faas-js-runtime's Fastify server, as much of it as the function's edge uses (one copy of these
// types: Fastify is the runtime's dependency, not ours), and the one way to reach it.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { RequestLogger } from '../observability/event-log.ts';

/** As much of a Fastify request as the plugin uses. */
export interface EdgeRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: { readonly rawHeaders: readonly string[]; readonly url?: string | undefined };
  /** Fastify builds a new object on every read: read once. */
  readonly routeOptions?: { readonly url?: string | undefined };
  /** The runtime's context, made in its preHandler hook: what `handle` receives. */
  readonly fcontext?: object;
  readonly log: RequestLogger;
  /** Set by the runtime's metrics, see onRequest. */
  execTimer?: unknown;
}
export interface EdgeReply {
  readonly statusCode: number;
  readonly elapsedTime: number;
  code(status: number): EdgeReply;
  header(name: string, value: string): EdgeReply;
  removeHeader(name: string): EdgeReply;
  send(body: unknown): EdgeReply;
}
/** A route as it is added: its log level and body limit may still be changed. */
interface EdgeRoute {
  readonly url: string;
  readonly method: string | readonly string[];
  logLevel?: string;
  bodyLimit?: number;
}
interface ListenOptions {
  readonly port?: number | string;
  readonly host?: string;
}
/** As much of the Fastify instance as the plugin (and the log buffer) use. */
export interface RuntimeServer {
  readonly server: Server;
  /** The runtime's root logger (pino). */
  readonly log: RequestLogger;
  listen(options: ListenOptions): Promise<string>;
  addHook(name: 'onRoute', hook: (route: EdgeRoute) => void): unknown;
  addHook(
    name: 'onRequest',
    hook: (request: EdgeRequest, reply: EdgeReply) => Promise<unknown>,
  ): unknown;
  addHook(
    name: 'onResponse',
    hook: (request: EdgeRequest, reply: EdgeReply, done: () => void) => void,
  ): unknown;
  addHook(
    name: 'onError',
    hook: (request: EdgeRequest, reply: EdgeReply, error: Error, done: () => void) => void,
  ): unknown;
  addHook(
    name: 'onSend',
    hook: (
      request: EdgeRequest,
      reply: EdgeReply,
      payload: unknown,
      done: (error: null, payload: unknown) => void,
    ) => void,
  ): unknown;
}

const CHANNEL = 'fastify.initialization';

/** Calls `use` with the next Fastify instance made in this process: the runtime's, made after `init`. */
export function onNextRuntimeServer(use: (server: RuntimeServer) => void): void {
  const onInstance = (message: unknown): void => {
    if (!isInitialization(message)) return;
    unsubscribe(CHANNEL, onInstance);
    use(message.fastify);
  };
  subscribe(CHANNEL, onInstance);
}

function isInitialization(message: unknown): message is { fastify: RuntimeServer } {
  if (typeof message !== 'object' || message === null || !('fastify' in message)) return false;
  const server: unknown = message.fastify;
  return typeof server === 'object' && server !== null && 'addHook' in server;
}

// The runtime's logger (pino, made by Fastify inside faas-js-runtime) writes through a SonicBoom
// stream that buffers in the process whatever stdout has not taken yet, without limit: with stdout
// slow (a backed-up log pipe) and events arriving, the buffer outgrew the heap (issue 25). Its
// buffer is given a ceiling here; a line that does not fit is dropped and counted. Blocking on
// stdout instead (a synchronous destination) would stall every event and the health checks
// behind one slow reader.
import { logLinesDroppedTotal } from './metrics.ts';

/** Most bytes of log lines held for stdout: some thousands of lines, a few seconds of a burst. */
export const LOG_BUFFER_LIMIT = 1024 * 1024;

/** pino keeps its destination under this symbol (not a registered one: found by description). */
const PINO_STREAM = 'pino.stream';

/** As much of SonicBoom as is used: its byte limit, and the event of a dropped line. */
interface BufferedStream {
  maxLength: number;
  on(event: 'drop', listener: () => void): unknown;
}

/**
 * Bounds the buffer of the runtime's logger (its Fastify instance's, as start-up is handed it).
 * Says so in one line when the logger is not the one expected (a runtime upgrade).
 */
export function boundLogBuffer(logger: unknown, warn: (line: string) => void): void {
  const stream = loggerStream(logger);
  if (stream === undefined) {
    warn(
      'warning: the runtime logger is not pino writing to a SonicBoom stream: its buffer is not bounded',
    );
    return;
  }
  stream.maxLength = LOG_BUFFER_LIMIT;
  stream.on('drop', () => logLinesDroppedTotal.inc());
}

function loggerStream(logger: unknown): BufferedStream | undefined {
  if (typeof logger !== 'object' || logger === null) return undefined;
  const symbol = Object.getOwnPropertySymbols(logger).find((s) => s.description === PINO_STREAM);
  const stream: unknown = symbol === undefined ? undefined : Reflect.get(logger, symbol);
  return isBufferedStream(stream) ? stream : undefined;
}

function isBufferedStream(stream: unknown): stream is BufferedStream {
  return (
    typeof stream === 'object' &&
    stream !== null &&
    'maxLength' in stream &&
    typeof stream.maxLength === 'number' &&
    'on' in stream &&
    typeof stream.on === 'function'
  );
}

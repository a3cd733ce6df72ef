// `npm run invoke`: sends a `pending`, `release` or `sweep` CloudEvent to the function, in binary
// mode as `func invoke` does, and prints the reply readably. Exit code 0 for `done` (or 202: the
// reply went to K_SINK), 1 for `failed` or any other answer, 2 for a usage error.
//
//   npm run invoke -- --gateway foo [--message "..."]
//   npm run invoke -- --release client-0123456789abcdef0123
//   npm run invoke -- --sweep
//   npm run invoke -- --file samples/pending-bar.json [--type io.podgateway.client.release]
//   npm run invoke -- --help     (the options)

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type CloudEventV1, HTTP } from 'cloudevents';
import {
  RELEASE_DONE_TYPE,
  RELEASE_FAILED_TYPE,
  RELEASE_TYPE,
  SWEEP_DONE_TYPE,
  SWEEP_FAILED_TYPE,
  SWEEP_TYPE,
} from '../src/events/event-types.ts';
import { PENDING_TYPE } from '../src/events/pending-request.ts';
import { DONE_TYPE, FAILED_TYPE } from '../src/events/replies.ts';

const USAGE = `usage: npm run invoke -- (--gateway NAME [--message TEXT] | --release POD | --sweep
                        | --file PATH [--type TYPE]) [--url URL] [--source SOURCE] [--id ID]`;

const DONE_TYPES = [DONE_TYPE, RELEASE_DONE_TYPE, SWEEP_DONE_TYPE];
const FAILED_TYPES = [FAILED_TYPE, RELEASE_FAILED_TYPE, SWEEP_FAILED_TYPE];

const HELP = `${USAGE}

Sends a CloudEvent to the function in binary mode, as \`func invoke\` does, and prints the
reply: a pending event (type ${PENDING_TYPE}), a release or a sweep. Exit code 0 for done (or 202: the reply went to
K_SINK), 1 for failed or any other answer, 2 for a usage error.

  -g, --gateway NAME   the event data {"gateway_name": NAME}
      --message TEXT   with "message": TEXT in the data
      --release POD    a release event: {"pod_name": POD} (the name a done reply gave)
      --sweep          a sweep event: finished and expired pods deleted
  -f, --file PATH      the event data from a file, sent as it is (e.g. samples/pending-foo.json)
      --type TYPE      with --file: the event type (default ${PENDING_TYPE})
      --url URL        where the function listens (default http://localhost:$FUNC_PORT, 8080)
      --source SOURCE  ce-source (default /local/npm-run-invoke)
      --id ID          ce-id (default a random UUID; the same id again is a redelivery)
  -h, --help           this text

The -- after \`npm run invoke\` is needed: without it npm takes the options for its own.`;

/** Our options that npm takes for its own when the -- is missing: it sets npm_config_<name>. */
const OPTION_NAMES = [
  'gateway',
  'message',
  'release',
  'sweep',
  'file',
  'type',
  'url',
  'source',
  'id',
] as const;

/** The options npm took (`npm run invoke --gateway foo`, without the --). */
export function optionsTakenByNpm(env: NodeJS.ProcessEnv): string[] {
  return OPTION_NAMES.filter((name) => env[`npm_config_${name}`] !== undefined).map(
    (name) => `--${name}`,
  );
}

class UsageError extends Error {}

interface Invocation {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

async function parse(argv: string[]): Promise<Invocation | 'help'> {
  const taken = optionsTakenByNpm(process.env);
  if (taken.length > 0) {
    throw new UsageError(
      `npm took ${taken.join(', ')} for its own options: add -- before them, as in npm run invoke -- --gateway foo`,
    );
  }
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) return 'help';
  const chosen = [values.gateway, values.file, values.release, values.sweep || undefined];
  if (chosen.filter((value) => value !== undefined).length !== 1) {
    throw new UsageError('give one of --gateway, --release, --sweep or --file');
  }
  if (values.type !== undefined && values.file === undefined) {
    throw new UsageError('--type goes with --file');
  }
  let type = values.type ?? PENDING_TYPE;
  let body: string | undefined;
  if (values.release !== undefined) {
    type = RELEASE_TYPE;
    body = JSON.stringify({ pod_name: values.release });
  } else if (values.sweep) {
    type = SWEEP_TYPE;
  } else if (values.file !== undefined) {
    // Sent as it is, like `func invoke --file`: the function says what it thinks of it.
    body = await readFile(values.file, 'utf8');
  } else {
    const data: Record<string, string> = { gateway_name: values.gateway ?? '' };
    if (values.message !== undefined) data.message = values.message;
    body = JSON.stringify(data);
  }
  const port = process.env.FUNC_PORT ?? '8080';
  return {
    url: values.url ?? `http://localhost:${port}`,
    headers: {
      'ce-specversion': '1.0',
      'ce-id': values.id ?? randomUUID(),
      'ce-source': values.source ?? '/local/npm-run-invoke',
      'ce-type': type,
      'ce-time': new Date().toISOString(),
      // A sweep carries no data, and so no content type.
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body,
  };
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      gateway: { type: 'string', short: 'g' },
      release: { type: 'string' },
      sweep: { type: 'boolean' },
      type: { type: 'string' },
      message: { type: 'string' },
      file: { type: 'string', short: 'f' },
      url: { type: 'string' },
      source: { type: 'string' },
      id: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}

async function invoke(invocation: Invocation): Promise<number> {
  const { url, headers, body } = invocation;
  console.log(`→ POST ${url}   (binary mode)`);
  for (const name of ['ce-type', 'ce-source', 'ce-id']) console.log(`  ${name}: ${headers[name]}`);
  console.log(`  data: ${body?.trim() ?? '(none)'}`);

  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
    console.error(`✗ could not reach ${url}: ${cause || String(error)}`);
    console.error('  Is the function running? Start it with `npm run dev`.');
    return 1;
  }
  const text = await response.text();
  const responseHeaders = Object.fromEntries(response.headers);
  console.log(`← HTTP ${response.status} ${response.statusText}`);

  const message = { headers: responseHeaders, body: text };
  if (!HTTP.isEvent(message)) {
    if (response.status === 202) {
      console.log('  accepted, no reply event: the function sent it to its K_SINK');
      return 0;
    }
    if (text) console.log(`  ${text}`);
    return 1;
  }
  const reply = HTTP.toEvent(message) as CloudEventV1<Record<string, unknown>>;
  printEvent(reply);
  if (DONE_TYPES.includes(reply.type)) {
    console.log(`✓ done: ${String(reply.data?.message ?? '')}`);
    return 0;
  }
  if (FAILED_TYPES.includes(reply.type)) {
    console.log(`✗ failed (${String(reply.data?.reason)}): ${String(reply.data?.message ?? '')}`);
    return 1;
  }
  console.log(`? unexpected reply type ${reply.type}`);
  return 1;
}

function printEvent(event: CloudEventV1<Record<string, unknown>>): void {
  const attributes: Array<[string, unknown]> = [
    ['type', event.type],
    ['source', event.source],
    ['id', event.id],
    ['subject', event.subject],
    ['inresponseto', event.inresponseto],
    ['time', event.time],
  ];
  for (const [name, value] of attributes) {
    if (value !== undefined) console.log(`  ${name.padEnd(13)} ${String(value)}`);
  }
  console.log('  data:');
  for (const [key, value] of Object.entries(event.data ?? {})) {
    console.log(
      `    ${key.padEnd(13)} ${typeof value === 'string' ? value : JSON.stringify(value)}`,
    );
  }
}

try {
  const invocation = await parse(process.argv.slice(2));
  if (invocation === 'help') console.log(HELP);
  else process.exitCode = await invoke(invocation);
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`npm run invoke: ${error.message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`npm run invoke: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

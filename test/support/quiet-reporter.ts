// The reporter of `npm test`: a dot per test, then each failure in full (its error, and what its
// test file printed), then the runner's summary lines (`ℹ tests N`, `ℹ pass N`, `ℹ fail N`, …),
// which CI reads. Every test's name: node --test --test-reporter=spec "test/**/*.test.ts".

import type { TestEvent } from 'node:test/reporters';
import { inspect } from 'node:util';

const DOTS_PER_LINE = 80;

interface Failure {
  readonly name: string;
  readonly where: string;
  readonly error: unknown;
}

function location(file: string | undefined, line: number | undefined): string {
  if (file === undefined) return '';
  return line === undefined ? file : `${file}:${line}`;
}

/** The assertion or error itself, not the runner's wrapper around it. */
function describeError(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  return inspect(cause, { depth: 6, colors: false })
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function describeFailure({ name, where, error }: Failure, output: string | undefined): string {
  const printed = output ? `\n  output of ${where.split(':')[0]}:\n${output}` : '';
  return `✖ ${name}${where ? ` (${where})` : ''}\n${describeError(error)}${printed}\n`;
}

export default async function* quietReporter(
  source: AsyncIterable<TestEvent>,
): AsyncGenerator<string> {
  const failures: Failure[] = [];
  const outputByFile = new Map<string, string>();
  const summary: string[] = [];
  const todos: string[] = [];
  let dots = 0;
  const dot = (mark: string) => {
    dots += 1;
    return dots % DOTS_PER_LINE === 0 ? `${mark}\n` : mark;
  };
  for await (const event of source) {
    switch (event.type) {
      case 'test:pass':
        if (event.data.details.type !== 'suite') yield dot(event.data.skip ? 's' : '.');
        break;
      case 'test:fail':
        if (event.data.details.type === 'suite') break;
        // A todo's failure is known and does not fail the run: one line, apart.
        if (event.data.todo !== undefined && event.data.todo !== false) {
          todos.push(`todo (${String(event.data.todo)}): ${event.data.name}\n`);
          yield dot('t');
          break;
        }
        failures.push({
          name: event.data.name,
          where: location(event.data.file, event.data.line),
          error: event.data.details.error,
        });
        yield dot('✖');
        break;
      case 'test:stdout':
      case 'test:stderr': {
        const file = event.data.file ?? '';
        outputByFile.set(file, (outputByFile.get(file) ?? '') + event.data.message);
        break;
      }
      case 'test:diagnostic':
        if (event.data.nesting === 0) summary.push(`ℹ ${event.data.message}\n`);
        break;
      default:
        break;
    }
  }
  if (dots % DOTS_PER_LINE !== 0) yield '\n';
  if (todos.length > 0) yield `\n${todos.join('')}`;
  if (failures.length > 0) yield `\n${failures.length} failed:\n\n`;
  for (const failure of failures) {
    yield describeFailure(failure, outputByFile.get(failure.where.split(':')[0] ?? ''));
  }
  yield summary.join('');
}

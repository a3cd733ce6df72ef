// Configuration problems: each names its variable, and start-up reports every one at once.
/** A configuration value that cannot be used; names the variable so the operator can fix it. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Every problem of a configuration at once, one ConfigError each: start-up reports them all. */
export class ConfigErrors extends ConfigError {
  readonly problems: readonly ConfigError[];
  constructor(problems: readonly ConfigError[]) {
    super(problems.map((problem) => problem.variable).join(', '), 'several problems');
    this.name = 'ConfigErrors';
    this.message = problems.map((problem) => problem.message).join('\n');
    this.problems = problems;
  }
}

/** The ConfigErrors inside `error` (one or several); rethrows anything else. */
export function configProblems(error: unknown): readonly ConfigError[] {
  if (error instanceof ConfigErrors) return error.problems;
  if (error instanceof ConfigError) return [error];
  throw error;
}

/** Throws nothing, the one problem, or all of them as ConfigErrors. */
export function throwProblems(problems: readonly ConfigError[]): void {
  const unique = problems.filter(
    (problem, index) => problems.findIndex((other) => other.message === problem.message) === index,
  );
  const [first] = unique;
  if (first === undefined) return;
  throw unique.length === 1 ? first : new ConfigErrors(unique);
}

type Parsers<T> = { readonly [K in keyof T]: () => T[K] };

/**
 * Runs every field's parser and every check, even after one has failed, so that a start-up
 * reports every bad variable at once. A parser or check reports a problem by throwing a
 * ConfigError; a problem reported twice is reported once.
 */
export function parseAll<T extends object>(
  parsers: Parsers<T>,
  checks: ReadonlyArray<() => void> = [],
): T {
  const problems: ConfigError[] = [];
  const attempt = <V>(parse: () => V): V | undefined => {
    try {
      return parse();
    } catch (error) {
      problems.push(...configProblems(error));
      return undefined;
    }
  };
  const parse: ReadonlyArray<readonly [string, () => unknown]> = Object.entries(parsers);
  const fields = parse.map(([key, parseField]) => [key, attempt(parseField)] as const);
  for (const check of checks) attempt(check);
  throwProblems(problems);
  // Every key of T has its parser's value: nothing failed.
  return Object.freeze(Object.fromEntries(fields)) as T;
}

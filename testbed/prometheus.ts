// Just enough of Prometheus for the tests to check queries against a real /metrics: the text
// exposition format (names, types, labels of the samples) and the names a PromQL expression uses
// (metric names, label matchers, grouping labels). Not a full PromQL parser: it reads the token
// stream, which is all it takes to tell a metric name from a function, a keyword or a label.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** The family name of each `# TYPE` line, and its type (counter, gauge, histogram, summary…). */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) types.set(type[1], type[2]);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!sample?.[1] || sample[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1] !== undefined && pair[2] !== undefined) labels[pair[1]] = pair[2];
    }
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

/** The series names a family of each type is scraped as: a histogram `x` is never `x` itself. */
const SERIES_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** Every series name a query may use, from the `# TYPE` lines (samples or not). */
export function seriesNames(exposition: Exposition): Set<string> {
  const names = new Set<string>();
  for (const [family, type] of exposition.types) {
    for (const suffix of SERIES_SUFFIXES[type] ?? ['']) names.add(family + suffix);
  }
  return names;
}

export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly label: string;
  readonly operator: MatchOperator;
  readonly value: string;
}

export interface VectorSelector {
  readonly metric: string;
  readonly matchers: readonly LabelMatcher[];
}

export interface QueryNames {
  readonly selectors: readonly VectorSelector[];
  /** Labels named by `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`. */
  readonly groupingLabels: readonly string[];
}

interface Token {
  readonly kind: 'identifier' | 'string' | 'variable' | 'number' | 'punctuation';
  readonly text: string;
}

// Order matters: a string before anything that could start inside one, `=~` before `=`.
const TOKEN_PATTERNS: ReadonlyArray<readonly [Token['kind'] | 'skip', RegExp]> = [
  ['skip', /^(?:\s+|#[^\n]*)/],
  ['string', /^(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/],
  // Grafana's template variables: $namespace, ${namespace}, $__rate_interval.
  ['variable', /^\$(?:\{[^}]*\}|\w+)/],
  // Numbers and durations (5m, 1h30m, 0.99, 1e3).
  ['number', /^\.?\d[\w.]*/],
  ['identifier', /^[a-zA-Z_:][\w:]*/],
  ['punctuation', /^(?:=~|!~|!=|==|>=|<=|[-+*/%^=<>(){}[\],@:])/],
];

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let rest = expression;
  while (rest.length > 0) {
    const found = TOKEN_PATTERNS.map(([kind, pattern]) => [kind, pattern.exec(rest)?.[0]] as const)
      .filter((entry): entry is readonly [Token['kind'] | 'skip', string] => Boolean(entry[1]))
      .at(0);
    if (!found) throw new Error(`PromQL: cannot read ${JSON.stringify(rest.slice(0, 20))}`);
    const [kind, text] = found;
    if (kind !== 'skip') tokens.push({ kind, text });
    rest = rest.slice(text.length);
  }
  return tokens;
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
const LABEL_LIST_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
]);
const OTHER_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

function unquote(text: string): string {
  const body = text.slice(1, -1);
  return text.startsWith('`') ? body : body.replace(/\\(.)/g, '$1');
}

/** Reads `{label op "value", …}` from the `{` at `start`; returns the matchers and the `}`. */
function readMatchers(tokens: Token[], start: number): { matchers: LabelMatcher[]; end: number } {
  const matchers: LabelMatcher[] = [];
  let i = start + 1;
  while (tokens[i]?.text !== '}') {
    const [label, operator, value] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (
      label?.kind !== 'identifier' ||
      !['=', '!=', '=~', '!~'].includes(operator?.text ?? '') ||
      value?.kind !== 'string'
    ) {
      throw new Error(`PromQL: a label matcher expected at ${tokens[i]?.text ?? 'the end'}`);
    }
    matchers.push({
      label: label.text,
      operator: operator?.text as MatchOperator,
      value: unquote(value.text),
    });
    i += 3;
    if (tokens[i]?.text === ',') i += 1;
  }
  return { matchers, end: i };
}

/** Reads `(a, b)` from the `(` at `start`; returns the labels and the `)`. */
function readLabelList(tokens: Token[], start: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let i = start + 1;
  while (tokens[i]?.text !== ')') {
    const token = tokens[i];
    if (token?.kind !== 'identifier') throw new Error('PromQL: a label name expected in (…)');
    labels.push(token.text);
    i += tokens[i + 1]?.text === ',' ? 2 : 1;
  }
  return { labels, end: i };
}

/** The index of the `]` closing the `[` at `start` (a range or subquery: no names inside). */
function skipRange(tokens: Token[], start: number): number {
  let i = start;
  while (i < tokens.length && tokens[i]?.text !== ']') i += 1;
  return i;
}

/** The metric names, label matchers and grouping labels of a PromQL expression. */
export function readQuery(expression: string): QueryNames {
  const tokens = tokenize(expression);
  const selectors: VectorSelector[] = [];
  const groupingLabels: string[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    const next = tokens[i + 1];
    if (token?.text === '[') {
      i = skipRange(tokens, i);
    } else if (token?.text === '{') {
      throw new Error('PromQL: a selector without a metric name');
    } else if (token?.kind === 'identifier' && LABEL_LIST_KEYWORDS.has(token.text)) {
      if (next?.text !== '(') continue;
      const { labels, end } = readLabelList(tokens, i + 1);
      groupingLabels.push(...labels);
      i = end;
    } else if (token?.kind === 'identifier') {
      const isName =
        next?.text !== '(' && !AGGREGATIONS.has(token.text) && !OTHER_KEYWORDS.has(token.text);
      if (!isName) continue;
      if (next?.text !== '{') {
        selectors.push({ metric: token.text, matchers: [] });
        continue;
      }
      const { matchers, end } = readMatchers(tokens, i + 1);
      selectors.push({ metric: token.text, matchers });
      i = end;
    }
  }
  return { selectors, groupingLabels };
}

/**
 * A Grafana variable query: `label_values(selector, label)` reads as the selector, with the
 * label as a grouping label (it must exist on the series); anything else as PromQL.
 */
export function readVariableQuery(query: string): QueryNames {
  const labelValues = /^\s*label_values\((.*),\s*(\w+)\s*\)\s*$/s.exec(query);
  if (!labelValues?.[1] || !labelValues[2]) return readQuery(query);
  const { selectors, groupingLabels } = readQuery(labelValues[1]);
  return { selectors, groupingLabels: [...groupingLabels, labelValues[2]] };
}

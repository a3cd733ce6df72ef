// Label and field selectors as the API server parses them for list and watch.
import type { PodObject } from './validation.ts';
import { isQualifiedName, isValidLabelValue } from './validation.ts';

export type Matcher<T> = (value: T) => boolean;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

type Labels = Readonly<Record<string, string>> | undefined;

/** Split on commas that are not inside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

const SET_TERM = /^(\S+)\s+(in|notin)\s*\((.*)\)$/;
const COMPARISON_TERM = /^([^!=<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/;

function requirementError(term: string, detail: string): ParseResult<never> {
  return { ok: false, message: `unable to parse requirement: ${JSON.stringify(term)}: ${detail}` };
}

function checkKey(key: string, term: string): ParseResult<never> | undefined {
  const problems = isQualifiedName(key);
  return problems.length > 0
    ? requirementError(term, `invalid label key: ${problems.join('; ')}`)
    : undefined;
}

function checkValue(value: string, term: string): ParseResult<never> | undefined {
  const problems = isValidLabelValue(value);
  return problems.length > 0
    ? requirementError(term, `invalid label value: ${problems.join('; ')}`)
    : undefined;
}

function parseRequirement(term: string): ParseResult<Matcher<Labels>> {
  if (term.startsWith('!')) {
    const key = term.slice(1).trim();
    return checkKey(key, term) ?? { ok: true, value: (labels) => labels?.[key] === undefined };
  }
  const set = SET_TERM.exec(term);
  if (set !== null) {
    const [, key = '', operator, list = ''] = set;
    const values = list
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    for (const value of values) {
      const error = checkValue(value, term);
      if (error) return error;
    }
    const error = checkKey(key, term);
    if (error) return error;
    if (operator === 'in') {
      return { ok: true, value: (labels) => values.includes(labels?.[key] ?? '\0absent') };
    }
    return {
      ok: true,
      value: (labels) => labels?.[key] === undefined || !values.includes(labels[key]),
    };
  }
  const comparison = COMPARISON_TERM.exec(term);
  if (comparison !== null) {
    const [, key = '', operator, value = ''] = comparison;
    const error = checkKey(key, term);
    if (error) return error;
    if (operator === '>' || operator === '<') {
      const bound = Number(value);
      if (!/^-?\d+$/.test(value))
        return requirementError(term, 'for > and < operators, the value must be an integer');
      return {
        ok: true,
        value: (labels) => {
          const actual = labels?.[key];
          if (actual === undefined || !/^-?\d+$/.test(actual)) return false;
          return operator === '>' ? Number(actual) > bound : Number(actual) < bound;
        },
      };
    }
    const valueError = checkValue(value, term);
    if (valueError) return valueError;
    if (operator === '!=') return { ok: true, value: (labels) => labels?.[key] !== value };
    return { ok: true, value: (labels) => labels?.[key] === value };
  }
  if (/^[^\s!=<>(),]+$/.test(term)) {
    return checkKey(term, term) ?? { ok: true, value: (labels) => labels?.[term] !== undefined };
  }
  return requirementError(term, 'found unexpected token');
}

/** `app=web,tier!=db,canary,!legacy,env in (a,b),env notin (c)`. Empty matches everything. */
export function parseLabelSelector(text: string): ParseResult<Matcher<Labels>> {
  if (text.trim() === '') return { ok: true, value: () => true };
  const matchers: Matcher<Labels>[] = [];
  for (const term of splitTopLevel(text)) {
    if (term === '') return requirementError(term, 'found empty requirement');
    const parsed = parseRequirement(term);
    if (!parsed.ok) return parsed;
    matchers.push(parsed.value);
  }
  return { ok: true, value: (labels) => matchers.every((m) => m(labels)) };
}

/** The field labels a pod list or watch may select on (pkg/registry/core/pod ToSelectableFields). */
const POD_FIELDS: Record<string, (pod: PodObject) => string> = {
  'metadata.name': (pod) => pod.metadata?.name ?? '',
  'metadata.namespace': (pod) => pod.metadata?.namespace ?? '',
  'spec.nodeName': (pod) => pod.spec?.nodeName ?? '',
  'spec.restartPolicy': (pod) => pod.spec?.restartPolicy ?? '',
  'spec.schedulerName': (pod) => pod.spec?.schedulerName ?? '',
  'spec.serviceAccountName': (pod) => pod.spec?.serviceAccountName ?? '',
  'spec.hostNetwork': (pod) => String(pod.spec?.hostNetwork ?? false),
  'status.phase': (pod) => pod.status?.phase ?? '',
  'status.podIP': (pod) => pod.status?.podIP ?? '',
  'status.nominatedNodeName': (pod) => pod.status?.nominatedNodeName ?? '',
};

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** `metadata.name=x,status.phase!=Running` over a pod's selectable fields. */
export function parseFieldSelector(text: string): ParseResult<{
  matches: Matcher<PodObject>;
  requirements: FieldRequirement[];
}> {
  const requirements: FieldRequirement[] = [];
  if (text.trim() !== '') {
    for (const term of text.split(',').map((t) => t.trim())) {
      const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
      if (match === null) {
        return { ok: false, message: `invalid selector: '${text}'; can't understand '${term}'` };
      }
      const [, field = '', operator, value = ''] = match;
      if (!(field in POD_FIELDS))
        return { ok: false, message: `field label not supported: ${field}` };
      requirements.push({ field, operator: operator === '!=' ? '!=' : '=', value });
    }
  }
  const matches = (pod: PodObject) =>
    requirements.every((r) => {
      const actual = POD_FIELDS[r.field]?.(pod) ?? '';
      return r.operator === '=' ? actual === r.value : actual !== r.value;
    });
  return { ok: true, value: { matches, requirements } };
}

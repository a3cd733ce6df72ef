// From an HTTP request to the authorization attributes the API server derives from it
// (k8s.io/apiserver/pkg/endpoints/request RequestInfoFactory), and RBAC Role rules over them.

/** What the authorizer sees; `verb` is an RBAC verb. */
export interface RequestAttributes {
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  apiGroup: string;
}

export type RequestInfo =
  | { readonly kind: 'nonResource'; readonly path: string; readonly verb: string }
  | {
      readonly kind: 'resource';
      readonly attributes: RequestAttributes;
      readonly apiVersion: string;
      /** resource/name/subresource/... as in the path, after the namespace */
      readonly parts: readonly string[];
    };

const API_PREFIXES = ['api', 'apis'];
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function httpVerb(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

function splitPath(pathname: string): string[] | undefined {
  const trimmed = pathname.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return [];
  try {
    return trimmed.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** RequestInfoFactory.NewRequestInfo, for the core group (`/api/v1`) and named groups. */
export function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const nonResource: RequestInfo = {
    kind: 'nonResource',
    path: pathname,
    verb: method.toLowerCase(),
  };
  const segments = splitPath(pathname);
  if (segments === undefined || !API_PREFIXES.includes(segments[0] ?? '')) return nonResource;
  let rest = segments.slice(1);
  let apiGroup = '';
  if (segments[0] === 'apis') {
    if (rest.length < 3) return nonResource; // /apis, /apis/group, /apis/group/version
    apiGroup = rest[0] ?? '';
    rest = rest.slice(1);
  } else if (rest.length < 2) {
    return nonResource; // /api, /api/v1
  }
  const apiVersion = apiGroup === '' ? (rest[0] ?? '') : `${apiGroup}/${rest[0] ?? ''}`;
  rest = rest.slice(1);

  let verb = httpVerb(method);
  if (verb === '') verb = method.toLowerCase();
  if (rest[0] === 'watch' && method === 'GET') {
    verb = 'watch';
    rest = rest.slice(1);
  }

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const [resource = '', name, subresource] = rest;
  const attributes: RequestAttributes = { verb, resource, apiGroup };
  if (namespace !== undefined) attributes.namespace = namespace;
  if (name !== undefined) attributes.name = name;
  if (subresource !== undefined) attributes.subresource = subresource;

  if (name === undefined && verb === 'get') {
    const watching = query.get('watch');
    attributes.verb = watching === 'true' || watching === '1' ? 'watch' : 'list';
    // A list or watch of one object by name is authorized as for that name.
    const byName = exactNameSelector(query.get('fieldSelector') ?? '');
    if (byName !== undefined) attributes.name = byName;
  }
  if (name === undefined && verb === 'delete') attributes.verb = 'deletecollection';
  return { kind: 'resource', attributes, apiVersion, parts: rest };
}

function exactNameSelector(selector: string): string | undefined {
  for (const term of selector.split(',')) {
    const match = /^\s*metadata\.name\s*==?\s*([^\s]+)\s*$/.exec(term);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// RBAC

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

export type Authorizer = (attrs: RequestAttributes) => boolean;

function resourceMatches(rule: PolicyRule, attrs: RequestAttributes): boolean {
  const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return (rule.resources ?? []).some(
    (resource) =>
      resource === '*' ||
      resource === combined ||
      // `*/scale` matches the scale subresource of any resource
      (attrs.subresource !== undefined && resource === `*/${attrs.subresource}`),
  );
}

/** Does one rule of a Role or ClusterRole allow the request (rbac/v1 helpers.RuleAllows)? */
export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  const verbOk = rule.verbs.some((v) => v === '*' || v === attrs.verb);
  const groupOk = (rule.apiGroups ?? []).some((g) => g === '*' || g === attrs.apiGroup);
  const names = rule.resourceNames ?? [];
  const nameOk = names.length === 0 || (attrs.name !== undefined && names.includes(attrs.name));
  return verbOk && groupOk && resourceMatches(rule, attrs) && nameOk;
}

/** An authorizer granting what a Role with these rules, bound in `namespace`, grants. */
export function authorizerFromRules(rules: readonly PolicyRule[], namespace: string): Authorizer {
  return (attrs) => attrs.namespace === namespace && rules.some((rule) => ruleAllows(rule, attrs));
}

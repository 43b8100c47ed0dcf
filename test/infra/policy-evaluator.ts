/**
 * A small evaluator of identity-policy statements, enough to ask of a synthesized role "may it call this action on
 * this resource, with this request context?": Allow statements only (the controller's policies have no Deny), actions
 * and resources matched with `*` and `?` wildcards, and the condition operators those policies use. IAM User Guide,
 * "Policy evaluation logic" (an implicit deny unless an Allow statement matches action, resource and every
 * condition) and "IAM JSON policy elements: Condition operators" (a key missing from the request context does not
 * satisfy StringEquals/StringLike/ArnLike; `Null: false` asks that the key be present; a condition with several keys
 * needs all of them; several values of one key need any of them).
 */

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface Request {
  action: string;
  resource: string;
  /** Request context keys: aws:ResourceTag/<key>, aws:RequestTag/<key>, service keys (a list: multivalued). */
  context?: Record<string, string | string[]>;
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** IAM's wildcard match: `*` any run of characters, `?` one character; action names case-insensitively. */
export function wildcard(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, caseInsensitive ? 'i' : '').test(value);
}

function conditionHolds(
  operator: string,
  key: string,
  values: string[],
  context: Record<string, string | string[]>,
): boolean {
  const value = context[key];
  // IAM User Guide, "Set operators for multivalued context keys": ForAllValues holds when every value of the
  // request's key is allowed, and when the request has no such key.
  if (operator.startsWith('ForAllValues:')) {
    const inner = operator.slice('ForAllValues:'.length);
    return list(value ?? []).every((v) => conditionHolds(inner, key, values, { [key]: v }));
  }
  const actual = Array.isArray(value) ? undefined : value;
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
      return actual !== undefined && values.includes(actual);
    case 'StringLike':
    case 'ArnLike':
      return actual !== undefined && values.some((v) => wildcard(v, actual));
    case 'Null':
      return values.includes(actual === undefined ? 'true' : 'false');
    default:
      throw new Error(`the evaluator does not know condition operator ${operator}`);
  }
}

export function allows(statements: readonly Statement[], request: Request): boolean {
  const context = request.context ?? {};
  return statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => wildcard(a, request.action, true)) &&
      list(s.Resource as string | string[]).some(
        (r) => typeof r === 'string' && wildcard(r, request.resource),
      ) &&
      Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
        Object.entries(keys).every(([key, v]) => conditionHolds(operator, key, list(v), context)),
      ),
  );
}

/**
 * A resolved template value with the pseudo parameters given (`{Ref: AWS::Partition}` → `aws`), any other reference
 * as `<logical id>` or `<logical id>.<attribute>`: policies of the template as IAM would read them.
 */
export function resolve(value: unknown, pseudo: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, pseudo));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return pseudo[o.Ref] ?? `<${o.Ref}>`;
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att)) return `<${att.join('.')}>`;
    const join = o['Fn::Join'];
    if (Array.isArray(join)) {
      const [sep, parts] = join as [string, unknown[]];
      return parts.map((p) => String(resolve(p, pseudo))).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v, pseudo)]));
  }
  return value;
}

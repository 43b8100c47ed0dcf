/**
 * IAM statements with their cdk-nag acknowledgments: a wildcard resource is granted only with the reason it cannot
 * be narrower, and that reason acknowledges exactly that finding.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ControllerFunction } from './controller-function';

/** cdk-nag v3 acknowledgments (CDK's Validations): one per finding, each with its reason. */
export function acknowledge(scope: Construct, rules: { id: string; reason: string }[]) {
  Validations.of(scope).acknowledge(...rules);
}

/**
 * Add a statement to a role; every wildcard resource in it must come with the reason it cannot be narrower,
 * which becomes the cdk-nag acknowledgment of exactly that finding (`AwsSolutions-IAM5[Resource::...]`).
 */
export class Grants {
  private readonly reasons = new Map<Construct, Map<string, string>>();

  constructor(private readonly stack: Stack) {}

  allow(fn: ControllerFunction, statement: iam.PolicyStatement, wildcardReason?: string) {
    fn.role.addToPrincipalPolicy(statement);
    for (const resource of statement.resources) {
      const rendered = nagRendering(this.stack.resolve(resource));
      if (!rendered.includes('*')) continue;
      if (!wildcardReason) throw new Error(`wildcard resource ${rendered} needs a reason`);
      this.reason(fn, rendered, wildcardReason);
    }
  }

  /** A reason for one wildcard resource as cdk-nag renders it; several statements' reasons are kept together. */
  reason(fn: ControllerFunction, rendered: string, reason: string) {
    const forFn = this.reasons.get(fn) ?? new Map<string, string>();
    const known = forFn.get(rendered);
    forFn.set(
      rendered,
      known === undefined || known.includes(reason) ? (known ?? reason) : `${known} ${reason}`,
    );
    this.reasons.set(fn, forFn);
  }

  acknowledgeAll() {
    for (const [scope, reasons] of this.reasons) {
      acknowledge(
        scope,
        [...reasons].map(([resource, reason]) => ({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason,
        })),
      );
    }
  }
}

/**
 * A resolved value as cdk-nag prints it in a finding: `{Ref: X}` → `<X>`, `{Fn::GetAtt: [X, Y]}` → `<X.Y>`,
 * `${X}` in an `Fn::Sub` → `<X>`.
 */
export function nagRendering(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att)) return `<${att.join('.')}>`;
    const sub = o['Fn::Sub'];
    if (typeof sub === 'string') return sub.replace(/\$\{([^}]+)\}/g, '<$1>');
    const join = o['Fn::Join'];
    if (Array.isArray(join)) {
      const [sep, parts] = join as [string, unknown[]];
      return parts.map(nagRendering).join(sep);
    }
  }
  return JSON.stringify(value);
}

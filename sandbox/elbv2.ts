/**
 * The local load balancer (sandbox/load-balancer.ts) as the ELBv2 API answers it, for the real ALB router
 * (functions/adapters/aws/alb.ts) to drive through a real SDK client: its `send` runs the client's middleware
 * stack (where the benchmark counts each request, sandbox/sdk-backed.ts) and is answered here instead of over
 * HTTP. It answers what that router sends for a route on a listener rule without a header rule.
 *
 * What it imitates, from the ELBv2 API reference:
 * - DescribeRules: by RuleArns, or every rule of a listener (its rules by priority, then the default rule,
 *   `IsDefault`, priority `default`); RuleNotFound / ListenerNotFound otherwise. At most 100 rules a listener
 *   ("Quotas for your Application Load Balancers"), answered in one page.
 * - DescribeListeners (ListenerArns), DescribeTargetGroups (TargetGroupArns, each with its LoadBalancerArns),
 *   DescribeTargetGroupAttributes: TargetGroupNotFound / ListenerNotFound for an unknown ARN.
 * - ModifyRule / ModifyListener: the actions replace the rule's (listener's default) actions; the forward action's
 *   ForwardConfig holds the target groups' weights (0-999, API_TargetGroupTuple) and the group stickiness.
 *   Describe* answers with what the API holds at once; the data plane follows `propagationMs` later.
 */
import type { Action, ElasticLoadBalancingV2Client, Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ServiceConfig } from '../functions/core/config';
import { awsError } from './aws-error';
import type { ListenerState, LocalLoadBalancer } from './load-balancer';

/** The load balancer of a listener (or listener rule) ARN: `…:listener/app/<name>/<lb id>/<listener id>`. */
export function loadBalancerOf(arn: string): string {
  const [prefix, path = ''] = arn.split(/:listener(?:-rule)?\//);
  const [type, name, id] = path.split('/');
  return `${prefix}:loadbalancer/${type}/${name}/${id}`;
}

interface RuleEntry {
  ruleArn: string;
  listenerArn: string;
  priority: number;
  service: string;
}

/** What one request the double answered was: the operation and its input, for tests to check against the model. */
export interface Elbv2Request {
  operation: string;
  input: Record<string, unknown>;
}

export class LocalElbv2 {
  private readonly rules = new Map<string, RuleEntry>();
  /** target group → the load balancer whose listener forwards to it. */
  private readonly targetGroupLbs = new Map<string, string>();
  /** Every request answered, in order. */
  readonly received: Elbv2Request[] = [];

  constructor(
    private readonly lb: LocalLoadBalancer,
    configs: readonly ServiceConfig[],
  ) {
    const next = new Map<string, number>();
    for (const c of configs) {
      const t = c.traffic;
      if (t.kind !== 'alb') continue;
      for (const tg of [t.stableTargetGroupArn, t.canaryTargetGroupArn])
        this.targetGroupLbs.set(tg, loadBalancerOf(t.listenerArn));
      if (!t.ruleArn) continue;
      const priority = (next.get(t.listenerArn) ?? 0) + 1;
      next.set(t.listenerArn, priority);
      this.rules.set(t.ruleArn, {
        ruleArn: t.ruleArn,
        listenerArn: t.listenerArn,
        priority,
        service: c.service,
      });
    }
  }

  /** The forward action of a state as Describe* returns it (stable first: the order the weights were set in). */
  private actions(state: ListenerState): Action[] {
    const groups = Object.entries(state.weights).map(([TargetGroupArn, Weight]) => ({
      TargetGroupArn,
      Weight,
    }));
    if (groups.length === 0)
      return [{ Type: 'fixed-response', Order: 1, FixedResponseConfig: { StatusCode: '404' } }];
    return [
      {
        Type: 'forward',
        Order: 1,
        ...(groups.length === 1 ? { TargetGroupArn: groups[0]?.TargetGroupArn } : {}),
        ForwardConfig: {
          TargetGroups: groups,
          TargetGroupStickinessConfig: state.stickinessSeconds
            ? { Enabled: true, DurationSeconds: state.stickinessSeconds }
            : { Enabled: false },
        },
      },
    ];
  }

  private rule(entry: RuleEntry): Rule {
    const state = this.lb.configuredState(entry.ruleArn);
    if (!state) throw awsError('RuleNotFoundException', `One or more rules not found: ${entry.ruleArn}`);
    return {
      RuleArn: entry.ruleArn,
      Priority: String(entry.priority),
      IsDefault: false,
      Conditions: [
        {
          Field: 'host-header',
          HostHeaderConfig: { Values: [`${entry.service}.shop.example`] },
          Values: [`${entry.service}.shop.example`],
        },
      ],
      Actions: this.actions(state),
    };
  }

  private listenerState(listenerArn: string): ListenerState {
    const state = this.rules.has(listenerArn) ? undefined : this.lb.configuredState(listenerArn);
    if (!state)
      throw awsError('ListenerNotFoundException', `One or more listeners not found: ${listenerArn}`);
    return state;
  }

  describeRules(input: { RuleArns?: string[]; ListenerArn?: string }) {
    if (input.RuleArns) {
      return {
        Rules: input.RuleArns.map((arn) => {
          const entry = this.rules.get(arn);
          if (!entry) throw awsError('RuleNotFoundException', `One or more rules not found: ${arn}`);
          return this.rule(entry);
        }),
      };
    }
    const listenerArn = input.ListenerArn ?? '';
    const state = this.listenerState(listenerArn);
    const own = [...this.rules.values()].filter((r) => r.listenerArn === listenerArn);
    const defaultRule: Rule = {
      RuleArn: `${listenerArn.replace(':listener/', ':listener-rule/')}/default`,
      Priority: 'default',
      IsDefault: true,
      Conditions: [],
      Actions: this.actions(state),
    };
    return { Rules: [...own.sort((a, b) => a.priority - b.priority).map((r) => this.rule(r)), defaultRule] };
  }

  describeListeners(input: { ListenerArns?: string[] }) {
    return {
      Listeners: (input.ListenerArns ?? []).map((arn) => ({
        ListenerArn: arn,
        LoadBalancerArn: loadBalancerOf(arn),
        Port: 443,
        Protocol: 'HTTPS' as const,
        DefaultActions: this.actions(this.listenerState(arn)),
      })),
    };
  }

  describeTargetGroups(input: { TargetGroupArns?: string[] }) {
    return {
      TargetGroups: (input.TargetGroupArns ?? []).map((arn) => {
        const lb = this.targetGroupLbs.get(arn);
        if (!lb || !this.lb.targetGroups.has(arn))
          throw awsError('TargetGroupNotFoundException', `One or more target groups not found`);
        return {
          TargetGroupArn: arn,
          TargetGroupName: arn.split('/')[1],
          Protocol: 'HTTP' as const,
          Port: 8080,
          TargetType: 'ip' as const,
          LoadBalancerArns: [lb],
        };
      }),
    };
  }

  describeTargetGroupAttributes(input: { TargetGroupArn?: string }) {
    if (!this.targetGroupLbs.has(input.TargetGroupArn ?? ''))
      throw awsError('TargetGroupNotFoundException', `One or more target groups not found`);
    return {
      Attributes: [
        { Key: 'stickiness.enabled', Value: 'false' },
        { Key: 'stickiness.type', Value: 'lb_cookie' },
        { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
      ],
    };
  }

  /** The forward action of `actions` as the local load balancer's state: weights, group stickiness. */
  private stateOf(actions: readonly Action[]): ListenerState {
    const forward = actions.find((a) => a.Type === 'forward');
    const groups = forward?.ForwardConfig?.TargetGroups ?? [];
    const weights: Record<string, number> = {};
    for (const g of groups) {
      const weight = g.Weight ?? 1;
      if (!g.TargetGroupArn || !this.targetGroupLbs.has(g.TargetGroupArn))
        throw awsError('TargetGroupNotFoundException', `One or more target groups not found`);
      if (!Number.isInteger(weight) || weight < 0 || weight > 999)
        throw awsError('ValidationError', `target group weight ${weight} is not an integer 0-999`);
      weights[g.TargetGroupArn] = weight;
    }
    const stickiness = forward?.ForwardConfig?.TargetGroupStickinessConfig;
    return {
      weights,
      ...(stickiness?.Enabled && stickiness.DurationSeconds
        ? { stickinessSeconds: stickiness.DurationSeconds }
        : {}),
    };
  }

  modifyRule(input: { RuleArn?: string; Actions?: Action[] }) {
    const entry = this.rules.get(input.RuleArn ?? '');
    if (!entry) throw awsError('RuleNotFoundException', `One or more rules not found: ${input.RuleArn}`);
    if (input.Actions) this.lb.configure(entry.ruleArn, this.stateOf(input.Actions));
    return { Rules: [this.rule(entry)] };
  }

  modifyListener(input: { ListenerArn?: string; DefaultActions?: Action[] }) {
    const arn = input.ListenerArn ?? '';
    this.listenerState(arn);
    if (input.DefaultActions) this.lb.configure(arn, this.stateOf(input.DefaultActions));
    return this.describeListeners({ ListenerArns: [arn] });
  }

  /** Answers one request by its operation (`DescribeRules`…); an operation it does not answer is an error. */
  answer(operation: string, input: Record<string, unknown>): unknown {
    const handlers: Record<string, (input: never) => unknown> = {
      DescribeRules: (i) => this.describeRules(i),
      DescribeListeners: (i) => this.describeListeners(i),
      DescribeTargetGroups: (i) => this.describeTargetGroups(i),
      DescribeTargetGroupAttributes: (i) => this.describeTargetGroupAttributes(i),
      ModifyRule: (i) => this.modifyRule(i),
      ModifyListener: (i) => this.modifyListener(i),
    };
    const handler = handlers[operation];
    if (!handler) throw new Error(`the local ELBv2 does not answer ${operation}`);
    this.received.push({ operation, input: structuredClone(input) });
    return structuredClone(handler(input as never));
  }

  /**
   * A real ELBv2 SDK client whose requests this double answers: a middleware at the end of the client's
   * `initialize` step answers instead of serializing and sending, so every middleware added before it (the
   * benchmark's count) sees each `send`.
   */
  client(client: ElasticLoadBalancingV2Client): ElasticLoadBalancingV2Client {
    client.middlewareStack.add(
      (_next, context) => async (args) => ({
        output: {
          ...(this.answer(
            (context.commandName ?? '').replace(/Command$/, ''),
            args.input as Record<string, unknown>,
          ) as object),
          $metadata: { httpStatusCode: 200 },
        } as never,
        response: {},
      }),
      { step: 'initialize', priority: 'low', name: 'localElbv2Answer' },
    );
    return client;
  }
}

/**
 * The controller's IAM, simulated for every checked service at once (iam:SimulatePrincipalPolicy against each
 * function's role): a call several services share (a Describe on "*", the catalog's GetItem, a role both pass) is
 * simulated once, and calls with the same actions and context go in one request over up to SIMULATED_RESOURCES
 * resources (cli/check/permissions.ts, simulationBatches), so the requests grow with the distinct calls, not with
 * the services times the calls. Requests are sent one at a time: IAM's API is shared by the account.
 */
import {
  type IAMClient,
  SimulatePrincipalPolicyCommand,
  type SimulatePrincipalPolicyCommandOutput,
} from '@aws-sdk/client-iam';
import { AccessDeniedError, AwsCaller, errorName } from '../../functions/adapters/aws/sdk';
import {
  type Call,
  callKey,
  type Decision,
  type Simulation,
  type SimulationBatch,
  simulationBatches,
} from './permissions';

/** Resources per request, a bound on each answer's size (an answer of more items comes in pages: Marker). */
export const SIMULATED_RESOURCES = 50;

/** What one function's role was answered for one call. */
type Answer = Pick<Decision, 'decision' | 'missingContext'>;

/** Why some calls could not be simulated, and what to do; `role`: no request of that role can be (denied, missing). */
interface Failure {
  reason: string;
  fix: string;
  role?: boolean;
}

/**
 * Each service's calls, by function, simulated; one Simulation per service, in order. A request that fails fails
 * only the services with a call in it (a role the caller may not simulate, or that does not exist, all of its
 * calls: its further requests are not sent).
 */
export async function simulateAll(
  iam: Pick<IAMClient, 'send'>,
  roles: Readonly<Record<string, string>>,
  services: readonly Record<string, Call[]>[],
): Promise<Simulation[]> {
  const aws = new AwsCaller();
  const answers = new Map<string, Map<string, Answer>>();
  const failures = new Map<string, Map<string, Failure>>();
  const fns = [...new Set(services.flatMap((s) => Object.keys(s)))];
  for (const fn of fns) {
    const role = roles[fn];
    if (!role) continue;
    const calls = new Map(services.flatMap((s) => (s[fn] ?? []).map((c) => [callKey(c), c] as const)));
    const byCall = new Map<string, Answer>();
    const failed = new Map<string, Failure>();
    let roleFailure: Failure | undefined;
    for (const batch of simulationBatches([...calls.values()], SIMULATED_RESOURCES)) {
      const failure = roleFailure ?? (await simulateBatch(aws, iam, role, fn, batch, byCall));
      if (!failure) continue;
      if (failure.role) roleFailure = failure;
      for (const key of batchKeys(batch)) failed.set(key, failure);
    }
    answers.set(fn, byCall);
    failures.set(fn, failed);
  }
  return services.map((s) => serviceSimulation(s, roles, answers, failures));
}

/** The calls one request simulates, by callKey. */
function batchKeys(batch: SimulationBatch): string[] {
  const context = batch.context ? { context: batch.context } : {};
  return batch.actions.flatMap((action) =>
    batch.resources.map((resource) => callKey({ action, resource, ...context })),
  );
}

/** One service's simulation: failed if any of its calls could not be simulated, its decisions otherwise. */
function serviceSimulation(
  s: Readonly<Record<string, Call[]>>,
  roles: Readonly<Record<string, string>>,
  answers: ReadonlyMap<string, ReadonlyMap<string, Answer>>,
  failures: ReadonlyMap<string, ReadonlyMap<string, Failure>>,
): Simulation {
  const decisions: Decision[] = [];
  const unknownFunctions: string[] = [];
  const failed = new Set<Failure>();
  for (const [fn, calls] of Object.entries(s)) {
    const role = roles[fn];
    if (!role) {
      unknownFunctions.push(fn);
      continue;
    }
    for (const c of calls) {
      const failure = failures.get(fn)?.get(callKey(c));
      if (failure) failed.add(failure);
      const answer = answers.get(fn)?.get(callKey(c)) ?? { decision: 'implicitDeny' };
      decisions.push({ fn, role, action: c.action, resource: c.resource, ...answer });
    }
  }
  if (failed.size === 0) return { kind: 'simulated', decisions, unknownFunctions };
  const reasons = [...new Set([...failed].map((f) => f.reason))];
  const more = reasons.length > 1 ? ` (and ${reasons.length - 1} more failed simulations)` : '';
  return {
    kind: 'failed',
    reason: `${reasons[0]}${more}`,
    fix: [...new Set([...failed].map((f) => f.fix))].join('; '),
  };
}

/** One batch, all its pages; the answers recorded by call. Why, when the simulation could not be made. */
async function simulateBatch(
  aws: AwsCaller,
  iam: Pick<IAMClient, 'send'>,
  role: string,
  fn: string,
  batch: SimulationBatch,
  answers: Map<string, Answer>,
): Promise<Failure | undefined> {
  const named = batch.resources[0] !== '*';
  const context = batch.context;
  let marker: string | undefined;
  do {
    let out: SimulatePrincipalPolicyCommandOutput;
    try {
      out = await aws.call('iam:SimulatePrincipalPolicy', role, () =>
        iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: role,
            ActionNames: batch.actions,
            ...(named ? { ResourceArns: batch.resources } : {}),
            ...(context
              ? {
                  ContextEntries: Object.entries(context).map(([key, value]) => ({
                    ContextKeyName: key,
                    ContextKeyValues: [value],
                    ContextKeyType: 'string' as const,
                  })),
                }
              : {}),
            ...(marker ? { Marker: marker } : {}),
          }),
        ),
      );
    } catch (error) {
      return simulationFailure(error, role, fn);
    }
    for (const r of out.EvaluationResults ?? []) {
      const action = r.EvalActionName ?? '?';
      const record = (resource: string, decision: string | undefined, missing: string[] | undefined) =>
        answers.set(callKey({ action, resource, ...(context ? { context } : {}) }), {
          decision: decision ?? 'implicitDeny',
          ...(missing?.length ? { missingContext: missing } : {}),
        });
      const perResource = r.ResourceSpecificResults ?? [];
      if (perResource.length > 0)
        for (const p of perResource)
          record(p.EvalResourceName ?? '', p.EvalResourceDecision, p.MissingContextValues);
      else record(named ? (r.EvalResourceName ?? '') : '*', r.EvalDecision, r.MissingContextValues);
    }
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return undefined;
}

/** What a failed request means: the caller may not simulate the role, the role does not exist, or IAM refused it. */
function simulationFailure(error: unknown, role: string, fn: string): Failure {
  if (error instanceof AccessDeniedError)
    return {
      reason: `iam:SimulatePrincipalPolicy on ${role} was denied to you`,
      fix: 'run the check with credentials that may call iam:SimulatePrincipalPolicy on the controller’s roles',
      role: true,
    };
  if (errorName(error) === 'NoSuchEntity' || errorName(error) === 'NoSuchEntityException')
    return {
      reason: `role ${role} (${fn}) does not exist`,
      fix: 'set CONTROLLER_ROLES to the deployed stack’s ControllerRoles output',
      role: true,
    };
  return {
    reason: `iam:SimulatePrincipalPolicy: ${errorName(error)}: ${(error as Error).message}`,
    fix: 'run the check again; if IAM refuses the request again, the error above says what it refused',
  };
}

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

/** Each service's calls, by function, simulated; one Simulation per service, in order. */
export async function simulateAll(
  iam: Pick<IAMClient, 'send'>,
  roles: Readonly<Record<string, string>>,
  services: readonly Record<string, Call[]>[],
): Promise<Simulation[]> {
  const aws = new AwsCaller();
  const answers = new Map<string, Map<string, Answer>>();
  const fns = [...new Set(services.flatMap((s) => Object.keys(s)))];
  for (const fn of fns) {
    const role = roles[fn];
    if (!role) continue;
    const calls = new Map(services.flatMap((s) => (s[fn] ?? []).map((c) => [callKey(c), c] as const)));
    const byCall = new Map<string, Answer>();
    for (const batch of simulationBatches([...calls.values()], SIMULATED_RESOURCES)) {
      const failed = await simulateBatch(aws, iam, role, fn, batch, byCall);
      if (failed) return services.map(() => ({ kind: 'failed' as const, reason: failed }));
    }
    answers.set(fn, byCall);
  }
  return services.map((s) => {
    const decisions: Decision[] = [];
    const unknownFunctions: string[] = [];
    for (const [fn, calls] of Object.entries(s)) {
      const role = roles[fn];
      if (!role) {
        unknownFunctions.push(fn);
        continue;
      }
      for (const c of calls) {
        const answer = answers.get(fn)?.get(callKey(c)) ?? { decision: 'implicitDeny' };
        decisions.push({ fn, role, action: c.action, resource: c.resource, ...answer });
      }
    }
    return { kind: 'simulated', decisions, unknownFunctions };
  });
}

/** One batch, all its pages; the answers recorded by call. A reason when the simulation could not be made. */
async function simulateBatch(
  aws: AwsCaller,
  iam: Pick<IAMClient, 'send'>,
  role: string,
  fn: string,
  batch: SimulationBatch,
  answers: Map<string, Answer>,
): Promise<string | undefined> {
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
      if (error instanceof AccessDeniedError)
        return `iam:SimulatePrincipalPolicy on ${role} was denied to you`;
      if (errorName(error) === 'NoSuchEntity' || errorName(error) === 'NoSuchEntityException')
        return `role ${role} (${fn}) does not exist`;
      return `iam:SimulatePrincipalPolicy: ${errorName(error)}: ${(error as Error).message}`;
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

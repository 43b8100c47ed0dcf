/** The controller's Lambda functions: one per handler, each with exactly the environment its handler reads. */
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ControllerFunction } from './controller-function';
import { acknowledge } from './grants';
import type { EnvVar, HandlerSpec } from './handlers';
import { pascal } from './names';

export interface ControllerFunctionsProps {
  readonly specs: Record<string, HandlerSpec>;
  /** The value of every variable a handler may read. */
  readonly environment: Record<EnvVar, string>;
  /** Gives the function's role what its spec says (infra/permissions.ts). */
  readonly grant: (fn: ControllerFunction, spec: HandlerSpec) => void;
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One ControllerFunction per handler, in `scope` (the controller) with the id a deployed stack has (`StartRollout`
 * for `start-rollout`), granted as its spec says. Keyed by handler name, in the order of `specs`.
 */
export function controllerFunctions(
  scope: Construct,
  props: ControllerFunctionsProps,
): Record<string, ControllerFunction> {
  const functions: Record<string, ControllerFunction> = {};
  for (const [handler, spec] of Object.entries(props.specs)) {
    const fn = new ControllerFunction(scope, pascal(handler), {
      handler,
      timeout: spec.timeout,
      environment: Object.fromEntries(spec.env.map((v) => [v, props.environment[v]])),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    functions[handler] = fn;
    props.grant(fn, spec);
    acknowledge(fn, [
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the runtime the project pins (package.json engines, node_modules/.bin/node) and tests on; ' +
          'it is in AWS support. Moving to a newer runtime is a deliberate change with its own test run.',
      },
    ]);
  }
  return functions;
}

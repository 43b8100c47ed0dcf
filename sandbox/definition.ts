/**
 * The state machine definition as the sandbox runs it: read from statemachine/canary.asl.json, its Lambda ARNs
 * substituted as CloudFormation's definitionSubstitutions would, validated once per process.
 */
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

const DEFINITION_PATH = new URL('../statemachine/canary.asl.json', import.meta.url);
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:canary-controller`;

type State = {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string };
  ItemProcessor?: { States: Record<string, State> };
  Iterator?: { States: Record<string, State> };
};

/** `${PrepareFunctionArn}` → `Prepare`. */
function functionKey(reference: string | undefined): string | undefined {
  return /^\$\{(\w+)FunctionArn\}$/.exec(reference ?? '')?.[1];
}

/** Every Task state of the definition (nested Map and Parallel states included) with the function it calls. */
export function taskStates(definition: {
  States: Record<string, State>;
}): { state: string; fn: string; waits: boolean }[] {
  const out: { state: string; fn: string; waits: boolean }[] = [];
  const visit = (states: Record<string, State>) => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task') {
        const waits = s.Resource?.endsWith('.waitForTaskToken') ?? false;
        const fn = functionKey(waits ? s.Parameters?.FunctionName : s.Resource);
        if (!fn) throw new Error(`state ${name} calls no \${<Name>FunctionArn} substitution`);
        out.push({ state: name, fn, waits });
      }
      const nested = s.ItemProcessor ?? s.Iterator;
      if (nested) visit(nested.States);
    }
  };
  visit(definition.States);
  return out;
}

export function loadDefinition(): { States: Record<string, State>; StartAt: string } {
  return JSON.parse(readFileSync(DEFINITION_PATH, 'utf8'));
}

/** The definition with each `${XFunctionArn}` replaced, as CloudFormation's definitionSubstitutions would. */
export function substitutedDefinition(): Record<string, unknown> {
  const text = readFileSync(DEFINITION_PATH, 'utf8').replace(
    /\$\{(\w+)FunctionArn\}/g,
    (_, name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:canary-${name}`,
  );
  return JSON.parse(text);
}

const machines = new Map<number | undefined, StateMachine>();

/**
 * The definition, validated once per process and execution timeout (validation takes about 0.1 s); runs of one
 * StateMachine are independent of each other, so every local Step Functions shares it. `timeoutSeconds` replaces
 * the definition's TimeoutSeconds (the sandbox compresses time).
 */
export function validatedMachine(timeoutSeconds?: number): StateMachine {
  let machine = machines.get(timeoutSeconds);
  if (!machine) {
    const definition = substitutedDefinition();
    if (timeoutSeconds !== undefined) definition.TimeoutSeconds = timeoutSeconds;
    machine = new StateMachine(definition as never, {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    machines.set(timeoutSeconds, machine);
  }
  return machine;
}

/** The definition's own execution timeout (TimeoutSeconds), in seconds. */
export function definitionTimeoutSeconds(): number {
  const seconds = (loadDefinition() as { TimeoutSeconds?: number }).TimeoutSeconds;
  if (seconds === undefined) throw new Error('the state machine has no TimeoutSeconds');
  return seconds;
}

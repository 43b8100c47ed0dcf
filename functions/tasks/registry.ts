/**
 * The controller's functions, one entry each: what the infra deploys (infra/handlers.ts: a function per entry, its
 * environment, timeout and IAM), what `canary check` simulates (cli/check/permissions.ts) and what the state
 * machine's `${<asl>FunctionArn}` substitutions name. An entry's key names its handler module
 * (functions/handlers/<name>.ts) and its task (functions/tasks/<name>.ts, `make<Name>`). Data only (it imports
 * nothing but core's tag key), so infra, the CLI and the sandbox read it without pulling in a task.
 *
 * Adding a task: its task and handler modules, its states in statemachine/canary.asl.json, and an entry here.
 */

/**
 * The environment variables a handler may read (functions/handlers/aws.ts, env.ts). A handler that reads
 * CONFIG_TABLE_NAME (the service catalog) is the only kind allowed to read the service configs (infra).
 */
export type TaskEnvVar =
  | 'TABLE_NAME'
  | 'STATE_MACHINE_ARN'
  | 'SNS_TOPIC_ARN'
  | 'PAGERDUTY_SECRET_ARN'
  | 'CONFIG_TABLE_NAME'
  | 'APPROVAL_SIGNING_SECRET_ARN'
  | 'EVENT_BUS_NAME'
  | 'CONTROLLER_TAG';

/** The Step Functions calls a handler makes on executions of the controller's state machine. */
export type ExecutionCall = 'start' | 'describe' | 'list' | 'history' | 'stop' | 'taskResponse';

export interface TaskEntry {
  /** The `${<asl>FunctionArn}` substitution in the ASL, when the state machine invokes it. */
  readonly asl?: string;
  /** Exactly the variables the handler reads. */
  readonly env: readonly TaskEnvVar[];
  /** Below the Task state's TimeoutSeconds, so a slow call fails inside the function with a useful error. */
  readonly timeoutSeconds: number;
  /** Variables it reads as well when the approval page is deployed. */
  readonly withApprovalPage?: readonly TaskEnvVar[];
  /** ALB listener/rule changes (the traffic router); `read`: only reads them back (analyze's drift check). */
  readonly routes?: boolean | 'read';
  /** Deployer: `read` (health), `update` (scale, promote, restore), `register` (deploy a canary task definition). */
  readonly deploys?: 'read' | 'update' | 'register';
  /**
   * Step Functions: `list` finds the running executions (ListExecutions; with `describe`, their input: how rollouts
   * are found when the store cannot be read); `stop` stops one.
   */
  readonly executions?: readonly ExecutionCall[];
  /**
   * CloudWatch: `baseline` reads metrics (set-weight's latency thresholds), `alarms` also the gating alarms
   * (set-weight's retry), `judge` the alarms and X-Ray (analyze).
   */
  readonly metrics?: 'baseline' | 'alarms' | 'judge';
  /** Invokes the Lambda functions the configs' `hooks` name (infra/hook-permissions.ts). */
  readonly hooks?: boolean;
}

const NOTIFY = ['SNS_TOPIC_ARN', 'PAGERDUTY_SECRET_ARN'] as const;
/**
 * The controller's id (CONTROLLER_TAG_KEY's value): a function that changes routes tags the header rule it creates
 * with it, the only header rules its IAM lets it change or delete.
 */
const TAGS = 'CONTROLLER_TAG';
/** The functions that record a rollout's history announce each entry on the controller's bus. */
export const ANNOUNCE = 'EVENT_BUS_NAME';

// Task states time out at 60 s (Rollback 300 s): the function gives up first and reports its own error.
const TASK = 50;
const LONG = 280;

/** Every function the controller deploys, but the optional approval page (APPROVAL_PAGE_TASK). */
export const TASKS: Readonly<Record<string, TaskEntry>> = {
  'start-rollout': {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'CONFIG_TABLE_NAME', ...NOTIFY, ANNOUNCE],
    timeoutSeconds: TASK,
    executions: ['start', 'describe', 'taskResponse'],
  },
  prepare: {
    asl: 'Prepare',
    env: ['TABLE_NAME', ANNOUNCE, TAGS],
    timeoutSeconds: TASK,
    routes: true,
    deploys: 'register',
  },
  'check-ready': { asl: 'CheckReady', env: ['TABLE_NAME'], timeoutSeconds: TASK, deploys: 'read' },
  'set-weight': {
    asl: 'SetWeight',
    env: ['TABLE_NAME', ANNOUNCE, TAGS],
    timeoutSeconds: TASK,
    routes: true,
    deploys: 'update',
    // A retry after a pause on failure reads the gating alarms before the weight goes back.
    metrics: 'alarms',
  },
  bake: { asl: 'Bake', env: ['TABLE_NAME'], timeoutSeconds: TASK },
  analyze: {
    asl: 'Analyze',
    env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE],
    timeoutSeconds: TASK,
    routes: 'read',
    metrics: 'judge',
  },
  /** Calls teams' hooks (Lambda functions: lambda:InvokeFunction on those the configs name); opens the test route. */
  'run-hook': {
    asl: 'RunHook',
    env: ['TABLE_NAME', ANNOUNCE, TAGS],
    timeoutSeconds: TASK,
    routes: true,
    hooks: true,
  },
  'request-approval': {
    asl: 'RequestApproval',
    env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE],
    timeoutSeconds: TASK,
    // Signs links to the page.
    withApprovalPage: ['APPROVAL_SIGNING_SECRET_ARN'],
  },
  promote: {
    asl: 'Promote',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE, TAGS],
    timeoutSeconds: TASK,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe'],
  },
  rollback: {
    asl: 'Rollback',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE, TAGS],
    timeoutSeconds: LONG,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe'],
  },
  notify: { asl: 'Notify', env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE], timeoutSeconds: TASK },
  'on-alarm': {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE, TAGS],
    timeoutSeconds: TASK,
    routes: true,
    executions: ['taskResponse', 'describe', 'list', 'history', 'stop'],
  },
  reconcile: {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'CONFIG_TABLE_NAME', ...NOTIFY, ANNOUNCE, TAGS],
    timeoutSeconds: LONG,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe', 'list', 'history'],
  },
};

/**
 * The approval page (HTTP API, payload v2), deployed when enabled: it resolves the approval wait's task token.
 * Below API Gateway's 30 s integration timeout.
 */
export const APPROVAL_PAGE_TASK: TaskEntry = {
  env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'APPROVAL_SIGNING_SECRET_ARN', ANNOUNCE],
  timeoutSeconds: 25,
  executions: ['taskResponse'],
};

/** The controller's tag key (`canary-controller`): defined in core, so a handler bundle takes it without this table. */
export { CONTROLLER_TAG_KEY } from '../core/controller-tag';

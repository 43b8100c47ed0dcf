/**
 * The controller's Lambda handlers: for each, the state that invokes it, the environment it reads and what it may
 * do to the world (infra/permissions.ts turns that into IAM statements; cli/check/permissions.ts lists the same
 * capabilities, a test holds the two together).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { REPO_ROOT } from './controller-function';

/** The environment variables the handlers read (functions/handlers/aws.ts, env.ts). */
export type EnvVar =
  | 'TABLE_NAME'
  | 'STATE_MACHINE_ARN'
  | 'SNS_TOPIC_ARN'
  | 'PAGERDUTY_SECRET_ARN'
  | 'SERVICES_JSON'
  | 'APPROVAL_SIGNING_SECRET_ARN'
  | 'EVENT_BUS_NAME';
const NOTIFY: EnvVar[] = ['SNS_TOPIC_ARN', 'PAGERDUTY_SECRET_ARN'];
/** The functions that record a rollout's history announce each entry on the controller's bus. */
export const ANNOUNCE: EnvVar = 'EVENT_BUS_NAME';

/** What a Step Functions execution call a handler makes (Step Functions API actions, by the resource they take). */
export type ExecutionCall = 'start' | 'describe' | 'list' | 'history' | 'stop' | 'taskResponse';

export interface HandlerSpec {
  /** The `${<Name>FunctionArn}` substitution in the ASL, when the state machine invokes it. */
  readonly asl?: string;
  readonly env: EnvVar[];
  readonly timeout: Duration;
  /** ALB listener/rule changes (the traffic router); `read`: only reads them back (analyze's drift check). */
  readonly routes?: boolean | 'read';
  /** Deployer: `read` (health), `update` (scale, promote, restore), `register` (deploy a canary task definition). */
  readonly deploys?: 'read' | 'update' | 'register';
  /**
   * Step Functions: `list` finds the running executions (ListExecutions; with `describe`, their input: how rollouts
   * are found when the store cannot be read); `stop` stops one.
   */
  readonly executions?: ExecutionCall[];
  /** CloudWatch: `baseline` reads metrics (set-weight's latency thresholds), `judge` also the gating alarms. */
  readonly metrics?: 'baseline' | 'judge';
}

// Task states time out at 60 s (Rollback 300 s): the function gives up first and reports its own error.
const TASK = Duration.seconds(50);
const LONG = Duration.seconds(280);

export const HANDLERS: Record<string, HandlerSpec> = {
  'start-rollout': {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'SERVICES_JSON', ...NOTIFY, ANNOUNCE],
    timeout: TASK,
    executions: ['start', 'describe', 'taskResponse'],
  },
  prepare: {
    asl: 'Prepare',
    env: ['TABLE_NAME', ANNOUNCE],
    timeout: TASK,
    routes: true,
    deploys: 'register',
  },
  'check-ready': { asl: 'CheckReady', env: ['TABLE_NAME'], timeout: TASK, deploys: 'read' },
  'set-weight': {
    asl: 'SetWeight',
    env: ['TABLE_NAME', ANNOUNCE],
    timeout: TASK,
    routes: true,
    deploys: 'update',
    metrics: 'baseline',
  },
  bake: { asl: 'Bake', env: ['TABLE_NAME'], timeout: TASK },
  analyze: {
    asl: 'Analyze',
    env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE],
    timeout: TASK,
    routes: 'read',
    metrics: 'judge',
  },
  'request-approval': {
    asl: 'RequestApproval',
    env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE],
    timeout: TASK,
  },
  promote: {
    asl: 'Promote',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE],
    timeout: TASK,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe'],
  },
  rollback: {
    asl: 'Rollback',
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE],
    timeout: LONG,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe'],
  },
  notify: { asl: 'Notify', env: ['TABLE_NAME', ...NOTIFY, ANNOUNCE], timeout: TASK },
  'on-alarm': {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', ANNOUNCE],
    timeout: TASK,
    routes: true,
    executions: ['taskResponse', 'describe', 'list', 'history', 'stop'],
  },
  reconcile: {
    env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'SERVICES_JSON', ...NOTIFY, ANNOUNCE],
    timeout: LONG,
    routes: true,
    deploys: 'update',
    executions: ['start', 'describe', 'list', 'history'],
  },
};

/**
 * The approval page (HTTP API, payload v2), when the handler exists: it resolves the approval wait's task token.
 * Below API Gateway's 30 s integration timeout.
 */
export const APPROVAL_PAGE: HandlerSpec = {
  env: ['TABLE_NAME', 'STATE_MACHINE_ARN', 'APPROVAL_SIGNING_SECRET_ARN', ANNOUNCE],
  timeout: Duration.seconds(25),
  executions: ['taskResponse'],
};
export const HAS_APPROVAL_PAGE = existsSync(
  path.join(REPO_ROOT, 'functions', 'handlers', 'approval-page.ts'),
);

/** The handlers to deploy; with the approval page, request-approval also signs links to it. */
export function handlerSpecs(approvalPage: boolean): Record<string, HandlerSpec> {
  if (!approvalPage) return HANDLERS;
  const requestApproval = HANDLERS['request-approval'] as HandlerSpec;
  return {
    ...HANDLERS,
    'request-approval': { ...requestApproval, env: [...requestApproval.env, 'APPROVAL_SIGNING_SECRET_ARN'] },
    'approval-page': APPROVAL_PAGE,
  };
}

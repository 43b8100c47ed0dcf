/**
 * The functions to deploy, from the task registry (functions/tasks/registry.ts): for each handler, the state that
 * invokes it, the environment it reads, its timeout and what it may do to the world (infra/permissions.ts turns
 * that into IAM statements).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import {
  APPROVAL_PAGE_TASK,
  type ExecutionCall,
  TASKS,
  type TaskEntry,
  type TaskEnvVar,
} from '../functions/tasks/registry';
import { REPO_ROOT } from './controller-function';

export { ANNOUNCE, type ExecutionCall } from '../functions/tasks/registry';
export type EnvVar = TaskEnvVar;

export interface HandlerSpec {
  /** The `${<Name>FunctionArn}` substitution in the ASL, when the state machine invokes it. */
  readonly asl?: string;
  readonly env: readonly EnvVar[];
  readonly timeout: Duration;
  readonly routes?: TaskEntry['routes'];
  readonly deploys?: TaskEntry['deploys'];
  readonly executions?: readonly ExecutionCall[];
  readonly metrics?: TaskEntry['metrics'];
  readonly hooks?: TaskEntry['hooks'];
}

/** A registry entry as deployed; with the approval page, the variables it reads for the page as well. */
function handlerSpec(task: TaskEntry, approvalPage: boolean): HandlerSpec {
  const { timeoutSeconds, withApprovalPage, ...spec } = task;
  return {
    ...spec,
    env: [...task.env, ...(approvalPage ? (withApprovalPage ?? []) : [])],
    timeout: Duration.seconds(timeoutSeconds),
  };
}

const specs = (approvalPage: boolean) =>
  Object.fromEntries(Object.entries(TASKS).map(([name, task]) => [name, handlerSpec(task, approvalPage)]));

/** Every handler but the approval page. */
export const HANDLERS: Record<string, HandlerSpec> = specs(false);

/** The approval page, deployed when enabled (CanaryControllerProps.approvalPage). */
export const APPROVAL_PAGE: HandlerSpec = handlerSpec(APPROVAL_PAGE_TASK, false);
export const HAS_APPROVAL_PAGE = existsSync(
  path.join(REPO_ROOT, 'functions', 'handlers', 'approval-page.ts'),
);

/** The handlers to deploy; with the approval page, request-approval also signs links to it. */
export function handlerSpecs(approvalPage: boolean): Record<string, HandlerSpec> {
  if (!approvalPage) return HANDLERS;
  return { ...specs(true), 'approval-page': APPROVAL_PAGE };
}

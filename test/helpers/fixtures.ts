/**
 * EventBridge event fixtures from test/events/<source>/<case>.json. Every call returns a fresh deep copy, so a
 * test may mutate what it gets without touching other tests.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventBridgeEvent } from 'aws-lambda';

const EVENTS_DIR = fileURLToPath(new URL('../events/', import.meta.url));

export interface EcrImageActionDetail {
  result: string;
  'repository-name': string;
  'image-digest'?: string;
  'action-type': string;
  'image-tag'?: string;
  'manifest-media-type'?: string;
  'artifact-media-type'?: string;
}

export interface DeployRequestedDetail {
  service: string;
  image: { digest: string; tag?: string };
  requestedBy?: string;
}

export interface AlarmStateDetail {
  value: string;
  reason?: string;
  reasonData?: string;
  timestamp?: string;
}

export interface AlarmStateChangeDetail {
  alarmName: string;
  state: AlarmStateDetail;
  previousState?: AlarmStateDetail;
  configuration?: Record<string, unknown>;
}

export interface ExecutionStatusChangeDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: string;
  startDate: number;
  stopDate: number | null;
  /** The execution input as a JSON string. */
  input: string | null;
  inputDetails?: { included: boolean } | null;
  /** The execution output as a JSON string, when it succeeded. */
  output: string | null;
  outputDetails?: { included: boolean } | null;
  error: string | null;
  cause: string | null;
  redriveCount?: number;
  redriveDate?: number | null;
  redriveStatus?: string;
  redriveStatusReason?: string;
}

export type EcrImageActionFixture = EventBridgeEvent<'ECR Image Action', EcrImageActionDetail>;
export type DeployRequestedFixture = EventBridgeEvent<'Deploy Requested', DeployRequestedDetail>;
export type AlarmStateChangeFixture = EventBridgeEvent<
  'CloudWatch Alarm State Change',
  AlarmStateChangeDetail
>;
export type ExecutionStatusChangeFixture = EventBridgeEvent<
  'Step Functions Execution Status Change',
  ExecutionStatusChangeDetail
>;

export interface EventFixtures {
  'ecr/push': EcrImageActionFixture;
  'ecr/push-untagged': EcrImageActionFixture;
  'ecr/push-index': EcrImageActionFixture;
  'ecr/push-signature': EcrImageActionFixture;
  'ecr/push-artifact': EcrImageActionFixture;
  'ecr/push-failed': EcrImageActionFixture;
  'ecr/delete': EcrImageActionFixture;
  'controller/deploy-requested': DeployRequestedFixture;
  'cloudwatch/alarm': AlarmStateChangeFixture;
  'cloudwatch/ok': AlarmStateChangeFixture;
  'states/failed': ExecutionStatusChangeFixture;
  'states/aborted': ExecutionStatusChangeFixture;
  'states/succeeded': ExecutionStatusChangeFixture;
}
export type EventFixtureName = keyof EventFixtures;

export const EVENT_FIXTURE_NAMES = [
  'ecr/push',
  'ecr/push-untagged',
  'ecr/push-index',
  'ecr/push-signature',
  'ecr/push-artifact',
  'ecr/push-failed',
  'ecr/delete',
  'controller/deploy-requested',
  'cloudwatch/alarm',
  'cloudwatch/ok',
  'states/failed',
  'states/aborted',
  'states/succeeded',
] as const satisfies readonly EventFixtureName[];

const cache = new Map<string, unknown>();

/** A fresh copy of test/events/<name>.json, e.g. `loadEvent('ecr/push')`. */
export function loadEvent<K extends EventFixtureName>(name: K): EventFixtures[K];
export function loadEvent(name: string): EventBridgeEvent<string, Record<string, unknown>>;
export function loadEvent(name: string): unknown {
  let parsed = cache.get(name);
  if (parsed === undefined) {
    parsed = JSON.parse(readFileSync(`${EVENTS_DIR}${name}.json`, 'utf8'));
    cache.set(name, parsed);
  }
  return structuredClone(parsed);
}

/**
 * The controller's own AWS requests in the sandbox, counted per API, each at its moment in rollout time: what the
 * concurrency benchmark sets against AWS's default quotas. Where the world runs a local port, the port's methods
 * are counted as the AWS adapter would send them (one request a method); where it runs the real adapter over an
 * SDK client (DynamoDB and ELBv2 in the benchmark, sandbox/sdk-backed.ts; Route 53, CloudWatch GetMetricData),
 * each request is counted at the client's send. Production code is untouched.
 */
import { ACTIVE_PARTITIONS } from '../functions/adapters/aws/dynamodb/table';
import type { Executions, TrafficRouter } from '../functions/ports';
import type { WorldStore } from './store';

/** A request count and, for DynamoDB, the capacity units it consumed. */
interface Call {
  atMs: number;
  units: number;
}

export class ApiCalls {
  private readonly calls = new Map<string, Call[]>();
  private inFlight = 0;
  /** The most Lambda invocations running at one moment in the sandbox. */
  peakInFlight = 0;
  /**
   * Services whose port calls are replayed through their real AWS adapter, each request counted at its SDK
   * client's send at the moment of the port call (sandbox/sdk-backed.ts): their per-method counts stand aside.
   */
  readonly replays = new Map<'dynamodb' | 'elbv2', (method: string, args: unknown[], atMs: number) => void>();

  constructor(readonly now: () => number) {}

  /** One request (or `units` of it) at `atMs` of rollout time (now by default). */
  record(api: string, units = 1, atMs = this.now()): void {
    const list = this.calls.get(api) ?? [];
    list.push({ atMs, units });
    this.calls.set(api, list);
  }

  apis(): string[] {
    return [...this.calls.keys()].sort();
  }

  /** Requests (or units) of an API over the whole run. */
  total(api: string, measure: 'requests' | 'units' = 'requests'): number {
    const list = this.calls.get(api) ?? [];
    return measure === 'units' ? list.reduce((sum, c) => sum + c.units, 0) : list.length;
  }

  /**
   * The highest rate in any window of `windowMs` rollout ms (a sliding window over the calls' times), per second
   * of rollout time: rollout time is AWS's time, so no conversion is needed.
   */
  peakPerSecond(api: string, windowMs: number, measure: 'requests' | 'units' = 'requests'): number {
    const list = [...(this.calls.get(api) ?? [])].sort((a, b) => a.atMs - b.atMs);
    let best = 0;
    let sum = 0;
    let from = 0;
    for (const call of list) {
      sum += measure === 'units' ? call.units : 1;
      while ((list[from]?.atMs ?? call.atMs) <= call.atMs - windowMs) {
        sum -= measure === 'units' ? (list[from]?.units ?? 0) : 1;
        from++;
      }
      best = Math.max(best, sum);
    }
    return best / (windowMs / 1000);
  }

  /** One Lambda invocation: counted, and in flight while it runs. */
  async invocation<T>(fn: string, call: () => Promise<T>): Promise<T> {
    this.record('lambda:Invoke');
    this.record(`lambda:Invoke ${fn}`);
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      return await call();
    } finally {
      this.inFlight--;
    }
  }
}

type AnyFn = (...args: never[]) => Promise<unknown>;

/** Wraps the methods of `target` named in `count`: each call records what `count[method]` says it cost. */
export function counted<T extends object>(
  target: T,
  count: Partial<Record<keyof T, (args: unknown[], result: unknown) => void>>,
): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver);
      const onCall = count[key as keyof T];
      if (typeof value !== 'function' || !onCall) return typeof value === 'function' ? value.bind(t) : value;
      return async (...args: never[]) => {
        const result = await (value as AnyFn).apply(t, args);
        onCall(args, result);
        return result;
      };
    },
  });
}

const KB = 1024;
const bytes = (x: unknown) => (x === undefined ? 0 : Buffer.byteLength(JSON.stringify(x) ?? ''));

/**
 * The store's requests as the DynamoDB adapter sends them (functions/adapters/aws/dynamodb.ts): one GetItem,
 * Query, PutItem, UpdateItem or DeleteItem per call, but for listActive's queries (STORE_REQUESTS). Capacity units per "Read/write capacity mode" (DynamoDB
 * developer guide): a strongly consistent read is 1 RRU per 4 KB read, a write 1 WRU per 1 KB written.
 */
const STORE_READS = {
  getLock: 'GetItem',
  getNewestPush: 'GetItem',
  getImage: 'GetItem',
  getRollout: 'GetItem',
  isQuarantined: 'GetItem',
  getServingTargetGroup: 'GetItem',
  getJudgedPeriods: 'GetItem',
  listActive: 'Query',
  listByService: 'Query',
  history: 'Query',
} as const;
const STORE_WRITES = {
  acquireLock: 'PutItem',
  setPending: 'UpdateItem',
  releaseLock: 'DeleteItem',
  renewLock: 'UpdateItem',
  releaseStaleLock: 'DeleteItem',
  setNewestPush: 'PutItem',
  markImage: 'PutItem',
  putRollout: 'PutItem',
  updateRollout: 'UpdateItem',
  setWait: 'UpdateItem',
  clearWait: 'UpdateItem',
  markAborted: 'UpdateItem',
  setPause: 'UpdateItem',
  appendHistory: 'PutItem',
  quarantine: 'PutItem',
  releaseQuarantine: 'DeleteItem',
  setServingTargetGroup: 'PutItem',
  putJudgedPeriods: 'PutItem',
  clearJudgedPeriods: 'DeleteItem',
} as const;
/** Calls the adapter sends as several requests: a listing queries each partition key value of the `active` index. */
const STORE_REQUESTS: Partial<Record<keyof WorldStore, number>> = { listActive: ACTIVE_PARTITIONS.length };
/** Every method of the store, each a read or a write above: a method left out of both does not compile. */
const STORE_CALLS = { ...STORE_READS, ...STORE_WRITES } satisfies Record<keyof WorldStore, string>;

export function countedStore(store: WorldStore, calls: ApiCalls): WorldStore {
  const count: Partial<Record<keyof WorldStore, (args: unknown[], result: unknown) => void>> = {};
  for (const [method, op] of Object.entries(STORE_READS))
    count[method as keyof WorldStore] = (_args, result) => {
      if (calls.replays.has('dynamodb')) return;
      // Each request at least one unit; what the call read, in whichever of them, by its size.
      const requests = STORE_REQUESTS[method as keyof WorldStore] ?? 1;
      for (let i = 0; i < requests; i++) calls.record(`dynamodb:${op}`);
      calls.record('dynamodb:reads', requests - 1 + Math.max(1, Math.ceil(bytes(result) / (4 * KB))));
    };
  for (const [method, op] of Object.entries(STORE_WRITES))
    count[method as keyof WorldStore] = (args) => {
      if (calls.replays.has('dynamodb')) return;
      calls.record(`dynamodb:${op}`);
      calls.record('dynamodb:writes', Math.max(1, Math.ceil(bytes(args) / KB)));
    };
  return replayed(counted(store, count), calls, 'dynamodb', Object.keys(STORE_CALLS));
}

/** Hands each call of `methods` to the service's replay (if any) as it is made, its arguments as they were. */
function replayed<T extends object>(
  target: T,
  calls: ApiCalls,
  service: 'dynamodb' | 'elbv2',
  methods: string[],
): T {
  const names = new Set(methods);
  return new Proxy(target, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string' || !names.has(key)) return value;
      return (...args: unknown[]) => {
        calls.replays.get(service)?.(key, structuredClone(args), calls.now());
        return (value as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
}

/**
 * The router's requests as the ALB adapter sends them (functions/adapters/aws/alb.ts): a rule's forward action
 * through DescribeRules / ModifyRule, a listener's default action through DescribeListeners / ModifyListener.
 */
export function countedRouter(router: TrafficRouter, calls: ApiCalls): TrafficRouter {
  const on = (rule: string, listener: string) => (args: unknown[]) => {
    if (calls.replays.has('elbv2')) return;
    calls.record(`elbv2:${(args[0] as { ruleArn?: string }).ruleArn ? rule : listener}`);
  };
  const router_ = counted(router, {
    describe: on('DescribeRules', 'DescribeListeners'),
    setWeights: on('ModifyRule', 'ModifyListener'),
    verifyWeights: on('DescribeRules', 'DescribeListeners'),
  });
  return replayed(router_, calls, 'elbv2', ['describe', 'setWeights', 'verifyWeights']);
}

/**
 * The executions port's requests as the Step Functions adapter sends them (functions/adapters/aws/sfn.ts):
 * `running` is ListExecutions (100 a page) then DescribeExecution for each running execution.
 */
export function countedExecutions(executions: Executions, calls: ApiCalls): Executions {
  const one = (api: string) => () => calls.record(`states:${api}`);
  return counted(executions, {
    start: one('StartExecution'),
    stop: one('StopExecution'),
    isRunning: one('DescribeExecution'),
    lastStateEntered: one('GetExecutionHistory'),
    sendTaskSuccess: one('SendTaskSuccess'),
    sendTaskFailure: one('SendTaskFailure'),
    running: (_args, result) => {
      const n = (result as unknown[]).length;
      for (let i = 0; i < Math.max(1, Math.ceil(n / 100)); i++) calls.record('states:ListExecutions');
      for (let i = 0; i < n; i++) calls.record('states:DescribeExecution');
    },
  });
}

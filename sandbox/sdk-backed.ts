/**
 * A world whose store and ALB router are the real AWS adapters (functions/adapters/aws/dynamodb.ts and alb.ts)
 * over real SDK clients, each request counted where the SDK sends it: DynamoDB on dynalite (a DynamoDB-compatible
 * engine, on loopback) with the capacity units each request consumed, ELBv2 answered by the local load balancer
 * (sandbox/elbv2.ts). Every part of the world that reads the store or the router (tasks, entry points, the CLI,
 * the page, the checks) reads these. The concurrency benchmark runs on it; the per-port counts of
 * sandbox/api-calls.ts stand aside for the two services.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { AlbTrafficRouter } from '../functions/adapters/aws/alb';
import {
  ACTIVE_INDEX,
  BY_SERVICE_INDEX,
  DynamoRolloutStore,
  ROLLOUT_TABLE_SCHEMA,
} from '../functions/adapters/aws/dynamodb';
import { SDK_CLIENT_CONFIG } from '../functions/adapters/aws/sdk';
import type { RolloutStore, TrafficRouter } from '../functions/ports';
import type { ApiCalls } from './api-calls';
import { type IndexKeys, type Item, itemSize, readUnits, writeRequestUnits } from './dynamodb-capacity';
import { LocalElbv2 } from './elbv2';
import type { World } from './world';

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const TABLE = 'canary-rollouts';
/** The table's indexes by their key attributes (dynamodb/table.ts). */
const INDEXES: IndexKeys[] = [
  { name: ACTIVE_INDEX, keys: ['activePk', 'activeSk'] },
  { name: BY_SERVICE_INDEX, keys: ['servicePk', 'serviceSk'] },
];
/**
 * The document client's options as the handlers set them (functions/handlers/aws.ts: undefined values dropped),
 * and numbers beyond 2^53 written and read as DynamoDB numbers (a Number type holds 38 digits, "Supported data
 * types" in the developer guide): analysis evidence reaches them (an e-value of a strong pass can be 1e21), which
 * the handlers' client refuses to marshal, failing the analysis's record write. Numbers are kept here so that
 * healthy rollouts are promoted and the counts are those of the workflow as designed.
 */
const DOCUMENT_OPTIONS = {
  marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
  unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
};
/** Marks the requests the accounting makes itself (reading an item before and after a write): never counted. */
const ACCOUNTING_HEADER = 'x-sandbox-accounting';

interface Middleware {
  middlewareStack: { add: (...args: never[]) => void };
}

/** Counts each request at the client's `send`, as `<service>:<operation>`, before anything answers it. */
export function countSends(client: Middleware, calls: ApiCalls, service: string): void {
  const add = client.middlewareStack.add as unknown as (
    mw: (
      next: (a: unknown) => Promise<unknown>,
      context: { commandName: string },
    ) => (a: unknown) => Promise<unknown>,
    options: object,
  ) => void;
  add(
    (next, context) => (args) => {
      calls.record(`${service}:${context.commandName.replace(/Command$/, '')}`);
      return next(args);
    },
    { step: 'initialize', name: 'sandboxCountSends' },
  );
}

/** One DynamoDB request as the SDK put it on the wire: its operation and its input in DynamoDB's JSON. */
export interface DynamoRequest {
  operation: string;
  input: Record<string, unknown>;
}

/**
 * A DynamoDB client that reads the item a write touches before and after it, uncounted, for its capacity: one
 * write to an item at a time, so another write cannot slip between the reads.
 */
class CapacityMeter {
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly raw: DynamoDBClient,
    private readonly calls: ApiCalls,
  ) {}

  private async item(table: string, key: Item): Promise<Item | undefined> {
    const out = await this.raw.send(
      new GetItemCommand({ TableName: table, Key: key as never, ConsistentRead: true }),
    );
    return out.Item as Item | undefined;
  }

  async read(operation: string, input: Record<string, unknown>, send: () => Promise<{ output: unknown }>) {
    const result = await send();
    const out = result.output as { Item?: Item; Items?: Item[] };
    const bytes =
      operation === 'GetItem' ? itemSize(out.Item) : (out.Items ?? []).reduce((s, i) => s + itemSize(i), 0);
    this.calls.record('dynamodb:reads', readUnits(bytes, input.ConsistentRead === true));
    return result;
  }

  async write(operation: string, input: Record<string, unknown>, send: () => Promise<{ output: unknown }>) {
    const table = String(input.TableName);
    const keyOf = (i: Item) => ({ pk: i.pk, sk: i.sk }) as Item;
    const key = (input.Key as Item | undefined) ?? keyOf(input.Item as Item);
    const id = `${table}|${JSON.stringify(key)}`;
    const previous = this.writing.get(id) ?? Promise.resolve();
    const turn = previous.then(async () => {
      const before = await this.item(table, key);
      try {
        const result = await send();
        const after = operation === 'DeleteItem' ? undefined : await this.item(table, key);
        this.calls.record(
          'dynamodb:writes',
          writeRequestUnits({ before, after, conditionFailed: false }, INDEXES),
        );
        return result;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
          const attempted = operation === 'PutItem' ? (input.Item as Item) : undefined;
          this.calls.record(
            'dynamodb:writes',
            writeRequestUnits({ before, after: attempted, conditionFailed: true }, INDEXES),
          );
        }
        throw error;
      }
    });
    const settled = turn.catch(() => undefined);
    this.writing.set(id, settled);
    void settled.then(() => this.writing.get(id) === settled && this.writing.delete(id));
    return turn;
  }
}

/** The capacity each DynamoDB request consumed, read from the request and response on the wire (build step). */
function meterCapacity(client: DynamoDBClient, meter: CapacityMeter, sent: DynamoRequest[]): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      const operation = (request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (request.headers[ACCOUNTING_HEADER]) return next(args);
      const input = JSON.parse(new TextDecoder().decode(request.body as Uint8Array)) as Record<
        string,
        unknown
      >;
      sent.push({ operation, input });
      const send = () => next(args) as Promise<{ output: unknown }>;
      if (operation === 'GetItem' || operation === 'Query')
        return meter.read(operation, input, send) as never;
      if (['PutItem', 'UpdateItem', 'DeleteItem'].includes(operation))
        return meter.write(operation, input, send) as never;
      return next(args);
    },
    { step: 'build', name: 'sandboxMeterCapacity' },
  );
}

export interface SdkBacked {
  store: RolloutStore;
  router: TrafficRouter;
  elbv2: LocalElbv2;
  /** The store's DynamoDB requests as its client sent them, and the operations dynalite received from it. */
  dynamodb: { sent: DynamoRequest[]; received: string[] };
  close(): Promise<void>;
}

async function localTable(port: number): Promise<DynamoDBClient> {
  const admin = new DynamoDBClient({ ...LOCAL, endpoint: `http://127.0.0.1:${port}` });
  admin.middlewareStack.add(
    (next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers[ACCOUNTING_HEADER] = '1';
      return next(args);
    },
    { step: 'build', name: 'sandboxAccounting' },
  );
  await admin.send(new CreateTableCommand({ TableName: TABLE, ...ROLLOUT_TABLE_SCHEMA }));
  // CREATING until dynalite's timer makes it ACTIVE (reads and writes are refused meanwhile).
  while ((await admin.send(new DescribeTableCommand({ TableName: TABLE }))).Table?.TableStatus !== 'ACTIVE')
    await new Promise((resolve) => setTimeout(resolve, 5));
  return admin;
}

/**
 * Backs `world` with the real store and ALB router over SDK clients, counted at their send. Call before the world
 * starts; `close` stops the local DynamoDB once the world has stopped.
 */
export async function backWithSdk(world: World): Promise<SdkBacked> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamodb = { sent: [] as DynamoRequest[], received: [] as string[] };
  server.on('request', (req: IncomingMessage) => {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && !req.headers[ACCOUNTING_HEADER])
      dynamodb.received.push(target.split('.')[1] ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const accounting = await localTable(port);
  const raw = new DynamoDBClient({ ...LOCAL, ...SDK_CLIENT_CONFIG, endpoint: `http://127.0.0.1:${port}` });
  countSends(raw, world.calls, 'dynamodb');
  meterCapacity(raw, new CapacityMeter(accounting, world.calls), dynamodb.sent);
  const retry = { retry: { sleep: (ms: number) => world.clock.sleep(ms) } };
  const store = new DynamoRolloutStore(DynamoDBDocumentClient.from(raw, DOCUMENT_OPTIONS), TABLE, retry);

  const elbv2 = new LocalElbv2(world.lb, world.configs);
  const elbClient = new ElasticLoadBalancingV2Client({ ...LOCAL, ...SDK_CLIENT_CONFIG });
  countSends(elbClient, world.calls, 'elbv2');
  const router = new AlbTrafficRouter(elbv2.client(elbClient), retry);

  world.calls.countedAtSend.add('dynamodb');
  world.calls.countedAtSend.add('elbv2');
  replaceMethods(world.store, store);
  replaceMethods(world.router, router);
  return {
    store,
    router,
    elbv2,
    dynamodb,
    close: async () => {
      raw.destroy();
      accounting.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The world's local store (router) answers with `by` from now on: each port method of `target` forwards to the
 * same method of `by`. The world's wrappers (the outage switch, the counts, the router by kind) look methods up at
 * each call, so everything built over `target` reaches `by`.
 */
function replaceMethods(target: object, by: object): void {
  const proto = Object.getPrototypeOf(by) as object;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = (by as Record<string, unknown>)[name];
    if (name === 'constructor' || typeof method !== 'function') continue;
    Object.defineProperty(target, name, {
      configurable: true,
      value: (...args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(by, args),
    });
  }
}

/**
 * The real AWS adapters for the store and the ALB router (functions/adapters/aws/dynamodb.ts and alb.ts) over real
 * SDK clients, each request counted where the SDK sends it: DynamoDB on dynalite (a DynamoDB-compatible engine, on
 * loopback) with the capacity units each request consumed, ELBv2 answered by a copy of the world's load balancer
 * (sandbox/elbv2.ts). The world keeps its local store and router, which answer at once; every call the controller
 * makes to them is replayed, in the order made, through the real adapter, and each request that replay sends is
 * counted at the moment of the call. So the counts are the adapters' requests and the rates keep the workflow's
 * own timing: dynalite's latency, multiplied by the sandbox's compressed time, never slows the rollouts. The
 * concurrency benchmark runs on it; the per-method counts of sandbox/api-calls.ts stand aside for both services.
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
import { marshall } from '@aws-sdk/util-dynamodb';
import dynalite from 'dynalite';
import { AlbTrafficRouter } from '../functions/adapters/aws/alb';
import {
  ACTIVE_INDEX,
  BY_SERVICE_INDEX,
  DOCUMENT_OPTIONS,
  DynamoRolloutStore,
  dynamoJudgedPeriods,
  ROLLOUT_TABLE_SCHEMA,
} from '../functions/adapters/aws/dynamodb';
import { SDK_CLIENT_CONFIG } from '../functions/adapters/aws/sdk';
import type { TrafficRouter } from '../functions/ports';
import type { ApiCalls } from './api-calls';
import {
  type IndexKeys,
  type Item,
  indexPartitionWrites,
  itemSize,
  readUnits,
  writeRequestUnits,
} from './dynamodb-capacity';
import { LocalElbv2 } from './elbv2';
import { LocalLoadBalancer } from './load-balancer';
import { LocalRoute53 } from './route53';
import type { WorldStore } from './store';
import type { World } from './world';
import { createRoutes } from './world-routes';

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const TABLE = 'canary-rollouts';
/** The table's indexes by their key attributes (dynamodb/table.ts). */
const INDEXES: IndexKeys[] = [
  { name: ACTIVE_INDEX, keys: ['activePk', 'activeSk'] },
  { name: BY_SERVICE_INDEX, keys: ['servicePk', 'serviceSk'] },
];
/**
 * The units of one request again, under `dynamodb:units <item> <operation>`: the item is what the key's sort key
 * names before any `#` (RECORD, PERIODS, LOCK, HISTORY…), or the index a query reads.
 */
const unitsApi = (operation: string, input: Record<string, unknown>, key: Item | undefined) =>
  `dynamodb:units ${input.IndexName ?? String((key?.sk as { S?: string } | undefined)?.S ?? 'table').split('#')[0]} ${operation}`;
/** The write units one index partition took, under `dynamodb:partition <index> <partition key value>`. */
export const partitionApi = (index: string, partition: string) => `dynamodb:partition ${index} ${partition}`;
/** Marks the requests the accounting makes itself (reading an item an update made): never counted. */
const ACCOUNTING_HEADER = 'x-sandbox-accounting';

interface Middleware {
  middlewareStack: { add: (...args: never[]) => void };
}

/**
 * Counts each request at the client's `send`, as `<service>:<operation>`, before anything answers it, at the
 * rollout time `at` gives (the moment of the port call replayed).
 */
export function countSends(client: Middleware, calls: ApiCalls, service: string, at: () => number): void {
  const add = client.middlewareStack.add.bind(client.middlewareStack) as unknown as (
    mw: (
      next: (a: unknown) => Promise<unknown>,
      context: { commandName: string },
    ) => (a: unknown) => Promise<unknown>,
    options: object,
  ) => void;
  add(
    (next, context) => (args) => {
      calls.record(`${service}:${context.commandName.replace(/Command$/, '')}`, 1, at());
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

type Send = () => Promise<{ output: unknown }>;
/** An item of a response in DynamoDB's wire form, whatever form the response has reached the meter in. */
type Wire = (item: Item) => Item;

/**
 * The items as this client last wrote them (the table starts empty and only this client writes it), so each
 * write's item before and after is known for its capacity. What an UpdateItem made of the item is read back,
 * uncounted, unless the request returned it. One write to an item at a time, so no other write slips in between.
 */
class CapacityMeter {
  private readonly items = new Map<string, Item | undefined>();
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly accounting: DynamoDBClient,
    private readonly calls: ApiCalls,
    private readonly at: () => number,
  ) {}

  private async item(table: string, key: Item): Promise<Item | undefined> {
    const out = await this.accounting.send(
      new GetItemCommand({ TableName: table, Key: key as never, ConsistentRead: true }),
    );
    return out.Item as Item | undefined;
  }

  async read(operation: string, input: Record<string, unknown>, send: Send, wire: Wire) {
    const result = await send();
    const out = result.output as { Item?: Item; Items?: Item[] };
    const bytes =
      operation === 'GetItem'
        ? itemSize(out.Item && wire(out.Item))
        : (out.Items ?? []).reduce((s, i) => s + itemSize(wire(i)), 0);
    const units = readUnits(bytes, input.ConsistentRead === true);
    this.calls.record('dynamodb:reads', units, this.at());
    this.calls.record(unitsApi(operation, input, input.Key as Item | undefined), units, this.at());
    return result;
  }

  async write(operation: string, input: Record<string, unknown>, send: Send, wire: Wire) {
    const table = String(input.TableName);
    const written = input.Item as Item | undefined;
    const key = (input.Key as Item | undefined) ?? ({ pk: written?.pk, sk: written?.sk } as Item);
    const id = `${table}|${JSON.stringify(key)}`;
    const turn = (this.writing.get(id) ?? Promise.resolve()).then(async () => {
      const before = this.items.get(id);
      try {
        const result = await send();
        const returned = (result.output as { Attributes?: Item }).Attributes;
        const after =
          operation === 'DeleteItem'
            ? undefined
            : operation === 'PutItem'
              ? written
              : input.ReturnValues === 'ALL_NEW' && returned
                ? wire(returned)
                : await this.item(table, key);
        this.items.set(id, after);
        const units = writeRequestUnits({ before, after, conditionFailed: false }, INDEXES);
        this.calls.record('dynamodb:writes', units, this.at());
        this.calls.record(unitsApi(operation, input, key), units, this.at());
        for (const index of INDEXES)
          for (const w of indexPartitionWrites(before, after, index))
            this.calls.record(partitionApi(index.name, w.partition), w.units, this.at());
        return result;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
          // A failed condition costs by the item stored, whatever the write attempted (dynamodb-capacity.ts).
          const units = writeRequestUnits({ before, after: undefined, conditionFailed: true }, INDEXES);
          this.calls.record('dynamodb:writes', units, this.at());
          this.calls.record(unitsApi(operation, input, key), units, this.at());
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
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      // A document client's command turns the response into plain values before this step sees it (its
      // DocumentUnmarshall runs in the deserialize step): sizes are taken on the wire form, so turn it back.
      const features = (context as { __aws_sdk_context?: { features?: Record<string, unknown> } })
        .__aws_sdk_context?.features;
      const wire: Wire = features?.DDB_MAPPER
        ? (item) =>
            marshall(item, {
              // The handlers' options (a number beyond 2^53 too), an item as its attributes: the document client
              // adds convertTopLevelContainer to the options it is given, which would wrap the item in an M.
              ...DOCUMENT_OPTIONS.marshallOptions,
              convertClassInstanceToMap: true,
              convertTopLevelContainer: false,
            }) as unknown as Item
        : (item) => item;
      const operation = (request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (request.headers[ACCOUNTING_HEADER]) return next(args);
      const input = JSON.parse(new TextDecoder().decode(request.body as Uint8Array)) as Record<
        string,
        unknown
      >;
      sent.push({ operation, input });
      const send = () => next(args) as Promise<{ output: unknown }>;
      if (operation === 'GetItem' || operation === 'Query')
        return meter.read(operation, input, send, wire) as never;
      if (['PutItem', 'UpdateItem', 'DeleteItem'].includes(operation))
        return meter.write(operation, input, send, wire) as never;
      return next(args);
    },
    { step: 'build', name: 'sandboxMeterCapacity' },
  );
}

export interface SdkBacked {
  store: WorldStore;
  router: TrafficRouter;
  elbv2: LocalElbv2;
  /** The store's DynamoDB requests as its client sent them, and the operations dynalite received from it. */
  dynamodb: { sent: DynamoRequest[]; received: string[] };
  /** Resolves once every call made so far has been replayed. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** The port calls, replayed one at a time in the order they were made; `atMs` is the moment of the one replaying. */
class Replay {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  atMs = 0;

  push(atMs: number, run: () => Promise<unknown>): void {
    this.pending++;
    this.tail = this.tail.then(async () => {
      this.atMs = atMs;
      try {
        await run();
      } catch {
        // What the local port answered is what the workflow got; the replay only sends the requests.
      } finally {
        this.pending--;
      }
    });
  }

  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}

async function localTable(port: number): Promise<DynamoDBClient> {
  const admin = new DynamoDBClient({
    ...LOCAL,
    endpoint: `http://127.0.0.1:${port}`,
  });
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
 * Replays `world`'s store and ALB router calls through the real adapters over SDK clients, counted at their send.
 * Call before the world starts; after the run, `drain`, then `close` stops the local DynamoDB.
 */
/**
 * The rollout table on a local dynalite, and the document client the store uses on it (the handlers' options), every
 * request of which is counted into `calls` with its capacity units.
 */
export async function meteredTable(calls: ApiCalls, at: () => number) {
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
  countSends(raw, calls, 'dynamodb', at);
  meterCapacity(raw, new CapacityMeter(accounting, calls, at), dynamodb.sent);
  const doc = DynamoDBDocumentClient.from(raw, DOCUMENT_OPTIONS);
  const close = async () => {
    raw.destroy();
    accounting.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { table: TABLE, doc, dynamodb, close };
}

export async function backWithSdk(world: World): Promise<SdkBacked> {
  const replay = new Replay();
  const at = () => replay.atMs;
  const { doc, dynamodb, close } = await meteredTable(world.calls, at);
  const retry = { retry: { sleep: (ms: number) => world.clock.sleep(ms) } };
  const store = Object.assign(
    new DynamoRolloutStore(doc, TABLE, retry),
    dynamoJudgedPeriods(doc, TABLE, retry),
  );

  // A copy of the world's load balancer, as no rollout has touched it: the replayed writes change the copy.
  const lb = new LocalLoadBalancer(0);
  createRoutes(world.configs, lb, new LocalRoute53(world.clock));
  const elbv2 = new LocalElbv2(lb, world.configs);
  const elbClient = new ElasticLoadBalancingV2Client({ ...LOCAL, ...SDK_CLIENT_CONFIG });
  countSends(elbClient, world.calls, 'elbv2', at);
  const router = new AlbTrafficRouter(elbv2.client(elbClient), retry);

  const call = (target: object) => (method: string, args: unknown[], atMs: number) =>
    replay.push(
      atMs,
      () =>
        (target as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]?.(...args) ??
        Promise.resolve(),
    );
  world.calls.replays.set('dynamodb', call(store));
  world.calls.replays.set('elbv2', call(router));
  return {
    store,
    router,
    elbv2,
    dynamodb,
    drain: () => replay.drain(),
    close,
  };
}

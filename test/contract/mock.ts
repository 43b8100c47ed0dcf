/**
 * aws-sdk-client-mock's `mockClient`, with every request checked against the service's API model: the mock answers
 * as the test set it up, and after each test (test/contract/setup.ts) every command sent through any mock made here
 * is validated (model.ts); a request the model rejects fails the test that made it. Tests import `mockClient` from
 * here, never from aws-sdk-client-mock (the linter refuses it).
 *
 * DynamoDBDocumentClient commands are checked as the DynamoDB request they become: their native values marshalled
 * as the client would (its own marshallOptions), against the DynamoDB operation they wrap (GetCommand → GetItem).
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { type AwsStub, mockClient as baseMockClient } from 'aws-sdk-client-mock';
import { ContractViolationError, formatViolations, validateRequest } from './model';
import { REGISTRY_KEY } from './registry';

// biome-ignore lint/suspicious/noExplicitAny: one registry holds stubs of every client type
type Stub = AwsStub<any, any, any>;
interface Tracked {
  stub: Stub;
  /** Calls of the stub's current history already validated. */
  checked: number;
}
interface Registry {
  mocks: Tracked[];
}

function registry(): Registry {
  const g = globalThis as Record<symbol, Registry | undefined>;
  g[REGISTRY_KEY] ??= { mocks: [] };
  return g[REGISTRY_KEY];
}

export const mockClient: typeof baseMockClient = (client, options) => {
  const stub = baseMockClient(client, options);
  const tracked: Tracked = { stub: stub as Stub, checked: 0 };
  registry().mocks.push(tracked);
  // A reset drops the history: validate what it holds first (the reset happens whatever the outcome).
  for (const method of ['reset', 'resetHistory', 'restore'] as const) {
    const original = stub[method].bind(stub) as () => unknown;
    Object.defineProperty(stub, method, {
      configurable: true,
      value: () => {
        try {
          verifyTracked(tracked);
        } finally {
          original();
          tracked.checked = 0;
          // A restored stub records nothing more.
          if (method === 'restore') registry().mocks = registry().mocks.filter((t) => t !== tracked);
        }
        return method === 'restore' ? undefined : stub;
      },
    });
  }
  return stub;
};

/** What one recorded call asks AWS: the service (the client's serviceId), the operation and its input. */
export interface Request {
  serviceId: string;
  operation: string;
  input: unknown;
}

type KeyNodes = Record<string, unknown> | unknown[] | null;

interface SentCommand {
  input?: unknown;
  schema?: unknown;
  clientCommand?: SentCommand;
  inputKeyNodes?: KeyNodes;
}

function operationOf(command: SentCommand): string {
  const schema = command.schema;
  if (Array.isArray(schema) && typeof schema[2] === 'string') return schema[2];
  return command.constructor.name.replace(/Command$/, '');
}

/** The request a call stands for. */
export function requestOf(thisValue: unknown, command: SentCommand): Request {
  const config = (thisValue as { config?: { serviceId?: string; translateConfig?: unknown } } | undefined)
    ?.config;
  if (!config?.serviceId)
    throw new Error(
      `cannot tell which AWS service ${command.constructor.name} was sent to (no client config)`,
    );
  if (command.clientCommand && command.inputKeyNodes) {
    const options = (config.translateConfig as { marshallOptions?: Record<string, unknown> } | undefined)
      ?.marshallOptions;
    return {
      serviceId: config.serviceId,
      operation: operationOf(command.clientCommand),
      input: marshallKeyNodes(command.input, command.inputKeyNodes, {
        ...options,
        convertTopLevelContainer: true,
      }),
    };
  }
  return { serviceId: config.serviceId, operation: operationOf(command), input: command.input };
}

/**
 * The DocumentClient's marshalling (lib-dynamodb commands/utils marshallInput): the members its command names as
 * holding native values become AttributeValues. `{}` means every value of the object, `[]` every member, `null` the
 * value itself, `{"*": ...}` one level down.
 */
function marshallKeyNodes(value: unknown, nodes: KeyNodes, options: Record<string, unknown>): unknown {
  if (value === undefined) return undefined;
  if (nodes === null) return marshall(value as Record<string, unknown>, options);
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const rebuild = (map: (k: string, v: unknown) => unknown) => {
    const out = Object.fromEntries(
      entries.map(([k, v]) => [k, map(k, v)]).filter(([, v]) => v !== undefined),
    );
    return Array.isArray(value) ? Object.values(out) : out;
  };
  if (Array.isArray(nodes) || Object.keys(nodes).length === 0)
    return rebuild((_k, v) => marshallKeyNodes(v, null, options));
  const keys = Object.keys(nodes);
  if (keys.length === 1 && keys[0] === '*')
    return rebuild((_k, v) => marshallKeyNodes(v, nodes['*'] as KeyNodes, options));
  return rebuild((k, v) => (k in nodes ? marshallKeyNodes(v, nodes[k] as KeyNodes, options) : v));
}

function verifyTracked(tracked: Tracked): void {
  const calls = tracked.stub.calls();
  const problems: string[] = [];
  for (const call of calls.slice(tracked.checked)) {
    const command = call.args[0] as unknown as SentCommand;
    let request: Request;
    try {
      request = requestOf(call.thisValue, command);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    const violations = validateRequest(request.serviceId, request.operation, request.input);
    if (violations.length > 0)
      problems.push(formatViolations(request.serviceId, request.operation, violations));
  }
  tracked.checked = calls.length;
  if (problems.length > 0) throw new ContractViolationError(problems.join('\n'));
}

/**
 * Validates every call not yet validated, of every mock; throws a ContractViolationError naming each rejected
 * request. Runs after each test; a test that sends a bad request on purpose calls it to see the error.
 */
export function verifyContracts(): void {
  const problems: string[] = [];
  for (const tracked of registry().mocks) {
    try {
      verifyTracked(tracked);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new ContractViolationError(problems.join('\n'));
}

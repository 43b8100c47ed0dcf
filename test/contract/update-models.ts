/**
 * Regenerates test/contract/models/*.json, the request side of AWS's published API models for the services the
 * controller calls, from botocore's data directory (botocore/data/<service>/<version>/service-2.json.gz: the
 * models AWS publishes for its SDKs, with the constraints the service enforces: required members, types, enums,
 * length and value ranges, patterns). The aws-sdk v2 package's apis/*.min.json keep only member names, types and
 * required members, which is not enough to check a request.
 *
 * Kept per service: every operation's input shape and the shapes reachable from it; documentation, outputs and
 * errors are dropped. One shape per line, so a regeneration reads as a diff.
 *
 *   python3 -m pip download --no-deps botocore        # or any botocore install
 *   unzip -q botocore-*.whl 'botocore/*' -d /tmp/botocore
 *   node --import tsx test/contract/update-models.ts /tmp/botocore/botocore [service ...]
 *
 * Naming services regenerates only those (a model added without touching the others).
 *
 * To add a service: one line in SERVICES (botocore's directory name), then run the above.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const SERVICES = [
  'cloudformation',
  'cloudwatch',
  'dynamodb',
  'ecr',
  'ecs',
  'elbv2',
  'events',
  'iam',
  'lambda',
  'route53',
  's3',
  'secretsmanager',
  'sns',
  'stepfunctions',
  'sts',
  'xray',
] as const;

type Json = Record<string, unknown>;
const SHAPE_KEYS = ['type', 'required', 'members', 'member', 'key', 'value', 'enum', 'min', 'max', 'pattern'];
const SHAPE_FLAGS = ['union', 'document', 'streaming'];
const MEMBER_KEYS = ['shape', 'idempotencyToken', 'deprecated'];

function pick(source: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}

function trimShape(shape: Json): Json {
  const out = pick(shape, [...SHAPE_KEYS, ...SHAPE_FLAGS]);
  if (out.members) {
    out.members = Object.fromEntries(
      Object.entries(out.members as Record<string, Json>).map(([name, m]) => [name, pick(m, MEMBER_KEYS)]),
    );
  }
  for (const k of ['member', 'key', 'value']) if (out[k]) out[k] = pick(out[k] as Json, ['shape']);
  return out;
}

function newestVersion(dir: string): string {
  const versions = readdirSync(dir).filter((v) => /^\d{4}-\d{2}-\d{2}$/.test(v));
  const withModel = versions.filter((v) => readdirSync(join(dir, v)).includes('service-2.json.gz')).sort();
  const newest = withModel.at(-1);
  if (!newest) throw new Error(`no service-2.json.gz under ${dir}`);
  return newest;
}

function main(botocoreDir: string | undefined, only: readonly string[]): void {
  if (!botocoreDir) throw new Error('usage: update-models.ts <path to the botocore package directory>');
  const version = /__version__ = '([^']+)'/.exec(readFileSync(join(botocoreDir, '__init__.py'), 'utf8'))?.[1];
  if (!version) throw new Error(`no __version__ in ${botocoreDir}/__init__.py`);
  for (const service of SERVICES.filter((s) => only.length === 0 || only.includes(s))) {
    const dir = join(botocoreDir, 'data', service);
    const apiVersion = newestVersion(dir);
    const model = JSON.parse(
      gunzipSync(readFileSync(join(dir, apiVersion, 'service-2.json.gz'))).toString(),
    ) as {
      metadata: Json;
      operations: Record<string, Json>;
      shapes: Record<string, Json>;
    };
    const reachable = new Set<string>();
    const visit = (name: string) => {
      if (reachable.has(name)) return;
      reachable.add(name);
      const shape = model.shapes[name];
      if (!shape) throw new Error(`${service}: shape ${name} is referenced but not defined`);
      for (const k of ['member', 'key', 'value']) if (shape[k]) visit((shape[k] as { shape: string }).shape);
      for (const m of Object.values((shape.members ?? {}) as Record<string, { shape: string }>))
        visit(m.shape);
    };
    const operations: Record<string, Json> = {};
    for (const [name, op] of Object.entries(model.operations).sort(([a], [b]) => a.localeCompare(b))) {
      const input = (op.input as { shape: string } | undefined)?.shape;
      if (input) visit(input);
      operations[name] = input ? { input } : {};
    }
    const metadata = {
      ...pick(model.metadata, ['serviceId', 'apiVersion', 'protocol', 'uid']),
      source: `botocore ${version} data/${service}/${apiVersion}/service-2.json`,
    };
    const lines = (entries: [string, unknown][]) =>
      entries.map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n');
    const shapes = [...reachable]
      .sort((a, b) => a.localeCompare(b))
      .map((name): [string, unknown] => [name, trimShape(model.shapes[name] as Json)]);
    const text = `{\n  "metadata": ${JSON.stringify(metadata)},\n  "operations": {\n${lines(Object.entries(operations))}\n  },\n  "shapes": {\n${lines(shapes)}\n  }\n}\n`;
    const file = join(import.meta.dirname, 'models', `${service}-${apiVersion}.json`);
    writeFileSync(file, text);
    console.log(`${file}: ${Object.keys(operations).length} operations, ${shapes.length} shapes`);
  }
}

main(process.argv[2], process.argv.slice(3));

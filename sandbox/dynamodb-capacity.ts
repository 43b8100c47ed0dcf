/**
 * DynamoDB's capacity units for one request, as the developer guide documents them, from the items the request
 * read or wrote (in DynamoDB's wire form, AttributeValue maps). On-demand tables are billed and throttled in
 * request units that follow the same rules as capacity units.
 *
 * - Item size ("DynamoDB item sizes and formats", CapacityUnitCalculations.html): the UTF-8 bytes of each attribute
 *   name plus its value: a string its UTF-8 bytes, a number 1 byte per two significant digits plus 1, a binary its
 *   raw bytes, null and Boolean 1 byte; a list or map 3 bytes plus its elements, each with 1 byte of overhead.
 * - Reads ("DynamoDB read and write operations", read-write-operations.html): GetItem rounds the item up to 4 KB;
 *   Query rounds the total size of the items it read up to 4 KB once; a strongly consistent read costs 1 unit per
 *   4 KB, an eventually consistent one half; a read that finds nothing still costs 1 (or 0.5). A transactional
 *   read costs 2 per 4 KB.
 * - Writes (same page): 1 unit per 1 KB, rounded up; PutItem and UpdateItem cost the larger of the item before and
 *   after, DeleteItem the deleted item; a conditional write whose condition fails still costs, by the size of the
 *   existing item (1 unit when none exists; the guide's example: an existing 300 KB item, a 310 KB one attempted,
 *   300 units). A transactional write costs 2 per KB.
 * - Global secondary indexes ("Provisioned throughput considerations for global secondary indexes", GSI.html): a
 *   write to the table also writes each index the item enters (1 write), leaves (1), or stays in with a changed
 *   key (2: a delete and a put) or changed projected attributes (1); an item in no index before or after costs the
 *   index nothing. Each index write is sized by the index entry (the table here projects ALL: the item).
 */

/** An attribute value in DynamoDB's wire form: `{ S: "…" }`, `{ N: "12" }`, `{ M: { … } }`… */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

const KB = 1024;
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** The significant digits of a number as DynamoDB stores it: no sign, point, exponent, leading or trailing zeroes. */
function numberSize(n: string): number {
  const [mantissa = ''] = n.replace(/^[-+]/, '').toLowerCase().split('e');
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

export function valueSize(value: AttributeValue): number {
  const [type, v] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return utf8(v as string);
    case 'N':
      return numberSize(v as string);
    case 'B':
      return Buffer.from(v as string, 'base64').length;
    case 'SS':
      return (v as string[]).reduce((sum, s) => sum + utf8(s), 0);
    case 'NS':
      return (v as string[]).reduce((sum, s) => sum + numberSize(s), 0);
    case 'BS':
      return (v as string[]).reduce((sum, s) => sum + Buffer.from(s, 'base64').length, 0);
    case 'L':
      return 3 + (v as AttributeValue[]).reduce((sum, e) => sum + 1 + valueSize(e), 0);
    case 'M':
      return 3 + Object.entries(v as Item).reduce((sum, [name, e]) => sum + 1 + utf8(name) + valueSize(e), 0);
    default:
      // NULL, BOOL
      return 1;
  }
}

export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

/** Read units for `bytes` read in one request: 4 KB steps, at least one step; half when eventually consistent. */
export function readUnits(bytes: number, consistent: boolean): number {
  return Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);
}

/** Write units for an item of `bytes`: 1 KB steps, at least one. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / KB));
}

/** A global secondary index by its key attributes (an item is in a sparse index only when it has them all). */
export interface IndexKeys {
  name: string;
  keys: readonly string[];
}

const inIndex = (item: Item | undefined, index: IndexKeys) =>
  item !== undefined && index.keys.every((k) => item[k] !== undefined);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Index writes by the index partition (the value of the index's partition key) they land in. */
export interface PartitionWrite {
  partition: string;
  units: number;
}

/** The index's partition key value of an item in it, as text (`S`, `N` or `B`). */
const partitionOf = (item: Item, index: IndexKeys) => {
  const value = item[index.keys[0] ?? ''] ?? {};
  return String(Object.values(value)[0]);
};

/**
 * The index writes one table write causes, each with the index partition it lands in: an entry put in the
 * partition of the item after, an entry deleted from the partition of the item before (a changed key: both). Each
 * index partition has its own throughput ceiling, 1,000 write units a second (developer guide, "Understanding
 * DynamoDB warm throughput in different scenarios"; "Key range throughput exceeded (hot partitions)": for the
 * table and each GSI alike).
 */
export function indexPartitionWrites(
  before: Item | undefined,
  after: Item | undefined,
  index: IndexKeys,
): PartitionWrite[] {
  const was = inIndex(before, index);
  const is = inIndex(after, index);
  const put = (item: Item) => ({ partition: partitionOf(item, index), units: writeUnits(itemSize(item)) });
  if (!was && !is) return [];
  if (!was) return [put(after as Item)];
  if (!is) return [put(before as Item)];
  if (index.keys.some((k) => !same(before?.[k], after?.[k])))
    return [put(before as Item), put(after as Item)];
  return same(before, after) ? [] : [put(after as Item)];
}

/** The index writes one table write causes, in write units (the index projects every attribute). */
export function indexWriteUnits(before: Item | undefined, after: Item | undefined, index: IndexKeys): number {
  return indexPartitionWrites(before, after, index).reduce((sum, w) => sum + w.units, 0);
}

/**
 * Units one write consumed: the table's (the larger of before and after; the existing item when the condition
 * failed) plus its indexes' (none when nothing was written).
 */
export function writeRequestUnits(
  write: { before: Item | undefined; after: Item | undefined; conditionFailed: boolean },
  indexes: readonly IndexKeys[],
): number {
  if (write.conditionFailed) return Math.max(1, writeUnits(itemSize(write.before)));
  const table = writeUnits(Math.max(itemSize(write.before), itemSize(write.after)));
  return table + indexes.reduce((sum, index) => sum + indexWriteUnits(write.before, write.after, index), 0);
}

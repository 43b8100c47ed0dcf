/** A bench/judge worker process: runs the scenarios named in BENCH_SHARD and sends the figures to its parent. */
import { runShard } from './run';

const indices = (process.env.BENCH_SHARD ?? '')
  .split(',')
  .filter((x) => x !== '')
  .map(Number);
const results = runShard(indices, Number(process.env.BENCH_AA), Number(process.env.BENCH_REG));
process.send?.(results, () => process.exit(0));

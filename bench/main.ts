/**
 * Offline benchmarks: `npm run bench -- <name> [options]`.
 */
const BENCHES: Record<string, { describe: string; run: (args: string[]) => Promise<void> }> = {
  judge: {
    describe: 'the canary judges on simulated rollouts (add --json for machine-readable output)',
    run: async (args) => (await import('./judge/run')).main(args),
  },
  faults: {
    describe: 'the real workflow under 10,000 generated fault schedules (--schedules N, --json)',
    run: async (args) => (await import('./faults')).faultsBench(args),
  },
  bundles: {
    describe:
      "each Lambda's bundle and cold import beside a twin with the same libraries doing nothing (--runs N, --busy, --maps, --json)",
    run: async (args) => (await import('./bundles')).bundlesBench(args),
  },
  concurrency: {
    describe:
      "200 rollouts at once through the workflow: the controller's AWS requests per API against AWS's default quotas (--rollouts N, --scale N, --json)",
    run: async (args) => (await import('./concurrency')).concurrencyBench(args),
  },
  cost: {
    describe: 'idle cost per month for 20 and 500 services, one dashboard against one per service (--json)',
    run: async (args) => (await import('./cost')).costBench(args),
  },
  load: {
    describe:
      'the alarm scenario over HTTP at 600 and 1,000 req/s: throughput and alarm → stable (--runs N, --json)',
    run: async (args) => (await import('./load')).loadBench(args),
  },
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const list = Object.entries(BENCHES)
    .map(([n, b]) => `  ${n}: ${b.describe}`)
    .join('\n');
  if (!name || !(name in BENCHES)) {
    process.stderr.write(
      `${name ? `unknown bench "${name}"` : 'no bench named'}; usage: npm run bench -- <name> [options]\nbenches:\n${list}\n`,
    );
    process.exitCode = 2;
    return;
  }
  await (BENCHES[name] as (typeof BENCHES)[string]).run(args);
}

await main();

export {};

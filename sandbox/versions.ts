/**
 * App versions the sandbox can deploy, by image tag, and what each one does to requests. A fault profile can
 * turn bad some time after the version starts, to show the alarm path, or crash (stop accepting connections).
 */
export interface FaultProfile {
  /** Share of requests answered with HTTP 500. */
  errorRate: number;
  /** Typical latency and its spread, in ms. */
  latencyMs: number;
  jitterMs: number;
  /** Rollout seconds after start when the version turns bad, and how bad. */
  badAfterSeconds?: number;
  badErrorRate?: number;
  badLatencyMs?: number;
  /**
   * The app calls a downstream service on every request and this share of the calls fault; the app answers 200
   * anyway (a fallback) and records the caught fault on its own X-Ray segment, so the load balancer never sees it;
   * X-Ray's statistics of the app's service node do (sandbox/xray.ts).
   */
  downstreamFaultRate?: number;
  /** Paths the version answers 500 to (users' requests go to `/`; the smoke test calls sandbox/hooks.ts SMOKE_PATH). */
  brokenPaths?: string[];
  /** Rollout seconds after start when the process dies: from then on it refuses connections. */
  crashAfterSeconds?: number;
  /** Share of checkouts the version completes (sandbox/app-metrics.ts; default 0.9). */
  orderCompletion?: number;
  /** The version's CPU utilization, % of its reservation (default 30). */
  cpuPercent?: number;
}

/** Whether a version's process has died by this age (it then answers nothing: connections are refused). */
export function crashed(profile: FaultProfile, ageSeconds: number): boolean {
  return profile.crashAfterSeconds !== undefined && ageSeconds >= profile.crashAfterSeconds;
}

export interface AppVersion {
  tag: string;
  digest: string;
  profile: FaultProfile;
}

/** What one request to a running version returns, given uniform random numbers (seeded in tests). */
export function serve(
  profile: FaultProfile,
  ageSeconds: number,
  r1: number,
  r2: number,
): { status: number; latencyMs: number } {
  const bad = profile.badAfterSeconds !== undefined && ageSeconds >= profile.badAfterSeconds;
  const errorRate = bad ? (profile.badErrorRate ?? profile.errorRate) : profile.errorRate;
  const base = bad ? (profile.badLatencyMs ?? profile.latencyMs) : profile.latencyMs;
  // A long-tailed latency: exponential spread above the typical value.
  const latencyMs = base + -Math.log(1 - r2 * 0.999) * profile.jitterMs;
  return { status: r1 < errorRate ? 500 : 200, latencyMs };
}

/** A deterministic digest for a demo tag, so the same tag is the same image in every run. */
function demoDigest(tag: string): string {
  let h1 = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${tag}#${round}`) {
      h1 ^= ch.charCodeAt(0);
      h1 = Math.imul(h1, 0x01000193) >>> 0;
    }
    out += h1.toString(16).padStart(8, '0');
  }
  return `sha256:${out.slice(0, 64)}`;
}

export class ImageRegistry {
  private readonly byDigest = new Map<string, AppVersion>();

  add(tag: string, profile: FaultProfile): AppVersion {
    const version = { tag, digest: demoDigest(tag), profile };
    this.byDigest.set(version.digest, version);
    return version;
  }

  get(digest: string): AppVersion | undefined {
    return this.byDigest.get(digest);
  }

  byTag(tag: string): AppVersion | undefined {
    return [...this.byDigest.values()].find((v) => v.tag === tag);
  }
}

/** Seeded uniform random numbers (mulberry32), so a test run is repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** HTTP requests counted by route, method and status class. */
export interface RequestCounter {
  count(route: string, method: string, status: number): void;
  /** What this counter can report itself; empty where the counts live elsewhere (Analytics Engine). */
  snapshot(): { route: string; method: string; status: string; count: number }[];
}

const statusClass = (status: number) => `${String(Math.floor(status / 100))}xx`;

/**
 * Counts in this isolate's memory: what `npm start` and tests use. On Cloudflare each isolate
 * counts its own requests and starts from zero when recycled; Prometheus sees resets, which
 * `rate()` handles. For fleet-wide counts bind an Analytics Engine dataset as `METRICS`.
 */
export class InMemoryRequestCounter implements RequestCounter {
  private readonly counts = new Map<string, number>();

  count(route: string, method: string, status: number): void {
    const key = JSON.stringify([route, method, statusClass(status)]);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot() {
    return [...this.counts].map(([key, count]) => {
      const [route, method, status] = JSON.parse(key) as [string, string, string];
      return { route, method, status, count };
    });
  }
}

/** Writes one data point per request to Workers Analytics Engine; queries go to its SQL API, not here. */
export class AnalyticsEngineRequestCounter implements RequestCounter {
  constructor(private readonly dataset: AnalyticsEngineDataset) {}

  count(route: string, method: string, status: number): void {
    this.dataset.writeDataPoint({ blobs: [route, method, statusClass(status)], doubles: [1], indexes: [route] });
  }

  snapshot() {
    return [];
  }
}

const local = new InMemoryRequestCounter();

/** Analytics Engine when the `METRICS` dataset is bound, else this isolate's memory. */
export const requestCounter = (env: { METRICS?: AnalyticsEngineDataset }): RequestCounter =>
  env.METRICS ? new AnalyticsEngineRequestCounter(env.METRICS) : local;

/**
 * What `npm run bench:observability` switches in the loop and ingest benchmarks: with
 * BENCH_OBSERVE=on the agents serve /metrics (scraped every BENCH_SCRAPE_S seconds, default 5) and
 * every process traces to the OTLP endpoint in BENCH_OTLP_ENDPOINT, new traces sampled at
 * BENCH_SAMPLE_RATIO (default 1: every cycle).
 */
import { randomBytes } from "node:crypto";
import { formatTraceparent } from "../protocol/index.js";
import type { TracingConfig } from "../node-firmware/tracing/tracing.js";
import { workerTracingVars } from "../stack/stack.js";

export interface Observability {
  on: boolean;
  tracing?: TracingConfig;
}

export function observabilityFromEnv(): Observability {
  if (process.env.BENCH_OBSERVE !== "on") return { on: false };
  const endpoint = process.env.BENCH_OTLP_ENDPOINT;
  if (!endpoint) throw new Error("BENCH_OBSERVE=on needs BENCH_OTLP_ENDPOINT (an OTLP/HTTP traces endpoint)");
  const sampleRatio = Number(process.env.BENCH_SAMPLE_RATIO ?? 1);
  if (!(sampleRatio >= 0 && sampleRatio <= 1)) throw new Error("BENCH_SAMPLE_RATIO must be from 0 to 1");
  return { on: true, tracing: { endpoint, sampleRatio } };
}

/** The control plane's vars for it: its request counters are always on; tracing is what changes. */
export const controlPlaneVars = (o: Observability): Record<string, string> => (o.tracing ? workerTracingVars(o.tracing) : {});

/** The agent config sections for it. */
export const agentSections = (o: Observability, metricsPort = 0) => (o.on && o.tracing ? { metrics: { host: "127.0.0.1", port: metricsPort }, tracing: o.tracing } : {});

/** Seconds between scrapes of the agents' /metrics (Prometheus' default is 15 s; 5 is a busy setup). */
export const SCRAPE_INTERVAL_MS = Number(process.env.BENCH_SCRAPE_S ?? 5) * 1000;

/** GETs each URL every `intervalMs` and reads the body, as a scraper does; returns the stop function. */
export function scrapeEvery(urls: () => string[], intervalMs = SCRAPE_INTERVAL_MS): () => void {
  const timer = setInterval(() => {
    for (const url of urls()) void fetch(url).then((r) => r.text()).catch(() => undefined);
  }, intervalMs);
  return () => { clearInterval(timer); };
}

/** The traceparent a node's Monitor span would give a message: sampled or not, by the ratio. */
export function freshTraceparent(sampleRatio: number): string {
  const ids = randomBytes(24).toString("hex");
  return formatTraceparent({ traceId: ids.slice(0, 32), spanId: ids.slice(32), sampled: Math.random() < sampleRatio });
}

/** The one line bench:observability reads from a run. */
export function reportResult(result: Record<string, number | number[]>): void {
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
}

/**
 * What `npm run bench:observability` switches in the loop and ingest benchmarks. BENCH_OBSERVE
 * names the mode: `off`; `all`, where the agents serve /metrics (scraped every BENCH_SCRAPE_S
 * seconds, default 5) and every process traces every cycle to the OTLP endpoint in
 * BENCH_OTLP_ENDPOINT; `sampled`, the same with new traces sampled at BENCH_SAMPLED_RATIO
 * (default 0.01); `control`, off again; `metrics` and `traced`, sampled's two halves apart (its
 * /metrics alone, its tracing alone), to split what sampled costs; `rare`, sampled with a tenth
 * of its ratio, to see what the number of traces costs. bench:loop takes a comma-separated list
 * and runs one loop per mode side by side.
 */
import { randomBytes } from "node:crypto";
import { formatTraceparent } from "../protocol/index.js";
import { traceProperties, type TracingConfig } from "../node-firmware/tracing/index.js";
import { workerTracingVars } from "../stack/index.js";

export const MODES = ["off", "all", "sampled"] as const;
/** Modes that take sampled apart. */
const PARTS = ["metrics", "traced", "rare"] as const;
/** `control` is `off` again: two identical loops side by side show what the machine's noise alone does. */
export type Mode = (typeof MODES)[number] | (typeof PARTS)[number] | "control";

export interface Observability {
  /** The agents serve /metrics, and the benchmark scrapes it. */
  metrics: boolean;
  tracing?: TracingConfig;
}

export const SAMPLED_RATIO = Number(process.env.BENCH_SAMPLED_RATIO ?? 0.01);

/** The modes BENCH_OBSERVE names (default: off). */
export function modesFromEnv(): Mode[] {
  const names = (process.env.BENCH_OBSERVE ?? "off").split(",");
  const known: readonly string[] = [...MODES, ...PARTS, "control"];
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_OBSERVE takes ${known.join(", ")} (comma-separated for bench:loop), not ${unknown.join(", ")}`,
    );
  return names as Mode[];
}

export function observabilityOf(mode: Mode): Observability {
  if (mode === "off" || mode === "control") return { metrics: false };
  if (mode === "metrics") return { metrics: true };
  const endpoint = process.env.BENCH_OTLP_ENDPOINT;
  if (!endpoint) throw new Error(`BENCH_OBSERVE=${mode} needs BENCH_OTLP_ENDPOINT (an OTLP/HTTP traces endpoint)`);
  const sampleRatio = mode === "all" ? 1 : mode === "rare" ? SAMPLED_RATIO / 10 : SAMPLED_RATIO;
  if (!(sampleRatio >= 0 && sampleRatio <= 1)) throw new Error("BENCH_SAMPLED_RATIO must be from 0 to 1");
  return { metrics: mode !== "traced", tracing: { endpoint, sampleRatio } };
}

/** The control plane's vars for it: its request counters are always on; tracing is what changes. */
export const controlPlaneVars = (o: Observability): Record<string, string> =>
  o.tracing ? workerTracingVars(o.tracing) : {};

/** The agent config sections for it. */
export const agentSections = (o: Observability, metricsPort = 0) => ({
  ...(o.metrics ? { metrics: { host: "127.0.0.1", port: metricsPort } } : {}),
  ...(o.tracing ? { tracing: o.tracing } : {}),
});

/** Seconds between scrapes of the agents' /metrics (Prometheus' default is 15 s; 5 is a busy setup). */
export const SCRAPE_INTERVAL_MS = Number(process.env.BENCH_SCRAPE_S ?? 5) * 1000;

/** GETs each URL every `intervalMs` and reads the body, as a scraper does; returns the stop function. */
export function scrapeEvery(urls: () => string[], intervalMs = SCRAPE_INTERVAL_MS): () => void {
  const timer = setInterval(() => {
    for (const url of urls())
      void fetch(url)
        .then((r) => r.text())
        .catch(() => undefined);
  }, intervalMs);
  return () => {
    clearInterval(timer);
  };
}

/**
 * The MQTT properties a node's message gets from its Monitor span: by the ratio, a sampled
 * traceparent; otherwise none, as an unsampled trace rides on no message (see traceProperties).
 */
export function messageTraceProperties(sampleRatio: number): ReturnType<typeof traceProperties> {
  if (Math.random() >= sampleRatio) return {};
  const ids = randomBytes(24).toString("hex");
  return traceProperties(formatTraceparent({ traceId: ids.slice(0, 32), spanId: ids.slice(32), sampled: true }));
}

/** The command line that runs `argv` on the CPUs in `cpuList` only (taskset), or `argv` as it is without one. */
export const onCpus = (cpuList: string | undefined, argv: readonly string[]): string[] =>
  cpuList ? ["taskset", "--cpu-list", cpuList, ...argv] : [...argv];

/** Set by bench:observability for the runs it starts. */
export const RESULT_LINE_ENV = "BENCH_RESULT_LINE";

/** The one line bench:observability reads from a run (a run started by hand prints its own summary only). */
export function reportResult(result: unknown): void {
  if (process.env[RESULT_LINE_ENV] === "1") console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
}

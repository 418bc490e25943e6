/**
 * What observability costs, in one run: the control-loop benchmark and the ingest benchmark each
 * run with metrics + tracing off and on, in a mirrored order (off, all, sampled, sampled, all,
 * off per round) so drift on this noisy machine falls on every side. "On" means the gateway's
 * /metrics scraped every second and every process tracing over OTLP/HTTP to a sink in this
 * process: "all" records every cycle (sample ratio 1, the worst case), "sampled" 1 in 10 (each
 * message still carries a traceparent). Reports medians and ratios to off. Target: < 5 %.
 *   npm run bench:observability
 *   BENCH_ROUNDS=1 BENCH_CYCLES=1000 BENCH_NODES=1000 BENCH_INGEST_RATE=10 BENCH_SECONDS=30 BENCH_SAMPLED_RATIO=0.1 npm run bench:observability
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { packageRoot } from "../node-firmware/package-root.js";

type Mode = "off" | "all" | "sampled";
type Result = Record<string, number>;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const SAMPLED_RATIO = process.env.BENCH_SAMPLED_RATIO ?? "0.1";
const CYCLES = process.env.BENCH_CYCLES ?? "1000";
const NODES = process.env.BENCH_NODES ?? "1000";
const INGEST_RATE = process.env.BENCH_INGEST_RATE ?? "10";
const SECONDS = process.env.BENCH_SECONDS ?? "30";
const TARGET = 0.05;
const MODES: Mode[] = ["off", "all", "sampled"];
const ORDER: Mode[] = [...MODES, ...[...MODES].reverse()];
const MODE_ENV: Record<Mode, Record<string, string>> = {
  off: { BENCH_OBSERVE: "off" },
  all: { BENCH_OBSERVE: "on", BENCH_SAMPLE_RATIO: "1" },
  sampled: { BENCH_OBSERVE: "on", BENCH_SAMPLE_RATIO: SAMPLED_RATIO },
};

/** Every span in OTLP JSON has exactly one of these. */
const SPAN_MARK = Buffer.from('"startTimeUnixNano"');

function countSpans(chunk: Buffer): number {
  let n = 0;
  for (let at = chunk.indexOf(SPAN_MARK); at !== -1; at = chunk.indexOf(SPAN_MARK, at + SPAN_MARK.length)) n++;
  return n;
}

/**
 * Takes OTLP/HTTP JSON and counts spans without decoding it: this process shares the machine's
 * two cores with what is measured, and a collector would run elsewhere.
 */
async function startSink() {
  const received = { spans: 0, bytes: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      received.bytes += body.byteLength;
      received.spans += countSpans(body);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/v1/traces`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => { resolve(); })) };
}

/** Runs one benchmark script to its end and returns its BENCH_RESULT line. */
function run(script: string, env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot(), "dist", "bench", `${script}.js`)], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.once("exit", () => {
      const line = output.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (line) resolve(JSON.parse(line.slice("BENCH_RESULT ".length)) as Result);
      else reject(new Error(`${script} printed no result:\n${output.slice(-2000)}`));
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

async function compare(script: string, env: Record<string, string>, sink: Awaited<ReturnType<typeof startSink>>) {
  const results: Record<Mode, Result[]> = { off: [], all: [], sampled: [] };
  const spans: Record<Mode, number> = { off: 0, all: 0, sampled: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ORDER) {
      const before = sink.received.spans;
      const result = await run(script, { ...env, ...MODE_ENV[mode], BENCH_OTLP_ENDPOINT: sink.url });
      spans[mode] += sink.received.spans - before;
      results[mode].push(result);
      console.log(`[observability] ${script} ${mode}: ${JSON.stringify(result, (_, v: unknown) => (typeof v === "number" ? Math.round(v * 10) / 10 : v))}`);
    }
  }
  const keys = Object.keys(results.off[0] ?? {});
  const medians = (mode: Mode) => Object.fromEntries(keys.map((k) => [k, median(results[mode].map((r) => r[k] ?? NaN))]));
  return { medians: { off: medians("off"), all: medians("all"), sampled: medians("sampled") }, spans };
}

const sink = await startSink();
console.log(`[observability] ${String(ROUNDS)} round(s) of ${ORDER.join(", ")} for each benchmark (sampled = ratio ${SAMPLED_RATIO}); spans to ${sink.url}`);
const loop = await compare("loop", { BENCH_CYCLES: CYCLES }, sink);
// Throughput is what is compared: no need to wait for the backlog to drain after each run.
const ingest = await compare("ingest", { BENCH_NODES: NODES, BENCH_RATES: INGEST_RATE, BENCH_SECONDS: SECONDS, BENCH_DRAIN_S: "5" }, sink);
await sink.close();

const verdicts = new Map<Mode, boolean>([["all", true], ["sampled", true]]);
const line = (what: string, values: Result | undefined, worseWhen: "higher" | "lower", unit: string) => {
  const off = values?.off ?? NaN;
  const cells = (["all", "sampled"] as const).map((mode) => {
    const on = values?.[mode] ?? NaN;
    const overhead = worseWhen === "higher" ? on / off - 1 : 1 - on / off;
    if (!(overhead < TARGET)) verdicts.set(mode, false);
    return `${mode} ${on.toFixed(1).padStart(7)} (${overhead >= 0 ? "+" : ""}${(overhead * 100).toFixed(1)} %)`;
  });
  console.log(`  ${what.padEnd(40)} off ${off.toFixed(1).padStart(7)} ${unit}   ${cells.join("   ")}`);
};
const pick = (medians: Record<Mode, Result>, key: string): Result => ({ off: medians.off[key] ?? NaN, all: medians.all[key] ?? NaN, sampled: medians.sampled[key] ?? NaN });
console.log(`\n[observability] medians of ${String(ROUNDS * 2)} runs per mode; overhead against off (target < ${String(TARGET * 100)} %)`);
for (const p of ["p50", "p95", "p99"]) line(`control loop ${p}, ms (${CYCLES} cycles)`, pick(loop.medians, p), "higher", "ms");
const offered = String(Number(NODES) * Number(INGEST_RATE));
line(`ingest accepted, msg/s (${offered} offered)`, pick(ingest.medians, `accepted_at_${offered}`), "lower", "msg/s");
const spans = (s: Record<Mode, number>) => MODES.map((m) => `${m} ${String(s[m])}`).join(", ");
console.log(`  spans exported: loop ${spans(loop.spans)}; ingest ${spans(ingest.spans)} (${String(Math.round(sink.received.bytes / 2 ** 20))} MiB of OTLP JSON in all)`);
for (const [mode, met] of verdicts) console.log(`  target with ${mode === "all" ? "every cycle traced" : `1 in ${String(Math.round(1 / Number(SAMPLED_RATIO)))} traced`}: ${met ? "ok" : "MISSED"}`);
process.exit([...verdicts.values()].every(Boolean) ? 0 : 1);

/**
 * What observability costs, in one run: the control-loop benchmark and the ingest benchmark each
 * run with metrics + tracing off and on, alternating off, on, on, off in every round so drift on
 * this noisy machine falls on both sides. "On" is the worst case: every cycle traced (sample
 * ratio 1) by every process, spans exported over OTLP/HTTP to a sink in this process, and the
 * gateway's /metrics scraped every second. Reports medians and on/off ratios. Target: < 5 %.
 *   npm run bench:observability
 *   BENCH_ROUNDS=2 BENCH_CYCLES=500 BENCH_NODES=1000 BENCH_INGEST_RATE=10 BENCH_SECONDS=30 npm run bench:observability
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { packageRoot } from "../node-firmware/package-root.js";

type Mode = "off" | "on";
type Result = Record<string, number>;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CYCLES = process.env.BENCH_CYCLES ?? "500";
const NODES = process.env.BENCH_NODES ?? "1000";
const INGEST_RATE = process.env.BENCH_INGEST_RATE ?? "10";
const SECONDS = process.env.BENCH_SECONDS ?? "30";
const TARGET = 0.05;
const ORDER: Mode[] = ["off", "on", "on", "off"];

/** Receives OTLP/HTTP JSON and counts the spans, as a collector on another machine would take them. */
async function startSink() {
  const received = { spans: 0, bytes: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      received.bytes += body.byteLength;
      const request = JSON.parse(body.toString()) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
      received.spans += request.resourceSpans.flatMap((r) => r.scopeSpans).reduce((n, s) => n + s.spans.length, 0);
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
  const results: Record<Mode, Result[]> = { off: [], on: [] };
  const spans: Record<Mode, number> = { off: 0, on: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ORDER) {
      const before = sink.received.spans;
      const result = await run(script, { ...env, BENCH_OBSERVE: mode, BENCH_OTLP_ENDPOINT: sink.url });
      spans[mode] += sink.received.spans - before;
      results[mode].push(result);
      console.log(`[observability] ${script} ${mode}: ${JSON.stringify(result, (_, v: unknown) => (typeof v === "number" ? Math.round(v * 10) / 10 : v))}`);
    }
  }
  const keys = Object.keys(results.off[0] ?? {});
  const medians = (mode: Mode) => Object.fromEntries(keys.map((k) => [k, median(results[mode].map((r) => r[k] ?? NaN))]));
  return { off: medians("off"), on: medians("on"), spans };
}

const sink = await startSink();
console.log(`[observability] ${String(ROUNDS)} round(s) of off, on, on, off for each benchmark; spans to ${sink.url}`);
const loop = await compare("loop", { BENCH_CYCLES: CYCLES }, sink);
const ingest = await compare("ingest", { BENCH_NODES: NODES, BENCH_RATES: INGEST_RATE, BENCH_SECONDS: SECONDS }, sink);
await sink.close();

const verdicts: boolean[] = [];
const line = (what: string, off: number, on: number, worseWhen: "higher" | "lower", unit: string) => {
  const overhead = worseWhen === "higher" ? on / off - 1 : 1 - on / off;
  verdicts.push(overhead < TARGET);
  console.log(`  ${what.padEnd(34)} off ${off.toFixed(1).padStart(8)} ${unit}   on ${on.toFixed(1).padStart(8)} ${unit}   on/off ${(on / off).toFixed(3)}   overhead ${(overhead * 100).toFixed(1)} %`);
};
console.log(`\n[observability] medians of ${String(ROUNDS * 2)} runs per mode (target overhead < ${String(TARGET * 100)} %)`);
for (const p of ["p50", "p95", "p99"]) line(`control loop ${p} (${CYCLES} cycles)`, loop.off[p] ?? NaN, loop.on[p] ?? NaN, "higher", "ms");
const offered = String(Number(NODES) * Number(INGEST_RATE));
line(`ingest accepted (${offered} msg/s offered)`, ingest.off[`accepted_at_${offered}`] ?? NaN, ingest.on[`accepted_at_${offered}`] ?? NaN, "lower", "msg/s");
console.log(`  spans exported: loop off ${String(loop.spans.off)}, on ${String(loop.spans.on)}; ingest off ${String(ingest.spans.off)}, on ${String(ingest.spans.on)} (${String(Math.round(sink.received.bytes / 2 ** 20))} MiB of OTLP JSON in all)`);
const met = verdicts.every(Boolean);
console.log(`  target: ${met ? "ok" : "MISSED"}`);
process.exit(met ? 0 : 1);

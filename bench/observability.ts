/**
 * What observability costs, in one run: the control-loop benchmark and the ingest benchmark each
 * run with metrics + tracing off and on, many short runs in a mirrored order (off, all, sampled,
 * sampled, all, off per round) so the drift of this noisy machine falls on every mode alike. "On"
 * means the gateway's /metrics scraped every BENCH_SCRAPE_S seconds and every process tracing over
 * OTLP/HTTP to a sink in this process: "all" records every cycle (sample ratio 1, the worst case),
 * "sampled" 1 in 10 (each message still carries a traceparent). The loop's cycles are pooled per
 * mode before taking percentiles; ingest is the mean over runs. Each overhead comes with a 90 %
 * bootstrap interval over runs. Target: < 5 %, met when the interval's upper end is below it.
 *   npm run bench:observability
 *   BENCH_LOOP_ROUNDS=4 BENCH_CYCLES=250 BENCH_INGEST_ROUNDS=2 BENCH_NODES=1000 BENCH_INGEST_RATE=10 BENCH_SECONDS=30 BENCH_SAMPLED_RATIO=0.1 npm run bench:observability
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { packageRoot } from "../node-firmware/package-root.js";
import { bootstrapInterval, percentile, type Interval } from "./stats.js";

type Mode = "off" | "all" | "sampled";
type Result = Record<string, number | number[]>;

const LOOP_ROUNDS = Number(process.env.BENCH_LOOP_ROUNDS ?? 4);
const INGEST_ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 2);
const SAMPLED_RATIO = process.env.BENCH_SAMPLED_RATIO ?? "0.1";
const CYCLES = process.env.BENCH_CYCLES ?? "250";
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

type Runs = Record<Mode, Result[]>;
type Sink = Awaited<ReturnType<typeof startSink>>;

async function compare(script: string, rounds: number, env: Record<string, string>, sink: Sink) {
  const runs: Runs = { off: [], all: [], sampled: [] };
  const spans: Record<Mode, number> = { off: 0, all: 0, sampled: 0 };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ORDER) {
      const before = sink.received.spans;
      const result = await run(script, { ...env, ...MODE_ENV[mode], BENCH_OTLP_ENDPOINT: sink.url });
      spans[mode] += sink.received.spans - before;
      runs[mode].push(result);
      const summary = Object.entries(result).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k} ${(v as number).toFixed(1)}`);
      console.log(`[observability] ${script} ${mode} (round ${String(round + 1)}/${String(rounds)}): ${summary.join(", ")}`);
    }
  }
  return { runs, spans };
}

/** What the runs of one mode say about one figure: pooled cycles' percentile, or the mean over runs. */
type Statistic = (runs: readonly Result[]) => number;
const pooledPercentile = (p: number): Statistic => (runs) => percentile(runs.flatMap((r) => r.cycles as number[]).sort((a, b) => a - b), p);
const meanOf = (key: string): Statistic => (runs) => runs.reduce((sum, r) => sum + (r[key] as number), 0) / runs.length;

interface Figure { label: string; unit: string; statistic: Statistic; worseWhen: "higher" | "lower" }

function overhead(figure: Figure, off: readonly Result[], on: readonly Result[]): Interval {
  return bootstrapInterval(off, on, (a, b) => {
    const ratio = figure.statistic(b) / figure.statistic(a);
    return figure.worseWhen === "higher" ? ratio - 1 : 1 - ratio;
  });
}

type Verdict = "met" | "not shown" | "missed";
const worse = (a: Verdict, b: Verdict): Verdict => (a === "missed" || b === "missed" ? "missed" : a === "not shown" || b === "not shown" ? "not shown" : "met");
const verdictOf = (i: Interval): Verdict => (i.estimate >= TARGET ? "missed" : i.high >= TARGET ? "not shown" : "met");
const percent = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(1)} %`;

const verdicts: Record<"all" | "sampled", Verdict> = { all: "met", sampled: "met" };
function report(figure: Figure, runs: Runs): void {
  const cells = (["all", "sampled"] as const).map((mode) => {
    const i = overhead(figure, runs.off, runs[mode]);
    verdicts[mode] = worse(verdicts[mode], verdictOf(i));
    return `${mode} ${figure.statistic(runs[mode]).toFixed(1).padStart(7)} (${percent(i.estimate)}; ${percent(i.low)} … ${percent(i.high)})`;
  });
  console.log(`  ${figure.label.padEnd(34)} off ${figure.statistic(runs.off).toFixed(1).padStart(7)} ${figure.unit}   ${cells.join("   ")}`);
}

const sink = await startSink();
console.log(`[observability] modes in the order ${ORDER.join(", ")}: ${String(LOOP_ROUNDS)} round(s) of bench:loop (${CYCLES} cycles a run), ${String(INGEST_ROUNDS)} of bench:ingest; sampled = ratio ${SAMPLED_RATIO}; spans to ${sink.url}`);
const loop = await compare("loop", LOOP_ROUNDS, { BENCH_CYCLES: CYCLES }, sink);
// Throughput is what is compared: no need to wait for the backlog to drain after each run.
const ingest = await compare("ingest", INGEST_ROUNDS, { BENCH_NODES: NODES, BENCH_RATES: INGEST_RATE, BENCH_SECONDS: SECONDS, BENCH_DRAIN_S: "5" }, sink);
await sink.close();

const offered = String(Number(NODES) * Number(INGEST_RATE));
const pooled = String(LOOP_ROUNDS * 2 * Number(CYCLES));
console.log(`\n[observability] overhead against off (90 % bootstrap interval over runs); target < ${String(TARGET * 100)} %`);
for (const p of [50, 95, 99]) report({ label: `control loop p${String(p)}, ms (${pooled} cycles)`, unit: "ms", statistic: pooledPercentile(p), worseWhen: "higher" }, loop.runs);
report({ label: `ingest accepted, msg/s (${offered} offered)`, unit: "msg/s", statistic: meanOf(`accepted_at_${offered}`), worseWhen: "lower" }, ingest.runs);
const spans = (s: Record<Mode, number>) => MODES.map((m) => `${m} ${String(s[m])}`).join(", ");
console.log(`  spans exported: loop ${spans(loop.spans)}; ingest ${spans(ingest.spans)} (${String(Math.round(sink.received.bytes / 2 ** 20))} MiB of OTLP JSON in all)`);
console.log(`  target with every cycle traced: ${verdicts.all}`);
console.log(`  target with 1 in ${String(Math.round(1 / Number(SAMPLED_RATIO)))} traced: ${verdicts.sampled}`);
process.exit(verdicts.sampled === "met" ? 0 : 1);

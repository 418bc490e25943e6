/**
 * Sustained ingest: N MQTT connections publish telemetry through one gateway (embedded broker +
 * bridge, its own process) into the real Worker in workerd with local D1. Each phase holds a rate
 * for a while and prints, every window, the messages/s the Worker stored in D1 and acknowledged,
 * the batch size the gateway sent, and the CPU and RSS of broker+gateway, workerd and this load
 * generator.
 *   npm run bench:ingest                       (1000 connections; 1 Hz then 10 Hz, 60 s each)
 *   BENCH_NODES=1000 BENCH_RATES=1,10 BENCH_SECONDS=60 BENCH_DRAIN_S=60 BENCH_WARMUP_S=0 npm run bench:ingest
 * Must: 1000 nodes at 1 Hz. Target: 10,000 messages/s from ≥ 1000 connections on this machine.
 * With BENCH_OBSERVE=all, sampled, rare or metrics (see observe.ts) the gateway's metrics are
 * scraped; with all, sampled, rare or traced the messages of sampled traces carry a traceparent,
 * which the gateway and the Worker continue.
 * BENCH_OBSERVE=off,sampled,… runs one gateway per mode side by side, the nodes dealt out among
 * them in turn, so that a slow spell of the machine falls on every gateway alike; the Worker
 * then traces as the first tracing mode says, and only the gateways' figures are per mode.
 * BENCH_GATEWAY_CPU=n runs broker+gateway on CPU n only (taskset), as on a mesh, where the gateway
 * is a router of its own: its CPU per message then does not depend on what workerd and the load
 * generator do on the same core (run this process elsewhere, e.g. `taskset -c 0`).
 * BENCH_GATEWAY_PROFILE=<dir> has each gateway write a CPU profile there (see research:profile-share),
 * BENCH_GATEWAY_IC_LOG=<dir> a V8 inline-cache log (see research:ic-diff).
 * BENCH_EDGE=answer has each gateway's proxy answer its batches itself, as the Worker would (the
 * same CycleResponse, gzipped when asked), instead of passing them to workerd: what the gateways
 * can relay, past what workerd can store on this machine's other core. Identities still come
 * from the Worker. "Stored" is then what the proxies acknowledged, and nothing is checked by
 * sequence in D1.
 * BENCH_BROKER=mosquitto gives each gateway a Mosquitto of its own (Debian's `mosquitto`, on this
 * process's CPUs) instead of its embedded broker, as at scale: the nodes publish to it, and the
 * gateway takes their messages through its shared subscription and validates them itself. The
 * gateway's CPU is then its own, the broker's apart.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { brotliDecompressSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { adminToken } from "../ctl/index.js";
import { CycleResponse, TelemetryBatch, topics } from "../protocol/index.js";
import { CYCLE_PATH } from "../node-firmware/gateway/index.js";
import { packageRoot } from "../node-firmware/lib/index.js";
import { commandLine, cpuSeconds, createJoinToken, descendantsOf, freePortRange, rssBytes } from "../stack/index.js";
import { startBenchControlPlane } from "./control-plane.js";
import { connectWhenUp, telemetryJson } from "./mqtt-load.js";
import {
  agentSections,
  controlPlaneVars,
  messageTraceProperties,
  modesFromEnv,
  observabilityOf,
  onCpus,
  reportResult,
  scrapeEvery,
  type Mode,
} from "./observe.js";
import { tickOrder } from "./tick-order.js";

const NODES = Number(process.env.BENCH_NODES ?? 1000);
const RATES = (process.env.BENCH_RATES ?? "1,10").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WINDOW_S = 10;
/**
 * Seconds the load holds the first rate before the measured phases, its figures apart
 * (`warmup_…`): a gateway's JIT goes on compiling what it runs for minutes after it starts, and a
 * traced gateway has more to compile (see bench/observability.ts).
 */
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 0);
/** How long a phase waits for what is still on its way once the load stops. */
const DRAIN_S = Number(process.env.BENCH_DRAIN_S ?? 60);
const EDGE = process.env.BENCH_EDGE ?? "worker";
if (EDGE !== "worker" && EDGE !== "answer") throw new Error(`BENCH_EDGE takes worker or answer, not ${EDGE}`);
const BROKER = process.env.BENCH_BROKER ?? "embedded";
if (BROKER !== "embedded" && BROKER !== "mosquitto")
  throw new Error(`BENCH_BROKER takes embedded or mosquitto, not ${BROKER}`);
/** What a gateway's process holds, as a lone gateway's figures name it. */
const GATEWAY_PROCESS = BROKER === "mosquitto" ? "gateway" : "broker+gateway";
const ROOT = packageRoot();
const modes = modesFromEnv();
const workerObservability = modes.map((mode) => observabilityOf(mode)).find((o) => o.tracing) ?? observabilityOf("off");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

const { state, worker, admin, api } = await startBenchControlPlane("ingest", controlPlaneVars(workerObservability));
const workerdPid = descendantsOf(process.pid).find((pid) => commandLine(pid).includes("workerd")) as number;

const DECODERS: Record<string, (body: Buffer) => Buffer> = {
  gzip: gunzipSync,
  br: brotliDecompressSync,
  deflate: inflateSync,
};
interface Posts {
  requests: number;
  failed: number;
  acknowledged: number;
  lastAckAt: number;
}

function countAcknowledged(answer: IncomingMessage, posts: Posts): void {
  const chunks: Buffer[] = [];
  const decode = DECODERS[answer.headers["content-encoding"] ?? ""] ?? ((body: Buffer) => body);
  answer.on("data", (c: Buffer) => chunks.push(c));
  answer.on("end", () => {
    const body = CycleResponse.safeParse(JSON.parse(decode(Buffer.concat(chunks)).toString()));
    if (!body.success)
      throw new Error(`the Worker answered a batch with what is not a CycleResponse: ${body.error.message}`);
    posts.acknowledged += body.data.accepted;
    posts.lastAckAt = Date.now();
  });
}

/** Acknowledges a batch as the Worker does when it stores every item and plans nothing. */
function answerBatch(req: IncomingMessage, res: ServerResponse, posts: Posts): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    posts.requests++;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      json = undefined; // refused below, as the Worker refuses it
    }
    const batch = TelemetryBatch.safeParse(json);
    if (!batch.success) {
      posts.failed++;
      res.writeHead(400).end();
      return;
    }
    const answer: CycleResponse = {
      accepted: batch.data.items.length,
      duplicates: 0,
      revoked: 0,
      denyListRevision: 0,
      actions: [],
    };
    const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    const body = Buffer.from(JSON.stringify(answer));
    res
      .writeHead(200, { "content-type": "application/json", ...(gzip ? { "content-encoding": "gzip" } : {}) })
      .end(gzip ? gzipSync(body) : body);
    posts.acknowledged += answer.accepted;
    posts.lastAckAt = Date.now();
  });
}

/**
 * A gateway's way to the Worker, which counts its requests and the samples the Worker
 * acknowledged with the time it did: a rate between two acknowledgements has no error of a batch
 * at either end.
 */
async function startProxy(): Promise<{ url: string; posts: Posts; close: () => void }> {
  const posts: Posts = { requests: 0, failed: 0, acknowledged: 0, lastAckAt: Date.now() };
  const proxy = createServer((req, res) => {
    if (EDGE === "answer" && req.url === CYCLE_PATH) {
      answerBatch(req, res, posts);
      return;
    }
    const upstream = request(`${api}${req.url ?? "/"}`, { method: req.method, headers: req.headers }, (answer) => {
      posts.requests++;
      if ((answer.statusCode ?? 500) >= 400) posts.failed++;
      else if (req.url === CYCLE_PATH) countAcknowledged(answer, posts);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      posts.failed++;
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${String((proxy.address() as { port: number }).port)}`,
    posts,
    close: () => proxy.close(),
  };
}

const adminBearer = await adminToken(admin.credential, api);
/**
 * The gateways' MQTT and metrics ports, two each, below the ephemeral range: a port the kernel
 * once handed out as free can be a load generator's connection by the time a late gateway binds it.
 */
const gatewayPorts = await freePortRange(2 * modes.length);
let stopping = false;

/**
 * With BENCH_GATEWAY_PROFILE=<dir>, a gateway writes its V8 CPU profile there as it stops (see
 * research:profile-share); with BENCH_GATEWAY_IC_LOG=<dir>, its inline-cache log (see research:ic-diff).
 */
const diagnosticFlags = (id: string): string[] => {
  const [profileDir, icLogDir] = [process.env.BENCH_GATEWAY_PROFILE, process.env.BENCH_GATEWAY_IC_LOG];
  return [
    ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${id}.cpuprofile`] : []),
    ...(icLogDir ? ["--log-ic", "--no-logfile-per-isolate", `--logfile=${join(icLogDir, `${id}.log`)}`] : []),
  ];
};

/**
 * A Mosquitto of its own for one gateway, on loopback, persisting nothing and queueing whatever its
 * subscriber has not yet taken.
 */
async function startMosquitto(id: string, port: number): Promise<ChildProcess> {
  const configFile = join(state, `${id}-mosquitto.conf`);
  await writeFile(
    configFile,
    [
      `listener ${String(port)} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "max_queued_messages 0",
      "max_inflight_messages 0",
      "log_dest stderr",
      "log_type error",
      "",
    ].join("\n"),
  );
  const broker = spawn("mosquitto", ["-c", configFile], { stdio: ["ignore", "inherit", "inherit"] });
  broker.once("error", (error) => {
    console.error(
      `[ingest] cannot start mosquitto for ${id} (BENCH_BROKER=mosquitto needs Debian's mosquitto): ${error.message}`,
    );
    process.exit(1);
  });
  broker.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`[ingest] mosquitto of ${id} exited (${signal ?? `code ${String(code)}`}) before the end`);
    process.exit(1);
  });
  return broker;
}

/**
 * Where a gateway's config names its broker: the Mosquitto on `port` (the agent's section), or its
 * embedded broker there (the gateway's).
 */
const brokerSections = (port: number): { agent: object; gateway: object } =>
  BROKER === "mosquitto"
    ? { agent: { broker: { url: `mqtt://127.0.0.1:${String(port)}` } }, gateway: {} }
    : { agent: {}, gateway: { embeddedBroker: { host: "127.0.0.1", port, tls: false } } };

/**
 * One gateway (bridge and embedded broker, or bridge alone with BENCH_BROKER=mosquitto; its own
 * process) observing as `mode` says.
 */
async function startGateway(mode: Mode, k: number) {
  const id = `gw-${mode}`;
  const observability = observabilityOf(mode);
  const [mqttPort, metricsPort, proxy] = [gatewayPorts + 2 * k, gatewayPorts + 2 * k + 1, await startProxy()];
  const configFile = join(state, `${id}.json`);
  const mosquitto = BROKER === "mosquitto" ? await startMosquitto(id, mqttPort) : undefined;
  const brokerConfig = brokerSections(mqttPort);
  await writeFile(
    configFile,
    JSON.stringify({
      nodeId: id,
      role: "gateway",
      logLevel: "warn",
      mesh: { backend: "simulated", peers: [id] },
      ...brokerConfig.agent,
      identity: {
        edgeUrl: api,
        stateDir: join(state, id),
        joinToken: await createJoinToken(api, adminBearer, id, "gateway"),
      },
      // Plain MQTT on loopback: 1000 mTLS identities would measure attestation, not ingest.
      gateway: { ...brokerConfig.gateway, edgeUrl: proxy.url, batch: { maxItems: 500, maxDelayMs: 100 } },
      ...agentSections(observability, metricsPort),
    }),
  );
  const [command = "", ...args] = onCpus(process.env.BENCH_GATEWAY_CPU, [
    process.execPath,
    "--max-semi-space-size=16",
    ...diagnosticFlags(id),
    join(ROOT, "dist", "node-firmware", "cli.js"),
    "--config",
    configFile,
  ]);
  const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
  child.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`[ingest] gateway ${id} exited (${signal ?? `code ${String(code)}`}) before the end`);
    process.exit(1);
  });
  return {
    mode,
    name: modes.length > 1 ? id : GATEWAY_PROCESS,
    observability,
    mqttPort,
    metricsUrl: `http://127.0.0.1:${String(metricsPort)}/metrics`,
    proxy,
    child,
    mosquitto,
    pid: child.pid as number,
  };
}
const gateways = await Promise.all(modes.map(startGateway));

/** Node i publishes through gateway i mod the number of gateways. */
const gatewayOf = (i: number) => gateways[i % gateways.length] as (typeof gateways)[number];
const ids = Array.from({ length: NODES }, (_, i) => `load-${String(i + 1).padStart(4, "0")}`);
const clients: MqttClient[] = [];
for (let i = 0; i < ids.length; i += 50)
  clients.push(
    ...(await Promise.all(ids.slice(i, i + 50).map((id, j) => connectWhenUp(id, gatewayOf(i + j).mqttPort)))),
  );
console.log(`[ingest] ${String(clients.length)} MQTT connections up`);

const seqs = new Array<number>(NODES).fill(0);
function sample(i: number, now: number): string {
  const nodeId = ids[i] as string;
  const seq = seqs[i] ?? 0;
  seqs[i] = seq + 1;
  const neighbors = [1, 2, 3].map((d) => ({
    neighbor: ids[(i + d) % NODES] as string,
    tq: 200 + ((i + d) % 50),
    latencyMs: 3 + (d % 3),
    loss: 0.01,
  }));
  return telemetryJson(nodeId, seq, neighbors, now);
}

let sent = 0;
let publishErrors = 0;
/**
 * Every node publishes `rate` times a second, spread evenly over the second, each tick's nodes in
 * the order tickOrder gives.
 */
async function publishAt(rate: number, seconds: number, onWindow: () => void): Promise<void> {
  const tickMs = 10;
  const perTick = (NODES * rate * tickMs) / 1000;
  const end = Date.now() + seconds * 1000;
  let next = 0;
  let due = 0;
  let nextWindow = Date.now() + WINDOW_S * 1000;
  while (Date.now() < end) {
    const started = Date.now();
    due += perTick;
    const count = Math.floor(due);
    due -= count;
    for (const i of tickOrder(next, count, NODES)) {
      const tracing = gatewayOf(i).observability.tracing;
      const trace = tracing ? messageTraceProperties(tracing.sampleRatio) : {};
      clients[i]?.publish(topics.telemetry(ids[i] as string), sample(i, started), { qos: 1, ...trace }, (error) => {
        if (error) publishErrors++;
      });
      sent++;
    }
    next += count;
    if (Date.now() >= nextWindow) {
      nextWindow += WINDOW_S * 1000;
      onWindow();
    }
    await sleep(Math.max(0, tickMs - (Date.now() - started)));
  }
}

const db = await worker.database();
async function stored(): Promise<{ stored: number; missing: number }> {
  if (EDGE === "answer")
    return {
      stored: total(
        gateways.map((g) => g.proxy.posts),
        "acknowledged",
      ),
      missing: 0,
    };
  const row = await db
    .prepare(
      "SELECT coalesce(sum(samples_stored), 0) AS stored, coalesce(sum(samples_missing), 0) AS missing FROM nodes WHERE id LIKE 'load-%'",
    )
    .first<{ stored: number; missing: number }>();
  return row ?? { stored: 0, missing: 0 };
}

interface Reading {
  at: number;
  posts: Posts[];
  cpu: Record<string, number>;
}
const processes: Record<string, number> = {
  ...Object.fromEntries(gateways.map((g) => [g.name, g.pid])),
  workerd: workerdPid,
  "load generator": process.pid,
};
function read(): Reading {
  const cpu = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return { at: Date.now(), posts: gateways.map((g) => ({ ...g.proxy.posts })), cpu };
}
const acknowledgedRate = (a: Posts, b: Posts) =>
  b.lastAckAt > a.lastAckAt ? (b.acknowledged - a.acknowledged) / ((b.lastAckAt - a.lastAckAt) / 1000) : 0;
const total = (posts: Posts[], key: "acknowledged" | "requests") => posts.reduce((sum, p) => sum + p[key], 0);
function describeWindow(a: Reading, b: Reading): { rate: number; line: string } {
  const s = (b.at - a.at) / 1000;
  const rate = b.posts.reduce((sum, p, k) => sum + acknowledgedRate(a.posts[k] as Posts, p), 0);
  const requests = total(b.posts, "requests") - total(a.posts, "requests");
  const batch = requests > 0 ? (total(b.posts, "acknowledged") - total(a.posts, "acknowledged")) / requests : 0;
  const cpu = Object.keys(processes)
    .map((name) => `${name} ${String(Math.round((100 * ((b.cpu[name] ?? 0) - (a.cpu[name] ?? 0))) / s))}%`)
    .join(", ");
  const rss = Object.entries(processes)
    .map(([name, pid]) => `${name} ${String(mib(rssBytes(pid)))}`)
    .join(", ");
  return {
    rate,
    line: `${String(Math.round(rate))} msg/s stored (acknowledged by the Worker), batch ${String(Math.round(batch))} items; CPU ${cpu}; RSS MiB ${rss}`,
  };
}

const cpuMsPer1k = (from: Reading, to: Reading, name: string, messages: number) =>
  (1e6 * ((to.cpu[name] ?? 0) - (from.cpu[name] ?? 0))) / messages;

/**
 * CPU per 1000 stored messages over the sustained windows: workerd's, and each gateway's for the
 * messages it relayed.
 */
function recordCpu(from: Reading, to: Reading, offered: number, warmUp: boolean): void {
  const key = `${warmUp ? "warmup_" : ""}cpu_ms_per_1k_at_${String(offered)}`;
  const during = `${warmUp ? "warm-up, " : ""}${String(offered)} msg/s offered`;
  const messages = total(to.posts, "acknowledged") - total(from.posts, "acknowledged");
  if (messages > 0) {
    result[`workerd_${key}`] = cpuMsPer1k(from, to, "workerd", messages);
    summary.push(`${during}: workerd ${(result[`workerd_${key}`] ?? 0).toFixed(1)} CPU ms per 1000 messages stored`);
  }
  gateways.forEach((g, k) => {
    const relayed = (to.posts[k]?.acknowledged ?? 0) - (from.posts[k]?.acknowledged ?? 0);
    if (relayed <= 0) return;
    const ms = cpuMsPer1k(from, to, g.name, relayed);
    gatewayResults[g.mode] = { ...gatewayResults[g.mode], [key]: ms };
    summary.push(`${during}: ${g.name} ${ms.toFixed(1)} CPU ms per 1000 messages stored`);
  });
}

const stopScraping = scrapeEvery(() => gateways.filter((g) => g.observability.metrics).map((g) => g.metricsUrl));
const summary: string[] = [];
const result: Record<string, number> = {};
/** Per mode, each gateway's figures. */
const gatewayResults: Partial<Record<Mode, Record<string, number>>> = {};
const phases = [
  ...(WARMUP_S > 0 ? [{ rate: RATES[0] ?? 1, seconds: WARMUP_S, warmUp: true }] : []),
  ...RATES.map((rate) => ({ rate, seconds: SECONDS, warmUp: false })),
];
for (const { rate, seconds, warmUp } of phases) {
  const offered = NODES * rate;
  console.log(
    `[ingest] ${warmUp ? "warm-up" : "phase"}: ${String(NODES)} nodes × ${String(rate)} Hz = ${String(offered)} msg/s offered, ${String(seconds)} s`,
  );
  const sentAtStart = sent;
  const storedAtStart = (await stored()).stored;
  const rates: number[] = [];
  let last = read();
  let sustainedFrom: Reading | undefined; // the first window includes the ramp-up
  await publishAt(rate, seconds, () => {
    const now = read();
    const { rate: accepted, line } = describeWindow(last, now);
    rates.push(accepted);
    console.log(`[ingest]   ${line}`);
    sustainedFrom ??= now;
    last = now;
  });
  if (sustainedFrom) recordCpu(sustainedFrom, last, offered, warmUp);
  const phaseSent = sent - sentAtStart;
  const drainStart = Date.now();
  while ((await stored()).stored - storedAtStart < phaseSent && Date.now() - drainStart < DRAIN_S * 1000)
    await sleep(500);
  if (warmUp) continue;
  const phaseStored = (await stored()).stored - storedAtStart;
  const sustained = rates.slice(1);
  const first = sustained[0] ?? 0;
  const lastRate = sustained.at(-1) ?? 0;
  const average = sustained.reduce((a, b) => a + b, 0) / Math.max(1, sustained.length);
  result[`accepted_at_${String(offered)}`] = average;
  summary.push(
    `${String(offered)} msg/s offered: ${String(Math.round(average))} msg/s accepted on average ` +
      `(first window ${String(Math.round(first))}, last ${String(Math.round(lastRate))}: ${first > 0 ? `${String(Math.round((100 * lastRate) / first))}% of the first` : "n/a"}); ` +
      `${String(phaseStored)}/${String(phaseSent)} stored (${String(Math.round(((Date.now() - drainStart) / 1000) * 10) / 10)} s to drain after)`,
  );
}
const { missing } = await stored();
console.log("\n[ingest] summary");
for (const line of summary) console.log(`  ${line}`);
console.log(
  `  samples missing by sequence: ${String(missing)}; publish errors: ${String(publishErrors)}; gateway requests failed: ${String(gateways.reduce((n, g) => n + g.proxy.posts.failed, 0))}`,
);

reportResult({ ...result, missing, gateways: gatewayResults });
stopScraping();
await Promise.all(clients.map((c) => c.endAsync(true)));
stopping = true;
await Promise.all(
  gateways.map(async ({ child, proxy, mosquitto }) => {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    mosquitto?.kill("SIGTERM");
    proxy.close();
  }),
);
await worker.dispose();
await rm(state, { recursive: true, force: true });

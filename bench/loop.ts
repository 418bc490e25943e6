/**
 * End-to-end control-loop latency: a node publishes an anomalous sample; the real broker (aedes,
 * mTLS), the gateway's bridge, the real Worker in workerd with local D1 (Analyze + Plan + sign),
 * and back down to the node's executor, which verifies and applies the signed action.
 * Prints p50/p95/p99 over the cycles and the share of each phase. Target: p99 < 25 ms.
 *   npm run bench:loop            (BENCH_CYCLES, default 1000)
 * BENCH_OBSERVE (see observe.ts) sets metrics and tracing; given several modes, one loop runs per
 * mode, each with its own workerd, D1, gateway and node, and the cycles take turns among them, so
 * the machine's drift falls on every mode alike.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import mqtt from "mqtt";
import { adminToken } from "../ctl/index.js";
import { RELEASE, spiffeIdOf, topics, type NodeTelemetry } from "../protocol/index.js";
import { clientTlsOptions, DenyView, IdentityAgent } from "../node-firmware/identity/index.js";
import { startAgent } from "../node-firmware/agent/index.js";
import { validateConfig } from "../node-firmware/config/index.js";
import { ActionExecutor } from "../node-firmware/execute/index.js";
import { disableNagle } from "../node-firmware/mqtt/index.js";
import { silentLogger } from "../node-firmware/lib/index.js";
import { createJoinToken } from "../stack/index.js";
import {
  contextOf,
  startTracing,
  traceparentOf,
  traceparentOfPacket,
  traceProperties,
} from "../node-firmware/tracing/index.js";
import {
  agentSections,
  controlPlaneVars,
  modesFromEnv,
  observabilityOf,
  reportResult,
  scrapeEvery,
  type Mode,
} from "./observe.js";
import { startBenchControlPlane } from "./control-plane.js";
import { percentile } from "./stats.js";

const CYCLES = Number(process.env.BENCH_CYCLES ?? 1000);
const WARMUP = 20;
const TD = "x0tta6bl4.mesh";
const TARGET_P99_MS = 25;

/** Every POST a gateway makes, timed, by the Worker's origin: the bench runs the gateways in this process. */
const posts = new Map<string, { start: number; end: number }[]>();
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const start = performance.now();
  const response = await realFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : input);
  if (url.pathname === "/api/v1/mape/cycle") {
    await response.clone().arrayBuffer();
    posts.get(url.origin)?.push({ start, end: performance.now() });
  }
  return response;
};

interface Cycle {
  total: number;
  inbound: number;
  edge: number;
  outbound: number;
}

/** One whole loop: its own workerd and D1, gateway with embedded broker, and bench node. */
interface LoopStack {
  /** One anomalous sample to its applied action, then a normal one to keep the baseline. */
  cycle(index: number): Promise<Cycle | undefined>;
  stop(): Promise<void>;
}

async function startStack(mode: Mode): Promise<LoopStack> {
  const observability = observabilityOf(mode);
  // Guard rails off: every anomalous sample is to produce an action.
  const { state, worker, admin, api } = await startBenchControlPlane(`loop-${mode}`, {
    MAPE_COOLDOWN_S: "0",
    MAPE_MAX_ACTIONS_PER_NODE_PER_MIN: "1000000",
    ...controlPlaneVars(observability),
  });
  const jwt = await adminToken(admin.credential, api);
  const ownPosts: { start: number; end: number }[] = [];
  posts.set(api, ownPosts);

  const gateway = await startAgent(
    validateConfig("bench", {
      nodeId: "gw-1",
      role: "gateway",
      telemetry: { intervalMs: 60_000 },
      mesh: { backend: "simulated", peers: ["gw-1", "bench-1"] },
      identity: {
        edgeUrl: api,
        stateDir: join(state, "gw-1"),
        joinToken: await createJoinToken(api, jwt, "gw-1", "gateway"),
      },
      gateway: { embeddedBroker: { port: 0 }, edgeUrl: api, batch: { maxItems: 50, maxDelayMs: 2 } },
      ...agentSections(observability),
    }),
    silentLogger,
  );
  const stopScraping = scrapeEvery(() =>
    gateway.metricsPort === undefined ? [] : [`http://127.0.0.1:${String(gateway.metricsPort)}/metrics`],
  );
  /** The bench's node traces as an agent does: a Monitor span per sample, carried in the publish. */
  const nodeTracing = startTracing({ nodeId: "bench-1", role: "node" }, observability.tracing);

  const identity = new IdentityAgent(
    { edgeUrl: api, stateDir: join(state, "bench-1"), joinToken: await createJoinToken(api, jwt, "bench-1", "node") },
    silentLogger,
  );
  const svid = await identity.start();
  let applied: ((at: number) => void) | undefined;
  const executor = new ActionExecutor(
    "bench-1",
    {
      apply: () => {
        applied?.(performance.now());
        return Promise.resolve();
      },
    },
    () => undefined,
    silentLogger,
    nodeTracing.tracer,
  );
  await executor.trust(svid.actionKeys);
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${String(gateway.broker?.port ?? 0)}`, {
    protocolVersion: 5,
    clientId: "bench-1",
    ...clientTlsOptions(svid, {
      authorizer: { kind: "exact", spiffeId: spiffeIdOf.gateway(TD, "gw-1") },
      deny: new DenyView(),
    }),
  });
  disableNagle(client);
  client.on("message", (topic, payload, packet) => {
    if (topic === topics.actions("bench-1"))
      void executor.handle(payload, Date.now(), contextOf(traceparentOfPacket(packet)));
  });
  await client.subscribeAsync(topics.actions("bench-1"), { qos: 1 });

  let seq = 0;
  let lastTs = Date.now();
  const sample = (latencyMs: number): NodeTelemetry => ({
    v: 1,
    nodeId: "bench-1",
    role: "node",
    seq: seq++,
    ts: (lastTs = Math.max(Date.now(), lastTs + 1)),
    firmware: RELEASE,
    uptimeS: 1,
    neighbors: [{ neighbor: "peer", tq: 230, latencyMs, loss: 0.01 }],
    counters: { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0 },
    process: { rssBytes: 0, cpuPercent: 0 },
  });
  async function publish(t: NodeTelemetry): Promise<void> {
    const monitor = nodeTracing.tracer.startSpan("mape.monitor");
    await client.publishAsync(topics.telemetry("bench-1"), JSON.stringify(t), {
      qos: 1,
      ...traceProperties(traceparentOf(monitor)),
    });
    monitor.end();
  }
  for (let i = 0; i < 8; i++) {
    await publish(sample(5));
    await new Promise((r) => setTimeout(r, 10));
  }

  return {
    async cycle(index) {
      ownPosts.length = 0;
      const done = new Promise<number>((resolveApplied, reject) => {
        applied = resolveApplied;
        setTimeout(() => {
          reject(new Error(`${mode} cycle ${String(index)}: no action within 3 s`));
        }, 3000).unref();
      });
      const t0 = performance.now();
      await publish(sample(200));
      const t1 = await done;
      const post = ownPosts.at(-1);
      await publish(sample(5)); // keep the baseline where it was
      // Until it has reached the edge: the next cycle, of this loop or another, starts with both idle.
      const deadline = performance.now() + 3000;
      while (ownPosts.length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      return post && { total: t1 - t0, inbound: post.start - t0, edge: post.end - post.start, outbound: t1 - post.end };
    },
    async stop() {
      stopScraping();
      await client.endAsync(true);
      await nodeTracing.shutdown();
      identity.stop();
      await gateway.stop();
      await worker.dispose();
      await rm(state, { recursive: true, force: true });
    },
  };
}

function summarize(mode: Mode, cycles: Cycle[]): { p50: number; p95: number; p99: number; cycles: number[] } {
  const totals = cycles.map((c) => c.total).sort((a, b) => a - b);
  const sum = (k: keyof Cycle) => cycles.reduce((acc, c) => acc + c[k], 0);
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(totals, p)) as [number, number, number];
  console.log(
    `${mode === "off" ? "" : `[${mode}] `}control loop, ${String(cycles.length)} cycles (after ${String(WARMUP)} warm-up), batch maxDelayMs 2, mTLS broker, workerd + local D1\n`,
  );
  console.log(
    `  p50 ${p50.toFixed(1)} ms   p95 ${p95.toFixed(1)} ms   p99 ${p99.toFixed(1)} ms   (target p99 < ${String(TARGET_P99_MS)} ms: ${p99 < TARGET_P99_MS ? "ok" : "MISSED"})`,
  );
  console.log(`  share of the loop:`);
  console.log(`    node → broker → bridge → batch flush   ${((sum("inbound") / sum("total")) * 100).toFixed(1)} %`);
  console.log(
    `    HTTP + Worker (ingest, Analyze, Plan, sign, D1)  ${((sum("edge") / sum("total")) * 100).toFixed(1)} %`,
  );
  console.log(`    gateway → broker → node, verify, apply  ${((sum("outbound") / sum("total")) * 100).toFixed(1)} %\n`);
  return { p50, p95, p99, cycles: totals };
}

const modes = modesFromEnv();
const stacks = new Map<Mode, LoopStack>();
for (const mode of modes) stacks.set(mode, await startStack(mode));
const cycles = new Map<Mode, Cycle[]>(modes.map((mode) => [mode, []]));
for (let i = 0; i < CYCLES + WARMUP; i++) {
  // Each mode takes every place in the turn equally often.
  for (let k = 0; k < modes.length; k++) {
    const mode = modes[(i + k) % modes.length] as Mode;
    const cycle = await stacks.get(mode)?.cycle(i);
    if (i >= WARMUP && cycle) cycles.get(mode)?.push(cycle);
    await new Promise((r) => setTimeout(r, 3));
  }
}
const results = Object.fromEntries(modes.map((mode) => [mode, summarize(mode, cycles.get(mode) ?? [])]));
reportResult(results);
for (const stack of stacks.values()) await stack.stop();
process.exit(Object.values(results).every((r) => r.p99 < TARGET_P99_MS) ? 0 : 1);

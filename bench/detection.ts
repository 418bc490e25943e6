/**
 * Detection quality on a seeded fault-injection run with known ground truth. Simulated nodes
 * sample at 1 Hz (simulated time); link faults (latency, loss) and floods start and stop at
 * seeded random times; the edge's own Analyze and Plan code (the functions the Worker runs) and
 * the nodes' own reflexes and data plane see every sample. Prints precision and recall of anomaly
 * detection, and median times to detection and to repair. Transport latency is bench:loop's.
 *   npm run bench:detection                  (BENCH_SEED, BENCH_NODES, BENCH_MINUTES)
 */
import { SimulatedDataPlane, SourceRates } from "../node-firmware/dataplane/index.js";
import { routeActions } from "../node-firmware/execute/index.js";
import { silentLogger } from "../node-firmware/lib/index.js";
import { buildTopology, prng, SimulatedMesh, simulateMesh } from "../node-firmware/mesh/index.js";
import { Reflexes } from "../node-firmware/monitor/index.js";
import {
  type Anomaly,
  type Baseline,
  baselineKey,
  DEFAULT_GUARD_RAILS,
  floods,
  type Metric,
  observe,
  plan,
} from "../workers/mape/index.js";
import { median } from "./stats.js";

const SEED = Number(process.env.BENCH_SEED ?? 7);
const NODES = Number(process.env.BENCH_NODES ?? 20);
const MINUTES = Number(process.env.BENCH_MINUTES ?? 60);
const METRICS: Metric[] = ["latency", "loss", "tq"];
/**
 * Anomalies this long after a fault cleared still belong to it: batman's TQ window remembers 64
 * OGMs (1 s each), and the ring 5 more.
 */
const TAIL_S = 70;

interface Incident {
  kind: "degrade" | "flood";
  node: string;
  subject: string;
  start: number;
  end: number;
  detectedAt?: number;
  repairedAt?: number;
}

const random = prng(SEED);
const ids = Array.from({ length: NODES }, (_, i) => `n-${String(i + 1).padStart(2, "0")}`);
// One simulation of the whole mesh that every node reads: a fault on a link shows at both its ends.
const batman = simulateMesh(ids, buildTopology(ids, SEED), SEED);
const nodes = ids.map((id) => {
  const mesh = new SimulatedMesh(id, ids, SEED, undefined, batman);
  const dataplane = new SimulatedDataPlane(mesh.neighborIds);
  return {
    id,
    mesh,
    dataplane,
    rates: new SourceRates(),
    reflexes: new Reflexes(routeActions(mesh, dataplane), silentLogger),
  };
});

/** Ground truth: per node, one fault every ~10 minutes on average, lasting 20-120 s; a fifth of them floods. */
const incidents: Incident[] = [];
const horizon = MINUTES * 60;
for (const n of nodes) {
  for (let t = 60 + random() * 600; t < horizon - 180; t += 200 + random() * 1000) {
    const duration = Math.round(20 + random() * 100);
    const start = Math.round(t);
    if (random() < 0.2)
      incidents.push({
        kind: "flood",
        node: n.id,
        subject: `10.66.${String(Math.floor(random() * 250))}.${String(Math.floor(random() * 250))}`,
        start,
        end: start + duration,
      });
    else
      incidents.push({
        kind: "degrade",
        node: n.id,
        subject: n.mesh.neighborIds[Math.floor(random() * n.mesh.neighborIds.length)] as string,
        start,
        end: start + duration,
      });
    t += duration;
  }
}
// Faults from subtle (+10 ms, 5 % loss) to gross; floods from just over the limit to 10x.
const faultParams = new Map(
  incidents.map((inc) => [
    inc,
    inc.kind === "flood"
      ? { pps: 6000 + Math.round(random() * 50_000) }
      : random() < 0.5
        ? { latencyMs: 10 + random() * 300, loss: 0 }
        : { latencyMs: 0, loss: 0.05 + random() * 0.45 },
  ]),
);

/** Not incidents: one-sample blips (a burst of interference) that a good detector shrugs off. */
const blips: { node: string; neighbor: string; t: number; latencyMs: number; loss: number }[] = [];
for (const n of nodes) {
  for (let t = 30 + random() * 120; t < horizon; t += 30 + random() * 120) {
    blips.push({
      node: n.id,
      neighbor: n.mesh.neighborIds[Math.floor(random() * n.mesh.neighborIds.length)] as string,
      t: Math.round(t),
      latencyMs: random() * 40,
      loss: random() * 0.1,
    });
  }
}

const baselines = new Map<string, Baseline>();
const lastAtByTarget = new Map<string, number>();
const actionsAt: { node: string; at: number }[] = [];
let anomalies = 0;
let truePositives = 0;

/** The incident a signal belongs to: a fault on a link shows at both of its ends. */
const activeAt = (node: string, subject: string, t: number) =>
  incidents.find(
    (i) =>
      ((i.node === node && i.subject === subject) ||
        (i.kind === "degrade" && i.node === subject && i.subject === node)) &&
      t >= i.start &&
      t <= i.end + TAIL_S,
  );

for (let t = 0; t < horizon; t++) {
  const now = t * 1000;
  for (const inc of incidents) {
    const n = nodes.find((x) => x.id === inc.node);
    if (!n) continue;
    const fault = faultParams.get(inc) as { pps?: number; latencyMs?: number; loss?: number };
    if (t === inc.start) {
      if (inc.kind === "flood") n.dataplane.flood(inc.subject, fault.pps ?? 0);
      else n.mesh.degrade(inc.subject, { latencyMs: fault.latencyMs ?? 0, loss: fault.loss ?? 0 });
    }
    if (t === inc.end) {
      if (inc.kind === "flood") n.dataplane.calm(inc.subject);
      else n.mesh.restore(inc.subject);
    }
  }
  for (const b of blips) {
    const n = nodes.find((x) => x.id === b.node);
    if (!n || activeAt(b.node, b.neighbor, t)) continue;
    if (t === b.t) n.mesh.degrade(b.neighbor, b);
    if (t === b.t + 1) n.mesh.restore(b.neighbor);
  }
  const found: Anomaly[] = [];
  for (const n of nodes) {
    const { neighbors } = n.mesh.sample(now);
    const sources = n.rates.rate(await n.dataplane.snapshot(now), now);
    for (const reflex of n.reflexes.observe(neighbors, sources, now)) {
      const inc = activeAt(n.id, reflex.kind === "reroute" ? reflex.neighbor : reflex.source, t);
      if (inc) inc.repairedAt ??= t;
    }
    for (const reading of neighbors) {
      for (const metric of METRICS) {
        const key = baselineKey(n.id, reading.neighbor, metric);
        const { anomaly, next } = observe(baselines.get(key), reading, metric, n.id, now);
        baselines.set(key, next);
        if (anomaly) found.push(anomaly);
      }
    }
    const telemetry = {
      v: 1 as const,
      nodeId: n.id,
      role: "node" as const,
      seq: t,
      ts: now,
      firmware: "bench",
      uptimeS: t,
      neighbors,
      counters: { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0 },
      process: { rssBytes: 0, cpuPercent: 0 },
      dataplane: {
        kind: "simulated" as const,
        sources,
        blocklistSize: 0,
        rateLimitedSources: 0,
        dropped: { blocked: 0, rateLimited: 0 },
      },
    };
    found.push(...floods(telemetry, DEFAULT_GUARD_RAILS.floodPps, now));
  }
  // One signal per target and second, however many metrics flagged it.
  const signals = new Map(found.map((a) => [`${a.nodeId}:${a.neighbor ?? a.source ?? ""}`, a]));
  for (const a of signals.values()) {
    anomalies++;
    const inc = activeAt(a.nodeId, a.neighbor ?? a.source ?? "", t);
    if (inc) {
      truePositives++;
      inc.detectedAt ??= t;
    }
  }
  const minuteAgo = now - 60_000;
  const countLastMinuteByNode = new Map<string, number>();
  for (const a of actionsAt)
    if (a.at >= minuteAgo) countLastMinuteByNode.set(a.node, (countLastMinuteByNode.get(a.node) ?? 0) + 1);
  for (const d of plan([...signals.values()], { lastAtByTarget, countLastMinuteByNode }, DEFAULT_GUARD_RAILS, now)) {
    if (d.disposition !== "send") continue;
    lastAtByTarget.set(d.target, now);
    actionsAt.push({ node: d.anomaly.nodeId, at: now });
    const inc = activeAt(d.anomaly.nodeId, d.anomaly.neighbor ?? d.anomaly.source ?? "", t);
    if (inc) inc.repairedAt ??= t;
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log(
  `[detection] seed ${String(SEED)}: ${String(NODES)} nodes, ${String(MINUTES)} simulated minutes at 1 Hz, ${String(incidents.length)} injected incidents, ${String(blips.length)} one-sample blips (not incidents)`,
);
for (const kind of ["degrade", "flood"] as const) {
  const of = incidents.filter((i) => i.kind === kind);
  const detected = of.filter((i) => i.detectedAt !== undefined);
  const repaired = of.filter((i) => i.repairedAt !== undefined);
  console.log(
    `  ${kind.padEnd(7)} ${String(of.length)} incidents: recall ${pct(detected.length / Math.max(1, of.length))}, repaired ${pct(repaired.length / Math.max(1, of.length))}; ` +
      `median time to detection ${String(median(detected.map((i) => (i.detectedAt as number) - i.start)))} s, to repair ordered ${String(median(repaired.map((i) => (i.repairedAt as number) - i.start)))} s (0 s: the first sample after the fault)`,
  );
}
console.log(
  `  precision ${pct(truePositives / Math.max(1, anomalies))} (${String(truePositives)} of ${String(anomalies)} anomaly signals during a fault or ${String(TAIL_S)} s after it)`,
);
const missed = incidents.filter((i) => i.detectedAt === undefined).map((i) => ({ ...i, ...faultParams.get(i) }));
if (missed.length > 0) console.log(`  missed: ${JSON.stringify(missed.slice(0, 5))}${missed.length > 5 ? " …" : ""}`);

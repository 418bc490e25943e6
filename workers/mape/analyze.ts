import type { NeighborReading, NodeStatus, NodeTelemetry } from "../../protocol/index.js";

export type Metric = "latency" | "loss" | "tq";

/** The metrics a link's baseline (and its Knowledge-tuned threshold) is kept for. */
export const isLinkMetric = (metric: string | undefined): metric is Metric =>
  metric === "latency" || metric === "loss" || metric === "tq";

export interface Baseline {
  mean: number;
  /** EWMA of |x - mean|: a robust spread that, unlike a variance, an outlier does not blow up. */
  deviation: number;
  samples: number;
  /** This link's threshold when Knowledge feedback has moved it from the default. */
  threshold?: number | null;
}

/** Where a link's baseline for one metric is kept. */
export const baselineKey = (from: string, to: string, metric: Metric) => `${from}>${to}#${metric}`;

export interface DetectorSettings {
  /** EWMA weight of a new sample. */
  alpha: number;
  /** Samples needed before a link's baseline is trusted. */
  warmup: number;
  /** Score (deviations from the mean) past which a sample is anomalous. */
  threshold: number;
  /** Smallest spread per metric, so a perfectly steady link does not alarm on noise. */
  minDeviation: Record<Metric, number>;
}

export const DEFAULT_DETECTOR: DetectorSettings = {
  alpha: 0.2,
  warmup: 5,
  threshold: 5,
  // batman-adv TQ is bursty: a lost OGM pushes 0 into a 5-OGM ring, so ±50 is ordinary.
  minDeviation: { latency: 2, loss: 0.02, tq: 25 },
};

export type AnomalyKind =
  "latency_spike" | "loss_burst" | "tq_collapse" | "traffic_flood" | "node_down" | "node_flapping";

/** What was seen, against what was expected: every anomaly carries its evidence. */
export interface Anomaly {
  kind: AnomalyKind;
  nodeId: string;
  neighbor?: string;
  /** The traffic source of a flood. */
  source?: string;
  /** A flooding source the node has already blocked (by reflex or an earlier action). */
  blocked?: boolean;
  metric?: Metric | "packetsPerS" | "downsPerWindow";
  baseline?: number;
  spread?: number;
  observed?: number;
  score?: number;
  ts: number;
}

const KIND: Record<Metric, AnomalyKind> = { latency: "latency_spike", loss: "loss_burst", tq: "tq_collapse" };
/** Which side is bad: latency and loss going up, TQ going down. */
const BAD_DIRECTION: Record<Metric, 1 | -1> = { latency: 1, loss: 1, tq: -1 };

const valueOf = (reading: NeighborReading, metric: Metric) =>
  metric === "latency" ? reading.latencyMs : metric === "loss" ? reading.loss : reading.tq;

export interface Observation {
  anomaly: Anomaly | null;
  next: Baseline;
}

/**
 * Scores one reading against its baseline and folds it in. An anomalous value moves the mean ten
 * times slower, clipped at the threshold's edge, and leaves the spread alone: a fault that lasts
 * stays an anomaly for minutes rather than becoming the new normal within a few samples, while a
 * lasting shift is still accepted in the end.
 */
export function observe(
  baseline: Baseline | undefined,
  reading: NeighborReading,
  metric: Metric,
  nodeId: string,
  ts: number,
  s: DetectorSettings = DEFAULT_DETECTOR,
): Observation {
  const x = valueOf(reading, metric);
  if (!baseline) return { anomaly: null, next: { mean: x, deviation: s.minDeviation[metric], samples: 1 } };
  const spread = Math.max(baseline.deviation, s.minDeviation[metric]);
  const threshold = baseline.threshold ?? s.threshold;
  const score = (BAD_DIRECTION[metric] * (x - baseline.mean)) / spread;
  const outlier = score > threshold;
  // During warm-up an outlier is not reported (the baseline is not trusted yet) but it is not
  // learnt at full weight either, so a fault that starts then does not become the normal.
  const anomalous = baseline.samples >= s.warmup && outlier;
  const next = outlier
    ? {
        ...baseline,
        mean: baseline.mean + (s.alpha / 10) * BAD_DIRECTION[metric] * threshold * spread,
        samples: baseline.samples + 1,
      }
    : {
        ...baseline,
        mean: baseline.mean + s.alpha * (x - baseline.mean),
        deviation: baseline.deviation + s.alpha * (Math.abs(x - baseline.mean) - baseline.deviation),
        samples: baseline.samples + 1,
      };
  if (!anomalous) return { anomaly: null, next };
  return {
    anomaly: {
      kind: KIND[metric],
      nodeId,
      neighbor: reading.neighbor,
      metric,
      baseline: baseline.mean,
      spread,
      observed: x,
      score: Math.round(score * 100) / 100,
      ts,
    },
    next,
  };
}

/**
 * Floods: sources arriving faster than `floodPps` at a node, blocked or not (the node counts
 * what its filter drops, so a blocked flood that goes on is still seen).
 */
export function floods(sample: NodeTelemetry, floodPps: number, ts: number): Anomaly[] {
  // A source the node blocked by reflex with this very sample counts as blocked already.
  const reflexBlocked = new Set(
    (sample.reflexes ?? []).flatMap((r) => (r.kind === "isolate_source" ? [r.source] : [])),
  );
  return (sample.dataplane?.sources ?? [])
    .filter((s) => s.packetsPerS > floodPps)
    .map((s) => ({
      kind: "traffic_flood",
      nodeId: sample.nodeId,
      source: s.source,
      blocked: s.blocked || reflexBlocked.has(s.source),
      metric: "packetsPerS",
      baseline: floodPps,
      observed: s.packetsPerS,
      score: Math.round((s.packetsPerS / floodPps) * 100) / 100,
      ts,
    }));
}

/** How many times a node may go down within `FLAP_WINDOW_MS` before it is flapping. */
export const FLAP_THRESHOLD = 3;
export const FLAP_WINDOW_MS = 10 * 60_000;

/** A node that went down `downs` times within the window (this time included) is flapping. */
export function flapping(down: Anomaly, downs: number): Anomaly | null {
  if (downs < FLAP_THRESHOLD) return null;
  return {
    kind: "node_flapping",
    nodeId: down.nodeId,
    metric: "downsPerWindow",
    baseline: FLAP_THRESHOLD,
    observed: downs,
    score: Math.round((downs / FLAP_THRESHOLD) * 100) / 100,
    ts: down.ts,
  };
}

/** A node's Last Will (or goodbye) is a node failure to record. */
export function nodeDown(status: NodeStatus, now: number): Anomaly | null {
  return status.state === "offline" ? { kind: "node_down", nodeId: status.nodeId, ts: now } : null;
}

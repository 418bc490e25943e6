import type { BatchItem as BatchStatement } from "drizzle-orm/batch";
import type { Reflex } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { DEFAULT_DETECTOR, isLinkMetric, type Anomaly } from "./analyze.js";
import { targetKey } from "./plan.js";
import { actionsToJudge, decisionsOnTarget, thresholdFeedback, verdictUpdate } from "./store.js";

export interface FeedbackSettings {
  /** How long after an action is applied its outcome is judged. */
  windowMs: number;
  /** Anomalies this soon after the action are still the old incident in flight, not a failure to recover. */
  graceMs: number;
  /** An action that did not help: the link alarmed without cause, or too eagerly. */
  widen: number;
  /** An incident the node caught by reflex but the edge did not see. */
  tighten: number;
  min: number;
  max: number;
}

export const DEFAULT_FEEDBACK: FeedbackSettings = {
  windowMs: 30_000,
  graceMs: 5_000,
  widen: 1.25,
  tighten: 0.8,
  min: 3,
  max: 20,
};

const bounds = (f: FeedbackSettings) => ({ initial: DEFAULT_DETECTOR.threshold, min: f.min, max: f.max });

/**
 * Judges applied actions once their window has passed: `recovered` when the target raised no
 * anomaly after the grace period (a flood that goes on but is dropped counts as handled), else
 * `not-recovered`, which widens a link's threshold.
 */
export async function judgeOutcomes(
  db: Database,
  now: number,
  f: FeedbackSettings = DEFAULT_FEEDBACK,
): Promise<BatchStatement<"sqlite">[]> {
  const statements: BatchStatement<"sqlite">[] = [];
  for (const decision of await actionsToJudge(db, now - f.windowMs)) {
    const appliedAt = decision.outcomeAt ?? decision.ts;
    const target = (decision.what as { target: string }).target;
    const anomaly = decision.inputs as Anomaly;
    const again = decision.nodeId
      ? await decisionsOnTarget(db, decision.nodeId, target, appliedAt + f.graceMs, appliedAt + f.windowMs)
      : 0;
    const verdict = again === 0 ? "recovered" : "not-recovered";
    statements.push(verdictUpdate(db, decision.id, verdict, now));
    if (verdict === "not-recovered" && decision.nodeId && anomaly.neighbor && isLinkMetric(anomaly.metric)) {
      statements.push(
        thresholdFeedback(
          db,
          { fromNode: decision.nodeId, toNode: anomaly.neighbor, metric: anomaly.metric },
          f.widen,
          bounds(f),
        ),
      );
    }
  }
  return statements;
}

/** A reflex on a link the edge saw nothing wrong with is a missed incident: that link's TQ threshold tightens. */
export async function missedIncidents(
  db: Database,
  reflexes: readonly { nodeId: string; reflex: Reflex }[],
  seenNow: readonly Anomaly[],
  f: FeedbackSettings = DEFAULT_FEEDBACK,
): Promise<BatchStatement<"sqlite">[]> {
  const statements: BatchStatement<"sqlite">[] = [];
  for (const { nodeId, reflex } of reflexes) {
    if (reflex.kind !== "reroute") continue; // only link thresholds learn from reflexes
    const seen = seenNow.some((a) => a.nodeId === nodeId && a.neighbor === reflex.neighbor);
    const seenBefore = seen
      ? 1
      : await decisionsOnTarget(
          db,
          nodeId,
          targetKey(nodeId, reflex.kind, reflex.neighbor),
          reflex.ts - 60_000,
          reflex.ts,
        );
    if (seenBefore === 0)
      statements.push(
        thresholdFeedback(db, { fromNode: nodeId, toNode: reflex.neighbor, metric: "tq" }, f.tighten, bounds(f)),
      );
  }
  return statements;
}

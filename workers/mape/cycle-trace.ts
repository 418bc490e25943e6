import { itemNodeId, parseTraceparent, type BatchItem } from "../../protocol/index.js";
import type { Span } from "../tracing/span.js";
import type { Tracer } from "../tracing/tracer.js";
import type { Anomaly } from "./analyze.js";
import type { PlannedDecision } from "./plan.js";

/**
 * The Analyze and Plan spans of one cycle, in the traces of the messages that caused them: each
 * traced item of the batch gets a span (`mape.analyze`, or `mape.knowledge` for an action's
 * result) under the gateway's relay span, and each decision a `mape.plan` span under the item
 * its anomaly came from. The request's own span is linked, not the parent: one request carries
 * many traces.
 */
export class CycleTrace {
  private readonly spans = new Map<BatchItem, Span>();
  private readonly causes = new Map<Anomaly, BatchItem>();

  constructor(
    private readonly tracer: Tracer,
    request: Span,
    items: readonly BatchItem[],
  ) {
    if (!tracer.enabled) return;
    for (const item of items) {
      const parent = item.traceparent === undefined ? null : parseTraceparent(item.traceparent);
      if (!parent?.sampled) continue; // not recorded upstream: nothing to record here either
      const name = item.kind === "result" ? "mape.knowledge" : "mape.analyze";
      this.spans.set(
        item,
        tracer.startSpan(name, {
          parent,
          links: [request.context],
          attributes: { "x0.node.id": itemNodeId(item), "x0.item.kind": item.kind, ...resultAttributes(item) },
        }),
      );
    }
  }

  found(anomaly: Anomaly, item: BatchItem): void {
    if (this.spans.has(item)) this.causes.set(anomaly, item);
  }

  /** `anomaly` follows from `from` (a flap from the latest down): same cause. */
  derived(anomaly: Anomaly, from: Anomaly): void {
    const item = this.causes.get(from);
    if (item) this.causes.set(anomaly, item);
  }

  /** Records a decision as a Plan span; its traceparent, for the action, when its cause was traced. */
  plan(decision: PlannedDecision, decisionId: string, actionId: string | undefined): string | undefined {
    const item = this.causes.get(decision.anomaly);
    const analyze = item && this.spans.get(item);
    if (!analyze) return undefined;
    const span = this.tracer.startSpan("mape.plan", {
      parent: analyze.context,
      attributes: {
        "x0.node.id": decision.anomaly.nodeId,
        "x0.anomaly.kind": decision.anomaly.kind,
        "x0.decision.id": decisionId,
        "x0.decision.disposition": decision.disposition,
        "x0.decision.target": decision.target,
        "x0.decision.why": decision.why,
        ...(decision.params ? { "x0.action.kind": decision.params.kind } : {}),
        ...(actionId ? { "x0.action.id": actionId } : {}),
      },
    });
    span.end();
    return actionId ? span.traceparent : undefined;
  }

  /** Ends the items' spans, each with the anomalies found in it. */
  end(): void {
    const found = new Map<BatchItem, number>();
    for (const item of this.causes.values()) found.set(item, (found.get(item) ?? 0) + 1);
    for (const [item, span] of this.spans) {
      if (item.kind !== "result") span.setAttributes({ "x0.anomalies": found.get(item) ?? 0 });
      span.end();
    }
  }
}

function resultAttributes(item: BatchItem) {
  if (item.kind !== "result") return {};
  const { outcome, actionId, decisionId } = item.result;
  return {
    "x0.action.outcome": outcome,
    ...(actionId ? { "x0.action.id": actionId } : {}),
    ...(decisionId ? { "x0.decision.id": decisionId } : {}),
  };
}

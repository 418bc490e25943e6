import { z } from "zod";
import { EpochMs, NodeId } from "./ids.js";
import { limits } from "./limits.js";
import { NodeStatus } from "./status.js";
import { NodeTelemetry } from "./telemetry.js";
import { ActionResult, SignedAction } from "./mape.js";
import { Traceparent } from "./trace.js";

/**
 * One message a gateway relays, in the order it arrived from the broker. `traceparent` is the
 * gateway's relay span when the message came traced: one batch carries many traces, so each
 * item brings its own.
 */
export const BatchItem = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("telemetry"), telemetry: NodeTelemetry, traceparent: Traceparent.optional() }),
  z.object({ kind: z.literal("status"), status: NodeStatus, traceparent: Traceparent.optional() }),
  z.object({ kind: z.literal("result"), result: ActionResult, traceparent: Traceparent.optional() }),
]);
export type BatchItem = z.infer<typeof BatchItem>;

/** The node a batch item is about. */
export function itemNodeId(item: BatchItem): string {
  switch (item.kind) {
    case "telemetry":
      return item.telemetry.nodeId;
    case "status":
      return item.status.nodeId;
    case "result":
      return item.result.nodeId;
  }
}

/** Body of POST /api/v1/telemetry. */
export const TelemetryBatch = z.object({
  gatewayId: NodeId,
  sentAt: EpochMs,
  items: z.array(BatchItem).min(1).max(limits.batchItems),
});
export type TelemetryBatch = z.infer<typeof TelemetryBatch>;

export const TelemetryAccepted = z.object({
  accepted: z.number().int().nonnegative(),
  /** Telemetry samples not newer than what was already stored (replays); they changed nothing. */
  duplicates: z.number().int().nonnegative(),
  /** Items of revoked identities: refused, counted, not stored. */
  revoked: z.number().int().nonnegative(),
  /** The deny list's revision now: a gateway holding an older one fetches it at once. */
  denyListRevision: z.number().int().nonnegative(),
});
export type TelemetryAccepted = z.infer<typeof TelemetryAccepted>;

/**
 * What POST /api/v1/mape/cycle answers: the ingest figures and the signed actions to deliver,
 * each with the Plan span it came from when its cause was traced.
 */
export const CycleResponse = z.object({
  ...TelemetryAccepted.shape,
  /** The mesh policy's revision now: a gateway holding an older one fetches it at once. */
  policyRevision: z.number().int().nonnegative().optional(),
  actions: z.array(z.object({ nodeId: NodeId, action: SignedAction, traceparent: Traceparent.optional() })),
});
export type CycleResponse = z.infer<typeof CycleResponse>;

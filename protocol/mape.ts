import { z } from "zod";
import { messageVersion } from "./version.js";
import { EpochMs, NodeId } from "./ids.js";
import { SourceAddress as Source, type Reflex } from "./telemetry.js";
import { RagEvidence } from "./rag.js";

/** The closed set of repairs the Plan phase may order and the Execute phase knows how to apply. */
export const ActionKind = z.enum([
  "reroute",
  "isolate_source",
  "rate_limit",
  "restart_interface",
  "retry_probe",
  "set_threshold",
]);
export type ActionKind = z.infer<typeof ActionKind>;

export const ActionParams = z.discriminatedUnion("kind", [
  /** Make batman-adv avoid a link: raise the hop penalty towards `neighbor`. */
  z.object({ kind: z.literal("reroute"), neighbor: NodeId, hopPenalty: z.number().int().min(0).max(255) }),
  z.object({ kind: z.literal("isolate_source"), source: Source, ttlSeconds: z.number().int().min(1).max(86_400) }),
  z.object({
    kind: z.literal("rate_limit"),
    source: Source,
    packetsPerSecond: z.number().int().min(1).max(10_000_000),
    ttlSeconds: z.number().int().min(1).max(86_400),
  }),
  z.object({ kind: z.literal("restart_interface"), interface: z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/) }),
  z.object({ kind: z.literal("retry_probe"), neighbor: NodeId }),
  z.object({
    kind: z.literal("set_threshold"),
    metric: z.enum(["latency", "loss", "tq"]),
    value: z.number().nonnegative(),
  }),
]);
export type ActionParams = z.infer<typeof ActionParams>;

/** The action a node's reflex took, as the Execute step would have taken it. */
export function reflexAction(reflex: Reflex): ActionParams {
  return reflex.kind === "isolate_source"
    ? { kind: "isolate_source", source: reflex.source, ttlSeconds: reflex.ttlSeconds }
    : { kind: "reroute", neighbor: reflex.neighbor, hopPenalty: reflex.hopPenalty };
}

/** What the control plane signs. `idempotencyKey` is the same for re-sent copies of one decision. */
export const Action = z.object({
  v: messageVersion(1),
  id: z.uuid(),
  nodeId: NodeId,
  issuedAt: EpochMs,
  expiresAt: EpochMs,
  idempotencyKey: z.string().min(8).max(128),
  /** The decision this action carries out, for the Knowledge base. */
  decisionId: z.uuid(),
  params: ActionParams,
});
export type Action = z.infer<typeof Action>;

const Base64url = z.string().regex(/^[A-Za-z0-9_-]*$/, "must be base64url without padding");

/**
 * On a node's actions topic: a JWS in the flattened JSON serialization (RFC 7515 §7.2.2) whose
 * payload is the Action's JSON, signed EdDSA (Ed25519) with `kid` in the protected header.
 */
export const SignedAction = z.object({
  protected: Base64url.max(1024),
  payload: Base64url.max(8192),
  signature: Base64url.length(86),
});
export type SignedAction = z.infer<typeof SignedAction>;

export const ActionOutcome = z.enum(["applied", "rejected", "failed", "expired"]);
export type ActionOutcome = z.infer<typeof ActionOutcome>;

/** Published by a node for every action message it received, valid or not. */
export const ActionResult = z.object({
  v: messageVersion(1),
  nodeId: NodeId,
  /** Absent when the message was too broken to read an id from. */
  actionId: z.string().max(64).optional(),
  decisionId: z.string().max(64).optional(),
  outcome: ActionOutcome,
  reason: z.string().max(512).optional(),
  ts: EpochMs,
});
export type ActionResult = z.infer<typeof ActionResult>;

/** An Ed25519 public key the control plane signs actions with (raw, base64url). */
export const ActionKey = z.object({ kid: z.string(), publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
export type ActionKey = z.infer<typeof ActionKey>;
export const ActionKeys = z.object({ keys: z.array(ActionKey) });

export const DecisionQuery = z.object({
  node: NodeId.optional(),
  kind: z.string().max(64).optional(),
  since: z.iso.datetime().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** One MAPE-K decision as the Knowledge base holds it. */
export const Decision = z.object({
  id: z.string(),
  ts: z.iso.datetime(),
  nodeId: z.string().nullable(),
  kind: z.string(),
  what: z.unknown(),
  why: z.string(),
  inputs: z.unknown(),
  outcome: z.string().nullable(),
  outcomeAt: z.iso.datetime().nullable(),
  verdict: z.enum(["recovered", "not-recovered"]).nullable(),
  verdictAt: z.iso.datetime().nullable(),
  /** Related runbooks and past decisions found when it was made (attached after the action left). */
  evidence: RagEvidence.nullable(),
});
export const DecisionList = z.object({ decisions: z.array(Decision) });
export type DecisionList = z.infer<typeof DecisionList>;

/** What the loop has learnt: how its actions turned out, and which links' thresholds feedback moved. */
export const Knowledge = z.object({
  outcomes: z.object({ recovered: z.number().int(), notRecovered: z.number().int(), unjudged: z.number().int() }),
  detector: z.object({ threshold: z.number(), warmup: z.number().int(), alpha: z.number() }),
  tunedLinks: z.array(z.object({ from: z.string(), to: z.string(), metric: z.string(), threshold: z.number() })),
});
export type Knowledge = z.infer<typeof Knowledge>;

/**
 * Fault injection into a simulated node (admins only): degrade or cut the link to `neighbor`, or
 * clear it; start or stop a flood from `source`.
 */
export const SimFault = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("degrade"),
    neighbor: NodeId,
    latencyMs: z.number().min(0).max(60_000),
    loss: z.number().min(0).max(1),
  }),
  z.object({ kind: z.literal("link_down"), neighbor: NodeId }),
  z.object({ kind: z.literal("restore"), neighbor: NodeId }),
  z.object({ kind: z.literal("flood"), source: Source, packetsPerSecond: z.number().int().min(1).max(100_000_000) }),
  z.object({ kind: z.literal("calm"), source: Source }),
]);
export type SimFault = z.infer<typeof SimFault>;

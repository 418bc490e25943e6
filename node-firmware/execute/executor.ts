import { ROOT_CONTEXT, SpanKind, type Context, type Tracer } from "@opentelemetry/api";
import {
  SignedAction,
  decodePayload,
  type ActionKey,
  type ActionOutcome,
  type ActionParams,
  type ActionResult,
  type DecodeReason,
} from "../../protocol/index.js";
import { countOne, type Counts } from "../lib/counts.js";
import { importActionKeys, openSignedAction, type ActionRefusal } from "./signed-action.js";
import { errorText, type Logger } from "../lib/log.js";
import { messagingAttributes, traceparentOf } from "../tracing/propagation.js";
import { untraced } from "../tracing/tracing.js";

/** Where actions take effect: the simulated mesh here, batman-adv and XDP maps on a router. */
export interface ActionBackend {
  apply(params: ActionParams, now: number): Promise<void>;
}

export type ExecutorStats = Record<ActionOutcome | "duplicates", number>;

/** Why an action message was refused: its envelope (too large, not JSON, malformed) or what opening it found. */
export type RefusalReason = ActionRefusal | "too_large";

const ENVELOPE_REFUSALS: Record<DecodeReason, RefusalReason> = {
  "too-large": "too_large",
  "not-json": "not_json",
  schema: "malformed",
};

const REMEMBERED = 1024;

/**
 * The Execute step. Every message on the node's actions topic gets exactly one result:
 * `applied`, `failed` (the backend threw), `rejected` (unsigned, unknown key, bad signature,
 * malformed, unknown action, not for this node) or `expired`. Nothing here throws: a bad action
 * is answered, never executed, and never stops the agent. An action re-sent with the same
 * idempotency key is answered with the first result and not applied twice.
 */
export class ActionExecutor {
  readonly stats: ExecutorStats = { applied: 0, rejected: 0, failed: 0, expired: 0, duplicates: 0 };
  /** The rejected and expired ones by reason. */
  readonly refusals: Counts<RefusalReason> = {};
  private keys = new Map<string, CryptoKey>();
  private readonly done = new Map<string, ActionResult>();

  constructor(
    private readonly nodeId: string,
    private readonly backend: ActionBackend,
    /** Publishes a result, carrying on the trace of the action it answers when there is one. */
    private readonly publish: (result: ActionResult, traceparent?: string) => void,
    private readonly log: Logger,
    private readonly tracer: Tracer = untraced.tracer,
  ) {}

  async trust(keys: readonly ActionKey[]): Promise<void> {
    this.keys = await importActionKeys(keys);
  }

  /** `trace`: the context the action message carried (the gateway's delivery span). */
  async handle(payload: Uint8Array, now = Date.now(), trace: Context = ROOT_CONTEXT): Promise<ActionResult> {
    const span = this.tracer.startSpan(
      "mape.execute",
      { kind: SpanKind.CONSUMER, attributes: messagingAttributes(`x0/v1/nodes/${this.nodeId}/actions`, "process") },
      trace,
    );
    const result = await this.execute(payload, now).catch((error: unknown) =>
      this.result("failed", now, `executor error: ${errorText(error)}`),
    );
    span.setAttributes({
      "x0.action.outcome": result.outcome,
      ...(result.actionId ? { "x0.action.id": result.actionId } : {}),
      ...(result.decisionId ? { "x0.decision.id": result.decisionId } : {}),
      ...(result.reason ? { "x0.action.reason": result.reason } : {}),
    });
    this.publish(result, traceparentOf(span));
    span.end();
    return result;
  }

  private async execute(payload: Uint8Array, now: number): Promise<ActionResult> {
    const decoded = decodePayload(SignedAction, payload);
    if (!decoded.ok)
      return this.refuse(
        this.result("rejected", now, `${decoded.reason}: ${decoded.detail}`),
        ENVELOPE_REFUSALS[decoded.reason],
      );
    const opened = await openSignedAction(decoded.value, this.keys, this.nodeId, now);
    if (!opened.ok) return this.refuse(this.result(opened.outcome, now, opened.reason, opened.action), opened.refusal);
    const { action } = opened;
    const earlier = this.done.get(action.idempotencyKey);
    if (earlier) {
      this.stats.duplicates++;
      return earlier;
    }
    let result: ActionResult;
    try {
      await this.backend.apply(action.params, now);
      result = this.result("applied", now, undefined, action);
      this.log.info("action applied", { kind: action.params.kind, actionId: action.id });
    } catch (error) {
      result = this.result("failed", now, errorText(error), action);
      this.log.warn("action failed", { kind: action.params.kind, actionId: action.id, error: errorText(error) });
    }
    this.remember(action.idempotencyKey, result);
    return this.count(result);
  }

  private remember(key: string, result: ActionResult): void {
    this.done.set(key, result);
    if (this.done.size > REMEMBERED) this.done.delete(this.done.keys().next().value as string);
  }

  private count(result: ActionResult): ActionResult {
    this.stats[result.outcome]++;
    return result;
  }

  private refuse(result: ActionResult, refusal: RefusalReason): ActionResult {
    countOne(this.refusals, refusal);
    this.log.warn("action refused", { outcome: result.outcome, refusal, reason: result.reason });
    return this.count(result);
  }

  private result(
    outcome: ActionOutcome,
    ts: number,
    reason?: string,
    action?: { id: string; decisionId: string },
  ): ActionResult {
    return {
      v: 1,
      nodeId: this.nodeId,
      outcome,
      ts,
      ...(action ? { actionId: action.id, decisionId: action.decisionId } : {}),
      ...(reason === undefined ? {} : { reason: reason.slice(0, 512) }),
    };
  }
}

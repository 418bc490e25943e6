import { topics, type Rejection, type RejectReason } from "../../protocol/index.js";
import type { Logger } from "../lib/log.js";

export type RejectionCounts = Record<RejectReason, number>;

/**
 * Counts every message a consumer drops and answers its sender on the sender's rejections
 * topic — at most once per `answerIntervalMs` per node, so garbage cannot amplify into a flood.
 */
export class RejectionNotifier {
  readonly counts: RejectionCounts = {
    "unknown-topic": 0,
    "too-large": 0,
    "not-json": 0,
    schema: 0,
    "topic-mismatch": 0,
  };
  private readonly lastAnswer = new Map<string, number>();

  constructor(
    private readonly publish: (topic: string, payload: string) => void,
    private readonly log: Logger,
    private readonly answerIntervalMs = 1000,
  ) {}

  reject(topic: string, nodeId: string | null, reason: RejectReason, detail: string, now = Date.now()): void {
    this.counts[reason]++;
    this.log.warn("message rejected", { topic: topic.slice(0, 200), reason, detail: detail.slice(0, 300) });
    if (nodeId === null) return;
    if (now - (this.lastAnswer.get(nodeId) ?? -Infinity) < this.answerIntervalMs) return;
    this.lastAnswer.set(nodeId, now);
    if (this.lastAnswer.size > 10_000) this.lastAnswer.clear();
    const answer: Rejection = { v: 1, topic: topic.slice(0, 256), reason, detail: detail.slice(0, 1024), ts: now };
    this.publish(topics.rejections(nodeId), JSON.stringify(answer));
  }

  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

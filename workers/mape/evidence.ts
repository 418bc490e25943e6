import type { Env } from "../env.js";
import { attachEvidence, ingestClosedDecisions, type RecordedDecision } from "../rag/decisions.js";
import { openRag } from "../rag/open.js";
import { errorText } from "../../protocol/index.js";

/** Milliseconds a cycle may spend finding evidence for its decisions (after the actions left). */
export const DEFAULT_EVIDENCE_BUDGET_MS = 500;

function budgetMs(env: Env): number {
  const value = Number(env.RAG_EVIDENCE_BUDGET_MS ?? DEFAULT_EVIDENCE_BUDGET_MS);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_EVIDENCE_BUDGET_MS;
}

const logged = (what: string) => (error: unknown) => {
  console.error(JSON.stringify({ msg: `${what} failed`, error: errorText(error) }));
};

/** Related runbooks and past decisions, attached to the decisions a cycle just recorded. */
export const relateToKnowledge = (env: Env, recorded: RecordedDecision[]): Promise<void> =>
  attachEvidence(openRag(env), recorded, budgetMs(env)).catch(logged("attaching RAG evidence"));

/** Closed decisions become searchable documents. */
export const indexClosedDecisions = (env: Env): Promise<void> =>
  ingestClosedDecisions(openRag(env)).then(() => undefined, logged("indexing closed decisions"));

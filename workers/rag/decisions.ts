import { and, asc, eq, gte, inArray, isNotNull, isNull, or } from "drizzle-orm";
import type { RagEvidence } from "../../protocol/index.js";
import { decisions } from "../db/schema.js";
import { acceptDocument, indexDocument, type NewDocument, type RagDeps } from "./ingest.js";
import { answerQuery } from "./query.js";

type DecisionRow = typeof decisions.$inferSelect;

/** A decision the Plan step just recorded, as RAG needs it to look for related knowledge. */
export interface RecordedDecision {
  id: string;
  nodeId: string | null;
  kind: string;
  why: string;
  /** The anomaly's metric and neighbour, when it has them. */
  metric?: string | undefined;
  neighbor?: string | undefined;
}

/** Matches attached per decision. */
const EVIDENCE_K = 3;
/** Closed decisions ingested per call (each is one small document). */
const INGEST_BATCH = 20;
/**
 * A decision closes within this of being made (verdicts after 30 s, actions expire after 30 s);
 * older ones are not looked at again.
 */
const CLOSE_WINDOW_MS = 60 * 60_000;

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
const text = (value: unknown) => (typeof value === "string" ? value : undefined);

/** A closed decision as a Markdown document: what, why, evidence (its inputs) and outcome. */
export function decisionDocument(row: DecisionRow): NewDocument {
  const inputs = asRecord(row.inputs);
  const what = asRecord(row.what);
  const neighbor = text(inputs.neighbor);
  const metric = text(inputs.metric);
  const result = row.verdict ?? row.outcome ?? "open";
  const lines = [
    `# ${row.kind} on ${row.nodeId ?? "the mesh"}: ${result}`,
    "",
    `Decided at ${new Date(row.ts).toISOString()}${neighbor ? ` about the link to ${neighbor}` : ""}${metric ? ` (${metric})` : ""}.`,
    "",
    "## Why",
    row.why,
    "",
    "## What was done",
    "```json",
    JSON.stringify(what.params ?? what, null, 2),
    "```",
    "",
    "## Evidence",
    "```json",
    JSON.stringify(inputs, null, 2),
    "```",
    "",
    "## Outcome",
    `Outcome: ${row.outcome ?? "none reported"}${row.verdict ? `; verdict after the window: ${row.verdict}` : ""}.`,
  ];
  return {
    collection: "decisions",
    id: `decision:${row.id}`,
    title: `${row.kind} on ${row.nodeId ?? "the mesh"}: ${result}`,
    source: `/api/v1/mape/decisions?node=${row.nodeId ?? ""}`,
    tags: [row.kind, result, ...(metric ? [metric] : [])].map((t) =>
      t
        .toLowerCase()
        .replace(/[^a-z0-9_.:-]/g, "-")
        .slice(0, 64),
    ),
    nodeIds: [row.nodeId, neighbor].filter(
      (n): n is string => typeof n === "string" && /^[a-zA-Z0-9._-]{1,64}$/.test(n),
    ),
    decisionId: row.id,
    contentType: "text/markdown",
    text: lines.join("\n"),
  };
}

/**
 * Makes closed decisions searchable: judged ones (a verdict) and those that failed, were
 * rejected or expired. Each becomes a document of the `decisions` collection once.
 */
export async function ingestClosedDecisions(deps: RagDeps): Promise<number> {
  const closed = await deps.db
    .select()
    .from(decisions)
    .where(
      and(
        isNull(decisions.ragIndexedAt),
        // Decisions that never close (observed, suppressed) stay unindexed: the window keeps the scan short.
        gte(decisions.ts, deps.now() - CLOSE_WINDOW_MS),
        or(isNotNull(decisions.verdict), inArray(decisions.outcome, ["failed", "rejected", "expired"])),
      ),
    )
    .orderBy(asc(decisions.ts))
    .limit(INGEST_BATCH)
    .all();
  for (const row of closed) {
    const { row: document, changed } = await acceptDocument(deps, decisionDocument(row));
    if (changed) await indexDocument(deps, document.id);
    await deps.db.update(decisions).set({ ragIndexedAt: deps.now() }).where(eq(decisions.id, row.id)).run();
  }
  return closed.length;
}

const queryFor = (d: RecordedDecision) => [d.kind.replace(/[_:]/g, " "), d.metric ?? "", d.why].join(" ");

/**
 * Attaches to each decision the top runbooks, incidents and past decisions RAG finds for its
 * anomaly. Runs after the actions have left; stops at `budgetMs` and says so in the evidence of
 * every decision it did not reach.
 */
export async function attachEvidence(deps: RagDeps, recorded: readonly RecordedDecision[], budgetMs: number) {
  const started = deps.now();
  for (const decision of recorded) {
    const elapsed = deps.now() - started;
    const evidence: RagEvidence =
      elapsed >= budgetMs
        ? { matches: [], tookMs: 0, skipped: `over the ${String(budgetMs)} ms evidence budget of this cycle` }
        : await search(deps, decision, budgetMs - elapsed);
    await deps.db.update(decisions).set({ evidence }).where(eq(decisions.id, decision.id)).run();
  }
}

async function search(deps: RagDeps, decision: RecordedDecision, remainingMs: number): Promise<RagEvidence> {
  const started = deps.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      resolve("timeout");
    }, remainingMs);
  });
  try {
    const answer = await Promise.race([
      // Several chunks of one document may match: more are asked for, one per document is kept.
      answerQuery(deps, { query: queryFor(decision).slice(0, 1000), k: EVIDENCE_K * 4, mode: "hybrid" }),
      timeout,
    ]);
    if (answer === "timeout")
      return {
        matches: [],
        tookMs: deps.now() - started,
        skipped: `search took longer than ${String(remainingMs)} ms`,
      };
    const seen = new Set([`decision:${decision.id}`]);
    const matches = answer.hits
      .filter((h) => !seen.has(h.documentId) && seen.add(h.documentId))
      .slice(0, EVIDENCE_K)
      .map((h) => ({
        documentId: h.documentId,
        chunkId: h.chunkId,
        collection: h.collection,
        title: h.title,
        score: h.score,
      }));
    return { matches, tookMs: deps.now() - started };
  } catch (error) {
    return {
      matches: [],
      tookMs: deps.now() - started,
      skipped: `search failed: ${(error as Error).message.slice(0, 200)}`,
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

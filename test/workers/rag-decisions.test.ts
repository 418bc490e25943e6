import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { CycleResponse, DecisionList, RagAnswer, type BatchItem, type RagEvidence } from "../../protocol/index.js";
import { createApp } from "../../workers/app.js";
import { decisionDocument, ingestClosedDecisions, attachEvidence } from "../../workers/rag/decisions.js";
import { openRag } from "../../workers/rag/open.js";
import { exactly } from "../helpers/contract.js";
import { batchOf, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { get, postJson } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";

let auth: Record<string, string>;
beforeAll(async () => {
  auth = bearer(await adminToken());
  const runbook = {
    title: "High latency on a mesh link",
    source: "runbooks/latency.md",
    text: "When latency on a mesh link to a neighbour jumps, reroute around it: raise the hop penalty toward that neighbour.",
  };
  expect((await postJson("/api/v1/rag/documents", runbook, auth)).status).toBe(201);
});

let clock = Date.now() - 50_000;
const sample = (nodeId: string, latencyMs: number) =>
  telemetryItem(
    telemetrySample(nodeId, { ts: (clock += 500), neighbors: [{ neighbor: "peer", tq: 230, latencyMs, loss: 0.01 }] }),
  );
const app = createApp();

/** One MAPE-K cycle, returned once the work it leaves running (evidence, indexing) has finished. */
async function cycle(...items: BatchItem[]) {
  const ctx = createExecutionContext();
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify(batchOf(items)),
  };
  const response = await app.request("/api/v1/mape/cycle", init, env, ctx);
  await waitOnExecutionContext(ctx);
  return exactly(CycleResponse, await response.json());
}

/** Drives a node's link from calm to a latency spike: the Plan step orders a reroute. */
async function latencySpike(nodeId: string): Promise<void> {
  for (let i = 0; i < 6; i++) await cycle(sample(nodeId, 5));
  expect((await cycle(sample(nodeId, 150))).actions).toHaveLength(1);
}

/** The node's reroute decision with its evidence (attached by the cycle after answering). */
async function rerouteWithEvidence(nodeId: string) {
  const { decisions } = exactly(DecisionList, await (await get(`/api/v1/mape/decisions?node=${nodeId}`, auth)).json());
  const reroute = decisions.find((d) => d.kind === "reroute");
  if (!reroute?.evidence) throw new Error(`no evidence attached to ${nodeId}'s reroute`);
  return { ...reroute, evidence: reroute.evidence };
}

describe("RAG and the MAPE-K loop", () => {
  it("attaches the matching runbook to a decision as evidence: ids and scores", async () => {
    await latencySpike("rd-1");
    const decision = await rerouteWithEvidence("rd-1");
    const top = decision.evidence.matches[0];
    expect(top).toMatchObject({ collection: "runbooks", title: "High latency on a mesh link" });
    expect(top?.score).toBeGreaterThan(0);
    expect(decision.evidence.skipped).toBeUndefined();
    const documents = decision.evidence.matches.map((m) => m.documentId);
    expect(new Set(documents).size).toBe(documents.length); // one match per document
  });

  it("makes a closed decision a searchable document, and shows it as evidence for the next one like it", async () => {
    const first = await rerouteWithEvidence("rd-1");
    await env.DB.prepare("UPDATE decisions SET outcome = 'applied', verdict = 'recovered', verdict_at = ? WHERE id = ?")
      .bind(Date.now(), first.id)
      .run();
    expect(await ingestClosedDecisions(openRag(env))).toBeGreaterThanOrEqual(1);
    expect(await ingestClosedDecisions(openRag(env))).toBe(0); // once
    const found = RagAnswer.parse(
      await (
        await postJson(
          "/api/v1/rag/query",
          { query: "reroute latency rd-1", filter: { collections: ["decisions"] } },
          auth,
        )
      ).json(),
    );
    expect(found.hits[0]).toMatchObject({ documentId: `decision:${first.id}`, collection: "decisions" });
    await latencySpike("rd-2");
    const next = await rerouteWithEvidence("rd-2");
    expect(next.evidence.matches.map((m) => m.documentId)).toContain(`decision:${first.id}`);
  });

  it("renders what, why, evidence and outcome into the document", () => {
    const doc = decisionDocument({
      id: "00000000-0000-4000-8000-000000000001",
      ts: 0,
      nodeId: "n-1",
      kind: "reroute",
      what: { disposition: "send", params: { kind: "reroute", neighbor: "n-2", hopPenalty: 150 } },
      why: "latency z-score 9.1 over the baseline",
      inputs: { kind: "link_degraded", nodeId: "n-1", neighbor: "n-2", metric: "latency", observed: 150 },
      outcome: "applied",
      outcomeAt: 1,
      verdict: "recovered",
      verdictAt: 2,
      evidence: null,
      ragIndexedAt: null,
    });
    expect(doc).toMatchObject({
      collection: "decisions",
      nodeIds: ["n-1", "n-2"],
      tags: ["reroute", "recovered", "latency"],
    });
    for (const part of [
      "## Why",
      "latency z-score",
      "hopPenalty",
      '"observed": 150',
      "verdict after the window: recovered",
    ])
      expect(doc.text).toContain(part);
  });

  it("says evidence was skipped when the cycle's budget is spent, never holding the action", async () => {
    const row = await env.DB.prepare("SELECT id FROM decisions LIMIT 1").first<{ id: string }>();
    const recorded = [{ id: row!.id, nodeId: "rd-1", kind: "reroute", why: "latency" }];
    await attachEvidence(openRag(env), recorded, 0);
    const stored = await env.DB.prepare("SELECT evidence FROM decisions WHERE id = ?")
      .bind(row!.id)
      .first<{ evidence: string }>();
    const evidence = JSON.parse(stored!.evidence) as RagEvidence;
    expect(evidence).toMatchObject({ matches: [], skipped: "over the 0 ms evidence budget of this cycle" });
  });
});

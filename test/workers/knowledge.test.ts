import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { CycleResponse, Knowledge, type BatchItem } from "../../protocol/index.js";
import { openDatabase, runBatch } from "../../workers/db/client.js";
import { DEFAULT_FEEDBACK, judgeOutcomes } from "../../workers/mape/knowledge.js";
import { batchOf, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { get, postJson } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";
import { exactly } from "../helpers/contract.js";

let auth: Record<string, string>;
beforeAll(async () => {
  auth = bearer(await adminToken());
});

let clock = Date.now() - 50_000;
const sample = (nodeId: string, latencyMs: number, tq = 230) =>
  telemetryItem(
    telemetrySample(nodeId, { ts: (clock += 500), neighbors: [{ neighbor: "peer", tq, latencyMs, loss: 0.01 }] }),
  );
const cycle = async (...items: BatchItem[]) =>
  exactly(CycleResponse, await (await postJson("/api/v1/mape/cycle", batchOf(items), auth)).json());
const threshold = async (nodeId: string, metric: string) =>
  (
    await env.DB.prepare("SELECT threshold FROM link_baselines WHERE from_node = ? AND to_node = 'peer' AND metric = ?")
      .bind(nodeId, metric)
      .first<{ threshold: number | null }>()
  )?.threshold;

/** A sent reroute for `nodeId`, marked applied `agoMs` ago. */
async function appliedReroute(nodeId: string, agoMs: number): Promise<string> {
  for (let i = 0; i < 6; i++) await cycle(sample(nodeId, 5));
  const { actions } = await cycle(sample(nodeId, 150));
  expect(actions).toHaveLength(1);
  const row = await env.DB.prepare("SELECT id FROM decisions WHERE node_id = ? AND kind = 'reroute'")
    .bind(nodeId)
    .first<{ id: string }>();
  await env.DB.prepare("UPDATE decisions SET outcome = 'applied', outcome_at = ?, ts = ? WHERE id = ?")
    .bind(Date.now() - agoMs, Date.now() - agoMs - 100, row?.id)
    .run();
  return row?.id ?? "";
}

describe("Knowledge: outcomes and feedback", () => {
  it("judges an action whose link stayed quiet as recovered, and leaves the threshold alone", async () => {
    const id = await appliedReroute("k-1", DEFAULT_FEEDBACK.windowMs + 1000);
    const db = openDatabase(env.DB);
    await runBatch(db, await judgeOutcomes(db, Date.now()));
    expect(await env.DB.prepare("SELECT verdict FROM decisions WHERE id = ?").bind(id).first()).toEqual({
      verdict: "recovered",
    });
    expect(await threshold("k-1", "latency")).toBeNull();
  });

  it("judges an action after which the link kept alarming as not-recovered, and widens that link's threshold", async () => {
    const id = await appliedReroute("k-2", DEFAULT_FEEDBACK.windowMs + 1000);
    const appliedAt = Date.now() - DEFAULT_FEEDBACK.windowMs - 1000;
    await env.DB.prepare(
      "INSERT INTO decisions (id, ts, node_id, kind, what, why, inputs) VALUES ('7a1c0e6e-0000-4000-8000-000000000001', ?, 'k-2', 'reroute', json('{\"disposition\":\"suppressed-cooldown\",\"target\":\"k-2:reroute:peer\"}'), 'again', '{}')",
    )
      .bind(appliedAt + DEFAULT_FEEDBACK.graceMs + 2000)
      .run();
    const db = openDatabase(env.DB);
    await runBatch(db, await judgeOutcomes(db, Date.now()));
    expect(await env.DB.prepare("SELECT verdict FROM decisions WHERE id = ?").bind(id).first()).toEqual({
      verdict: "not-recovered",
    });
    expect(await threshold("k-2", "latency")).toBeCloseTo(5 * DEFAULT_FEEDBACK.widen);
  });

  it("tightens a link's TQ threshold when the node's reflex caught what the edge missed, and reports it all", async () => {
    for (let i = 0; i < 6; i++) await cycle(sample("k-3", 5));
    const ts = (clock += 500);
    const quiet = telemetryItem(
      telemetrySample("k-3", {
        ts,
        neighbors: [{ neighbor: "peer", tq: 228, latencyMs: 5, loss: 0.01 }],
        reflexes: [{ kind: "reroute", neighbor: "peer", hopPenalty: 150, reason: "TQ collapsed between samples", ts }],
      }),
    );
    await cycle(quiet);
    expect(await threshold("k-3", "tq")).toBeCloseTo(5 * DEFAULT_FEEDBACK.tighten);
    const knowledge = Knowledge.parse(await (await get("/api/v1/mape/knowledge", auth)).json());
    const tuned = knowledge.tunedLinks.find((l) => l.from === "k-3" && l.metric === "tq");
    expect(tuned?.threshold).toBeCloseTo(4);
  });
});

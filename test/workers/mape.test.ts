import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_RESULTS_PER_DECISION } from "../../workers/telemetry/store.js";
import { CycleResponse, DecisionList, type ActionKey, type BatchItem } from "../../protocol/index.js";
import { importActionKey, openSignedAction } from "../../node-firmware/execute/signed-action.js";
import { DEFAULT_DETECTOR, observe, type Baseline } from "../../workers/mape/analyze.js";
import { DEFAULT_GUARD_RAILS, plan } from "../../workers/mape/plan.js";
import { batchOf, statusItem, statusMessage, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { get, postJson } from "./client.js";
import { adminKeyPair, adminSpiffeId, attestOk, bearer } from "./identity-client.js";
import { exactly } from "../helpers/contract.js";

let auth: Record<string, string>;
let actionKeys: ActionKey[];
beforeAll(async () => {
  const admin = await attestOk(await adminKeyPair(), { spiffeId: adminSpiffeId });
  auth = bearer(admin.jwtSvid.token);
  actionKeys = admin.actionKeys;
});

let clock = Date.now() - 60_000;
const sample = (nodeId: string, latencyMs: number) =>
  telemetryItem(
    telemetrySample(nodeId, { ts: (clock += 1000), neighbors: [{ neighbor: "peer", tq: 230, latencyMs, loss: 0.01 }] }),
  );

async function cycle(...items: BatchItem[]): Promise<CycleResponse> {
  const res = await postJson("/api/v1/mape/cycle", batchOf(items), auth);
  expect(res.status).toBe(200);
  return exactly(CycleResponse, await res.json());
}

describe("POST /api/v1/mape/cycle", () => {
  it("learns a link, then answers a latency spike with a signed reroute, records it, and closes it with the node's result", async () => {
    for (let i = 0; i < 8; i++) expect((await cycle(sample("m-1", 5 + (i % 3)))).actions).toEqual([]);
    const spiked = await cycle(sample("m-1", 80));
    expect(spiked.actions).toHaveLength(1);
    const [delivery] = spiked.actions;
    const keys = new Map(
      await Promise.all(actionKeys.map(async (k) => [k.kid, await importActionKey(k.publicKey)] as const)),
    );
    const opened = await openSignedAction(delivery!.action, keys, "m-1", Date.now());
    if (!opened.ok) throw new Error(opened.reason);
    expect(opened.action.params).toEqual({
      kind: "reroute",
      neighbor: "peer",
      hopPenalty: DEFAULT_GUARD_RAILS.reroutePenalty,
    });

    const again = await cycle(sample("m-1", 90));
    expect(again.actions).toEqual([]);

    const { decisions } = DecisionList.parse(await (await get("/api/v1/mape/decisions?node=m-1", auth)).json());
    expect(decisions.map((d) => (d.what as { disposition: string }).disposition)).toEqual([
      "suppressed-cooldown",
      "send",
    ]);
    const sent = decisions[1]!;
    expect(sent.inputs).toMatchObject({ kind: "latency_spike", metric: "latency", observed: 80, neighbor: "peer" });
    expect(sent.why).toMatch(/latency_spike on m-1→peer/);

    await cycle({
      kind: "result",
      result: {
        v: 1,
        nodeId: "m-1",
        actionId: opened.action.id,
        decisionId: opened.action.decisionId,
        outcome: "applied",
        ts: Date.now(),
      },
    });
    const after = DecisionList.parse(await (await get(`/api/v1/mape/decisions?node=m-1&kind=reroute`, auth)).json());
    expect(after.decisions.find((d) => d.id === sent.id)?.outcome).toBe("applied");

    // A late result (the node saw the action after its expiry) and a repeat: kept beside, never over.
    const late = {
      v: 1,
      nodeId: "m-1",
      actionId: opened.action.id,
      decisionId: opened.action.decisionId,
      outcome: "expired",
      reason: "expired 10 ms ago",
      ts: Date.now(),
    } as const;
    await cycle(
      { kind: "result", result: late },
      { kind: "result", result: { ...late, outcome: "applied", reason: undefined } },
    );
    const final = DecisionList.parse(await (await get(`/api/v1/mape/decisions?node=m-1&kind=reroute`, auth)).json());
    expect(final.decisions.find((d) => d.id === sent.id)?.outcome).toBe("applied");
    const kept = await env.DB.prepare("SELECT outcome FROM action_results WHERE decision_id = ? ORDER BY id")
      .bind(sent.id)
      .all<{ outcome: string }>();
    expect(kept.results.map((r) => r.outcome)).toEqual(["applied", "expired", "applied"]);
  });

  it("keeps at most a bounded number of results per decision, and none for another node's decision", async () => {
    for (let i = 0; i < 8; i++) await cycle(sample("m-9", 5 + (i % 3)));
    const [delivery] = (await cycle(sample("m-9", 90))).actions;
    const keys = new Map(
      await Promise.all(actionKeys.map(async (k) => [k.kid, await importActionKey(k.publicKey)] as const)),
    );
    const opened = await openSignedAction(delivery!.action, keys, "m-9", Date.now());
    if (!opened.ok) throw new Error(opened.reason);
    const result = {
      v: 1,
      nodeId: "m-9",
      actionId: opened.action.id,
      decisionId: opened.action.decisionId,
      outcome: "failed",
      ts: Date.now(),
    } as const;
    await cycle(...Array.from({ length: MAX_RESULTS_PER_DECISION + 5 }, () => ({ kind: "result" as const, result })), {
      kind: "result",
      result: { ...result, nodeId: "m-1" },
    });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM action_results WHERE decision_id = ?")
      .bind(opened.action.decisionId)
      .first<{ n: number }>();
    expect(count?.n).toBe(MAX_RESULTS_PER_DECISION);
  });

  it("counts an anomaly the cooldown suppresses on one row, however often it comes back", async () => {
    for (let i = 0; i < 8; i++) await cycle(sample("m-6", 5 + (i % 3)));
    expect((await cycle(sample("m-6", 90))).actions).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect((await cycle(sample("m-6", 95 + i))).actions).toEqual([]);
    const { decisions } = DecisionList.parse(await (await get("/api/v1/mape/decisions?node=m-6", auth)).json());
    const suppressed = decisions.filter(
      (d) => (d.what as { disposition: string }).disposition === "suppressed-cooldown",
    );
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0]?.what).toMatchObject({ repeats: 5, lastSeenAt: expect.any(Number) as number });
  });

  it("calls a node that keeps going down flapping: the third down within 10 minutes", async () => {
    for (let i = 0; i < 2; i++) await cycle(statusItem(statusMessage("m-7", "offline")));
    const before = DecisionList.parse(
      await (await get("/api/v1/mape/decisions?node=m-7&kind=node_flapping", auth)).json(),
    );
    expect(before.decisions).toEqual([]);
    await cycle(statusItem(statusMessage("m-7", "offline")));
    const { decisions } = DecisionList.parse(
      await (await get("/api/v1/mape/decisions?node=m-7&kind=node_flapping", auth)).json(),
    );
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.why).toMatch(/^m-7 went down 3 times in 10 min: flapping/);
    expect(decisions[0]?.inputs).toMatchObject({ kind: "node_flapping", observed: 3, baseline: 3 });
  });

  it("records a node failure from its Last Will, and analyzes a replayed batch only once", async () => {
    await cycle(statusItem(statusMessage("m-2", "offline")));
    const { decisions } = DecisionList.parse(await (await get("/api/v1/mape/decisions?node=m-2", auth)).json());
    expect(decisions.map((d) => [d.kind, d.outcome])).toEqual([["node_down", "observe"]]);

    for (let i = 0; i < 6; i++) await cycle(sample("m-3", 5));
    const spike = sample("m-3", 120);
    expect((await cycle(spike)).actions).toHaveLength(1);
    expect(await cycle(spike)).toMatchObject({ duplicates: 1, actions: [] });
  });

  it("records a node's reflex, and does not order the same repair again", async () => {
    for (let i = 0; i < 6; i++) await cycle(sample("m-5", 5));
    const ts = (clock += 1000);
    const reflex = {
      kind: "reroute" as const,
      neighbor: "peer",
      hopPenalty: 150,
      reason: "TQ to peer collapsed to 40 from an average of 230",
      ts,
    };
    const reported = telemetryItem(
      telemetrySample("m-5", {
        ts,
        neighbors: [{ neighbor: "peer", tq: 40, latencyMs: 90, loss: 0.01 }],
        reflexes: [reflex],
      }),
    );
    expect((await cycle(reported)).actions).toEqual([]);
    const { decisions } = DecisionList.parse(await (await get("/api/v1/mape/decisions?node=m-5", auth)).json());
    expect(decisions.filter((d) => d.kind === "reflex:reroute").map((d) => d.outcome)).toEqual(["applied"]);
    const ordered = decisions.filter((d) => d.kind === "reroute").map((d) => d.outcome);
    expect(ordered.length).toBeGreaterThan(0); // the latency spike and the TQ collapse were both seen…
    expect(ordered.every((o) => o === "suppressed-cooldown")).toBe(true); // …and neither was ordered again
  });

  it("isolates a flooding source, confirms a node's reflex isolation while the flood goes on, and lets one lapse once it stops", async () => {
    const keys = new Map(
      await Promise.all(actionKeys.map(async (k) => [k.kid, await importActionKey(k.publicKey)] as const)),
    );
    const source = (address: string, packetsPerS: number, blocked: boolean) => ({
      source: address,
      packetsPerS,
      bytesPerS: packetsPerS * 100,
      droppedPerS: blocked ? packetsPerS : 0,
      blocked,
    });
    const withSources = (
      nodeId: string,
      sources: ReturnType<typeof source>[],
      reflexes?: NonNullable<Parameters<typeof telemetrySample>[1]>["reflexes"],
    ) => {
      const ts = (clock += 1000);
      const dataplane = {
        kind: "simulated" as const,
        sources,
        blocklistSize: sources.filter((x) => x.blocked).length,
        rateLimitedSources: 0,
        dropped: { blocked: 0, rateLimited: 0 },
      };
      return telemetryItem(telemetrySample(nodeId, { ts, dataplane, ...(reflexes ? { reflexes } : {}) }));
    };
    const opened = async (response: CycleResponse) => {
      const result = await openSignedAction(response.actions[0]!.action, keys, response.actions[0]!.nodeId, Date.now());
      if (!result.ok) throw new Error(result.reason);
      return result.action;
    };

    // Unseen by any reflex: the edge isolates.
    const edge = await cycle(withSources("f-1", [source("10.66.0.1", 40_000, false), source("10.77.0.2", 10, false)]));
    expect((await opened(edge)).params).toEqual({
      kind: "isolate_source",
      source: "10.66.0.1",
      ttlSeconds: DEFAULT_GUARD_RAILS.isolateTtlS,
    });

    // Blocked by the node's reflex and still flooding: confirmed at once, for the edge's TTL.
    const reflex = {
      kind: "isolate_source" as const,
      source: "10.66.0.9",
      ttlSeconds: 30,
      packetsPerS: 60_000,
      reason: "over the local limit",
      ts: clock,
    };
    const confirmed = await cycle(withSources("f-2", [source("10.66.0.9", 60_000, true)], [reflex]));
    expect((await opened(confirmed)).params).toEqual({
      kind: "isolate_source",
      source: "10.66.0.9",
      ttlSeconds: DEFAULT_GUARD_RAILS.isolateTtlS,
    });
    const f2 = DecisionList.parse(await (await get("/api/v1/mape/decisions?node=f-2", auth)).json()).decisions;
    expect(f2.map((d) => [d.kind, d.outcome])).toEqual(
      expect.arrayContaining([
        ["reflex:isolate_source", "applied"],
        ["isolate_source", null],
      ]),
    );
    expect(f2.find((d) => d.kind === "isolate_source")?.why).toMatch(
      /^confirms f-2's isolation of 10\.66\.0\.9: it still sends 60000 packets\/s/,
    );

    // A reflex isolation whose source went quiet: nothing is ordered, the node's entry runs out.
    const quiet = { ...reflex, source: "10.66.0.10", ts: clock };
    expect((await cycle(withSources("f-3", [source("10.66.0.10", 3, true)], [quiet]))).actions).toEqual([]);
    const f3 = DecisionList.parse(await (await get("/api/v1/mape/decisions?node=f-3", auth)).json()).decisions;
    expect(f3.map((d) => d.kind)).toEqual(["reflex:isolate_source"]);
  });

  it("is for gateways and admins only, and validates like every route", async () => {
    expect((await postJson("/api/v1/mape/cycle", batchOf([sample("m-4", 5)]))).status).toBe(401);
    expect((await postJson("/api/v1/mape/cycle", { gatewayId: "g" }, auth)).status).toBe(400);
  });
});

describe("Analyze and Plan", () => {
  const reading = (latencyMs: number) => ({ neighbor: "b", tq: 200, latencyMs, loss: 0 });

  it("needs a warm-up, flags a deviation past the threshold with its evidence, and does not learn the fault as normal", () => {
    let baseline: Baseline | undefined;
    for (let i = 0; i < DEFAULT_DETECTOR.warmup; i++) baseline = observe(baseline, reading(10), "latency", "a", i).next;
    const spike = observe(baseline, reading(60), "latency", "a", 99);
    expect(spike.anomaly).toMatchObject({
      kind: "latency_spike",
      baseline: 10,
      observed: 60,
      spread: DEFAULT_DETECTOR.minDeviation.latency,
    });
    let b = spike.next;
    for (let i = 0; i < 10; i++) b = observe(b, reading(60), "latency", "a", 100 + i).next;
    expect(observe(b, reading(60), "latency", "a", 200).anomaly).not.toBeNull();
    expect(observe(baseline, reading(4), "latency", "a", 99).anomaly).toBeNull();
  });

  it("does not learn a fault that starts during warm-up as the normal", () => {
    let baseline = observe(undefined, reading(10), "latency", "a", 0).next;
    baseline = observe(baseline, reading(10), "latency", "a", 1).next;
    for (let i = 2; i < 12; i++) baseline = observe(baseline, reading(300), "latency", "a", i).next;
    expect(observe(baseline, reading(300), "latency", "a", 12).anomaly).toMatchObject({
      kind: "latency_spike",
      observed: 300,
    });
  });

  it("applies cooldown, per-node rate and dry-run", () => {
    const anomaly = (neighbor: string) => ({
      kind: "loss_burst" as const,
      nodeId: "a",
      neighbor,
      metric: "loss" as const,
      ts: 0,
    });
    const none = { lastAtByTarget: new Map<string, number>(), countLastMinuteByNode: new Map<string, number>() };
    const out = plan(
      [anomaly("b"), anomaly("b"), anomaly("c"), anomaly("d"), anomaly("e")],
      none,
      DEFAULT_GUARD_RAILS,
      1000,
    );
    expect(out.map((d) => d.disposition)).toEqual(["send", "suppressed-cooldown", "send", "send", "suppressed-rate"]);
    expect(plan([anomaly("b")], none, { ...DEFAULT_GUARD_RAILS, dryRun: true }, 0)[0]?.disposition).toBe("dry-run");
  });

  it("never isolates more sources at once than the configured share of the mesh", () => {
    const flood = (nodeId: string, source: string) => ({
      kind: "traffic_flood" as const,
      nodeId,
      source,
      metric: "packetsPerS" as const,
      observed: 9e4,
      ts: 0,
    });
    const recent = (sources: string[], meshSize: number) => ({
      lastAtByTarget: new Map<string, number>(),
      countLastMinuteByNode: new Map<string, number>(),
      isolation: { sources: new Set(sources), meshSize },
    });
    // 10 nodes at 20 %: two sources may be isolated; a third waits, one already isolated elsewhere may be isolated here
    // too.
    const out = plan(
      [flood("a", "10.0.0.1"), flood("b", "10.0.0.2"), flood("c", "10.0.0.3"), flood("d", "10.0.0.1")],
      recent([], 10),
      DEFAULT_GUARD_RAILS,
      0,
    );
    expect(out.map((d) => d.disposition)).toEqual(["send", "send", "suppressed-share", "send"]);
    // A small mesh may still isolate one.
    expect(plan([flood("a", "10.0.0.1")], recent([], 3), DEFAULT_GUARD_RAILS, 0)[0]?.disposition).toBe("send");
    expect(plan([flood("a", "10.0.0.2")], recent(["10.0.0.1"], 3), DEFAULT_GUARD_RAILS, 0)[0]?.disposition).toBe(
      "suppressed-share",
    );
  });
});

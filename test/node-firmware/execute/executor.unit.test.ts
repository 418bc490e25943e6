import { beforeAll, describe, expect, it } from "vitest";
import type { ActionResult } from "../../../protocol/index.js";
import { base64url } from "../../../spiffe/index.js";
import { SimulatedDataPlane } from "../../../node-firmware/dataplane/simulated.js";
import { routeActions } from "../../../node-firmware/execute/backend.js";
import { ActionExecutor, type RefusalReason } from "../../../node-firmware/execute/executor.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";
import { SimulatedMesh } from "../../../node-firmware/mesh/simulated/mesh.js";
import { action, actionSigner, type TestSigner } from "../../helpers/actions.js";

const peers = ["node-1", "node-2", "node-3"];
let signer: TestSigner;
let mesh: SimulatedMesh;
let dataplane: SimulatedDataPlane;
let executor: ActionExecutor;
let published: ActionResult[];

beforeAll(async () => {
  signer = await actionSigner();
  mesh = new SimulatedMesh("node-1", peers, 1);
  dataplane = new SimulatedDataPlane(mesh.neighborIds);
  published = [];
  executor = new ActionExecutor("node-1", routeActions(mesh, dataplane), (r) => published.push(r), silentLogger);
  await executor.trust([signer.key]);
});

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const neighbor = () => mesh.sample(Date.now()).neighbors[0]?.neighbor as string;

describe("ActionExecutor", () => {
  it("applies a signed action through the backend and reports it", async () => {
    const a = action("node-1", { kind: "reroute", neighbor: neighbor(), hopPenalty: 120 });
    const result = await executor.handle(bytes(await signer.sign(a)));
    expect(result).toMatchObject({ outcome: "applied", actionId: a.id, decisionId: a.decisionId, nodeId: "node-1" });
    expect(mesh.controls.hopPenalty.get(neighbor())).toBe(120);
    expect(published.at(-1)).toEqual(result);
  });

  it("applies an idempotency key once and answers repeats with the first result", async () => {
    const a = action("node-1", { kind: "retry_probe", neighbor: neighbor() });
    const signed = await signer.sign(a);
    const first = await executor.handle(bytes(signed));
    const again = await executor.handle(bytes(await signer.sign({ ...a, id: "8d1f3b9e-0000-4000-8000-000000000000" })));
    expect(again).toEqual(first);
    expect(mesh.controls.probes).toBe(1);
    expect(executor.stats.duplicates).toBe(1);
  });

  it("sends isolate_source and rate_limit to the data plane, with their TTLs", async () => {
    const now = Date.now();
    await executor.handle(
      bytes(await signer.sign(action("node-1", { kind: "isolate_source", source: "10.9.9.9", ttlSeconds: 5 }))),
      now,
    );
    await executor.handle(
      bytes(
        await signer.sign(
          action("node-1", { kind: "rate_limit", source: "fd00::9", packetsPerSecond: 10, ttlSeconds: 5 }),
        ),
      ),
      now,
    );
    const during = await dataplane.snapshot(now + 1000);
    expect([...during.blocked]).toEqual(["10.9.9.9"]);
    expect(during.rateLimitedSources).toBe(1);
    const after = await dataplane.snapshot(now + 5000);
    expect(after.blocked.size).toBe(0);
    expect(after.rateLimitedSources).toBe(0);
  });

  it("reports a backend failure as failed", async () => {
    const result = await executor.handle(
      bytes(await signer.sign(action("node-1", { kind: "reroute", neighbor: "not-a-neighbor", hopPenalty: 1 }))),
    );
    expect(result.outcome).toBe("failed");
    expect(result.reason).toContain("not a neighbor");
  });

  it("rejects, never applies: garbage, unsigned, unknown key, forged, tampered, other node, unknown kind; and expires late ones", async () => {
    const blockedNow = async () => (await dataplane.snapshot(Date.now())).blocked.size;
    const before = await blockedNow();
    const other = await actionSigner();
    const valid = await signer.sign(action("node-1", { kind: "isolate_source", source: "10.0.0.9", ttlSeconds: 60 }));
    const forged = await other.sign(action("node-1", { kind: "isolate_source", source: "10.0.0.9", ttlSeconds: 60 }));
    const tampered = {
      ...valid,
      payload: base64url(
        Buffer.from(Buffer.from(valid.payload, "base64url").toString().replace("10.0.0.9", "10.0.0.1")),
      ),
    };
    const unknownKind = await signer.sign({
      ...action("node-1", { kind: "retry_probe", neighbor: "node-2" }),
      params: { kind: "format_disk" } as never,
    });
    const notBase64url = { ...valid, payload: "A" }; // one character: no base64 decodes it, and it was not signed
    const cases: [string, Buffer, RegExp, RefusalReason][] = [
      ["garbage", Buffer.from("{{{"), /not-json/, "not_json"],
      ["huge", Buffer.alloc(70_000, 0x20), /too-large/, "too_large"],
      ["unsigned", bytes({ protected: valid.protected, payload: valid.payload }), /schema/, "malformed"],
      ["unknown key", bytes({ ...forged }), /unknown signing key/, "unknown_key"],
      ["forged", bytes({ ...forged, protected: valid.protected }), /signature does not verify/, "bad_signature"],
      ["tampered", bytes(tampered), /signature does not verify/, "bad_signature"],
      [
        "not EdDSA",
        bytes({ ...valid, protected: base64url(Buffer.from(JSON.stringify({ alg: "HS256", kid: signer.key.kid }))) }),
        /alg/,
        "malformed",
      ],
      ["not base64url", bytes(notBase64url), /signature does not verify|base64/, "bad_signature"],
      [
        "other node",
        bytes(await signer.sign(action("node-2", { kind: "retry_probe", neighbor: "node-1" }))),
        /addressed to node-2/,
        "wrong_node",
      ],
      ["unknown kind", bytes(unknownKind), /unknown or malformed action/, "malformed"],
    ];
    for (const [what, payload, reason, refusal] of cases) {
      const before = executor.refusals[refusal] ?? 0;
      const result = await executor.handle(payload);
      expect(result.outcome, what).toBe("rejected");
      expect(result.reason, what).toMatch(reason);
      expect(executor.refusals[refusal], what).toBe(before + 1);
    }
    const late = await executor.handle(
      bytes(
        await signer.sign(action("node-1", { kind: "retry_probe", neighbor: "node-2" }, { expiresAt: Date.now() - 1 })),
      ),
    );
    expect(late.outcome).toBe("expired");
    expect(executor.refusals.expired).toBe(1);
    expect(await blockedNow()).toBe(before);
    expect(executor.stats.rejected).toBeGreaterThanOrEqual(cases.length);
  });
});

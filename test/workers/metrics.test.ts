import { describe, expect, it } from "vitest";
import { batchOf, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { get, postJson } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";

describe("GET /metrics (control plane)", () => {
  it("is for admins and services only, answered as problem+json", async () => {
    const res = await get("/metrics");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("reports the mesh from D1, decisions, identities, security events and requests, in the Prometheus text format", async () => {
    const auth = bearer(await adminToken());
    const now = Date.now();
    await postJson(
      "/api/v1/telemetry",
      batchOf([
        telemetryItem(
          telemetrySample("met-1", {
            ts: now,
            seq: 0,
            neighbors: [{ neighbor: "met-2", tq: 230, latencyMs: 3, loss: 0 }],
          }),
        ),
      ]),
      auth,
    );
    await postJson(
      "/api/v1/telemetry",
      batchOf([
        telemetryItem(
          telemetrySample("met-1", {
            ts: now + 1,
            seq: 3,
            neighbors: [{ neighbor: "met-2", tq: 90, latencyMs: 3, loss: 0 }],
          }),
        ),
      ]),
      auth,
    );
    const res = await get("/metrics", auth);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const lines = (await res.text()).split("\n");
    expect(lines).toContain("# TYPE x0_nodes gauge");
    expect(lines.find((l) => l.startsWith('x0_nodes{status="online"} '))).toMatch(/ [1-9]\d*$/);
    expect(lines).toContain('x0_nodes{status="stale"} 0'); // every status, zero too
    expect(lines.find((l) => l.startsWith('x0_links{band="poor"} '))).toMatch(/ [1-9]\d*$/);
    expect(lines.find((l) => l.startsWith("x0_telemetry_samples_missing_total "))).toMatch(/ [2-9]\d*$/); // seq 1 and 2 never came
    expect(lines.find((l) => l.startsWith("x0_svids_issued_total "))).toMatch(/ \d+$/);
    expect(lines.filter((l) => l.startsWith("x0_decision_verdicts_total{"))).toEqual([
      expect.stringMatching(/^x0_decision_verdicts_total\{verdict="recovered"\} \d+$/),
      expect.stringMatching(/^x0_decision_verdicts_total\{verdict="not-recovered"\} \d+$/),
    ]);
    expect(lines.some((l) => /^x0_audit_events_total\{action="attest[\w.-]*",outcome="success"\} [1-9]/.test(l))).toBe(
      true,
    );
    expect(lines).toContain("# TYPE x0_refusals_total counter");
    expect(
      lines.some((l) =>
        /^x0_http_requests_total\{route="\/api\/v1\/telemetry",method="POST",status="2xx"\} [1-9]/.test(l),
      ),
    ).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { RELEASE, VersionInfo } from "../../protocol/index.js";
import { get } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";

describe("system routes", () => {
  it("answers /healthz", async () => {
    const res = await get("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("reports the release and protocol version", async () => {
    const res = await get("/api/v1/version");
    const body = VersionInfo.parse(await res.json());
    expect(body.version).toBe(RELEASE);
    expect(body.environment).toBe("development");
  });
});

describe("OpenAPI document", () => {
  it("describes every route with the schemas the routes validate with", async () => {
    expect((await get("/api/v1/openapi.json")).status).toBe(401);
    const res = await get("/api/v1/openapi.json", bearer(await adminToken()));
    expect(res.status).toBe(200);
    const doc = await res.json<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/",
      "/api/v1/dao/executions",
      "/api/v1/dao/executions/run",
      "/api/v1/dao/executions/{id}/cancel",
      "/api/v1/dao/msg",
      "/api/v1/dao/policy",
      "/api/v1/dao/policy/signed",
      "/api/v1/dao/proposals/{id}",
      "/api/v1/dao/spaces/{id}",
      "/api/v1/dao/spaces/{id}/balances",
      "/api/v1/dao/spaces/{id}/proposals",
      "/api/v1/dao/spaces/{id}/sync",
      "/api/v1/dashboard/login-codes",
      "/api/v1/dashboard/session",
      "/api/v1/identity/attest",
      "/api/v1/identity/bundle",
      "/api/v1/identity/denylist",
      "/api/v1/identity/join-tokens",
      "/api/v1/identity/jwt-svid",
      "/api/v1/identity/nonce",
      "/api/v1/identity/revoke",
      "/api/v1/mape/cycle",
      "/api/v1/mape/decisions",
      "/api/v1/mape/knowledge",
      "/api/v1/mesh/nodes",
      "/api/v1/mesh/topology",
      "/api/v1/rag/documents",
      "/api/v1/rag/documents/{id}",
      "/api/v1/rag/query",
      "/api/v1/telemetry",
      "/api/v1/version",
      "/healthz",
      "/metrics",
    ]);
    const ingest = doc.paths["/api/v1/telemetry"]?.post;
    const schema = JSON.stringify(ingest?.requestBody?.content["application/json"]?.schema);
    // The batch's item schema is what the route validates with; a tolerant reader, it allows fields it does not know.
    expect(schema).toContain("gatewayId");
    expect(schema).not.toContain('"additionalProperties":false');
    expect(schema).toContain('"maxItems":500');
  });
});

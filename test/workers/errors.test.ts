import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PROBLEM_CONTENT_TYPE, Problem, limits, problemTypeUri } from "../../protocol/index.js";
import { batchOf, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { fetchWorker as fetchAnonymous, postJson as postAnonymous } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";

let auth: Record<string, string>;
beforeAll(async () => {
  auth = bearer(await adminToken());
});
const fetchWorker = (path: string, init: RequestInit = {}) =>
  fetchAnonymous(path, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
const get = (path: string) => fetchWorker(path);
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postAnonymous(path, body, { ...auth, ...headers });

async function expectProblem(res: Response, status: number, slug: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe(PROBLEM_CONTENT_TYPE);
  const body = Problem.parse(await res.json());
  expect(body.type).toBe(problemTypeUri(slug));
  expect(body.status).toBe(status);
  return body;
}

const countNodes = async () =>
  (await env.DB.prepare("SELECT count(*) AS n FROM nodes").first<{ n: number }>())?.n ?? -1;

describe("problem+json errors", () => {
  it("404 for an unknown route", async () => {
    const body = await expectProblem(await get("/api/v1/nope"), 404, "not-found");
    expect(body.instance).toBe("/api/v1/nope");
  });

  it("404, not 405, for a known path with a trailing slash", async () => {
    const body = await expectProblem(await get("/api/v1/mesh/nodes/"), 404, "not-found");
    expect(body.instance).toBe("/api/v1/mesh/nodes/");
  });

  it("405 with Allow for a known path and the wrong method", async () => {
    const res = await fetchWorker(`/api/v1/telemetry`, { method: "GET" });
    await expectProblem(res, 405, "method-not-allowed");
    expect(res.headers.get("allow")).toBe("POST");
    const del = await fetchWorker(`/api/v1/mesh/nodes`, { method: "DELETE" });
    await expectProblem(del, 405, "method-not-allowed");
    expect(del.headers.get("allow")).toBe("GET, HEAD");
  });

  it("415 for a body that is not JSON by content type", async () => {
    const res = await postJson("/api/v1/telemetry", "a=b", { "content-type": "application/x-www-form-urlencoded" });
    const body = await expectProblem(res, 415, "unsupported-media-type");
    expect(body.detail).toContain("application/x-www-form-urlencoded");
  });

  it("400 malformed-json for JSON that does not parse", async () => {
    await expectProblem(await postJson("/api/v1/telemetry", '{"gatewayId": '), 400, "malformed-json");
  });

  it("413 for a body over the limit, with or without a content-length", async () => {
    const huge = JSON.stringify({ pad: "x".repeat(limits.httpBodyBytes) });
    await expectProblem(await postJson("/api/v1/telemetry", huge), 413, "payload-too-large");
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(huge));
        controller.close();
      },
    });
    const streamed = await fetchWorker(`/api/v1/telemetry`, {
      method: "POST",
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
      body: chunks,
    });
    await expectProblem(streamed, 413, "payload-too-large");
  });

  it("400 with every zod issue for unknown versions and wrong types, storing nothing", async () => {
    const before = await countNodes();
    const good = telemetryItem(telemetrySample("n-ok"));
    const unknownVersion = { kind: "telemetry", telemetry: { ...telemetrySample("n-bad"), v: 2 } };
    const wrongType = telemetryItem(telemetrySample("n-bad2", { seq: "seven" as unknown as number }));
    const res = await postJson("/api/v1/telemetry", batchOf([good, unknownVersion as never, wrongType]));
    const body = await expectProblem(res, 400, "validation");
    const paths = body.issues?.map((i) => i.path) ?? [];
    expect(paths).toContain("items.1.telemetry.v");
    expect(paths).toContain("items.2.telemetry.seq");
    expect(await countNodes()).toBe(before);
  });

  it("400 for an invalid query parameter", async () => {
    const body = await expectProblem(await get("/api/v1/mesh/nodes?status=sleeping"), 400, "validation");
    expect(body.issues?.[0]?.path).toBe("status");
  });

  it("500 without internals when storage fails", async () => {
    await env.DB.exec("ALTER TABLE links RENAME TO links_gone");
    try {
      const sample = telemetrySample("n-500", { neighbors: [{ neighbor: "n-x", tq: 200, latencyMs: 3, loss: 0 }] });
      const res = await postJson("/api/v1/telemetry", batchOf([telemetryItem(sample)]));
      const body = await expectProblem(res, 500, "internal");
      expect(JSON.stringify(body)).not.toMatch(/links|SQLITE|at \w+ \(/);
      // The failed batch was one transaction: the node row it carried is not there either.
      expect(await env.DB.prepare("SELECT id FROM nodes WHERE id = 'n-500'").first()).toBeNull();
    } finally {
      await env.DB.exec("ALTER TABLE links_gone RENAME TO links");
    }
  });
});

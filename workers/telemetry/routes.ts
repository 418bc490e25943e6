import { createRoute } from "@hono/zod-openapi";
import { TelemetryAccepted, TelemetryBatch } from "../../protocol/index.js";
import { openDatabase } from "../db/client.js";
import { readSettings } from "../env.js";
import { guard } from "../http/guard.js";
import { createRouter, jsonBody, jsonResponse, problemResponses } from "../http/openapi.js";
import { planIngest } from "./ingest.js";
import { screenRevoked } from "./revoked.js";
import { loadKnownNodes, writePlan } from "./store.js";

const ingestTelemetry = createRoute({
  method: "post",
  path: "/api/v1/telemetry",
  summary: "Ingest a telemetry batch relayed by a gateway",
  description: "Upserts nodes and links and adds to per-minute rollups, atomically. Replayed samples change nothing.",
  tags: ["telemetry"],
  ...guard(["gateway", "admin"], { json: true }),
  request: { body: jsonBody(TelemetryBatch) },
  responses: {
    200: jsonResponse(TelemetryAccepted, "What was stored"),
    ...problemResponses(400, 401, 403, 413, 415),
  },
});

export const telemetryRoutes = createRouter().openapi(ingestTelemetry, async (c) => {
  const db = openDatabase(c.env.DB);
  const { trustDomain } = readSettings(c.env);
  const now = Date.now();
  const { batch, revoked, denyListRevision } = await screenRevoked(db, c.req.valid("json"), trustDomain, now);
  const known = await loadKnownNodes(db, batch.items);
  const plan = planIngest(batch, known, trustDomain, now);
  await writePlan(db, plan);
  return c.json({ accepted: plan.accepted, duplicates: plan.duplicates, revoked, denyListRevision }, 200);
});

import { createRoute } from "@hono/zod-openapi";
import { Health, PROTOCOL_VERSION, RELEASE, VersionInfo } from "../../protocol/index.js";
import { readSettings } from "../env.js";
import { guard } from "../http/guard.js";
import { createRouter, jsonResponse } from "../http/openapi.js";

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness",
  tags: ["system"],
  ...guard("public"),
  responses: { 200: jsonResponse(Health, "The Worker is serving") },
});

const version = createRoute({
  method: "get",
  path: "/api/v1/version",
  summary: "Release and protocol version",
  tags: ["system"],
  ...guard("public"),
  responses: { 200: jsonResponse(VersionInfo, "Versions") },
});

export const systemRoutes = createRouter()
  .openapi(healthz, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(version, (c) =>
    c.json(
      {
        service: "x0tta6bl4-control-plane" as const,
        version: RELEASE,
        protocol: PROTOCOL_VERSION,
        environment: readSettings(c.env).environment,
      },
      200,
    ),
  );

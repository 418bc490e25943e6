import { limits } from "../protocol/index.js";
import { limitBody } from "./http/body.js";
import { SECURITY_SCHEME } from "./http/guard.js";
import { requireJwtSvid } from "./identity/auth.js";
import { identityRoutes } from "./identity/routes.js";
import { createRouter } from "./http/openapi.js";
import { handleError } from "./http/problem.js";
import { notFoundHandler } from "./http/routing.js";
import { mapeRoutes } from "./mape/routes.js";
import { meshRoutes } from "./mesh/routes.js";
import { systemRoutes } from "./system/routes.js";
import { telemetryRoutes } from "./telemetry/routes.js";

export const OPENAPI_PATH = "/api/v1/openapi.json";

export function createApp() {
  const app = createRouter();
  app.use("/api/*", limitBody(limits.httpBodyBytes));
  app.use(OPENAPI_PATH, requireJwtSvid);
  app.route("/", systemRoutes);
  app.route("/", identityRoutes);
  app.route("/", telemetryRoutes);
  app.route("/", meshRoutes);
  app.route("/", mapeRoutes);
  app.openAPIRegistry.registerComponent("securitySchemes", SECURITY_SCHEME, { type: "http", scheme: "bearer", bearerFormat: "JWT-SVID" });
  app.doc31(OPENAPI_PATH, (c) => ({
    openapi: "3.1.0",
    info: { title: "x0tta6bl4 control plane", version: "1" },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.onError(handleError);
  app.notFound(notFoundHandler(app));
  return app;
}

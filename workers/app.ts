import { routePath } from "hono/route";
import { limits } from "../protocol/index.js";
import { drainUnreadBody, limitBody } from "./http/body.js";
import { SECURITY_SCHEME } from "./http/guard.js";
import { requireJwtSvid } from "./identity/auth.js";
import { identityRoutes } from "./identity/routes.js";
import { createRouter } from "./http/openapi.js";
import { handleError } from "./http/problem.js";
import { notFoundHandler } from "./http/routing.js";
import { mapeRoutes } from "./mape/routes.js";
import { meshRoutes } from "./mesh/routes.js";
import { metricsRoutes } from "./metrics/routes.js";
import { ragRoutes } from "./rag/routes.js";
import { daoRoutes } from "./dao/routes.js";
import { dashboardRoutes } from "./dashboard/routes.js";
import { requestCounter } from "./metrics/requests.js";
import { systemRoutes } from "./system/routes.js";
import { telemetryRoutes } from "./telemetry/routes.js";
import { traceRequests } from "./tracing/middleware.js";

export const OPENAPI_PATH = "/api/v1/openapi.json";

export function createApp() {
  const app = createRouter();
  app.use("*", async (c, next) => {
    await next();
    // The last matched route is the handler's ('/api/v1/mesh/nodes', not '*'); '*' alone when none matched.
    // hono/route types its parameter Context<any>; ours is narrower.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument
    requestCounter(c.env).count(routePath(c, -1), c.req.method, c.res.status);
  });
  app.use("*", traceRequests());
  app.use("/api/*", drainUnreadBody(4 * limits.httpBodyBytes));
  app.use("/api/*", limitBody(limits.httpBodyBytes));
  app.use(OPENAPI_PATH, requireJwtSvid);
  app.route("/", systemRoutes);
  app.route("/", identityRoutes);
  app.route("/", telemetryRoutes);
  app.route("/", meshRoutes);
  app.route("/", mapeRoutes);
  app.route("/", ragRoutes);
  app.route("/", daoRoutes);
  app.route("/", metricsRoutes);
  app.route("/", dashboardRoutes);
  app.openAPIRegistry.registerComponent("securitySchemes", SECURITY_SCHEME, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT-SVID",
  });
  app.doc31(OPENAPI_PATH, (c) => ({
    openapi: "3.1.0",
    info: { title: "x0tta6bl4 control plane", version: "1" },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.onError(handleError);
  app.notFound(notFoundHandler(app));
  return app;
}

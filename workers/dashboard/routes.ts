import { createRoute, z } from "@hono/zod-openapi";
import { base64url } from "../../spiffe/index.js";
import { guard } from "../http/guard.js";
import { createRouter } from "../http/openapi.js";
import { dashboardPage } from "./page.js";

const getDashboard = createRoute({
  method: "get",
  path: "/",
  summary: "The operators' dashboard (the page is public; its data needs a JWT-SVID in the URL fragment)",
  tags: ["system"],
  ...guard("public"),
  responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
});

export const dashboardRoutes = createRouter().openapi(getDashboard, (c) => {
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  return c.html(dashboardPage(nonce), 200, {
    "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
    "cache-control": "no-store",
  });
});

import { createRoute } from "@hono/zod-openapi";
import { NodeList, NodeListQuery, Topology } from "../../protocol/index.js";
import { openDatabase } from "../db/client.js";
import { readSettings } from "../env.js";
import { ANY_IDENTITY, guard } from "../http/guard.js";
import { createRouter, jsonResponse, problemResponses } from "../http/openapi.js";
import { listFreshLinks, listNodes } from "./store.js";

const getNodes = createRoute({
  method: "get",
  path: "/api/v1/mesh/nodes",
  summary: "List known nodes with their status",
  tags: ["mesh"],
  ...guard(ANY_IDENTITY),
  request: { query: NodeListQuery },
  responses: { 200: jsonResponse(NodeList, "Nodes ordered by id"), ...problemResponses(400, 401, 403) },
});

const getTopology = createRoute({
  method: "get",
  path: "/api/v1/mesh/topology",
  summary: "Nodes and the directed links measured within the link TTL",
  tags: ["mesh"],
  ...guard(ANY_IDENTITY),
  responses: { 200: jsonResponse(Topology, "Current mesh graph"), ...problemResponses(401, 403) },
});

export const meshRoutes = createRouter()
  .openapi(getNodes, async (c) => {
    const now = Date.now();
    const { status } = c.req.valid("query");
    const nodeList = await listNodes(openDatabase(c.env.DB), now - readSettings(c.env).nodeStaleAfterMs, status);
    return c.json({ nodes: nodeList }, 200);
  })
  .openapi(getTopology, async (c) => {
    const now = Date.now();
    const settings = readSettings(c.env);
    const db = openDatabase(c.env.DB);
    const [nodeList, linkList] = await Promise.all([
      listNodes(db, now - settings.nodeStaleAfterMs),
      listFreshLinks(db, now - settings.linkTtlMs),
    ]);
    return c.json({ generatedAt: new Date(now).toISOString(), nodes: nodeList, links: linkList }, 200);
  });

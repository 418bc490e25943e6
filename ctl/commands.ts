import { NodeList, Topology } from "../protocol/index.js";
import { getResource } from "./api.js";
import { renderTable } from "./table.js";

export interface CommandContext {
  api: string;
  json: boolean;
  out: (text: string) => void;
}

const ago = (iso: string, now: number) => `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))}s ago`;

export async function nodesCommand(ctx: CommandContext): Promise<void> {
  const { nodes } = await getResource(ctx.api, "/api/v1/mesh/nodes", NodeList);
  if (ctx.json) { ctx.out(JSON.stringify({ nodes }, null, 2)); return; }
  const now = Date.now();
  ctx.out(
    renderTable(
      ["ID", "ROLE", "STATUS", "FIRMWARE", "LAST SEEN", "SPIFFE ID"],
      nodes.map((n) => [n.id, n.role, n.status, n.firmwareVersion, ago(n.lastSeen, now), n.spiffeId]),
    ),
  );
}

export async function topologyCommand(ctx: CommandContext): Promise<void> {
  const topology = await getResource(ctx.api, "/api/v1/mesh/topology", Topology);
  if (ctx.json) { ctx.out(JSON.stringify(topology, null, 2)); return; }
  const status = new Map(topology.nodes.map((n) => [n.id, n.status]));
  ctx.out(`${topology.nodes.length} nodes, ${topology.links.length} links (${topology.generatedAt})\n`);
  ctx.out(
    renderTable(
      ["FROM", "TO", "TQ", "LATENCY", "LOSS", "FROM STATUS"],
      topology.links.map((l) => [l.from, l.to, String(l.tq), `${l.latencyMs.toFixed(1)} ms`, `${(l.loss * 100).toFixed(1)} %`, status.get(l.from) ?? "unknown"]),
    ),
  );
}

export const COMMANDS: Record<string, { summary: string; run: (ctx: CommandContext) => Promise<void> }> = {
  nodes: { summary: "list nodes with status, firmware and last contact", run: nodesCommand },
  topology: { summary: "list the mesh links with TQ, latency and loss", run: topologyCommand },
};

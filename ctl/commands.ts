import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import {
  CaSecret,
  DenyEntry,
  JoinTokenResponse,
  NodeId,
  NodeList,
  SimFault,
  Topology,
  errorText,
} from "../protocol/index.js";
import { isValidTrustDomain } from "../spiffe/index.js";
import { writePrivate } from "../node-firmware/identity/index.js";
import { ApiError, dashboardUrl, request, type ApiSession } from "./api.js";
import { exportRootKey, importRoot, initCa, prepareNext, promoteNext } from "./ca/authority.js";
import { RAG_COMMANDS } from "./rag.js";
import { DAO_COMMANDS } from "./dao.js";
import { renderTable } from "./table.js";

export interface CommandContext {
  session: ApiSession;
  json: boolean;
  options: Record<string, string | boolean | undefined>;
  /** Words after the command's name (files, a query). */
  args: string[];
  out: (text: string) => void;
}

export interface Command {
  summary: string;
  /** What follows the name, for the usage line; commands without it take no arguments. */
  args?: string;
  run: (ctx: CommandContext) => Promise<void>;
}

const ago = (iso: string, now: number) => `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))}s ago`;

function required(ctx: CommandContext, name: string): string {
  const value = ctx.options[name];
  if (typeof value !== "string" || value === "") throw new ApiError(`--${name} is required`);
  return value;
}

async function nodes(ctx: CommandContext): Promise<void> {
  const { nodes: list } = await request(ctx.session, "/api/v1/mesh/nodes", NodeList);
  if (ctx.json) {
    ctx.out(JSON.stringify({ nodes: list }, null, 2));
    return;
  }
  const now = Date.now();
  ctx.out(
    renderTable(
      ["ID", "ROLE", "STATUS", "FIRMWARE", "LAST SEEN", "SPIFFE ID"],
      list.map((n) => [n.id, n.role, n.status, n.firmwareVersion, ago(n.lastSeen, now), n.spiffeId]),
    ),
  );
}

async function topology(ctx: CommandContext): Promise<void> {
  const graph = await request(ctx.session, "/api/v1/mesh/topology", Topology);
  if (ctx.json) {
    ctx.out(JSON.stringify(graph, null, 2));
    return;
  }
  const status = new Map(graph.nodes.map((n) => [n.id, n.status]));
  ctx.out(`${graph.nodes.length} nodes, ${graph.links.length} links (${graph.generatedAt})\n`);
  ctx.out(
    renderTable(
      ["FROM", "TO", "TQ", "LATENCY", "LOSS", "FROM STATUS"],
      graph.links.map((l) => [
        l.from,
        l.to,
        String(l.tq),
        `${l.latencyMs.toFixed(1)} ms`,
        `${(l.loss * 100).toFixed(1)} %`,
        status.get(l.from) ?? "unknown",
      ]),
    ),
  );
}

async function tokenCreate(ctx: CommandContext): Promise<void> {
  const nodeId = NodeId.parse(required(ctx, "node"));
  const role = ctx.options.role === "gateway" ? "gateway" : "node";
  const ttlSeconds = ctx.options.ttl === undefined ? 600 : Number(ctx.options.ttl);
  const created = await request(ctx.session, "/api/v1/identity/join-tokens", JoinTokenResponse, {
    nodeId,
    role,
    ttlSeconds,
  });
  if (ctx.json) {
    ctx.out(JSON.stringify(created, null, 2));
    return;
  }
  ctx.out(
    `${created.token}\n\nfor ${created.spiffeId}, single use, expires ${created.expiresAt}.\nPut it in the node's config as identity.joinToken.`,
  );
}

async function revoke(ctx: CommandContext): Promise<void> {
  const target =
    typeof ctx.options["spiffe-id"] === "string"
      ? { spiffeId: ctx.options["spiffe-id"] }
      : { serial: required(ctx, "serial") };
  const { revoked } = await request(ctx.session, "/api/v1/identity/revoke", z.object({ revoked: DenyEntry }), {
    ...target,
    reason: required(ctx, "reason"),
  });
  ctx.out(
    ctx.json
      ? JSON.stringify(revoked, null, 2)
      : `revoked ${revoked.spiffeId ?? revoked.serial ?? ""} at ${revoked.revokedAt}`,
  );
}

async function caInit(ctx: CommandContext): Promise<void> {
  const trustDomain = required(ctx, "trust-domain");
  if (!isValidTrustDomain(trustDomain))
    throw new ApiError(`--trust-domain "${trustDomain}" is not a valid SPIFFE trust domain`);
  const out = resolve(typeof ctx.options.out === "string" ? ctx.options.out : "x0-ca");
  await mkdir(out, { recursive: true, mode: 0o700 });
  const { root, secret } = await initCa(trustDomain);
  await writeFile(join(out, "root.pem"), root.cert.toString("pem"));
  await writePrivate(join(out, "root-key.pem"), await exportRootKey(root));
  await writePrivate(join(out, "x0-ca.json"), JSON.stringify(secret, null, 2));
  ctx.out(
    [
      `Created the CA of ${trustDomain} in ${out}:`,
      `  root.pem      trust anchor (public)`,
      `  root-key.pem  OFFLINE root key: move it off this machine; it is needed only to sign the next intermediate`,
      `  x0-ca.json    the intermediate the control plane signs with: wrangler secret put X0_CA < ${join(out, "x0-ca.json")}`,
    ].join("\n"),
  );
}

/** Refusals of the CA library (nothing prepared, already prepared) are the operator's to read, not stack traces. */
const asCliError = <T>(work: Promise<T>): Promise<T> =>
  work.catch((error: unknown) => {
    throw new ApiError(errorText(error));
  });

async function readCaDir(ctx: CommandContext) {
  const dir = resolve(typeof ctx.options.dir === "string" ? ctx.options.dir : "x0-ca");
  const secret = CaSecret.parse(JSON.parse(await readFile(join(dir, "x0-ca.json"), "utf8")));
  return { dir, secret };
}

async function caPrepare(ctx: CommandContext): Promise<void> {
  const { dir, secret } = await readCaDir(ctx);
  const root = await importRoot(
    await readFile(join(dir, "root.pem"), "utf8"),
    await readFile(join(dir, "root-key.pem"), "utf8"),
  );
  await writePrivate(join(dir, "x0-ca.json"), JSON.stringify(await asCliError(prepareNext(secret, root)), null, 2));
  ctx.out(`Prepared the next intermediate in ${join(dir, "x0-ca.json")}.
Publish it (wrangler secret put X0_CA), wait at least one bundle refresh hint, then run: x0ctl ca promote --dir ${dir}`);
}

async function caPromote(ctx: CommandContext): Promise<void> {
  const { dir, secret } = await readCaDir(ctx);
  const promoted = await asCliError(Promise.resolve().then(() => promoteNext(secret)));
  await writePrivate(join(dir, "x0-ca.json"), JSON.stringify(promoted, null, 2));
  ctx.out(`The next intermediate now signs; the former stays in the bundle until ${promoted.previous?.retireAt ?? ""}.
Publish it: wrangler secret put X0_CA < ${join(dir, "x0-ca.json")}`);
}

function faultFrom(ctx: CommandContext, kind: SimFault["kind"]): SimFault {
  switch (kind) {
    case "degrade":
      return {
        kind,
        neighbor: required(ctx, "neighbor"),
        latencyMs: Number(ctx.options.latency ?? 0),
        loss: Number(ctx.options.loss ?? 0),
      };
    case "restore":
    case "link_down":
      return { kind, neighbor: required(ctx, "neighbor") };
    case "flood":
      return { kind, source: required(ctx, "source"), packetsPerSecond: Number(ctx.options.pps ?? 20_000) };
    case "calm":
      return { kind, source: required(ctx, "source") };
  }
}

const DONE: Record<SimFault["kind"], string> = {
  degrade: "degraded",
  link_down: "cut",
  restore: "restored",
  flood: "flooding",
  calm: "calmed",
};

/**
 * The node's neighbours as the control plane last saw them. A degrade of a link the node does not
 * have is refused here, with the ones it has: the node would ignore it, and MQTT has no answer.
 */
async function checkNeighbor(ctx: CommandContext, nodeId: string, neighbor: string): Promise<void> {
  const graph = await request(ctx.session, "/api/v1/mesh/topology", Topology);
  const neighbors = [...new Set(graph.links.filter((l) => l.from === nodeId).map((l) => l.to))].sort();
  if (!neighbors.includes(neighbor)) {
    throw new ApiError(
      `${nodeId} has no link to ${neighbor}; its neighbors: ${neighbors.length > 0 ? neighbors.join(", ") : "none known"}`,
    );
  }
}

async function simFault(ctx: CommandContext, kind: SimFault["kind"]): Promise<void> {
  const nodeId = NodeId.parse(required(ctx, "node"));
  const parsed = SimFault.safeParse(faultFrom(ctx, kind));
  if (!parsed.success)
    throw new ApiError(
      `invalid fault: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
    );
  if (parsed.data.kind === "degrade") await checkNeighbor(ctx, nodeId, parsed.data.neighbor);
  await ctx.session.simFault(nodeId, parsed.data);
  const f = parsed.data;
  ctx.out(`${DONE[kind]} ${nodeId} ${"neighbor" in f ? `→ ${f.neighbor}` : `← ${f.source}`}`);
}

/**
 * The dashboard's URL with a single-use login code in the fragment (no server or log sees it; it
 * works once, for 60 s).
 */
async function dashboard(ctx: CommandContext): Promise<void> {
  ctx.out(await dashboardUrl(ctx.session));
}

export const COMMANDS: Record<string, Command> = {
  nodes: { summary: "list nodes with status, firmware and last contact", run: nodes },
  topology: { summary: "list the mesh links with TQ, latency and loss", run: topology },
  dashboard: {
    summary: "print the dashboard's URL with a single-use login code (60 s; the session it opens lasts 1 h)",
    run: dashboard,
  },
  "token create": { summary: "--node ID [--role gateway] [--ttl S]: single-use join token", run: tokenCreate },
  revoke: { summary: "--spiffe-id ID | --serial HEX, --reason TEXT: deny-list an identity", run: revoke },
  "sim degrade": {
    summary: "--node ID --neighbor ID [--latency MS] [--loss 0..1]: fault in a simulated link",
    run: (ctx) => simFault(ctx, "degrade"),
  },
  "sim down": {
    summary: "--node ID --neighbor ID: the simulated link fails outright",
    run: (ctx) => simFault(ctx, "link_down"),
  },
  "sim restore": { summary: "--node ID --neighbor ID: clear that fault", run: (ctx) => simFault(ctx, "restore") },
  "sim flood": {
    summary: "--node ID --source IP [--pps N]: a simulated source floods the node",
    run: (ctx) => simFault(ctx, "flood"),
  },
  "sim calm": { summary: "--node ID --source IP: that flood stops", run: (ctx) => simFault(ctx, "calm") },
  "ca init": { summary: "--trust-domain TD [--out DIR]: offline root + the control plane's intermediate", run: caInit },
  "ca prepare": { summary: "[--dir DIR]: a next intermediate, published before it signs", run: caPrepare },
  "ca promote": {
    summary: "[--dir DIR]: the next intermediate signs; the old one retires after its SVIDs",
    run: caPromote,
  },
  ...RAG_COMMANDS,
  ...DAO_COMMANDS,
};

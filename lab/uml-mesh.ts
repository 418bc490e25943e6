import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { adminToken } from "../ctl/index.js";
import type { AgentConfig } from "../node-firmware/config/index.js";
import { packageRoot } from "../node-firmware/lib/index.js";
import { NodeList, spiffeIdOf, type MeshNode } from "../protocol/index.js";
import {
  createJoinToken,
  ensureCa,
  ensureLocalAdmin,
  freePort,
  readWranglerToml,
  startLocalWorker,
  startReaper,
} from "../stack/index.js";
import type { LabTopology } from "./topology.js";
import { UmlLab, assertFits } from "./uml.js";
import { createUplink, removeUplink, umlUplink } from "./uml-uplink.js";
import type { z } from "zod";

type AgentConfigInput = z.input<typeof AgentConfig>;

export interface UmlMeshOptions {
  name: string;
  topology: LabTopology;
  dir: string;
  /** batman-adv's OGM interval. */
  ogmIntervalMs?: number;
  /** The agents' silence threshold (mesh.silentAfterMs); the firmware's default when absent. */
  silentAfterMs?: number;
  print: (line: string) => void;
  /** More of the edge's vars (MAPE_COOLDOWN_S, …), as `wrangler secret put` would set them. */
  edgeVars?: Record<string, string>;
}

/** The whole system on real batman-adv: the edge in workerd on the host, a real agent in every guest. */
export interface UmlMesh {
  lab: UmlLab;
  apiUrl: string;
  credentialFile: string;
  gateway: string;
  /** The nodes as the edge lists them (status, samples stored). */
  nodes(): Promise<MeshNode[]>;
  stop(): Promise<void>;
}

const MQTT_PORT = 8883;

/** The firmware bundle (`npm run build:firmware`): what a router runs, and one file for a guest to load. */
const firmwareBundle = () => join(packageRoot(), "dist", "firmware", "x0-node.mjs");

/** What every agent of one lab shares: the edge, and the gateway's broker on bat0. */
interface AgentCommon {
  edgeUrl: string;
  trustDomain: string;
  gateway: string;
  /** The gateway's address on bat0, where its broker listens. */
  brokerHost: string;
  silentAfterMs: number | undefined;
}

/** One agent per guest: batman-adv on bat0, discovery over the mesh, mTLS to the gateway's broker. */
function agentConfig(id: string, links: number, joinToken: string, common: AgentCommon): AgentConfigInput {
  const { edgeUrl, trustDomain, gateway, brokerHost, silentAfterMs } = common;
  return {
    nodeId: id,
    role: id === gateway ? "gateway" : "node",
    broker: {
      url: `mqtts://${brokerHost}:${String(MQTT_PORT)}`,
      keepaliveS: 5,
      spiffeId: spiffeIdOf.gateway(trustDomain, gateway),
    },
    mesh: { backend: "batman-adv", ...(silentAfterMs === undefined ? {} : { silentAfterMs }) },
    // XDP loads in the guests (generic mode), but its map reads start bpftool a few times a second,
    // each about 100 ms of a host core under UML: the netns lab is where XDP is tested.
    dataplane: { backend: "sysfs", interfaces: Array.from({ length: links }, (_, k) => `eth${String(k)}`) },
    discovery: { interfaces: ["bat0"], trustDomain },
    identity: { edgeUrl, stateDir: "/mnt/agent", joinToken },
    ...(id === gateway ? { gateway: { embeddedBroker: { host: brokerHost, port: MQTT_PORT }, edgeUrl } } : {}),
  };
}

/**
 * Starts the edge in workerd on the host (listening on the uplink's host address only), makes a
 * join token per node, and boots the UML lab with an agent in every guest; the first node is the
 * gateway. `stop` (or `umlLabDown` after a crash; workerd dies with us through the reaper) takes
 * all of it away.
 */
export async function startUmlMesh(options: UmlMeshOptions): Promise<UmlMesh> {
  const { name, topology, dir } = options;
  const root = packageRoot();
  const uplink = umlUplink(name);
  const gateway = topology.nodes[0] as string; // index 0: its bat0 address is meshIp(0)
  assertFits(topology, true);
  await mkdir(dir, { recursive: true });
  await createUplink(uplink);
  const stateDir = join(dir, "edge");
  const wrangler = await readWranglerToml(join(root, "wrangler.toml"));
  const trustDomain = wrangler.vars.TRUST_DOMAIN ?? "x0tta6bl4.mesh";
  const port = await freePort();
  const url = `http://${uplink.hostIp}:${String(port)}`;
  const ca = await ensureCa(stateDir, trustDomain);
  const admin = await ensureLocalAdmin(stateDir, trustDomain, url);
  const secrets = { ...options.edgeVars, X0_CA: JSON.stringify(ca), X0_BOOTSTRAP_ADMINS: admin.bootstrap };
  const worker = await startLocalWorker({ root, stateDir, host: uplink.hostIp, port, wrangler, secrets });
  const reaper = startReaper(options.print);
  reaper.watchWorkerd();
  const jwt = await adminToken(admin.credential, url);
  const configs = new Map<string, AgentConfigInput>();
  const common = {
    edgeUrl: url,
    trustDomain,
    gateway,
    brokerHost: uplink.meshIp(0),
    silentAfterMs: options.silentAfterMs,
  };
  for (const id of topology.nodes) {
    const joinToken = await createJoinToken(url, jwt, id, id === gateway ? "gateway" : "node");
    const links = topology.links.filter(([a, b]) => a === id || b === id).length;
    configs.set(id, agentConfig(id, links, joinToken, common));
  }
  const lab = await UmlLab.start({
    name,
    topology,
    dir,
    ...(options.ogmIntervalMs === undefined ? {} : { ogmIntervalMs: options.ogmIntervalMs }),
    uplink: { gateway, addresses: uplink },
    agents: { node: process.execPath, bundle: firmwareBundle(), configs },
  });
  return {
    lab,
    apiUrl: url,
    credentialFile: admin.credentialFile,
    gateway,
    nodes: async () => {
      const headers = { authorization: `Bearer ${await adminToken(admin.credential, url)}` };
      return NodeList.parse(await (await fetch(`${url}/api/v1/mesh/nodes`, { headers })).json()).nodes;
    },
    stop: async () => {
      await lab.stop();
      await worker.dispose();
      await reaper.stop();
      await removeUplink(uplink);
    },
  };
}

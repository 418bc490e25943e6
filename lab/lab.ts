import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../node-firmware/lib/index.js";
import { AGENT_NODE_FLAGS, stopAll, supervise, type Supervised } from "../stack/index.js";
import type { LabTopology } from "./topology.js";

const run = promisify(execFile);

/**
 * A lab's namespaces, all under one prefix by which `down` finds them, also after a crash: the
 * default lab's `x0lab-core` and `x0lab-<node>`, a named lab's `x0lab.<name>-core` and
 * `x0lab.<name>-<node>` (node ids hold no dot, so no lab's prefix takes in another's).
 */
export interface LabNamespaces {
  prefix: string;
  core: string;
  node: (id: string) => string;
}

const LAB_NAME = /^[a-z0-9-]{1,20}$/;

export function labNamespaces(name?: string): LabNamespaces {
  if (name !== undefined && !LAB_NAME.test(name))
    throw new Error(`lab name "${name}" must be 1-20 chars of a-z, 0-9 and '-'`);
  const prefix = name === undefined ? "x0lab-" : `x0lab.${name}-`;
  return { prefix, core: `${prefix}core`, node: (id) => `${prefix}${id}` };
}

export const BROKER_IP = "10.99.0.254";
const BROKER_PORT = 1883;
const STOP_GRACE_MS = 8000;

/** In `a`'s namespace the link to `b` is the interface `to-b`. */
const linkInterface = (to: string) => `to-${to}`;

/** Addresses of link `index` (a /30 each): the first node of the pair gets .1, the second .2. */
export function linkAddresses(index: number): [string, string] {
  const base = `10.${String(200 + (index >> 8))}.${String(index & 0xff)}`;
  return [`${base}.1`, `${base}.2`];
}

export interface Lab {
  topology: LabTopology;
  namespaces: LabNamespaces;
  agents: ReadonlyMap<string, Supervised>;
  /** Runs a command inside a lab namespace. */
  exec(ns: string, ...command: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface LabOptions {
  topology: LabTopology;
  /** Keeps this lab apart from others on the machine (the tests' from an operator's); none: the default lab. */
  name?: string;
  stateDir: string;
  print: (line: string) => void;
  /** Background pings between neighbors, every this many seconds (0: none). */
  pingIntervalS?: number;
}

const ip = (...args: string[]) => run("ip", args);

/** Removes a lab's namespaces (and with them their veths and attached programs), killing what runs in them. */
export async function labDown(name?: string): Promise<string[]> {
  const { prefix } = labNamespaces(name);
  const { stdout } = await run("ip", ["-j", "netns", "list"]);
  const namespaces = (JSON.parse(stdout.trim() || "[]") as { name: string }[])
    .map((n) => n.name)
    .filter((n) => n.startsWith(prefix));
  for (const ns of namespaces) {
    const pids = (await run("ip", ["netns", "pids", ns]).catch(() => ({ stdout: "" }))).stdout
      .split("\n")
      .filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
    await ip("netns", "del", ns).catch(() => undefined);
  }
  return namespaces;
}

async function buildNetwork(topology: LabTopology, { core, node: nodeNamespace }: LabNamespaces): Promise<void> {
  await ip("netns", "add", core);
  await ip("-n", core, "link", "set", "lo", "up");
  await ip("-n", core, "link", "add", "br0", "type", "bridge");
  await ip("-n", core, "addr", "add", `${BROKER_IP}/24`, "dev", "br0");
  await ip("-n", core, "link", "set", "br0", "up");
  for (const [i, id] of topology.nodes.entries()) {
    const ns = nodeNamespace(id);
    await ip("netns", "add", ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    // Management: one veth per node into the core's bridge, where the broker listens.
    await ip("link", "add", `m-${id}`, "netns", core, "type", "veth", "peer", "name", "mgmt", "netns", ns);
    await ip("-n", core, "link", "set", `m-${id}`, "master", "br0", "up");
    await ip("-n", ns, "addr", "add", `10.99.0.${String(i + 1)}/24`, "dev", "mgmt");
    await ip("-n", ns, "link", "set", "mgmt", "up");
  }
  for (const [index, [a, b]] of topology.links.entries()) {
    const [addressA, addressB] = linkAddresses(index);
    await ip(
      "link",
      "add",
      linkInterface(b),
      "netns",
      nodeNamespace(a),
      "type",
      "veth",
      "peer",
      "name",
      linkInterface(a),
      "netns",
      nodeNamespace(b),
    );
    await ip("-n", nodeNamespace(a), "addr", "add", `${addressA}/30`, "dev", linkInterface(b));
    await ip("-n", nodeNamespace(b), "addr", "add", `${addressB}/30`, "dev", linkInterface(a));
    await ip("-n", nodeNamespace(a), "link", "set", linkInterface(b), "up");
    await ip("-n", nodeNamespace(b), "link", "set", linkInterface(a), "up");
  }
}

const neighborsOf = (topology: LabTopology, id: string) =>
  topology.links.flatMap(([a, b]) => (a === id ? [b] : b === id ? [a] : []));

/** One agent per node: plain MQTT to the lab broker, xdp_guard on every link of the node. */
function agentConfig(topology: LabTopology, id: string, stateDir: string) {
  const neighbors = neighborsOf(topology, id);
  return {
    nodeId: id,
    role: "node",
    broker: { url: `mqtt://${BROKER_IP}:${String(BROKER_PORT)}`, keepaliveS: 5 },
    telemetry: { intervalMs: 1000, bufferDir: join(stateDir, "agents", id, "buffer") },
    mesh: { backend: "simulated", peers: topology.nodes, neighbors },
    dataplane: { backend: "xdp", interfaces: neighbors.map(linkInterface) },
    discovery: { interfaces: neighbors.map(linkInterface) },
  };
}

/**
 * Network namespaces joined by veth pairs, a real agent in each with xdp_guard on its links, a
 * broker in a core namespace, and pings between neighbors. Nothing is addressed outside the lab's
 * namespaces. Call `stop` (or `labDown`, also after a crash) to remove all of it.
 */
export async function startLab(options: LabOptions): Promise<Lab> {
  const root = packageRoot();
  execFileSync("make", ["-s", "-C", join(root, "bpf")]);
  const removed = await labDown(options.name);
  if (removed.length > 0) options.print(`[lab] removed ${String(removed.length)} namespaces left by an earlier run`);
  const { topology } = options;
  const namespaces = labNamespaces(options.name);
  const { core, node: nodeNamespace } = namespaces;
  await buildNetwork(topology, namespaces);
  await mkdir(join(options.stateDir, "config"), { recursive: true });
  const background: ChildProcess[] = [];
  const inNs = (ns: string, command: string[]) => ["netns", "exec", ns, ...command];
  const broker = supervise(
    "broker",
    "ip",
    inNs(core, [
      process.execPath,
      join(root, "dist", "lab", "broker.js"),
      "--host",
      BROKER_IP,
      "--port",
      String(BROKER_PORT),
    ]),
    options.print,
  );
  const agents = new Map<string, Supervised>();
  for (const id of topology.nodes) {
    const file = join(options.stateDir, "config", `${id}.json`);
    await writeFile(file, JSON.stringify(agentConfig(topology, id, options.stateDir), null, 2));
    agents.set(
      id,
      supervise(
        id,
        "ip",
        inNs(nodeNamespace(id), [
          process.execPath,
          ...AGENT_NODE_FLAGS,
          join(root, "dist", "node-firmware", "cli.js"),
          "--config",
          file,
        ]),
        options.print,
      ),
    );
  }
  const every = options.pingIntervalS ?? 0.5;
  if (every > 0) {
    for (const [index, [a, b]] of topology.links.entries()) {
      const [addressA, addressB] = linkAddresses(index);
      background.push(
        spawn("ip", inNs(nodeNamespace(a), ["ping", "-q", "-i", String(every), addressB]), { stdio: "ignore" }),
      );
      background.push(
        spawn("ip", inNs(nodeNamespace(b), ["ping", "-q", "-i", String(every), addressA]), { stdio: "ignore" }),
      );
    }
  }
  return {
    topology,
    namespaces,
    agents,
    exec: async (ns, ...command) => (await run("ip", inNs(ns, command), { maxBuffer: 64 * 1024 * 1024 })).stdout,
    stop: async () => {
      for (const child of background) child.kill("SIGTERM");
      // Agents first: they detach their programs; then the broker; then the namespaces go.
      await stopAll([...agents.values()], STOP_GRACE_MS);
      await stopAll([broker], STOP_GRACE_MS);
      await labDown(options.name);
      await rm(join(options.stateDir, "agents"), { recursive: true, force: true });
    },
  };
}

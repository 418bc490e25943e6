import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeList, Topology } from "../../protocol/index.js";
import { waitFor } from "../helpers/mqtt.js";
import { commandLine, descendantsOf, freePort, isAlive, rssBytes } from "../helpers/processes.js";

const NODES = 3;
let stack: ChildProcess;
let output = "";
let apiUrl: string;
let stateDir: string;
const seenPids = new Set<number>();
let watcher: NodeJS.Timeout;

const fetchJson = async (path: string) => (await fetch(`${apiUrl}${path}`)).json();

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "x0-e2e-"));
  const [port, mqttPort] = [await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${port}`;
  stack = spawn(process.execPath, ["dist/stack/start.js", "--nodes", String(NODES), "--port", String(port), "--mqtt-port", String(mqttPort), "--state", stateDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  stack.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  stack.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  watcher = setInterval(() => { descendantsOf(stack.pid as number).forEach((pid) => seenPids.add(pid)); }, 100);
});

afterAll(async () => {
  clearInterval(watcher);
  if (stack.exitCode === null) stack.kill("SIGKILL");
  await rm(stateDir, { recursive: true, force: true });
});

describe("local stack (npm start)", () => {
  it(`brings ${NODES} simulated nodes online with their links`, async () => {
    const startedAt = Date.now();
    const everyNodeLinked = (topology: Topology) =>
      topology.nodes.every((n) => topology.links.some((l) => l.from === n.id));
    await waitFor(async () => {
      try {
        const { nodes } = NodeList.parse(await fetchJson("/api/v1/mesh/nodes?status=online"));
        return nodes.filter((n) => n.role === "node").length === NODES && everyNodeLinked(Topology.parse(await fetchJson("/api/v1/mesh/topology")));
      } catch {
        return false;
      }
    }, 60_000, `${NODES} nodes online with links; output so far:\n${output}`);
    const onlineAfterMs = Date.now() - startedAt;

    const topology = Topology.parse(await fetchJson("/api/v1/mesh/topology"));
    const ids = topology.nodes.map((n) => n.id);
    expect(ids).toEqual(["gw-1", "node-1", "node-2", "node-3"]);
    expect(topology.nodes.every((n) => n.status === "online")).toBe(true);
    for (const link of topology.links) expect(ids).toContain(link.to);

    const agents = descendantsOf(stack.pid as number).filter((pid) => commandLine(pid).includes("node-firmware/cli.js"));
    const rss: Record<string, number> = {};
    for (const pid of agents) rss[/--config \S*\/([\w-]+)\.json/.exec(commandLine(pid))?.[1] ?? String(pid)] = Math.round(rssBytes(pid) / 2 ** 20);
    console.log(`[measure] all ${NODES} nodes online with links ${onlineAfterMs} ms after spawn; RSS MiB by agent: ${JSON.stringify(rss)}`);
  });

  it("x0ctl reads the same nodes from the running stack", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["bin/x0ctl.js", "nodes", "--json", "--api", apiUrl]);
    const { nodes } = NodeList.parse(JSON.parse(stdout) as unknown);
    expect(nodes.map((n) => n.id)).toEqual(["gw-1", "node-1", "node-2", "node-3"]);
    const table = await promisify(execFile)(process.execPath, ["bin/x0ctl.js", "topology"], { env: { ...process.env, X0_API: apiUrl } });
    expect(table.stdout).toMatch(/^FROM\s+TO\s+TQ/m);
  });

  it("stops every process it started on SIGINT", async () => {
    expect(seenPids.size).toBeGreaterThanOrEqual(NODES + 2); // nodes, gateway, workerd
    const exited = new Promise<number | null>((resolve) => stack.once("exit", (code) => { resolve(code); }));
    stack.kill("SIGINT");
    expect(await exited).toBe(0);
    await waitFor(() => [...seenPids].every((pid) => !isAlive(pid)), 5000, "all children gone");
    expect(output).toContain("[stack] stopped");
  });
});

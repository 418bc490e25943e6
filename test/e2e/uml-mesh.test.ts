import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, readCredential } from "../../ctl/credential.js";
import { startUmlMesh, type UmlMesh } from "../../lab/uml-mesh.js";
import { parseTopology } from "../../lab/topology.js";
import { umlUnavailable } from "../../lab/uml.js";
import { DecisionList, Topology } from "../../protocol/index.js";
import { ROOT } from "../helpers/control-plane.js";
import { waitFor } from "../helpers/mqtt.js";

const run = promisify(execFile);
const unavailable = umlUnavailable();

/**
 * The whole loop on the kernel's batman-adv (issue #33): three User-Mode Linux guests on a ring,
 * each running the firmware bundle's agent, the first one the gateway with the broker, reaching
 * the edge in workerd on this host over a tap. Every link figure is batman-adv's own.
 */
describe.skipIf(unavailable !== null)(
  `the agent on real batman-adv in UML guests${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let mesh: UmlMesh;
    const printed: string[] = [];

    beforeAll(async () => {
      await run("npm", ["run", "--silent", "build:firmware"], { cwd: ROOT, timeout: 120_000 });
      const dir = await mkdtemp(join(tmpdir(), "x0-uml-mesh-"));
      mesh = await startUmlMesh({
        name: "e2e",
        topology: await parseTopology("ring:3"),
        dir,
        print: (line) => printed.push(line),
        // Echo latency jitters under UML at startup: the reroutes it sets off must not hold the
        // cooldown or a node's rate of actions when the tests' own faults come.
        edgeVars: { MAPE_COOLDOWN_S: "5", MAPE_MAX_ACTIONS_PER_NODE_PER_MIN: "30" },
      });
      await mesh.lab.ready(60_000);
    }, 180_000);

    afterAll(async () => {
      await mesh.stop();
    }, 60_000);

    const api = async (path: string): Promise<unknown> => {
      const token = await adminToken(await readCredential(mesh.credentialFile), mesh.apiUrl);
      return (await fetch(`${mesh.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
    };
    const topology = async () => Topology.parse(await api("/api/v1/mesh/topology"));
    const link = async (from: string, to: string) =>
      (await topology()).links.find((l) => l.from === from && l.to === to);
    const agentLog = (node: string) => readFile(join(mesh.lab.folderOf(node), "agent.log"), "utf8");
    /** Waits on a guest's state at most twice a second: each look is a process in the guest. */
    const waitSlowly = (check: () => Promise<boolean>, timeoutMs: number, what: string) => {
      let next = 0;
      return waitFor(
        async () => {
          if (Date.now() < next) return false;
          next = Date.now() + 500;
          return check();
        },
        timeoutMs,
        what,
      );
    };

    it("attests every node, which comes online with the TQ batman-adv measured", async () => {
      await waitFor(
        async () => (await topology()).nodes.filter((n) => n.status === "online").length === 3,
        120_000,
        "three nodes online at the edge",
      );
      // n2's view of n3 as the edge holds it, and as batman-adv in n2's guest says it.
      await waitFor(async () => ((await link("n2", "n3"))?.tq ?? 0) > 128, 60_000, "n2→n3 TQ over 128");
      const routes = await mesh.lab.originators("n2");
      const direct = routes.find((r) => r.originator === mesh.lab.originatorOf("n3") && r.best);
      expect(mesh.lab.linkAddressesOf("n3")).toContain(direct?.nextHop); // a direct neighbor
      expect(Math.abs((direct?.tq ?? 0) - ((await link("n2", "n3"))?.tq ?? 0))).toBeLessThan(64);
      expect(await agentLog("n2")).toContain('"msg":"SVID issued"');
      expect(
        spawnSync(process.execPath, [join(ROOT, "bin", "x0ctl.js"), "--credential", mesh.credentialFile, "topology"], {
          encoding: "utf8",
        }).stdout,
      ).toMatch(/n2\s+n3\s+\d+/);
    }, 240_000);

    const decisions = async (node: string, kind: string) =>
      DecisionList.parse(await api(`/api/v1/mape/decisions?node=${node}&kind=${kind}`)).decisions;
    const about = (neighbor: string) => (d: { outcome: string | null; inputs: unknown }) =>
      d.outcome === "applied" && (d.inputs as { neighbor?: string }).neighbor === neighbor;

    it("sees a cut link in batman-adv's data: the node's reflex forgets the silent neighbor, recorded at the edge", async () => {
      await waitFor(
        async () => ((await topology()).nodes.find((n) => n.id === "n2")?.samplesStored ?? 0) >= 8,
        60_000,
        "n2's link baseline at the edge",
      );
      const cutAt = Date.now();
      mesh.lab.cut("n2", "n3");
      await waitFor(
        async () => (await decisions("n2", "reflex:reroute")).some(about("n3")),
        60_000,
        "n2's reflex around n3, recorded at the edge",
      );
      console.log(`[measure] UML: n2–n3 cut to n2's reflex recorded at the edge: ${String(Date.now() - cutAt)} ms`);
      // The reflex is reported with the sample that saw the silence; batctl finishes forgetting after it.
      await waitFor(
        async () => /forgot a silent neighbor.*"neighbor":"n3"/.test(await agentLog("n2")),
        30_000,
        "n2 to forget n3",
      );
      // n2 reaches n3 over n1 now, as batman-adv's own table says.
      await waitSlowly(
        async () =>
          (await mesh.lab.originators("n2")).some(
            (r) =>
              r.originator === mesh.lab.originatorOf("n3") &&
              r.best &&
              mesh.lab.linkAddressesOf("n1").includes(r.nextHop),
          ),
        30_000,
        "n2's route to n3 over n1",
      );
      await mesh.lab.restore("n2", "n3");
    }, 180_000);

    it("sees a lossy link (netem in the guests) and routes around it with a signed reroute, applied by batctl", async () => {
      const since = Date.now();
      await mesh.lab.degrade("n1", "n3", { lossPercent: 20, delayMs: 5 });
      expect(await mesh.lab.exec("n1", `tc qdisc show dev ${mesh.lab.interfaceOf("n1", "n3")}`)).toContain("loss 20%");
      // Too little for a reflex (TQ stays over half its average): the edge's Analyze sees the loss.
      let applied: { node: string; neighbor: string } | undefined;
      await waitFor(
        async () => {
          for (const [node, neighbor] of [
            ["n1", "n3"],
            ["n3", "n1"],
          ] as const) {
            const recent = (await decisions(node, "reroute")).filter((d) => Date.parse(d.ts) >= since);
            if (recent.some(about(neighbor))) applied = { node, neighbor };
          }
          return applied !== undefined;
        },
        90_000,
        "the edge's reroute around the n1–n3 link, applied",
      );
      const { node, neighbor } = applied as { node: string; neighbor: string };
      console.log(`[measure] UML: 20 % loss on n1–n3 to the edge's reroute applied: ${String(Date.now() - since)} ms`);
      // The signed action reached the node and batctl set the penalty on its interface toward the link.
      expect(await agentLog(node)).toMatch(/"msg":"action applied".*"kind":"reroute"/);
      const hardif = mesh.lab.interfaceOf(node, neighbor);
      expect((await mesh.lab.exec(node, `batctl hardif ${hardif} hop_penalty`)).trim()).toBe("150");
      await mesh.lab.restore("n1", "n3");
      expect(await mesh.lab.exec("n1", `tc qdisc show dev ${mesh.lab.interfaceOf("n1", "n3")}`)).not.toContain("netem");
    }, 150_000);

    it("marks a node that lost power offline", async () => {
      await mesh.lab.kill("n3");
      await waitFor(
        async () => (await topology()).nodes.find((n) => n.id === "n3")?.status === "offline",
        60_000,
        "n3 offline at the edge",
      );
    }, 90_000);
  },
);

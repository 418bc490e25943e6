import { execFile, spawn, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UmlLab, umlUnavailable } from "../../lab/uml.js";
import { parseTopology } from "../../lab/topology.js";
import { waitFor } from "../helpers/mqtt.js";
import { ROOT } from "../helpers/control-plane.js";
import { commandLine, descendantsOf, isAlive } from "../../stack/index.js";

const unavailable = umlUnavailable();

/** The processes of lab `name` still running: its guests (by umid) and its switches (by their folder). */
const ours = (name: string, folder: string) =>
  spawnSync("pgrep", ["-f", `umid=x0uml-${name}-|vde_switch -s ${folder}/`], { encoding: "utf8" }).stdout.trim();

/**
 * The real batman-adv kernel module, in User-Mode Linux guests on a line of three: the mesh the
 * batman-adv backend reads (issue #33's lab, its first part: the guests and their links).
 */
describe.skipIf(unavailable !== null)(
  `a UML mesh with the kernel's batman-adv${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let lab: UmlLab;
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "x0-uml-"));
      lab = await UmlLab.start({ name: "test", topology: await parseTopology("line:3"), dir, ogmIntervalMs: 200 });
      await lab.ready();
    }, 60_000);

    afterAll(async () => {
      await lab.stop();
    });

    it("routes n1 to n3 over n2, by the originator tables of the real batman-adv, with TQ it measured", async () => {
      const [n2, n3] = [lab.originatorOf("n2"), lab.originatorOf("n3")];
      expect(n2).not.toBe(n3);
      await waitFor(
        async () => (await lab.originators("n1").catch(() => [])).some((r) => r.originator === n3 && r.best),
        30_000,
        "n1's route to n3",
      );
      const routes = await lab.originators("n1");
      const viaN2 = lab.linkAddressesOf("n2");
      expect(viaN2).toContain(routes.find((r) => r.originator === n3 && r.best)?.nextHop);
      // n1 is an end of the line: every route it has goes through n2 (at its link interface's MAC).
      for (const route of routes) expect(viaN2).toContain(route.nextHop);
      expect(routes.find((r) => r.originator === n2 && r.best)?.tq).toBeGreaterThan(0);
    });

    it("stops n3's OGMs reaching n1 when the n2–n3 link is cut, and carries them again once it is restored", async () => {
      const n3 = lab.originatorOf("n3");
      const lastSeen = async () =>
        (await lab.originators("n1").catch(() => [])).find((r) => r.originator === n3 && r.best)?.lastSeenMs;
      lab.cut("n2", "n3");
      // batman-adv keeps the stale route until its purge (200 s); its OGMs stop arriving: last-seen grows.
      await waitFor(async () => ((await lastSeen()) ?? Infinity) > 2000, 15_000, "n3's OGMs to stop reaching n1");
      await lab.restore("n2", "n3");
      await waitFor(async () => ((await lastSeen()) ?? Infinity) < 1000, 15_000, "n3's OGMs to reach n1 again");
      expect(() => {
        lab.cut("n1", "n3");
      }).toThrow("n1 and n3 share no link");
      expect(() => {
        lab.cut("n1", "n9");
      }).toThrow("no node n9 in this lab");
    }, 40_000);

    it("is cleaned up by `lab -- down --kernel uml` after its own process was SIGKILLed, edge and agents too", async () => {
      await promisify(execFile)("npm", ["run", "--silent", "build:firmware"], { cwd: ROOT, timeout: 120_000 });
      const cli = join(ROOT, "dist", "lab", "cli.js");
      const state = join(dir, "killed");
      const running = spawn(process.execPath, [
        cli,
        "--kernel",
        "uml",
        "--topology",
        "line:2",
        "--name",
        "killed",
        "--state",
        state,
      ]);
      let output = "";
      running.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(() => output.includes("UML guests running batman-adv"), 60_000, "the lab's guests");
      const workerd = descendantsOf(running.pid as number).filter((pid) => commandLine(pid).includes("workerd serve"));
      expect(workerd).toHaveLength(1); // its edge
      const labCommand = (...args: string[]) =>
        spawnSync(process.execPath, [cli, ...args, "--kernel", "uml", "--name", "killed", "--state", state], {
          encoding: "utf8",
        });
      // From another process, as an operator would.
      expect(labCommand("cut", "n1", "n2")).toMatchObject({
        status: 0,
        stdout: expect.stringContaining("cut n1–n2") as string,
      });
      expect(labCommand("restore", "n1", "n2")).toMatchObject({
        status: 0,
        stdout: expect.stringContaining("restored n1–n2") as string,
      });
      expect(labCommand("cut", "n1", "n9")).toMatchObject({
        status: 1,
        stderr: expect.stringContaining("no node n9") as string,
      });
      expect(labCommand("degrade", "n1", "n2", "--loss", "150")).toMatchObject({
        status: 1,
        stderr: expect.stringContaining("loss must be 0..100 %") as string,
      });
      const gone = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGKILL");
      await gone;
      expect(ours("killed", state)).not.toBe(""); // its guests outlive it
      expect(labCommand("down").stdout).toContain("removed x0uml-killed-n1, x0uml-killed-n2");
      expect(spawnSync("ip", ["link", "show", "x0u-killed"]).status).not.toBe(0); // its uplink's tap
      await waitFor(() => ours("killed", state) === "", 10_000, "no guest or switch of the killed lab");
      await waitFor(() => workerd.every((pid) => !isAlive(pid)), 10_000, "its edge's workerd reaped");
      expect(spawnSync("test", ["-e", state]).status).not.toBe(0);
    }, 120_000);

    it("leaves no guest, switch or folder behind when it stops", async () => {
      await lab.stop();
      expect(ours("test", dir)).toBe("");
      expect(spawnSync("test", ["-e", dir]).status).not.toBe(0);
    });
  },
);

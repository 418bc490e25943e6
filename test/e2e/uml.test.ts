import { spawn, spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UmlLab, umlUnavailable } from "../../lab/uml.js";
import { parseTopology } from "../../lab/topology.js";
import { waitFor } from "../helpers/mqtt.js";
import { ROOT } from "../helpers/control-plane.js";

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
      await waitFor(
        async () => (await lab.originators("n1").catch(() => [])).some((r) => r.originator === n3 && r.best),
        30_000,
        "n1's route to n3",
      );
      const routes = await lab.originators("n1");
      expect(routes.find((r) => r.originator === n3 && r.best)).toMatchObject({ nextHop: n2 });
      const direct = routes.filter((r) => r.originator === r.nextHop).map((r) => r.originator);
      expect(direct).toEqual([n2]); // n3 is not n1's neighbor on a line
      expect(routes.find((r) => r.originator === n2 && r.best)?.tq).toBeGreaterThan(0);
    });

    it("stops n3's OGMs reaching n1 when the n2–n3 link is cut, and carries them again once it is restored", async () => {
      const n3 = lab.originatorOf("n3");
      const lastSeen = async () =>
        (await lab.originators("n1").catch(() => [])).find((r) => r.originator === n3 && r.best)?.lastSeenMs;
      lab.cut("n2", "n3");
      // batman-adv keeps the stale route until its purge (200 s); its OGMs stop arriving: last-seen grows.
      await waitFor(async () => ((await lastSeen()) ?? Infinity) > 2000, 15_000, "n3's OGMs to stop reaching n1");
      lab.restore("n2", "n3");
      await waitFor(async () => ((await lastSeen()) ?? Infinity) < 1000, 15_000, "n3's OGMs to reach n1 again");
      expect(() => {
        lab.cut("n1", "n3");
      }).toThrow("n1 and n3 share no link");
      expect(() => {
        lab.cut("n1", "n9");
      }).toThrow("no node n9 in this lab");
    }, 40_000);

    it("is cleaned up by `lab -- down --kernel uml` after its own process was SIGKILLed", async () => {
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
      await waitFor(() => output.includes("UML guests running batman-adv"), 30_000, "the lab's guests");
      const labCommand = (...args: string[]) =>
        spawnSync(process.execPath, [cli, ...args, "--kernel", "uml", "--name", "killed", "--state", state], {
          encoding: "utf8",
        });
      expect(labCommand("cut", "n1", "n2").stdout).toContain("cut n1–n2"); // from another process, as an operator would
      expect(labCommand("restore", "n1", "n2").stdout).toContain("restored n1–n2");
      expect(labCommand("cut", "n1", "n9")).toMatchObject({
        status: 1,
        stderr: expect.stringContaining("no node n9") as string,
      });
      const gone = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGKILL");
      await gone;
      expect(ours("killed", state)).not.toBe(""); // its guests outlive it
      expect(labCommand("down").stdout).toContain("removed x0uml-killed-n1, x0uml-killed-n2");
      await waitFor(() => ours("killed", state) === "", 10_000, "no guest or switch of the killed lab");
      expect(spawnSync("test", ["-e", state]).status).not.toBe(0);
    }, 60_000);

    it("leaves no guest, switch or folder behind when it stops", async () => {
      await lab.stop();
      expect(ours("test", dir)).toBe("");
      expect(spawnSync("test", ["-e", dir]).status).not.toBe(0);
    });
  },
);

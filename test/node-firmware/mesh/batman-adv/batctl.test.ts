import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Batctl, PathSwitches } from "../../../../node-firmware/mesh/batman-adv/batctl.js";
import { BatmanIvMesh } from "../../../../node-firmware/mesh/simulated/batman-iv.js";
import { FAKE_BATCTL_DIR, fakeBatctlLog, simulatedMac, writeFakeBatctlState } from "../../../helpers/fake-batctl.js";

let dir: string;
let state: string;
let mesh: BatmanIvMesh;
const originalPath = process.env.PATH;
const ring = ["n0", "n1", "n2", "n3", "n4"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x0-batctl-"));
  state = join(dir, "state.json");
  process.env.PATH = `${FAKE_BATCTL_DIR}:${originalPath ?? ""}`;
  process.env.X0_FAKE_BATCTL_STATE = state;
  mesh = new BatmanIvMesh(ring);
  ring.forEach((id, i) => {
    mesh.connect(id, ring[(i + 1) % ring.length] as string);
  });
  for (let i = 0; i < 80; i++) mesh.tick();
  await writeFakeBatctlState(state, mesh, "n0");
});

afterAll(async () => {
  process.env.PATH = originalPath;
  delete process.env.X0_FAKE_BATCTL_STATE;
  await rm(dir, { recursive: true, force: true });
});

describe("Batctl (against a fake batctl on PATH, backed by the B.A.T.M.A.N. IV simulator)", () => {
  const batctl = new Batctl("bat0");

  it("parses the originator table: TQ per route, the best next hop, last seen", async () => {
    const routes = await batctl.originators();
    const toN1 = routes.filter((r) => r.originator === simulatedMac("n1"));
    expect(toN1.find((r) => r.best)).toMatchObject({
      nextHop: simulatedMac("n1"),
      tq: 255,
      interface: "mesh0",
      lastSeenMs: 0,
    });
    expect(toN1.find((r) => !r.best)?.nextHop).toBe(simulatedMac("n4")); // the long way round, kept as a potential next hop
    expect(new Set(routes.map((r) => r.originator))).toEqual(new Set(["n1", "n2", "n3", "n4"].map(simulatedMac)));
    expect((await batctl.neighbors()).map((n) => n.address).sort()).toEqual(
      [simulatedMac("n1"), simulatedMac("n4")].sort(),
    );
    expect(await batctl.gateways()).toEqual([]);
    expect(await batctl.settings()).toMatchObject({
      mesh_ifname: "bat0",
      algo_name: "BATMAN_IV",
      hop_penalty: 30,
      orig_interval: 1000,
    });
  });

  it("sets hop penalty (mesh-wide and per hard interface), OGM interval, gateway mode and interfaces with batctl's own commands", async () => {
    await batctl.setHopPenalty(60);
    await batctl.setHopPenalty(120, "mesh0");
    await batctl.setOrigInterval(500);
    await batctl.setGatewayMode("server");
    await batctl.addInterface("mesh1");
    await batctl.removeInterface("mesh1");
    const calls = (await readFile(fakeBatctlLog(state), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as string[]);
    expect(calls.slice(-6)).toEqual([
      ["meshif", "bat0", "hop_penalty", "60"],
      ["hardif", "mesh0", "hop_penalty", "120"],
      ["meshif", "bat0", "orig_interval", "500"],
      ["meshif", "bat0", "gw_mode", "server"],
      ["meshif", "bat0", "interface", "add", "mesh1"],
      ["meshif", "bat0", "interface", "del", "mesh1"],
    ]);
    expect(await batctl.settings()).toMatchObject({ hop_penalty: 60, orig_interval: 500 });
    await expect(batctl.setHopPenalty(256)).rejects.toThrow(/0\.\.255/);
  });

  it("counts path switches when a link fails and batman-adv moves to the long way round", async () => {
    const switches = new PathSwitches();
    expect(switches.observe(await batctl.originators())).toBe(0);
    mesh.disconnect("n0", "n1");
    for (let i = 0; i < 6; i++) mesh.tick();
    await writeFakeBatctlState(state, mesh, "n0");
    expect(switches.observe(await batctl.originators())).toBeGreaterThanOrEqual(1);
    expect((await batctl.originators()).find((r) => r.originator === simulatedMac("n1") && r.best)?.nextHop).toBe(
      simulatedMac("n4"),
    );
  });

  it("says clearly what went wrong: no such mesh interface, output it cannot read, no batctl", async () => {
    await expect(new Batctl("bat9").originators()).rejects.toThrow(/bat9 is not present or not a batman-adv interface/);
    await writeFile(
      state,
      JSON.stringify({ meshifs: { bat0: { originators: [{ orig_address: "nonsense" }] } }, hardifs: {} }),
    );
    await expect(batctl.originators()).rejects.toThrow(/unexpected output: 0\.orig_address must be a MAC address/);
    await expect(new Batctl("bat0", "/nonexistent/batctl").originators()).rejects.toThrow(/not found on PATH/);
  });
});

const realBatctl = (() => {
  try {
    return execFileSync("sh", ["-c", "command -v batctl"], {
      encoding: "utf8",
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    }).trim();
  } catch {
    return "";
  }
})();

describe.skipIf(!realBatctl)("Batctl against the real batctl (this kernel has no batman-adv)", () => {
  it("reports the real tool's refusal as it says it", async () => {
    await expect(new Batctl("bat0", realBatctl).originators()).rejects.toThrow(
      /batctl meshif bat0 originators_json failed: Error - interface bat0 is not present or not a batman-adv interface/,
    );
  });
});

import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Batctl } from "../../../../node-firmware/mesh/batman-adv/batctl.js";
import { BatmanAdvMesh, lossOfTq } from "../../../../node-firmware/mesh/batman-adv/mesh.js";
import { NodeDirectory } from "../../../../node-firmware/mesh/batman-adv/node-directory.js";
import { BatmanIvMesh } from "../../../../node-firmware/mesh/simulated/batman-iv.js";
import { silentLogger } from "../../../../node-firmware/lib/log.js";
import { ManualClock } from "../../../helpers/clock.js";
import { FAKE_BATCTL_DIR, fakeBatctlLog, simulatedMac, writeFakeBatctlState } from "../../../helpers/fake-batctl.js";
import { waitFor } from "../../../helpers/mqtt.js";

/**
 * The batman-adv backend against batctl's command line and JSON, played by a fake batctl backed by
 * the B.A.T.M.A.N. IV simulator (this kernel has no batman-adv; the UML lab runs the real one).
 */
let dir: string;
let state: string;
let sysfs: string;
let sim: BatmanIvMesh;
let mesh: BatmanAdvMesh | undefined;
const ring = ["n0", "n1", "n2", "n3", "n4"];
const originalPath = process.env.PATH;
interface FakeState {
  meshifs: { bat0: { interfaces: string[]; settings: Record<string, unknown> } };
  hardifs: Record<string, { hop_penalty: number }>;
}
const OPTIONS = { refreshMs: 1000, silentAfterMs: 3000, probeIntervalMs: 10_000, counterInterfaces: ["bat0"] };

async function writeState(rtt: Record<string, number> = {}): Promise<void> {
  await writeFakeBatctlState(state, sim, "n0");
  const written = JSON.parse(await readFile(state, "utf8")) as { meshifs: { bat0: Record<string, unknown> } };
  written.meshifs.bat0.rtt = rtt;
  await writeFile(state, JSON.stringify(written));
}

async function writeSysfs(): Promise<void> {
  await mkdir(join(sysfs, "bat0", "statistics"), { recursive: true });
  await mkdir(join(sysfs, "mesh0"), { recursive: true });
  const counters = { rx_bytes: 1000, tx_bytes: 2000, rx_packets: 10, tx_packets: 20, rx_dropped: 1, tx_dropped: 0 };
  for (const [file, value] of Object.entries(counters))
    await writeFile(join(sysfs, "bat0", "statistics", file), `${String(value)}\n`);
  await writeFile(join(sysfs, "mesh0", "address"), `${simulatedMac("n0")}\n`);
}

async function open(clock: ManualClock, directory = directoryOfRing()): Promise<BatmanAdvMesh> {
  mesh = await BatmanAdvMesh.open(new Batctl("bat0"), directory, { ...OPTIONS, sysfsRoot: sysfs }, silentLogger, clock);
  return mesh;
}

/** n1 configured, n4 heard over mDNS; n2 and n3 are not direct neighbors of n0 anyway. */
function directoryOfRing(): NodeDirectory {
  const directory = new NodeDirectory({ [simulatedMac("n1")]: "n1" });
  directory.heard(simulatedMac("n4"), "n4");
  return directory;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x0-batman-adv-"));
  state = join(dir, "state.json");
  sysfs = join(dir, "sys");
  process.env.PATH = `${FAKE_BATCTL_DIR}:${originalPath ?? ""}`;
  process.env.X0_FAKE_BATCTL_STATE = state;
  await writeSysfs();
});

afterEach(async () => {
  await mesh?.close();
  mesh = undefined;
});

afterAll(async () => {
  process.env.PATH = originalPath;
  delete process.env.X0_FAKE_BATCTL_STATE;
  await rm(dir, { recursive: true, force: true });
});

function freshRing(): void {
  sim = new BatmanIvMesh(ring);
  ring.forEach((id, i) => {
    sim.connect(id, ring[(i + 1) % ring.length] as string);
  });
  for (let i = 0; i < 80; i++) sim.tick();
}

describe("BatmanAdvMesh (batctl, played by a fake backed by the B.A.T.M.A.N. IV simulator)", () => {
  it("names direct neighbors by node id, with TQ, loss estimated from it, latency from an echo, and bat0's counters", async () => {
    freshRing();
    await writeState({ [simulatedMac("n1")]: 0.42 });
    const clock = new ManualClock(Date.now());
    const opened = await open(clock);
    expect(opened.neighborIds.sort()).toEqual(["n1", "n4"]);
    await clock.advance(0); // the first echo goes at once, to n1 (a neighbor per turn)
    await waitFor(() => opened.sample(clock.now()).neighbors.some((n) => n.latencyMs > 0), 5000, "n1's echo");
    const { neighbors, counters } = opened.sample(clock.now());
    expect(neighbors.sort((a, b) => a.neighbor.localeCompare(b.neighbor))).toEqual([
      { neighbor: "n1", tq: 255, latencyMs: 0.42, loss: 0 },
      { neighbor: "n4", tq: 255, latencyMs: 0, loss: 0 }, // no echo answered yet: no latency known
    ]);
    expect(counters).toEqual({
      rxBytes: 1000,
      txBytes: 2000,
      rxPackets: 10,
      txPackets: 20,
      rxDropped: 1,
      txDropped: 0,
    });
    expect(await opened.interfaceAddresses()).toEqual([simulatedMac("n0")]);
  });

  it("reads a neighbor that went silent as TQ 0 and loss 1 within silentAfterMs, though batman-adv keeps its last TQ", async () => {
    freshRing();
    await writeState();
    const clock = new ManualClock(Date.now());
    const opened = await open(clock);
    sim.disconnect("n0", "n1");
    for (let i = 0; i < 4; i++) sim.tick(); // 4 s of OGMs: n1's stop arriving
    await writeState();
    const before = (await new Batctl("bat0").originators()).find(
      (r) => r.originator === simulatedMac("n1") && r.nextHop === simulatedMac("n1"),
    );
    expect(before?.tq).toBeGreaterThan(0); // batman-adv's table still has it
    await clock.advance(OPTIONS.refreshMs);
    await waitFor(
      () => opened.sample(clock.now()).neighbors.find((n) => n.neighbor === "n1")?.tq === 0,
      5000,
      "n1 silent",
    );
    expect(opened.sample(clock.now()).neighbors.find((n) => n.neighbor === "n1")).toMatchObject({ tq: 0, loss: 1 });
  });

  it("reroutes with batctl's hop penalty on the hard interface toward the neighbor", async () => {
    freshRing();
    await writeState();
    const opened = await open(new ManualClock(Date.now()));
    await opened.apply({ kind: "reroute", neighbor: "n1", hopPenalty: 150 });
    const log = (await readFile(fakeBatctlLog(state), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as string[]);
    expect(log).toContainEqual(["hardif", "mesh0", "hop_penalty", "150"]);
    expect(log.some((call) => call.includes("del"))).toBe(false); // a neighbor still heard is not forgotten
    const after = JSON.parse(await readFile(state, "utf8")) as { hardifs: { mesh0: { hop_penalty: number } } };
    expect(after.hardifs.mesh0.hop_penalty).toBe(150);
  });

  it("forgets a silent neighbor alone on its link interface (the interface rejoins), and keeps penalizing that link", async () => {
    freshRing();
    // As in the UML lab and on Freifunk routers: a dummy primary, one interface per link.
    const linkOf = (neighbor: string) => (neighbor === "n1" ? "eth0" : "eth1");
    let penalties: FakeState["hardifs"] = {};
    // The kernel keeps each interface's hop penalty while its tables change.
    const writeLinks = async () => {
      await writeFakeBatctlState(state, sim, "n0", linkOf);
      const written = JSON.parse(await readFile(state, "utf8")) as FakeState;
      written.hardifs = { ...written.hardifs, ...penalties };
      written.meshifs.bat0.interfaces = ["x0primary", "eth0", "eth1"];
      written.meshifs.bat0.settings.hard_ifname = "x0primary";
      written.hardifs.x0primary = { hop_penalty: 0 };
      await writeFile(state, JSON.stringify(written));
    };
    await writeLinks();
    const clock = new ManualClock(Date.now());
    const opened = await open(clock);
    sim.disconnect("n0", "n1");
    for (let i = 0; i < 4; i++) sim.tick();
    await writeLinks();
    await clock.advance(OPTIONS.refreshMs);
    await waitFor(() => opened.sample(clock.now()).neighbors.some((n) => n.tq === 0), 5000, "n1 silent");
    await opened.apply({ kind: "reroute", neighbor: "n1", hopPenalty: 150 });
    const calls = async () =>
      (await readFile(fakeBatctlLog(state), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as string[]);
    expect(await calls()).toEqual(
      expect.arrayContaining([
        ["meshif", "bat0", "interface", "del", "eth0"],
        ["meshif", "bat0", "interface", "add", "eth0"],
        ["hardif", "eth0", "hop_penalty", "150"],
      ]),
    );
    expect(opened.neighborIds).toEqual(["n4"]); // batman-adv forgot n1's routes
    // The edge's reroute that follows the reflex finds n1 gone from the table: its link is penalized all the same.
    await opened.apply({ kind: "reroute", neighbor: "n1", hopPenalty: 200 });
    expect((await calls()).at(-1)).toEqual(["hardif", "eth0", "hop_penalty", "200"]);
    // n4 is heard: no interface of its leaves the mesh, and its link's penalty stays (the edge asked for it).
    await opened.apply({ kind: "reroute", neighbor: "n4", hopPenalty: 150 });
    expect(await calls()).not.toContainEqual(["meshif", "bat0", "interface", "del", "eth1"]);
    // The n0–n1 link comes back: once n1 is heard on it, its penalty goes back to what it was (0).
    penalties = (JSON.parse(await readFile(state, "utf8")) as FakeState).hardifs;
    sim.connect("n0", "n1");
    for (let i = 0; i < 3; i++) sim.tick();
    await writeLinks();
    await clock.advance(OPTIONS.refreshMs);
    await waitFor(async () => ((await calls()).at(-1) ?? []).join(" ") === "hardif eth0 hop_penalty 0", 5000, "lifted");
    const after = JSON.parse(await readFile(state, "utf8")) as FakeState;
    expect([after.hardifs.eth0?.hop_penalty, after.hardifs.eth1?.hop_penalty]).toEqual([0, 150]);
  });

  it("refuses what it cannot do on batman-adv, saying why, and changes nothing", async () => {
    freshRing();
    await writeState();
    const opened = await open(new ManualClock(Date.now()));
    await expect(opened.apply({ kind: "reroute", neighbor: "n2", hopPenalty: 150 })).rejects.toThrow(
      /n2 is not a direct neighbor/,
    );
    await expect(opened.apply({ kind: "restart_interface", interface: "mesh0" })).rejects.toThrow(/network manager/);
    await expect(opened.apply({ kind: "set_threshold", metric: "tq", value: 100 })).rejects.toThrow(/Analyze/);
    await expect(opened.apply({ kind: "isolate_source", source: "10.0.0.9", ttlSeconds: 30 })).rejects.toThrow(
      /data plane/,
    );
    const after = JSON.parse(await readFile(state, "utf8")) as { hardifs: { mesh0: { hop_penalty: number } } };
    expect(after.hardifs.mesh0.hop_penalty).toBe(0);
  });

  it("names a neighbor met on its secondary interface (its MAC there is not its originator address)", async () => {
    // As the UML lab showed: n3 sees n2 through n2's eth1, whose MAC batman-adv lists as an originator of its own.
    const [primary, secondary] = ["02:58:00:01:00:01", "02:58:00:01:01:01"];
    const route = (orig: string, tq: number) => ({
      hard_ifindex: 2,
      hard_ifname: "eth0",
      orig_address: orig,
      neigh_address: secondary,
      last_seen_msecs: 100,
      tq,
      best: true,
    });
    const table = { originators: [route(secondary, 223), route(primary, 215)], neighbors: [], gateways: [] };
    await writeFile(
      state,
      JSON.stringify({ meshifs: { bat0: { ...table, settings: {}, interfaces: ["eth0"] } }, hardifs: {} }),
    );
    const directory = new NodeDirectory();
    for (const mac of [primary, secondary]) directory.heard(mac, "n2");
    const opened = await open(new ManualClock(Date.now()), directory);
    expect(opened.sample(Date.now()).neighbors).toEqual([
      { neighbor: "n2", tq: 223, latencyMs: 0, loss: lossOfTq(223) },
    ]);
  });

  it("does not start without batctl, and says so", async () => {
    await expect(
      BatmanAdvMesh.open(new Batctl("bat0", join(dir, "no-batctl")), new NodeDirectory(), OPTIONS, silentLogger),
    ).rejects.toThrow(/not found on PATH/);
  });
});

describe("loss from TQ", () => {
  it("is 0 at TQ 255, 1 at TQ 0, and the same loss each way gives the TQ seen", () => {
    expect([lossOfTq(255), lossOfTq(0)]).toEqual([0, 1]);
    const loss = 0.2;
    expect(lossOfTq(Math.round(255 * (1 - loss) ** 2))).toBeCloseTo(loss, 2);
  });
});

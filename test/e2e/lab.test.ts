import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeTelemetry } from "../../protocol/index.js";
import { packageRoot } from "../../node-firmware/lib/package-root.js";
import { BROKER_IP, labDown, linkAddresses, startLab, type Lab } from "../../lab/lab.js";
import { parseTopology } from "../../lab/topology.js";
import { kernelTestsUnavailable } from "../helpers/kernel.js";
import { waitFor } from "../helpers/mqtt.js";

const unavailable = kernelTestsUnavailable();
const LAB_NAME = "test";
/** A namespace of the default lab's, which the tests' lab must leave alone. */
const BYSTANDER = "x0lab-bystander";

/** Program ids of the XDP programs attached in a lab namespace. */
function attachedPrograms(lab: Lab, id: string): Promise<number[]> {
  return lab
    .exec(lab.namespaces.node(id), "ip", "-j", "link", "show")
    .then((out) =>
      (JSON.parse(out) as { xdp?: { prog?: { id: number } } }[]).flatMap((l) => (l.xdp?.prog ? [l.xdp.prog.id] : [])),
    );
}
const loadedPrograms = () =>
  (JSON.parse(execFileSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" })) as { id: number }[]).map(
    (p) => p.id,
  );

describe.skipIf(unavailable !== null)(
  `the mesh lab (namespaces, veths, real agents with XDP)${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let lab: Lab;
    let dir: string;
    const output: string[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "x0-lab-"));
      execFileSync("gcc", ["-O2", "-o", join(dir, "udp-flood"), join(packageRoot(), "bench", "native", "udp-flood.c")]);
      // A lab of its own name: an operator's lab on this machine is neither in the way nor taken down.
      lab = await startLab({
        topology: await parseTopology("line:3"),
        name: LAB_NAME,
        stateDir: dir,
        print: (line) => output.push(line),
      });
    });

    afterAll(async () => {
      await lab.stop();
      await rm(dir, { recursive: true, force: true });
    });

    /** n2's next `count` samples, read by mosquitto_sub in the core namespace, and when it listens. */
    function telemetryOfN2(count: number): { subscribed: Promise<void>; samples: Promise<NodeTelemetry[]> } {
      // -d prints the client's protocol steps (line-buffered by stdbuf): its SUBACK says it listens.
      const sub = spawn("ip", [
        ...["netns", "exec", lab.namespaces.core, "stdbuf", "-oL", "mosquitto_sub", "-d", "-h", BROKER_IP],
        ...["-t", "x0/v1/nodes/n2/telemetry", "-C", String(count), "-W", "20"],
      ]);
      let out = "";
      const exited = new Promise<void>((resolve) =>
        sub.once("exit", () => {
          resolve();
        }),
      );
      const subscribed = new Promise<void>((resolve) => {
        sub.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("received SUBACK")) resolve();
        });
        void exited.then(resolve);
      });
      const samples = exited.then(() =>
        out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => NodeTelemetry.parse(JSON.parse(l))),
      );
      return { subscribed, samples };
    }

    it("runs an agent per namespace with xdp_guard on its links, reporting in telemetry", async () => {
      await waitFor(
        async () => (await telemetryOfN2(1).samples)[0]?.dataplane?.kind === "xdp",
        30_000,
        `n2 on XDP; output:\n${output.join("\n")}`,
      );
      const [sample] = await telemetryOfN2(1).samples;
      expect(sample?.dataplane).toMatchObject({ kind: "xdp", xdpMode: "native", blocklistSize: 0 });
      expect(sample?.neighbors.map((n) => n.neighbor)).toEqual(["n1", "n3"]);
      // The pings between neighbors are real traffic through XDP.
      expect(sample?.dataplane?.sources.map((s) => s.source)).toEqual(
        expect.arrayContaining([linkAddresses(0)[0], linkAddresses(1)[1]]),
      );
      expect(sample?.dataplane?.packets?.ipv4).toBeGreaterThan(0);
    });

    it("discovers neighbors over mDNS on each link: node id, SPIFFE ID, firmware", async () => {
      const found = () => output.filter((l) => l.startsWith("[n2] info peer discovered"));
      await waitFor(() => found().length >= 2, 15_000, `n2 finds n1 and n3; output:\n${output.join("\n")}`);
      expect(found().join("\n")).toMatch(
        /nodeId=n1 spiffeId=spiffe:\/\/x0tta6bl4\.mesh\/node\/n1 firmware=\d+\.\d+\.\d+ attested=false address=10\.200\.0\.1 interface=to-n1/,
      );
      expect(found().join("\n")).toMatch(/nodeId=n3 .* address=10\.200\.1\.2 interface=to-n3/);
      // mDNS is link-local: n1 and n3 share no link, so they do not see each other.
      expect(output.some((l) => l.startsWith("[n1] info peer discovered") && l.includes("nodeId=n3"))).toBe(false);
    });

    it("isolates a flood from n1 in n2's XDP within one monitor interval, seen in counters and telemetry", async () => {
      const [n1OnLink] = linkAddresses(0);
      const watching = telemetryOfN2(5);
      await watching.subscribed;
      const floodStart = Date.now();
      await lab.exec(lab.namespaces.node("n1"), join(dir, "udp-flood"), linkAddresses(0)[1], "9", "3");
      const samples = await watching.samples;
      const reflexSample = samples.find((s) =>
        s.reflexes?.some((r) => r.kind === "isolate_source" && r.source === n1OnLink),
      );
      expect(reflexSample, JSON.stringify(samples.map((s) => s.dataplane))).toBeDefined();
      const reflex = reflexSample?.reflexes?.find((r) => r.kind === "isolate_source");
      console.log(
        `[measure] lab flood (udp, ${String(reflex?.kind === "isolate_source" ? Math.round(reflex.packetsPerS) : 0)} packets/s) isolated by n2's reflex ${String((reflex?.ts ?? 0) - floodStart)} ms after it began (interval 1000 ms)`,
      );
      expect((reflex?.ts ?? Infinity) - floodStart).toBeLessThan(1000 + 300);
      const after = samples.at(-1);
      expect(after?.dataplane?.blocklistSize).toBe(1);
      expect(after?.dataplane?.dropped.blocked).toBeGreaterThan(1000);
      expect(after?.dataplane?.sources.find((s) => s.source === n1OnLink)?.blocked).toBe(true);
    });

    it("cleans up after a crash: `down` removes the namespaces and the programs a killed agent left attached", async () => {
      const programs = await attachedPrograms(lab, "n2");
      expect(programs.length).toBe(2); // one program, attached to both of n2's links
      const n2 = lab.agents.get("n2")?.child;
      const exited = new Promise((resolve) => n2?.once("exit", resolve));
      n2?.kill("SIGKILL");
      await exited;
      expect(loadedPrograms()).toEqual(expect.arrayContaining(programs)); // still attached: nobody detached it
      execFileSync("ip", ["netns", "add", BYSTANDER]); // as if an operator's lab ran beside the tests
      try {
        await labDown(LAB_NAME);
        const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
        expect(left).not.toMatch(/x0lab\.test-/);
        expect(left).toContain(BYSTANDER);
      } finally {
        execFileSync("ip", ["netns", "del", BYSTANDER]);
      }
      await waitFor(
        () => programs.every((id) => !loadedPrograms().includes(id)),
        5000,
        "programs freed with their interfaces",
      );
    });
  },
);

import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultObjectPath } from "../../node-firmware/dataplane/open.js";
import { XdpGuard } from "../../node-firmware/ebpf/xdp-guard.js";
import { silentLogger } from "../../node-firmware/lib/log.js";
import { kernelTestsUnavailable, peerNamespace } from "../helpers/kernel.js";
import { waitFor } from "../helpers/mqtt.js";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)(
  `xdp_guard on a veth path between namespaces${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    const pinRoot = "/sys/fs/bpf/x0tta6bl4-nstest";
    let peer: ReturnType<typeof peerNamespace>;
    let guard: XdpGuard;
    let programId: number | undefined;

    beforeAll(() => {
      execFileSync("make", ["-s", "-C", "bpf"]);
      peer = peerNamespace(`x0n${String(process.pid % 10000)}`, "10.250.7");
    });

    afterAll(() => {
      peer.remove();
      execFileSync("rm", ["-rf", pinRoot]);
    });

    const ping = () => {
      try {
        peer.exec("ping", "-c", "1", "-W", "1", peer.hostIp);
        return true;
      } catch {
        return false;
      }
    };
    /** Ids of the xdp_guard programs loaded now (other test files may hold their own). */
    const loaded = () =>
      (
        JSON.parse(execFileSync("bpftool", ["-j", "prog", "show"], { encoding: "utf8" })) as {
          id: number;
          name?: string;
        }[]
      )
        .filter((p) => p.name === "xdp_guard")
        .map((p) => p.id);
    const attachedId = () =>
      (
        JSON.parse(execFileSync("bpftool", ["-j", "net", "show", "dev", peer.hostIf], { encoding: "utf8" })) as {
          xdp: { id: number }[];
        }[]
      )[0]?.xdp[0]?.id;

    it("ping passes with the guard attached, fails while the source is isolated, passes again once the TTL runs out", async () => {
      guard = await XdpGuard.attach(
        { interfaces: [peer.hostIf], objectPath: defaultObjectPath(), pinRoot },
        silentLogger,
      );
      programId = attachedId();
      expect(loaded()).toContain(programId);
      expect(ping()).toBe(true);
      await guard.isolate(peer.peerIp, 2);
      const isolatedAt = Date.now();
      expect(ping()).toBe(false);
      const { sources } = await guard.snapshot();
      expect(sources.find((s) => s.source === peer.peerIp)?.dropped).toBeGreaterThan(0);
      // The program compares the entry's expiry with the kernel's clock: wait for the ping to pass.
      await waitFor(ping, 5000, "ping to pass once the 2 s TTL ran out");
      expect(Date.now() - isolatedAt).toBeGreaterThan(1900); // not before (isolatedAt is taken just after the entry)
      expect((await guard.snapshot()).blocked.size).toBe(0);
    });

    it("detaches and unpins on close: nothing of ours stays in the kernel", async () => {
      await guard.close();
      expect(
        JSON.parse(execFileSync("bpftool", ["-j", "net", "show", "dev", peer.hostIf], { encoding: "utf8" })),
      ).toEqual([{ xdp: [], tc: [], flow_dissector: [] }]);
      expect(loaded()).not.toContain(programId);
    });

    it("removes a crashed run's attached program and pins before it loads again", async () => {
      const first = await XdpGuard.attach(
        { interfaces: [peer.hostIf], objectPath: defaultObjectPath(), pinRoot },
        silentLogger,
      );
      // No close: as if the agent had been killed. The next start cleans up after it.
      const crashed = attachedId();
      const second = await XdpGuard.attach(
        { interfaces: [peer.hostIf], objectPath: defaultObjectPath(), pinRoot },
        silentLogger,
      );
      expect(first.xdpMode).toBe(second.xdpMode);
      const replacement = attachedId();
      expect(replacement).not.toBe(crashed);
      expect(loaded()).not.toContain(crashed);
      await second.close();
      expect(loaded()).not.toContain(replacement);
    });
  },
);

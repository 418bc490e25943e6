import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultObjectPath } from "../../node-firmware/dataplane/open.js";
import { bpftool, dumpMap, updateCommand, bpftoolBatch } from "../../node-firmware/ebpf/bpftool.js";
import { attachedXdp } from "../../node-firmware/ebpf/kernel.js";
import { XdpGuard } from "../../node-firmware/ebpf/xdp-guard.js";
import {
  XG_COUNTERS,
  XG_MAPS,
  XG_STRUCTS,
  decodeLimit,
  decodeSource,
  encodeBlock,
  encodeLimit,
  encodeSource,
  type XgCounter,
} from "../../node-firmware/ebpf/xdp-guard-layout.js";
import { silentLogger } from "../../node-firmware/lib/log.js";
import { frames, type Frame } from "../helpers/frames.js";
import { btfTypes, kernelTestsUnavailable, structLayouts, vethPair } from "../helpers/kernel.js";

const unavailable = kernelTestsUnavailable();
const XDP_DROP = 1;
const XDP_PASS = 2;

describe.skipIf(unavailable !== null)(
  `xdp_guard in the kernel${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    const pinRoot = "/sys/fs/bpf/x0tta6bl4-test";
    let veth: ReturnType<typeof vethPair>;
    let guard: XdpGuard;
    let dir: string;

    beforeAll(async () => {
      execFileSync("make", ["-s", "-C", "bpf"]);
      veth = vethPair(`x0g${String(process.pid % 10000)}`);
      guard = await XdpGuard.attach({ interfaces: [veth.a], objectPath: defaultObjectPath(), pinRoot }, silentLogger);
      dir = await mkdtemp(join(tmpdir(), "x0-xdp-"));
    });

    afterAll(async () => {
      await guard.close();
      veth.remove();
      await rm(dir, { recursive: true, force: true });
      await rm(pinRoot, { recursive: true, force: true });
    });

    const map = (name: string) => join(pinRoot, veth.a, "maps", name);

    /** BPF_PROG_TEST_RUN on the pinned program: its return code. */
    async function run(bytes: Uint8Array): Promise<number> {
      const file = join(dir, "frame.bin");
      await writeFile(file, bytes);
      const result = (await bpftool([
        "prog",
        "run",
        "pinned",
        join(pinRoot, veth.a, "prog"),
        "data_in",
        file,
        "repeat",
        "1",
      ])) as { retval: number };
      return result.retval;
    }

    /** Runs a frame and returns its verdict and how each global counter moved. */
    async function effect(bytes: Uint8Array): Promise<{ verdict: number; moved: Partial<Record<XgCounter, number>> }> {
      const before = await guard.counters();
      const verdict = await run(bytes);
      const after = await guard.counters();
      const moved = Object.fromEntries(
        XG_COUNTERS.filter((c) => after[c] !== before[c]).map((c) => [c, after[c] - before[c]]),
      );
      return { verdict, moved };
    }

    async function sourceStats(source: string) {
      const { sources } = await guard.snapshot();
      return sources.find((s) => s.source === source);
    }

    it("follows the header's layouts exactly (BTF of the built object, and the counter enum)", () => {
      expect(structLayouts(btfTypes(defaultObjectPath()), XG_STRUCTS)).toEqual(XG_STRUCTS);
      // The enum is only used as constants, so BTF has no trace of it: read it from the header.
      const body = /enum xg_counter \{([^}]*)\}/.exec(readFileSync("bpf/xdp_guard.h", "utf8"))?.[1] ?? "";
      const names = [...body.matchAll(/^\s*XG_([A-Z0-9_]+)/gm)]
        .map((m) => m[1] as string)
        .filter((n) => n !== "COUNTERS");
      const camel = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      expect(names.map(camel)).toEqual([...XG_COUNTERS]);
    });

    it("attached in native mode on veth and reports it", async () => {
      expect(guard.xdpMode).toBe("native");
      expect(await attachedXdp(veth.a)).toEqual({ name: "xdp_guard", mode: "native" });
    });

    it("passes and counts IPv4, IPv4 in a VLAN, IPv6, ARP and batman-adv frames", async () => {
      expect(await effect(frames.ipv4("10.1.0.1").bytes)).toEqual({ verdict: XDP_PASS, moved: { ipv4: 1 } });
      expect(await effect(frames.ipv4("10.1.0.2", true).bytes)).toEqual({ verdict: XDP_PASS, moved: { ipv4: 1 } });
      expect(await effect(frames.ipv6("fd00:0:0:0:0:0:0:7").bytes)).toEqual({ verdict: XDP_PASS, moved: { ipv6: 1 } });
      expect(await effect(frames.arp().bytes)).toEqual({ verdict: XDP_PASS, moved: { other: 1 } });
      expect(await effect(frames.batadv().bytes)).toEqual({ verdict: XDP_PASS, moved: { batadv: 1 } });
      const frame = frames.ipv4("10.1.0.1");
      expect(await sourceStats("10.1.0.1")).toEqual({
        source: "10.1.0.1",
        packets: 1,
        bytes: frame.bytes.length,
        dropped: 0,
      });
      expect(await sourceStats("fd00::7")).toMatchObject({ packets: 1 });
    });

    it("reports what it counted by protocol in its snapshot, which telemetry and /metrics carry", async () => {
      const before = (await guard.snapshot()).packets;
      await run(frames.ipv6("fd00:0:0:0:0:0:0:8").bytes);
      await run(frames.batadv().bytes);
      await run(frames.batadv().bytes);
      const after = (await guard.snapshot()).packets;
      expect(before).toBeDefined();
      expect(after).toEqual({ ...before, ipv6: (before?.ipv6 ?? 0) + 1, batadv: (before?.batadv ?? 0) + 2 });
    });

    it("passes a frame cut anywhere inside a header and counts it as truncated (the kernel refuses frames under 14 bytes)", async () => {
      const cases: Frame[] = [
        frames.ipv4("10.1.0.3"),
        frames.ipv4("10.1.0.3", true),
        frames.ipv6("fd00:0:0:0:0:0:0:3"),
      ];
      for (const frame of cases) {
        const end = frame.headerEnds.at(-1) as number;
        for (let length = 14; length < end; length++) {
          expect(await effect(frame.bytes.subarray(0, length)), `cut at ${String(length)} of ${String(end)}`).toEqual({
            verdict: XDP_PASS,
            moved: { truncated: 1 },
          });
        }
      }
      await expect(run(frames.ipv4("10.1.0.3").bytes.subarray(0, 13))).rejects.toThrow(/Invalid argument/);
      expect(await sourceStats("10.1.0.3")).toBeUndefined();
    });

    it("drops a blocklisted source until its entry expires, then deletes the entry in the kernel", async () => {
      await guard.isolate("10.1.0.4", 60);
      expect(await effect(frames.ipv4("10.1.0.4").bytes)).toEqual({
        verdict: XDP_DROP,
        moved: { ipv4: 1, droppedBlocked: 1 },
      });
      expect(await effect(frames.ipv4("10.1.0.5").bytes)).toEqual({ verdict: XDP_PASS, moved: { ipv4: 1 } });
      expect(await sourceStats("10.1.0.4")).toMatchObject({ packets: 1, dropped: 1 });
      expect([...(await guard.snapshot()).blocked]).toEqual(["10.1.0.4"]);

      // An entry whose time has passed: the program passes the packet and removes it.
      await bpftoolBatch([
        updateCommand(map(XG_MAPS.blocklist), encodeSource("10.1.0.6"), encodeBlock(process.hrtime.bigint() - 1n)),
      ]);
      expect(await effect(frames.ipv4("10.1.0.6").bytes)).toEqual({ verdict: XDP_PASS, moved: { ipv4: 1 } });
      expect((await dumpMap(map(XG_MAPS.blocklist))).map((e) => decodeSource(e.key))).toEqual(["10.1.0.4"]);
    });

    it("rate-limits a source with a token bucket: the burst passes, the rest drops", async () => {
      await bpftoolBatch([
        updateCommand(
          map(XG_MAPS.limits),
          encodeSource("10.1.0.8"),
          encodeLimit({ packetsPerSecond: 1, burst: 3, expiresNs: process.hrtime.bigint() + 60_000_000_000n }),
        ),
      ]);
      for (let i = 0; i < 3; i++)
        expect(await effect(frames.ipv4("10.1.0.8").bytes)).toEqual({ verdict: XDP_PASS, moved: { ipv4: 1 } });
      expect(await effect(frames.ipv4("10.1.0.8").bytes)).toEqual({
        verdict: XDP_DROP,
        moved: { ipv4: 1, droppedRate: 1 },
      });
      expect(await sourceStats("10.1.0.8")).toMatchObject({ packets: 4, dropped: 1 });
      expect((await guard.snapshot()).rateLimitedSources).toBe(1);
    });

    it("carries out rate_limit through the map: a bucket one second deep at the given rate, with its TTL", async () => {
      await guard.rateLimit("10.1.0.9", 2, 60);
      const verdicts = [];
      for (let i = 0; i < 3; i++) verdicts.push((await effect(frames.ipv4("10.1.0.9").bytes)).verdict);
      expect(verdicts).toEqual([XDP_PASS, XDP_PASS, XDP_DROP]);
      const [entry] = (await dumpMap(map(XG_MAPS.limits))).filter((e) => decodeSource(e.key) === "10.1.0.9");
      const limit = decodeLimit(entry?.value ?? new Uint8Array(48));
      expect(limit).toMatchObject({ packetsPerSecond: 2, burst: 2 });
      const ttlLeft = Number(limit.expiresNs - process.hrtime.bigint()) / 1e9;
      expect(ttlLeft).toBeGreaterThan(55);
      expect(ttlLeft).toBeLessThanOrEqual(60);
    });

    it("writes many blocklist entries in one batch", async () => {
      const sources = Array.from({ length: 300 }, (_, i) => `10.2.${String(i >> 8)}.${String(i & 0xff)}`);
      await guard.block(sources.map((source) => ({ source, ttlSeconds: 60 })));
      expect((await guard.snapshot()).blocked.size).toBe(301);
      expect((await guard.snapshot()).rateLimitedSources).toBe(2);
    });

    it.each([900, 1100, 1500])(
      "holds the configured rate within 5 percent with packets %i µs apart (no refill lost between them)",
      async (spacingUs) => {
        const driver = join(dir, "paced-run");
        execFileSync("cc", [
          "-O2",
          "-Wall",
          "-Werror",
          "-o",
          driver,
          join(import.meta.dirname, "native", "paced-run.c"),
          "-lbpf",
        ]);
        const source = `10.1.1.${String(spacingUs % 251)}`;
        const rate = 400;
        const burst = 20;
        await bpftoolBatch([
          updateCommand(
            map(XG_MAPS.limits),
            encodeSource(source),
            encodeLimit({ packetsPerSecond: rate, burst, expiresNs: process.hrtime.bigint() + 60_000_000_000n }),
          ),
        ]);
        const file = join(dir, `frame-${String(spacingUs)}.bin`);
        await writeFile(file, frames.ipv4(source).bytes);
        const out = execFileSync(driver, [join(pinRoot, veth.a, "prog"), file, String(spacingUs), "2000"], {
          encoding: "utf8",
        });
        // Offered at 667 to 1111 packets/s, well above the limit.
        const { passed, elapsedNs } = JSON.parse(out) as { passed: number; elapsedNs: number };
        const enforced = (passed - burst) / (elapsedNs / 1e9);
        console.log(
          `[measure] xdp_guard at ${String(spacingUs)} µs spacing: ${enforced.toFixed(1)} of ${String(rate)} pps enforced`,
        );
        expect(Math.abs(enforced / rate - 1), `enforced ${enforced.toFixed(1)} pps of ${String(rate)}`).toBeLessThan(
          0.05,
        );
      },
    );
  },
);

import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, mkdir, readFile, rm, rmdir } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../node-firmware/lib/package-root.js";
import { TcpHealth, openTcpHealth } from "../../node-firmware/ebpf/tcp-health.js";
import { readTcpHealth } from "../../node-firmware/monitor/tcp.js";
import { TcpDestinationReading } from "../../protocol/index.js";
import { TH_STRUCTS, medianRttUs } from "../../node-firmware/ebpf/tcp-health-layout.js";
import { silentLogger } from "../../node-firmware/lib/log.js";
import { btfTypes, kernelTestsUnavailable, structLayouts } from "../helpers/kernel.js";

const unavailable = kernelTestsUnavailable();
const objectPath = join(packageRoot(), "bpf", "tcp_health.bpf.o");

describe.skipIf(unavailable !== null)(
  `tcp_health on a cgroup's sockets${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    const pinRoot = `/sys/fs/bpf/x0tta6bl4-th-${String(process.pid)}`;
    let mountedAt: string | undefined;
    let cgroup: string;
    let server: Server;
    let port: number;
    let health: TcpHealth;

    beforeAll(async () => {
      execFileSync("make", ["-s", "-C", "bpf"]);
      const mounts = await readFile("/proc/mounts", "utf8");
      let root = mounts
        .split("\n")
        .find((l) => l.split(" ")[2] === "cgroup2")
        ?.split(" ")[1];
      if (!root) {
        mountedAt = await mkdtemp(join(tmpdir(), "x0-cg2-"));
        execFileSync("mount", ["-t", "cgroup2", "none", mountedAt]);
        root = mountedAt;
      }
      cgroup = join(root, `x0th-${String(process.pid)}`);
      await mkdir(cgroup);
      server = createServer((socket) => socket.pipe(socket));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as { port: number }).port;
      // As the agent opens it from `[tcpHealth]` (the object next to the firmware).
      const opened = await openTcpHealth({ cgroup, pinRoot }, silentLogger);
      if (!opened) throw new Error("tcp_health did not attach");
      health = opened;
    });

    afterAll(async () => {
      await health.close();
      server.close();
      try {
        execFileSync("nft", ["delete", "table", "inet", "x0th"], { stdio: "ignore" });
      } catch {
        /* not there */
      }
      await rmdir(cgroup).catch(() => undefined);
      if (mountedAt) {
        execFileSync("umount", [mountedAt]);
        await rm(mountedAt, { recursive: true, force: true });
      }
    });

    /** A client in the cgroup sends `kib` KiB through the echo server and waits for all of it back. */
    async function exchange(kib: number): Promise<void> {
      const client = `const s=require("net").connect(${String(port)},"127.0.0.1",()=>{let n=0;s.on("data",d=>{n+=d.length;if(n>=${String(kib * 1024)})s.end()});for(let i=0;i<${String(kib)};i++)s.write(Buffer.alloc(1024,120))});`;
      const child = spawn("sh", ["-c", `echo $$ > ${cgroup}/cgroup.procs && exec ${process.execPath} -e '${client}'`], {
        stdio: "ignore",
      });
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(0);
    }

    it("follows the header's layouts exactly (BTF of the built object)", () => {
      expect(structLayouts(btfTypes(objectPath), TH_STRUCTS)).toEqual(TH_STRUCTS);
    });

    it("builds a smoothed-RTT histogram per destination from the cgroup's connections", async () => {
      await exchange(256);
      const local = (await health.read()).find((d) => d.destination === "127.0.0.1");
      expect(local?.rttSamples).toBeGreaterThan(0);
      expect(local?.rttBuckets.reduce((a, b) => a + b, 0)).toBe(local?.rttSamples);
      const median = local ? medianRttUs(local) : null;
      expect(median).toBeGreaterThanOrEqual(1);
      expect(median).toBeLessThan(2 ** 20); // loopback: well under a second
    });

    it("counts retransmitted segments per destination when the path loses packets", async () => {
      const before = (await health.read()).find((d) => d.destination === "127.0.0.1")?.retransmits ?? 0;
      execFileSync("nft", ["add", "table", "inet", "x0th"]);
      execFileSync("nft", ["add", "chain", "inet", "x0th", "in", "{ type filter hook input priority 0 ; }"]);
      execFileSync("nft", [
        "add",
        "rule",
        "inet",
        "x0th",
        "in",
        "tcp",
        "dport",
        String(port),
        "numgen",
        "inc",
        "mod",
        "3",
        "0",
        "drop",
      ]);
      await exchange(2048);
      execFileSync("nft", ["delete", "table", "inet", "x0th"]);
      const after = (await health.read()).find((d) => d.destination === "127.0.0.1")?.retransmits ?? 0;
      expect(after).toBeGreaterThan(before);
    });

    it("goes into telemetry: the busiest destinations, their median RTT and retransmits, as the contract has them", async () => {
      await exchange(64);
      const readings = await readTcpHealth(health);
      const local = readings.find((r) => r.destination === "127.0.0.1");
      expect(local?.rttSamples).toBeGreaterThan(0);
      expect(local?.medianRttUs).toBeGreaterThan(0);
      expect(TcpDestinationReading.array().parse(readings)).toEqual(readings);
    });

    it("leaves the node without TCP figures, not without a start, where it cannot attach", async () => {
      expect(
        await openTcpHealth({ cgroup: join(tmpdir(), "no-such-cgroup"), pinRoot: `${pinRoot}-x` }, silentLogger),
      ).toBe(undefined);
    });

    it("detaches on close: the cgroup runs no program of ours", async () => {
      await health.close();
      expect(
        JSON.parse(execFileSync("bpftool", ["-j", "cgroup", "show", cgroup], { encoding: "utf8" }).trim() || "[]"),
      ).toEqual([]);
      health = await TcpHealth.attach({ cgroup, objectPath, pinRoot }, silentLogger); // for afterAll
    });
  },
);

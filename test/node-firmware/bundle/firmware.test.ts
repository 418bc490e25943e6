import { execFile, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeTelemetry, RELEASE, topics } from "../../../protocol/index.js";
import type { EmbeddedBroker } from "../../../node-firmware/mqtt/broker.js";
import { exactly } from "../../helpers/contract.js";
import { ROOT, startControlPlane, type ControlPlane } from "../../helpers/control-plane.js";
import { collect, connectClient, startBroker, waitFor } from "../../helpers/mqtt.js";
import { useTempDirs } from "../../helpers/tmp.js";

const run = promisify(execFile);
const dir = useTempDirs("x0-firmware-");

interface Manifest {
  name: string;
  version: string;
  entry: string;
  platforms: string[];
  files: { path: string; bytes: number; sha256: string }[];
}

/**
 * The firmware as it ships (`npm run build:firmware`): built into a folder, copied where no
 * node_modules is within reach, and run as a node against the real edge in workerd and a broker.
 */
let out: string;
let controlPlane: ControlPlane;
let broker: EmbeddedBroker;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "x0-firmware-build-"));
  await run("npm", ["run", "--silent", "build:firmware", "--", out], { timeout: 120_000 });
  [controlPlane, broker] = await Promise.all([startControlPlane(), startBroker()]);
}, 120_000);

afterAll(async () => {
  await broker.close();
  await controlPlane.dispose();
  await rm(out, { recursive: true, force: true });
});

/** Node.js 20 for linux-arm64 and its glibc, prepared by scripts/arm64-runtime.sh (system-deps, as root). */
const ARM64 = join(ROOT, ".x0", "cache", "arm64");
const ARM64_NODE = ["-L", join(ARM64, "sysroot"), join(ARM64, "node", "bin", "node")];
const arm64Unavailable =
  spawnSync("sh", ["-c", "command -v qemu-aarch64-static"]).status !== 0
    ? "qemu-aarch64-static not found (Debian package qemu-user-static)"
    : existsSync(join(ARM64, "node", "bin", "node"))
      ? null
      : "no arm64 Node.js: run scripts/arm64-runtime.sh as root";

/**
 * Copies the firmware where no node_modules is within reach and runs it as node `nodeId` (with
 * `runner` before the Node.js command, if any) against the edge and the broker: it must attest
 * and publish telemetry that is exactly the contract.
 */
async function runShipped(nodeId: string, runner: string[]): Promise<void> {
  const shipped = await dir();
  await cp(out, shipped, { recursive: true });
  const [command = process.execPath, ...prefix] = runner.length > 0 ? runner : [process.execPath];
  const { stdout } = await run(command, [...prefix, join(shipped, "x0-node.mjs"), "--version"], { timeout: 60_000 });
  expect(stdout.trim()).toBe(RELEASE);
  const watcher = await connectClient(broker.port, `watcher-${nodeId}`);
  const seen = collect(watcher);
  await watcher.subscribeAsync(topics.telemetry(nodeId), { qos: 1 });
  const config = join(shipped, "node.json");
  await writeFile(
    config,
    JSON.stringify({
      nodeId,
      role: "node",
      broker: { url: `mqtt://127.0.0.1:${String(broker.port)}`, keepaliveS: 5 },
      telemetry: { intervalMs: 200 },
      mesh: { backend: "simulated", peers: [nodeId, "bundle-peer"] },
      identity: {
        edgeUrl: controlPlane.url,
        stateDir: join(shipped, "state"),
        joinToken: await controlPlane.joinToken(nodeId),
      },
    }),
  );
  const agent = spawn(command, [...prefix, join(shipped, "x0-node.mjs"), "--config", config], {
    cwd: shipped,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  agent.stdout.on("data", (chunk: Buffer) => (log += chunk.toString()));
  agent.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
  try {
    // Over plain MQTT the node publishes while it attests: wait for both.
    await waitFor(
      () => seen.length >= 2 && log.includes('"msg":"SVID issued"'),
      90_000,
      `${nodeId} attested, publishing`,
    );
    const sample = exactly(NodeTelemetry, JSON.parse(seen[0]?.payload ?? ""));
    expect(sample).toMatchObject({ nodeId, firmware: RELEASE });
  } finally {
    const exited = new Promise((resolve) => agent.once("exit", resolve));
    agent.kill("SIGTERM");
    await exited;
    await watcher.endAsync(true);
  }
}

describe("the shipped firmware (npm run build:firmware)", () => {
  it("is one bundle and the BPF objects, each file in the manifest with its size and sha256, nothing else", async () => {
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as Manifest;
    expect(manifest).toMatchObject({ name: "x0-node", version: RELEASE, entry: "x0-node.mjs" });
    expect(manifest.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    const entries = await readdir(out, { recursive: true, withFileTypes: true });
    const onDisk = entries.filter((e) => e.isFile()).map((e) => relative(out, join(e.parentPath, e.name)));
    expect(manifest.files.map((f) => f.path).sort()).toEqual(onDisk.filter((p) => p !== "manifest.json").sort());
    expect(onDisk).toEqual(expect.arrayContaining(["x0-node.mjs", "bpf/xdp_guard.bpf.o", "bpf/tcp_health.bpf.o"]));
    for (const file of manifest.files) {
      const bytes = await readFile(join(out, file.path));
      expect([bytes.length, createHash("sha256").update(bytes).digest("hex")], file.path).toEqual([
        file.bytes,
        file.sha256,
      ]);
    }
  });

  it("runs on its own: attests against the edge and publishes telemetry, with no node_modules in reach", async () => {
    await runShipped("bundle-amd64", []);
  }, 60_000);

  it.skipIf(arm64Unavailable !== null)(
    `runs on arm64 (Node.js 20 for linux-arm64 under qemu-user): attests and publishes${arm64Unavailable ? ` (skipped: ${arm64Unavailable})` : ""}`,
    async () => {
      const { stdout } = await run("qemu-aarch64-static", [...ARM64_NODE, "-e", "process.stdout.write(process.arch)"]);
      expect(stdout).toBe("arm64");
      await runShipped("bundle-arm64", ["qemu-aarch64-static", ...ARM64_NODE]);
    },
    120_000,
  );
});

import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { DiskQueue } from "../../../node-firmware/buffer/disk-queue.js";
import { waitFor } from "../../helpers/mqtt.js";
import { useTempDirs } from "../../helpers/tmp.js";

const dir = useTempDirs("x0-queue-");

describe("DiskQueue killed", () => {
  it("loses nothing it resolved when its process is killed (SIGKILL) mid-stream", async () => {
    const d = await dir();
    const script = `
      const { DiskQueue } = await import(${JSON.stringify(pathToFileURL(join(process.cwd(), "dist/node-firmware/buffer/disk-queue.js")).href)});
      const q = await DiskQueue.open({ dir: process.argv[1], maxItems: 1e7, itemsPerSegment: 500 });
      for (let i = 0; ; i++) { await q.push(i); if (i % 50 === 0) process.stdout.write(i + "\\n"); }`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, d], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let confirmed = -1;
    child.stdout.on("data", (chunk: Buffer) => {
      confirmed = Math.max(confirmed, ...chunk.toString().trim().split("\n").map(Number));
    });
    await waitFor(() => confirmed >= 3000, 20_000);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const q = await DiskQueue.open<number>({ dir: d, maxItems: 1e7 });
    const items = (await q.peek(1e7)).items;
    expect(items.length).toBeGreaterThan(confirmed);
    expect(items).toEqual(Array.from({ length: items.length }, (_, i) => i));
  });
});

import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DiskQueue } from "../../../node-firmware/buffer/disk-queue.js";
import { waitFor } from "../../helpers/mqtt.js";
import { useTempDirs } from "../../helpers/tmp.js";

const dir = useTempDirs("x0-queue-");

describe("DiskQueue", () => {
  it("acks by position, so a drop while items are in flight never acks items that were not sent", async () => {
    const q = await DiskQueue.open<number>({ dir: await dir(), maxItems: 8, itemsPerSegment: 4 });
    for (let i = 0; i < 8; i++) await q.push(i);
    const inFlight = await q.peek(2); // 0, 1 being sent…
    for (let i = 8; i < 12; i++) await q.push(i); // …while new items push the oldest segment out
    expect(q.stats.dropped).toBe(4);
    await q.ackThrough(inFlight);
    expect((await q.peek(100)).items).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(q.stats.dropped).toBe(2); // 0 and 1 did get through
  });

  it("keeps order across segments, acks, and a reopen (a restart)", async () => {
    const d = await dir();
    const q = await DiskQueue.open<number>({ dir: d, maxItems: 100, itemsPerSegment: 4 });
    for (let i = 0; i < 10; i++) await q.push(i);
    const first = await q.peek(3);
    expect(first.items).toEqual([0, 1, 2]);
    await q.ackThrough(first);
    expect((await q.peek(100)).items).toEqual([3, 4, 5, 6, 7, 8, 9]);
    const reopened = await DiskQueue.open<number>({ dir: d, maxItems: 100, itemsPerSegment: 4 });
    expect(reopened.size).toBe(7);
    const rest = await reopened.peek(100);
    expect(rest.items).toEqual([3, 4, 5, 6, 7, 8, 9]);
    await reopened.ackThrough(rest);
    expect(reopened.size).toBe(0);
    await reopened.push(42);
    expect((await reopened.peek(10)).items).toEqual([42]);
  });

  it("keeps the order pushes were made in when they overlap, on disk and in memory", async () => {
    const d = await dir();
    const q = await DiskQueue.open<string>({ dir: d, maxItems: 1000, itemsPerSegment: 4 });
    const items = Array.from({ length: 40 }, (_, i) => `${String(i)}:${"x".repeat((i * 7919) % 5000)}`);
    await Promise.all(items.map((item) => q.push(item)));
    expect((await q.peek(100)).items).toEqual(items);
    const reopened = await DiskQueue.open<string>({ dir: d, maxItems: 1000, itemsPerSegment: 4 });
    expect((await reopened.peek(100)).items).toEqual(items);
  });

  it("drops the oldest past the bound and counts every item lost", async () => {
    const q = await DiskQueue.open<number>({ dir: await dir(), maxItems: 8, itemsPerSegment: 4 });
    for (let i = 0; i < 20; i++) await q.push(i);
    const kept = (await q.peek(100)).items;
    expect(kept.at(-1)).toBe(19);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(q.stats.dropped + kept.length).toBe(20);
    expect(q.size).toBe(kept.length);
    expect(q.size).toBeLessThanOrEqual(8);
  });
});

describe("DiskQueue after a crash", () => {
  const segment = (d: string) => join(d, "000000000001.jsonl");

  it("sets aside a torn last line (no newline), counts it, and goes on in order", async () => {
    const d = await dir();
    await writeFile(segment(d), '"a"\n"b"\n"c');
    const q = await DiskQueue.open<string>({ dir: d, maxItems: 100 });
    expect(q.stats.setAside).toBe(1);
    expect(q.size).toBe(2);
    await q.push("d");
    expect((await q.peek(10)).items).toEqual(["a", "b", "d"]);
    const [aside] = await readdir(join(d, "torn"));
    expect(await readFile(join(d, "torn", aside as string), "utf8")).toBe('"c\n');
    await q.close();
    expect((await (await DiskQueue.open<string>({ dir: d, maxItems: 100 })).peek(10)).items).toEqual(["a", "b", "d"]);
  });

  it("sets aside a tail of zeros (the file grew before its data landed)", async () => {
    const d = await dir();
    await writeFile(segment(d), Buffer.concat([Buffer.from('"a"\n'), Buffer.alloc(64)]));
    const q = await DiskQueue.open<string>({ dir: d, maxItems: 100 });
    expect(q.stats.setAside).toBe(1);
    expect((await q.peek(10)).items).toEqual(["a"]);
  });

  it("keeps its place when a line before the head is set aside", async () => {
    const d = await dir();
    await writeFile(segment(d), '"a"\n{broken\n"b"\n"c"\n');
    await writeFile(join(d, "head"), "2"); // "a" and the broken line were taken
    const q = await DiskQueue.open<string>({ dir: d, maxItems: 100 });
    expect((await q.peek(10)).items).toEqual(["b", "c"]);
  });

  it("reads a segment whole when the head names one already removed (a crash between the two steps)", async () => {
    const d = await dir();
    await writeFile(join(d, "000000000002.jsonl"), '"a"\n"b"\n');
    await writeFile(join(d, "head"), "1 2"); // two taken of segment 1, which is gone
    expect((await (await DiskQueue.open<string>({ dir: d, maxItems: 100 })).peek(10)).items).toEqual(["a", "b"]);
  });

  it("removes a taken segment the head has already moved past", async () => {
    const d = await dir();
    await writeFile(join(d, "000000000001.jsonl"), '"old"\n');
    await writeFile(join(d, "000000000002.jsonl"), '"a"\n"b"\n');
    await writeFile(join(d, "head"), "2 1");
    const q = await DiskQueue.open<string>({ dir: d, maxItems: 100 });
    expect((await q.peek(10)).items).toEqual(["b"]);
    expect(await readdir(d)).not.toContain("000000000001.jsonl");
  });

  it("reads the head that was there when a crash left its replacement half written", async () => {
    const d = await dir();
    const q = await DiskQueue.open<number>({ dir: d, maxItems: 100 });
    await q.pushAll([1, 2, 3]);
    await q.ackThrough(await q.peek(1));
    await q.close();
    await writeFile(join(d, "head.tmp"), "9"); // torn: never renamed over `head`
    expect((await (await DiskQueue.open<number>({ dir: d, maxItems: 100 })).peek(10)).items).toEqual([2, 3]);
  });

  it("syncs within its interval, once for the writes made in it; with 0, before each push resolves", async () => {
    const lazy = await DiskQueue.open<number>({ dir: await dir(), maxItems: 100, syncIntervalMs: 30 });
    await lazy.push(1);
    await lazy.push(2);
    expect(lazy.stats.syncs).toBe(0);
    await waitFor(() => lazy.stats.syncs === 1);
    await lazy.close();
    const eager = await DiskQueue.open<number>({ dir: await dir(), maxItems: 100, syncIntervalMs: 0 });
    await eager.push(1);
    expect(eager.stats.syncs).toBe(1);
    await eager.push(2);
    expect(eager.stats.syncs).toBe(2);
    await eager.close();
  });

  it("writes pushes made during a write together (group commit), in order", async () => {
    const q = await DiskQueue.open<number>({
      dir: await dir(),
      maxItems: 10_000,
      itemsPerSegment: 10_000,
      syncIntervalMs: 0,
    });
    await Promise.all(Array.from({ length: 500 }, (_, i) => q.push(i)));
    expect(q.stats.syncs).toBeLessThan(10);
    expect((await q.peek(1000)).items).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});

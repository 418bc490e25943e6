import { describe, expect, it } from "vitest";
import { DiskQueue } from "../../../node-firmware/buffer/disk-queue.js";
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

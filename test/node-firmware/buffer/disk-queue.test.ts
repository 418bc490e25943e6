import { describe, expect, it } from "vitest";
import { DiskQueue } from "../../../node-firmware/buffer/disk-queue.js";
import { useTempDirs } from "../../helpers/tmp.js";

const dir = useTempDirs("x0-queue-");

describe("DiskQueue", () => {
  it("keeps order across segments, acks, and a reopen (a restart)", async () => {
    const d = await dir();
    const q = await DiskQueue.open<number>({ dir: d, maxItems: 100, itemsPerSegment: 4 });
    for (let i = 0; i < 10; i++) await q.push(i);
    expect(await q.peek(3)).toEqual([0, 1, 2]);
    await q.ack(3);
    expect(await q.peek(100)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    const reopened = await DiskQueue.open<number>({ dir: d, maxItems: 100, itemsPerSegment: 4 });
    expect(reopened.size).toBe(7);
    expect(await reopened.peek(100)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    await reopened.ack(7);
    expect(reopened.size).toBe(0);
    await reopened.push(42);
    expect(await reopened.peek(10)).toEqual([42]);
  });

  it("drops the oldest past the bound and counts every item lost", async () => {
    const q = await DiskQueue.open<number>({ dir: await dir(), maxItems: 8, itemsPerSegment: 4 });
    for (let i = 0; i < 20; i++) await q.push(i);
    const kept = await q.peek(100);
    expect(kept.at(-1)).toBe(19);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(q.stats.dropped + kept.length).toBe(20);
    expect(q.size).toBe(kept.length);
    expect(q.size).toBeLessThanOrEqual(8);
  });
});

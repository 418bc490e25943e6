#!/usr/bin/env node
import { createInterface } from "node:readline";

/**
 * The local stack's reaper: a child of `npm start` that kills what `npm start` cannot take down
 * with it when it dies abruptly (SIGKILL, OOM): workerd, which Miniflare spawns and only kills
 * from an exit hook. It reads pids to watch on stdin (`+PID`, `-PID` to forget one); when stdin
 * closes, its parent is gone, and it sends each one SIGTERM, then SIGKILL after a grace period.
 */
const GRACE_MS = 3000;
const pids = new Set<number>();

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false; // gone already
  }
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const pid = Number(line.slice(1));
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (line.startsWith("+")) pids.add(pid);
  else if (line.startsWith("-")) pids.delete(pid);
});

process.stdin.once("close", () => {
  const alive = [...pids].filter((pid) => signal(pid, "SIGTERM"));
  if (alive.length === 0) process.exit(0);
  setTimeout(() => {
    for (const pid of alive) signal(pid, "SIGKILL");
    process.exit(0);
  }, GRACE_MS);
});

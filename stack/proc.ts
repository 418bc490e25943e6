import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";

/** Process facts from /proc, for the local stack, its tests and the benchmarks. */

/** Parent pid of every live process, from /proc. */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 follows the command name, which is in parentheses and may itself contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // exited while we looked
    }
  }
  return parents;
}

export function descendantsOf(root: number): number[] {
  const parents = parentsByPid();
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8");
    return state.slice(state.lastIndexOf(")") + 2, state.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

const CLOCK_TICKS_PER_S = 100;

/** User + system CPU seconds a process has used (utime and stime of /proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once("error", () => {
      resolve(false);
    });
    server.listen(port, "127.0.0.1", () => {
      resolve(true);
    });
  });
  if (bound)
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  return bound;
}

const handedOut = new Set<number>();

/**
 * `count` consecutive free ports below Linux's ephemeral range (32768+), where no outgoing
 * connection can take one between this check and their use. A port is handed out once per
 * process, so two callers that have not bound theirs yet never share one.
 */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    for (const port of ports) handedOut.add(port);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
    for (const port of ports) handedOut.delete(port);
  }
  throw new Error(`no ${String(count)} consecutive free ports between 20000 and 32000`);
}

/** One free port, chosen as `freePortRange` chooses: outside the range the kernel gives client sockets. */
export const freePort = (): Promise<number> => freePortRange(1);

import { join } from "node:path";
import { packageRoot } from "../node-firmware/lib/index.js";
import { commandLine, descendantsOf } from "./proc.js";
import { supervise } from "./processes.js";

/** The reaper (reaper.ts), holding the pids it kills once we are gone, even by SIGKILL. */
export interface Reaper {
  /** Watches the workerd Miniflare runs for us now; returns its pid (none found: undefined). */
  watchWorkerd(): number | undefined;
  /** Ends the reaper: what it watched is already stopped. */
  stop(): Promise<void>;
}

export function startReaper(print: (line: string) => void): Reaper {
  const reaper = supervise("reaper", process.execPath, [join(packageRoot(), "dist", "stack", "reaper.js")], print);
  return {
    watchWorkerd: () => {
      const pid = descendantsOf(process.pid).find((p) => commandLine(p).includes("workerd serve"));
      if (pid !== undefined) reaper.child.stdin?.write(`+${String(pid)}\n`);
      return pid;
    },
    stop: async () => {
      reaper.child.stdin?.end();
      await reaper.exited;
    },
  };
}

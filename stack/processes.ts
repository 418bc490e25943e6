import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface Supervised {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const LEVELS_SHOWN = new Set(["info", "warn", "error"]);

/** Turns an agent's JSON log line into `[name] level msg key=value …`; other lines pass as they are. */
export function formatLine(name: string, line: string): string | null {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `[${name}] ${line}`;
  }
  const { t: _t, level, msg, node: _node, role: _role, ...fields } = event;
  if (typeof level === "string" && !LEVELS_SHOWN.has(level)) return null;
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `[${name}] ${String(level)} ${String(msg)}${extra ? " " + extra : ""}`;
}

/** A small young generation: agents allocate little, and on a router RSS matters more than GC pauses. */
export const AGENT_NODE_FLAGS = ["--max-semi-space-size=1"];

export function spawnAgent(name: string, script: string, args: string[], print: (line: string) => void): Supervised {
  return supervise(name, process.execPath, [...AGENT_NODE_FLAGS, script, "--supervised", ...args], print);
}

/**
 * Runs a command whose output lines are printed with its name, as `[name] level msg …` for JSON
 * logs. Its stdin is a pipe from us: when we die, however, it closes, and a child that watches it
 * (agents run `--supervised`, the reaper) exits too.
 */
export function supervise(name: string, command: string, args: string[], print: (line: string) => void): Supervised {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      const formatted = formatLine(name, line);
      if (formatted !== null) print(formatted);
    });
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      resolve(code);
    }),
  );
  return { name, child, exited };
}

/** SIGTERM to all, then SIGKILL to any still running after `graceMs`. */
export async function stopAll(children: Supervised[], graceMs: number): Promise<void> {
  const running = children.filter((c) => c.child.exitCode === null && c.child.signalCode === null);
  for (const c of running) c.child.kill("SIGTERM");
  const timeout = new Promise<"timeout">((resolve) =>
    setTimeout(() => {
      resolve("timeout");
    }, graceMs).unref(),
  );
  const outcome = await Promise.race([Promise.all(running.map((c) => c.exited)), timeout]);
  if (outcome === "timeout") {
    for (const c of running) if (c.child.exitCode === null) c.child.kill("SIGKILL");
    await Promise.all(running.map((c) => c.exited));
  }
}

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export class BpftoolError extends Error {}

/** Why bpftool failed, from its JSON error or its stderr. */
function failure(args: readonly string[], error: unknown): BpftoolError {
  const { stdout = "", stderr = "", message } = error as { stdout?: string; stderr?: string; message: string };
  let detail = stderr.trim() || message;
  try {
    const parsed = JSON.parse(stdout) as { error?: string };
    if (parsed.error) detail = parsed.error;
  } catch {
    // not JSON: stderr says it
  }
  return new BpftoolError(`bpftool ${args.join(" ")}: ${detail}`);
}

/** Runs `bpftool -j …` and returns its parsed JSON output (null when it prints nothing). */
export async function bpftool(args: readonly string[]): Promise<unknown> {
  try {
    const { stdout } = await run("bpftool", ["-j", ...args], { maxBuffer: 256 * 1024 * 1024 });
    return stdout.trim() === "" ? null : JSON.parse(stdout);
  } catch (error) {
    throw failure(args, error);
  }
}

/** Runs many bpftool commands in one process (`bpftool batch file`): one fork for a whole blocklist update. */
export async function bpftoolBatch(commands: readonly string[]): Promise<void> {
  if (commands.length === 0) return;
  const dir = await mkdtemp(join(tmpdir(), "x0-bpftool-"));
  try {
    const file = join(dir, "batch");
    await writeFile(file, `${commands.join("\n")}\n`);
    await run("bpftool", ["batch", "file", file]);
  } catch (error) {
    throw failure(["batch", `(${String(commands.length)} commands)`], error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes as bpftool reads them on its command line: `hex 0a 00 …`. */
export const hexArgs = (bytes: Uint8Array): string[] => [
  "hex",
  ...Array.from(bytes, (b) => b.toString(16).padStart(2, "0")),
];

/** bpftool's JSON dumps give bytes as "0x0a" strings. */
export const bytesOf = (hex: readonly string[]): Uint8Array => Uint8Array.from(hex, (h) => parseInt(h, 16));

export interface MapEntry {
  key: Uint8Array;
  value: Uint8Array;
}

export interface PerCpuEntry {
  key: Uint8Array;
  values: Uint8Array[];
}

interface RawEntry {
  key: string[];
  value?: string[];
  values?: { cpu: number; value: string[] }[];
}

export async function dumpMap(pinned: string): Promise<MapEntry[]> {
  const entries = ((await bpftool(["map", "dump", "pinned", pinned])) ?? []) as RawEntry[];
  return entries.map((e) => ({ key: bytesOf(e.key), value: bytesOf(e.value ?? []) }));
}

export async function dumpPerCpuMap(pinned: string): Promise<PerCpuEntry[]> {
  const entries = ((await bpftool(["map", "dump", "pinned", pinned])) ?? []) as RawEntry[];
  return entries.map((e) => ({ key: bytesOf(e.key), values: (e.values ?? []).map((v) => bytesOf(v.value)) }));
}

export const updateCommand = (pinned: string, key: Uint8Array, value: Uint8Array) =>
  ["map", "update", "pinned", pinned, "key", ...hexArgs(key), "value", ...hexArgs(value)].join(" ");

export const deleteCommand = (pinned: string, key: Uint8Array) =>
  ["map", "delete", "pinned", pinned, "key", ...hexArgs(key)].join(" ");

/** Loads the program of `objectPath` as `type`, pinned at `<pinDir>/prog` with its maps under `<pinDir>/maps`. */
export async function loadPinned(objectPath: string, type: "xdp" | "sockops", pinDir: string): Promise<void> {
  await bpftool(["prog", "load", objectPath, join(pinDir, "prog"), "type", type, "pinmaps", join(pinDir, "maps")]);
}

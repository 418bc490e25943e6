import { existsSync } from "node:fs";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { bpftool } from "./bpftool.js";

const run = promisify(execFile);

export const BPFFS = "/sys/fs/bpf";

/** Mounts a bpffs at /sys/fs/bpf when none is there (containers and minimal systems often lack it). */
export async function ensureBpffs(): Promise<void> {
  const mounts = await readFile("/proc/mounts", "utf8");
  if (mounts.split("\n").some((line) => line.split(" ")[1] === BPFFS && line.split(" ")[2] === "bpf")) return;
  await run("mount", ["-t", "bpf", "bpf", BPFFS]);
}

export type XdpMode = "native" | "generic";

/** The XDP program attached to an interface, from `ip -j link show`. */
export async function attachedXdp(iface: string): Promise<{ name: string; mode: XdpMode } | null> {
  const { stdout } = await run("ip", ["-j", "link", "show", "dev", iface]);
  const [link] = JSON.parse(stdout) as { xdp?: { mode: number; prog?: { name: string } } }[];
  if (!link?.xdp?.prog) return null;
  // XDP_ATTACHED_DRV = 1, XDP_ATTACHED_SKB = 2
  return { name: link.xdp.prog.name, mode: link.xdp.mode === 2 ? "generic" : "native" };
}

const BPFTOOL_MODE: Record<XdpMode, string> = { native: "xdpdrv", generic: "xdpgeneric" };

/**
 * Attaches a pinned program in the driver when it supports XDP, else in the generic path; says
 * which. `only` forces one.
 */
export async function attachXdp(iface: string, pinnedProgram: string, only?: XdpMode): Promise<XdpMode> {
  if (only) {
    await bpftool(["net", "attach", BPFTOOL_MODE[only], "pinned", pinnedProgram, "dev", iface]);
    return only;
  }
  try {
    await bpftool(["net", "attach", BPFTOOL_MODE.native, "pinned", pinnedProgram, "dev", iface]);
    return "native";
  } catch {
    await bpftool(["net", "attach", BPFTOOL_MODE.generic, "pinned", pinnedProgram, "dev", iface]);
    return "generic";
  }
}

export async function detachXdp(iface: string, mode: XdpMode): Promise<void> {
  await bpftool(["net", "detach", BPFTOOL_MODE[mode], "dev", iface]);
}

/** Why `objectPath` cannot be loaded here (no eBPF, or the object was never built), or null when it can be tried. */
export async function bpfObjectUnavailableReason(objectPath: string): Promise<string | null> {
  const reason = await bpfUnavailableReason();
  if (reason) return reason;
  return existsSync(objectPath) ? null : `${objectPath} is missing (build it with npm run build:bpf)`;
}

/** Why this process cannot load eBPF, or null when it can try. */
export async function bpfUnavailableReason(): Promise<string | null> {
  if (process.getuid?.() !== 0) return "not running as root (loading XDP needs CAP_BPF and CAP_NET_ADMIN)";
  try {
    await run("bpftool", ["version"]);
  } catch {
    return "bpftool not found on PATH (Debian package bpftool)";
  }
  try {
    await bpftool(["prog", "show"]);
  } catch (error) {
    return `the kernel refuses BPF: ${(error as Error).message}`;
  }
  return null;
}

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmod, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseOriginators } from "../node-firmware/mesh/index.js";
import type { Route } from "../protocol/index.js";
import type { LabTopology } from "./topology.js";

/**
 * A mesh of User-Mode Linux guests running the kernel's real batman-adv (Debian's
 * `user-mode-linux`: a 6.1 kernel as a process, with batman-adv.ko among its modules). Each guest
 * boots the host's file system read-only (hostfs) with a writable folder of its own at /mnt; each
 * link is a `vde_switch` of its own, plugged into one `ethN` of each end.
 */

/** Where Debian's user-mode-linux keeps its kernel modules (one folder per kernel version). */
const UML_MODULES = "/usr/lib/uml/modules";
const TOOLS = { "linux.uml": "user-mode-linux", vde_switch: "vde2", uml_mconsole: "uml-utilities" } as const;

/** What is missing to run the lab here, as the packages to install; null when nothing is. */
export function umlUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (tap-less UML still needs to load modules in the guests as root)";
  const missing = Object.entries(TOOLS)
    .filter(([command]) => spawnSync("sh", ["-c", `command -v ${command}`]).status !== 0)
    .map(([, pkg]) => pkg);
  return missing.length > 0 ? `missing ${missing.join(", ")} (apt-get install ${missing.join(" ")})` : null;
}

/** A locally administered MAC per node and interface: 02:58:<node>:<node>:<if>:01. */
export function umlMac(nodeIndex: number, interfaceIndex: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return ["02", "58", hex(nodeIndex >> 8), hex(nodeIndex & 0xff), hex(interfaceIndex), "01"].join(":");
}

/** The guest's init: batman-adv on every link, bridge loop avoidance off, the tables written every second. */
const INIT = `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t hostfs -o "$X0_OUT" none /mnt
modprobe -d "$X0_MODULES" batman-adv || { echo "modprobe batman-adv failed" > /mnt/error; halt -f; }
for i in $(echo "$X0_LINKS" | tr , " "); do ip link set "eth$i" up && batctl meshif bat0 interface add "eth$i"; done
batctl meshif bat0 bridge_loop_avoidance 0
batctl meshif bat0 orig_interval "$X0_OGM_MS"
ip link set bat0 up
echo up > /mnt/state
while true; do
  batctl meshif bat0 originators_json > /mnt/originators.tmp && mv /mnt/originators.tmp /mnt/originators.json
  sleep 1
done
`;

export interface UmlLabOptions {
  /** Names the guests' mconsoles (x0uml-NAME-<node>) and keeps two labs apart. */
  name: string;
  topology: LabTopology;
  /** The lab's folder: switches' sockets, each guest's /mnt; removed on stop. */
  dir: string;
  /** batman-adv's OGM interval. */
  ogmIntervalMs?: number;
}

interface Guest {
  id: string;
  umid: string;
  out: string;
  process: ChildProcess;
}

export class UmlLab {
  private constructor(
    private readonly options: UmlLabOptions,
    private readonly switches: ChildProcess[],
    private readonly guests: Map<string, Guest>,
  ) {}

  static async start(options: UmlLabOptions): Promise<UmlLab> {
    const { dir, topology } = options;
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, "modules", "lib"), { recursive: true });
    await symlink(UML_MODULES, join(dir, "modules", "lib", "modules"));
    await writeFile(join(dir, "init.sh"), INIT);
    await writeFile(join(dir, "topology.json"), JSON.stringify(topology)); // for cut/restore from another process
    await chmod(join(dir, "init.sh"), 0o755);
    const switches = topology.links.map((_, i) => startSwitch(join(dir, `link${String(i)}.ctl`)));
    const lab = new UmlLab(options, switches, new Map());
    await Promise.all(topology.links.map((_, i) => waitForFile(join(dir, `link${String(i)}.ctl`, "ctl"), 5000)));
    for (const [index, id] of topology.nodes.entries()) lab.guests.set(id, await lab.boot(id, index));
    return lab;
  }

  /** Resolves once every guest runs batman-adv on its links. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await Promise.all([...this.guests.values()].map((g) => waitForFile(join(g.out, "state"), timeoutMs, g.out)));
  }

  /** A guest's originator table as batctl printed it there last (once a second). */
  async originators(node: string): Promise<Route[]> {
    const guest = this.guests.get(node);
    if (!guest) throw new Error(`no node ${node} in this lab`);
    return parseOriginators(await readFile(join(guest.out, "originators.json"), "utf8"));
  }

  /** The MAC batman-adv names `node` by: its first link's interface (its primary, the originator address). */
  originatorOf(node: string): string {
    const index = this.options.topology.nodes.indexOf(node);
    if (index < 0) throw new Error(`no node ${node} in this lab`);
    return umlMac(index, 0);
  }

  /**
   * Cuts the link between `a` and `b`: its switch stops forwarding (SIGSTOP), so batman-adv's OGMs
   * stop crossing it while both guests keep their interface up, as when a radio link fades.
   */
  cut(a: string, b: string): void {
    this.switches[linkIndex(this.options.topology, a, b)]?.kill("SIGSTOP");
  }

  restore(a: string, b: string): void {
    this.switches[linkIndex(this.options.topology, a, b)]?.kill("SIGCONT");
  }

  /** Halts every guest (mconsole), waits for them, then stops the switches and removes the lab's folder. */
  async stop(): Promise<void> {
    await Promise.all([...this.guests.values()].map((guest) => halt(guest)));
    for (const sw of this.switches) sw.kill("SIGCONT"); // a cut switch takes SIGTERM only once it runs
    for (const sw of this.switches) sw.kill("SIGTERM");
    await Promise.all(this.switches.map((sw) => exited(sw)));
    await Promise.all(
      [...this.guests.values()].map((g) => rm(join(homedir(), ".uml", g.umid), { recursive: true, force: true })),
    );
    await rm(this.options.dir, { recursive: true, force: true });
  }

  private async boot(id: string, index: number): Promise<Guest> {
    const { dir, topology, name } = this.options;
    const out = join(dir, "nodes", id);
    await mkdir(out, { recursive: true });
    const ends = topology.links.flatMap(([a, b], link) => (a === id || b === id ? [link] : []));
    const umid = `x0uml-${name}-${id}`;
    const args = [
      "mem=128M",
      "root=/dev/root",
      "rootfstype=hostfs",
      "rootflags=/",
      "ro",
      "con=null",
      "ssl=null",
      "pty.legacy_count=0", // without it, boot takes 3 s longer
      "quiet",
      `umid=${umid}`,
      `init=${join(dir, "init.sh")}`,
      // Unknown KEY=value parameters reach init as its environment.
      `X0_OUT=${out}`,
      `X0_MODULES=${join(dir, "modules")}`,
      `X0_OGM_MS=${String(this.options.ogmIntervalMs ?? 1000)}`,
      // The kernel's command line splits at spaces: the link list is comma-separated.
      `X0_LINKS=${ends.map((_, k) => String(k)).join(",")}`,
      ...ends.map((link, k) => `eth${String(k)}=vde,${join(dir, `link${String(link)}.ctl`)},${umlMac(index, k)}`),
    ];
    const process = spawn("linux.uml", args, { stdio: "ignore" });
    return { id, umid, out, process };
  }
}

/** The link between `a` and `b`; an unknown node or a pair that is not a link is an error that says so. */
export function linkIndex(topology: LabTopology, a: string, b: string): number {
  for (const node of [a, b]) if (!topology.nodes.includes(node)) throw new Error(`no node ${node} in this lab`);
  const index = topology.links.findIndex(([x, y]) => (x === a && y === b) || (x === b && y === a));
  if (index < 0) throw new Error(`${a} and ${b} share no link`);
  return index;
}

/**
 * Cuts (SIGSTOP) or restores (SIGCONT) a link of the lab running in `dir`, from another process
 * (`npm run lab -- cut A B --kernel uml`). The same errors as the lab's own for a pair that is not a link.
 */
export async function signalLink(dir: string, a: string, b: string, action: "cut" | "restore"): Promise<void> {
  const topology = JSON.parse(
    await readFile(join(dir, "topology.json"), "utf8").catch(() => {
      throw new Error(`no UML lab runs in ${dir}`);
    }),
  ) as LabTopology;
  const ctl = join(dir, `link${String(linkIndex(topology, a, b))}.ctl`);
  const signal = action === "cut" ? "-STOP" : "-CONT";
  if (spawnSync("pkill", [signal, "-f", `^vde_switch -s ${ctl}$`]).status !== 0)
    throw new Error(`the switch of ${a}–${b} is not running (${ctl})`);
}

/**
 * Removes what a UML lab left after its process died (SIGKILL): its guests (halted through their
 * mconsoles), its switches and its folder. Returns what it removed.
 */
export async function umlLabDown(name: string, dir: string): Promise<string[]> {
  const prefix = `x0uml-${name}-`;
  const umids = await readdir(join(homedir(), ".uml")).then(
    (entries) => entries.filter((entry) => entry.startsWith(prefix)),
    () => [],
  );
  for (const umid of umids) {
    spawnSync("uml_mconsole", [umid, "halt"], { stdio: "ignore", timeout: 5000 });
    await rm(join(homedir(), ".uml", umid), { recursive: true, force: true });
  }
  const switches = spawnSync("pkill", ["-f", `vde_switch -s ${dir}/`]).status === 0 ? [`switches under ${dir}`] : [];
  await rm(dir, { recursive: true, force: true });
  return [...umids, ...switches];
}

function startSwitch(ctl: string): ChildProcess {
  return spawn("vde_switch", ["-s", ctl], { stdio: ["pipe", "ignore", "ignore"] }); // exits when stdin closes
}

async function halt(guest: Guest): Promise<void> {
  if (guest.process.exitCode !== null || guest.process.signalCode !== null) return;
  spawnSync("uml_mconsole", [guest.umid, "halt"], { stdio: "ignore", timeout: 5000 });
  const timer = setTimeout(() => guest.process.kill("SIGKILL"), 10_000);
  await exited(guest.process);
  clearTimeout(timer);
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
        child.once("exit", () => {
          resolve();
        });
      });

/** Waits for a file (or socket) a guest or switch makes; the error says what was waited for. */
async function waitForFile(path: string, timeoutMs: number, what = path): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await stat(path);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

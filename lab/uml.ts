import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { availableParallelism, homedir, release, totalmem } from "node:os";
import { join } from "node:path";
import { parseOriginators } from "../node-firmware/mesh/index.js";
import type { Route } from "../protocol/index.js";
import { MAX_NODES, type LabTopology } from "./topology.js";
import { GUEST_INIT } from "./uml-init.js";
import { removeUplink, umlUplink, type UmlUplink } from "./uml-uplink.js";

/**
 * A mesh of User-Mode Linux guests running the kernel's real batman-adv (Debian's
 * `user-mode-linux`: a 6.1 kernel as a process, with batman-adv.ko among its modules). Each guest
 * boots the host's file system read-only (hostfs) with a writable folder of its own at /mnt; each
 * link is a `vde_switch` of its own, plugged into one `ethN` of each end.
 */

/** Where Debian's user-mode-linux keeps its kernel modules (one folder per kernel version). */
const UML_MODULES = "/usr/lib/uml/modules";
/** Host memory (MiB) and share of a core one guest takes, idle, without and with an agent (measured: lab/README.md). */
const [MIB_PER_NODE, CPU_PER_NODE] = [80, 0.03];
const [MIB_PER_AGENT_NODE, CPU_PER_AGENT_NODE] = [200, 0.45];
const TOOLS = { "linux.uml": "user-mode-linux", vde_switch: "vde2", uml_mconsole: "uml-utilities" } as const;

/** What is missing to run the lab here (packages to install, or a host UML cannot run on); null when nothing is. */
export function umlUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (tap-less UML still needs to load modules in the guests as root)";
  const missing = Object.entries(TOOLS)
    .filter(([command]) => spawnSync("sh", ["-c", `command -v ${command}`]).status !== 0)
    .map(([, pkg]) => pkg);
  if (missing.length > 0) return `missing ${missing.join(", ")} (apt-get install ${missing.join(" ")})`;
  return (bootRefusal ??= { reason: probeBoot() }).reason;
}
let bootRefusal: { reason: string | null } | undefined;

/**
 * Boots a guest whose init is /bin/true: on a host UML runs on, init exits 0 (and the guest's
 * kernel says so as it panics). Some host kernels refuse UML's ptrace use (6.1 guests on a 6.18
 * host: "ptrace set fp regs failed"); their guests die in init, which is said here, not found
 * later as a guest that never comes up.
 */
function probeBoot(): string | null {
  const umid = `x0uml-probe-${String(process.pid)}`;
  const result = spawnSync(
    "linux.uml",
    [
      "mem=128M",
      "root=/dev/root",
      "rootfstype=hostfs",
      "rootflags=/",
      "ro",
      "con0=fd:0,fd:1",
      "con=null",
      "ssl=null",
      `umid=${umid}`,
      "init=/bin/true",
    ],
    { timeout: 30_000, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  rmSync(join(homedir(), ".uml", umid), { recursive: true, force: true });
  const console = `${result.stdout}${result.stderr}`;
  if (/Attempted to kill init! exitcode=0x00000000\b/.test(console)) return null;
  const said =
    (/^userspace - .*$/m.exec(console) ?? /^Kernel panic - .*$/m.exec(console))?.[0] ?? "no sign of init running";
  return `UML guests do not run on this host kernel (${release()}): ${said}`;
}

/** A locally administered MAC per node and interface: 02:58:<node>:<node>:<if>:01 (interface 0: the dummy primary). */
export function umlMac(nodeIndex: number, interfaceIndex: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return ["02", "58", hex(nodeIndex >> 8), hex(nodeIndex & 0xff), hex(interfaceIndex), "01"].join(":");
}

const LAB_NAME = /^[a-z0-9-]{1,11}$/;

/** The agents the guests run: the firmware bundle on the host's Node.js, one config per node. */
export interface UmlAgents {
  node: string;
  bundle: string;
  /** By node id: the agent's config, its paths as the guest sees them (its folder is /mnt). */
  configs: ReadonlyMap<string, unknown>;
}

export interface UmlLabOptions {
  /** Names the guests' mconsoles (x0uml-NAME-<node>) and the uplink's tap; keeps two labs apart. */
  name: string;
  topology: LabTopology;
  /** The lab's folder: switches' sockets, each guest's /mnt; removed on stop. */
  dir: string;
  /** batman-adv's OGM interval. */
  ogmIntervalMs?: number;
  /** Addresses on bat0, and the gateway's uplink to the host; none: a mesh without IP. */
  uplink?: { gateway: string; addresses: UmlUplink };
  agents?: UmlAgents;
}

interface Guest {
  id: string;
  umid: string;
  out: string;
  process: ChildProcess;
}

export interface LinkQuality {
  lossPercent: number;
  delayMs: number;
}

export class UmlLab {
  private constructor(
    private readonly options: UmlLabOptions,
    private readonly switches: ChildProcess[],
    private readonly guests: Map<string, Guest>,
  ) {}

  static async start(options: UmlLabOptions): Promise<UmlLab> {
    const { dir, topology, name } = options;
    if (!LAB_NAME.test(name)) throw new Error(`UML lab name "${name}" must be 1-11 chars of a-z, 0-9 and '-'`);
    assertFits(topology, options.agents !== undefined);
    await mkdir(dir, { recursive: true });
    for (const stale of ["modules", "nodes", "init.sh", "topology.json", ...(await linkSockets(dir))])
      await rm(join(dir, stale), { recursive: true, force: true });
    await mkdir(join(dir, "modules", "lib"), { recursive: true });
    await symlink(UML_MODULES, join(dir, "modules", "lib", "modules"));
    await writeFile(join(dir, "init.sh"), GUEST_INIT);
    await writeFile(join(dir, "topology.json"), JSON.stringify(topology)); // for cut/restore from another process
    await chmod(join(dir, "init.sh"), 0o755);
    const switches = topology.links.map((_, i) => startSwitch(join(dir, `link${String(i)}.ctl`)));
    const lab = new UmlLab(options, switches, new Map());
    await Promise.all(topology.links.map((_, i) => waitForFile(join(dir, `link${String(i)}.ctl`, "ctl"), 5000)));
    for (const [index, id] of topology.nodes.entries()) lab.guests.set(id, await lab.boot(id, index));
    return lab;
  }

  get nodes(): readonly string[] {
    return this.options.topology.nodes;
  }

  /** Resolves once every guest runs batman-adv on its links; a guest whose init failed says why. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await Promise.all(
      [...this.guests.values()].map(async (g) => {
        await waitForFile(join(g.out, "state"), timeoutMs, `${g.id}'s batman-adv`, join(g.out, "error"));
      }),
    );
  }

  /** A guest's originator table, as its batctl prints it now. */
  async originators(node: string): Promise<Route[]> {
    return parseOriginators(await runInGuest(this.guest(node).out, "batctl meshif bat0 originators_json"));
  }

  /** The MAC batman-adv names `node` by: its dummy primary interface's (its originator address). */
  originatorOf(node: string): string {
    return umlMac(this.indexOf(node), 0);
  }

  /** The MACs of `node`'s link interfaces: what its neighbors see as their next hop to it. */
  linkAddressesOf(node: string): string[] {
    const index = this.indexOf(node);
    return linkEnds(this.options.topology, node).map((_, k) => umlMac(index, k + 1));
  }

  /** The interface of `node` on its link to `peer`. */
  interfaceOf(node: string, peer: string): string {
    return linkInterface(this.options.topology, node, linkIndex(this.options.topology, node, peer));
  }

  /** Runs a shell script in `node`'s guest (within 200 ms when the guest is idle): its output. */
  exec(node: string, script: string): Promise<string> {
    return runInGuest(this.guest(node).out, script);
  }

  /** Where `node`'s guest keeps its /mnt (the agent's state and log). */
  folderOf(node: string): string {
    return this.guest(node).out;
  }

  /**
   * Cuts the link between `a` and `b`: its switch stops forwarding (SIGSTOP), so batman-adv's OGMs
   * stop crossing it while both guests keep their interface up, as when a radio link fades.
   */
  cut(a: string, b: string): void {
    this.switches[linkIndex(this.options.topology, a, b)]?.kill("SIGSTOP");
  }

  /** Forwards again over a cut link and takes away a degradation. */
  async restore(a: string, b: string): Promise<void> {
    this.switches[linkIndex(this.options.topology, a, b)]?.kill("SIGCONT");
    await degradeLink(this.options.dir, this.options.topology, a, b, null);
  }

  /** Loss and delay on both ends of the link (tc netem in the guests). */
  async degrade(a: string, b: string, quality: LinkQuality): Promise<void> {
    await degradeLink(this.options.dir, this.options.topology, a, b, quality);
  }

  /** Powers `node` off (its kernel halts: no goodbye reaches anyone), as a router losing power. */
  async kill(node: string): Promise<void> {
    await halt(this.guest(node));
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

  private guest(node: string): Guest {
    const guest = this.guests.get(node);
    if (!guest) throw new Error(`no node ${node} in this lab`);
    return guest;
  }

  private indexOf(node: string): number {
    const index = this.options.topology.nodes.indexOf(node);
    if (index < 0) throw new Error(`no node ${node} in this lab`);
    return index;
  }

  private async boot(id: string, index: number): Promise<Guest> {
    const { dir, topology, name, uplink, agents } = this.options;
    const out = join(dir, "nodes", id);
    await mkdir(out, { recursive: true });
    const config = agents?.configs.get(id);
    if (config !== undefined) await writeFile(join(out, "agent.json"), JSON.stringify(config, null, 2));
    const ends = linkEnds(topology, id);
    const umid = `x0uml-${name}-${id}`;
    const args = [
      `mem=${config === undefined ? "128M" : "256M"}`,
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
      `X0_PRIMARY=${umlMac(index, 0)}`,
      // The kernel's command line splits at spaces: the link list is comma-separated.
      `X0_LINKS=${ends.map((_, k) => String(k)).join(",")}`,
      ...ends.map((link, k) => `eth${String(k)}=vde,${join(dir, `link${String(link)}.ctl`)},${umlMac(index, k + 1)}`),
      ...(uplink ? uplinkArgs(uplink, index, topology.nodes.indexOf(uplink.gateway), ends.length) : []),
      ...(agents ? [`X0_NODE=${agents.node}`, `X0_AGENT=${agents.bundle}`] : []),
    ];
    const process = spawn("linux.uml", args, { stdio: "ignore" });
    return { id, umid, out, process };
  }
}

/** bat0's address; the gateway's tap and forwarding; the others' default route through the gateway. */
function uplinkArgs(
  { addresses }: NonNullable<UmlLabOptions["uplink"]>,
  index: number,
  gatewayIndex: number,
  links: number,
): string[] {
  const bat0 = `X0_BAT_IP=${addresses.meshCidr(index)}`;
  if (index !== gatewayIndex) return [bat0, `X0_VIA=${addresses.meshIp(gatewayIndex)}`];
  const eth = `eth${String(links)}`;
  return [bat0, `${eth}=tuntap,${addresses.tap}`, `X0_UPLINK_IF=${eth}`, `X0_UPLINK_IP=${addresses.gatewayUplinkCidr}`];
}

/** Refuses a topology past `umlNodesThatFit`, before anything starts. */
export function assertFits(topology: LabTopology, withAgents: boolean): void {
  const fits = umlNodesThatFit(withAgents);
  if (topology.nodes.length > fits)
    throw new Error(
      `topology: ${String(topology.nodes.length)} UML nodes do not fit on this machine (at most ${String(fits)}${withAgents ? " with agents" : ""})`,
    );
}

/** The links `node` is an end of, in the order of its interfaces (eth0, eth1, …). */
function linkEnds(topology: LabTopology, node: string): number[] {
  return topology.links.flatMap(([a, b], link) => (a === node || b === node ? [link] : []));
}

/** `node`'s interface on link `link`. */
function linkInterface(topology: LabTopology, node: string, link: number): string {
  return `eth${String(linkEnds(topology, node).indexOf(link))}`;
}

async function linkSockets(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((entry) => /^link\d+\.ctl$/.test(entry));
}

/**
 * How many UML nodes this machine runs at once. Measured on a ring:4 with agents: a guest with
 * its agent holds about MIB_PER_AGENT_NODE of host memory and keeps CPU_PER_AGENT_NODE of a core
 * busy (every system call of a guest's process is a ptrace stop on the host; a process start,
 * such as the agent's batctl each second, about 100 ms). Past that, OGMs wait for CPU and
 * neighbors read as silent.
 */
export function umlNodesThatFit(withAgents: boolean): number {
  const memoryMiB = totalmem() / 2 ** 20;
  const [perNodeMiB, perNodeCpu] = withAgents ? [MIB_PER_AGENT_NODE, CPU_PER_AGENT_NODE] : [MIB_PER_NODE, CPU_PER_NODE];
  const byMemory = Math.floor((memoryMiB * 0.5) / perNodeMiB);
  const byCpu = Math.floor((availableParallelism() * 0.9) / perNodeCpu);
  return Math.min(MAX_NODES, byMemory, byCpu);
}

/** The link between `a` and `b`; an unknown node or a pair that is not a link is an error that says so. */
export function linkIndex(topology: LabTopology, a: string, b: string): number {
  for (const node of [a, b]) if (!topology.nodes.includes(node)) throw new Error(`no node ${node} in this lab`);
  const index = topology.links.findIndex(([x, y]) => (x === a && y === b) || (x === b && y === a));
  if (index < 0) throw new Error(`${a} and ${b} share no link`);
  return index;
}

async function labTopology(dir: string): Promise<LabTopology> {
  const text = await readFile(join(dir, "topology.json"), "utf8").catch(() => {
    throw new Error(`no UML lab runs in ${dir}`);
  });
  return JSON.parse(text) as LabTopology;
}

/**
 * Cuts (SIGSTOP), restores (SIGCONT, and no more netem) or degrades a link of the lab running in
 * `dir`, from another process (`npm run lab -- cut A B --kernel uml`). The same errors as the
 * lab's own for a pair that is not a link; nothing changes then.
 */
export async function changeLink(
  dir: string,
  a: string,
  b: string,
  change: { cut: true } | { restore: true } | { degrade: LinkQuality },
): Promise<void> {
  const topology = await labTopology(dir);
  const ctl = join(dir, `link${String(linkIndex(topology, a, b))}.ctl`);
  if ("degrade" in change) return degradeLink(dir, topology, a, b, change.degrade);
  const signal = "cut" in change ? "-STOP" : "-CONT";
  if (spawnSync("pkill", [signal, "-f", `^vde_switch -s ${ctl}$`]).status !== 0)
    throw new Error(`the switch of ${a}–${b} is not running (${ctl})`);
  if ("restore" in change) await degradeLink(dir, topology, a, b, null);
}

/** netem on both ends' interfaces of the link; null takes it away. */
async function degradeLink(
  dir: string,
  topology: LabTopology,
  a: string,
  b: string,
  quality: LinkQuality | null,
): Promise<void> {
  const link = linkIndex(topology, a, b);
  if (quality && (!(quality.lossPercent >= 0 && quality.lossPercent <= 100) || !(quality.delayMs >= 0)))
    throw new Error("degrade: loss must be 0..100 % and delay at least 0 ms");
  await Promise.all(
    [a, b].map(async (node) => {
      const eth = linkInterface(topology, node, link);
      const script = quality
        ? `tc qdisc replace dev ${eth} root netem loss ${String(quality.lossPercent)}% delay ${String(quality.delayMs)}ms`
        : `tc qdisc del dev ${eth} root 2>/dev/null; true`;
      await runInGuest(join(dir, "nodes", node), script);
    }),
  );
}

/** Scripts queued per guest: the guest has one /mnt/do.sh. */
const guestQueues = new Map<string, Promise<string>>();

/** Runs a shell script in a guest through its init's loop (within 200 ms): its output, or an error with it. */
function runInGuest(out: string, script: string): Promise<string> {
  const run = (guestQueues.get(out) ?? Promise.resolve("")).catch(() => "").then(() => runNow(out, script));
  guestQueues.set(out, run);
  return run;
}

async function runNow(out: string, script: string, timeoutMs = 20_000): Promise<string> {
  await rm(join(out, "do.rc"), { force: true });
  await writeFile(join(out, "do.sh.tmp"), `${script}\n`);
  await rename(join(out, "do.sh.tmp"), join(out, "do.sh"));
  await waitForFile(join(out, "do.rc"), timeoutMs, `the guest in ${out} to run: ${script}`);
  const code = (await readFile(join(out, "do.rc"), "utf8")).trim();
  const output = await readFile(join(out, "do.out"), "utf8").catch(() => "");
  if (code !== "0") throw new Error(`${script}: exit ${code}: ${output.trim()}`);
  return output;
}

/**
 * Removes what a UML lab left after its process died (SIGKILL): its guests (halted through their
 * mconsoles), its switches, its uplink's tap and its folder. Returns what it removed.
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
  const uplink = umlUplink(name);
  const tap = (await removeUplink(uplink)) ? [`tap ${uplink.tap}`] : [];
  await rm(dir, { recursive: true, force: true });
  return [...umids, ...switches, ...tap];
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

/**
 * Waits for a file (or socket) a guest or switch makes; the error says what was waited for, or
 * what the guest wrote to `failure` when it gave up.
 */
async function waitForFile(path: string, timeoutMs: number, what = path, failure?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await stat(path);
      return;
    } catch {
      const failed = failure === undefined ? undefined : await readFile(failure, "utf8").catch(() => undefined);
      if (failed !== undefined) throw new Error(`${what}: ${failed.trim()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

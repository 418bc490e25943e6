/**
 * Reconvergence on the kernel's batman-adv (UML guests): a ping stream (20/s) over bat0 from one
 * node to its ring neighbor, the link between them cut; the outage is the longest run of lost
 * echoes, in seconds. Batman-adv alone (guests without agents) is the baseline; agent-assisted
 * runs the whole system: the edge on this host, an agent per guest (its reflex forgets a silent
 * neighbor, the edge's MAPE-K may reroute too). Each at OGM intervals 1000 and 200 ms.
 *   npm run bench:convergence          (BENCH_TRIALS per case, default 3; BENCH_RINGS, default 4,8)
 * Each trial's ping log is kept in .x0/bench/convergence/.
 * Needs root and UML (lab/README.md); agent-assisted only on rings that fit (umlNodesThatFit).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createUplink,
  parseTopology,
  removeUplink,
  startUmlMesh,
  UmlLab,
  umlNodesThatFit,
  umlUnavailable,
  umlUplink,
} from "../lab/index.js";
import { median } from "./stats.js";

const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
const RINGS = (process.env.BENCH_RINGS ?? "4,8").split(",").map(Number);
const OGM_MS = [1000, 200];
const PING_INTERVAL_S = 0.05;
/** How long a link stays cut: an outage that lasts until it comes back is reported as longer than this. */
const CUT_S = 25;
const LATE_MS = 1000;
/** Each trial's ping log, for a second look at a figure. */
const LOGS = join(".x0", "bench", "convergence");
/** batman-adv's TQ needs about 40 OGMs to reach its plateau after boot. */
const WARM_OGMS = 40;

interface Case {
  ring: number;
  ogmMs: number;
  agents: boolean;
  outagesS: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it holds (true) or `timeoutMs` has passed (false). */
async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 1000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/**
 * The longest run of echoes without a timely reply among those sent after `fromSeq`, in seconds. A
 * reply later than LATE_MS is no reply: a stopped switch holds a few frames and delivers them when
 * it resumes, long after the route has failed.
 */
function longestOutageS(pingLog: string, fromSeq: number, toSeq: number): number {
  const answered = new Set(
    [...pingLog.matchAll(/icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms/g)]
      .filter((m) => Number(m[2]) < LATE_MS)
      .map((m) => Number(m[1]))
      .filter((seq) => seq >= fromSeq),
  );
  let longest = 0;
  let run = 0;
  for (let seq = fromSeq; seq <= toSeq; seq++) {
    run = answered.has(seq) ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  return Math.round(longest * PING_INTERVAL_S * 100) / 100;
}

/** Whether `from`'s best route to `to` is their direct link, as batman-adv's table says. */
async function direct(lab: UmlLab, from: string, to: string): Promise<boolean> {
  const routes = await lab.originators(from);
  const best = routes.find((r) => r.originator === lab.originatorOf(to) && r.best);
  return best !== undefined && lab.linkAddressesOf(to).includes(best.nextHop);
}

/**
 * One cut of `a`–`b` with a ping stream from a to b across it: the outage in seconds. Only once
 * both ends route to each other over that link (else the cut would cost nothing); undefined when
 * they do not within a minute.
 */
async function trial(lab: UmlLab, a: string, b: string, targetIp: string, label: string): Promise<number | undefined> {
  if (!(await until(async () => (await direct(lab, a, b)) && (await direct(lab, b, a)), 60_000))) return undefined;
  const pingLog = () => readFile(join(lab.folderOf(a), "ping.log"), "utf8").catch(() => "");
  await lab.exec(a, `(ping -n -O -i ${String(PING_INTERVAL_S)} ${targetIp} > /mnt/ping.log 2>&1 &)`);
  // A second of replies: the stream flows over the link before it is cut.
  if (!(await until(async () => (await pingLog()).split(" ttl=").length > 1 / PING_INTERVAL_S, 30_000, 100)))
    throw new Error(`no ping replies from ${b} to ${a}`);
  const seqNow = async () =>
    Math.max(0, ...[...(await pingLog()).matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
  const before = await seqNow();
  lab.cut(a, b);
  await sleep(CUT_S * 1000);
  // The echoes sent while the link was down, answered or not.
  const after = before + Math.floor(CUT_S / PING_INTERVAL_S) - 1;
  await lab.exec(a, "pkill ping; true");
  await lab.restore(a, b);
  // Undo what the agents did (hop penalties, a rejoined interface), so the next trial starts level.
  for (const node of lab.nodes)
    await lab.exec(
      node,
      "for i in /sys/class/net/eth*; do batctl hardif ${i##*/} hop_penalty 0 2>/dev/null; done; true",
    );
  const text = await pingLog();
  await mkdir(LOGS, { recursive: true });
  await writeFile(join(LOGS, `${label}.log`), `cut after icmp_seq ${String(before)}\n${text}`);
  return longestOutageS(text, before, after);
}

async function runCase(ring: number, ogmMs: number, agents: boolean): Promise<Case> {
  const name = `conv${String(ring)}`;
  const dir = await mkdtemp(join(tmpdir(), "x0-bench-conv-"));
  const topology = await parseTopology(`ring:${String(ring)}`);
  const uplink = umlUplink(name);
  const print = () => undefined;
  let stop: () => Promise<void>;
  let lab: UmlLab;
  let agentsReady = () => Promise.resolve(true);
  if (agents) {
    // The agents' silence threshold: two OGM intervals (the firmware's minimum is 500 ms).
    const silentAfterMs = Math.max(500, 2 * ogmMs);
    const mesh = await startUmlMesh({ name, topology, dir, ogmIntervalMs: ogmMs, silentAfterMs, print });
    lab = mesh.lab;
    stop = () => mesh.stop();
    // Attested, connected, and enough samples for the reflexes' averages (3) and the edge's baselines.
    agentsReady = async () => {
      const nodes = await mesh.nodes();
      return nodes.length === ring && nodes.every((n) => n.status === "online" && n.samplesStored >= 8);
    };
  } else {
    await createUplink(uplink); // bat0 addresses come with it
    lab = await UmlLab.start({
      name,
      topology,
      dir,
      ogmIntervalMs: ogmMs,
      uplink: { gateway: "n1", addresses: uplink },
    });
    stop = async () => {
      await lab.stop();
      await removeUplink(uplink);
    };
  }
  try {
    await lab.ready(120_000);
    await sleep(WARM_OGMS * ogmMs);
    if (!(await until(agentsReady, 180_000)))
      throw new Error(`the agents of ring:${String(ring)} never all came online`);
    const outagesS: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      // Each trial cuts another link next to n1: a reflex's cooldown (60 s) is per neighbor.
      const peer = t % 2 === 0 ? "n2" : `n${String(ring)}`;
      const what = `ring:${String(ring)} OGM ${String(ogmMs)} ms ${agents ? "agent-assisted" : "batman-adv alone"}`;
      const label = `ring${String(ring)}-${String(ogmMs)}ms-${agents ? "agents" : "alone"}-${String(t)}`;
      const outage = await trial(lab, "n1", peer, uplink.meshIp(topology.nodes.indexOf(peer)), label);
      console.log(
        `${what}: n1–${peer} cut: ${outage === undefined ? "no direct route to cut; skipped" : `${seconds(outage)} s`}`,
      );
      if (outage !== undefined) outagesS.push(outage);
      await sleep(WARM_OGMS * ogmMs);
    }
    return { ring, ogmMs, agents, outagesS };
  } finally {
    await stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** An outage that lasted until the link came back did not end by rerouting: longer than the cut. */
const seconds = (outage: number) => (outage >= CUT_S - 0.1 ? `>${String(CUT_S)}` : String(outage));

async function main(): Promise<void> {
  const unavailable = umlUnavailable();
  if (unavailable) throw new Error(`bench:convergence needs UML: ${unavailable}`);
  const fit = umlNodesThatFit(true);
  const cases: Case[] = [];
  for (const ring of RINGS) {
    for (const ogmMs of OGM_MS) {
      cases.push(await runCase(ring, ogmMs, false));
      if (ring <= fit) cases.push(await runCase(ring, ogmMs, true));
      else console.log(`ring:${String(ring)} with agents: skipped, at most ${String(fit)} agent guests fit here`);
    }
  }
  console.log(
    `\n${"ring".padEnd(6)}${"OGM ms".padEnd(8)}${"batman-adv alone (s)".padEnd(36)}${"agent-assisted (s)".padEnd(36)}ratio`,
  );
  for (const ring of RINGS) {
    for (const ogmMs of OGM_MS) {
      const alone = cases.find((c) => c.ring === ring && c.ogmMs === ogmMs && !c.agents);
      const assisted = cases.find((c) => c.ring === ring && c.ogmMs === ogmMs && c.agents);
      const a = alone ? median(alone.outagesS) : NaN;
      const b = assisted ? median(assisted.outagesS) : NaN;
      const show = (c: Case | undefined) =>
        c ? `${c.outagesS.map(seconds).join(", ")} (median ${seconds(median(c.outagesS))})` : "—";
      console.log(
        `${String(ring).padEnd(6)}${String(ogmMs).padEnd(8)}${show(alone).padEnd(36)}${show(assisted).padEnd(36)}${assisted ? (b / a).toFixed(2) : "—"}`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

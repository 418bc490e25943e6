/**
 * Data-plane costs, as ratios from one run (root; clang, bpftool, nft, gcc):
 *  - drop path: a UDP flood from a namespace over a veth pair, dropped at the receiving end by
 *    xdp_guard's blocklist vs an nftables netdev-ingress rule vs not dropped at all; the figure is
 *    the packets/s the sender pushes through (sendmmsg, C), alternating rounds.
 *  - reading a 4k-entry map from Node through bpftool, against a bare bpftool call.
 *  - convergence after a link failure in the B.A.T.M.A.N. IV simulation (1 s OGMs), beside
 *    batman-adv's measured 6 s (open-mesh BATMAN_V tests, 1 s OGMs) and the seed's 30 s target.
 *   npm run bench:dataplane                 (BENCH_SECONDS per round, default 3; BENCH_ROUNDS, default 3)
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultObjectPath } from "../node-firmware/dataplane/index.js";
import { bpftool, dumpMap, XdpGuard, XG_MAPS } from "../node-firmware/ebpf/index.js";
import { packageRoot, silentLogger } from "../node-firmware/lib/index.js";
import { BatmanIvMesh } from "../node-firmware/mesh/index.js";
import { peerNamespace } from "../lab/index.js";
import { median } from "./stats.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PIN_ROOT = "/sys/fs/bpf/x0tta6bl4-bench";
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Seconds until every node routes around a failed link again, for each link of a 10-node ring with two chords. */
function convergenceSeconds(): number[] {
  const ids = Array.from({ length: 10 }, (_, i) => `n${String(i)}`);
  const links: [string, string][] = [
    ...ids.map((id, i): [string, string] => [id, ids[(i + 1) % ids.length] as string]),
    ["n0", "n5"],
    ["n2", "n7"],
  ];
  return links.map(([a, b]) => {
    const mesh = new BatmanIvMesh(ids, 11);
    for (const [x, y] of links) mesh.connect(x, y, 0.05);
    for (let i = 0; i < 100; i++) mesh.tick();
    mesh.disconnect(a, b);
    const usesDeadLink = () =>
      ids.some((from) =>
        ids.some(
          (to) =>
            from !== to &&
            ((from === a && mesh.bestNextHop(a, to) === b) || (from === b && mesh.bestNextHop(b, to) === a)),
        ),
      );
    let seconds = 0;
    while (usesDeadLink() && seconds < 300) {
      mesh.tick();
      seconds++;
    }
    return seconds;
  });
}

const converged = convergenceSeconds();
console.log(
  `[dataplane] convergence after a link failure (simulated B.A.T.M.A.N. IV, 1 s OGMs, ${String(converged.length)} links of a 10-node mesh): ` +
    `median ${String(median(converged))} s, worst ${String(Math.max(...converged))} s; batman-adv measured 6 s (open-mesh BATMAN_V tests), seed target 30 s`,
);

if (process.getuid?.() !== 0) {
  console.error("bench:dataplane needs root (namespaces, XDP, nftables)");
  process.exit(2);
}
const root = packageRoot();
execFileSync("make", ["-s", "-C", join(root, "bpf")]);
const work = await mkdtemp(join(tmpdir(), "x0-bench-dp-"));
const flood = join(work, "udp-flood");
execFileSync("gcc", ["-O2", "-o", flood, join(root, "bench", "native", "udp-flood.c")]);
const peer = peerNamespace(`x0b${String(process.pid % 10000)}`, "10.251.9");
const nft = (...args: string[]) => execFileSync("nft", args, { stdio: "pipe" });

function pushThrough(): number {
  const out = peer.exec(flood, peer.hostIp, "9", String(SECONDS));
  const { sent, seconds } = JSON.parse(out) as { sent: number; seconds: number };
  return sent / seconds;
}

const runs: Record<"no filter" | "nftables ingress drop" | "XDP drop (generic)" | "XDP drop (native)", number[]> = {
  "no filter": [],
  "nftables ingress drop": [],
  "XDP drop (generic)": [],
  "XDP drop (native)": [],
};
let guard: XdpGuard | undefined;

async function xdpDrop(mode: "native" | "generic"): Promise<number> {
  guard = await XdpGuard.attach(
    { interfaces: [peer.hostIf], objectPath: defaultObjectPath(), pinRoot: PIN_ROOT, mode },
    silentLogger,
  );
  await guard.isolate(peer.peerIp, 3600);
  const rate = pushThrough();
  if ((await guard.snapshot()).dropped.blocked === 0)
    throw new Error("XDP dropped nothing: the measurement is not of XDP");
  return rate;
}
try {
  for (let round = 0; round < ROUNDS; round++) {
    runs["no filter"].push(pushThrough());

    nft("add", "table", "netdev", "x0bench");
    nft(
      "add",
      "chain",
      "netdev",
      "x0bench",
      "ingress",
      `{ type filter hook ingress device ${peer.hostIf} priority -500 ; }`,
    );
    nft("add", "rule", "netdev", "x0bench", "ingress", "ip", "saddr", peer.peerIp, "drop");
    runs["nftables ingress drop"].push(pushThrough());
    nft("delete", "table", "netdev", "x0bench");

    runs["XDP drop (generic)"].push(await xdpDrop("generic"));
    await guard?.close();
    runs["XDP drop (native)"].push(await xdpDrop("native"));
    if (round < ROUNDS - 1) {
      await guard?.close();
      guard = undefined;
    }
  }
  const base = median(runs["no filter"]);
  console.log(`[dataplane] drop path, ${String(ROUNDS)} rounds × ${String(SECONDS)} s, UDP 18-byte payloads over veth`);
  for (const [name, values] of Object.entries(runs)) {
    console.log(
      `  ${name.padEnd(22)} ${fmt(median(values)).padStart(10)} packets/s pushed through  (${(median(values) / base).toFixed(2)}× no filter)`,
    );
  }
  const nftRate = median(runs["nftables ingress drop"]);
  console.log(
    `  XDP vs nftables: native ${(median(runs["XDP drop (native)"]) / nftRate).toFixed(2)}×, generic ${(median(runs["XDP drop (generic)"]) / nftRate).toFixed(2)}×`,
  );

  // A full blocklist (4096 entries, one already there), read the way the agent reads it.
  const sources = Array.from(
    { length: 4095 },
    (_, i) => `10.${String(100 + (i >> 16))}.${String((i >> 8) & 0xff)}.${String(i & 0xff)}`,
  );
  await guard?.block(sources.map((source) => ({ source, ttlSeconds: 3600 })));
  const blocklist = join(PIN_ROOT, peer.hostIf, "maps", XG_MAPS.blocklist);
  const time = async (what: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < 15; i++) {
      const started = performance.now();
      await what();
      samples.push(performance.now() - started);
    }
    return median(samples);
  };
  const bare = await time(() => bpftool(["version"]));
  const read = await time(async () => {
    const entries = await dumpMap(blocklist);
    if (entries.length !== 4096) throw new Error(`read ${String(entries.length)} entries`);
  });
  console.log(
    `[dataplane] reading a 4,096-entry map from Node: ${read.toFixed(1)} ms, ${(read / bare).toFixed(1)}× a bare bpftool call (${bare.toFixed(1)} ms)`,
  );
} finally {
  await guard?.close();
  try {
    nft("delete", "table", "netdev", "x0bench");
  } catch {
    /* not there */
  }
  peer.remove();
  execFileSync("rm", ["-rf", PIN_ROOT]);
  await rm(work, { recursive: true, force: true });
}

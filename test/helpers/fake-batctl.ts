import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fnv1a } from "../../node-firmware/lib/hash.js";
import type { BatmanIvMesh } from "../../node-firmware/mesh/simulated/batman-iv.js";

export const FAKE_BATCTL_DIR = resolve(import.meta.dirname, "..", "fixtures", "fake-batctl");

/** A locally administered MAC per simulated node. */
export function simulatedMac(id: string): string {
  const h = fnv1a(id);
  return ["02", "5e", ...[24, 16, 8, 0].map((shift) => ((h >>> shift) & 0xff).toString(16).padStart(2, "0"))].join(":");
}

/** What batctl would print on `node`, from the simulator, in batctl's field names, written where the fake reads it. */
export async function writeFakeBatctlState(
  file: string,
  mesh: BatmanIvMesh,
  node: string,
  /** The hard interface of each link, by neighbor: one for all, or one per link (the UML lab's way). */
  hardInterface: string | ((neighbor: string) => string) = "mesh0",
  meshInterface = "bat0",
): Promise<void> {
  const hardifOf = typeof hardInterface === "string" ? () => hardInterface : hardInterface;
  const originators = mesh.originators(node).map((r) => ({
    hard_ifindex: 3,
    hard_ifname: hardifOf(r.neighbor),
    orig_address: simulatedMac(r.originator),
    neigh_address: simulatedMac(r.neighbor),
    last_seen_msecs: r.lastSeenMs,
    tq: r.tq,
    ...(r.best ? { best: true } : {}),
  }));
  const neighbors = mesh.neighbors(node).map((n) => ({
    hard_ifindex: 3,
    hard_ifname: hardifOf(n.neighbor),
    neigh_address: simulatedMac(n.neighbor),
    last_seen_msecs: n.lastSeenMs,
  }));
  const linked = [...new Set([...originators, ...neighbors].map((entry) => entry.hard_ifname))];
  const hardifs = linked.length > 0 ? linked : [hardifOf("")];
  const state = {
    meshifs: {
      [meshInterface]: {
        originators,
        neighbors,
        gateways: [],
        settings: {
          mesh_ifname: meshInterface,
          algo_name: "BATMAN_IV",
          hop_penalty: 30,
          orig_interval: 1000,
          gw_mode: "off",
          hard_ifname: hardifs[0],
        },
        interfaces: hardifs,
      },
    },
    hardifs: Object.fromEntries(hardifs.map((name) => [name, { hop_penalty: 0 }])),
  };
  await writeFile(file, JSON.stringify(state));
}

export const fakeBatctlLog = (stateFile: string) => join(`${stateFile}.log`);

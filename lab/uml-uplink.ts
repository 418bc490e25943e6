import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * How a UML lab's mesh reaches the host: one tap device on the host, plugged into the gateway
 * guest as its uplink (UML's `tuntap` transport). The gateway forwards between bat0 and the tap,
 * the other guests route through the gateway over the mesh, and the host routes the mesh's
 * subnet through the tap: the edge on the host sees nodes attest and the gateway post batches,
 * as a router's uplink would carry them. Chosen over slirpvde (a user-space NAT: the host could
 * not reach the mesh, and every packet crosses one more process) and over a broker on the host
 * (the broker is the gateway's, on the mesh).
 */
export interface UmlUplink {
  tap: string;
  /** The host's end of the tap, where the edge listens. */
  hostIp: string;
  /** The gateway guest's end, with its prefix length. */
  gatewayUplinkCidr: string;
  /** The mesh's subnet on bat0 (a /24: a lab has at most 64 nodes). */
  meshSubnet: string;
  /** Node `index`'s address on bat0, with the prefix length. */
  meshCidr(index: number): string;
  meshIp(index: number): string;
}

/** A lab name's slot in 10.97.X.0 (uplinks) and 10.98.X.0 (meshes): labs with other names rarely share one. */
function slotOf(name: string): number {
  let hash = 2166136261;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash % 250;
}

export function umlUplink(name: string): UmlUplink {
  const slot = String(slotOf(name));
  const meshIp = (index: number) => `10.98.${slot}.${String(index + 1)}`;
  return {
    tap: `x0u-${name}`.slice(0, 15),
    hostIp: `10.97.${slot}.1`,
    gatewayUplinkCidr: `10.97.${slot}.2/30`,
    meshSubnet: `10.98.${slot}.0/24`,
    meshCidr: (index) => `${meshIp(index)}/24`,
    meshIp,
  };
}

/** Makes the host's end: the tap (removed first if an earlier lab left it) with the host's address. */
export async function createUplink(uplink: UmlUplink): Promise<void> {
  await removeUplink(uplink);
  await run("ip", ["tuntap", "add", uplink.tap, "mode", "tap"]);
  await run("ip", ["addr", "add", `${uplink.hostIp}/30`, "dev", uplink.tap]);
  await run("ip", ["link", "set", uplink.tap, "up"]);
  const gateway = uplink.gatewayUplinkCidr.split("/")[0] as string;
  // onlink: the tap has no carrier until the gateway guest plugs into it.
  await run("ip", ["route", "add", uplink.meshSubnet, "via", gateway, "dev", uplink.tap, "onlink"]);
}

/** Removes the tap (its address and route go with it); true when there was one. */
export async function removeUplink(uplink: UmlUplink): Promise<boolean> {
  return run("ip", ["link", "del", uplink.tap]).then(
    () => true,
    () => false,
  );
}

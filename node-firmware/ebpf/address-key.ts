import { isIPv4, isIPv6 } from "node:net";

/**
 * The 20-byte address key both programs use (struct xg_source in xdp_guard.h, struct
 * th_destination in tcp_health.h): a u32 family (4 or 6), then 16 address bytes, IPv4 in the first 4.
 */
export const ADDRESS_KEY = { size: 20, at: { family: 0, addr: 4 } } as const;

const FAMILY_IPV4 = 4;
const FAMILY_IPV6 = 6;

function ipv6Bytes(address: string): Uint8Array {
  const [head = "", tail = ""] = address.includes("::") ? address.split("::") : [address, ""];
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const last = (list: string[]) => list.flatMap((g) => (g.includes(".") ? ipv4Groups(g) : [g]));
  const h = last(groups(head));
  const t = last(groups(tail));
  const all = address.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function ipv4Groups(dotted: string): string[] {
  const b = dotted.split(".").map(Number);
  return [(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16), (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)];
}

/** The key for an IP address. */
export function encodeAddressKey(address: string): Uint8Array {
  const key = new Uint8Array(ADDRESS_KEY.size);
  const view = new DataView(key.buffer);
  if (isIPv4(address)) {
    view.setUint32(ADDRESS_KEY.at.family, FAMILY_IPV4, true);
    key.set(address.split(".").map(Number), ADDRESS_KEY.at.addr);
  } else if (isIPv6(address)) {
    view.setUint32(ADDRESS_KEY.at.family, FAMILY_IPV6, true);
    key.set(ipv6Bytes(address), ADDRESS_KEY.at.addr);
  } else {
    throw new Error(`not an IP address: ${address}`);
  }
  return key;
}

/** The IP address a key holds, in canonical text (IPv6 compressed). */
export function decodeAddressKey(key: Uint8Array): string {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const family = view.getUint32(ADDRESS_KEY.at.family, true);
  const addr = key.subarray(ADDRESS_KEY.at.addr, ADDRESS_KEY.at.addr + 16);
  if (family === FAMILY_IPV4) return [...addr.subarray(0, 4)].join(".");
  const groups = Array.from({ length: 8 }, (_, i) => (((addr[2 * i] ?? 0) << 8) | (addr[2 * i + 1] ?? 0)).toString(16));
  // The WHATWG URL parser writes IPv6 hosts in RFC 5952 form (the longest zero run compressed).
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

/**
 * The byte layouts of bpf/xdp_guard.h, the one place TypeScript reads and writes them.
 * test/bpf checks every offset and size here against the BTF of the built object.
 */
import { decodeAddressKey, encodeAddressKey } from "./address-key.js";

/** Each struct: its size and its members' byte offsets, under their C names. */
export const XG_SOURCE = { struct: "xg_source", size: 20, at: { family: 0, addr: 4 } } as const;
/** struct xg_source is an address key. */
export const encodeSource = encodeAddressKey;
export const decodeSource = decodeAddressKey;
export const XG_SOURCE_STATS = {
  struct: "xg_source_stats",
  size: 32,
  at: { packets: 0, bytes: 8, dropped_blocked: 16, dropped_rate: 24 },
} as const;
export const XG_BLOCK = { struct: "xg_block", size: 8, at: { expires_ns: 0 } } as const;
export const XG_LIMIT = {
  struct: "xg_limit",
  size: 48,
  at: { lock: 0, pad: 4, rate_pps: 8, burst: 16, expires_ns: 24, tokens_milli: 32, last_ns: 40 },
} as const;
export const XG_STRUCTS = [XG_SOURCE, XG_SOURCE_STATS, XG_BLOCK, XG_LIMIT] as const;
/** enum xg_counter, in order (XG_DROPPED_BLOCKED is droppedBlocked). */
export const XG_COUNTERS = ["ipv4", "ipv6", "batadv", "other", "truncated", "droppedBlocked", "droppedRate"] as const;
export type XgCounter = (typeof XG_COUNTERS)[number];

export const XG_MAPS = {
  sources: "xg_sources",
  blocklist: "xg_blocklist",
  limits: "xg_limits",
  counters: "xg_counters",
} as const;

export interface SourceStats {
  packets: number;
  bytes: number;
  droppedBlocked: number;
  droppedRate: number;
}

const u64 = (view: DataView, offset: number) => Number(view.getBigUint64(offset, true));

export function decodeSourceStats(value: Uint8Array): SourceStats {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    packets: u64(view, XG_SOURCE_STATS.at.packets),
    bytes: u64(view, XG_SOURCE_STATS.at.bytes),
    droppedBlocked: u64(view, XG_SOURCE_STATS.at.dropped_blocked),
    droppedRate: u64(view, XG_SOURCE_STATS.at.dropped_rate),
  };
}

export function encodeBlock(expiresNs: bigint): Uint8Array {
  const value = new Uint8Array(XG_BLOCK.size);
  new DataView(value.buffer).setBigUint64(XG_BLOCK.at.expires_ns, expiresNs, true);
  return value;
}

export function decodeBlock(value: Uint8Array): { expiresNs: bigint } {
  return {
    expiresNs: new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(
      XG_BLOCK.at.expires_ns,
      true,
    ),
  };
}

/** A fresh token bucket: the program fills it to `burst` on the first packet. */
export function encodeLimit(limit: { packetsPerSecond: number; burst: number; expiresNs: bigint }): Uint8Array {
  const value = new Uint8Array(XG_LIMIT.size);
  const view = new DataView(value.buffer);
  view.setBigUint64(XG_LIMIT.at.rate_pps, BigInt(limit.packetsPerSecond), true);
  view.setBigUint64(XG_LIMIT.at.burst, BigInt(limit.burst), true);
  view.setBigUint64(XG_LIMIT.at.expires_ns, limit.expiresNs, true);
  return value;
}

export function decodeLimit(value: Uint8Array): { packetsPerSecond: number; burst: number; expiresNs: bigint } {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    packetsPerSecond: u64(view, XG_LIMIT.at.rate_pps),
    burst: u64(view, XG_LIMIT.at.burst),
    expiresNs: view.getBigUint64(XG_LIMIT.at.expires_ns, true),
  };
}

export function decodeCounter(value: Uint8Array): number {
  return u64(new DataView(value.buffer, value.byteOffset, value.byteLength), 0);
}

export function encodeCounterIndex(index: number): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, index, true);
  return key;
}

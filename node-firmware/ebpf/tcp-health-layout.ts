/**
 * The byte layouts of bpf/tcp_health.h, the one place TypeScript reads them; test/ebpf checks
 * them against the BTF of the built object.
 */
import { decodeAddressKey } from "./address-key.js";

export const TH_RTT_BUCKETS = 32;
export const TH_DESTINATION = { struct: "th_destination", size: 20, at: { family: 0, addr: 4 } } as const;
export const TH_STATS = {
  struct: "th_stats",
  size: 16 + 8 * TH_RTT_BUCKETS,
  at: { retransmits: 0, rtt_samples: 8, rtt_buckets: 16 },
} as const;
export const TH_STRUCTS = [TH_DESTINATION, TH_STATS] as const;
export const TH_MAPS = { destinations: "th_destinations" } as const;

export interface DestinationHealth {
  destination: string;
  retransmits: number;
  rttSamples: number;
  /** Samples per log2 bucket of the smoothed RTT in µs: bucket b is [2^b, 2^(b+1)). */
  rttBuckets: number[];
}

export function decodeDestinationHealth(key: Uint8Array, value: Uint8Array): DestinationHealth {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const u64 = (offset: number) => Number(view.getBigUint64(offset, true));
  return {
    destination: decodeAddressKey(key),
    retransmits: u64(TH_STATS.at.retransmits),
    rttSamples: u64(TH_STATS.at.rtt_samples),
    rttBuckets: Array.from({ length: TH_RTT_BUCKETS }, (_, b) => u64(TH_STATS.at.rtt_buckets + 8 * b)),
  };
}

/** The median smoothed RTT in µs, as the lower edge of the bucket that holds it; null without samples. */
export function medianRttUs(health: DestinationHealth): number | null {
  let seen = 0;
  for (const [bucket, count] of health.rttBuckets.entries()) {
    seen += count;
    if (seen * 2 >= health.rttSamples && count > 0) return 2 ** bucket;
  }
  return null;
}

/* Map layouts of xdp_guard.bpf.c, shared with its loader (node-firmware/ebpf/xdp-guard-layout.ts
 * reads the same bytes; test/bpf checks both against the object's BTF). */
#ifndef XDP_GUARD_H
#define XDP_GUARD_H

#define XG_MAX_SOURCES 16384 /* LRU evicts before full: 4x the 4k sources we expect to track */
#define XG_MAX_BLOCKED 4096
#define XG_MAX_LIMITED 4096

#define XG_FAMILY_IPV4 4
#define XG_FAMILY_IPV6 6

/* An IP source address; IPv4 uses the first 4 bytes of addr, the rest are zero. */
struct xg_source {
	__u32 family;
	__u8 addr[16];
};

/* Per source, per CPU. */
struct xg_source_stats {
	__u64 packets;
	__u64 bytes;
	__u64 dropped_blocked;
	__u64 dropped_rate;
};

/* A blocklist entry; the program deletes it and passes the packet once expires_ns is behind
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC). */
struct xg_block {
	__u64 expires_ns;
};

/* A token bucket per source. The loader writes rate, burst and expiry; the program owns the
 * rest. tokens are in milli-packets so that low rates refill smoothly. */
struct xg_limit {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 rate_pps;
	__u64 burst;
	__u64 expires_ns;
	__u64 tokens_milli;
	__u64 last_ns;
};

/* Indexes of the per-CPU global counters. */
enum xg_counter {
	XG_IPV4 = 0,
	XG_IPV6,
	XG_BATADV,    /* batman-adv frames (ethertype 0x4305): counted, always passed */
	XG_OTHER,     /* ARP and anything else it does not parse: passed */
	XG_TRUNCATED, /* shorter than the header its ethertype announces: passed */
	XG_DROPPED_BLOCKED,
	XG_DROPPED_RATE,
	XG_COUNTERS,
};

#endif

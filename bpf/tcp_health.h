/* Map layouts of tcp_health.bpf.c, shared with its loader (node-firmware/ebpf/tcp-health-layout.ts). */
#ifndef TCP_HEALTH_H
#define TCP_HEALTH_H

#define TH_MAX_DESTINATIONS 4096
#define TH_RTT_BUCKETS 32 /* log2 of the smoothed RTT in microseconds: bucket b holds [2^b, 2^(b+1)) */

#define TH_FAMILY_IPV4 4
#define TH_FAMILY_IPV6 6

/* A remote address; IPv4 uses the first 4 bytes of addr. Same layout as xdp_guard's xg_source. */
struct th_destination {
	__u32 family;
	__u8 addr[16];
};

struct th_stats {
	__u64 retransmits;
	__u64 rtt_samples;
	__u64 rtt_buckets[TH_RTT_BUCKETS];
};

#endif

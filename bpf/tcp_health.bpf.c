// SPDX-License-Identifier: GPL-2.0
/* TCP health per destination from a cgroup's sockets: retransmitted segments and the smoothed RTT
 * in log2 buckets, through the sockops RETRANS and RTT callbacks it switches on per connection. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tcp_health.h"

/* From <sys/socket.h>, which a -target bpf build cannot include. */
#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TH_MAX_DESTINATIONS);
	__type(key, struct th_destination);
	__type(value, struct th_stats);
} th_destinations SEC(".maps");

static __always_inline __u32 log2_bucket(__u32 v)
{
	__u32 r = 0;

#pragma unroll
	for (int shift = 16; shift > 0; shift >>= 1) {
		if (v >= (1U << shift)) {
			v >>= shift;
			r += shift;
		}
	}
	return r < TH_RTT_BUCKETS ? r : TH_RTT_BUCKETS - 1;
}

static __always_inline struct th_stats *stats_of(struct bpf_sock_ops *skops)
{
	struct th_destination key = {};
	struct th_stats zero = {};
	struct th_stats *stats;

	if (skops->family == AF_INET) {
		__u32 ip4 = skops->remote_ip4;

		key.family = TH_FAMILY_IPV4;
		__builtin_memcpy(key.addr, &ip4, 4);
	} else if (skops->family == AF_INET6) {
		__u32 ip6[4] = { skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2], skops->remote_ip6[3] };

		key.family = TH_FAMILY_IPV6;
		__builtin_memcpy(key.addr, ip6, 16);
	} else {
		return 0;
	}
	stats = bpf_map_lookup_elem(&th_destinations, &key);
	if (stats)
		return stats;
	bpf_map_update_elem(&th_destinations, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&th_destinations, &key);
}

SEC("sockops")
int tcp_health(struct bpf_sock_ops *skops)
{
	struct th_stats *stats;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_RETRANS_CB_FLAG);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		stats = stats_of(skops);
		if (stats) {
			__sync_fetch_and_add(&stats->rtt_samples, 1);
			__sync_fetch_and_add(&stats->rtt_buckets[log2_bucket(skops->srtt_us >> 3)], 1);
		}
		break;
	case BPF_SOCK_OPS_RETRANS_CB:
		stats = stats_of(skops);
		/* args[1]: segments retransmitted in this call */
		if (stats)
			__sync_fetch_and_add(&stats->retransmits, skops->args[1]);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

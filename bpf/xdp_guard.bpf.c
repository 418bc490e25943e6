// SPDX-License-Identifier: GPL-2.0
/* XDP guard: per-source counters, a blocklist with in-kernel expiry and a per-source token
 * bucket. Anything it does not understand is passed. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdp_guard.h"

#define ETH_P_BATADV 0x4305
#define ETH_P_8021AD_ 0x88A8
#define NS_PER_SEC 1000000000ULL

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, XG_MAX_SOURCES);
	__type(key, struct xg_source);
	__type(value, struct xg_source_stats);
} xg_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XG_MAX_BLOCKED);
	__type(key, struct xg_source);
	__type(value, struct xg_block);
} xg_blocklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XG_MAX_LIMITED);
	__type(key, struct xg_source);
	__type(value, struct xg_limit);
} xg_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XG_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} xg_counters SEC(".maps");

static __always_inline void count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&xg_counters, &index);

	if (value)
		*value += 1;
}

/* Fills src from the IP header after the Ethernet header(s); returns the xg_counter to count. */
static __always_inline int parse_source(void *data, void *data_end, struct xg_source *src)
{
	struct ethhdr *eth = data;
	void *cursor = eth + 1;
	__u16 proto;

	if (cursor > data_end)
		return XG_TRUNCATED;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD_) {
		struct vlan_tag *vlan = cursor;

		if ((void *)(vlan + 1) > data_end)
			return XG_TRUNCATED;
		proto = bpf_ntohs(vlan->proto);
		cursor = vlan + 1;
	}
	if (proto == ETH_P_BATADV)
		return XG_BATADV;
	if (proto == ETH_P_IP) {
		struct iphdr *ip = cursor;

		if ((void *)(ip + 1) > data_end)
			return XG_TRUNCATED;
		src->family = XG_FAMILY_IPV4;
		__builtin_memcpy(src->addr, &ip->saddr, 4);
		return XG_IPV4;
	}
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = cursor;

		if ((void *)(ip6 + 1) > data_end)
			return XG_TRUNCATED;
		src->family = XG_FAMILY_IPV6;
		__builtin_memcpy(src->addr, &ip6->saddr, 16);
		return XG_IPV6;
	}
	return XG_OTHER;
}

static __always_inline int blocked(struct xg_source *src, __u64 now)
{
	struct xg_block *entry = bpf_map_lookup_elem(&xg_blocklist, src);

	if (!entry)
		return 0;
	if (now < entry->expires_ns)
		return 1;
	bpf_map_delete_elem(&xg_blocklist, src);
	return 0;
}

static __always_inline int over_rate(struct xg_source *src, __u64 now)
{
	struct xg_limit *limit = bpf_map_lookup_elem(&xg_limits, src);
	__u64 elapsed_ms, refill, cap;
	int drop;

	if (!limit)
		return 0;
	if (now >= limit->expires_ns) {
		bpf_map_delete_elem(&xg_limits, src);
		return 0;
	}
	bpf_spin_lock(&limit->lock);
	cap = limit->burst * 1000;
	if (limit->last_ns == 0) {
		limit->tokens_milli = cap;
		limit->last_ns = now;
	} else if (now > limit->last_ns) {
		/* rate_pps tokens per second = rate_pps milli-tokens per millisecond. Only whole
		 * milliseconds are credited, and last_ns moves by exactly what was credited: the
		 * remainder carries over to the next packet instead of being lost with each one.
		 */
		elapsed_ms = (now - limit->last_ns) / 1000000;
		refill = elapsed_ms * limit->rate_pps;
		limit->tokens_milli = limit->tokens_milli + refill > cap ? cap : limit->tokens_milli + refill;
		limit->last_ns += elapsed_ms * 1000000;
	}
	drop = limit->tokens_milli < 1000;
	if (!drop)
		limit->tokens_milli -= 1000;
	bpf_spin_unlock(&limit->lock);
	return drop;
}

static __always_inline struct xg_source_stats *stats_of(struct xg_source *src)
{
	struct xg_source_stats *stats = bpf_map_lookup_elem(&xg_sources, src);
	struct xg_source_stats zero = {};

	if (stats)
		return stats;
	bpf_map_update_elem(&xg_sources, src, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&xg_sources, src);
}

SEC("xdp")
int xdp_guard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xg_source src = {};
	struct xg_source_stats *stats;
	__u64 now;
	int kind = parse_source(data, data_end, &src);

	count(kind);
	if (kind != XG_IPV4 && kind != XG_IPV6)
		return XDP_PASS;
	now = bpf_ktime_get_ns();
	stats = stats_of(&src);
	if (stats) {
		stats->packets += 1;
		stats->bytes += data_end - data;
	}
	if (blocked(&src, now)) {
		if (stats)
			stats->dropped_blocked += 1;
		count(XG_DROPPED_BLOCKED);
		return XDP_DROP;
	}
	if (over_rate(&src, now)) {
		if (stats)
			stats->dropped_rate += 1;
		count(XG_DROPPED_RATE);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

/* tcp_seg — what both BPF programs (xdp_syn answering SYNs, tc_ack checking
 * handshake ACKs) read from a TCP segment, and the maps they share: the
 * protected endpoints, this host's addresses, the keys. The loader
 * (../fastpath.c) makes the TC program use the XDP program's maps.
 *
 * Include after the kernel's headers and bpf_helpers.h.
 */
#ifndef SYNGUARD_TCP_SEG_H
#define SYNGUARD_TCP_SEG_H

#include "synack.h"
#include "xdp_shared.h"

/* IPv4 header fields. */
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* TCP header: its flags byte and the flags in it (BSD's names: linux/tcp.h
 * has TCP_FLAG_* as 32-bit words). */
#define TCP_HLEN 20
#define TCP_HLEN_MAX 60
#define TCP_FLAGS_OFF 13
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* Options walked in a segment: as many as 40 bytes of options can hold (all
 * NOPs), so no legal header is refused for its length. bpf_loop() has the
 * verifier check one step whatever the bound. */
#define OPT_WALK_MAX 40

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_params);
} params SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct xdp_endpoint);
	__type(value, __u8);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDP_LOCAL_ADDRS_MAX);
	__type(key, struct xdp_addr);
	__type(value, __u8);
} local_addrs SEC(".maps");

/* A segment's addresses, ports and handshake fields. Addresses and ports in
 * network order, the rest host order. */
struct seg {
	__u8 family;
	__u8 flags;
	__u8 saddr[16], daddr[16];
	__u16 sport, dport;
	__u32 seq, ack;
};

/* Where its headers are in the frame, and what its IP header says of the
 * rest. */
struct hdrs {
	struct ethhdr *eth;
	struct tcphdr *tcp;
	__u32 l3len;      /* the IP header's */
	__u32 ip_payload; /* what the IP header says follows it */
	int ip_sane;      /* lengths and IPv4 header checksum as ip_rcv checks them */
};

static __always_inline __u32 csum_add(__u32 sum, const void *p, __u32 words)
{
	const __u16 *w = p;

#pragma unroll
	for (__u32 i = 0; i < TCP_HLEN_MAX / 2; i++)
		if (i < words)
			sum += w[i];
	return sum;
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The TCP checksum's sum over the pseudo-header: addresses, protocol,
 * length. The unused bytes of IPv4 addresses are zero, so summing all 16 is
 * the same sum. */
static __always_inline __u32 csum_pseudo(const struct seg *s, __u32 tcplen)
{
	__u32 sum = csum_add(0, s->saddr, 8);

	sum = csum_add(sum, s->daddr, 8);
	return sum + bpf_htons(IPPROTO_TCP) + bpf_htons((__u16)tcplen);
}

/* The frame's headers, between `data` and `data_end`. Returns 1 for TCP over
 * IPv4 (without IP options, not a fragment) or IPv6 (TCP the first next
 * header), with `h` and `s` filled; 0 for anything else, which the kernel
 * gets untouched. */
static __always_inline int dissect(void *data, void *data_end, struct hdrs *h, struct seg *s)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return 0;
	h->eth = eth;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->ihl != sizeof(*ip) / 4 ||
		    ip->protocol != IPPROTO_TCP || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return 0;
		s->family = SYNACK_AF_INET;
		__builtin_memcpy(s->saddr, &ip->saddr, 4);
		__builtin_memcpy(s->daddr, &ip->daddr, 4);
		h->l3len = sizeof(*ip);
		/* As ip_rcv checks: the header's checksum, a total length
		 * that covers the header and fits the frame. */
		__u32 total = bpf_ntohs(ip->tot_len);
		h->ip_sane = total >= sizeof(*ip) && total <= (__u32)(data_end - (void *)ip) &&
		             csum_fold(csum_add(0, ip, sizeof(*ip) / 2)) == 0;
		h->ip_payload = total - sizeof(*ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
			return 0;
		s->family = SYNACK_AF_INET6;
		__builtin_memcpy(s->saddr, &ip6->saddr, 16);
		__builtin_memcpy(s->daddr, &ip6->daddr, 16);
		h->l3len = sizeof(*ip6);
		h->ip_payload = bpf_ntohs(ip6->payload_len);
		h->ip_sane = h->ip_payload <= (__u32)(data_end - (void *)(ip6 + 1));
	} else {
		return 0;
	}
	h->tcp = (void *)eth + sizeof(*eth) + h->l3len;
	if ((void *)(h->tcp + 1) > data_end)
		return 0;
	s->flags = ((__u8 *)h->tcp)[TCP_FLAGS_OFF];
	s->sport = h->tcp->source;
	s->dport = h->tcp->dest;
	s->seq = bpf_ntohl(h->tcp->seq);
	s->ack = bpf_ntohl(h->tcp->ack_seq);
	return 1;
}

#define PROTECTED_ADDR 1     /* the listen address itself */
#define PROTECTED_WILDCARD 2 /* a wildcard listen: any address of ours */

/* Is the segment for a protected address:port, and how? 0 if not. */
static __always_inline int protected(const struct seg *s)
{
	struct xdp_endpoint ep = { .family = s->family, .port = s->dport };

	__builtin_memcpy(ep.addr, s->daddr, 16);
	if (bpf_map_lookup_elem(&endpoints, &ep))
		return PROTECTED_ADDR;
	__builtin_memset(ep.addr, 0, 16);
	return bpf_map_lookup_elem(&endpoints, &ep) ? PROTECTED_WILDCARD : 0;
}

static __always_inline int is_local(__u8 family, const __u8 *addr)
{
	struct xdp_addr a = { .family = family };

	__builtin_memcpy(a.addr, addr, 16);
	return bpf_map_lookup_elem(&local_addrs, &a) != NULL;
}

/* The kernel's socket for the segment's 4-tuple: an established, TIME_WAIT
 * or request socket if there is one, else the listener; NULL if none.
 * Release it with bpf_sk_release(). */
static __always_inline struct bpf_sock *lookup_socket(void *ctx, const struct seg *s)
{
	struct bpf_sock_tuple t = {};
	__u32 size;

	if (s->family == SYNACK_AF_INET) {
		__builtin_memcpy(&t.ipv4.saddr, s->saddr, 4);
		__builtin_memcpy(&t.ipv4.daddr, s->daddr, 4);
		t.ipv4.sport = s->sport;
		t.ipv4.dport = s->dport;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, s->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, s->daddr, 16);
		t.ipv6.sport = s->sport;
		t.ipv6.dport = s->dport;
		size = sizeof(t.ipv6);
	}
	return bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
}

/* The cookie cookie_make() computes for a SYN from `s`'s 4-tuple with
 * client ISN `isn` and low byte `low`, under key `k`. */
static __always_inline __u32 seg_cookie(const struct seg *s, __u32 isn, __u8 low, const struct xdp_keyslot *k)
{
	struct synack_msg m;

	synack_msg_fill(&m, s->family, s->saddr, s->daddr, bpf_ntohs(s->sport), bpf_ntohs(s->dport), isn,
	                low);
	return synack_cookie(synack_siphash(&m, k->k0, k->k1), low);
}

/* Walking a segment's TCP options in a copy of its header (`len` <= 60 of
 * its 64 bytes, the rest zero; indexes are masked so every read is provably
 * in bounds). A bpf_loop() callback, so the verifier checks one step, not
 * every path through all of them. */
struct opt_walk {
	__u8 th[64];
	__u32 i, len;
	__u32 bad;
	__u32 tsval, tsecr;
	__u16 mss;
	__u8 has_mss, has_wscale, wscale, sack_ok, has_ts;
};

#define OPT(i) w->th[(i)&63]
static __always_inline __u32 opt_be32(const struct opt_walk *w, __u32 i)
{
	return (__u32)OPT(i) << 24 | (__u32)OPT(i + 1) << 16 | (__u32)OPT(i + 2) << 8 | OPT(i + 3);
}

static long opt_step(__u32 n, void *ctx)
{
	struct opt_walk *w = ctx;
	__u32 i = w->i;

	(void)n;
	if (i >= w->len)
		return 1;
	__u8 kind = OPT(i);
	if (kind == SYNACK_OPT_EOL) {
		w->i = w->len;
		return 1;
	}
	if (kind == SYNACK_OPT_NOP) {
		w->i = i + 1;
		return 0;
	}
	__u8 olen = OPT(i + 1);
	if (i + 1 >= w->len || olen < 2 || i + olen > w->len) {
		w->bad = 1;
		return 1;
	}
	if (kind == SYNACK_OPT_MSS && olen == SYNACK_OPT_MSS_LEN) {
		w->has_mss = 1;
		w->mss = (__u16)OPT(i + 2) << 8 | OPT(i + 3);
	} else if (kind == SYNACK_OPT_WSCALE && olen == SYNACK_OPT_WSCALE_LEN) {
		w->has_wscale = 1;
		w->wscale = OPT(i + 2);
	} else if (kind == SYNACK_OPT_SACK_OK && olen == SYNACK_OPT_SACK_OK_LEN) {
		w->sack_ok = 1;
	} else if (kind == SYNACK_OPT_TS && olen == SYNACK_OPT_TS_LEN) {
		w->has_ts = 1;
		w->tsval = opt_be32(w, i + 2);
		w->tsecr = opt_be32(w, i + 6);
	}
	w->i = i + olen;
	return 0;
}
#undef OPT

/* The options of the header of `hlen` bytes already in `w->th`. Returns 0
 * if they are malformed. */
static __always_inline int opt_walk(struct opt_walk *w, __u32 hlen)
{
	if (hlen > TCP_HLEN_MAX)
		return 0;
	w->i = TCP_HLEN;
	w->len = hlen;
	bpf_loop(OPT_WALK_MAX, opt_step, w, 0);
	return !w->bad && w->i >= w->len;
}

#endif

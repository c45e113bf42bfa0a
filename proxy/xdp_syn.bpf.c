/* xdp_syn — answer SYNs to protected ports in the driver, before any skb.
 *
 * A pure SYN to a protected address:port becomes, in place, the SYN-ACK
 * synguard would send (same cookie, cookie/cookie.h; same options,
 * pkt_build_synack) and goes back out with XDP_TX. Nothing is allocated and
 * nothing stored. Everything else (ACKs, data, SYNs we cannot answer here)
 * passes to the kernel, where synguard's packet ring sees it as before. A SYN
 * for a 4-tuple with a kernel socket other than TIME_WAIT passes too: the
 * kernel answers it with a challenge ACK (RFC 5961).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "martian.h"
#include "xdp_shared.h"

#define AF_INET 2
#define AF_INET6 10
#define NO_OPTS_MSS 536
#define WSCALE_NONE 0xff

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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* cookie_mss_table and cookie_wscale_table (cookie.c): index of the largest
 * entry <= the offered value. */
static __always_inline __u32 mss_index(__u16 mss)
{
	if (mss >= 1460) return 7;
	if (mss >= 1452) return 6;
	if (mss >= 1440) return 5;
	if (mss >= 1360) return 4;
	if (mss >= 1300) return 3;
	if (mss >= 1220) return 2;
	if (mss >= 536) return 1;
	return 0;
}

static __always_inline __u32 wscale_index(__u8 ws)
{
	if (ws == WSCALE_NONE) return 0;
	if (ws >= 10) return 7;
	if (ws >= 9) return 6;
	if (ws >= 8) return 5;
	if (ws >= 7) return 4;
	if (ws >= 6) return 3;
	if (ws >= 4) return 2;
	return 1;
}

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		(*v)++;
}

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);     \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                        \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                        \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);     \
	} while (0)

/* SipHash-2-4 of the 42-byte cookie message (5 words + 2 bytes). */
static __always_inline __u64 siphash42(const __u64 m[6], __u64 k0, __u64 k1)
{
	__u64 v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	__u64 v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	__u64 b = ((__u64)42 << 56) | (m[5] & 0xffff);

#pragma unroll
	for (int i = 0; i < 5; i++) {
		v3 ^= m[i];
		SIPROUND;
		SIPROUND;
		v0 ^= m[i];
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* What we learn from the SYN. Addresses and ports in network order. */
struct syn {
	__u8 family;
	__u8 saddr[16], daddr[16];
	__u16 sport, dport;
	__u32 isn;        /* host order */
	__u16 mss;        /* offered, host order */
	__u8 wscale;      /* offered, or WSCALE_NONE */
	__u8 sack_ok, has_ts;
	__u32 tsval;      /* network order, echoed as is */
};

static __always_inline __u32 cookie_of(const struct syn *s, const struct xdp_keyslot *k)
{
	__u64 m[6] = {};
	__u8 *p = (__u8 *)m;
	__u8 low = (__u8)(k->parity << 7 | mss_index(s->mss) << 4 | wscale_index(s->wscale) << 1 |
			  (s->sack_ok ? 1 : 0));
	__u32 isn = bpf_htonl(s->isn);

	p[0] = s->family;
	/* For IPv4 only 4 bytes are set: the other 12 enter as zeros. */
	__builtin_memcpy(p + 1, s->saddr, 16);
	__builtin_memcpy(p + 17, s->daddr, 16);
	__builtin_memcpy(p + 33, &s->sport, 2);
	__builtin_memcpy(p + 35, &s->dport, 2);
	__builtin_memcpy(p + 37, &isn, 4);
	p[41] = low;

	__u64 h = siphash42(m, k->k0, k->k1);
	/* Bytes 0..2 of the little-endian output are cookie bits 31..8. */
	return (__u32)(h & 0xff) << 24 | (__u32)(h >> 8 & 0xff) << 16 | (__u32)(h >> 16 & 0xff) << 8 | low;
}

/* Walking the SYN's TCP options, copied to `o` (`len` <= 40 of its 64
 * bytes; indexes are masked so every read is provably in bounds). A
 * bpf_loop() callback, so the verifier checks one step, not every path
 * through all of them. */
struct opt_walk {
	__u8 o[64];
	__u32 i, len;
	__u32 bad;
	__u32 tsval;
	__u16 mss;
	__u8 wscale, sack_ok, has_ts;
};

#define OPT(i) w->o[(i) & 63]
static long opt_step(__u32 n, void *ctx)
{
	struct opt_walk *w = ctx;
	__u32 i = w->i;

	(void)n;
	if (i >= w->len)
		return 1;
	__u8 kind = OPT(i);
	if (kind == 0) { /* end of options */
		w->i = w->len;
		return 1;
	}
	if (kind == 1) {
		w->i = i + 1;
		return 0;
	}
	__u8 olen = OPT(i + 1);
	if (i + 1 >= w->len || olen < 2 || i + olen > w->len) {
		w->bad = 1;
		return 1;
	}
	if (kind == 2 && olen == 4)
		w->mss = (__u16)OPT(i + 2) << 8 | OPT(i + 3);
	else if (kind == 3 && olen == 3)
		w->wscale = OPT(i + 2) > 14 ? 14 : OPT(i + 2);
	else if (kind == 4 && olen == 2)
		w->sack_ok = 1;
	else if (kind == 8 && olen == 10) {
		w->has_ts = 1;
		/* Kept in network order: it is only echoed. */
		w->tsval = (__u32)OPT(i + 2) | (__u32)OPT(i + 3) << 8 | (__u32)OPT(i + 4) << 16 |
			   (__u32)OPT(i + 5) << 24;
	}
	w->i = i + olen;
	return 0;
}

/* The options we need (`len` <= 40 bytes at `o`), into `s`. Returns 0 if
 * they are malformed or more than 10 entries (real SYNs have at most 7):
 * the ring path answers those. */
static __always_inline int parse_opts(const __u8 *o, __u32 len, struct syn *s)
{
	struct opt_walk w = { .len = len, .mss = NO_OPTS_MSS, .wscale = WSCALE_NONE };

	if (len > 40)
		return 0;
	__builtin_memcpy(w.o, o, 40);
	bpf_loop(10, opt_step, &w, 0);
	if (w.bad || w.i < w.len)
		return 0;
	s->mss = w.mss;
	s->wscale = w.wscale;
	s->sack_ok = w.sack_ok;
	s->has_ts = w.has_ts;
	s->tsval = w.tsval;
	return 1;
}

static __always_inline __u32 csum_add(__u32 sum, const void *p, __u32 words)
{
	const __u16 *w = p;

#pragma unroll
	for (__u32 i = 0; i < 30; i++)
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

/* Is there a kernel socket for this 4-tuple that should see the SYN? */
static __always_inline int has_live_socket(struct xdp_md *ctx, const struct syn *s)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 size;

	if (s->family == AF_INET) {
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
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	__u32 state = sk->state;
	bpf_sk_release(sk);
	/* TIME_WAIT: the client reused its port; the firewall would drop the
	 * SYN there anyway, so it is ours to answer. */
	return state != BPF_TCP_TIME_WAIT && state != BPF_TCP_CLOSE;
}

#define PROTECTED_ADDR 1     /* the listen address itself */
#define PROTECTED_WILDCARD 2 /* a wildcard listen: any address of ours */

static __always_inline int protected(const struct syn *s)
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

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) | (a[5] ^ b[5])) == 0;
}

/* What the kernel would drop, or not take as addressed to this host. */
enum admit {
	ADMIT_OK,
	ADMIT_PASS,      /* not ours to judge: another host's frame, a data-carrying SYN */
	ADMIT_MARTIAN,
	ADMIT_MALFORMED,
	ADMIT_BAD_CSUM,
};

/* The SYN's link-layer and IP addresses: sent to our MAC, from a unicast
 * MAC and a possible source that is not ours, to one of our addresses.
 * Frames to other MACs (a macvlan's, flooded unknown unicast) and to
 * addresses not ours go on to the kernel, which decides (and the ring
 * counts them). */
static __always_inline enum admit admit_addrs(const struct ethhdr *eth, const struct syn *s,
					      const struct xdp_params *pr, int how)
{
	if (!mac_eq(eth->h_dest, pr->mac))
		return ADMIT_PASS;
	if (eth->h_source[0] & 1)
		return ADMIT_MARTIAN;
	if ((s->family == AF_INET ? martian_src4(s->saddr) : martian_src6(s->saddr)) ||
	    is_local(s->family, s->saddr))
		return ADMIT_MARTIAN;
	if (how == PROTECTED_WILDCARD && !is_local(s->family, s->daddr))
		return ADMIT_PASS;
	return ADMIT_OK;
}

/* The TCP header (all `hlen` bytes, options included) into `th`, and its
 * checksum: the segment must be the header alone, as the IP length says. */
static __always_inline enum admit admit_tcp(struct xdp_md *ctx, __u32 off, __u32 hlen, __u32 ip_payload,
					    const struct syn *s, __u8 th[64])
{
	if (hlen < 20 || hlen > 60 || ip_payload < hlen)
		return ADMIT_MALFORMED;
	if (ip_payload > hlen) /* a SYN with data: the ring path's */
		return ADMIT_PASS;
	if (bpf_xdp_load_bytes(ctx, off, th, hlen & 63))
		return ADMIT_MALFORMED;
	__u32 sum = csum_add(0, s->saddr, 8);
	sum = csum_add(sum, s->daddr, 8);
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons((__u16)hlen);
	sum = csum_add(sum, th, hlen / 2);
	return csum_fold(sum) == 0 ? ADMIT_OK : ADMIT_BAD_CSUM;
}

/* Our options, as pkt.c's synack_opts() writes them. Returns their length. */
static __always_inline __u32 synack_opts(__u8 *o, const struct syn *s, const struct xdp_params *pr, __u32 tsval)
{
	__u32 n = 4;
	__u16 mss = s->mss < pr->mss ? s->mss : pr->mss;

	o[0] = 2; o[1] = 4; o[2] = mss >> 8; o[3] = mss & 0xff;
	if (s->has_ts) {
		if (s->sack_ok) { o[4] = 4; o[5] = 2; } else { o[4] = 1; o[5] = 1; }
		o[6] = 8; o[7] = 10;
		__builtin_memcpy(o + 8, &tsval, 4);
		__builtin_memcpy(o + 12, &s->tsval, 4);
		n = 16;
	} else if (s->sack_ok) {
		o[4] = 1; o[5] = 1; o[6] = 4; o[7] = 2;
		n = 8;
	}
	if (s->wscale != WSCALE_NONE) {
		o[n] = 1; o[n + 1] = 3; o[n + 2] = 3; o[n + 3] = pr->wscale;
		n += 4;
	}
	return n;
}

/* A SYN we will not answer here: dropped and counted when the kernel would
 * drop it too, else passed on (the ring path or the kernel decides). */
static __always_inline int refuse(enum admit why)
{
	switch (why) {
	case ADMIT_MARTIAN:
		count(XDP_STAT_MARTIAN);
		return XDP_DROP;
	case ADMIT_MALFORMED:
		count(XDP_STAT_MALFORMED);
		return XDP_DROP;
	case ADMIT_BAD_CSUM:
		count(XDP_STAT_BAD_CSUM);
		return XDP_DROP;
	default:
		count(XDP_STAT_PASS_OTHER);
		return XDP_PASS;
	}
}

SEC("xdp")
int xdp_syn(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *tcp;
	struct syn s = {};
	__u32 key = 0, l3len, ip_payload;
	int ip_sane, how;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_TCP ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		s.family = AF_INET;
		__builtin_memcpy(s.saddr, &ip->saddr, 4);
		__builtin_memcpy(s.daddr, &ip->daddr, 4);
		l3len = sizeof(*ip);
		/* As ip_rcv checks: the header's checksum, a total length
		 * that covers the header and fits the frame. */
		__u32 total = bpf_ntohs(ip->tot_len);
		ip_sane = total >= sizeof(*ip) && total <= (__u32)(data_end - (void *)ip) &&
			  csum_fold(csum_add(0, ip, sizeof(*ip) / 2)) == 0;
		ip_payload = total - sizeof(*ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
			return XDP_PASS;
		s.family = AF_INET6;
		__builtin_memcpy(s.saddr, &ip6->saddr, 16);
		__builtin_memcpy(s.daddr, &ip6->daddr, 16);
		l3len = sizeof(*ip6);
		ip_payload = bpf_ntohs(ip6->payload_len);
		ip_sane = ip_payload <= (__u32)(data_end - (void *)(ip6 + 1));
	} else {
		return XDP_PASS;
	}
	tcp = (void *)eth + sizeof(*eth) + l3len;
	if ((void *)(tcp + 1) > data_end)
		return XDP_PASS;
	/* Only a pure SYN is a connection request (DESIGN §5b). */
	if ((((__u8 *)tcp)[13] & 0x17) != 0x02)
		return XDP_PASS;
	s.sport = tcp->source;
	s.dport = tcp->dest;
	how = protected(&s);
	if (!how)
		return XDP_PASS;
	count(XDP_STAT_SYN);

	struct xdp_params *pr = bpf_map_lookup_elem(&params, &key);
	if (!pr)
		return refuse(ADMIT_PASS);
	__u8 in_th[64] = {};
	__u32 hlen = tcp->doff * 4;
	enum admit verdict = admit_addrs(eth, &s, pr, how);
	if (verdict == ADMIT_OK)
		verdict = ip_sane ? admit_tcp(ctx, sizeof(*eth) + l3len, hlen, ip_payload, &s, in_th)
				  : ADMIT_MALFORMED;
	if (verdict != ADMIT_OK)
		return refuse(verdict);
	if (!parse_opts(in_th + 20, hlen - 20, &s))
		return refuse(ADMIT_PASS);
	struct xdp_keyslot *k = &pr->slot[pr->current & 1];
	if (!k->ready)
		return refuse(ADMIT_PASS);
	if (has_live_socket(ctx, &s)) {
		count(XDP_STAT_PASS_LIVE);
		return XDP_PASS;
	}
	s.isn = bpf_ntohl(tcp->seq);

	/* The SYN-ACK's TCP header, built aside, then written in place. */
	__u8 th[40] = {};
	__u32 tsval = bpf_htonl((__u32)(bpf_ktime_get_ns() / 1000000));
	__u32 optlen = synack_opts(th + 20, &s, pr, tsval);
	__u32 tcplen = 20 + optlen;
	__u32 seq = bpf_htonl(cookie_of(&s, k)), ack = bpf_htonl(s.isn + 1);
	__builtin_memcpy(th, &s.dport, 2);
	__builtin_memcpy(th + 2, &s.sport, 2);
	__builtin_memcpy(th + 4, &seq, 4);
	__builtin_memcpy(th + 8, &ack, 4);
	th[12] = (__u8)(tcplen / 4) << 4;
	th[13] = 0x12;
	th[14] = pr->window >> 8;
	th[15] = pr->window & 0xff;

	/* Pseudo-header sum: addresses, protocol, length. The unused bytes of
	 * IPv4 addresses are zero, so summing all 16 is the same sum. */
	__u32 sum = csum_add(0, s.saddr, 8);
	sum = csum_add(sum, s.daddr, 8);
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons((__u16)tcplen);
	sum = csum_add(sum, th, tcplen / 2);
	__u16 tcsum = csum_fold(sum);
	__builtin_memcpy(th + 16, &tcsum, 2);

	/* Resize the frame to Ethernet + IP + our TCP header. */
	int delta = (int)(sizeof(*eth) + l3len + tcplen) - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta)) {
		count(XDP_STAT_PASS_OTHER);
		return XDP_PASS;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;

	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	if (s.family == AF_INET) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		ip->tos = 0;
		ip->tot_len = bpf_htons((__u16)(sizeof(*ip) + tcplen));
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = pr->ttl;
		__builtin_memcpy(&ip->saddr, s.daddr, 4);
		__builtin_memcpy(&ip->daddr, s.saddr, 4);
		ip->check = 0;
		ip->check = csum_fold(csum_add(0, ip, sizeof(*ip) / 2));
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		ip6->priority = 0;
		__builtin_memset(ip6->flow_lbl, 0, sizeof(ip6->flow_lbl));
		ip6->payload_len = bpf_htons((__u16)tcplen);
		ip6->hop_limit = pr->ttl;
		__builtin_memcpy(&ip6->saddr, s.daddr, 16);
		__builtin_memcpy(&ip6->daddr, s.saddr, 16);
	}

	__u8 *out = (__u8 *)eth + sizeof(*eth) + l3len;
#pragma unroll
	for (__u32 i = 0; i < 10; i++) {
		if (i * 4 >= tcplen)
			break;
		if ((void *)(out + i * 4 + 4) > data_end)
			return XDP_DROP;
		__builtin_memcpy(out + i * 4, th + i * 4, 4);
	}
	count(XDP_STAT_SYNACK);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* xdp_syn — answer SYNs to protected ports in the driver, before any skb.
 *
 * A pure SYN to a protected address:port becomes, in place, the SYN-ACK
 * synguard would send (same cookie, cookie/cookie.h; same options and
 * fields as pkt_build_synack(): both from cookie/synack.h) and goes back
 * out with XDP_TX. Nothing is allocated and
 * nothing stored. Everything else (ACKs, data, SYNs we cannot answer here)
 * passes to the kernel, where synguard's packet ring sees it as before. A SYN
 * for a 4-tuple with a kernel socket other than TIME_WAIT passes too: the
 * kernel answers it with a challenge ACK (RFC 5961).
 *
 * In steps, as xdp_syn() runs them: dissect the headers, admit or refuse
 * the SYN, look for a live socket, build the SYN-ACK's TCP header, its
 * checksum, rewrite the frame in place.
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
/* A connection request: SYN without FIN, RST or ACK (DESIGN §5b); PSH,
 * URG, ECE and CWR may ride along. */
#define TH_REQUEST_MASK (TH_FIN | TH_SYN | TH_RST | TH_ACK)

#define OPT_WALK_MAX 10 /* options walked in a SYN; real ones have at most 7 */
#define NSEC_PER_MSEC 1000000

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

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		(*v)++;
}

/* What we learn from the SYN. Addresses and ports in network order. */
struct syn {
	__u8 family;
	__u8 saddr[16], daddr[16];
	__u16 sport, dport;
	__u32 isn;   /* host order */
	__u16 mss;   /* offered, host order (synack_offered_mss()) */
	__u8 wscale; /* offered, or SYNACK_WSCALE_NONE */
	__u8 sack_ok, has_ts;
	__u32 tsval; /* host order */
};

/* Where the SYN's headers are in the frame, and what its IP header says of
 * the rest (checked in admit_tcp()). */
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
static __always_inline __u32 csum_pseudo(const struct syn *s, __u32 tcplen)
{
	__u32 sum = csum_add(0, s->saddr, 8);

	sum = csum_add(sum, s->daddr, 8);
	return sum + bpf_htons(IPPROTO_TCP) + bpf_htons((__u16)tcplen);
}

/* Step 1: the frame's headers. Returns 1 for a pure SYN over IPv4 (without
 * IP options, not a fragment) or IPv6 (TCP the first next header), with
 * `h` and the addresses and ports in `s` filled; 0 for anything else,
 * which the kernel gets untouched. */
static __always_inline int dissect(struct xdp_md *ctx, struct hdrs *h, struct syn *s)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
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
	if ((((__u8 *)h->tcp)[TCP_FLAGS_OFF] & TH_REQUEST_MASK) != TH_SYN)
		return 0;
	s->sport = h->tcp->source;
	s->dport = h->tcp->dest;
	s->isn = bpf_ntohl(h->tcp->seq);
	return 1;
}

#define PROTECTED_ADDR 1     /* the listen address itself */
#define PROTECTED_WILDCARD 2 /* a wildcard listen: any address of ours */

/* Is the SYN for a protected address:port, and how? 0 if not. */
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
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
	        (a[5] ^ b[5])) == 0;
}

/* Walking the SYN's TCP options in a copy of its header (`len` <= 60 of
 * its 64 bytes, the rest zero; indexes are masked so every read is provably
 * in bounds). A bpf_loop() callback, so the verifier checks one step, not
 * every path through all of them. */
struct opt_walk {
	__u8 th[64];
	__u32 i, len;
	__u32 bad;
	__u32 tsval;
	__u16 mss;
	__u8 has_mss, has_wscale, wscale, sack_ok, has_ts;
};

#define OPT(i) w->th[(i)&63]
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
		w->tsval = (__u32)OPT(i + 2) << 24 | (__u32)OPT(i + 3) << 16 | (__u32)OPT(i + 4) << 8 |
		           OPT(i + 5);
	}
	w->i = i + olen;
	return 0;
}

/* The options we need, from the header of `hlen` bytes in `w`, into `s`.
 * Returns 0 if they are malformed or more than OPT_WALK_MAX entries: the
 * ring path answers those. */
static __always_inline int parse_opts(struct opt_walk *w, __u32 hlen, struct syn *s)
{
	if (hlen > TCP_HLEN_MAX)
		return 0;
	w->i = TCP_HLEN;
	w->len = hlen;
	bpf_loop(OPT_WALK_MAX, opt_step, w, 0);
	if (w->bad || w->i < w->len)
		return 0;
	s->mss = synack_offered_mss(w->has_mss, w->mss);
	s->wscale = synack_offered_wscale(w->has_wscale, w->wscale);
	s->sack_ok = w->sack_ok;
	s->has_ts = w->has_ts;
	s->tsval = w->tsval;
	return 1;
}

/* What the kernel would drop, or not take as addressed to this host. */
enum admit {
	ADMIT_OK,
	ADMIT_PASS, /* not ours to judge or answer: the kernel's or the ring path's */
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
	if ((s->family == SYNACK_AF_INET ? martian_src4(s->saddr) : martian_src6(s->saddr)) ||
	    is_local(s->family, s->saddr))
		return ADMIT_MARTIAN;
	if (how == PROTECTED_WILDCARD && !is_local(s->family, s->daddr))
		return ADMIT_PASS;
	return ADMIT_OK;
}

/* The TCP header (all `hlen` bytes, options included) into `th`, and its
 * checksum: the segment must be the header alone, as the IP length says. */
static __always_inline enum admit admit_tcp(struct xdp_md *ctx, const struct hdrs *h, __u32 hlen,
                                            const struct syn *s, __u8 th[64])
{
	if (hlen < TCP_HLEN || hlen > TCP_HLEN_MAX || h->ip_payload < hlen)
		return ADMIT_MALFORMED;
	if (h->ip_payload > hlen) /* a SYN with data: the ring path's */
		return ADMIT_PASS;
	if (bpf_xdp_load_bytes(ctx, sizeof(struct ethhdr) + h->l3len, th, hlen & 63))
		return ADMIT_MALFORMED;
	return csum_fold(csum_add(csum_pseudo(s, hlen), th, hlen / 2)) == 0 ? ADMIT_OK : ADMIT_BAD_CSUM;
}

/* Step 2: may we answer this SYN here? Its addresses, its IP header, its
 * TCP header and checksum, its options (into `s`). */
static __always_inline enum admit admit(struct xdp_md *ctx, const struct hdrs *h, struct syn *s,
                                        const struct xdp_params *pr, int how)
{
	struct opt_walk w = {};
	__u32 hlen = h->tcp->doff * 4;
	enum admit verdict = admit_addrs(h->eth, s, pr, how);

	if (verdict == ADMIT_OK)
		verdict = h->ip_sane ? admit_tcp(ctx, h, hlen, s, w.th) : ADMIT_MALFORMED;
	if (verdict != ADMIT_OK)
		return verdict;
	return parse_opts(&w, hlen, s) ? ADMIT_OK : ADMIT_PASS;
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

/* Step 3: is there a kernel socket for this 4-tuple that should see the
 * SYN? */
static __always_inline int has_live_socket(struct xdp_md *ctx, const struct syn *s)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
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
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	__u32 state = sk->state;
	bpf_sk_release(sk);
	/* TIME_WAIT: the client reused its port; the firewall would drop the
	 * SYN there anyway, so it is ours to answer. */
	return state != BPF_TCP_TIME_WAIT && state != BPF_TCP_CLOSE;
}

/* The cookie cookie_make() computes for this SYN with key `k`. */
static __always_inline __u32 cookie_of(const struct syn *s, const struct xdp_keyslot *k)
{
	struct synack_msg m;
	__u8 low = synack_low_pack(k->parity, s->mss, s->wscale, s->sack_ok);

	synack_msg_fill(&m, s->family, s->saddr, s->daddr, bpf_ntohs(s->sport), bpf_ntohs(s->dport), s->isn,
	                low);
	return synack_cookie(synack_siphash(&m, k->k0, k->k1), low);
}

/* Step 4: the SYN-ACK's TCP header with its options (pkt_build_synack()'s,
 * from synack.h) and the cookie under `k` into `th`, built aside. Returns
 * its length. */
static __always_inline __u32 build_synack(__u8 th[TCP_HLEN + SYNACK_OPTS_MAX], const struct syn *s,
                                          const struct xdp_params *pr, const struct xdp_keyslot *k)
{
	__u32 tsval = (__u32)(bpf_ktime_get_ns() / NSEC_PER_MSEC);
	__u16 mss = s->mss < pr->mss ? s->mss : pr->mss; /* ours, bounded by theirs (DESIGN §3) */
	__u32 tcplen = TCP_HLEN + synack_opts_write(th + TCP_HLEN, mss, s->sack_ok, s->has_ts, tsval,
	                                            s->tsval, s->wscale != SYNACK_WSCALE_NONE, SYNACK_WSCALE);
	__u32 seq = bpf_htonl(cookie_of(s, k)), ack = bpf_htonl(s->isn + 1);

	__builtin_memcpy(th, &s->dport, 2);
	__builtin_memcpy(th + 2, &s->sport, 2);
	__builtin_memcpy(th + 4, &seq, 4);
	__builtin_memcpy(th + 8, &ack, 4);
	th[12] = (__u8)(tcplen / 4) << 4;
	th[TCP_FLAGS_OFF] = TH_SYN | TH_ACK;
	synack_put16(th + 14, SYNACK_WINDOW);
	return tcplen;
}

/* Step 5: its checksum, with the addresses it goes back with (swapped: the
 * same sum). */
static __always_inline void synack_csum(__u8 *th, __u32 tcplen, const struct syn *s)
{
	__u16 sum = csum_fold(csum_add(csum_pseudo(s, tcplen), th, tcplen / 2));

	__builtin_memcpy(th + 16, &sum, 2);
}

/* Step 6: the frame made the SYN-ACK in place: resized to Ethernet + IP +
 * our `tcplen` bytes of TCP header `th`, every address swapped. Returns the
 * verdict. */
static __always_inline int rewrite(struct xdp_md *ctx, const struct syn *s, __u32 l3len, const __u8 *th,
                                   __u32 tcplen)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	int delta = (int)(sizeof(struct ethhdr) + l3len + tcplen) - (int)(data_end - data);
	struct ethhdr *eth;

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

	if (s->family == SYNACK_AF_INET) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		ip->tos = 0;
		ip->tot_len = bpf_htons((__u16)(sizeof(*ip) + tcplen));
		ip->id = 0;
		ip->frag_off = bpf_htons(IP_DF);
		ip->ttl = SYNACK_TTL;
		__builtin_memcpy(&ip->saddr, s->daddr, 4);
		__builtin_memcpy(&ip->daddr, s->saddr, 4);
		ip->check = 0;
		ip->check = csum_fold(csum_add(0, ip, sizeof(*ip) / 2));
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		ip6->priority = 0;
		__builtin_memset(ip6->flow_lbl, 0, sizeof(ip6->flow_lbl));
		ip6->payload_len = bpf_htons((__u16)tcplen);
		ip6->hop_limit = SYNACK_TTL;
		__builtin_memcpy(&ip6->saddr, s->daddr, 16);
		__builtin_memcpy(&ip6->daddr, s->saddr, 16);
	}

	__u8 *out = (__u8 *)eth + sizeof(*eth) + l3len;
#pragma unroll
	for (__u32 i = 0; i < (TCP_HLEN + SYNACK_OPTS_MAX) / 4; i++) {
		if (i * 4 >= tcplen)
			break;
		if ((void *)(out + i * 4 + 4) > data_end)
			return XDP_DROP;
		__builtin_memcpy(out + i * 4, th + i * 4, 4);
	}
	count(XDP_STAT_SYNACK);
	return XDP_TX;
}

SEC("xdp")
int xdp_syn(struct xdp_md *ctx)
{
	struct hdrs h = {};
	struct syn s = {};
	struct xdp_params *pr;
	struct xdp_keyslot *k;
	__u8 th[TCP_HLEN + SYNACK_OPTS_MAX] = {};
	__u32 key = 0, tcplen;
	enum admit verdict;
	int how;

	if (!dissect(ctx, &h, &s))
		return XDP_PASS;
	how = protected(&s);
	if (!how)
		return XDP_PASS;
	count(XDP_STAT_SYN);
	pr = bpf_map_lookup_elem(&params, &key);
	if (!pr)
		return refuse(ADMIT_PASS);
	verdict = admit(ctx, &h, &s, pr, how);
	if (verdict != ADMIT_OK)
		return refuse(verdict);
	k = &pr->slot[pr->current & 1];
	if (!k->ready)
		return refuse(ADMIT_PASS);
	if (has_live_socket(ctx, &s)) {
		count(XDP_STAT_PASS_LIVE);
		return XDP_PASS;
	}
	tcplen = build_synack(th, &s, pr, k);
	synack_csum(th, tcplen, &s);
	return rewrite(ctx, &s, h.l3len, th, tcplen);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

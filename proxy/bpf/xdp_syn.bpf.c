/* xdp_syn — answer SYNs to protected ports in the driver, before any skb.
 *
 * A pure SYN to a protected address:port becomes, in place, the SYN-ACK
 * synguard would send (same cookie, cookie/cookie.h; same options and
 * fields as pkt_build_synack(): both from cookie/synack.h) and goes back
 * out with XDP_TX. Nothing is allocated and
 * nothing stored. Everything else (ACKs, data, SYNs we cannot answer here)
 * passes to the kernel, where synguard's packet ring, or tc_ack.bpf.c on the
 * kernel path, sees it. A SYN for a 4-tuple with a kernel socket other than
 * TIME_WAIT passes too: the kernel answers it with a challenge ACK (RFC
 * 5961); on the kernel path, so does one with a TIME_WAIT socket.
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
#include "tcp_seg.h"

/* A connection request: SYN without FIN, RST or ACK (DESIGN §5b); PSH,
 * URG, ECE and CWR may ride along. */
#define TH_REQUEST_MASK (TH_FIN | TH_SYN | TH_RST | TH_ACK)
#define NSEC_PER_MSEC 1000000

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

/* What we learn from the SYN besides its addresses: the options it offered,
 * as the cookie takes them. */
struct syn {
	__u16 mss;   /* offered, host order (synack_offered_mss()) */
	__u8 wscale; /* offered, or SYNACK_WSCALE_NONE */
	__u8 sack_ok, has_ts;
	__u32 tsval; /* host order */
};

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
	        (a[5] ^ b[5])) == 0;
}

/* The options we need, from the header of `hlen` bytes in `w`, into `o`.
 * Returns 0 if they are malformed: the ring path judges those. */
static __always_inline int parse_opts(struct opt_walk *w, __u32 hlen, struct syn *o)
{
	if (!opt_walk(w, hlen))
		return 0;
	o->mss = synack_offered_mss(w->has_mss, w->mss);
	o->wscale = synack_offered_wscale(w->has_wscale, w->wscale);
	o->sack_ok = w->sack_ok;
	o->has_ts = w->has_ts;
	o->tsval = w->tsval;
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
static __always_inline enum admit admit_addrs(const struct ethhdr *eth, const struct seg *s,
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
                                            const struct seg *s, __u8 th[64])
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
 * TCP header and checksum, its options (into `o`). */
static __always_inline enum admit admit(struct xdp_md *ctx, const struct hdrs *h, const struct seg *s,
                                        struct syn *o, const struct xdp_params *pr, int how)
{
	struct opt_walk w = {};
	__u32 hlen = h->tcp->doff * 4;
	enum admit verdict = admit_addrs(h->eth, s, pr, how);

	if (verdict == ADMIT_OK)
		verdict = h->ip_sane ? admit_tcp(ctx, h, hlen, s, w.th) : ADMIT_MALFORMED;
	if (verdict != ADMIT_OK)
		return verdict;
	return parse_opts(&w, hlen, o) ? ADMIT_OK : ADMIT_PASS;
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
 * SYN? With the ring path, a TIME_WAIT socket is not one: the client reused
 * its port, the firewall would drop the SYN there anyway, so it is ours to
 * answer. With tc_ack checking the ACKs it is: the kernel would discard a
 * request socket for a 4-tuple that has any socket (DESIGN §9), so it does
 * its own TIME_WAIT reuse. */
static __always_inline int has_live_socket(struct xdp_md *ctx, const struct seg *s,
                                           const struct xdp_params *pr)
{
	struct bpf_sock *sk = lookup_socket(ctx, s);

	if (!sk)
		return 0;
	__u32 state = sk->state;
	bpf_sk_release(sk);
	if (state == BPF_TCP_LISTEN || state == BPF_TCP_CLOSE)
		return 0;
	return pr->kernel_acks || state != BPF_TCP_TIME_WAIT;
}

/* The cookie cookie_make() computes for this SYN with key `k`. */
static __always_inline __u32 cookie_of(const struct seg *s, const struct syn *o, const struct xdp_keyslot *k)
{
	return seg_cookie(s, s->seq, synack_low_pack(k->epoch, o->mss, o->wscale, o->sack_ok), k);
}

/* Step 4: the SYN-ACK's TCP header with its options (pkt_build_synack()'s,
 * from synack.h) and the cookie under `k` into `th`, built aside. Returns
 * its length. */
static __always_inline __u32 build_synack(__u8 th[TCP_HLEN + SYNACK_OPTS_MAX], const struct seg *s,
                                          const struct syn *o, const struct xdp_params *pr,
                                          const struct xdp_keyslot *k)
{
	__u32 tsval = (__u32)(bpf_ktime_get_ns() / NSEC_PER_MSEC);
	__u16 mss = o->mss < pr->mss ? o->mss : pr->mss; /* ours, bounded by theirs (DESIGN §3) */
	__u32 tcplen = TCP_HLEN + synack_opts_write(th + TCP_HLEN, mss, o->sack_ok, o->has_ts, tsval,
	                                            o->tsval, o->wscale != SYNACK_WSCALE_NONE, SYNACK_WSCALE);
	__u32 seq = bpf_htonl(cookie_of(s, o, k)), ack = bpf_htonl(s->seq + 1);

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
static __always_inline void synack_csum(__u8 *th, __u32 tcplen, const struct seg *s)
{
	__u16 sum = csum_fold(csum_add(csum_pseudo(s, tcplen), th, tcplen / 2));

	__builtin_memcpy(th + 16, &sum, 2);
}

/* Step 6: the frame made the SYN-ACK in place: resized to Ethernet + IP +
 * our `tcplen` bytes of TCP header `th`, every address swapped. Returns the
 * verdict. */
static __always_inline int rewrite(struct xdp_md *ctx, const struct seg *s, __u32 l3len, const __u8 *th,
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
	struct seg s = {};
	struct syn o = {};
	struct xdp_params *pr;
	struct xdp_keyslot *k;
	__u8 th[TCP_HLEN + SYNACK_OPTS_MAX] = {};
	__u32 key = 0, tcplen;
	enum admit verdict;
	int how;

	if (!dissect((void *)(long)ctx->data, (void *)(long)ctx->data_end, &h, &s) ||
	    (s.flags & TH_REQUEST_MASK) != TH_SYN)
		return XDP_PASS;
	how = protected(&s);
	if (!how)
		return XDP_PASS;
	count(XDP_STAT_SYN);
	pr = bpf_map_lookup_elem(&params, &key);
	if (!pr)
		return refuse(ADMIT_PASS);
	verdict = admit(ctx, &h, &s, &o, pr, how);
	if (verdict != ADMIT_OK)
		return refuse(verdict);
	if (pr->draining) { /* ours, but stopping: no new connection */
		count(XDP_STAT_DRAINING);
		return XDP_DROP;
	}
	k = &pr->slot[pr->current % XDP_KEYSLOTS];
	if (!k->ready)
		return refuse(ADMIT_PASS);
	if (has_live_socket(ctx, &s, pr)) {
		count(XDP_STAT_PASS_LIVE);
		return XDP_PASS;
	}
	tcplen = build_synack(th, &s, &o, pr, k);
	synack_csum(th, tcplen, &s);
	return rewrite(ctx, &s, h.l3len, th, tcplen);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

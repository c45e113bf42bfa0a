/* tc_ack — the kernel path's second half: a handshake ACK whose cookie
 * checks out becomes a kernel socket, built by the kernel itself
 * (bpf_sk_assign_tcp_reqsk, Linux >= 6.9; DESIGN §9).
 *
 * At TC ingress, for every ACK (no SYN, no RST) to a protected address:port:
 * a segment for a 4-tuple with a socket (established, request, TIME_WAIT) is
 * the kernel's and passes. Otherwise the listener on the endpoint (synguard's
 * own in relay mode, the web server's in protect mode) gets a request socket
 * if the ACK carries our cookie under the current or previous key (the same
 * exact comparison as cookie_check()), with the options the cookie and the
 * ACK carry; the kernel then puts an ordinary child socket in its accept
 * queue. An ACK with the kernel's own cookie (for a SYN xdp_syn passed to the
 * kernel) passes. Anything else is dropped and counted: passed on, the
 * listener would answer it with a reset.
 *
 * Its decision is also left in the packet's control block (xdp_shared.h,
 * TC_CB_*), where the unit test reads it back.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tcp_seg.h"

/* The kfunc and its attributes, as the kernel's BTF has them. */
struct bpf_tcp_req_attrs {
	__u32 rcv_tsval;
	__u32 rcv_tsecr;
	__u16 mss;
	__u8 rcv_wscale;
	__u8 snd_wscale;
	__u8 ecn_ok;
	__u8 wscale_ok;
	__u8 sack_ok;
	__u8 tstamp_ok;
	__u8 usec_ts_ok;
	__u8 reserved[3];
};
/* The kernel's struct sock, for the prototype only: libbpf matches it with
 * the kernel's by kind, so it must be a struct, not a declaration. */
struct sock {
	int opaque;
};
extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk, struct bpf_tcp_req_attrs *attrs,
                                   int attrs__sz) __ksym;

/* The smallest MSS the kfunc takes (the kernel's own cookie tables' floor):
 * RFC 9293's default for IPv4, IPv6's minimum MTU less headers for IPv6. A
 * smaller one decoded from a cookie is raised to it. */
#define KFUNC_MSS_MIN4 536
#define KFUNC_MSS_MIN6 1220

#define EXPIRED_PER_S 64 /* refused ACKs checked for "expired" per second per CPU */
#define NSEC_PER_SEC 1000000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} tc_stats SEC(".maps");

/* The expired-cookie diagnosis' ration, per CPU. */
struct ration {
	__u64 second;
	__u32 left;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ration);
} tc_ration SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&tc_stats, &stat);

	if (v)
		(*v)++;
}

/* Counted, and told to whoever reads the control block. */
static __always_inline int decide(struct __sk_buff *skb, __u32 stat, __u32 verdict, int action)
{
	count(stat);
	skb->cb[TC_CB_VERDICT] = verdict;
	return action;
}

/* The key of epoch `e` if the loader has it. */
static __always_inline const struct xdp_keyslot *key_of(const struct xdp_params *pr, __u64 e)
{
	const struct xdp_keyslot *k = &pr->slot[e % XDP_KEYSLOTS];

	return k->ready && k->epoch == e ? k : 0;
}

/* May this CPU spend one more MAC this second on telling expired from
 * forged? */
static __always_inline int ration_take(void)
{
	__u32 zero = 0;
	struct ration *r = bpf_map_lookup_elem(&tc_ration, &zero);
	__u64 now = bpf_ktime_get_ns() / NSEC_PER_SEC;

	if (!r)
		return 0;
	if (r->second != now) {
		r->second = now;
		r->left = EXPIRED_PER_S;
	}
	if (!r->left)
		return 0;
	r->left--;
	return 1;
}

enum check {
	CHECK_VALID,
	CHECK_BAD,
	CHECK_EXPIRED,
};

/* cookie_check(): the cookie's parity bit picks the current or the previous
 * epoch's key, and the whole acknowledgment must match (DESIGN §5b). A
 * refused one is checked once more under the key two epochs before that,
 * within the ration, to tell the operator "expired" from "forged". */
static __always_inline enum check check_cookie(const struct seg *s, const struct xdp_params *pr)
{
	__u32 cookie = s->ack - 1, isn = s->seq - 1;
	__u8 low = (__u8)cookie;
	const struct xdp_keyslot *k = &pr->slot[pr->current % XDP_KEYSLOTS];
	__u64 e;

	if (!k->ready)
		return CHECK_BAD;
	e = k->epoch;
	if ((e & 1) != synack_low_parity(low))
		e--;
	k = key_of(pr, e);
	if (k && seg_cookie(s, isn, low, k) == cookie)
		return CHECK_VALID;
	if (!ration_take())
		return CHECK_BAD;
	k = key_of(pr, e - 2);
	return k && seg_cookie(s, isn, low, k) == cookie ? CHECK_EXPIRED : CHECK_BAD;
}

/* What the cookie and the ACK say of the connection, as the kfunc takes it. */
static __always_inline void attrs_of(struct bpf_tcp_req_attrs *a, const struct seg *s,
                                     const struct opt_walk *w)
{
	__u8 low = (__u8)(s->ack - 1), wscale = synack_low_wscale(low);
	__u16 mss = synack_low_mss(low),
	      floor = s->family == SYNACK_AF_INET ? KFUNC_MSS_MIN4 : KFUNC_MSS_MIN6;

	a->mss = mss < floor ? floor : mss;
	if (wscale != SYNACK_WSCALE_NONE) {
		a->wscale_ok = 1;
		a->snd_wscale = wscale;
		a->rcv_wscale = SYNACK_WSCALE; /* what our SYN-ACK said */
	}
	a->sack_ok = synack_low_sack(low);
	if (w->has_ts) {
		a->tstamp_ok = 1;
		a->rcv_tsval = w->tsval;
		a->rcv_tsecr = w->tsecr;
	}
}

/* The kernel's own cookie (bpf_tcp_check_syncookie wants the IP and TCP
 * headers in the packet). */
static __always_inline int kernel_cookie(struct __sk_buff *skb, struct bpf_sock *listener,
                                         const struct seg *s)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	void *ip = data + sizeof(struct ethhdr);

	if (s->family == SYNACK_AF_INET) {
		if (ip + sizeof(struct iphdr) + sizeof(struct tcphdr) > data_end)
			return 0;
		return bpf_tcp_check_syncookie(listener, ip, sizeof(struct iphdr), ip + sizeof(struct iphdr),
		                               sizeof(struct tcphdr)) == 0;
	}
	if (ip + sizeof(struct ipv6hdr) + sizeof(struct tcphdr) > data_end)
		return 0;
	return bpf_tcp_check_syncookie(listener, ip, sizeof(struct ipv6hdr), ip + sizeof(struct ipv6hdr),
	                               sizeof(struct tcphdr)) == 0;
}

/* The ACK to a listener: its headers, its cookie, then the request socket. */
static __always_inline int judge(struct __sk_buff *skb, const struct hdrs *h, const struct seg *s,
                                 struct bpf_sock *listener)
{
	struct bpf_tcp_req_attrs a = {};
	struct opt_walk w = {};
	struct xdp_params *pr;
	struct tcp_sock *tp;
	__u32 hlen = h->tcp->doff * 4, zero = 0;
	enum check c;
	int rc;

	if (!h->ip_sane || hlen < TCP_HLEN || hlen > TCP_HLEN_MAX || h->ip_payload < hlen ||
	    bpf_skb_load_bytes(skb, sizeof(struct ethhdr) + h->l3len, w.th, hlen & 63) || !opt_walk(&w, hlen))
		return decide(skb, TC_STAT_MALFORMED, TC_V_MALFORMED, TC_ACT_SHOT);
	pr = bpf_map_lookup_elem(&params, &zero);
	if (!pr)
		return decide(skb, TC_STAT_BAD_COOKIE, TC_V_BAD_COOKIE, TC_ACT_SHOT);
	c = check_cookie(s, pr);
	if (c != CHECK_VALID) {
		if (kernel_cookie(skb, listener, s))
			return decide(skb, TC_STAT_KERNEL_COOKIE, TC_V_KERNEL_COOKIE, TC_ACT_OK);
		if (c == CHECK_EXPIRED)
			return decide(skb, TC_STAT_EXPIRED, TC_V_EXPIRED, TC_ACT_SHOT);
		return decide(skb, TC_STAT_BAD_COOKIE, TC_V_BAD_COOKIE, TC_ACT_SHOT);
	}
	attrs_of(&a, s, &w);
	skb->cb[TC_CB_MSS] = a.mss;
	skb->cb[TC_CB_WSCALE] = a.snd_wscale | (__u32)a.rcv_wscale << 8 | (__u32)a.wscale_ok << 16 |
	                        (__u32)a.sack_ok << 24;
	skb->cb[TC_CB_TSVAL] = a.rcv_tsval;
	tp = bpf_skc_to_tcp_sock(listener);
	if (!tp)
		return decide(skb, TC_STAT_ASSIGN_FAILED, TC_V_ASSIGN_FAILED, TC_ACT_SHOT);
	rc = bpf_sk_assign_tcp_reqsk(skb, (struct sock *)tp, &a, sizeof(a));
	skb->cb[TC_CB_TS] = a.tstamp_ok | (__u32)(__u8)rc << 8;
	if (rc)
		return decide(skb, TC_STAT_ASSIGN_FAILED, TC_V_ASSIGN_FAILED, TC_ACT_SHOT);
	return decide(skb, TC_STAT_VALID, TC_V_VALID, TC_ACT_OK);
}

/* What the program does not judge goes on to the next program on the
 * interface's tcx chain (another synguard instance's, on other endpoints),
 * or, at its end, to the stack; TC_ACT_OK would end the chain here. */
#define TC_NEXT TC_ACT_UNSPEC

SEC("tc")
int tc_ack(struct __sk_buff *skb)
{
	struct hdrs h = {};
	struct seg s = {};
	struct bpf_sock *sk;
	int how, action;

	if (!dissect((void *)(long)skb->data, (void *)(long)skb->data_end, &h, &s) ||
	    (s.flags & (TH_SYN | TH_RST | TH_ACK)) != TH_ACK)
		return TC_NEXT;
	how = protected(&s);
	if (!how || (how == PROTECTED_WILDCARD && !is_local(s.family, s.daddr)))
		return TC_NEXT;
	sk = lookup_socket(skb, &s);
	if (!sk) {
		count(TC_STAT_NO_LISTENER);
		return TC_NEXT;
	}
	action = sk->state == BPF_TCP_LISTEN ? judge(skb, &h, &s, sk) : TC_NEXT;
	bpf_sk_release(sk);
	return action;
}

char LICENSE[] SEC("license") = "GPL";

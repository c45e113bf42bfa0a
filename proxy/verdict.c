#include "verdict.h"

#include <netinet/in.h>
#include <string.h>

#include "netaddr.h"

size_t verdict_listen_init(const struct config *cfg, struct verdict_listen listen[CONFIG_MAX_LISTEN])
{
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct sockaddr_storage *ss = &cfg->listen[i].addr;
		struct verdict_listen *l = &listen[i];
		const uint8_t *addr;

		l->family = (uint8_t)ss->ss_family;
		l->alen = (uint8_t)netaddr_raw(ss, &addr);
		l->port = netaddr_port(ss);
		memcpy(l->addr, addr, l->alen);
		l->any = netaddr_is_any(ss);
	}
	return cfg->n_listen;
}

void verdict_cookie_tuple(const struct pkt_tcp *seg, struct cookie_tuple *t)
{
	size_t alen = seg->family == AF_INET ? 4 : 16;

	memset(t, 0, sizeof(*t));
	t->family = seg->family;
	memcpy(t->saddr, seg->saddr, alen);
	memcpy(t->daddr, seg->daddr, alen);
	t->sport = seg->sport;
	t->dport = seg->dport;
}

/* The protected endpoint the segment is for, or NULL. */
static const struct verdict_listen *verdict_protected(const struct verdict_ctx *ctx,
                                                      const struct pkt_tcp *seg)
{
	for (size_t i = 0; i < ctx->n_listen; i++) {
		const struct verdict_listen *l = &ctx->listen[i];

		if (l->family == seg->family && l->port == seg->dport &&
		    (l->any || memcmp(l->addr, seg->daddr, l->alen) == 0))
			return l;
	}
	return NULL;
}

/* A source no other host can have: martian, one of ours, or behind a
 * group link-layer address (where our answer would go). */
static bool verdict_martian(const struct verdict_ctx *ctx, const uint8_t *eth, const struct pkt_tcp *seg)
{
	return (eth[6] & 1) || pkt_src_martian(seg->family, seg->saddr) ||
	       localaddr_has(ctx->local, seg->family, seg->saddr);
}

/* Does `seg` carry the very ISNs of the handshake of `k`? */
static bool verdict_handshake(const struct verdict_known *k, const struct pkt_tcp *seg)
{
	return seg->ack == k->cookie + 1 && seg->seq == k->rcv_isn + 1;
}

/* Only for what we act on (the kernel checks the rest itself, and a live
 * connection's bulk data is most of the frames): the TCP checksum, unless
 * the NIC or the kernel vouched for it. */
static bool verdict_csum_ok(const struct pkt_frame *f, const struct pkt_tcp *seg)
{
	return f->csum_ok || pkt_tcp_csum_ok(seg);
}

/* A segment for a live connection: the kernel socket's, but for copies
 * from before it went live (the ring can lag the kernel a few ms). */
static enum verdict verdict_live(const struct pkt_frame *f, const struct verdict_out *out)
{
	const struct pkt_tcp *seg = &out->seg;
	const struct verdict_known *k = &out->known;

	if (seg->payload_len && seg->seq == k->next_seq && f->arrived_ns < k->live_ns)
		return verdict_csum_ok(f, seg) ? VERDICT_LATE_DATA : VERDICT_BAD_CSUM;
	if (seg->flags == PKT_TCP_SYN)
		return verdict_csum_ok(f, seg) ? VERDICT_SYN_ON_LIVE : VERDICT_BAD_CSUM;
	if (seg->flags == PKT_TCP_ACK && seg->payload_len == 0 && verdict_handshake(k, seg) &&
	    f->arrived_ns < k->live_ns)
		return VERDICT_DUP_ACK;
	return VERDICT_KERNEL;
}

/* An ACK for no live connection. A finished one on the same 4-tuple sends
 * late packets, the first carrying its handshake's very seq/ack, which pass
 * the cookie check too: only a valid cookie with new ISNs means the client
 * reused its port. */
static enum verdict verdict_ack(const struct verdict_ctx *ctx, struct verdict_out *out)
{
	const struct pkt_tcp *seg = &out->seg;
	bool finished = out->known.state == VERDICT_TUPLE_FINISHED;

	if (out->known.state == VERDICT_TUPLE_PENDING)
		return VERDICT_EARLY_DATA;
	if (finished && verdict_handshake(&out->known, seg))
		return VERDICT_LATE;
	if (cookie_check(ctx->jar, &out->tuple, seg->seq, seg->ack, ctx->now_s, &out->opts) == COOKIE_VALID)
		return VERDICT_ADOPT;
	if (finished)
		return VERDICT_LATE;
	/* Telling a slow client (or a peer instance's lagging clock) from a
	 * forger costs a second MAC: rationed, so that an ACK flood costs one
	 * MAC per ACK. */
	if (*ctx->diagnose_left == 0)
		return VERDICT_BAD_COOKIE;
	(*ctx->diagnose_left)--;
	return cookie_diagnose(ctx->jar, &out->tuple, seg->seq, seg->ack, ctx->now_s) == COOKIE_EXPIRED
	               ? VERDICT_EXPIRED
	               : VERDICT_BAD_COOKIE;
}

enum verdict verdict_of(const struct verdict_ctx *ctx, const struct pkt_frame *f, struct verdict_out *out)
{
	const struct pkt_tcp *seg = &out->seg;
	const struct verdict_listen *l;

	if (!f->to_host)
		return VERDICT_NOT_FOR_US;
	out->parse_err = pkt_parse_eth(f->data, f->len, &out->seg);
	if (out->parse_err != PKT_OK)
		return VERDICT_MALFORMED;
	l = verdict_protected(ctx, seg);
	if (!l)
		return VERDICT_UNPROTECTED;
	if (verdict_martian(ctx, f->data, seg))
		return VERDICT_MARTIAN;
	/* A wildcard listen answers for our addresses only: not for a
	 * broadcast, nor for an address the frame only passes through to. */
	if (l->any && !localaddr_has(ctx->local, seg->family, seg->daddr))
		return VERDICT_NOT_FOR_US;
	verdict_cookie_tuple(seg, &out->tuple);
	memset(&out->known, 0, sizeof(out->known));
	ctx->known(ctx->known_arg, &out->tuple, &out->known);
	if (out->known.state == VERDICT_TUPLE_LIVE)
		return verdict_live(f, out);
	switch (seg->flags & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST | PKT_TCP_FIN)) {
	case PKT_TCP_SYN:
		return verdict_csum_ok(f, seg) ? VERDICT_SYN : VERDICT_BAD_CSUM;
	case PKT_TCP_ACK:
	case PKT_TCP_ACK | PKT_TCP_FIN:
		return verdict_csum_ok(f, seg) ? verdict_ack(ctx, out) : VERDICT_BAD_CSUM;
	default: /* SYN+ACK, SYN+RST, RST, ...: not a connection request (DESIGN §5b) */
		return VERDICT_KERNEL;
	}
}

const char *verdict_str(enum verdict v)
{
	static const char *const names[VERDICT_COUNT] = {
		[VERDICT_NOT_FOR_US] = "not_for_us",
		[VERDICT_MALFORMED] = "malformed",
		[VERDICT_UNPROTECTED] = "unprotected",
		[VERDICT_MARTIAN] = "martian",
		[VERDICT_BAD_CSUM] = "bad_csum",
		[VERDICT_KERNEL] = "kernel",
		[VERDICT_DUP_ACK] = "dup_ack",
		[VERDICT_LATE_DATA] = "late_data",
		[VERDICT_SYN_ON_LIVE] = "syn_on_live",
		[VERDICT_SYN] = "syn",
		[VERDICT_EARLY_DATA] = "early_data",
		[VERDICT_LATE] = "late",
		[VERDICT_BAD_COOKIE] = "bad_cookie",
		[VERDICT_EXPIRED] = "expired",
		[VERDICT_ADOPT] = "adopt",
	};
	return (unsigned)v < VERDICT_COUNT ? names[v] : "unknown";
}

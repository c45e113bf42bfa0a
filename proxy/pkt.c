/* pkt — parse received frames down to TCP, build the segments we send. */
#include "pkt.h"

#include "martian.h"
#include "synack.h"

#include <assert.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define ETH_ADDRS_LEN 12 /* destination and source MAC */
#define ETH_TYPE_IP4 0x0800
#define ETH_TYPE_IP6 0x86dd
#define ETH_TYPE_8021Q 0x8100
#define ETH_TYPE_8021AD 0x88a8
#define ETH_VLAN_MAX 2 /* QinQ: a service tag and a customer tag */

#define IP4_HLEN 20
#define IP4_MF 0x2000
#define IP4_DF 0x4000
#define IP4_OFFMASK 0x1fff
#define IP6_HLEN 40
#define IP6_EXT_MAX 8 /* RFC 8200 §4.1 allows 4 of the kinds we walk */

#define TCP_HLEN 20
#define TCP_HLEN_MAX 60

/* Sizes of the options we understand, kind and length bytes included. */
static const uint8_t tcpopt_size[] = {
	[SYNACK_OPT_MSS] = SYNACK_OPT_MSS_LEN,
	[SYNACK_OPT_WSCALE] = SYNACK_OPT_WSCALE_LEN,
	[SYNACK_OPT_SACK_OK] = SYNACK_OPT_SACK_OK_LEN,
	[SYNACK_OPT_TS] = SYNACK_OPT_TS_LEN,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

/*
 * Internet checksum (RFC 1071). The ones' complement sum does not depend on
 * byte order, so words are added in host order, 32 bits at a time into a
 * 64-bit accumulator, and the folded result is stored back as it is. Every
 * chunk but the last one summed must have an even length.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	uint32_t w32;
	uint16_t w16;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w32, p, 4);
		sum += w32;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		sum += w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* An odd byte is the high half of a word padded with zero. */
		w16 = 0;
		memcpy(&w16, p, 1);
		sum += w16;
	}
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void csum_store(uint8_t *p, uint64_t sum)
{
	uint16_t c = (uint16_t)~csum_fold(sum);

	memcpy(p, &c, 2);
}

/*
 * Sum of the TCP pseudo-header and segment. The tail is IPv6's 32-bit
 * upper-layer length, three zeros and the next header; for IPv4 the same
 * bytes (length < 64K) sum like its zero, protocol and 16-bit length.
 */
static uint64_t csum_tcp(uint8_t family, const uint8_t *src, const uint8_t *dst, const uint8_t *tcp,
                         size_t len)
{
	uint8_t tail[8] = { 0, 0, 0, 0, 0, 0, 0, IPPROTO_TCP };
	uint64_t sum;

	wr32(tail, (uint32_t)len);
	sum = csum_add(0, src, addr_len(family));
	sum = csum_add(sum, dst, addr_len(family));
	sum = csum_add(sum, tail, sizeof(tail));
	return csum_add(sum, tcp, len);
}

bool pkt_tcp_csum_ok(const struct pkt_tcp *seg)
{
	return csum_fold(csum_tcp(seg->family, seg->saddr, seg->daddr, seg->tcp, seg->tcp_len)) == 0xffff;
}

bool pkt_src_martian(uint8_t family, const uint8_t *addr)
{
	return family == AF_INET ? martian_src4(addr) : martian_src6(addr);
}

/* The caller has zeroed `o`. */
static enum pkt_result parse_opts(const uint8_t *p, size_t len, struct pkt_tcp_opts *o)
{
	size_t i = 0, olen;
	uint8_t kind;

	while (i < len) {
		kind = p[i];
		if (kind == SYNACK_OPT_EOL)
			break;
		if (kind == SYNACK_OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return PKT_ERR_TCP_OPT;
		olen = p[i + 1];
		if (olen < 2 || olen > len - i)
			return PKT_ERR_TCP_OPT;
		/* A known option with a wrong length is malformed, not unknown. */
		if (kind < sizeof(tcpopt_size) && tcpopt_size[kind] && olen != tcpopt_size[kind])
			return PKT_ERR_TCP_OPT;
		switch (kind) {
		case SYNACK_OPT_MSS:
			o->has_mss = true;
			o->mss = rd16(p + i + 2);
			break;
		case SYNACK_OPT_WSCALE:
			o->has_wscale = true;
			o->wscale = p[i + 2];
			break;
		case SYNACK_OPT_SACK_OK:
			o->sack_ok = true;
			break;
		case SYNACK_OPT_TS:
			o->has_ts = true;
			o->tsval = rd32(p + i + 2);
			o->tsecr = rd32(p + i + 6);
			break;
		}
		i += olen;
	}
	return PKT_OK;
}

/* `len` is the segment length the IP header declares. */
static enum pkt_result parse_tcp(const uint8_t *p, size_t len, struct pkt_tcp *out)
{
	size_t doff;

	if (len < TCP_HLEN)
		return PKT_ERR_TRUNC_TCP;
	doff = (size_t)(p[12] >> 4) * 4;
	if (doff < TCP_HLEN || doff > len)
		return PKT_ERR_TCP_DOFF;
	out->sport = rd16(p);
	out->dport = rd16(p + 2);
	out->seq = rd32(p + 4);
	out->ack = rd32(p + 8);
	out->flags = p[13];
	out->window = rd16(p + 14);
	out->tcp = p;
	out->tcp_len = len;
	out->payload = p + doff;
	out->payload_len = len - doff;
	return parse_opts(p + TCP_HLEN, doff - TCP_HLEN, &out->opt);
}

static void set_ip(struct pkt_tcp *out, uint8_t family, uint8_t ttl, const uint8_t *src, const uint8_t *dst)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->ttl = ttl;
	memcpy(out->saddr, src, addr_len(family));
	memcpy(out->daddr, dst, addr_len(family));
}

static enum pkt_result parse_ip4(const uint8_t *p, size_t len, struct pkt_tcp *out)
{
	size_t ihl, total;

	if (len < IP4_HLEN)
		return PKT_ERR_TRUNC_IP;
	if (p[0] >> 4 != 4)
		return PKT_ERR_IP_VERSION;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < IP4_HLEN || ihl > len)
		return PKT_ERR_IP_IHL;
	/* Bytes past the total length are link padding. */
	total = rd16(p + 2);
	if (total > len || total < ihl)
		return PKT_ERR_IP_LEN;
	if (csum_fold(csum_add(0, p, ihl)) != 0xffff)
		return PKT_ERR_IP_CSUM;
	if (rd16(p + 6) & (IP4_MF | IP4_OFFMASK))
		return PKT_ERR_FRAGMENT;
	if (p[9] != IPPROTO_TCP)
		return PKT_ERR_NOT_TCP;
	set_ip(out, AF_INET, p[8], p + 12, p + 16);
	return parse_tcp(p + ihl, total - ihl, out);
}

static enum pkt_result parse_ip6(const uint8_t *p, size_t len, struct pkt_tcp *out)
{
	size_t off = IP6_HLEN, end, hlen;
	uint8_t next;
	int n;

	if (len < IP6_HLEN)
		return PKT_ERR_TRUNC_IP;
	if (p[0] >> 4 != 6)
		return PKT_ERR_IP_VERSION;
	/* Bytes past the payload length are link padding. */
	end = IP6_HLEN + (size_t)rd16(p + 4);
	if (end > len)
		return PKT_ERR_IP_LEN;
	next = p[6];
	for (n = 0; next != IPPROTO_TCP; n++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			break;
		case IPPROTO_FRAGMENT:
			return PKT_ERR_FRAGMENT;
		default:
			return PKT_ERR_NOT_TCP;
		}
		if (n == IP6_EXT_MAX || end - off < 8)
			return PKT_ERR_IP6_EXT;
		hlen = ((size_t)p[off + 1] + 1) * 8;
		if (hlen > end - off)
			return PKT_ERR_IP6_EXT;
		next = p[off];
		off += hlen;
	}
	set_ip(out, AF_INET6, p[7], p + 8, p + 24);
	return parse_tcp(p + off, end - off, out);
}

enum pkt_result pkt_parse_ip(const uint8_t *packet, size_t len, struct pkt_tcp *out)
{
	if (len < 1)
		return PKT_ERR_TRUNC_IP;
	switch (packet[0] >> 4) {
	case 4:
		return parse_ip4(packet, len, out);
	case 6:
		return parse_ip6(packet, len, out);
	default:
		return PKT_ERR_IP_VERSION;
	}
}

enum pkt_result pkt_parse_eth(const uint8_t *frame, size_t len, struct pkt_tcp *out)
{
	size_t off = ETH_ADDRS_LEN;
	uint16_t type;
	int tags;

	for (tags = 0;; tags++) {
		if (len < off + 2)
			return PKT_ERR_TRUNC_ETH;
		type = rd16(frame + off);
		off += 2;
		if (tags == ETH_VLAN_MAX || (type != ETH_TYPE_8021Q && type != ETH_TYPE_8021AD))
			break;
		off += 2; /* the tag's TCI; the next EtherType follows */
	}
	switch (type) {
	case ETH_TYPE_IP4:
		return parse_ip4(frame + off, len - off, out);
	case ETH_TYPE_IP6:
		return parse_ip6(frame + off, len - off, out);
	default:
		return PKT_ERR_NOT_IP;
	}
}

/* The TCP fields of a segment we send. */
struct seg_out {
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t window;
	uint8_t ttl;
	uint8_t opt[TCP_HLEN_MAX - TCP_HLEN];
	size_t opt_len; /* a multiple of 4 */
};

/* Write an IP packet carrying `s` back to the sender of `peer`. */
static size_t build(uint8_t *buf, size_t cap, const struct pkt_tcp *peer, const struct seg_out *s)
{
	bool v4 = peer->family == AF_INET;
	size_t alen = addr_len(peer->family), tcp_len = TCP_HLEN + s->opt_len;
	size_t ip_len = v4 ? IP4_HLEN : IP6_HLEN;
	uint8_t *ip = buf, *th = buf + ip_len, *src;

	if (cap < ip_len + tcp_len)
		return 0;
	memset(buf, 0, ip_len + TCP_HLEN);
	if (v4) {
		ip[0] = 4 << 4 | IP4_HLEN / 4;
		wr16(ip + 2, (uint16_t)(ip_len + tcp_len));
		wr16(ip + 6, IP4_DF); /* ID 0: never fragmented */
		ip[8] = s->ttl;
		ip[9] = IPPROTO_TCP;
		src = ip + 12;
	} else {
		ip[0] = 6 << 4;
		wr16(ip + 4, (uint16_t)tcp_len);
		ip[6] = IPPROTO_TCP;
		ip[7] = s->ttl;
		src = ip + 8;
	}
	memcpy(src, peer->daddr, alen);
	memcpy(src + alen, peer->saddr, alen);
	if (v4)
		csum_store(ip + 10, csum_add(0, ip, IP4_HLEN));

	wr16(th, peer->dport);
	wr16(th + 2, peer->sport);
	wr32(th + 4, s->seq);
	wr32(th + 8, s->ack);
	th[12] = (uint8_t)(tcp_len / 4 << 4);
	th[13] = s->flags;
	wr16(th + 14, s->window);
	memcpy(th + TCP_HLEN, s->opt, s->opt_len);
	csum_store(th + 16, csum_tcp(peer->family, src, src + alen, th, tcp_len));
	return ip_len + tcp_len;
}

size_t pkt_build_synack(uint8_t *buf, size_t cap, const struct pkt_tcp *syn, const struct pkt_synack *sa)
{
	struct seg_out s = {
		.seq = sa->isn,
		.ack = syn->seq + 1,
		.flags = PKT_TCP_SYN | PKT_TCP_ACK,
		.window = sa->window,
		.ttl = sa->ttl,
	};

	/* A zero window would stall data sent with the handshake's ACK. */
	assert(sa->window != 0);
	s.opt_len = synack_opts_write(s.opt, sa->mss, syn->opt.sack_ok, syn->opt.has_ts, sa->tsval,
	                              syn->opt.tsval, syn->opt.has_wscale, sa->wscale);
	return build(buf, cap, syn, &s);
}

size_t pkt_build_rst(uint8_t *buf, size_t cap, const struct pkt_tcp *seg, uint8_t ttl)
{
	struct seg_out s = { .flags = PKT_TCP_RST, .ttl = ttl };

	/* Never answer a reset (RFC 9293 §3.10.7.1). */
	if (seg->flags & PKT_TCP_RST)
		return 0;
	if (seg->flags & PKT_TCP_ACK)
		s.seq = seg->ack;
	else {
		s.flags |= PKT_TCP_ACK;
		s.ack = seg->seq + (uint32_t)seg->payload_len + !!(seg->flags & PKT_TCP_SYN) +
		        !!(seg->flags & PKT_TCP_FIN);
	}
	return build(buf, cap, seg, &s);
}

const char *pkt_result_str(enum pkt_result r)
{
	static const char *const str[PKT_RESULT_COUNT] = {
		[PKT_OK] = "ok",
		[PKT_ERR_TRUNC_ETH] = "truncated_eth",
		[PKT_ERR_NOT_IP] = "not_ip",
		[PKT_ERR_TRUNC_IP] = "truncated_ip",
		[PKT_ERR_IP_VERSION] = "ip_version",
		[PKT_ERR_IP_IHL] = "ip_ihl",
		[PKT_ERR_IP_LEN] = "ip_len",
		[PKT_ERR_FRAGMENT] = "fragment",
		[PKT_ERR_NOT_TCP] = "not_tcp",
		[PKT_ERR_IP6_EXT] = "ip6_ext",
		[PKT_ERR_TRUNC_TCP] = "truncated_tcp",
		[PKT_ERR_TCP_DOFF] = "tcp_doff",
		[PKT_ERR_TCP_OPT] = "tcp_opt",
		[PKT_ERR_IP_CSUM] = "ip_csum",
	};

	if ((unsigned)r >= PKT_RESULT_COUNT)
		return "unknown";
	return str[r];
}

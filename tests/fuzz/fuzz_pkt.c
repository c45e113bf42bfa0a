/* Fuzz the packet codec: any bytes as an Ethernet frame and as an IP packet.
 *
 * A segment that parses must lie inside the input. The SYN-ACK and the RST
 * answering it must parse back with addresses and ports swapped, correct IP
 * and TCP checksums and the fields pkt.h promises. Each builder also writes
 * into heap buffers of exactly the length it needs and one byte less, so
 * ASan catches a write past the capacity it was given.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "pkt.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20

typedef size_t builder(uint8_t *buf, size_t cap, const struct pkt_tcp *seg, const void *arg);

static size_t build_synack(uint8_t *buf, size_t cap, const struct pkt_tcp *seg, const void *arg)
{
	return pkt_build_synack(buf, cap, seg, arg);
}

static size_t build_rst(uint8_t *buf, size_t cap, const struct pkt_tcp *seg, const void *arg)
{
	return pkt_build_rst(buf, cap, seg, *(const uint8_t *)arg);
}

/* RFC 1071, the plain way: 16-bit big-endian words. True if `p` sums to 0. */
static bool csum_zero(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Build the answer to `seg` into `pkt` and parse it into `out`; 0 if the
 * builder declined. */
static size_t build_checked(builder *fn, const struct pkt_tcp *seg, const void *arg,
                            uint8_t pkt[PKT_BUILD_MAX], struct pkt_tcp *out)
{
	size_t n = fn(pkt, PKT_BUILD_MAX, seg, arg), alen = seg->family == AF_INET ? 4 : 16;
	uint8_t *exact, *short1;

	if (n == 0)
		return 0;
	FUZZ_CHECK(n <= PKT_BUILD_MAX);
	exact = malloc(n);
	short1 = malloc(n - 1);
	FUZZ_CHECK(exact && short1);
	FUZZ_CHECK(fn(exact, n, seg, arg) == n && memcmp(exact, pkt, n) == 0);
	FUZZ_CHECK(fn(short1, n - 1, seg, arg) == 0);
	free(exact);
	free(short1);

	FUZZ_CHECK(pkt_parse_ip(pkt, n, out) == PKT_OK);
	FUZZ_CHECK(out->family == seg->family);
	FUZZ_CHECK(memcmp(out->saddr, seg->daddr, alen) == 0 && memcmp(out->daddr, seg->saddr, alen) == 0);
	FUZZ_CHECK(out->sport == seg->dport && out->dport == seg->sport);
	FUZZ_CHECK(out->payload_len == 0 && out->tcp_len % 4 == 0);
	FUZZ_CHECK(pkt_tcp_csum_ok(out));
	if (seg->family == AF_INET) {
		FUZZ_CHECK(pkt[0] == 0x45 && (size_t)(pkt[2] << 8 | pkt[3]) == n);
		FUZZ_CHECK(csum_zero(pkt, IP4_HLEN));
	} else
		FUZZ_CHECK((size_t)(pkt[4] << 8 | pkt[5]) == n - IP6_HLEN);
	return n;
}

static void check_synack(const struct pkt_tcp *syn)
{
	/* Our side's values, varied with the input. */
	const struct pkt_synack sa = {
		.isn = ~syn->seq,
		.mss = (uint16_t)(syn->ack >> 16),
		.wscale = (uint8_t)syn->ack,
		.window = syn->window ? syn->window : 1,
		.tsval = syn->seq ^ syn->ack,
		.ttl = syn->ttl,
	};
	uint8_t pkt[PKT_BUILD_MAX];
	struct pkt_tcp out;

	FUZZ_CHECK(build_checked(build_synack, syn, &sa, pkt, &out) > 0);
	FUZZ_CHECK(out.flags == (PKT_TCP_SYN | PKT_TCP_ACK));
	FUZZ_CHECK(out.seq == sa.isn && out.ack == syn->seq + 1);
	FUZZ_CHECK(out.window == sa.window && out.ttl == sa.ttl);
	FUZZ_CHECK(out.opt.has_mss && out.opt.mss == sa.mss);
	FUZZ_CHECK(out.opt.has_wscale == syn->opt.has_wscale &&
	           (!out.opt.has_wscale || out.opt.wscale == sa.wscale));
	FUZZ_CHECK(out.opt.sack_ok == syn->opt.sack_ok);
	FUZZ_CHECK(out.opt.has_ts == syn->opt.has_ts &&
	           (!out.opt.has_ts || (out.opt.tsval == sa.tsval && out.opt.tsecr == syn->opt.tsval)));
}

static void check_rst(const struct pkt_tcp *seg)
{
	const uint8_t ttl = (uint8_t)~seg->ttl;
	uint8_t pkt[PKT_BUILD_MAX];
	struct pkt_tcp out;
	size_t n = build_checked(build_rst, seg, &ttl, pkt, &out);

	if (seg->flags & PKT_TCP_RST) {
		FUZZ_CHECK(n == 0);
		return;
	}
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(out.tcp_len == TCP_HLEN && out.window == 0 && out.ttl == ttl);
	if (seg->flags & PKT_TCP_ACK)
		FUZZ_CHECK(out.flags == PKT_TCP_RST && out.seq == seg->ack && out.ack == 0);
	else
		FUZZ_CHECK(out.flags == (PKT_TCP_RST | PKT_TCP_ACK) && out.seq == 0 &&
		           out.ack == seg->seq + (uint32_t)seg->payload_len + !!(seg->flags & PKT_TCP_SYN) +
		                              !!(seg->flags & PKT_TCP_FIN));
}

static void check_parsed(enum pkt_result r, const uint8_t *data, size_t size, const struct pkt_tcp *seg)
{
	FUZZ_CHECK((unsigned)r < PKT_RESULT_COUNT && strcmp(pkt_result_str(r), "unknown") != 0);
	if (r != PKT_OK)
		return;
	FUZZ_CHECK(seg->family == AF_INET || seg->family == AF_INET6);
	FUZZ_CHECK(seg->tcp >= data && seg->tcp_len <= size - (size_t)(seg->tcp - data));
	FUZZ_CHECK(seg->payload >= seg->tcp + TCP_HLEN &&
	           seg->payload + seg->payload_len == seg->tcp + seg->tcp_len);
	(void)pkt_tcp_csum_ok(seg); /* reads the whole segment: ASan checks the bounds */
	check_synack(seg);
	check_rst(seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_tcp seg;

	check_parsed(pkt_parse_eth(data, size, &seg), data, size, &seg);
	check_parsed(pkt_parse_ip(data, size, &seg), data, size, &seg);
	return 0;
}

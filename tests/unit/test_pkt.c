/* Unit tests for pkt: real captured frames (pkt_samples.h), segments built
 * and parsed back, checksums checked by a plain reference computation, and
 * one test per kind of damage a parser must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "pkt.h"
#include "pkt_samples.h"
#include "ref_csum.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define ETH_LEN 14
#define IP4_OFF ETH_LEN        /* samples have no VLAN tag */
#define IP4_TCP (IP4_OFF + 20) /* ... and no IPv4 options */
#define IP6_TCP (IP4_OFF + 40)
#define SYN_OPT (IP4_TCP + 20) /* curl4_syn's 20 bytes of options */

static const uint8_t client4[4] = { 10, 200, 1, 1 };
static const uint8_t server4[4] = { 10, 200, 1, 2 };
static const uint8_t client6[16] = { 0xfd, 0x00, 0x02, 0x00, [15] = 1 };
static const uint8_t server6[16] = { 0xfd, 0x00, 0x02, 0x00, [15] = 2 };

/* A frame copied into a buffer with room to grow. */
struct frame {
	uint8_t b[512];
	size_t len;
};

#define FRAME(s) frame_of(s, sizeof(s))

static struct frame frame_of(const uint8_t *p, size_t len)
{
	struct frame f = { .len = len };

	assert_true(len <= sizeof(f.b));
	memcpy(f.b, p, len);
	return f;
}

static void frame_insert(struct frame *f, size_t off, const void *p, size_t n)
{
	assert_true(off <= f->len && f->len + n <= sizeof(f->b));
	memmove(f->b + off + n, f->b + off, f->len - off);
	memcpy(f->b + off, p, n);
	f->len += n;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Add `d` to the 16-bit length field at `p`. */
static void grow16(uint8_t *p, int d)
{
	put16(p, (uint16_t)(get16(p) + d));
}

/* Compare by name, so a failure says which result came back. */
static void expect_result(enum pkt_result got, enum pkt_result want)
{
	assert_string_equal(pkt_result_str(got), pkt_result_str(want));
}

static struct pkt_tcp parse_ok(const uint8_t *frame, size_t len)
{
	struct pkt_tcp seg;

	expect_result(pkt_parse_eth(frame, len, &seg), PKT_OK);
	return seg;
}

/* Everything but the pointers, which differ between buffers. */
static void assert_same_segment(const struct pkt_tcp *a, const struct pkt_tcp *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->ttl, b->ttl);
	assert_memory_equal(a->saddr, b->saddr, sizeof(a->saddr));
	assert_memory_equal(a->daddr, b->daddr, sizeof(a->daddr));
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->window, b->window);
	assert_memory_equal(&a->opt, &b->opt, sizeof(a->opt));
	assert_int_equal(a->tcp_len, b->tcp_len);
	assert_memory_equal(a->tcp, b->tcp, a->tcp_len);
	assert_int_equal(a->payload_len, b->payload_len);
	assert_ptr_equal(a->payload - a->tcp, b->payload - b->tcp);
}

/* Verify an IP packet's IPv4 header checksum and its TCP checksum (IPv6:
 * without extension headers). */
static void ref_check_csums(const uint8_t *ip)
{
	size_t hlen, alen, tcp_len;
	const uint8_t *addrs;
	uint32_t sum;

	if (ip[0] >> 4 == 4) {
		hlen = (ip[0] & 0x0f) * 4;
		assert_int_equal(ref_fold(ref_sum(0, ip, hlen)), 0xffff);
		assert_int_equal(ip[9], 6);
		tcp_len = get16(ip + 2) - hlen;
		addrs = ip + 12;
		alen = 4;
	} else {
		hlen = 40;
		assert_int_equal(ip[6], 6);
		tcp_len = get16(ip + 4);
		addrs = ip + 8;
		alen = 16;
	}
	/* Pseudo-header: both addresses (adjacent in either header), the
	 * protocol and the TCP length. */
	sum = ref_sum(0, addrs, 2 * alen) + 6 + (uint32_t)tcp_len;
	sum = ref_sum(sum, ip + hlen, tcp_len);
	assert_int_equal(ref_fold(sum), 0xffff);
}

/* ---- The captured frames ---- */

struct sample {
	const char *name;
	const uint8_t *frame;
	size_t len;
	uint8_t family;
	bool to_server;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	size_t tcp_hlen, payload_len;
	struct pkt_tcp_opts opt;
};

#define SAMPLE(s) .name = #s, .frame = sample_##s, .len = sizeof(sample_##s)

static const struct sample samples[] = {
	{ SAMPLE(curl4_syn),
	  AF_INET,
	  true,
	  50174,
	  8080,
	  2046835202,
	  0,
	  PKT_TCP_SYN,
	  64240,
	  40,
	  0,
	  { .has_mss = true,
	    .mss = 1460,
	    .sack_ok = true,
	    .has_ts = true,
	    .tsval = 1788056351,
	    .tsecr = 0,
	    .has_wscale = true,
	    .wscale = 10 } },
	{ SAMPLE(kernel4_synack),
	  AF_INET,
	  false,
	  8080,
	  50174,
	  3218165611,
	  2046835203,
	  PKT_TCP_SYN | PKT_TCP_ACK,
	  65160,
	  40,
	  0,
	  { .has_mss = true,
	    .mss = 1460,
	    .sack_ok = true,
	    .has_ts = true,
	    .tsval = 390145617,
	    .tsecr = 1788056351,
	    .has_wscale = true,
	    .wscale = 10 } },
	{ SAMPLE(curl4_get),
	  AF_INET,
	  true,
	  50174,
	  8080,
	  2046835203,
	  3218165612,
	  PKT_TCP_PSH | PKT_TCP_ACK,
	  63,
	  32,
	  79,
	  { .has_ts = true, .tsval = 1788056351, .tsecr = 390145617 } },
	/* hping3 leaves garbage in the acknowledgment field of its SYN. */
	{ SAMPLE(hping_syn), AF_INET, true, 1516, 80, 920760800, 1673450758, PKT_TCP_SYN, 512, 20, 0, { 0 } },
	{ SAMPLE(kernel4_rst_syn),
	  AF_INET,
	  false,
	  80,
	  1516,
	  0,
	  920760801,
	  PKT_TCP_RST | PKT_TCP_ACK,
	  0,
	  20,
	  0,
	  { 0 } },
	{ SAMPLE(hping_ack), AF_INET, true, 1516, 80, 12345, 67890, PKT_TCP_ACK, 512, 20, 0, { 0 } },
	{ SAMPLE(kernel4_rst_ack), AF_INET, false, 80, 1516, 67890, 0, PKT_TCP_RST, 0, 20, 0, { 0 } },
	{ SAMPLE(curl6_syn),
	  AF_INET6,
	  true,
	  46908,
	  8080,
	  3640349862,
	  0,
	  PKT_TCP_SYN,
	  64800,
	  40,
	  0,
	  { .has_mss = true,
	    .mss = 1440,
	    .sack_ok = true,
	    .has_ts = true,
	    .tsval = 2603200789,
	    .tsecr = 0,
	    .has_wscale = true,
	    .wscale = 10 } },
	{ SAMPLE(kernel6_synack),
	  AF_INET6,
	  false,
	  8080,
	  46908,
	  4062874740,
	  3640349863,
	  PKT_TCP_SYN | PKT_TCP_ACK,
	  64260,
	  40,
	  0,
	  { .has_mss = true,
	    .mss = 1440,
	    .sack_ok = true,
	    .has_ts = true,
	    .tsval = 1506052535,
	    .tsecr = 2603200789,
	    .has_wscale = true,
	    .wscale = 10 } },
};

/* Every field of a captured frame, and its checksum. */
static void test_sample_fields(void **state)
{
	const struct sample *s = *state;
	struct pkt_tcp seg = parse_ok(s->frame, s->len);
	bool v4 = s->family == AF_INET;
	size_t alen = v4 ? 4 : 16;
	const uint8_t *client = v4 ? client4 : client6;
	const uint8_t *server = v4 ? server4 : server6;
	uint8_t zero[16] = { 0 };

	assert_int_equal(seg.family, s->family);
	assert_int_equal(seg.ttl, 64);
	assert_memory_equal(seg.saddr, s->to_server ? client : server, alen);
	assert_memory_equal(seg.daddr, s->to_server ? server : client, alen);
	assert_memory_equal(seg.saddr + alen, zero, 16 - alen);
	assert_memory_equal(seg.daddr + alen, zero, 16 - alen);
	assert_int_equal(seg.sport, s->sport);
	assert_int_equal(seg.dport, s->dport);
	assert_int_equal(seg.seq, s->seq);
	assert_int_equal(seg.ack, s->ack);
	assert_int_equal(seg.flags, s->flags);
	assert_int_equal(seg.window, s->window);
	assert_int_equal(seg.opt.has_mss, s->opt.has_mss);
	assert_int_equal(seg.opt.mss, s->opt.mss);
	assert_int_equal(seg.opt.has_wscale, s->opt.has_wscale);
	assert_int_equal(seg.opt.wscale, s->opt.wscale);
	assert_int_equal(seg.opt.sack_ok, s->opt.sack_ok);
	assert_int_equal(seg.opt.has_ts, s->opt.has_ts);
	assert_int_equal(seg.opt.tsval, s->opt.tsval);
	assert_int_equal(seg.opt.tsecr, s->opt.tsecr);
	assert_ptr_equal(seg.tcp, s->frame + (v4 ? IP4_TCP : IP6_TCP));
	assert_int_equal(seg.tcp_len, s->tcp_hlen + s->payload_len);
	assert_ptr_equal(seg.payload, seg.tcp + s->tcp_hlen);
	assert_int_equal(seg.payload_len, s->payload_len);
	assert_true(pkt_tcp_csum_ok(&seg));
}

static enum pkt_result parse_copy(enum pkt_result (*parse)(const uint8_t *, size_t, struct pkt_tcp *),
                                  const uint8_t *p, size_t len)
{
	/* Exactly `len` bytes on the heap, so valgrind sees any overread. */
	uint8_t *copy = malloc(len);
	struct pkt_tcp seg;
	enum pkt_result r;

	assert_true(copy != NULL || len == 0);
	if (len > 0)
		memcpy(copy, p, len);
	r = parse(copy, len, &seg);
	if (r == PKT_OK) {
		assert_true(seg.tcp >= copy && seg.tcp_len >= 20);
		assert_true(seg.tcp + seg.tcp_len <= copy + len);
		assert_true(seg.payload + seg.payload_len == seg.tcp + seg.tcp_len);
	}
	free(copy);
	assert_in_range(r, PKT_OK, PKT_RESULT_COUNT - 1);
	return r;
}

static void expect_eth(const struct frame *f, enum pkt_result want)
{
	expect_result(parse_copy(pkt_parse_eth, f->b, f->len), want);
}

/* Every prefix of a frame is refused (the samples carry no padding) without
 * reading past its end; the whole frame is accepted. */
static void test_sample_prefixes(void **state)
{
	const struct sample *s = *state;
	size_t n;

	for (n = 0; n <= s->len; n++) {
		assert_int_equal(parse_copy(pkt_parse_eth, s->frame, n) == PKT_OK, n == s->len);
		if (n >= ETH_LEN)
			assert_int_equal(parse_copy(pkt_parse_ip, s->frame + ETH_LEN, n - ETH_LEN) == PKT_OK,
			                 n == s->len);
	}
}

/* Random damage to every sample: whatever comes back, never an overread
 * (run under valgrind) and an accepted segment lies inside the buffer. */
static void test_random_damage(void **state)
{
	uint32_t x = 2463534242u; /* xorshift32: reproducible */
	size_t i, k, round;

	(void)state;
	for (i = 0; i < nitems(samples); i++) {
		for (round = 0; round < 2000; round++) {
			struct frame f = frame_of(samples[i].frame, samples[i].len);

			for (k = 0; k < 1 + round % 4; k++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				f.b[x % f.len] = (uint8_t)(x >> 24);
			}
			/* Cut short or pad with zeros. */
			f.len = f.len / 2 + x % (f.len / 2 + 16);
			parse_copy(pkt_parse_eth, f.b, f.len);
			parse_copy(pkt_parse_ip, f.b + ETH_LEN, f.len - ETH_LEN);
		}
	}
}

static void test_csum_detects_damage(void **state)
{
	/* A TCP byte, an address (pseudo-header) and the odd last byte. */
	static const struct {
		const uint8_t *frame;
		size_t len, off;
	} cases[] = {
		{ sample_curl4_syn, sizeof(sample_curl4_syn), IP4_TCP + 4 },
		{ sample_curl4_syn, sizeof(sample_curl4_syn), IP4_OFF + 15 },
		{ sample_curl6_syn, sizeof(sample_curl6_syn), IP6_TCP + 30 },
		{ sample_curl6_syn, sizeof(sample_curl6_syn), IP4_OFF + 39 },
		{ sample_curl4_get, sizeof(sample_curl4_get), sizeof(sample_curl4_get) - 1 },
	};
	size_t i;

	(void)state;
	/* curl4_get's segment has an odd length: 32 + 79 bytes. */
	assert_int_equal(parse_ok(sample_curl4_get, sizeof(sample_curl4_get)).tcp_len % 2, 1);
	for (i = 0; i < nitems(cases); i++) {
		struct frame f = frame_of(cases[i].frame, cases[i].len);
		struct pkt_tcp seg;

		f.b[cases[i].off] ^= 0x01;
		if (f.b[IP4_OFF] >> 4 == 4)
			ref_fix_ip4_csum(f.b + IP4_OFF);
		seg = parse_ok(f.b, f.len);
		assert_false(pkt_tcp_csum_ok(&seg));
	}
}

/* ---- SYN-ACK ---- */

static const struct pkt_synack ours = {
	.isn = 0x01020304,
	.mss = 1400,
	.wscale = 7,
	.window = 29200,
	.tsval = 0xdeadbeef,
	.ttl = 61,
};

static size_t build_synack(uint8_t *buf, const struct pkt_tcp *syn, const struct pkt_synack *sa)
{
	size_t n = pkt_build_synack(buf, PKT_BUILD_MAX, syn, sa);

	assert_true(n > 0);
	ref_check_csums(buf);
	return n;
}

/* Given the kernel's own choices, we answer curl with its exact bytes. */
static void test_synack_matches_kernel(void **state)
{
	static const struct {
		const uint8_t *syn, *synack;
		size_t syn_len, synack_len;
	} cases[] = {
		{ sample_curl4_syn, sample_kernel4_synack, sizeof(sample_curl4_syn),
		  sizeof(sample_kernel4_synack) },
		{ sample_curl6_syn, sample_kernel6_synack, sizeof(sample_curl6_syn),
		  sizeof(sample_kernel6_synack) },
	};
	uint8_t buf[PKT_BUILD_MAX];
	size_t i, n, skip;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		struct pkt_tcp syn = parse_ok(cases[i].syn, cases[i].syn_len);
		struct pkt_tcp k = parse_ok(cases[i].synack, cases[i].synack_len);
		const uint8_t *kip = cases[i].synack + ETH_LEN;
		struct pkt_synack sa = {
			.isn = k.seq,
			.mss = k.opt.mss,
			.wscale = k.opt.wscale,
			.window = k.window,
			.tsval = k.opt.tsval,
			.ttl = k.ttl,
		};

		n = build_synack(buf, &syn, &sa);
		assert_int_equal(n, cases[i].synack_len - ETH_LEN);
		/* Linux gives its IPv6 SYN-ACK a flow label; we send none. */
		skip = k.family == AF_INET6 ? 4 : 0;
		if (skip)
			assert_memory_equal(buf, "\x60\0\0\0", 4);
		assert_memory_equal(buf + skip, kip + skip, n - skip);
	}
}

/* Build our SYN-ACK for a captured SYN and read it back. */
static void check_synack(const uint8_t *frame, size_t len)
{
	static const uint8_t ip4[] = {
		0x45, 0, 0,    60, /* no TOS; 20 + 20 + 20 options */
		0,    0, 0x40, 0,  /* ID 0, DF */
		61,   6,           /* TTL, TCP */
	};
	static const uint8_t ip6[] = { 0x60, 0, 0, 0, 0, 40, 6, 61 };
	struct pkt_tcp syn = parse_ok(frame, len), sa;
	uint8_t buf[PKT_BUILD_MAX], opt[20] = {
		2,        4, 1400 >> 8, 1400 & 0xff, 4, 2, 8, 10, 0xde, 0xad, 0xbe, 0xef, /* SACK_PERM, TS */
		[16] = 1, 3, 3,         7,                                                /* NOP, wscale */
	};
	size_t n = build_synack(buf, &syn, &ours);
	bool v4 = syn.family == AF_INET;

	/* TSecr = the SYN's TSval (its options: MSS, SACK_PERM, TS, ...) */
	memcpy(opt + 12, syn.tcp + 20 + 8, 4);
	if (v4)
		assert_memory_equal(buf, ip4, sizeof(ip4));
	else
		assert_memory_equal(buf, ip6, sizeof(ip6));
	assert_memory_equal(buf + n - 20, opt, 20);

	expect_result(pkt_parse_ip(buf, n, &sa), PKT_OK);
	assert_int_equal(sa.family, syn.family);
	assert_int_equal(sa.ttl, ours.ttl);
	assert_memory_equal(sa.saddr, syn.daddr, sizeof(sa.saddr));
	assert_memory_equal(sa.daddr, syn.saddr, sizeof(sa.daddr));
	assert_int_equal(sa.sport, syn.dport);
	assert_int_equal(sa.dport, syn.sport);
	assert_int_equal(sa.seq, ours.isn);
	assert_int_equal(sa.ack, syn.seq + 1);
	assert_int_equal(sa.flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(sa.window, ours.window);
	assert_true(sa.opt.has_mss && sa.opt.mss == ours.mss);
	assert_true(sa.opt.has_wscale && sa.opt.wscale == ours.wscale);
	assert_true(sa.opt.sack_ok);
	assert_true(sa.opt.has_ts && sa.opt.tsval == ours.tsval);
	assert_int_equal(sa.opt.tsecr, syn.opt.tsval);
	assert_int_equal(sa.tcp_len, 40);
	assert_int_equal(sa.payload_len, 0);
	assert_true(pkt_tcp_csum_ok(&sa));
}

static void test_synack_curl4(void **state)
{
	(void)state;
	check_synack(sample_curl4_syn, sizeof(sample_curl4_syn));
}

static void test_synack_curl6(void **state)
{
	(void)state;
	check_synack(sample_curl6_syn, sizeof(sample_curl6_syn));
}

/* An option-less SYN still gets an MSS, and nothing else. */
static void test_synack_hping_mss_only(void **state)
{
	static const uint8_t mss[] = { 2, 4, 1400 >> 8, 1400 & 0xff };
	struct pkt_tcp syn = parse_ok(sample_hping_syn, sizeof(sample_hping_syn)), sa;
	uint8_t buf[PKT_BUILD_MAX];
	size_t n = build_synack(buf, &syn, &ours);

	(void)state;
	assert_int_equal(n, 20 + 24);
	assert_int_equal(buf[20 + 12] >> 4, 6);
	assert_memory_equal(buf + 40, mss, sizeof(mss));
	expect_result(pkt_parse_ip(buf, n, &sa), PKT_OK);
	assert_int_equal(sa.ack, syn.seq + 1);
	assert_true(sa.opt.has_mss && sa.opt.mss == ours.mss);
	assert_false(sa.opt.has_wscale || sa.opt.sack_ok || sa.opt.has_ts);
}

/* Each combination of offered options, laid out as Linux does. */
static void test_synack_option_layouts(void **state)
{
#define MSS 2, 4, 1400 >> 8, 1400 & 0xff
#define TS 8, 10, 0xde, 0xad, 0xbe, 0xef, 0x6a, 0x93, 0x93, 0x1f
#define WS 1, 3, 3, 7
	static const struct {
		bool sack, ts, ws;
		uint8_t opt[20];
		size_t len;
	} cases[] = {
		{ false, false, false, { MSS }, 4 },
		{ true, false, false, { MSS, 1, 1, 4, 2 }, 8 },
		{ false, true, false, { MSS, 1, 1, TS }, 16 },
		{ false, false, true, { MSS, WS }, 8 },
		{ true, true, false, { MSS, 4, 2, TS }, 16 },
		{ true, false, true, { MSS, 1, 1, 4, 2, WS }, 12 },
		{ false, true, true, { MSS, 1, 1, TS, WS }, 20 },
		{ true, true, true, { MSS, 4, 2, TS, WS }, 20 },
	};
#undef MSS
#undef TS
#undef WS
	struct pkt_tcp syn = parse_ok(sample_curl4_syn, sizeof(sample_curl4_syn)), sa;
	uint8_t buf[PKT_BUILD_MAX];
	size_t i, n;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		syn.opt.sack_ok = cases[i].sack;
		syn.opt.has_ts = cases[i].ts;
		syn.opt.has_wscale = cases[i].ws;
		n = build_synack(buf, &syn, &ours);
		assert_int_equal(n, 20 + 20 + cases[i].len);
		assert_memory_equal(buf + 40, cases[i].opt, cases[i].len);
		expect_result(pkt_parse_ip(buf, n, &sa), PKT_OK);
		assert_true(sa.opt.has_mss);
		assert_int_equal(sa.opt.sack_ok, cases[i].sack);
		assert_int_equal(sa.opt.has_ts, cases[i].ts);
		assert_int_equal(sa.opt.has_wscale, cases[i].ws);
	}
}

/* Builders refuse a buffer one byte short and fill one exactly long enough. */
static void test_build_capacity(void **state)
{
	struct pkt_tcp syn = parse_ok(sample_curl6_syn, sizeof(sample_curl6_syn));
	uint8_t buf[PKT_BUILD_MAX];

	(void)state;
	assert_int_equal(pkt_build_synack(buf, 79, &syn, &ours), 0);
	assert_int_equal(pkt_build_synack(buf, 80, &syn, &ours), 80);
	assert_int_equal(pkt_build_rst(buf, 59, &syn, 64), 0);
	assert_int_equal(pkt_build_rst(buf, 60, &syn, 64), 60);
}

/* ---- RST ---- */

/* The kernel's RSTs for hping3's SYN and ACK, byte for byte. */
static void test_rst_matches_kernel(void **state)
{
	static const struct {
		const uint8_t *seg, *rst;
		size_t seg_len, rst_len;
	} cases[] = {
		{ sample_hping_syn, sample_kernel4_rst_syn, sizeof(sample_hping_syn),
		  sizeof(sample_kernel4_rst_syn) },
		{ sample_hping_ack, sample_kernel4_rst_ack, sizeof(sample_hping_ack),
		  sizeof(sample_kernel4_rst_ack) },
	};
	uint8_t buf[PKT_BUILD_MAX];
	size_t i, n;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		struct pkt_tcp seg = parse_ok(cases[i].seg, cases[i].seg_len);

		n = pkt_build_rst(buf, sizeof(buf), &seg, 64);
		assert_int_equal(n, cases[i].rst_len - ETH_LEN);
		assert_memory_equal(buf, cases[i].rst + ETH_LEN, n);
		ref_check_csums(buf);
	}
}

static struct pkt_tcp build_rst(const struct pkt_tcp *seg)
{
	uint8_t buf[PKT_BUILD_MAX];
	struct pkt_tcp rst;
	size_t n = pkt_build_rst(buf, sizeof(buf), seg, 33);

	assert_int_equal(n, (seg->family == AF_INET ? 20 : 40) + 20);
	ref_check_csums(buf);
	expect_result(pkt_parse_ip(buf, n, &rst), PKT_OK);
	assert_int_equal(rst.ttl, 33);
	assert_int_equal(rst.sport, seg->dport);
	assert_int_equal(rst.dport, seg->sport);
	assert_memory_equal(rst.saddr, seg->daddr, sizeof(rst.saddr));
	assert_memory_equal(rst.daddr, seg->saddr, sizeof(rst.daddr));
	assert_int_equal(rst.window, 0);
	rst.tcp = rst.payload = NULL; /* they point into our stack */
	return rst;
}

/* A segment with ACK: seq = its ack, and no ACK of our own. */
static void test_rst_for_ack(void **state)
{
	struct pkt_tcp get = parse_ok(sample_curl4_get, sizeof(sample_curl4_get));
	struct pkt_tcp rst = build_rst(&get);

	(void)state;
	assert_int_equal(rst.flags, PKT_TCP_RST);
	assert_int_equal(rst.seq, get.ack);
	assert_int_equal(rst.ack, 0);
}

/* Without ACK: seq 0, ack = seq + payload, SYN and FIN one each. */
static void test_rst_for_no_ack(void **state)
{
	static const struct {
		uint8_t flags;
		uint32_t add;
	} cases[] = {
		{ PKT_TCP_PSH, 79 },
		{ PKT_TCP_PSH | PKT_TCP_FIN, 80 },
		{ PKT_TCP_SYN, 80 },
		{ PKT_TCP_SYN | PKT_TCP_FIN, 81 },
	};
	struct pkt_tcp seg = parse_ok(sample_curl4_get, sizeof(sample_curl4_get)), rst;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		seg.flags = cases[i].flags;
		rst = build_rst(&seg);
		assert_int_equal(rst.flags, PKT_TCP_RST | PKT_TCP_ACK);
		assert_int_equal(rst.seq, 0);
		assert_int_equal(rst.ack, seg.seq + cases[i].add);
	}
}

static void test_rst_v6(void **state)
{
	struct pkt_tcp syn = parse_ok(sample_curl6_syn, sizeof(sample_curl6_syn));
	struct pkt_tcp rst = build_rst(&syn);

	(void)state;
	assert_int_equal(rst.family, AF_INET6);
	assert_int_equal(rst.flags, PKT_TCP_RST | PKT_TCP_ACK);
	assert_int_equal(rst.seq, 0);
	assert_int_equal(rst.ack, syn.seq + 1);
}

static void test_rst_never_answers_rst(void **state)
{
	struct pkt_tcp a = parse_ok(sample_kernel4_rst_syn, sizeof(sample_kernel4_rst_syn));
	struct pkt_tcp b = parse_ok(sample_kernel4_rst_ack, sizeof(sample_kernel4_rst_ack));
	uint8_t buf[PKT_BUILD_MAX];

	(void)state;
	assert_int_equal(pkt_build_rst(buf, sizeof(buf), &a, 64), 0);
	assert_int_equal(pkt_build_rst(buf, sizeof(buf), &b, 64), 0);
}

/* ---- Ethernet ---- */

static void test_trunc_eth(void **state)
{
	struct frame f = FRAME(sample_hping_syn);

	(void)state;
	f.len = 0;
	expect_eth(&f, PKT_ERR_TRUNC_ETH);
	f.len = ETH_LEN - 1;
	expect_eth(&f, PKT_ERR_TRUNC_ETH);
}

static void test_not_ip(void **state)
{
	struct frame f = FRAME(sample_hping_syn);

	(void)state;
	put16(f.b + 12, 0x0806); /* ARP */
	expect_eth(&f, PKT_ERR_NOT_IP);
}

static const uint8_t vlan_c[4] = { 0x81, 0x00, 0x00, 100 };
static const uint8_t vlan_s[4] = { 0x88, 0xa8, 0x00, 10 };

static void test_vlan(void **state)
{
	struct pkt_tcp plain = parse_ok(sample_curl4_syn, sizeof(sample_curl4_syn)), tagged;
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	frame_insert(&f, 12, vlan_c, sizeof(vlan_c));
	tagged = parse_ok(f.b, f.len);
	assert_same_segment(&tagged, &plain);
	assert_true(pkt_tcp_csum_ok(&tagged));
}

static void test_qinq(void **state)
{
	struct pkt_tcp plain = parse_ok(sample_curl6_syn, sizeof(sample_curl6_syn)), tagged;
	struct frame f = FRAME(sample_curl6_syn);
	size_t full;

	(void)state;
	frame_insert(&f, 12, vlan_c, sizeof(vlan_c));
	frame_insert(&f, 12, vlan_s, sizeof(vlan_s));
	tagged = parse_ok(f.b, f.len);
	assert_same_segment(&tagged, &plain);

	/* Cut inside the tags. */
	full = f.len;
	for (f.len = 13; f.len < ETH_LEN + 8; f.len++)
		expect_eth(&f, PKT_ERR_TRUNC_ETH);
	f.len = full;

	/* A third tag is more than we look through. */
	frame_insert(&f, 12, vlan_c, sizeof(vlan_c));
	expect_eth(&f, PKT_ERR_NOT_IP);
}

/* ---- IPv4 ---- */

static void test_trunc_ip(void **state)
{
	struct frame f4 = FRAME(sample_hping_syn);
	struct frame f6 = FRAME(sample_curl6_syn);
	struct pkt_tcp seg;

	(void)state;
	f4.len = ETH_LEN + 19;
	expect_eth(&f4, PKT_ERR_TRUNC_IP);
	f6.len = ETH_LEN + 39;
	expect_eth(&f6, PKT_ERR_TRUNC_IP);
	expect_result(pkt_parse_ip(f4.b + ETH_LEN, 0, &seg), PKT_ERR_TRUNC_IP);
}

static void test_ip_version_mismatch(void **state)
{
	struct frame f4 = FRAME(sample_curl4_syn);
	struct frame f6 = FRAME(sample_curl6_syn);
	struct pkt_tcp seg;

	(void)state;
	f4.b[IP4_OFF] = 0x65; /* IPv4 EtherType, version 6 */
	expect_eth(&f4, PKT_ERR_IP_VERSION);
	f6.b[IP4_OFF] = 0x40; /* IPv6 EtherType, version 4 */
	expect_eth(&f6, PKT_ERR_IP_VERSION);
	f4.b[IP4_OFF] = 0x55; /* no link header: version 5 */
	expect_result(pkt_parse_ip(f4.b + ETH_LEN, f4.len - ETH_LEN, &seg), PKT_ERR_IP_VERSION);
}

static void test_ihl_below_5(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	f.b[IP4_OFF] = 0x44;
	expect_eth(&f, PKT_ERR_IP_IHL);
}

static void test_ihl_beyond_buffer(void **state)
{
	struct frame f = FRAME(sample_hping_syn); /* 40-byte packet */

	(void)state;
	f.b[IP4_OFF] = 0x4f; /* 60-byte header */
	expect_eth(&f, PKT_ERR_IP_IHL);
}

/* IPv4 options are stepped over; they are not in the pseudo-header. */
static void test_ip4_options(void **state)
{
	static const uint8_t nops[4] = { 1, 1, 1, 0 };
	struct pkt_tcp plain = parse_ok(sample_curl4_syn, sizeof(sample_curl4_syn)), seg;
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	frame_insert(&f, IP4_TCP, nops, sizeof(nops));
	f.b[IP4_OFF] = 0x46;
	grow16(f.b + IP4_OFF + 2, 4);
	ref_fix_ip4_csum(f.b + IP4_OFF);
	seg = parse_ok(f.b, f.len);
	assert_same_segment(&seg, &plain);
	assert_true(pkt_tcp_csum_ok(&seg));
}

static void test_total_len_beyond_buffer(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	grow16(f.b + IP4_OFF + 2, 1);
	expect_eth(&f, PKT_ERR_IP_LEN);
}

static void test_total_len_below_ihl(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	put16(f.b + IP4_OFF + 2, 19);
	expect_eth(&f, PKT_ERR_IP_LEN);
}

/* The kernel drops an IPv4 header whose checksum is wrong (ip_rcv_core): so
 * do we, whatever the TCP segment says. */
static void test_ip4_bad_header_csum(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	f.b[IP4_OFF + 8] ^= 0x01; /* the TTL */
	expect_eth(&f, PKT_ERR_IP_CSUM);
	ref_fix_ip4_csum(f.b + IP4_OFF);
	expect_eth(&f, PKT_OK);
}

/* Sources no other host can have, as the kernel's routing sees them. */
static void test_src_martian(void **state)
{
	static const struct {
		uint8_t family;
		uint8_t addr[16];
		bool martian;
	} cases[] = {
		{ AF_INET, { 10, 77, 0, 2 }, false },
		{ AF_INET, { 192, 0, 2, 1 }, false },
		{ AF_INET, { 223, 255, 255, 254 }, false },
		{ AF_INET, { 0, 0, 0, 0 }, true },
		{ AF_INET, { 0, 1, 2, 3 }, true },
		{ AF_INET, { 127, 0, 0, 1 }, true },
		{ AF_INET, { 127, 255, 0, 9 }, true },
		{ AF_INET, { 224, 0, 0, 1 }, true },
		{ AF_INET, { 239, 255, 255, 250 }, true },
		{ AF_INET, { 255, 255, 255, 255 }, true },
		{ AF_INET6, { 0xfd, 0x00, [15] = 1 }, false },
		{ AF_INET6, { 0xfe, 0x80, [15] = 1 }, false },
		{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, false },
		{ AF_INET6, { [15] = 0 }, true },
		{ AF_INET6, { [15] = 1 }, true },
		{ AF_INET6, { 0xff, 0x02, [15] = 1 }, true },
		{ AF_INET6, { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 }, true },
		{ AF_INET6, { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 }, true },
	};

	(void)state;
	for (size_t i = 0; i < nitems(cases); i++)
		assert_int_equal(pkt_src_martian(cases[i].family, cases[i].addr), cases[i].martian);
}

static void test_fragment_mf(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	put16(f.b + IP4_OFF + 6, 0x2000);
	ref_fix_ip4_csum(f.b + IP4_OFF);
	expect_eth(&f, PKT_ERR_FRAGMENT);
}

static void test_fragment_offset(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	put16(f.b + IP4_OFF + 6, 0x4001); /* DF and offset 8 */
	ref_fix_ip4_csum(f.b + IP4_OFF);
	expect_eth(&f, PKT_ERR_FRAGMENT);
}

static void test_ip4_not_tcp(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	f.b[IP4_OFF + 9] = 17;
	ref_fix_ip4_csum(f.b + IP4_OFF);
	expect_eth(&f, PKT_ERR_NOT_TCP);
}

/* Ethernet pads short frames; the IP length, not the buffer, ends the
 * segment. */
static void test_eth_padding(void **state)
{
	static const uint8_t pad[16];
	static const struct {
		const uint8_t *frame;
		size_t len;
	} cases[] = {
		{ sample_hping_syn, sizeof(sample_hping_syn) },
		{ sample_curl4_get, sizeof(sample_curl4_get) },
		{ sample_curl6_syn, sizeof(sample_curl6_syn) },
	};
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		struct pkt_tcp plain = parse_ok(cases[i].frame, cases[i].len);
		struct frame f = frame_of(cases[i].frame, cases[i].len);
		struct pkt_tcp seg;

		frame_insert(&f, f.len, pad, sizeof(pad));
		seg = parse_ok(f.b, f.len);
		assert_same_segment(&seg, &plain);
		assert_true(pkt_tcp_csum_ok(&seg));
	}
}

/* ---- IPv6 ---- */

/* An 8-byte extension header holding one PadN option. */
static void ip6_insert_ext(struct frame *f, uint8_t type)
{
	uint8_t ext[8] = { f->b[IP4_OFF + 6], 0, 1, 4 };

	frame_insert(f, IP4_OFF + 40, ext, sizeof(ext));
	f->b[IP4_OFF + 6] = type;
	grow16(f->b + IP4_OFF + 4, sizeof(ext));
}

static void test_ip6_payload_len_beyond_buffer(void **state)
{
	struct frame f = FRAME(sample_curl6_syn);

	(void)state;
	grow16(f.b + IP4_OFF + 4, 1);
	expect_eth(&f, PKT_ERR_IP_LEN);
}

/* Hop-by-hop, routing and destination options are walked; the TCP checksum
 * does not cover them. */
static void test_ip6_ext_chain(void **state)
{
	struct pkt_tcp plain = parse_ok(sample_curl6_syn, sizeof(sample_curl6_syn)), seg;
	struct frame f = FRAME(sample_curl6_syn);

	(void)state;
	ip6_insert_ext(&f, 60); /* destination options */
	ip6_insert_ext(&f, 43); /* routing */
	ip6_insert_ext(&f, 0);  /* hop-by-hop */
	seg = parse_ok(f.b, f.len);
	assert_same_segment(&seg, &plain);
	assert_true(pkt_tcp_csum_ok(&seg));
}

static void test_ip6_fragment_header(void **state)
{
	struct frame f = FRAME(sample_curl6_syn);

	(void)state;
	ip6_insert_ext(&f, 44);
	expect_eth(&f, PKT_ERR_FRAGMENT);
}

static void test_ip6_not_tcp(void **state)
{
	struct frame f = FRAME(sample_curl6_syn);
	struct frame g = FRAME(sample_curl6_syn);

	(void)state;
	f.b[IP4_OFF + 6] = 17; /* UDP */
	expect_eth(&f, PKT_ERR_NOT_TCP);
	g.b[IP4_OFF + 6] = 59; /* no next header, after an ext */
	ip6_insert_ext(&g, 0);
	expect_eth(&g, PKT_ERR_NOT_TCP);
}

static void test_ip6_ext_truncated(void **state)
{
	struct frame f = FRAME(sample_curl6_syn);

	(void)state;
	/* The payload ends 4 bytes into the header (the rest is padding). */
	f.b[IP4_OFF + 6] = 60;
	put16(f.b + IP4_OFF + 4, 4);
	expect_eth(&f, PKT_ERR_IP6_EXT);
}

static void test_ip6_ext_len_overrun(void **state)
{
	struct frame f = FRAME(sample_curl6_syn);

	(void)state;
	ip6_insert_ext(&f, 60);
	f.b[IP6_TCP + 1] = 6; /* 56 bytes; the payload has 48 */
	expect_eth(&f, PKT_ERR_IP6_EXT);
}

static void test_ip6_ext_too_many(void **state)
{
	struct frame f = FRAME(sample_curl6_syn);
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		ip6_insert_ext(&f, 60);
	expect_eth(&f, PKT_OK);
	ip6_insert_ext(&f, 60);
	expect_eth(&f, PKT_ERR_IP6_EXT);
}

/* ---- TCP ---- */

/* The IP length leaves less than a TCP header. */
static void test_trunc_tcp(void **state)
{
	struct frame f4 = FRAME(sample_hping_syn);
	struct frame f6 = FRAME(sample_curl6_syn);

	(void)state;
	put16(f4.b + IP4_OFF + 2, 20 + 19);
	ref_fix_ip4_csum(f4.b + IP4_OFF);
	expect_eth(&f4, PKT_ERR_TRUNC_TCP);
	put16(f6.b + IP4_OFF + 4, 19);
	expect_eth(&f6, PKT_ERR_TRUNC_TCP);
}

static void test_doff_below_5(void **state)
{
	struct frame f = FRAME(sample_hping_syn);

	(void)state;
	f.b[IP4_TCP + 12] = 4 << 4;
	expect_eth(&f, PKT_ERR_TCP_DOFF);
}

static void test_doff_beyond_segment(void **state)
{
	struct frame f = FRAME(sample_hping_syn); /* 20-byte segment */
	struct frame g = FRAME(sample_curl4_syn); /* 40-byte segment */

	(void)state;
	f.b[IP4_TCP + 12] = 6 << 4;
	expect_eth(&f, PKT_ERR_TCP_DOFF);
	g.b[IP4_TCP + 12] = 15 << 4;
	expect_eth(&g, PKT_ERR_TCP_DOFF);
}

/*
 * curl4_syn's options, at SYN_OPT + n:
 *   0 MSS(2,4,..)  4 SACK_PERM(4,2)  6 TS(8,10,..)  16 NOP  17 WS(3,3,10)
 */
static void test_opt_len_0(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	f.b[SYN_OPT + 1] = 0;
	expect_eth(&f, PKT_ERR_TCP_OPT);
}

static void test_opt_len_1(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	f.b[SYN_OPT + 18] = 1;
	expect_eth(&f, PKT_ERR_TCP_OPT);
}

static void test_opt_overrun(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	f.b[SYN_OPT + 17] = 30; /* unknown kind, 4 bytes: one too many */
	f.b[SYN_OPT + 18] = 4;
	expect_eth(&f, PKT_ERR_TCP_OPT);
}

/* A kind in the last byte of the header has no room for its length. */
static void test_opt_no_len_byte(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);

	(void)state;
	memcpy(f.b + SYN_OPT + 16, "\x01\x01\x01\x1e", 4);
	expect_eth(&f, PKT_ERR_TCP_OPT);
}

static void test_opt_known_wrong_len(void **state)
{
	static const struct {
		size_t off;
		uint8_t len;
	} cases[] = {
		{ 1, 3 },  /* MSS */
		{ 5, 3 },  /* SACK_PERM */
		{ 7, 8 },  /* TS */
		{ 18, 2 }, /* WS */
	};
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		struct frame f = FRAME(sample_curl4_syn);

		f.b[SYN_OPT + cases[i].off] = cases[i].len;
		expect_eth(&f, PKT_ERR_TCP_OPT);
	}
}

static void test_opt_unknown_skipped(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);
	struct pkt_tcp seg;

	(void)state;
	memcpy(f.b + SYN_OPT + 16, "\x1e\x04\xff\xff", 4); /* was WS */
	seg = parse_ok(f.b, f.len);
	assert_false(seg.opt.has_wscale);
	assert_true(seg.opt.has_mss && seg.opt.sack_ok && seg.opt.has_ts);
	assert_int_equal(seg.opt.tsval, 1788056351);
}

/* Whatever follows EOL is padding, even if it looks malformed. */
static void test_opt_eol(void **state)
{
	struct frame f = FRAME(sample_curl4_syn);
	struct pkt_tcp seg;

	(void)state;
	memcpy(f.b + SYN_OPT + 4, "\x00\x02\x00", 3);
	seg = parse_ok(f.b, f.len);
	assert_true(seg.opt.has_mss && seg.opt.mss == 1460);
	assert_false(seg.opt.sack_ok || seg.opt.has_ts || seg.opt.has_wscale);
}

/* ---- Names ---- */

static void test_result_str(void **state)
{
	const char *s, *seen[PKT_RESULT_COUNT];
	int r, i;

	(void)state;
	for (r = 0; r < PKT_RESULT_COUNT; r++) {
		s = pkt_result_str(r);
		assert_non_null(s);
		assert_true(s[0] != '\0');
		assert_int_equal(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(s));
		for (i = 0; i < r; i++)
			assert_string_not_equal(s, seen[i]);
		seen[r] = s;
	}
	assert_string_equal(pkt_result_str(PKT_ERR_TRUNC_TCP), "truncated_tcp");
	assert_string_equal(pkt_result_str(PKT_RESULT_COUNT), "unknown");
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_random_damage),
		cmocka_unit_test(test_csum_detects_damage),
		cmocka_unit_test(test_synack_matches_kernel),
		cmocka_unit_test(test_synack_curl4),
		cmocka_unit_test(test_synack_curl6),
		cmocka_unit_test(test_synack_hping_mss_only),
		cmocka_unit_test(test_synack_option_layouts),
		cmocka_unit_test(test_build_capacity),
		cmocka_unit_test(test_rst_matches_kernel),
		cmocka_unit_test(test_rst_for_ack),
		cmocka_unit_test(test_rst_for_no_ack),
		cmocka_unit_test(test_rst_v6),
		cmocka_unit_test(test_rst_never_answers_rst),
		cmocka_unit_test(test_trunc_eth),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_qinq),
		cmocka_unit_test(test_trunc_ip),
		cmocka_unit_test(test_ip_version_mismatch),
		cmocka_unit_test(test_ihl_below_5),
		cmocka_unit_test(test_ihl_beyond_buffer),
		cmocka_unit_test(test_ip4_options),
		cmocka_unit_test(test_total_len_beyond_buffer),
		cmocka_unit_test(test_total_len_below_ihl),
		cmocka_unit_test(test_fragment_mf),
		cmocka_unit_test(test_fragment_offset),
		cmocka_unit_test(test_ip4_bad_header_csum),
		cmocka_unit_test(test_src_martian),
		cmocka_unit_test(test_ip4_not_tcp),
		cmocka_unit_test(test_eth_padding),
		cmocka_unit_test(test_ip6_payload_len_beyond_buffer),
		cmocka_unit_test(test_ip6_ext_chain),
		cmocka_unit_test(test_ip6_fragment_header),
		cmocka_unit_test(test_ip6_not_tcp),
		cmocka_unit_test(test_ip6_ext_truncated),
		cmocka_unit_test(test_ip6_ext_len_overrun),
		cmocka_unit_test(test_ip6_ext_too_many),
		cmocka_unit_test(test_trunc_tcp),
		cmocka_unit_test(test_doff_below_5),
		cmocka_unit_test(test_doff_beyond_segment),
		cmocka_unit_test(test_opt_len_0),
		cmocka_unit_test(test_opt_len_1),
		cmocka_unit_test(test_opt_overrun),
		cmocka_unit_test(test_opt_no_len_byte),
		cmocka_unit_test(test_opt_known_wrong_len),
		cmocka_unit_test(test_opt_unknown_skipped),
		cmocka_unit_test(test_opt_eol),
		cmocka_unit_test(test_result_str),
	};
	/* Two tests per captured frame, named after it. */
	static char names[2 * nitems(samples)][48];
	struct CMUnitTest pkt[nitems(fixed) + 2 * nitems(samples)];
	size_t i, n = 0;

	for (i = 0; i < nitems(samples); i++) {
		snprintf(names[2 * i], sizeof(names[0]), "%s_fields", samples[i].name);
		snprintf(names[2 * i + 1], sizeof(names[0]), "%s_prefixes", samples[i].name);
		pkt[n++] = (struct CMUnitTest){ names[2 * i], test_sample_fields, NULL, NULL,
			                        (void *)&samples[i] };
		pkt[n++] = (struct CMUnitTest){ names[2 * i + 1], test_sample_prefixes, NULL, NULL,
			                        (void *)&samples[i] };
	}
	for (i = 0; i < nitems(fixed); i++)
		pkt[n++] = fixed[i];
	return cmocka_run_group_tests(pkt, NULL, NULL);
}

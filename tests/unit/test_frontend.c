/* frontend: the per-frame decision (verdict.h), every verdict, on captured
 * frames (pkt_samples.h) edited into each case, with the worker's memory of
 * the 4-tuple played by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "pkt_samples.h"
#include "ref_csum.h"
#include "verdict.h"

#define PERIOD 30
#define NOW ((uint64_t)1700000000)
#define ARRIVED_NS ((uint64_t)5000000000)
#define ISN 0x7a003a02u /* curl4_syn's */

static const uint8_t master[COOKIE_MASTER_LEN] = { 7, 7, 7 };

enum frame_kind {
	F_SYN, /* curl4_syn */
	F_GET, /* curl4_get: PSH|ACK with a request */
	F_ACK, /* curl4_get without its request: the handshake's third packet */
	F_RST, /* curl4_syn turned into a RST */
};

enum ack_kind {
	A_COOKIE,     /* ack = a cookie made now for this tuple and ISN, + 1 */
	A_COOKIE_OLD, /* ... made two key periods ago */
	A_FORGED,     /* ... with one MAC bit flipped */
};

enum tweak {
	T_NONE,
	T_NOT_HOST,   /* PACKET_OTHERHOST: another host's, or a broadcast link-layer address */
	T_TRUNCATED,  /* the frame cut inside the TCP header */
	T_OTHER_PORT, /* to port 8081 */
	T_LOOPBACK,   /* from 127.0.0.1 */
	T_FROM_US,    /* from our own address (a LAND attack) */
	T_GROUP_MAC,  /* from a multicast link-layer address */
	T_BAD_CSUM,   /* TCP checksum off by one */
	T_VOUCHED,    /* the same, but the NIC says the checksum is fine */
	T_WILDCARD,   /* a wildcard listen; the destination is ours */
	T_NOT_OURS,   /* a wildcard listen; the destination is not ours */
};

struct fcase {
	const char *name;
	enum frame_kind kind;
	enum ack_kind ack;
	enum tweak tweak;
	enum verdict_tuple known;
	bool handshake;  /* LIVE/FINISHED: the frame carries that connection's very ISNs */
	bool before;     /* LIVE: the frame arrived before the socket went live */
	bool next;       /* LIVE: its seq is the next byte the socket expects from us */
	unsigned budget; /* cookie_diagnose() calls allowed */
	enum verdict want;
};

struct fx {
	struct cookie_jar *jar;
	struct localaddr *local;
	const struct fcase *c;
	uint32_t seq, ack; /* of the frame under test */
	unsigned calls;    /* of the known callback */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static struct cookie_tuple sample_tuple(void)
{
	struct pkt_tcp syn;
	struct cookie_tuple t;

	assert_int_equal(pkt_parse_eth(sample_curl4_syn, sizeof(sample_curl4_syn), &syn), PKT_OK);
	verdict_cookie_tuple(&syn, &t);
	return t;
}

static uint32_t cookie_for(struct fx *fx, uint64_t now)
{
	const struct cookie_opts offered = { 1460, 10, true }; /* curl4_syn's options */
	struct cookie_tuple t = sample_tuple();

	return cookie_make(fx->jar, &t, ISN, &offered, now, NULL);
}

/* The case's frame, into `b`; returns its length. */
static size_t build(struct fx *fx, const struct fcase *c, uint8_t *b)
{
	size_t len;

	if (c->kind == F_SYN || c->kind == F_RST) {
		len = sizeof(sample_curl4_syn);
		memcpy(b, sample_curl4_syn, len);
		if (c->kind == F_RST)
			b[14 + 20 + 13] = PKT_TCP_RST;
		fx->seq = ISN;
		fx->ack = 0;
	} else {
		len = sizeof(sample_curl4_get);
		memcpy(b, sample_curl4_get, len);
		if (c->kind == F_ACK) {
			len -= 79;
			put16(b + 14 + 2, (uint16_t)(len - 14));
			b[14 + 20 + 13] = PKT_TCP_ACK;
		}
		fx->seq = ISN + 1;
		fx->ack = cookie_for(fx, c->ack == A_COOKIE_OLD ? NOW - 2 * PERIOD : NOW) + 1;
		if (c->ack == A_FORGED)
			fx->ack ^= 0x100;
		put32(b + 14 + 20 + 4, fx->seq);
		put32(b + 14 + 20 + 8, fx->ack);
	}
	switch (c->tweak) {
	case T_OTHER_PORT:
		put16(b + 14 + 20 + 2, 8081);
		break;
	case T_LOOPBACK:
		put32(b + 14 + 12, 0x7f000001);
		break;
	case T_FROM_US:
		memcpy(b + 14 + 12, b + 14 + 16, 4);
		break;
	case T_GROUP_MAC:
		b[6] |= 1;
		break;
	default:
		break;
	}
	ref_fix_csums4(b, len);
	if (c->tweak == T_BAD_CSUM || c->tweak == T_VOUCHED)
		b[14 + 20 + 17] ^= 1;
	if (c->tweak == T_TRUNCATED)
		len = 14 + 20 + 10;
	return len;
}

static void known(void *arg, const struct cookie_tuple *t, struct verdict_known *k)
{
	struct fx *fx = arg;
	const struct fcase *c = fx->c;
	struct cookie_tuple want = sample_tuple();

	assert_memory_equal(t, &want, sizeof(want));
	fx->calls++;
	k->state = c->known;
	k->cookie = c->handshake ? fx->ack - 1 : 0x12345678;
	k->rcv_isn = c->handshake ? fx->seq - 1 : 0x9abcdef0;
	k->next_seq = c->next ? fx->seq : fx->seq + 1000;
	k->live_ns = c->before ? ARRIVED_NS + 1 : ARRIVED_NS - 1;
	k->conn = fx;
}

static const struct fcase cases[] = {
	/* What never reaches the 4-tuple's memory. */
	{ "another host's frame", F_SYN, 0, T_NOT_HOST, 0, 0, 0, 0, 0, VERDICT_NOT_FOR_US },
	{ "truncated", F_SYN, 0, T_TRUNCATED, 0, 0, 0, 0, 0, VERDICT_MALFORMED },
	{ "another port", F_SYN, 0, T_OTHER_PORT, 0, 0, 0, 0, 0, VERDICT_UNPROTECTED },
	{ "from 127.0.0.1", F_SYN, 0, T_LOOPBACK, 0, 0, 0, 0, 0, VERDICT_MARTIAN },
	{ "from our own address", F_SYN, 0, T_FROM_US, 0, 0, 0, 0, 0, VERDICT_MARTIAN },
	{ "from a group MAC", F_GET, A_COOKIE, T_GROUP_MAC, 0, 0, 0, 0, 0, VERDICT_MARTIAN },
	{ "wildcard, not our address", F_SYN, 0, T_NOT_OURS, 0, 0, 0, 0, 0, VERDICT_NOT_FOR_US },
	/* New 4-tuples. */
	{ "SYN", F_SYN, 0, T_NONE, VERDICT_TUPLE_NEW, 0, 0, 0, 0, VERDICT_SYN },
	{ "SYN, wildcard listen", F_SYN, 0, T_WILDCARD, VERDICT_TUPLE_NEW, 0, 0, 0, 0, VERDICT_SYN },
	{ "SYN, wrong checksum", F_SYN, 0, T_BAD_CSUM, VERDICT_TUPLE_NEW, 0, 0, 0, 0, VERDICT_BAD_CSUM },
	{ "SYN, checksum vouched by the NIC", F_SYN, 0, T_VOUCHED, VERDICT_TUPLE_NEW, 0, 0, 0, 0,
	  VERDICT_SYN },
	{ "RST", F_RST, 0, T_NONE, VERDICT_TUPLE_NEW, 0, 0, 0, 0, VERDICT_KERNEL },
	{ "handshake ACK", F_ACK, A_COOKIE, T_NONE, VERDICT_TUPLE_NEW, 0, 0, 0, 0, VERDICT_ADOPT },
	{ "handshake ACK with data", F_GET, A_COOKIE, T_NONE, VERDICT_TUPLE_NEW, 0, 0, 0, 0, VERDICT_ADOPT },
	{ "valid cookie, wrong checksum", F_GET, A_COOKIE, T_BAD_CSUM, VERDICT_TUPLE_NEW, 0, 0, 0, 1,
	  VERDICT_BAD_CSUM },
	{ "forged cookie", F_ACK, A_FORGED, T_NONE, VERDICT_TUPLE_NEW, 0, 0, 0, 1, VERDICT_BAD_COOKIE },
	{ "expired cookie", F_ACK, A_COOKIE_OLD, T_NONE, VERDICT_TUPLE_NEW, 0, 0, 0, 1, VERDICT_EXPIRED },
	{ "expired cookie, no diagnosis left", F_ACK, A_COOKIE_OLD, T_NONE, VERDICT_TUPLE_NEW, 0, 0, 0, 0,
	  VERDICT_BAD_COOKIE },
	/* A handshake verified in this ring block: data behind its ACK. */
	{ "data behind a pending handshake", F_GET, A_COOKIE, T_NONE, VERDICT_TUPLE_PENDING, 0, 0, 0, 0,
	  VERDICT_EARLY_DATA },
	{ "a retransmitted ACK of a pending one", F_ACK, A_COOKIE, T_NONE, VERDICT_TUPLE_PENDING, 0, 0, 0, 0,
	  VERDICT_EARLY_DATA },
	/* A live connection: its socket's, but for copies from before it went live. */
	{ "live: retransmitted handshake ACK", F_ACK, A_COOKIE, T_NONE, VERDICT_TUPLE_LIVE, 1, 1, 0, 0,
	  VERDICT_DUP_ACK },
	{ "live: the same ACK after it went live", F_ACK, A_COOKIE, T_NONE, VERDICT_TUPLE_LIVE, 1, 0, 0, 0,
	  VERDICT_KERNEL },
	{ "live: data sent before it went live", F_GET, A_COOKIE, T_NONE, VERDICT_TUPLE_LIVE, 1, 1, 1, 0,
	  VERDICT_LATE_DATA },
	{ "live: ... with a wrong checksum", F_GET, A_COOKIE, T_BAD_CSUM, VERDICT_TUPLE_LIVE, 1, 1, 1, 0,
	  VERDICT_BAD_CSUM },
	{ "live: data after", F_GET, A_COOKIE, T_NONE, VERDICT_TUPLE_LIVE, 1, 0, 1, 0, VERDICT_KERNEL },
	{ "live: data already injected", F_GET, A_COOKIE, T_NONE, VERDICT_TUPLE_LIVE, 1, 1, 0, 0,
	  VERDICT_KERNEL },
	{ "live: a SYN on its 4-tuple", F_SYN, 0, T_NONE, VERDICT_TUPLE_LIVE, 0, 0, 0, 0,
	  VERDICT_SYN_ON_LIVE },
	{ "live: RST", F_RST, 0, T_NONE, VERDICT_TUPLE_LIVE, 0, 0, 0, 0, VERDICT_KERNEL },
	/* A finished connection lingering on the 4-tuple. */
	{ "finished: its handshake ACK again", F_GET, A_COOKIE, T_NONE, VERDICT_TUPLE_FINISHED, 1, 0, 0, 1,
	  VERDICT_LATE },
	{ "finished: a late segment", F_GET, A_FORGED, T_NONE, VERDICT_TUPLE_FINISHED, 0, 0, 0, 1,
	  VERDICT_LATE },
	{ "finished: port reused, SYN", F_SYN, 0, T_NONE, VERDICT_TUPLE_FINISHED, 0, 0, 0, 0, VERDICT_SYN },
	{ "finished: port reused, new handshake", F_GET, A_COOKIE, T_NONE, VERDICT_TUPLE_FINISHED, 0, 0, 0, 0,
	  VERDICT_ADOPT },
};

static void test_every_verdict(void **state)
{
	bool seen[VERDICT_COUNT] = { false };
	struct fx fx = { 0 };
	struct verdict_listen listen[CONFIG_MAX_LISTEN], wildcard[CONFIG_MAX_LISTEN];
	struct config cfg;
	struct localaddr_entry ours = { .family = AF_INET, .addr = { 10, 200, 1, 2 } };

	(void)state;
	fx.jar = cookie_jar_new(master, PERIOD);
	fx.local = localaddr_new();
	assert_non_null(fx.jar);
	assert_non_null(fx.local);
	assert_int_equal(localaddr_set(fx.local, &ours, 1), 1);
	config_defaults(&cfg);
	assert_int_equal(config_parse_endpoint("10.200.1.2:8080", &cfg.listen[0]), 0);
	cfg.n_listen = 1;
	assert_int_equal(verdict_listen_init(&cfg, listen), 1);
	assert_int_equal(config_parse_endpoint("0.0.0.0:8080", &cfg.listen[0]), 0);
	assert_int_equal(verdict_listen_init(&cfg, wildcard), 1);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fcase *c = &cases[i];
		struct localaddr *none = localaddr_new();
		unsigned budget = c->budget;
		bool wild = c->tweak == T_WILDCARD || c->tweak == T_NOT_OURS;
		struct verdict_ctx ctx = {
			.listen = wild ? wildcard : listen,
			.n_listen = 1,
			.local = c->tweak == T_NOT_OURS ? none : fx.local,
			.jar = fx.jar,
			.now_s = NOW,
			.diagnose_left = &budget,
			.known = known,
			.known_arg = &fx,
		};
		uint8_t b[256];
		struct pkt_frame f = {
			.data = b,
			.arrived_ns = ARRIVED_NS,
			.to_host = c->tweak != T_NOT_HOST,
			.csum_ok = c->tweak == T_VOUCHED,
		};
		struct verdict_out out;
		enum verdict v;

		fx.c = c;
		fx.calls = 0;
		f.len = build(&fx, c, b);
		v = verdict_of(&ctx, &f, &out);
		print_message("%-40s %s\n", c->name, verdict_str(v));
		assert_string_equal(verdict_str(v), verdict_str(c->want));
		seen[v] = true;
		/* The memory is asked once, and only past the address checks. */
		bool consulted = v != VERDICT_NOT_FOR_US && v != VERDICT_MALFORMED &&
		                 v != VERDICT_UNPROTECTED && v != VERDICT_MARTIAN;
		assert_int_equal(fx.calls, consulted);
		if (consulted)
			assert_ptr_equal(out.known.conn, &fx);
		if (v == VERDICT_ADOPT) {
			assert_int_equal(out.opts.mss, 1460);
			assert_true(out.opts.sack_ok);
			assert_int_equal(out.known.state, c->known);
		}
		/* A diagnosis is spent only on a refused cookie, when one is left. */
		assert_int_equal(c->budget - budget,
		                 (v == VERDICT_BAD_COOKIE || v == VERDICT_EXPIRED) && c->budget);
		localaddr_free(none);
	}
	for (int v = 0; v < VERDICT_COUNT; v++)
		if (!seen[v])
			fail_msg("no case gives %s", verdict_str((enum verdict)v));
	localaddr_free(fx.local);
	cookie_jar_free(fx.jar);
}

static void test_verdict_names(void **state)
{
	(void)state;
	for (int v = 0; v < VERDICT_COUNT; v++)
		assert_string_not_equal(verdict_str((enum verdict)v), "unknown");
	assert_string_equal(verdict_str(VERDICT_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verdict),
		cmocka_unit_test(test_verdict_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

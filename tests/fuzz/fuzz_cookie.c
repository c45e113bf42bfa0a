/* Fuzz the cookie on parsed segments, with a fixed master key so every run
 * reproduces. Input: `now` (8 bytes, seconds, big-endian), then an Ethernet
 * frame.
 *
 * A segment that parses is checked as a handshake's ACK: any verdict, but a
 * valid one decodes to table values, and cookie_diagnose() only tells
 * expired from forged. Then it is taken as a SYN offering its options:
 * cookie_make()'s ISN must be COOKIE_VALID, with the options it granted
 * (rounded down, never up), now and one key period later; two periods later
 * cookie_check() refuses it -- unless, once in 2^24, the 24-bit MAC under
 * that newer key happens to match too -- and cookie_diagnose() says
 * COOKIE_EXPIRED.
 */
#include <stdbool.h>
#include <string.h>

#include "cookie.h"
#include "fuzz.h"
#include "pkt.h"
#include "verdict.h"

#define PERIOD 30
#define NOW_LEN 8

static bool in_tables(const struct cookie_opts *o)
{
	bool mss = false, wscale = false;

	for (size_t i = 0; i < 8; i++) {
		mss |= o->mss == synack_mss_table[i];
		wscale |= o->wscale == synack_wscale_table[i];
	}
	return mss && wscale;
}

static bool opts_equal(const struct cookie_opts *a, const struct cookie_opts *b)
{
	return a->mss == b->mss && a->wscale == b->wscale && a->sack_ok == b->sack_ok;
}

static struct cookie_jar *jar(void)
{
	static const uint8_t master[COOKIE_MASTER_LEN] = "synguard fuzz master key, fixed";
	static struct cookie_jar *j;

	if (j == NULL)
		FUZZ_CHECK((j = cookie_jar_new(master, PERIOD)) != NULL);
	return j;
}

static void check_round_trip(const struct cookie_tuple *t, const struct pkt_tcp *syn, uint64_t now)
{
	const struct cookie_opts offered = {
		.mss = syn->opt.mss, /* 0 without the option: the floor applies */
		.wscale = syn->opt.has_wscale && syn->opt.wscale <= 14 ? syn->opt.wscale : COOKIE_WSCALE_NONE,
		.sack_ok = syn->opt.sack_ok,
	};
	struct cookie_opts granted, got;
	enum cookie_verdict v;
	uint32_t isn;

	isn = cookie_make(jar(), t, syn->seq, &offered, now, &granted);
	FUZZ_CHECK(in_tables(&granted) && granted.sack_ok == offered.sack_ok);
	FUZZ_CHECK(granted.mss <= offered.mss ||
	           (offered.mss < synack_mss_table[0] && granted.mss == synack_mss_table[0]));
	if (offered.wscale == COOKIE_WSCALE_NONE)
		FUZZ_CHECK(granted.wscale == COOKIE_WSCALE_NONE);
	else
		FUZZ_CHECK(granted.wscale != COOKIE_WSCALE_NONE && granted.wscale <= offered.wscale);

	/* The client's ACK: seq = its ISN + 1, ack = ours + 1. */
	FUZZ_CHECK(cookie_check(jar(), t, syn->seq + 1, isn + 1, now, &got) == COOKIE_VALID);
	FUZZ_CHECK(opts_equal(&got, &granted));
	if (now > UINT64_MAX - 2 * PERIOD)
		return;
	memset(&got, 0, sizeof(got));
	FUZZ_CHECK(cookie_check(jar(), t, syn->seq + 1, isn + 1, now + PERIOD, &got) == COOKIE_VALID);
	FUZZ_CHECK(opts_equal(&got, &granted));
	v = cookie_check(jar(), t, syn->seq + 1, isn + 1, now + 2 * PERIOD, NULL);
	FUZZ_CHECK(v == COOKIE_BAD_MAC || v == COOKIE_VALID);
	FUZZ_CHECK(cookie_diagnose(jar(), t, syn->seq + 1, isn + 1, now + 2 * PERIOD) == COOKIE_EXPIRED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cookie_opts got = { 0 };
	struct cookie_tuple t;
	enum cookie_verdict v;
	struct pkt_tcp seg;
	uint64_t now = 0;

	if (size < NOW_LEN)
		return 0;
	for (size_t i = 0; i < NOW_LEN; i++)
		now = now << 8 | data[i];
	if (pkt_parse_eth(data + NOW_LEN, size - NOW_LEN, &seg) != PKT_OK)
		return 0;
	verdict_cookie_tuple(&seg, &t);

	v = cookie_check(jar(), &t, seg.seq, seg.ack, now, &got);
	FUZZ_CHECK(strcmp(cookie_verdict_str(v), "unknown verdict") != 0);
	FUZZ_CHECK(v != COOKIE_VALID || in_tables(&got));
	if (v != COOKIE_VALID)
		FUZZ_CHECK(cookie_diagnose(jar(), &t, seg.seq, seg.ack, now) != COOKIE_VALID);
	check_round_trip(&t, &seg, now);
	return 0;
}

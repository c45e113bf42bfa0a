/* Unit tests for cookie/ (cookie.c, keyfile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cookie.h"
#include "keyfile.h"

#define PERIOD 30
/* An odd epoch well away from 0, and a time 7 s into it. */
#define EPOCH 56666667ULL
#define NOW (EPOCH * PERIOD + 7)

static const uint8_t kat_master[COOKIE_MASTER_LEN] = {
	0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* xorshift64*: reproducible inputs for the randomised tests. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_fill(void *buf, size_t len)
{
	for (uint8_t *p = buf; len > 0; len--)
		*p++ = (uint8_t)rng();
}

static struct cookie_tuple tuple(int family, const char *saddr, const char *daddr, uint16_t sport,
                                 uint16_t dport)
{
	struct cookie_tuple t = { .family = (uint8_t)family, .sport = sport, .dport = dport };

	assert_int_equal(inet_pton(family, saddr, t.saddr), 1);
	assert_int_equal(inet_pton(family, daddr, t.daddr), 1);
	return t;
}

static struct cookie_tuple tuple_v4(void)
{
	return tuple(AF_INET, "192.0.2.1", "198.51.100.7", 40000, 443);
}

static struct cookie_tuple tuple_v6(void)
{
	return tuple(AF_INET6, "2001:db8::1", "2001:db8:ffff::2", 51515, 8443);
}

static struct cookie_jar *jar_new(const uint8_t master[COOKIE_MASTER_LEN], uint32_t period)
{
	struct cookie_jar *jar = cookie_jar_new(master, period);

	assert_non_null(jar);
	return jar;
}

static int jar_setup(void **state)
{
	*state = jar_new(kat_master, PERIOD);
	return 0;
}

static int jar_teardown(void **state)
{
	cookie_jar_free(*state);
	return 0;
}

/* The verdict for the ACK that answers `cookie`, as a client would send it. */
static enum cookie_verdict check(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t client_isn,
                                 uint32_t cookie, uint64_t now)
{
	return cookie_check(jar, t, client_isn + 1, cookie + 1, now, NULL);
}

static enum cookie_verdict diagnose(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t client_isn,
                                    uint32_t cookie, uint64_t now)
{
	return cookie_diagnose(jar, t, client_isn + 1, cookie + 1, now);
}

static void assert_opts_equal(const struct cookie_opts *a, const struct cookie_opts *b)
{
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->sack_ok, b->sack_ok);
}

/* Expected cookies computed once, independently of this code: HMAC-SHA256
 * key derivation with Python's hmac/hashlib, and a SipHash-2-4 written from
 * the paper in Python (checked against the paper's vector a129ca6149be45e5),
 * over the 42-byte input laid out as cookie.h describes. */
/* One vector a line, as the formatter would not keep them. */
/* clang-format off */
static const struct kat {
	uint32_t period;
	uint64_t now;
	int family;
	const char *saddr, *daddr;
	uint16_t sport, dport;
	uint32_t client_isn;
	struct cookie_opts offered;
	uint32_t cookie;
} kats[] = {
	/* odd epoch; MSS 1460 (index 7), wscale 7 (index 4), SACK */
	{ 60, 1700000000, AF_INET, "192.0.2.1", "198.51.100.7", 40000, 443, 0x12345678,
	  { 1460, 7, true }, 0x7008a8f9 },
	/* the same one epoch later: other key, parity bit clear */
	{ 60, 1700000060, AF_INET, "192.0.2.1", "198.51.100.7", 40000, 443, 0x12345678,
	  { 1460, 7, true }, 0x77279779 },
	/* epoch 0; MSS below the floor, wscale 0 (index 1), ISN all ones */
	{ 1, 0, AF_INET, "0.0.0.0", "255.255.255.255", 0, 0, 0xffffffff, { 47, 0, false }, 0xa0a8d702 },
	/* option-less SYN: default MSS, no scaling, no SACK */
	{ 60, 1700000000, AF_INET6, "2001:db8::1", "2001:db8:ffff::2", 51515, 8443, 0xfedcba98,
	  { 536, COOKIE_WSCALE_NONE, false }, 0xcddc7990 },
	/* wscale 14 rounds to 10 (index 7), MSS 1300 (index 3), ISN 0 */
	{ 15, 1234567891, AF_INET6, "fe80::1:2:3:4", "::ffff:10.0.0.1", 1, 65535, 0, { 1300, 14, true },
	  0x86b0c73f },
};
/* clang-format on */

static void kat_run(int family)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		const struct kat *k = &kats[i];
		struct cookie_tuple t = tuple(k->family, k->saddr, k->daddr, k->sport, k->dport);
		struct cookie_jar *jar;

		if (k->family != family)
			continue;
		jar = jar_new(kat_master, k->period);
		assert_int_equal(cookie_make(jar, &t, k->client_isn, &k->offered, k->now, NULL), k->cookie);
		assert_int_equal(check(jar, &t, k->client_isn, k->cookie, k->now), COOKIE_VALID);
		/* Four epochs on, the same key slot is re-derived; coming back must
		 * re-derive the original key, not keep the newer one. */
		cookie_make(jar, &t, k->client_isn, &k->offered, k->now + 4 * k->period, NULL);
		assert_int_equal(cookie_make(jar, &t, k->client_isn, &k->offered, k->now, NULL), k->cookie);
		cookie_jar_free(jar);
		n++;
	}
	assert_true(n >= 2);
}

static void test_kat_v4(void **state)
{
	(void)state;
	kat_run(AF_INET);
}

static void test_kat_v6(void **state)
{
	(void)state;
	kat_run(AF_INET6);
}

static void roundtrip(int family)
{
	struct cookie_jar *jar = jar_new(kat_master, PERIOD);

	for (int i = 0; i < 20000; i++) {
		struct cookie_tuple t = { .family = (uint8_t)family };
		/* wscale: mostly 0..14, sometimes out of range or absent */
		uint8_t ws = (uint8_t)(rng() % 18);
		struct cookie_opts offered = {
			.mss = (uint16_t)rng(),
			.wscale = ws == 17   ? COOKIE_WSCALE_NONE
			          : ws == 16 ? 200
			                     : ws,
			.sack_ok = rng() & 1,
		};
		struct cookie_opts granted, out;
		uint32_t isn = (uint32_t)rng(), cookie;
		uint64_t now = rng() >> 24;

		rng_fill(t.saddr, sizeof(t.saddr));
		rng_fill(t.daddr, sizeof(t.daddr));
		t.sport = (uint16_t)rng();
		t.dport = (uint16_t)rng();
		cookie = cookie_make(jar, &t, isn, &offered, now, &granted);
		assert_int_equal(cookie_check(jar, &t, isn + 1, cookie + 1, now, &out), COOKIE_VALID);
		assert_opts_equal(&out, &granted);
		/* Never more than offered (48 is the floor), never invented. */
		assert_true(granted.mss <= (offered.mss < 48 ? 48 : offered.mss));
		assert_true((granted.wscale == COOKIE_WSCALE_NONE) == (offered.wscale == COOKIE_WSCALE_NONE));
		assert_true(granted.wscale == COOKIE_WSCALE_NONE || granted.wscale <= offered.wscale);
		assert_int_equal(granted.sack_ok, offered.sack_ok);
	}
	cookie_jar_free(jar);
}

static void test_roundtrip_v4(void **state)
{
	(void)state;
	roundtrip(AF_INET);
}

static void test_roundtrip_v6(void **state)
{
	(void)state;
	roundtrip(AF_INET6);
}

/* Every single-bit change of every address byte that counts and of both
 * ports must be refused. */
static void flip_tuple(struct cookie_jar *jar, struct cookie_tuple t)
{
	const struct cookie_opts offered = { 1460, 7, true };
	const size_t alen = t.family == AF_INET ? 4 : 16;
	const struct {
		const char *name;
		size_t off, len;
	} fields[] = {
		{ "saddr", offsetof(struct cookie_tuple, saddr), alen },
		{ "daddr", offsetof(struct cookie_tuple, daddr), alen },
		{ "sport", offsetof(struct cookie_tuple, sport), sizeof(t.sport) },
		{ "dport", offsetof(struct cookie_tuple, dport), sizeof(t.dport) },
	};
	uint32_t cookie = cookie_make(jar, &t, 0x12345678, &offered, NOW, NULL);

	assert_int_equal(check(jar, &t, 0x12345678, cookie, NOW), COOKIE_VALID);
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t bit = 0; bit < 8 * fields[f].len; bit++) {
			struct cookie_tuple u = t;
			uint8_t *p = (uint8_t *)&u + fields[f].off + bit / 8;

			*p ^= (uint8_t)(1u << bit % 8);
			if (check(jar, &u, 0x12345678, cookie, NOW) != COOKIE_BAD_MAC)
				fail_msg("%s bit %zu flipped was not refused", fields[f].name, bit);
		}
	}
}

static void test_flip_tuple_v4(void **state)
{
	flip_tuple(*state, tuple_v4());
}

static void test_flip_tuple_v6(void **state)
{
	flip_tuple(*state, tuple_v6());
}

static void test_flip_seq_ack(void **state)
{
	const struct cookie_opts offered = { 1440, COOKIE_WSCALE_NONE, false };
	struct cookie_tuple tuples[] = { tuple_v4(), tuple_v6() };

	for (size_t i = 0; i < 2; i++) {
		const struct cookie_tuple *t = &tuples[i];
		uint32_t isn = 0xdeadbeef;
		uint32_t cookie = cookie_make(*state, t, isn, &offered, NOW, NULL);

		assert_int_equal(check(*state, t, isn, cookie, NOW), COOKIE_VALID);
		for (unsigned bit = 0; bit < 32; bit++) {
			uint32_t m = 1u << bit;

			if (check(*state, t, isn ^ m, cookie, NOW) == COOKIE_VALID)
				fail_msg("seq bit %u flipped was accepted", bit);
			if (check(*state, t, isn, cookie ^ m, NOW) == COOKIE_VALID)
				fail_msg("ack bit %u flipped was accepted", bit);
		}
	}
}

/* §5b: only ack == cookie + 1 opens, not the neighbours Linux also takes. */
static void test_ack_exact(void **state)
{
	const struct cookie_opts offered = { 536, COOKIE_WSCALE_NONE, false };
	struct cookie_tuple t = tuple_v4();
	uint32_t cookie = cookie_make(*state, &t, 1000, &offered, NOW, NULL);

	for (int32_t d = -8; d <= 8; d++)
		if (d != 0)
			assert_int_not_equal(check(*state, &t, 1000, cookie + (uint32_t)d, NOW),
			                     COOKIE_VALID);
	assert_int_equal(cookie_check(*state, &t, 1001, cookie, NOW, NULL), COOKIE_BAD_MAC);
	assert_int_equal(cookie_check(*state, &t, 1001, cookie - 1, NOW, NULL), COOKIE_BAD_MAC);
}

/* The low byte is under the MAC: of its 256 values only the issued one passes. */
static void test_low_bits_bound(void **state)
{
	struct cookie_tuple t = tuple_v6();
	const struct cookie_opts offered = { 1460, 9, true };
	uint32_t cookie = cookie_make(*state, &t, 77, &offered, NOW, NULL);
	unsigned valid = 0;

	for (uint32_t low = 0; low < 256; low++)
		valid += check(*state, &t, 77, (cookie & ~0xffu) | low, NOW) == COOKIE_VALID;
	assert_int_equal(valid, 1);
}

static void test_previous_epoch_valid(void **state)
{
	const struct cookie_opts offered = { 1460, 7, true };
	struct cookie_tuple t = tuple_v4();
	uint64_t last = EPOCH * PERIOD + PERIOD - 1;
	uint32_t early = cookie_make(*state, &t, 5, &offered, EPOCH * PERIOD, NULL);
	uint32_t late = cookie_make(*state, &t, 5, &offered, last, NULL);

	assert_int_equal(early, late);
	assert_int_equal(check(*state, &t, 5, early, last + 1), COOKIE_VALID);
	assert_int_equal(check(*state, &t, 5, early, last + PERIOD), COOKIE_VALID);
	assert_int_not_equal(cookie_make(*state, &t, 5, &offered, last + 1, NULL), early);
}

static void test_old_epochs_expired(void **state)
{
	const struct cookie_opts offered = { 1460, 7, true };
	struct cookie_tuple t = tuple_v6();
	uint32_t cookie = cookie_make(*state, &t, 5, &offered, NOW, NULL);
	uint64_t start = EPOCH * PERIOD;

	/* Two and three epochs later each parity has moved on to a newer key:
	 * refused after one MAC, and only cookie_diagnose() says "expired". */
	assert_int_equal(check(*state, &t, 5, cookie, start + 2 * PERIOD), COOKIE_BAD_MAC);
	assert_int_equal(diagnose(*state, &t, 5, cookie, start + 2 * PERIOD), COOKIE_EXPIRED);
	assert_int_equal(check(*state, &t, 5, cookie, start + 3 * PERIOD + PERIOD - 1), COOKIE_BAD_MAC);
	assert_int_equal(diagnose(*state, &t, 5, cookie, start + 3 * PERIOD + PERIOD - 1), COOKIE_EXPIRED);
	assert_int_equal(diagnose(*state, &t, 5, cookie, start + 4 * PERIOD), COOKIE_BAD_MAC);
	/* An expired cookie for another ISN is a plain forgery. */
	assert_int_equal(diagnose(*state, &t, 6, cookie, start + 2 * PERIOD), COOKIE_BAD_MAC);
	/* A valid one is not "expired" either. */
	assert_int_equal(diagnose(*state, &t, 5, cookie, NOW), COOKIE_BAD_MAC);
}

/* A peer whose clock runs an epoch ahead issued this: refused, not expired. */
static void test_future_epoch_refused(void **state)
{
	const struct cookie_opts offered = { 1460, 7, true };
	struct cookie_tuple t = tuple_v4();
	uint32_t cookie = cookie_make(*state, &t, 5, &offered, NOW + PERIOD, NULL);

	assert_int_equal(check(*state, &t, 5, cookie, NOW), COOKIE_BAD_MAC);
}

static void test_other_master_bad_mac(void **state)
{
	const struct cookie_opts offered = { 1460, 7, true };
	struct cookie_tuple t = tuple_v4();
	uint8_t other[COOKIE_MASTER_LEN];
	struct cookie_jar *jar;
	uint32_t cookie = cookie_make(*state, &t, 5, &offered, NOW, NULL);

	memcpy(other, kat_master, sizeof(other));
	other[31] ^= 1;
	jar = jar_new(other, PERIOD);
	assert_int_equal(check(jar, &t, 5, cookie, NOW), COOKIE_BAD_MAC);
	assert_int_equal(check(jar, &t, 5, cookie, NOW + PERIOD), COOKIE_BAD_MAC);
	/* and the same master in another jar agrees (instances sharing a key file) */
	cookie_jar_free(jar);
	jar = jar_new(kat_master, PERIOD);
	assert_int_equal(check(jar, &t, 5, cookie, NOW), COOKIE_VALID);
	cookie_jar_free(jar);
}

static void test_clock_backwards(void **state)
{
	const struct cookie_opts offered = { 1452, 8, false };
	struct cookie_tuple t = tuple_v6();
	struct cookie_jar *fresh = jar_new(kat_master, PERIOD);
	uint64_t later = NOW + 10 * PERIOD;
	uint32_t ahead = cookie_make(*state, &t, 9, &offered, later, NULL);
	uint32_t back = cookie_make(*state, &t, 9, &offered, NOW, NULL);

	/* After the jump back the jar uses the old epoch's key, not a stale one. */
	assert_int_equal(back, cookie_make(fresh, &t, 9, &offered, NOW, NULL));
	assert_int_equal(check(*state, &t, 9, back, NOW), COOKIE_VALID);
	assert_int_equal(check(*state, &t, 9, ahead, NOW), COOKIE_BAD_MAC);
	/* and forward again */
	assert_int_equal(check(*state, &t, 9, ahead, later), COOKIE_VALID);
	cookie_jar_free(fresh);
}

static void mss_expect(struct cookie_jar *jar, uint16_t offered_mss, uint16_t want)
{
	const struct cookie_opts offered = { offered_mss, 7, true };
	struct cookie_tuple t = tuple_v4();
	struct cookie_opts granted, out;
	uint32_t cookie = cookie_make(jar, &t, 1, &offered, NOW, &granted);

	assert_int_equal(cookie_check(jar, &t, 2, cookie + 1, NOW, &out), COOKIE_VALID);
	if (granted.mss != want || out.mss != want)
		fail_msg("MSS %u: granted %u, recovered %u, want %u", offered_mss, granted.mss, out.mss,
		         want);
}

static void test_mss_rounding(void **state)
{
	static const uint16_t cases[][2] = {
		{ 0, 48 },      { 47, 48 },     { 48, 48 },     { 535, 48 },    { 536, 536 },
		{ 1219, 536 },  { 1220, 1220 }, { 1299, 1220 }, { 1300, 1300 }, { 1359, 1300 },
		{ 1360, 1360 }, { 1439, 1360 }, { 1440, 1440 }, { 1451, 1440 }, { 1452, 1452 },
		{ 1459, 1452 }, { 1460, 1460 }, { 1461, 1460 }, { 9000, 1460 }, { 65535, 1460 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		mss_expect(*state, cases[i][0], cases[i][1]);
}

static void wscale_expect(struct cookie_jar *jar, uint8_t offered_ws, uint8_t want)
{
	const struct cookie_opts offered = { 1460, offered_ws, false };
	struct cookie_tuple t = tuple_v6();
	struct cookie_opts granted, out;
	uint32_t cookie = cookie_make(jar, &t, 1, &offered, NOW, &granted);

	assert_int_equal(cookie_check(jar, &t, 2, cookie + 1, NOW, &out), COOKIE_VALID);
	if (granted.wscale != want || out.wscale != want)
		fail_msg("wscale %u: granted %u, recovered %u, want %u", offered_ws, granted.wscale,
		         out.wscale, want);
}

static void test_wscale_rounding(void **state)
{
	static const uint8_t cases[][2] = {
		{ COOKIE_WSCALE_NONE, COOKIE_WSCALE_NONE },
		{ 0, 0 },
		{ 1, 0 },
		{ 3, 0 },
		{ 4, 4 },
		{ 5, 4 },
		{ 6, 6 },
		{ 7, 7 },
		{ 8, 8 },
		{ 9, 9 },
		{ 10, 10 },
		{ 11, 10 },
		{ 14, 10 },
		{ 15, 10 },
		{ 200, 10 },
		{ 254, 10 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		wscale_expect(*state, cases[i][0], cases[i][1]);
}

/* Every table value, with and without SACK, in both parities, comes back exactly. */
static void test_all_options_survive(void **state)
{
	struct cookie_tuple t = tuple_v4();

	for (unsigned m = 0; m < 8; m++)
		for (unsigned w = 0; w < 8; w++)
			for (unsigned bits = 0; bits < 4; bits++) {
				const struct cookie_opts offered = { synack_mss_table[m],
					                             synack_wscale_table[w], bits & 1 };
				uint64_t now = NOW + (bits >> 1) * PERIOD;
				struct cookie_opts granted, out;
				uint32_t cookie = cookie_make(*state, &t, m * 8 + w, &offered, now, &granted);

				assert_int_equal(
				        cookie_check(*state, &t, m * 8 + w + 1, cookie + 1, now, &out),
				        COOKIE_VALID);
				assert_opts_equal(&granted, &offered);
				assert_opts_equal(&out, &offered);
			}
}

/* A v6 address that starts with the v4 one's bytes (and zeros after) is
 * still a different tuple. */
static void test_v4_not_v6(void **state)
{
	const struct cookie_opts offered = { 1460, 7, true };
	struct cookie_tuple v4 = tuple_v4(), v6 = v4;
	uint32_t c4, c6;

	v6.family = AF_INET6;
	c4 = cookie_make(*state, &v4, 42, &offered, NOW, NULL);
	c6 = cookie_make(*state, &v6, 42, &offered, NOW, NULL);
	assert_int_not_equal(c4, c6);
	assert_int_equal(check(*state, &v6, 42, c4, NOW), COOKIE_BAD_MAC);
	assert_int_equal(check(*state, &v4, 42, c6, NOW), COOKIE_BAD_MAC);
}

/* Only the first 4 bytes of an IPv4 address count: callers need not clear the rest. */
static void test_v4_ignores_unused_bytes(void **state)
{
	const struct cookie_opts offered = { 1460, 7, true };
	struct cookie_tuple clean = tuple_v4(), dirty = clean;
	uint32_t cookie;

	memset(dirty.saddr + 4, 0xa5, 12);
	memset(dirty.daddr + 4, 0x5a, 12);
	cookie = cookie_make(*state, &clean, 42, &offered, NOW, NULL);
	assert_int_equal(cookie_make(*state, &dirty, 42, &offered, NOW, NULL), cookie);
	assert_int_equal(check(*state, &dirty, 42, cookie, NOW), COOKIE_VALID);
}

static void test_null_and_untouched_outputs(void **state)
{
	const struct cookie_opts offered = { 1300, 6, true };
	struct cookie_tuple t = tuple_v4();
	struct cookie_opts granted, out = { 1234, 99, true };
	uint32_t cookie = cookie_make(*state, &t, 3, &offered, NOW, &granted);

	assert_int_equal(cookie_make(*state, &t, 3, &offered, NOW, NULL), cookie);
	assert_int_equal(cookie_check(*state, &t, 4, cookie + 1, NOW, NULL), COOKIE_VALID);
	assert_int_equal(cookie_check(*state, &t, 4, cookie + 2, NOW, &out), COOKIE_BAD_MAC);
	assert_int_equal(out.mss, 1234);
	assert_int_equal(out.wscale, 99);
	assert_int_equal(cookie_check(*state, &t, 4, cookie + 1, NOW + 2 * PERIOD, &out), COOKIE_BAD_MAC);
	assert_int_equal(out.mss, 1234);
}

/* OpenSSL's SipHash-2-4 (64-bit output) of `len` bytes, as a little-endian word. */
static uint64_t openssl_siphash(const uint8_t key[16], const uint8_t *msg, size_t len)
{
	size_t size = 8, outl;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		                OSSL_PARAM_construct_end() };
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	uint8_t out[8];

	assert_non_null(ctx);
	assert_true(EVP_MAC_init(ctx, key, 16, params) && EVP_MAC_update(ctx, msg, len) &&
	            EVP_MAC_final(ctx, out, &outl, sizeof(out)));
	assert_int_equal(outl, 8);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return synack_le64(out);
}

/* synack.h's SipHash (the BPF programs') is OpenSSL's (cookie.c's) on the
 * cookie's message, for any key and any bytes. */
static void test_synack_siphash_is_openssls(void **state)
{
	(void)state;
	for (int n = 0; n < 2000; n++) {
		struct synack_msg m = { 0 };
		uint8_t key[16];

		rng_fill(key, sizeof(key));
		rng_fill(m.b, SYNACK_MSG_LEN);
		assert_int_equal(synack_siphash(&m, synack_le64(key), synack_le64(key + 8)),
		                 openssl_siphash(key, m.b, SYNACK_MSG_LEN));
	}
}

/* The cookie a BPF program computes from synack.h with the epoch's key is
 * cookie_make()'s, bit for bit, for random tuples (garbage in the unused
 * bytes of IPv4 addresses), ISNs, options and times; its low byte decodes
 * to what cookie_make() granted. */
static void test_synack_cookie_is_cookie_makes(void **state)
{
	struct cookie_jar *jar = *state;

	for (int n = 0; n < 2000; n++) {
		struct cookie_tuple t = { .family = rng() & 1 ? AF_INET : AF_INET6 };
		struct cookie_opts offered = { .mss = (uint16_t)rng(), .sack_ok = rng() & 1 }, granted;
		uint64_t now = NOW + rng() % (1000 * PERIOD), epoch;
		uint32_t isn = (uint32_t)rng(), cookie;
		uint8_t key[COOKIE_EPOCH_KEY_LEN], low;
		struct synack_msg m;

		rng_fill(t.saddr, sizeof(t.saddr));
		rng_fill(t.daddr, sizeof(t.daddr));
		t.sport = (uint16_t)rng();
		t.dport = (uint16_t)rng();
		offered.wscale = rng() % 4 == 0 ? COOKIE_WSCALE_NONE : (uint8_t)(rng() % 15);
		cookie = cookie_make(jar, &t, isn, &offered, now, &granted);

		assert_int_equal(cookie_epoch_key(jar, now, &epoch, key), 0);
		low = synack_low_pack(epoch, offered.mss, offered.wscale, offered.sack_ok);
		synack_msg_fill(&m, t.family, t.saddr, t.daddr, t.sport, t.dport, isn, low);
		assert_int_equal(
		        synack_cookie(synack_siphash(&m, synack_le64(key), synack_le64(key + 8)), low),
		        cookie);
		assert_int_equal(synack_low_mss(low), granted.mss);
		assert_int_equal(synack_low_wscale(low), granted.wscale);
		assert_int_equal(synack_low_sack(low), granted.sack_ok);
	}
}

static void test_jar_new_period_zero(void **state)
{
	(void)state;
	assert_null(cookie_jar_new(kat_master, 0));
}

static void test_master_random(void **state)
{
	const struct cookie_opts offered = { 1460, 7, true };
	const uint8_t zero[COOKIE_MASTER_LEN] = { 0 };
	uint8_t a[COOKIE_MASTER_LEN], b[COOKIE_MASTER_LEN];
	struct cookie_tuple t = tuple_v4();
	struct cookie_jar *ja, *jb;

	(void)state;
	assert_int_equal(cookie_master_random(a), 0);
	assert_int_equal(cookie_master_random(b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	ja = jar_new(a, PERIOD);
	jb = jar_new(b, PERIOD);
	assert_int_equal(check(jb, &t, 1, cookie_make(ja, &t, 1, &offered, NOW, NULL), NOW), COOKIE_BAD_MAC);
	cookie_jar_free(ja);
	cookie_jar_free(jb);
}

static void test_verdict_str(void **state)
{
	const char *v = cookie_verdict_str(COOKIE_VALID);
	const char *b = cookie_verdict_str(COOKIE_BAD_MAC);
	const char *e = cookie_verdict_str(COOKIE_EXPIRED);

	(void)state;
	assert_string_not_equal(v, b);
	assert_string_not_equal(v, e);
	assert_string_not_equal(b, e);
	assert_string_equal(cookie_verdict_str(COOKIE_EXPIRED), "expired");
}

/* keyfile: each test works in its own directory under /tmp. */

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static int dir_setup(void **state)
{
	char *dir = strdup("/tmp/test_cookie.XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int dir_teardown(void **state)
{
	char *dir = *state;
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, e->d_type == DT_DIR ? AT_REMOVEDIR : 0);
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
	return 0;
}

static const char *path_in(void **state, const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", (char *)*state, name);
	return path;
}

static const char *write_key(void **state, const char *name, const char *text, mode_t mode)
{
	const char *path = path_in(state, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

/* Loading must fail with a message naming the file and containing `why`,
 * and leave no key material behind. */
static void load_refused(const char *path, const char *why)
{
	uint8_t master[COOKIE_MASTER_LEN], zero[COOKIE_MASTER_LEN] = { 0 };
	char err[512] = "";

	memset(master, 0xaa, sizeof(master));
	assert_int_equal(keyfile_load(path, master, err, sizeof(err)), -1);
	if (!strstr(err, path) || !strstr(err, why))
		fail_msg("error \"%s\" should name %s and say \"%s\"", err, path, why);
	assert_memory_equal(master, zero, sizeof(master));
}

static void test_keyfile_good(void **state)
{
	static const char *const texts[] = {
		KEY_HEX "\n", KEY_HEX, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n"
	};
	char name[16];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		uint8_t master[COOKIE_MASTER_LEN];
		char err[512] = "";

		snprintf(name, sizeof(name), "good%zu", i);
		assert_int_equal(
		        keyfile_load(write_key(state, name, texts[i], 0600), master, err, sizeof(err)), 0);
		assert_memory_equal(master, kat_master, sizeof(master));
		assert_string_equal(err, "");
	}
}

static void test_keyfile_mode_refused(void **state)
{
	load_refused(write_key(state, "k644", KEY_HEX "\n", 0644), "mode 0644");
	load_refused(write_key(state, "k640", KEY_HEX "\n", 0640), "mode 0640");
	load_refused(write_key(state, "k602", KEY_HEX "\n", 0602), "mode 0602");
}

/* Owned by someone else, who could rewrite it: refused. Only root can give a
 * file away; as another user this test has nothing to check. */
static void test_keyfile_owner_refused(void **state)
{
	const char *path = write_key(state, "other", KEY_HEX "\n", 0600);

	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(path, 4242, 4242), 0);
	load_refused(path, "owned by uid 4242, neither root nor this user");
}

static void test_keyfile_length_refused(void **state)
{
	char text[80];

	snprintf(text, sizeof(text), "%.62s\n", KEY_HEX);
	load_refused(write_key(state, "short", text, 0600), "too short");
	load_refused(write_key(state, "empty", "", 0600), "too short");
	load_refused(write_key(state, "long", KEY_HEX "00\n", 0600), "trailing");
	load_refused(write_key(state, "nl2", KEY_HEX "\n\n", 0600), "trailing");
	load_refused(write_key(state, "space", KEY_HEX " ", 0600), "trailing");
	load_refused(write_key(state, "crlf", KEY_HEX "\r\n", 0600), "trailing");
}

static void test_keyfile_non_hex_refused(void **state)
{
	char text[80] = KEY_HEX "\n";

	text[11] = 'g';
	load_refused(write_key(state, "g", text, 0600), "byte 11");
	snprintf(text, sizeof(text), "0x%.62s\n", KEY_HEX);
	load_refused(write_key(state, "0x", text, 0600), "byte 1");
	snprintf(text, sizeof(text), " %.63s\n", KEY_HEX);
	load_refused(write_key(state, "space", text, 0600), "byte 0");
}

static void test_keyfile_missing_refused(void **state)
{
	load_refused(path_in(state, "absent"), "No such file");
}

static void test_keyfile_not_regular_refused(void **state)
{
	const char *path = path_in(state, "dir");

	assert_int_equal(mkdir(path, 0700), 0);
	load_refused(path, "not a regular file");
	/* A FIFO nobody writes to must be refused, not waited on. */
	path = path_in(state, "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	load_refused(path, "not a regular file");
}

static void test_keyfile_generate(void **state)
{
	const char *path = path_in(state, "new.key");
	uint8_t master[COOKIE_MASTER_LEN], again[COOKIE_MASTER_LEN], zero[COOKIE_MASTER_LEN] = { 0 };
	char err[512] = "";
	mode_t old = umask(0277);
	struct stat st;
	int ret = keyfile_generate(path, err, sizeof(err));

	/* Exactly 0600 even under a umask that would strip the owner's write bit. */
	umask(old);
	assert_int_equal(ret, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_int_equal(keyfile_load(path, master, err, sizeof(err)), 0);
	assert_memory_not_equal(master, zero, sizeof(master));

	assert_int_equal(keyfile_generate(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(keyfile_load(path, again, err, sizeof(err)), 0);
	assert_memory_equal(master, again, sizeof(master));
}

static void test_keyfile_generate_refuses_symlink(void **state)
{
	char target[256];
	const char *link;
	char err[512] = "";
	struct stat st;

	snprintf(target, sizeof(target), "%s", path_in(state, "target"));
	link = path_in(state, "link");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(keyfile_generate(link, err, sizeof(err)), -1);
	assert_int_equal(lstat(target, &st), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_v4),
		cmocka_unit_test(test_kat_v6),
		cmocka_unit_test(test_roundtrip_v4),
		cmocka_unit_test(test_roundtrip_v6),
		cmocka_unit_test_setup_teardown(test_flip_tuple_v4, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_flip_tuple_v6, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_flip_seq_ack, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_ack_exact, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_low_bits_bound, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_previous_epoch_valid, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_old_epochs_expired, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_future_epoch_refused, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_other_master_bad_mac, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_clock_backwards, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_mss_rounding, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_wscale_rounding, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_all_options_survive, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_v4_not_v6, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_v4_ignores_unused_bytes, jar_setup, jar_teardown),
		cmocka_unit_test_setup_teardown(test_null_and_untouched_outputs, jar_setup, jar_teardown),
		cmocka_unit_test(test_synack_siphash_is_openssls),
		cmocka_unit_test_setup_teardown(test_synack_cookie_is_cookie_makes, jar_setup, jar_teardown),
		cmocka_unit_test(test_jar_new_period_zero),
		cmocka_unit_test(test_master_random),
		cmocka_unit_test(test_verdict_str),
		cmocka_unit_test_setup_teardown(test_keyfile_good, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_mode_refused, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_owner_refused, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_length_refused, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_non_hex_refused, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_missing_refused, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_not_regular_refused, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_generate, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_generate_refuses_symlink, dir_setup,
		                                dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

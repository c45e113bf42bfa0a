/* fastpath: the XDP program run on real captured SYNs (BPF_PROG_TEST_RUN).
 * Its SYN-ACKs must carry exactly the cookie cookie_make() computes, pass
 * cookie_check(), and be well-formed. Needs root (loading BPF); skipped
 * otherwise. Runs in a network namespace of its own, so the program's socket
 * lookup sees no socket of the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cookie.h"
#include "fastpath.h"
#include "synack.h"
#include "localaddr.h"
#include "netaddr.h"
#include "pkt.h"
#include "pkt_samples.h"
#include "ref_csum.h"
#include "verdict.h"

#define OUR_MSS 1400
static const uint8_t master[COOKIE_MASTER_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

struct fixture {
	struct fastpath *fp;
	struct cookie_jar *jar;
	uint64_t now;
};

/* A config protecting the destination of each sample SYN. */
static void protect(struct config *cfg, const uint8_t *frame, size_t len)
{
	struct pkt_tcp syn;
	struct config_endpoint *ep = &cfg->listen[cfg->n_listen++];

	assert_int_equal(pkt_parse_eth(frame, len, &syn), PKT_OK);
	memset(ep, 0, sizeof(*ep));
	ep->len = netaddr_make(&ep->addr, syn.family, syn.daddr, syn.dport, 0);
}

/* This host: the samples' destination MAC (the same in all of them) and
 * their destination addresses (the listen addresses in `cfg`). */
static void host_is(struct fastpath *fp, const struct config *cfg)
{
	struct localaddr_entry e[CONFIG_MAX_LISTEN];
	struct localaddr *la = localaddr_new();

	assert_memory_equal(sample_curl4_syn, sample_curl6_syn, 6);
	assert_memory_equal(sample_curl4_syn, sample_hping_syn, 6);
	assert_int_equal(fastpath_set_mac(fp, sample_curl4_syn), 0);
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const uint8_t *addr;
		size_t alen = netaddr_raw(&cfg->listen[i].addr, &addr);

		memset(&e[i], 0, sizeof(e[i]));
		e[i].family = (uint8_t)cfg->listen[i].addr.ss_family;
		memcpy(e[i].addr, addr, alen);
	}
	assert_non_null(la);
	assert_int_equal(localaddr_set(la, e, cfg->n_listen), 1);
	assert_int_equal(fastpath_set_local(fp, la), 0);
	localaddr_free(la);
}

static int setup(void **state)
{
	static struct fixture f;
	struct config cfg;
	char err[256];
	uint8_t key[COOKIE_EPOCH_KEY_LEN];
	uint64_t epoch;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		*state = NULL;
		return 0;
	}
	config_defaults(&cfg);
	cfg.mss = OUR_MSS;
	protect(&cfg, sample_curl4_syn, sizeof(sample_curl4_syn));
	protect(&cfg, sample_hping_syn, sizeof(sample_hping_syn));
	protect(&cfg, sample_curl6_syn, sizeof(sample_curl6_syn));
	f.fp = fastpath_open(&cfg, &(struct fastpath_opts){ 0 }, err, sizeof(err));
	if (!f.fp)
		fail_msg("fastpath_open: %s", err);
	host_is(f.fp, &cfg);
	f.jar = cookie_jar_new(master, 30);
	assert_non_null(f.jar);
	f.now = (uint64_t)time(NULL);
	assert_int_equal(cookie_epoch_key(f.jar, f.now, &epoch, key), 0);
	assert_int_equal(fastpath_set_key(f.fp, epoch, key), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		fastpath_close(f->fp);
		cookie_jar_free(f->jar);
	}
	return 0;
}

static struct fixture *need_root(void **state)
{
	if (!*state)
		skip(); /* not root: cannot load BPF */
	return *state;
}

static uint16_t ip4_header_sum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Run `frame` and check the SYN-ACK against what synguard's C code says. */
static void check_synack(struct fixture *f, const uint8_t *frame, size_t len)
{
	uint8_t out[256];
	size_t out_len = sizeof(out);
	struct pkt_tcp syn, sa;
	struct cookie_tuple t;
	struct cookie_opts offered, granted, checked;

	assert_int_equal(pkt_parse_eth(frame, len, &syn), PKT_OK);
	assert_int_equal(fastpath_run(f->fp, frame, len, out, &out_len), XDP_TX);
	assert_int_equal(pkt_parse_eth(out, out_len, &sa), PKT_OK);

	/* Addressed back to the client, link layer included. */
	assert_memory_equal(out, frame + 6, 6);
	assert_memory_equal(out + 6, frame, 6);
	assert_memory_equal(sa.saddr, syn.daddr, 16);
	assert_memory_equal(sa.daddr, syn.saddr, 16);
	assert_int_equal(sa.sport, syn.dport);
	assert_int_equal(sa.dport, syn.sport);
	assert_int_equal(sa.flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(sa.ack, syn.seq + 1);
	assert_int_equal(sa.window, SYNACK_WINDOW);
	assert_int_equal(sa.payload_len, 0);
	assert_true(pkt_tcp_csum_ok(&sa));
	if (sa.family == AF_INET)
		assert_int_equal(ip4_header_sum(out + 14), 0xffff);

	/* The very cookie cookie_make() computes, and cookie_check() takes it. */
	verdict_cookie_tuple(&syn, &t);
	offered.mss = syn.opt.has_mss ? syn.opt.mss : 536;
	offered.wscale = syn.opt.has_wscale ? (syn.opt.wscale > 14 ? 14 : syn.opt.wscale)
	                                    : COOKIE_WSCALE_NONE;
	offered.sack_ok = syn.opt.sack_ok;
	assert_int_equal(sa.seq, cookie_make(f->jar, &t, syn.seq, &offered, f->now, &granted));
	assert_int_equal(cookie_check(f->jar, &t, syn.seq + 1, sa.seq + 1, f->now, &checked), COOKIE_VALID);
	assert_int_equal(checked.mss, granted.mss);

	/* Options echoed as pkt_build_synack() does. */
	assert_true(sa.opt.has_mss);
	assert_int_equal(sa.opt.mss, offered.mss < OUR_MSS ? offered.mss : OUR_MSS);
	assert_int_equal(sa.opt.has_wscale, syn.opt.has_wscale);
	if (syn.opt.has_wscale)
		assert_int_equal(sa.opt.wscale, SYNACK_WSCALE);
	assert_int_equal(sa.opt.sack_ok, syn.opt.sack_ok);
	assert_int_equal(sa.opt.has_ts, syn.opt.has_ts);
	if (syn.opt.has_ts)
		assert_int_equal(sa.opt.tsecr, syn.opt.tsval);
}

static void test_curl_ipv4_syn(void **state)
{
	check_synack(need_root(state), sample_curl4_syn, sizeof(sample_curl4_syn));
}

static void test_bare_hping3_syn_grows_to_carry_mss(void **state)
{
	struct fixture *f = need_root(state);

	check_synack(f, sample_hping_syn, sizeof(sample_hping_syn));
}

static void test_curl_ipv6_syn(void **state)
{
	check_synack(need_root(state), sample_curl6_syn, sizeof(sample_curl6_syn));
}

/* Offset of TCP option `kind` in an untagged IPv4 frame, or 0. */
static size_t opt_offset(const uint8_t *frame, size_t len, uint8_t kind)
{
	size_t off = 14 + 20 + 20, end = 14 + 20 + (size_t)(frame[14 + 20 + 12] >> 4) * 4;

	while (off < end && off < len) {
		if (frame[off] == kind)
			return off;
		off += frame[off] == 1 ? 1 : frame[off + 1];
	}
	return 0;
}

/* Every window shift and every MSS around the table's steps: the program's
 * rounding must be the C code's (the cookie depends on it). */
static void test_every_wscale_and_mss_boundary(void **state)
{
	static const uint16_t mss[] = { 1,    47,   48,   535,  536,  1219, 1220, 1299, 1300, 1359,
		                        1360, 1439, 1440, 1451, 1452, 1459, 1460, 9000, 65535 };
	struct fixture *f = need_root(state);
	uint8_t frame[sizeof(sample_curl4_syn)];
	size_t ws_off, mss_off;

	memcpy(frame, sample_curl4_syn, sizeof(frame));
	ws_off = opt_offset(frame, sizeof(frame), 3);
	mss_off = opt_offset(frame, sizeof(frame), 2);
	assert_true(ws_off && mss_off);
	for (unsigned ws = 0; ws <= 20; ws++) {
		frame[ws_off + 2] = (uint8_t)ws;
		ref_fix_csums4(frame, sizeof(frame));
		check_synack(f, frame, sizeof(frame));
	}
	for (size_t i = 0; i < sizeof(mss) / sizeof(mss[0]); i++) {
		frame[mss_off + 2] = (uint8_t)(mss[i] >> 8);
		frame[mss_off + 3] = (uint8_t)mss[i];
		ref_fix_csums4(frame, sizeof(frame));
		check_synack(f, frame, sizeof(frame));
	}
}

static void test_non_syn_and_unprotected_pass(void **state)
{
	struct fixture *f = need_root(state);
	uint8_t out[256], frame[sizeof(sample_curl4_syn)];
	size_t out_len = sizeof(out);

	assert_int_equal(fastpath_run(f->fp, sample_hping_ack, sizeof(sample_hping_ack), out, &out_len),
	                 XDP_PASS);
	out_len = sizeof(out);
	assert_int_equal(fastpath_run(f->fp, sample_curl4_get, sizeof(sample_curl4_get), out, &out_len),
	                 XDP_PASS);
	/* The same SYN to another port: not ours. (TCP dport at 14 + 20 + 2.) */
	memcpy(frame, sample_curl4_syn, sizeof(frame));
	frame[14 + 20 + 3] ^= 1;
	out_len = sizeof(out);
	assert_int_equal(fastpath_run(f->fp, frame, sizeof(frame), out, &out_len), XDP_PASS);
}

static void test_counters(void **state)
{
	struct fixture *f = need_root(state);
	struct fastpath_counts c0, c;
	uint8_t out[256];
	size_t out_len = sizeof(out);

	fastpath_counters(f->fp, &c0);
	assert_int_equal(fastpath_run(f->fp, sample_curl4_syn, sizeof(sample_curl4_syn), out, &out_len),
	                 XDP_TX);
	fastpath_counters(f->fp, &c);
	assert_int_equal(c.syns, c0.syns + 1);
	assert_int_equal(c.synacks, c0.synacks + 1);
}

static void test_new_epoch_key_takes_over(void **state)
{
	struct fixture *f = need_root(state);
	uint8_t key[COOKIE_EPOCH_KEY_LEN];
	uint64_t epoch;

	/* The next epoch's key: cookies now carry its parity and MAC. */
	f->now += 30;
	assert_int_equal(cookie_epoch_key(f->jar, f->now, &epoch, key), 0);
	assert_int_equal(fastpath_set_key(f->fp, epoch, key), 0);
	check_synack(f, sample_curl4_syn, sizeof(sample_curl4_syn));
}

/* ---- hostile SYNs: what the kernel would drop is dropped and counted,
 * what is not ours to judge goes on to the kernel ---- */

static int run_verdict(struct fixture *f, const uint8_t *frame, size_t len)
{
	uint8_t out[256];
	size_t out_len = sizeof(out);

	return fastpath_run(f->fp, frame, len, out, &out_len);
}

struct mutation {
	const char *what;
	size_t off;    /* byte to set in sample_curl4_syn */
	uint8_t value; /* ... to this */
	bool fix;      /* then make the checksums right */
	int verdict;
};

static void test_hostile_syns_refused(void **state)
{
	static const struct mutation cases[] = {
		{ "source 127.0.0.1", 14 + 12, 127, true, XDP_DROP },
		{ "source 0.x", 14 + 12, 0, true, XDP_DROP },
		{ "source multicast", 14 + 12, 224, true, XDP_DROP },
		{ "source 255.254.254.254: a fine one", 14 + 12, 255, true, XDP_TX },
		{ "group source MAC", 6, 0x01, false, XDP_DROP },
		{ "another host's MAC", 5, 0x77, false, XDP_PASS },
		{ "broadcast MAC (first byte)", 0, 0xff, false, XDP_PASS },
		{ "wrong TCP checksum", 14 + 20 + 17, 0x00, false, XDP_DROP },
		{ "wrong IP header checksum", 14 + 11, 0x00, false, XDP_DROP },
		{ "IP total length 20", 14 + 3, 20, true, XDP_DROP },
		{ "IP total length beyond the frame", 14 + 3, 200, true, XDP_DROP },
	};
	struct fixture *f = need_root(state);
	struct fastpath_counts c0, c;
	uint8_t frame[sizeof(sample_curl4_syn) + 8];

	fastpath_counters(f->fp, &c0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(frame, sample_curl4_syn, sizeof(sample_curl4_syn));
		frame[cases[i].off] = cases[i].value;
		if (cases[i].off == 14 + 12 && cases[i].value == 255)
			frame[27] = frame[28] = frame[29] = 0xfe; /* 255.254.254.254: not martian */
		if (cases[i].fix)
			ref_fix_csums4(frame, sizeof(sample_curl4_syn));
		print_message("%s\n", cases[i].what);
		assert_int_equal(run_verdict(f, frame, sizeof(sample_curl4_syn)), cases[i].verdict);
	}
	fastpath_counters(f->fp, &c);
	assert_int_equal(c.martian - c0.martian, 4);
	assert_int_equal(c.bad_csum - c0.bad_csum, 1);
	assert_int_equal(c.malformed - c0.malformed, 3);
	assert_int_equal(c.synacks - c0.synacks, 1); /* 255.254.254.254 is a fine source */

	/* 255.255.255.255 and our own address (a LAND attack) as the source. */
	memcpy(frame, sample_curl4_syn, sizeof(sample_curl4_syn));
	memset(frame + 26, 0xff, 4);
	ref_fix_csums4(frame, sizeof(sample_curl4_syn));
	assert_int_equal(run_verdict(f, frame, sizeof(sample_curl4_syn)), XDP_DROP);
	memcpy(frame + 26, sample_curl4_syn + 30, 4);
	ref_fix_csums4(frame, sizeof(sample_curl4_syn));
	assert_int_equal(run_verdict(f, frame, sizeof(sample_curl4_syn)), XDP_DROP);
	/* A SYN with data: left to the ring path. */
	memcpy(frame, sample_curl4_syn, sizeof(sample_curl4_syn));
	memcpy(frame + sizeof(sample_curl4_syn), "GET / HT", 8);
	frame[14 + 3] = (uint8_t)(frame[14 + 3] + 8);
	ref_fix_csums4(frame, sizeof(frame));
	assert_int_equal(run_verdict(f, frame, sizeof(frame)), XDP_PASS);
}

/* The same for IPv6: impossible sources dropped, a fine one answered. */
static void test_hostile_syns6_refused(void **state)
{
	static const uint8_t sources[][16] = {
		{ [15] = 1 },                               /* ::1 */
		{ 0 },                                      /* :: */
		{ 0xff, 0x02, [15] = 1 },                   /* multicast */
		{ [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 }, /* v4-mapped */
		{ 0xfd, 0x00, 0x02, 0x00, [15] = 2 },       /* ours (the destination) */
	};
	struct fixture *f = need_root(state);
	struct fastpath_counts c0, c;
	uint8_t frame[sizeof(sample_curl6_syn)];

	fastpath_counters(f->fp, &c0);
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		memcpy(frame, sample_curl6_syn, sizeof(frame));
		memcpy(frame + 14 + 8, sources[i], 16);
		ref_fix_csum6(frame);
		assert_int_equal(run_verdict(f, frame, sizeof(frame)), XDP_DROP);
	}
	memcpy(frame, sample_curl6_syn, sizeof(frame));
	frame[14 + 8 + 15] = 9; /* fd00:200::9, another host on the LAN */
	ref_fix_csum6(frame);
	assert_int_equal(run_verdict(f, frame, sizeof(frame)), XDP_TX);
	frame[14 + 40 + 17] ^= 1;
	assert_int_equal(run_verdict(f, frame, sizeof(frame)), XDP_DROP);
	fastpath_counters(f->fp, &c);
	assert_int_equal(c.martian - c0.martian, 5);
	assert_int_equal(c.bad_csum - c0.bad_csum, 1);
}

/* A wildcard listen answers for this host's addresses only: not for
 * another host's, not for a broadcast address. */
static void test_wildcard_only_for_local_addresses(void **state)
{
	struct fixture *f = need_root(state);
	struct fastpath *saved = f->fp;
	uint8_t frame[sizeof(sample_curl4_syn)], key[COOKIE_EPOCH_KEY_LEN];
	struct config cfg;
	struct pkt_tcp syn;
	uint64_t epoch;
	char err[256];

	config_defaults(&cfg);
	cfg.mss = OUR_MSS;
	assert_int_equal(pkt_parse_eth(sample_curl4_syn, sizeof(sample_curl4_syn), &syn), PKT_OK);
	assert_int_equal(config_parse_endpoint("0.0.0.0:80", &cfg.listen[0]), 0);
	((struct sockaddr_in *)&cfg.listen[0].addr)->sin_port = htons(syn.dport);
	cfg.n_listen = 1;
	f->fp = fastpath_open(&cfg, &(struct fastpath_opts){ 0 }, err, sizeof(err));
	assert_non_null(f->fp);
	protect(&cfg, sample_curl4_syn, sizeof(sample_curl4_syn)); /* its address is ours */
	host_is(f->fp, &cfg);
	assert_int_equal(cookie_epoch_key(f->jar, f->now, &epoch, key), 0);
	assert_int_equal(fastpath_set_key(f->fp, epoch, key), 0);
	check_synack(f, sample_curl4_syn, sizeof(sample_curl4_syn));
	memcpy(frame, sample_curl4_syn, sizeof(frame));
	frame[14 + 19] ^= 0x40; /* another address on the LAN */
	ref_fix_csums4(frame, sizeof(frame));
	assert_int_equal(run_verdict(f, frame, sizeof(frame)), XDP_PASS);
	frame[14 + 19] = 0xff; /* the subnet's broadcast */
	ref_fix_csums4(frame, sizeof(frame));
	assert_int_equal(run_verdict(f, frame, sizeof(frame)), XDP_PASS);
	fastpath_close(f->fp);
	f->fp = saved;
}

/* A reload's endpoint list: SYNs to an endpoint it drops go on to the
 * kernel, those to the one it keeps are answered with its MSS; back to the
 * fixture's list, all three are answered again. */
static void test_set_endpoints(void **state)
{
	struct fixture *f = need_root(state);
	struct config cfg;
	struct pkt_tcp sa;
	uint8_t out[256];
	size_t out_len = sizeof(out);

	config_defaults(&cfg);
	cfg.mss = 1300;
	protect(&cfg, sample_curl4_syn, sizeof(sample_curl4_syn));
	assert_int_equal(fastpath_set_endpoints(f->fp, &cfg), 0);
	assert_int_equal(run_verdict(f, sample_curl6_syn, sizeof(sample_curl6_syn)), XDP_PASS);
	assert_int_equal(run_verdict(f, sample_hping_syn, sizeof(sample_hping_syn)), XDP_PASS);
	assert_int_equal(fastpath_run(f->fp, sample_curl4_syn, sizeof(sample_curl4_syn), out, &out_len),
	                 XDP_TX);
	assert_int_equal(pkt_parse_eth(out, out_len, &sa), PKT_OK);
	assert_int_equal(sa.opt.mss, 1300);

	cfg.mss = OUR_MSS;
	protect(&cfg, sample_hping_syn, sizeof(sample_hping_syn));
	protect(&cfg, sample_curl6_syn, sizeof(sample_curl6_syn));
	assert_int_equal(fastpath_set_endpoints(f->fp, &cfg), 0);
	check_synack(f, sample_curl4_syn, sizeof(sample_curl4_syn));
	check_synack(f, sample_hping_syn, sizeof(sample_hping_syn));
	check_synack(f, sample_curl6_syn, sizeof(sample_curl6_syn));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curl_ipv4_syn),
		cmocka_unit_test(test_bare_hping3_syn_grows_to_carry_mss),
		cmocka_unit_test(test_curl_ipv6_syn),
		cmocka_unit_test(test_every_wscale_and_mss_boundary),
		cmocka_unit_test(test_non_syn_and_unprotected_pass),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_new_epoch_key_takes_over),
		cmocka_unit_test(test_hostile_syns_refused),
		cmocka_unit_test(test_hostile_syns6_refused),
		cmocka_unit_test(test_wildcard_only_for_local_addresses),
		cmocka_unit_test(test_set_endpoints),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

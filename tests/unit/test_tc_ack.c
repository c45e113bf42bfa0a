/* tc_ack: the kernel path's TC program run on handshake ACKs
 * (BPF_PROG_TEST_RUN), each built here with correct checksums and judged
 * the same way by cookie_check(): the program must reach the same verdict
 * and hand the kernel the options cookie_check() recovers. Needs root
 * (loading BPF) and a kernel with bpf_sk_assign_tcp_reqsk(); skipped,
 * saying why, otherwise. Runs in a network namespace of its own with
 * listeners on loopback: the program judges only ACKs to a listener. Last,
 * attached to lo, it turns real ACKs into connections (the kfunc refuses
 * under BPF_PROG_TEST_RUN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cookie.h"
#include "fastpath.h"
#include "netaddr.h"
#include "pkt.h"
#include "ref_csum.h"
#include "synack.h"
#include "verdict.h"

#define PERIOD 30
#define PORT 8080          /* protected, listened on */
#define PORT_OPEN 8081     /* listened on, not protected */
#define PORT_NOBODY 8082   /* protected, nobody listens */
#define KFUNC_MSS_MIN4 536 /* the kfunc's floors (tc_ack.bpf.c) */
#define KFUNC_MSS_MIN6 1220
#define EXPIRED_PER_S 64 /* the program's ration of "expired" diagnoses */
#define FRAME_MAX 256    /* what build() may write */

static const uint8_t master[COOKIE_MASTER_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
static const uint8_t lo4[16] = { 127, 0, 0, 1 }, lo4b[16] = { 127, 0, 0, 2 }, lo6[16] = { [15] = 1 };

struct fixture {
	struct fastpath *fp;
	struct cookie_jar *jar;
	uint64_t now;
	int listeners[4];
	/* What the kfunc did with the first valid cookie (0 or -errno): under
	 * BPF_PROG_TEST_RUN it may refuse, but always the same way. */
	int assign_rc;
	bool assign_seen;
};

/* One segment from a client, as the test builds it. */
struct seg {
	uint8_t family;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	bool has_ts;
	uint32_t tsval, tsecr;
	const uint8_t *opts; /* instead of the timestamps: these option bytes */
	size_t optlen;       /* ... a multiple of 4 */
	const char *data;    /* the segment's payload, or NULL */
	size_t pad;          /* bytes after the IP packet: Ethernet's minimum frame */
};

/* What cookie_check() says of a segment, in the program's terms. */
struct oracle {
	enum cookie_verdict v;
	struct cookie_opts o;
	struct pkt_tcp parsed;
};

static void put32(uint8_t *p, uint32_t v)
{
	synack_put16(p, (uint16_t)(v >> 16));
	synack_put16(p + 2, (uint16_t)v);
}

/* The segment as an Ethernet frame with both checksums right, into `f`
 * (FRAME_MAX bytes); returns its length. */
static size_t build(const struct seg *s, uint8_t *f)
{
	size_t ip_len = s->family == AF_INET ? 20 : 40, alen = s->family == AF_INET ? 4 : 16;
	uint8_t *ip = f + 14, *tcp = ip + ip_len, opt[40] = { 0 };
	size_t optlen = 0, tcp_len;

	if (s->opts) {
		memcpy(opt, s->opts, s->optlen);
		optlen = s->optlen;
	} else if (s->has_ts) {
		opt[0] = opt[1] = SYNACK_OPT_NOP;
		opt[2] = SYNACK_OPT_TS;
		opt[3] = SYNACK_OPT_TS_LEN;
		put32(opt + 4, s->tsval);
		put32(opt + 8, s->tsecr);
		optlen = 12;
	}
	tcp_len = 20 + optlen + (s->data ? strlen(s->data) : 0);
	memset(f, 0, 14 + ip_len + tcp_len + s->pad);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	synack_put16(f + 12, s->family == AF_INET ? 0x0800 : 0x86dd);
	if (s->family == AF_INET) {
		ip[0] = 0x45;
		synack_put16(ip + 2, (uint16_t)(20 + tcp_len));
		synack_put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, s->saddr, alen);
		memcpy(ip + 16, s->daddr, alen);
	} else {
		ip[0] = 0x60;
		synack_put16(ip + 4, (uint16_t)tcp_len);
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, s->saddr, alen);
		memcpy(ip + 24, s->daddr, alen);
	}
	synack_put16(tcp, s->sport);
	synack_put16(tcp + 2, s->dport);
	put32(tcp + 4, s->seq);
	put32(tcp + 8, s->ack);
	tcp[13] = s->flags;
	synack_put16(tcp + 14, 65535); /* unscaled too, more than twice any MSS */
	tcp[12] = (uint8_t)((20 + optlen) / 4 << 4);
	memcpy(tcp + 20, opt, optlen);
	if (s->data)
		memcpy(tcp + 20 + optlen, s->data, strlen(s->data));
	if (s->family == AF_INET)
		ref_fix_csums4(f, 14 + ip_len + tcp_len);
	else
		ref_fix_csum6(f);
	return 14 + ip_len + tcp_len + s->pad;
}

/* cookie_check() on the frame as the ring path parses it, and
 * cookie_diagnose() on what it refuses. */
static struct oracle judge(struct fixture *f, const uint8_t *frame, size_t len)
{
	struct oracle o = { 0 };
	struct cookie_tuple t;

	assert_int_equal(pkt_parse_eth(frame, len, &o.parsed), PKT_OK);
	assert_true(pkt_tcp_csum_ok(&o.parsed));
	verdict_cookie_tuple(&o.parsed, &t);
	o.v = cookie_check(f->jar, &t, o.parsed.seq, o.parsed.ack, f->now, &o.o);
	if (o.v != COOKIE_VALID)
		o.v = cookie_diagnose(f->jar, &t, o.parsed.seq, o.parsed.ack, f->now);
	return o;
}

static const char *tc_verdict_str(uint32_t v)
{
	static const char *const names[] = { "none",          "valid",     "bad cookie",   "expired",
		                             "kernel cookie", "malformed", "assign failed" };

	return v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

/* The counter a verdict moves; TC_STAT_COUNT for none. */
static uint32_t stat_of(uint32_t verdict)
{
	switch (verdict) {
	case TC_V_VALID:
		return TC_STAT_VALID;
	case TC_V_BAD_COOKIE:
		return TC_STAT_BAD_COOKIE;
	case TC_V_EXPIRED:
		return TC_STAT_EXPIRED;
	case TC_V_KERNEL_COOKIE:
		return TC_STAT_KERNEL_COOKIE;
	case TC_V_MALFORMED:
		return TC_STAT_MALFORMED;
	case TC_V_ASSIGN_FAILED:
		return TC_STAT_ASSIGN_FAILED;
	default:
		return TC_STAT_COUNT;
	}
}

/* Run the program on the frame; the counters must move as its verdict
 * says: one step of the verdict's own, none of the others (but for
 * `extra`, the counter a passed segment moves, or TC_STAT_COUNT). */
static int run(struct fixture *f, const uint8_t *frame, size_t len, struct fastpath_tc_result *r,
               uint32_t extra)
{
	struct fastpath_counts c0, c;
	int action;

	fastpath_counters(f->fp, &c0);
	memset(r, 0xa5, sizeof(*r));
	assert_int_equal(fastpath_run_tc(f->fp, frame, len, r), 0);
	action = r->action;
	fastpath_counters(f->fp, &c);
	for (uint32_t i = 0; i < TC_STAT_COUNT; i++)
		assert_int_equal(c.tc[i] - c0.tc[i], i == stat_of(r->verdict) || i == extra ? 1 : 0);
	return action;
}

/* The frame is not the program's: untouched, not judged, and left to the
 * next program on the interface (another instance's), not passed at once. */
static void expect_none(struct fixture *f, const struct seg *s, uint32_t extra)
{
	uint8_t frame[FRAME_MAX];
	struct fastpath_tc_result r;

	assert_int_equal(run(f, frame, build(s, frame), &r, extra), TC_ACT_UNSPEC);
	assert_int_equal(r.verdict, TC_V_NONE);
}

/* The program's verdict and options on the segment must be cookie_check()'s
 * (cookie_diagnose()'s for what it refuses: the caller keeps within the
 * program's ration). Returns cookie_check()'s verdict. */
static enum cookie_verdict expect_same(struct fixture *f, const struct seg *s)
{
	uint8_t frame[FRAME_MAX];
	size_t len = build(s, frame);
	struct oracle o = judge(f, frame, len);
	struct fastpath_tc_result r;
	uint16_t floor = s->family == AF_INET ? KFUNC_MSS_MIN4 : KFUNC_MSS_MIN6;
	int action = run(f, frame, len, &r, TC_STAT_COUNT);

	if (o.v != COOKIE_VALID) {
		if (r.verdict != (o.v == COOKIE_EXPIRED ? TC_V_EXPIRED : TC_V_BAD_COOKIE))
			fail_msg("seq %08x ack %08x: cookie_check says %s, the program %s", s->seq, s->ack,
			         cookie_verdict_str(o.v), tc_verdict_str(r.verdict));
		assert_int_equal(action, TC_ACT_SHOT);
		return o.v;
	}
	if (!f->assign_seen) {
		f->assign_seen = true;
		f->assign_rc = r.assign_rc;
		print_message("the kfunc under BPF_PROG_TEST_RUN returns %d%s%s\n", r.assign_rc,
		              r.assign_rc ? ": " : "", r.assign_rc ? strerror(-r.assign_rc) : "");
	}
	if (r.verdict != (f->assign_rc ? TC_V_ASSIGN_FAILED : TC_V_VALID))
		fail_msg("seq %08x ack %08x: cookie_check says valid, the program %s (kfunc %d)", s->seq,
		         s->ack, tc_verdict_str(r.verdict), r.assign_rc);
	assert_int_equal(r.assign_rc, f->assign_rc);
	assert_int_equal(action, f->assign_rc ? TC_ACT_SHOT : TC_ACT_OK);
	assert_int_equal(r.mss, o.o.mss < floor ? floor : o.o.mss);
	assert_int_equal(r.wscale_ok, o.o.wscale != COOKIE_WSCALE_NONE);
	assert_int_equal(r.snd_wscale, r.wscale_ok ? o.o.wscale : 0);
	assert_int_equal(r.rcv_wscale, r.wscale_ok ? SYNACK_WSCALE : 0);
	assert_int_equal(r.sack_ok, o.o.sack_ok);
	assert_int_equal(r.tstamp_ok, o.parsed.opt.has_ts);
	assert_int_equal(r.tsval, o.parsed.opt.has_ts ? o.parsed.opt.tsval : 0);
	return o.v;
}

/* A client's handshake ACK for a SYN with `isn` and `offered`, answered
 * with a cookie of `epochs_back` key periods ago; `granted` (may be NULL)
 * gets the options as the cookie carries them. */
static struct seg handshake_ack(struct fixture *f, struct seg s, uint32_t isn,
                                const struct cookie_opts *offered, unsigned epochs_back,
                                struct cookie_opts *granted)
{
	struct cookie_tuple t = { .family = s.family, .sport = s.sport, .dport = s.dport };

	memcpy(t.saddr, s.saddr, 16);
	memcpy(t.daddr, s.daddr, 16);
	s.flags = PKT_TCP_ACK;
	s.seq = isn + 1;
	s.ack = cookie_make(f->jar, &t, isn, offered, f->now - epochs_back * PERIOD, granted) + 1;
	return s;
}

/* A client of 10.0.0.7:40000 (fd00::7 for IPv6) to the protected
 * loopback endpoint, with timestamps. */
static struct seg client(uint8_t family)
{
	struct seg s = { .family = family,
		         .sport = 40000,
		         .dport = PORT,
		         .has_ts = true,
		         .tsval = 0x01020304,
		         .tsecr = 0xa0b0c0d0 };

	if (family == AF_INET) {
		memcpy(s.saddr, (uint8_t[]){ 10, 0, 0, 7 }, 4);
		memcpy(s.daddr, lo4, 16);
	} else {
		memcpy(s.saddr, (uint8_t[]){ 0xfd, [15] = 7 }, 16);
		memcpy(s.daddr, lo6, 16);
	}
	return s;
}

static const struct cookie_opts curl = { 1460, 10, true }; /* what Linux offers on a LAN */

/* ---- the fixture: a namespace, listeners, the program, the keys ---- */

static int listen_on(uint8_t family, const uint8_t *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = netaddr_make(&ss, family, addr, port, 0);
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static void lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static void protect(struct config *cfg, uint8_t family, const uint8_t *addr, uint16_t port)
{
	struct config_endpoint *ep = &cfg->listen[cfg->n_listen++];

	memset(ep, 0, sizeof(*ep));
	ep->len = netaddr_make(&ep->addr, family, addr, port, 0);
}

/* Keys of the current epoch and the three before, oldest first, as
 * fastpath_start()'s timer holds them. */
static void load_keys(struct fixture *f, struct fastpath *fp)
{
	uint8_t key[COOKIE_EPOCH_KEY_LEN];
	uint64_t epoch;

	for (unsigned back = XDP_KEYSLOTS; back-- > 0;) {
		assert_int_equal(cookie_epoch_key(f->jar, f->now - back * PERIOD, &epoch, key), 0);
		assert_int_equal(fastpath_set_key(fp, epoch, key), 0);
	}
}

static int setup(void **state)
{
	static struct fixture f;
	struct config cfg;
	char err[256];
	cpu_set_t cpu;

	*state = NULL;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		print_message("skipped: loading BPF and a network namespace need root\n");
		return 0;
	}
	if (!fastpath_kernel_path_supported(err, sizeof(err))) {
		print_message("skipped: %s\n", err);
		return 0;
	}
	/* One CPU: the program's ration of expired diagnoses is per CPU. */
	CPU_ZERO(&cpu);
	CPU_SET(sched_getcpu(), &cpu);
	assert_int_equal(sched_setaffinity(0, sizeof(cpu), &cpu), 0);
	lo_up();
	f.listeners[0] = listen_on(AF_INET, lo4, PORT);
	f.listeners[1] = listen_on(AF_INET, lo4b, PORT);
	f.listeners[2] = listen_on(AF_INET6, lo6, PORT);
	f.listeners[3] = listen_on(AF_INET, lo4, PORT_OPEN);
	config_defaults(&cfg);
	protect(&cfg, AF_INET, lo4, PORT);
	protect(&cfg, AF_INET, lo4b, PORT);
	protect(&cfg, AF_INET6, lo6, PORT);
	protect(&cfg, AF_INET, lo4, PORT_NOBODY);
	f.fp = fastpath_open(&cfg, &(struct fastpath_opts){ .kernel_acks = true }, err, sizeof(err));
	if (!f.fp)
		fail_msg("fastpath_open: %s", err);
	f.jar = cookie_jar_new(master, PERIOD);
	assert_non_null(f.jar);
	f.now = (uint64_t)time(NULL);
	load_keys(&f, f.fp);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	for (size_t i = 0; i < sizeof(f->listeners) / sizeof(f->listeners[0]); i++)
		close(f->listeners[i]);
	fastpath_close(f->fp);
	cookie_jar_free(f->jar);
	return 0;
}

static struct fixture *need_kernel_path(void **state)
{
	if (!*state)
		skip(); /* why: in setup's message */
	return *state;
}

/* ---- the cases ---- */

static void test_valid_cookie(void **state)
{
	struct fixture *f = need_kernel_path(state);
	struct cookie_opts granted;

	for (int v6 = 0; v6 <= 1; v6++) {
		struct seg s = handshake_ack(f, client(v6 ? AF_INET6 : AF_INET), 0x7a003a02, &curl, 0,
		                             &granted);

		assert_int_equal(expect_same(f, &s), COOKIE_VALID);
		s.has_ts = false;
		assert_int_equal(expect_same(f, &s), COOKIE_VALID);
	}
	/* The second protected address: its own tuple in the MAC. */
	struct seg s = client(AF_INET);
	memcpy(s.daddr, lo4b, 16);
	s = handshake_ack(f, s, 0xfffffffe, &curl, 0, NULL);
	assert_int_equal(expect_same(f, &s), COOKIE_VALID);
	/* Padded to Ethernet's 60 bytes; with the request on the ACK. */
	s.has_ts = false;
	s.pad = 6;
	assert_int_equal(expect_same(f, &s), COOKIE_VALID);
	s.pad = 0;
	s.data = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(expect_same(f, &s), COOKIE_VALID);
}

/* Exact comparison, as cookie_check(): a forged ack, one off by one either
 * way, a cookie for another ISN or another tuple, all dropped. */
static void test_forged_and_off_by_one_refused(void **state)
{
	struct fixture *f = need_kernel_path(state);

	for (int v6 = 0; v6 <= 1; v6++) {
		struct seg ok = handshake_ack(f, client(v6 ? AF_INET6 : AF_INET), 1000, &curl, 0, NULL), s;

		s = ok;
		s.ack = 0x5eed1e55;
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		s = ok;
		s.ack -= 1; /* ack == cookie */
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		s.ack += 2; /* cookie + 2 */
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		s = ok;
		s.ack ^= 0x80000000; /* one MAC bit */
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		s = ok;
		s.seq += 1; /* another client ISN */
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		s = ok;
		s.sport += 1; /* another tuple */
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		s = ok;
		s.ack ^= 1; /* the SACK bit: the low byte is under the MAC */
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		assert_int_equal(expect_same(f, &ok), COOKIE_VALID);
	}
}

/* Wait for the next second of CLOCK_MONOTONIC (the program's clock), where
 * its ration starts afresh. */
static void next_second(void)
{
	struct timespec now;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
	now.tv_sec++;
	now.tv_nsec = 0;
	assert_int_equal(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL), 0);
}

static time_t mono_second(void)
{
	struct timespec now;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
	return now.tv_sec;
}

/* The previous epoch's cookie is still good; the two before are told
 * expired within the ration of 64 a second, forged beyond it; older ones
 * are forged. */
static void test_previous_key_valid_older_expired(void **state)
{
	struct fixture *f = need_kernel_path(state);
	struct fastpath_tc_result r;
	uint8_t frame[FRAME_MAX];
	struct seg s;
	time_t second;
	unsigned spent;

	for (int v6 = 0; v6 <= 1; v6++) {
		s = handshake_ack(f, client(v6 ? AF_INET6 : AF_INET), 77, &curl, 1, NULL);
		assert_int_equal(expect_same(f, &s), COOKIE_VALID);
	}
	/* Retried once should the second turn within the loop (a slow run). */
	for (int attempt = 0;; attempt++) {
		next_second();
		second = mono_second();
		spent = 0;
		for (unsigned back = 2; back <= 3; back++)
			for (int v6 = 0; v6 <= 1; v6++) {
				s = handshake_ack(f, client(v6 ? AF_INET6 : AF_INET), 77, &curl, back, NULL);
				assert_int_equal(expect_same(f, &s), COOKIE_EXPIRED);
				spent++;
			}
		s = handshake_ack(f, client(AF_INET), 77, &curl, 4, NULL);
		assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		spent++;
		/* The rest of the ration on forged ones, then an expired one
		 * past it: refused as forged, no second MAC spent. */
		s.ack = 0x5eed1e55;
		for (; spent < EXPIRED_PER_S; spent++)
			assert_int_equal(expect_same(f, &s), COOKIE_BAD_MAC);
		s = handshake_ack(f, client(AF_INET), 77, &curl, 2, NULL);
		assert_int_equal(run(f, frame, build(&s, frame), &r, TC_STAT_COUNT), TC_ACT_SHOT);
		if (mono_second() == second) {
			assert_int_equal(r.verdict, TC_V_BAD_COOKIE);
			break;
		}
		assert_int_equal(attempt, 0);
	}
}

/* Every step of the cookie's MSS and window-scale tables, from just below
 * to just above, with and without SACK and timestamps, both families:
 * cookie_make() rounds down, the program decodes what cookie_check() does
 * (raised to the kfunc's floor). */
static void test_every_mss_and_wscale_step(void **state)
{
	struct fixture *f = need_kernel_path(state);
	struct cookie_opts offered, granted;
	uint32_t isn = 0x10000000;

	for (int v6 = 0; v6 <= 1; v6++)
		for (int opts = 0; opts < 4; opts++) {
			struct seg c = client(v6 ? AF_INET6 : AF_INET), s;

			c.has_ts = opts & 1;
			offered.sack_ok = opts & 2;
			offered.wscale = 7;
			for (size_t i = 0; i < 8; i++)
				for (int d = -1; d <= 1; d++) {
					offered.mss = (uint16_t)(synack_mss_table[i] + d);
					s = handshake_ack(f, c, isn++, &offered, 0, &granted);
					assert_int_equal(granted.mss,
					                 synack_mss_table[d < 0 && i > 0 ? i - 1 : i]);
					assert_int_equal(expect_same(f, &s), COOKIE_VALID);
				}
			offered.mss = 1460;
			for (unsigned ws = 0; ws <= SYNACK_WSCALE_MAX + 1; ws++) {
				offered.wscale = ws > SYNACK_WSCALE_MAX ? COOKIE_WSCALE_NONE : (uint8_t)ws;
				s = handshake_ack(f, c, isn++, &offered, 0, &granted);
				assert_int_equal(expect_same(f, &s), COOKIE_VALID);
			}
		}
}

/* What is not a handshake ACK to a listener on a protected endpoint is the
 * kernel's: passed untouched, no verdict. */
static void test_not_candidates_pass(void **state)
{
	struct fixture *f = need_kernel_path(state);
	struct seg ok = handshake_ack(f, client(AF_INET), 5, &curl, 0, NULL), s;
	struct sockaddr_in peer, srv = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	socklen_t plen = sizeof(peer);
	int c, a;

	memcpy(&srv.sin_addr, lo4, 4);

	s = ok;
	s.flags = PKT_TCP_SYN;
	expect_none(f, &s, TC_STAT_COUNT);
	s.flags = PKT_TCP_SYN | PKT_TCP_ACK;
	expect_none(f, &s, TC_STAT_COUNT);
	s.flags = PKT_TCP_RST;
	expect_none(f, &s, TC_STAT_COUNT);
	s.flags = PKT_TCP_RST | PKT_TCP_ACK;
	expect_none(f, &s, TC_STAT_COUNT);
	s.flags = 0;
	expect_none(f, &s, TC_STAT_COUNT);
	s = ok;
	s.dport = PORT_OPEN; /* a listener, not protected */
	expect_none(f, &s, TC_STAT_COUNT);
	s.dport = PORT_NOBODY; /* protected, nobody listens: counted */
	expect_none(f, &s, TC_STAT_NO_LISTENER);

	/* An established connection's ACK, even one with a valid cookie. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&srv, sizeof(srv)), 0);
	a = accept(f->listeners[0], (struct sockaddr *)&peer, &plen);
	assert_true(a >= 0);
	s = client(AF_INET);
	memcpy(s.saddr, &peer.sin_addr, 4);
	s.sport = ntohs(peer.sin_port);
	s = handshake_ack(f, s, 5, &curl, 0, NULL);
	expect_none(f, &s, TC_STAT_COUNT);
	close(a);
	close(c);
}

/* Options that do not add up: dropped as malformed, where the ring path's
 * parser refuses them too. */
static void test_malformed_options(void **state)
{
	static const struct {
		const char *what;
		uint8_t opts[12];
		size_t len;
	} cases[] = {
		{ "zero length", { SYNACK_OPT_NOP, SYNACK_OPT_NOP, SYNACK_OPT_TS, 0 }, 4 },
		{ "length 1", { 30, 1, SYNACK_OPT_NOP, SYNACK_OPT_NOP }, 4 },
		{ "beyond the header", { SYNACK_OPT_NOP, SYNACK_OPT_NOP, SYNACK_OPT_TS, 11 }, 12 },
		{ "length byte missing",
		  { SYNACK_OPT_NOP, SYNACK_OPT_NOP, SYNACK_OPT_NOP, SYNACK_OPT_TS },
		  4 },
		{ "second option overruns",
		  { SYNACK_OPT_TS, SYNACK_OPT_TS_LEN, [10] = SYNACK_OPT_MSS, 4 },
		  12 },
	};
	struct fixture *f = need_kernel_path(state);

	for (int v6 = 0; v6 <= 1; v6++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct seg s = handshake_ack(f, client(v6 ? AF_INET6 : AF_INET), 9, &curl, 0, NULL);
			struct fastpath_tc_result r;
			struct pkt_tcp parsed;
			uint8_t frame[FRAME_MAX];
			size_t len;

			s.opts = cases[i].opts;
			s.optlen = cases[i].len;
			len = build(&s, frame);
			print_message("%s %s\n", v6 ? "IPv6" : "IPv4", cases[i].what);
			assert_int_equal(pkt_parse_eth(frame, len, &parsed), PKT_ERR_TCP_OPT);
			assert_int_equal(run(f, frame, len, &r, TC_STAT_COUNT), TC_ACT_SHOT);
			assert_int_equal(r.verdict, TC_V_MALFORMED);
		}
}

/* A legal header may hold up to 40 option entries (NOPs): each walked, none
 * refused for their number (as pkt.c and the kernel take them). */
static void test_many_options_legal(void **state)
{
	uint8_t opts[40];
	struct fixture *f = need_kernel_path(state);

	memset(opts, SYNACK_OPT_NOP, sizeof(opts));
	opts[28] = SYNACK_OPT_TS;
	opts[29] = SYNACK_OPT_TS_LEN;
	put32(opts + 30, 0x11223344);
	put32(opts + 34, 0x55667788);
	for (int v6 = 0; v6 <= 1; v6++) {
		struct seg s = handshake_ack(f, client(v6 ? AF_INET6 : AF_INET), 77, &curl, 0, NULL);

		s.opts = opts;
		s.optlen = sizeof(opts);
		assert_int_equal(expect_same(f, &s), COOKIE_VALID);
		/* Every entry a NOP: no option at all, still legal. */
		memset(opts, SYNACK_OPT_NOP, sizeof(opts));
		assert_int_equal(expect_same(f, &s), COOKIE_VALID);
		opts[28] = SYNACK_OPT_TS;
		opts[29] = SYNACK_OPT_TS_LEN;
		put32(opts + 30, 0x11223344);
		put32(opts + 34, 0x55667788);
	}
}

/* BPF_PROG_TEST_RUN does not run the program at TC ingress, the only place
 * the kfunc works (it refuses every request socket above). So the program,
 * attached to lo, also gets real ACKs with our cookie: the listener must
 * accept a connection with the options it decoded. */
static void set_sysctl(const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs("1\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static void real_ack(struct fixture *f, struct fastpath *fp, uint8_t family,
                     const struct cookie_opts *offered, bool has_ts)
{
	static uint16_t sport = 40100;
	struct seg s = client(family);
	struct pollfd pfd = { .fd = f->listeners[family == AF_INET ? 0 : 2], .events = POLLIN };
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
		                  .sll_ifindex = (int)if_nametoindex("lo"),
		                  .sll_halen = 6 };
	uint16_t floor = family == AF_INET ? KFUNC_MSS_MIN4 : KFUNC_MSS_MIN6;
	struct fastpath_counts c0, c;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer), tlen;
	struct cookie_opts granted;
	struct tcp_info ti;
	uint8_t frame[FRAME_MAX];
	size_t len;
	int tx, child;

	memcpy(s.saddr, family == AF_INET ? lo4 : lo6, 16); /* a source lo takes */
	s.sport = sport++; /* a fresh 4-tuple: the last one's socket lingers */
	s.has_ts = has_ts;
	s = handshake_ack(f, s, 0x12345678, offered, 0, &granted);
	len = build(&s, frame);
	memset(frame, 0, 6); /* to lo's link-layer address */
	tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	assert_true(tx >= 0);
	fastpath_counters(fp, &c0);
	assert_int_equal(sendto(tx, frame, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	close(tx);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	fastpath_counters(fp, &c);
	assert_int_equal(c.tc[TC_STAT_VALID] - c0.tc[TC_STAT_VALID], 1);
	child = accept(pfd.fd, (struct sockaddr *)&peer, &plen);
	assert_true(child >= 0);
	assert_int_equal(netaddr_port(&peer), s.sport);
	tlen = sizeof(ti);
	assert_int_equal(getsockopt(child, IPPROTO_TCP, TCP_INFO, &ti, &tlen), 0);
	assert_int_equal(ti.tcpi_state, TCP_ESTABLISHED);
	/* The MSS the program gave (cookie_check()'s, floored), less the
	 * timestamps' 12 bytes in every segment. */
	assert_int_equal(ti.tcpi_snd_mss, (granted.mss < floor ? floor : granted.mss) - (has_ts ? 12 : 0));
	assert_int_equal(!!(ti.tcpi_options & TCPI_OPT_TIMESTAMPS), has_ts);
	assert_int_equal(!!(ti.tcpi_options & TCPI_OPT_SACK), granted.sack_ok);
	assert_int_equal(!!(ti.tcpi_options & TCPI_OPT_WSCALE), granted.wscale != COOKIE_WSCALE_NONE);
	if (granted.wscale != COOKIE_WSCALE_NONE) {
		assert_int_equal(ti.tcpi_snd_wscale, granted.wscale);
		assert_int_equal(ti.tcpi_rcv_wscale, SYNACK_WSCALE);
	}
	close(child);
}

static void test_real_ack_on_lo_becomes_connection(void **state)
{
	static const struct {
		struct cookie_opts offered;
		bool has_ts;
	} cases[] = {
		{ { 1460, 10, true }, true },
		{ { 100, COOKIE_WSCALE_NONE, false }, true }, /* below both floors */
		{ { 1300, 0, true }, false },
		{ { 1451, 14, false }, false },
	};
	struct fixture *f = need_kernel_path(state);
	struct fastpath *fp;
	struct config cfg;
	char err[256];

	/* A frame injected on lo has no route yet, and comes from one of our
	 * own addresses: let 127.0.0.1 be routed in from lo. */
	set_sysctl("/proc/sys/net/ipv4/conf/lo/route_localnet");
	set_sysctl("/proc/sys/net/ipv4/conf/lo/accept_local");
	config_defaults(&cfg);
	protect(&cfg, AF_INET, lo4, PORT);
	protect(&cfg, AF_INET6, lo6, PORT);
	fp = fastpath_open(&cfg, &(struct fastpath_opts){ .ifname = "lo", .kernel_acks = true }, err,
	                   sizeof(err));
	if (!fp)
		fail_msg("fastpath_open on lo: %s", err);
	load_keys(f, fp);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		real_ack(f, fp, AF_INET, &cases[i].offered, cases[i].has_ts);
		real_ack(f, fp, AF_INET6, &cases[i].offered, cases[i].has_ts);
	}
	fastpath_close(fp);
}

/* A small PRNG, seeded for reproducible runs. */
static uint64_t rng_state = 0x7c0ffee5eed5ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* The cookie arithmetic on random tuples, ISNs and options, current or
 * previous epoch, intact or damaged: the program agrees with cookie_check()
 * on every one. Expired cookies are left out: past the ration the program
 * calls them forged, by design. */
static void test_random_agree_with_cookie_check(void **state)
{
	struct fixture *f = need_kernel_path(state);
	unsigned valid = 0, n = 500;

	for (unsigned i = 0; i < n; i++) {
		struct seg s = client(rng() % 2 ? AF_INET6 : AF_INET);
		struct cookie_opts offered = { .mss = (uint16_t)rng(), .sack_ok = rng() % 2 };
		unsigned ws = rng() % 17;

		for (size_t b = 0; b < (s.family == AF_INET ? 4 : 16); b++)
			s.saddr[b] = (uint8_t)rng();
		if (s.family == AF_INET && rng() % 2)
			memcpy(s.daddr, lo4b, 16);
		s.sport = (uint16_t)(1024 + rng() % 64512);
		s.has_ts = rng() % 2;
		s.tsval = rng();
		s.tsecr = rng();
		offered.wscale = ws > SYNACK_WSCALE_MAX ? COOKIE_WSCALE_NONE : (uint8_t)ws;
		s = handshake_ack(f, s, rng(), &offered, rng() % 2, NULL);
		switch (rng() % 8) {
		case 0:
			s.ack = rng();
			break;
		case 1:
			s.ack += rng() % 2 ? 1 : -1;
			break;
		case 2:
			s.seq += 1 + rng() % 1000;
			break;
		case 3:
			s.ack ^= 1u << (rng() % 32);
			break;
		default:
			break;
		}
		valid += expect_same(f, &s) == COOKIE_VALID;
	}
	print_message("%u of %u random ACKs valid\n", valid, n);
	assert_true(valid > n / 4 && valid < n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_cookie),
		cmocka_unit_test(test_forged_and_off_by_one_refused),
		cmocka_unit_test(test_previous_key_valid_older_expired),
		cmocka_unit_test(test_every_mss_and_wscale_step),
		cmocka_unit_test(test_not_candidates_pass),
		cmocka_unit_test(test_malformed_options),
		cmocka_unit_test(test_many_options_legal),
		cmocka_unit_test(test_random_agree_with_cookie_check),
		cmocka_unit_test(test_real_ack_on_lo_becomes_connection),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

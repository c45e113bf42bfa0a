/* Fuzz the front end's per-frame decision (verdict.h) with the worker's
 * memory played by the input. Input: a control byte, the diagnosis budget
 * (1 byte), then an Ethernet frame. Control bits: 0 to_host, 1 csum_ok
 * (the NIC vouched), 2-3 what the worker remembers of the 4-tuple (enum
 * verdict_tuple), 4 the frame carries that connection's handshake ISNs,
 * 5 it arrived before the socket went live, 6 its seq is the next byte
 * expected. This host is 10.200.1.2 and fd00:200::2 (the captured samples'
 * server); port 8080 is protected on those addresses, port 80 on every
 * address (a wildcard).
 *
 * Checked: whatever is acted on was addressed to this host, from a possible
 * source, to a protected port, with a right checksum; a SYN answered is a
 * pure SYN; an adoption has a valid cookie and takes no live connection's
 * place; the memory is asked once, and only past the address checks; a
 * diagnosis is spent only on a refused cookie.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "verdict.h"

#define NOW ((uint64_t)1764547200)
#define ARRIVED_NS ((uint64_t)5000000000)

struct memory {
	uint8_t ctl;
	uint32_t seq, ack;
	unsigned calls;
};

static void known(void *arg, const struct cookie_tuple *t, struct verdict_known *k)
{
	struct memory *m = arg;

	(void)t;
	m->calls++;
	k->state = (enum verdict_tuple)(m->ctl >> 2 & 3);
	k->cookie = m->ctl & 0x10 ? m->ack - 1 : m->ack + 12345;
	k->rcv_isn = m->ctl & 0x10 ? m->seq - 1 : m->seq + 54321;
	k->next_seq = m->ctl & 0x40 ? m->seq : m->seq + 1;
	k->live_ns = m->ctl & 0x20 ? ARRIVED_NS + 1 : ARRIVED_NS - 1;
	k->conn = m;
}

static struct cookie_jar *jar;
static struct localaddr *local;
static struct verdict_listen listen_at[CONFIG_MAX_LISTEN];
static size_t n_listen;

static void setup(void)
{
	static const uint8_t master[COOKIE_MASTER_LEN] = "synguard fuzz master key, fixed";
	static const char *const eps[] = { "10.200.1.2:8080", "[fd00:200::2]:8080", "0.0.0.0:80", "[::]:80" };
	struct localaddr_entry ours[2] = { { .family = AF_INET }, { .family = AF_INET6 } };
	struct config cfg;

	FUZZ_CHECK((jar = cookie_jar_new(master, 30)) != NULL);
	FUZZ_CHECK((local = localaddr_new()) != NULL);
	FUZZ_CHECK(inet_pton(AF_INET, "10.200.1.2", ours[0].addr) == 1);
	FUZZ_CHECK(inet_pton(AF_INET6, "fd00:200::2", ours[1].addr) == 1);
	FUZZ_CHECK(localaddr_set(local, ours, 2) == 1);
	config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++)
		FUZZ_CHECK(config_parse_endpoint(eps[i], &cfg.listen[cfg.n_listen++]) == 0);
	n_listen = verdict_listen_init(&cfg, listen_at);
}

static bool acted_on(enum verdict v)
{
	return v == VERDICT_SYN || v == VERDICT_SYN_ON_LIVE || v == VERDICT_ADOPT || v == VERDICT_LATE_DATA ||
	       v == VERDICT_EARLY_DATA;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memory m = { 0 };
	unsigned budget, budget0;
	struct pkt_frame f;
	struct verdict_out out;
	enum verdict v;

	if (size < 2)
		return 0;
	if (!jar)
		setup();
	m.ctl = data[0];
	budget = budget0 = data[1] & 3;
	f = (struct pkt_frame){
		.data = data + 2,
		.len = size - 2,
		.arrived_ns = ARRIVED_NS,
		.to_host = m.ctl & 1,
		.csum_ok = m.ctl & 2,
	};
	/* The memory answers in terms of the segment's own numbers. */
	if (pkt_parse_eth(f.data, f.len, &out.seg) == PKT_OK) {
		m.seq = out.seg.seq;
		m.ack = out.seg.ack;
	}
	const struct verdict_ctx ctx = {
		.listen = listen_at,
		.n_listen = n_listen,
		.local = local,
		.jar = jar,
		.now_s = NOW,
		.diagnose_left = &budget,
		.known = known,
		.known_arg = &m,
	};
	v = verdict_of(&ctx, &f, &out);
	FUZZ_CHECK((unsigned)v < VERDICT_COUNT);
	bool consulted = v != VERDICT_NOT_FOR_US && v != VERDICT_MALFORMED && v != VERDICT_UNPROTECTED &&
	                 v != VERDICT_MARTIAN;
	FUZZ_CHECK(m.calls == (consulted ? 1u : 0u));
	FUZZ_CHECK((v == VERDICT_MALFORMED) == (f.to_host && out.parse_err != PKT_OK));
	FUZZ_CHECK(budget <= budget0);
	FUZZ_CHECK(budget == budget0 ||
	           ((v == VERDICT_BAD_COOKIE || v == VERDICT_EXPIRED) && budget == budget0 - 1));
	if (acted_on(v)) {
		const struct pkt_tcp *s = &out.seg;
		FUZZ_CHECK(f.to_host && !(f.data[6] & 1));
		FUZZ_CHECK(!pkt_src_martian(s->family, s->saddr) &&
		           !localaddr_has(local, s->family, s->saddr));
		FUZZ_CHECK(localaddr_has(local, s->family, s->daddr));
		FUZZ_CHECK(s->dport == 80 || s->dport == 8080);
		FUZZ_CHECK(f.csum_ok || pkt_tcp_csum_ok(s));
	}
	if (v == VERDICT_SYN || v == VERDICT_SYN_ON_LIVE)
		FUZZ_CHECK((out.seg.flags & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST | PKT_TCP_FIN)) ==
		           PKT_TCP_SYN);
	if (v == VERDICT_ADOPT) {
		struct cookie_opts o;
		FUZZ_CHECK(out.known.state == VERDICT_TUPLE_NEW || out.known.state == VERDICT_TUPLE_FINISHED);
		FUZZ_CHECK(cookie_check(jar, &out.tuple, out.seg.seq, out.seg.ack, NOW, &o) == COOKIE_VALID);
		FUZZ_CHECK(o.mss == out.opts.mss && o.wscale == out.opts.wscale &&
		           o.sack_ok == out.opts.sack_ok);
	}
	if (v == VERDICT_LATE_DATA)
		FUZZ_CHECK(out.known.state == VERDICT_TUPLE_LIVE && out.seg.payload_len > 0);
	if (v == VERDICT_EARLY_DATA)
		FUZZ_CHECK(out.known.state == VERDICT_TUPLE_PENDING);
	return 0;
}

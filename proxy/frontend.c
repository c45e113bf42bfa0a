#include "frontend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/random.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "adopt.h"
#include "backend.h"
#include "conntab.h"
#include "fw.h"
#include "localaddr.h"
#include "log.h"
#include "netaddr.h"
#include "pkt.h"
#include "relay.h"
#include "ring.h"
#include "synack.h"
#include "tx.h"
#include "verdict.h"

#define FE_PENDING_MAX 64    /* handshakes verified in one ring block */
#define FE_SEGS_MAX 8        /* early segments kept per handshake */
#define FE_EARLY_MAX 65536   /* early bytes: at most the window we offered */
#define FE_LINGER_S 60       /* keep finished connections known at least as long as TIME_WAIT */
#define FE_DIAGNOSE_PER_S 64 /* refused ACKs checked for "expired" per second */
/* Event priorities. Accepted connections come first: relay events run
 * before the ring whenever both are ready, so a flood does not slow clients
 * already served (and a relay that waits behind a ring drain lets a client's
 * request go unacknowledged long enough for a tail-loss probe). But busy
 * connections must not stop the SYN path either: a guard on a timer of the
 * highest priority drains the ring itself whenever the ring went unserved
 * for FE_RING_GUARD_MS. Every callback is bounded (here blocks per wakeup,
 * in the relay rounds per callback), so the ring gets at least
 * FE_BLOCKS_PER_WAKEUP blocks every FE_RING_GUARD_MS whatever the
 * connections do. */
#define FE_PRIO_GUARD 0
#define FE_PRIO_RING 2 /* relay events get libevent's default, 1 */
#define FE_PRIO_COUNT 3
#define FE_BLOCKS_PER_WAKEUP 4
#define FE_RING_GUARD_MS 10

/* A verified handshake waiting for the end of its ring block. Pointers refer
 * to frames in the block, valid until the block goes back to the kernel. */
struct fe_pending {
	struct pkt_tcp ack;
	const uint8_t *eth; /* the ACK's frame, to address a reset */
	struct cookie_tuple tuple;
	struct cookie_opts opts;
	uint32_t next_seq; /* where the next in-order early byte belongs */
	unsigned n_segs;
	struct {
		const uint8_t *data;
		size_t len;
	} segs[FE_SEGS_MAX];
};

/* An adopted connection: its conntab entry and the way back to us. When
 * the relay is done it lingers, so the last packets of its close are known
 * as such rather than counted as forged ACKs, and so that a copy of its
 * handshake ACK (with the request it carried), replayed while the cookie
 * is still valid, is recognised rather than adopted again. */
struct fe_conn {
	struct conntab_entry entry;
	struct frontend *fe;
	int fd; /* the client socket (the relay owns it) */
	uint32_t rcv_isn;
	uint32_t next_seq;  /* the client's first byte not injected by us */
	uint64_t live_ns;   /* when the socket went live (CLOCK_REALTIME) */
	uint64_t closed_at; /* when the relay finished; 0 while it runs */
	bool linked;        /* in the conntab (not yet replaced by a port reuse) */
	bool superseded;    /* a SYN for its 4-tuple was answered: a reuse is under way */
	TAILQ_ENTRY(fe_conn) linger;
};

struct frontend {
	const struct config *cfg;
	struct verdict_listen listen[CONFIG_MAX_LISTEN];
	struct verdict_ctx vctx; /* what verdict_of() is given for each frame */
	struct stats *stats;
	struct ring *ring;
	struct tx *tx;
	unsigned ifindex; /* cfg->interface's: the scope of its link-local addresses */
	struct cookie_jar *jar;
	struct conntab *conns;
	struct localaddr *local; /* this host's addresses, refreshed every tick */
	struct relay_ctx *relay;
	bool draining; /* SIGTERM: SYNs are no longer answered */
	struct event *ev_ring;
	struct event *ev_guard; /* drains the ring when relay events keep it waiting */
	bool ring_served;       /* since the guard last looked */
	struct event *ev_tick;
	TAILQ_HEAD(, fe_conn) lingering; /* finished connections, oldest first */
	size_t n_lingering;
	uint64_t linger_s;      /* how long: TIME_WAIT, or the life of a cookie if longer */
	int ring_err;           /* the ring's last error, until frames flow again */
	unsigned diagnose_left; /* cookie_diagnose() calls left this second */
	uint32_t ts_ms;         /* our TCP timestamp clock */
	time_t last_warn;
	unsigned n_pending;
	struct fe_pending pending[FE_PENDING_MAX];
	uint8_t early[FE_EARLY_MAX];
};

static uint64_t fe_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t fe_ts_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* At most one warning a second per worker: a flood must not flood the log. */
#define fe_warn(fe, ...)                        \
	do {                                    \
		time_t now_ = time(NULL);       \
		if (now_ != (fe)->last_warn) {  \
			(fe)->last_warn = now_; \
			log_warn(__VA_ARGS__);  \
		}                               \
	} while (0)

/* Answer the segment `seg`, received in Ethernet frame `eth`, with a reset. */
static void fe_send_rst(struct frontend *fe, const uint8_t *eth, const struct pkt_tcp *seg)
{
	uint8_t *slot = tx_slot(fe->tx);
	size_t len = slot ? pkt_build_rst(slot, PKT_BUILD_MAX, seg, SYNACK_TTL) : 0;

	if (len)
		tx_commit(fe->tx, eth, seg->family, len);
}

static void fe_syn(struct frontend *fe, const uint8_t *eth, const struct pkt_tcp *syn,
                   const struct cookie_tuple *t)
{
	struct cookie_opts offered = {
		.mss = synack_offered_mss(syn->opt.has_mss, syn->opt.mss),
		.wscale = synack_offered_wscale(syn->opt.has_wscale, syn->opt.wscale),
		.sack_ok = syn->opt.sack_ok,
	};
	struct pkt_synack sa = {
		/* Ours, bounded by theirs (DESIGN §3). */
		.mss = offered.mss < fe->cfg->mss ? offered.mss : fe->cfg->mss,
		.wscale = SYNACK_WSCALE,
		.window = SYNACK_WINDOW,
		.tsval = fe->ts_ms,
		.ttl = SYNACK_TTL,
	};
	uint8_t *slot;
	size_t len;

	stats_inc(fe->stats, STAT_syn_received);
	if (fe->draining) { /* stopping: no new connections (the client retries elsewhere, or later) */
		stats_inc(fe->stats, STAT_syn_draining);
		return;
	}
	slot = tx_slot(fe->tx);
	if (!slot)
		return; /* counted by tx_flush() as refused */
	sa.isn = cookie_make(fe->jar, t, syn->seq, &offered, fe->vctx.now_s, NULL);
	len = pkt_build_synack(slot, PKT_BUILD_MAX, syn, &sa);
	if (len) {
		tx_commit(fe->tx, eth, syn->family, len);
		stats_inc(fe->stats, STAT_synack_sent);
	}
}

static void fe_conn_unlink(struct frontend *fe, struct fe_conn *c)
{
	if (c->linked)
		conntab_remove(fe->conns, &c->entry);
	c->linked = false;
}

/* Free a connection whose relay is done. */
static void fe_conn_forget(struct frontend *fe, struct fe_conn *c)
{
	fe_conn_unlink(fe, c);
	if (c->closed_at) {
		TAILQ_REMOVE(&fe->lingering, c, linger);
		fe->n_lingering--;
	}
	free(c);
}

/* A new connection takes over the 4-tuple of `c`. A relay still running
 * keeps its struct until done. */
static void fe_conn_replace(struct frontend *fe, struct fe_conn *c)
{
	if (c->closed_at)
		fe_conn_forget(fe, c);
	else
		fe_conn_unlink(fe, c);
}

static void fe_conn_done(void *arg)
{
	struct fe_conn *c = arg;
	struct frontend *fe = c->fe;

	if (!c->linked) {
		free(c);
		return;
	}
	c->closed_at = (uint64_t)time(NULL);
	TAILQ_INSERT_TAIL(&fe->lingering, c, linger);
	/* Bounded: under heavy churn the oldest are forgotten early, and a
	 * copy of their handshake ACK could be adopted again: counted. */
	if (++fe->n_lingering > fe->cfg->max_connections) {
		stats_inc(fe->stats, STAT_linger_evicted);
		fe_conn_forget(fe, TAILQ_FIRST(&fe->lingering));
	}
}

static void fe_linger_expire(struct frontend *fe, uint64_t now)
{
	struct fe_conn *c;

	while ((c = TAILQ_FIRST(&fe->lingering)) && c->closed_at + fe->linger_s <= now)
		fe_conn_forget(fe, c);
}

/* A segment right behind a pending handshake's ACK: keep its bytes if they
 * are the next in order (the rest it leaves to the client to resend). */
static void fe_pending_add_data(struct fe_pending *p, const struct pkt_tcp *seg)
{
	if (seg->payload_len && seg->seq == p->next_seq && p->n_segs < FE_SEGS_MAX) {
		p->segs[p->n_segs].data = seg->payload;
		p->segs[p->n_segs].len = seg->payload_len;
		p->n_segs++;
		p->next_seq += (uint32_t)seg->payload_len;
	}
}

static void fe_adopt_all(struct frontend *fe);

/* What this worker remembers of a 4-tuple, for verdict_of(): a handshake
 * verified in this block first (its early data), then the connection
 * table. */
static void fe_known(void *arg, const struct cookie_tuple *t, struct verdict_known *k)
{
	struct frontend *fe = arg;
	struct conntab_entry *e;
	struct fe_conn *c;

	for (unsigned i = 0; i < fe->n_pending; i++) {
		if (memcmp(&fe->pending[i].tuple, t, sizeof(*t)) == 0) {
			k->state = VERDICT_TUPLE_PENDING;
			k->conn = &fe->pending[i];
			return;
		}
	}
	e = conntab_find(fe->conns, t);
	if (!e)
		return;
	c = (struct fe_conn *)e;
	k->state = c->closed_at || c->superseded ? VERDICT_TUPLE_FINISHED : VERDICT_TUPLE_LIVE;
	k->cookie = c->entry.cookie;
	k->rcv_isn = c->rcv_isn;
	k->next_seq = c->next_seq;
	k->live_ns = c->live_ns;
	k->conn = c;
}

/* A verified handshake: adopted at the end of the ring block, with the
 * bytes that follow it there. It takes over the 4-tuple of a finished
 * connection, if any. */
static void fe_handshake(struct frontend *fe, const uint8_t *eth, const struct verdict_out *v)
{
	struct fe_pending *p;

	stats_inc(fe->stats, STAT_ack_valid);
	if (v->known.state == VERDICT_TUPLE_FINISHED)
		fe_conn_replace(fe, v->known.conn);
	if (fe->n_pending == FE_PENDING_MAX)
		fe_adopt_all(fe);
	p = &fe->pending[fe->n_pending++];
	p->ack = v->seg;
	p->eth = eth;
	p->tuple = v->tuple;
	p->opts = v->opts;
	p->n_segs = 0;
	p->next_seq = v->seg.seq;
	fe_pending_add_data(p, &v->seg); /* the ACK's own payload */
}

/* The early bytes of `p` as one buffer: the ACK's own payload in place, or
 * several segments copied together. */
static const uint8_t *fe_gather(struct frontend *fe, const struct fe_pending *p, size_t *len)
{
	size_t off = 0;

	if (p->n_segs == 1) {
		*len = p->segs[0].len;
		return p->segs[0].data;
	}
	for (unsigned i = 0; i < p->n_segs && off + p->segs[i].len <= sizeof(fe->early); i++) {
		memcpy(fe->early + off, p->segs[i].data, p->segs[i].len);
		off += p->segs[i].len;
	}
	*len = off;
	return fe->early;
}

static void fe_adopt(struct frontend *fe, const struct fe_pending *p)
{
	const struct pkt_tcp *ack = &p->ack;
	struct adopt_req req = {
		.snd_isn = ack->ack - 1,
		.rcv_isn = ack->seq - 1,
		.mss = p->opts.mss,
		.snd_wscale = p->opts.wscale == COOKIE_WSCALE_NONE ? ADOPT_WSCALE_NONE : p->opts.wscale,
		.rcv_wscale = SYNACK_WSCALE,
		.sack_ok = p->opts.sack_ok,
		.ts_ok = ack->opt.has_ts,
		.ts_now = fe_ts_clock(),
		.window = ack->window,
		.rcv_wnd = SYNACK_WINDOW,
		.mark_repair = FW_MARK_REPAIR,
		.mark_live = FW_MARK_LIVE,
	};
	struct fe_conn *c = NULL;
	enum adopt_result res;
	bool tw_killed;
	int fd, err_no;

	if (!relay_reserve(fe->relay)) {
		stats_inc(fe->stats, STAT_conn_limit_rejected);
		fe_warn(fe, "refusing a connection: max_connections = %u are open (all workers)",
		        fe->cfg->max_connections);
		fe_send_rst(fe, p->eth, ack);
		return;
	}
	if (!(c = malloc(sizeof(*c)))) {
		relay_unreserve(fe->relay);
		stats_inc(fe->stats, STAT_adopt_failed);
		fe_warn(fe, "refusing a connection: out of memory");
		fe_send_rst(fe, p->eth, ack);
		return;
	}
	netaddr_make(&req.local, ack->family, ack->daddr, ack->dport, fe->ifindex);
	netaddr_make(&req.peer, ack->family, ack->saddr, ack->sport, fe->ifindex);
	req.data = fe_gather(fe, p, &req.data_len);
	res = adopt_socket(&req, &fd, &tw_killed, &err_no);
	if (res != ADOPT_OK) {
		relay_unreserve(fe->relay);
		stats_inc(fe->stats, STAT_adopt_failed);
		fe_warn(fe, "adoption failed at %s: %s", adopt_result_str(res), strerror(err_no));
		free(c);
		fe_send_rst(fe, p->eth, ack);
		return;
	}
	stats_inc(fe->stats, STAT_adopted);
	if (log_enabled(LOG_DEBUG)) {
		char peer[NETADDR_STRLEN];
		log_debug("adopted %s (fe %p), %zu early bytes in %u segments%s",
		          netaddr_str(&req.peer, peer, sizeof(peer)), (void *)fe, req.data_len, p->n_segs,
		          tw_killed ? ", old socket on the 4-tuple removed" : "");
	}
	if (tw_killed)
		stats_inc(fe->stats, STAT_adopt_tw_killed);
	if (req.data_len) {
		stats_add(fe->stats, STAT_early_data_segments, p->n_segs);
		stats_add(fe->stats, STAT_early_data_bytes, req.data_len);
	}
	c->fe = fe;
	c->entry.key = p->tuple;
	c->entry.cookie = req.snd_isn;
	c->fd = fd;
	c->rcv_isn = req.rcv_isn;
	c->next_seq = req.rcv_isn + 1 + (uint32_t)req.data_len;
	c->live_ns = fe_realtime_ns();
	c->closed_at = 0;
	c->superseded = false;
	c->linked = true;
	conntab_insert(fe->conns, &c->entry);
	if (relay_start(fe->relay, fd, &req.peer, &req.local, fe_conn_done, c) < 0)
		fe_conn_forget(fe, c);
}

static void fe_adopt_all(struct frontend *fe)
{
	for (unsigned i = 0; i < fe->n_pending; i++)
		fe_adopt(fe, &fe->pending[i]);
	fe->n_pending = 0;
}

/* Has our side of `c` become TIME_WAIT (or closed) before the relay noticed?
 * Then the firewall drops what the client sends to that 4-tuple, and a
 * client reusing its port must be answered by us. Only asked on a SYN. */
static bool fe_conn_kernel_closed(const struct fe_conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_CLOSE;
}

/* A segment that reached the kernel before `c` went live was dropped by the
 * firewall, but the ring delivered it only now (a later block): inject it,
 * unless the kernel has meanwhile taken a retransmission itself. */
static void fe_inject_late(struct frontend *fe, struct fe_conn *c, const struct pkt_tcp *seg)
{
	int rc = adopt_inject_late(c->fd, seg->seq, seg->payload, seg->payload_len);

	if (rc < 0) {
		fe_warn(fe, "late early-data injection failed: %s", strerror(errno));
		return;
	}
	if (rc == 1) {
		c->next_seq += (uint32_t)seg->payload_len;
		stats_inc(fe->stats, STAT_early_data_segments);
		stats_inc(fe->stats, STAT_early_data_late);
		stats_add(fe->stats, STAT_early_data_bytes, seg->payload_len);
	}
}

static void fe_frame(void *arg, const struct pkt_frame *f)
{
	struct frontend *fe = arg;
	struct verdict_out out;
	enum verdict v = verdict_of(&fe->vctx, f, &out);
	struct fe_conn *c = out.known.conn;

	stats_inc(fe->stats, STAT_rx_frames);
	switch (v) {
	case VERDICT_NOT_FOR_US:
		stats_inc(fe->stats, STAT_rx_not_ours);
		break;
	case VERDICT_MALFORMED:
		stats_inc(fe->stats, STAT_rx_malformed);
		log_debug("dropped a malformed frame: %s", pkt_result_str(out.parse_err));
		break;
	case VERDICT_MARTIAN:
		stats_inc(fe->stats, STAT_rx_martian);
		break;
	case VERDICT_BAD_CSUM:
		stats_inc(fe->stats, STAT_rx_bad_csum);
		break;
	case VERDICT_UNPROTECTED:
	case VERDICT_KERNEL:
	case VERDICT_LATE:
		stats_inc(fe->stats, STAT_rx_ignored);
		break;
	case VERDICT_DUP_ACK:
		stats_inc(fe->stats, STAT_ack_duplicate);
		break;
	case VERDICT_BAD_COOKIE:
		stats_inc(fe->stats, STAT_ack_bad_cookie);
		break;
	case VERDICT_EXPIRED:
		stats_inc(fe->stats, STAT_ack_expired);
		break;
	case VERDICT_LATE_DATA:
		fe_inject_late(fe, c, &out.seg);
		break;
	case VERDICT_SYN_ON_LIVE:
		if (!fe_conn_kernel_closed(c)) { /* its socket answers: a challenge ACK */
			stats_inc(fe->stats, STAT_rx_ignored);
			break;
		}
		c->superseded = true;
		/* fall through */
	case VERDICT_SYN:
		fe_syn(fe, f->data, &out.seg, &out.tuple);
		break;
	case VERDICT_EARLY_DATA:
		fe_pending_add_data(out.known.conn, &out.seg);
		break;
	case VERDICT_ADOPT:
		fe_handshake(fe, f->data, &out);
		break;
	case VERDICT_COUNT:
		break;
	}
}

static void fe_block_end(void *arg)
{
	struct frontend *fe = arg;
	unsigned refused;

	fe_adopt_all(fe);
	refused = tx_flush(fe->tx);
	if (refused)
		stats_add(fe->stats, STAT_synack_send_failed, refused);
}

static void fe_on_ring(evutil_socket_t fd, short what, void *arg)
{
	struct frontend *fe = arg;

	(void)fd;
	(void)what;
	fe->ring_served = true;
	fe->vctx.now_s = (uint64_t)time(NULL);
	fe->ts_ms = fe_ts_clock();
	if (ring_drain(fe->ring, FE_BLOCKS_PER_WAKEUP, fe_frame, fe_block_end, fe) > 0) {
		if (fe->ring_err) {
			log_info("%s: receiving again", fe->cfg->interface);
			fe->ring_err = 0;
		}
		return;
	}
	/* Woken with nothing to read: an error (the interface went down),
	 * which stays reported, and wakes us at once, until read. */
	int err = ring_take_error(fe->ring);
	if (err && err != fe->ring_err)
		log_warn("%s: %s: no packets until it is back", fe->cfg->interface, strerror(err));
	if (err)
		fe->ring_err = err;
}

static void fe_on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct frontend *fe = arg;

	if (!fe->ring_served)
		fe_on_ring(fd, what, arg);
	fe->ring_served = false;
}

static void fe_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct frontend *fe = arg;

	(void)fd;
	(void)what;
	stats_add(fe->stats, STAT_ring_drops, ring_take_drops(fe->ring));
	fe->diagnose_left = FE_DIAGNOSE_PER_S;
	fe_linger_expire(fe, (uint64_t)time(NULL));
	if (localaddr_refresh(fe->local) < 0)
		fe_warn(fe, "cannot read this host's addresses: %s", strerror(errno));
}

/* A cookie is valid for at most two key periods after it was made, which
 * is before the connection closed. */
static uint64_t fe_linger_s(const struct config *cfg)
{
	return 2 * (uint64_t)cfg->key_period_s > FE_LINGER_S ? 2 * (uint64_t)cfg->key_period_s : FE_LINGER_S;
}

int frontend_reconfigure(struct frontend *fe, const struct runconf *run, char *err, size_t errlen)
{
	const struct config *cfg = runconf_cfg(run);
	struct backend_pool *pool = backend_pool_new(cfg);
	struct cookie_jar *jar = cookie_jar_new(runconf_master(run), cfg->key_period_s);

	if (!pool || !jar) {
		snprintf(err, errlen, "out of memory for the backends or cookie MACs");
		goto fail;
	}
	if (conntab_grow(fe->conns, cfg->max_connections) < 0) {
		snprintf(err, errlen, "out of memory for the connection table");
		goto fail;
	}
	if (ring_set_filter(fe->ring, cfg, err, errlen) < 0)
		goto fail;
	fe->cfg = cfg;
	fe->linger_s = fe_linger_s(cfg);
	fe->vctx.n_listen = verdict_listen_init(cfg, fe->listen);
	cookie_jar_free(fe->jar);
	fe->jar = fe->vctx.jar = jar;
	relay_ctx_reconfigure(fe->relay, cfg, pool, runconf_health(run));
	backend_pool_free(pool); /* the relay holds it */
	return 0;
fail:
	backend_pool_free(pool);
	cookie_jar_free(jar);
	return -1;
}

void frontend_drain(struct frontend *fe)
{
	fe->draining = true;
}

struct frontend *frontend_new(struct event_base *base, const struct runconf *run, uint16_t *fanout,
                              struct connlimit *limit, struct stats *stats, char *err, size_t errlen)
{
	const struct config *cfg = runconf_cfg(run);
	struct frontend *fe = calloc(1, sizeof(*fe));
	struct backend_pool *pool = NULL;
	uint64_t seed;
	struct timeval one_second = { 1, 0 }, guard_every = { 0, FE_RING_GUARD_MS * 1000 };

	if (!fe) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fe->cfg = cfg;
	fe->stats = stats;
	fe->diagnose_left = FE_DIAGNOSE_PER_S;
	fe->linger_s = fe_linger_s(cfg);
	fe->vctx = (struct verdict_ctx){
		.listen = fe->listen,
		.n_listen = verdict_listen_init(cfg, fe->listen),
		.diagnose_left = &fe->diagnose_left,
		.known = fe_known,
		.known_arg = fe,
	};
	TAILQ_INIT(&fe->lingering);
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	if (!(fe->local = localaddr_new()) || localaddr_refresh(fe->local) < 0) {
		snprintf(err, errlen, "cannot read this host's addresses: %s", strerror(errno));
		goto fail;
	}
	if (!(fe->ring = ring_open(cfg, fanout, err, errlen)) ||
	    !(fe->tx = tx_open(cfg->interface, err, errlen)))
		goto fail;
	/* Once: the rings are bound to this index too (main stops when the
	 * interface's changes). Adopted link-local addresses are scoped to it. */
	if ((fe->ifindex = if_nametoindex(cfg->interface)) == 0) {
		snprintf(err, errlen, "interface %s: %s", cfg->interface, strerror(errno));
		goto fail;
	}
	if (!(fe->jar = cookie_jar_new(runconf_master(run), cfg->key_period_s))) {
		snprintf(err, errlen, "cannot set up the cookie MACs (OpenSSL's SipHash and HMAC)");
		goto fail;
	}
	fe->vctx.local = fe->local;
	fe->vctx.jar = fe->jar;
	if (!(fe->conns = conntab_new(cfg->max_connections, seed)) || !(pool = backend_pool_new(cfg)) ||
	    !(fe->relay = relay_ctx_new(base, cfg, pool, runconf_health(run), limit, stats))) {
		snprintf(err, errlen, "out of memory for the connection table, backends or relay");
		goto fail;
	}
	backend_pool_free(pool); /* the relay holds it */
	pool = NULL;
	if (event_base_priority_init(base, FE_PRIO_COUNT) < 0 ||
	    !(fe->ev_ring = event_new(base, ring_fd(fe->ring), EV_READ | EV_PERSIST, fe_on_ring, fe)) ||
	    !(fe->ev_guard = event_new(base, -1, EV_PERSIST, fe_on_guard, fe)) ||
	    !(fe->ev_tick = event_new(base, -1, EV_PERSIST, fe_on_tick, fe)) ||
	    event_priority_set(fe->ev_ring, FE_PRIO_RING) < 0 ||
	    event_priority_set(fe->ev_guard, FE_PRIO_GUARD) < 0 || event_add(fe->ev_ring, NULL) < 0 ||
	    event_add(fe->ev_guard, &guard_every) < 0 || event_add(fe->ev_tick, &one_second) < 0) {
		snprintf(err, errlen, "cannot add the ring and timer events to the loop");
		goto fail;
	}
	return fe;
fail:
	backend_pool_free(pool);
	frontend_free(fe);
	return NULL;
}

void frontend_free(struct frontend *fe)
{
	if (!fe)
		return;
	if (fe->ev_ring)
		event_free(fe->ev_ring);
	if (fe->ev_guard)
		event_free(fe->ev_guard);
	if (fe->ev_tick)
		event_free(fe->ev_tick);
	/* The relay's done callbacks unlink from conns: free it first. */
	relay_ctx_free(fe->relay);
	while (!TAILQ_EMPTY(&fe->lingering))
		fe_conn_forget(fe, TAILQ_FIRST(&fe->lingering));
	conntab_free(fe->conns);
	localaddr_free(fe->local);
	cookie_jar_free(fe->jar);
	tx_close(fe->tx);
	ring_close(fe->ring);
	free(fe);
}

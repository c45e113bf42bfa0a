/* relay: real connections on loopback. Each test makes its own listening
 * sockets on ephemeral ports; the relay's event loop runs on a thread of its
 * own while the test plays client and backend with plain sockets. Every
 * blocking call has a timeout, so a broken relay fails a test, never hangs it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "connlimit.h"
#include "relay.h"

#define IO_TIMEOUT_S 10
#define MIB (1024u * 1024u)

struct fx {
	struct config cfg;
	struct stats stats;
	struct backend_pool *pool;
	struct connlimit limit; /* max_connections, as all workers share it */
	struct health *health;
	struct event_base *base;
	struct relay_ctx *ctx;
	pthread_t loop;
	bool loop_running;
	atomic_int done; /* relay_done_fn calls */
	int fds[32];     /* the test's sockets, closed at teardown */
	size_t n_fds;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool wait_flag(atomic_int *flag, int value, int timeout_ms)
{
	const struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < timeout_ms; i++) {
		if (atomic_load(flag) >= value)
			return true;
		nanosleep(&ms, NULL);
	}
	return atomic_load(flag) >= value;
}

static uint64_t stat_of(struct fx *fx, enum stats_id id)
{
	return atomic_load(&fx->stats.v[id]);
}

/* ---- sockets ---- */

static int fx_own(struct fx *fx, int fd)
{
	assert_true(fd >= 0);
	assert_true(fx->n_fds < sizeof(fx->fds) / sizeof(fx->fds[0]));
	fx->fds[fx->n_fds++] = fd;
	return fd;
}

static void fx_close(struct fx *fx, int fd)
{
	for (size_t i = 0; i < fx->n_fds; i++)
		if (fx->fds[i] == fd)
			fx->fds[i] = -1;
	close(fd);
}

/* Close with an RST. */
static void fx_reset(struct fx *fx, int fd)
{
	struct linger lg = { 1, 0 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	fx_close(fx, fd);
}

static int tcp_socket(struct fx *fx)
{
	const struct timeval tv = { IO_TIMEOUT_S, 0 };
	int fd = fx_own(fx, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/* A socket bound to 127.0.0.1 on an ephemeral port; listening unless
 * backlog < 0. */
static int listen_loopback(struct fx *fx, int backlog, struct config_endpoint *ep)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;
	int fd = tcp_socket(fx);

	memset(ep, 0, sizeof(*ep));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep->len = sizeof(*sin);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, ep->len), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ep->addr, &ep->len), 0);
	return fd;
}

/* A listener's accept queue length is its TCP_INFO tcpi_unacked. */
static void wait_accept_queue(int lfd, unsigned n)
{
	const struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 2000; i++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		assert_int_equal(getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
		if (ti.tcpi_unacked == n)
			return;
		nanosleep(&ms, NULL);
	}
	fail_msg("accept queue never reached %u", n);
}

static void send_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void recv_expect(int fd, const void *want, size_t len)
{
	unsigned char buf[256];

	assert_true(len <= sizeof(buf));
	assert_int_equal(recv(fd, buf, len, MSG_WAITALL), (ssize_t)len);
	assert_memory_equal(buf, want, len);
}

static void expect_eof(int fd)
{
	char c;

	assert_int_equal(recv(fd, &c, 1, 0), 0);
}

static void expect_reset(int fd)
{
	char c;

	assert_int_equal(recv(fd, &c, 1, 0), -1);
	assert_int_equal(errno, ECONNRESET);
}

/* `req` from the client to the backend, then `resp` back. */
static void ping_pong(int c, int b, const char *req, const char *resp)
{
	send_all(c, req, strlen(req));
	recv_expect(b, req, strlen(req));
	send_all(b, resp, strlen(resp));
	recv_expect(c, resp, strlen(resp));
}

/* The client half-closes; the backend sees the FIN and closes; the client
 * sees that FIN. */
static void close_cleanly(struct fx *fx, int c, int b)
{
	shutdown(c, SHUT_WR);
	expect_eof(b);
	fx_close(fx, b);
	expect_eof(c);
}

/* ---- a byte stream that knows where it is: byte i depends on i and seed ---- */

static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static void pattern(unsigned char *buf, uint64_t off, size_t len, uint64_t seed)
{
	while (len > 0) {
		uint64_t w = mix(off / 8 + (seed << 40));
		size_t skip = off % 8, n = 8 - skip < len ? 8 - skip : len;

		memcpy(buf, (unsigned char *)&w + skip, n);
		buf += n;
		off += n;
		len -= n;
	}
}

/* One end of a connection run by a thread: sends pattern bytes [tx_off,
 * tx_len) and then its FIN, while it reads to EOF checking what arrives. */
struct peer {
	int fd;
	uint64_t tx_seed, tx_off, tx_len;
	bool tx_after_eof; /* send only once the other side has finished */
	uint64_t rx_seed, rx_len;
	int64_t rx_bad; /* offset of the first wrong byte, or -1 */
	int err;        /* what ended it early (errno), or 0 */
	pthread_t thread;
};

/* Write the pattern (seeded `seed`, from offset 0) to `fd`, made
 * non-blocking, until it has been blocked for 300 ms: the peer reads nothing,
 * so every buffer on the way is full. Returns the bytes written. */
static uint64_t send_until_blocked(int fd, uint64_t seed)
{
	unsigned char buf[65536];
	uint64_t sent = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		ssize_t n;

		pattern(buf, sent, sizeof(buf), seed);
		n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n > 0) {
			sent += (uint64_t)n;
			assert_true(sent < 200 * MIB);
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		if (poll(&pfd, 1, 300) == 0)
			return sent;
	}
}

static void peer_recv(struct peer *p, bool *eof)
{
	unsigned char buf[65536], want[65536];
	ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

	if (n == 0) {
		*eof = true;
	} else if (n < 0) {
		if (errno != EAGAIN)
			p->err = errno;
	} else {
		pattern(want, p->rx_len, (size_t)n, p->rx_seed);
		for (ssize_t i = 0; p->rx_bad < 0 && i < n; i++)
			if (buf[i] != want[i])
				p->rx_bad = (int64_t)(p->rx_len + (uint64_t)i);
		p->rx_len += (uint64_t)n;
	}
}

static void peer_send(struct peer *p)
{
	unsigned char buf[65536];
	size_t len = p->tx_len - p->tx_off < sizeof(buf) ? p->tx_len - p->tx_off : sizeof(buf);
	ssize_t n;

	pattern(buf, p->tx_off, len, p->tx_seed);
	n = send(p->fd, buf, len, MSG_NOSIGNAL);
	if (n > 0)
		p->tx_off += (uint64_t)n;
	else if (errno != EAGAIN)
		p->err = errno;
}

static void *peer_run(void *arg)
{
	struct peer *p = arg;
	bool rx_eof = false, tx_shut = false;

	p->rx_bad = -1;
	fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	while (p->err == 0 && (!rx_eof || !tx_shut)) {
		bool tx = !tx_shut && (!p->tx_after_eof || rx_eof);
		struct pollfd pfd = { p->fd, (short)((rx_eof ? 0 : POLLIN) | (tx ? POLLOUT : 0)), 0 };

		if (tx && p->tx_off == p->tx_len) {
			shutdown(p->fd, SHUT_WR);
			tx_shut = true;
			continue;
		}
		if (poll(&pfd, 1, IO_TIMEOUT_S * 1000) == 0) {
			p->err = ETIMEDOUT;
			break;
		}
		if (!rx_eof && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			peer_recv(p, &rx_eof);
		if (p->err == 0 && tx && (pfd.revents & (POLLOUT | POLLERR)))
			peer_send(p);
	}
	return NULL;
}

static void peer_start(struct peer *p)
{
	assert_int_equal(pthread_create(&p->thread, NULL, peer_run, p), 0);
}

static void peer_join(struct peer *p)
{
	assert_int_equal(pthread_join(p->thread, NULL), 0);
}

/* ---- the relay under test ---- */

enum backend_kind {
	BACKEND_LISTENING,
	BACKEND_REFUSING, /* port bound, nobody listens: SYNs get an RST */
	BACKEND_SILENT,   /* accept queue full: SYNs are dropped, never answered */
};

/* Adds a backend to the config; returns its listening socket. */
static int fx_backend(struct fx *fx, enum backend_kind kind, enum config_proxy_protocol pp)
{
	struct config_backend *be = &fx->cfg.backends[fx->cfg.n_backends++];
	int lfd;

	be->weight = 1;
	be->proxy_protocol = pp;
	switch (kind) {
	case BACKEND_REFUSING:
		return listen_loopback(fx, -1, &be->ep);
	case BACKEND_SILENT:
		/* Backlog 1 queues two connections nobody accepts; with the queue
		 * full the kernel drops further SYNs whatever tcp_syncookies says. */
		lfd = listen_loopback(fx, 1, &be->ep);
		for (unsigned i = 1; i <= 2; i++) {
			assert_int_equal(connect(tcp_socket(fx), (struct sockaddr *)&be->ep.addr, be->ep.len),
			                 0);
			wait_accept_queue(lfd, i);
		}
		return lfd;
	case BACKEND_LISTENING:
		break;
	}
	return listen_loopback(fx, 16, &be->ep);
}

static int fx_accept(struct fx *fx, int lfd)
{
	return fx_own(fx, accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
}

static void *loop_run(void *arg)
{
	struct fx *fx = arg;

	event_base_loop(fx->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void fx_start(struct fx *fx)
{
	fx->pool = backend_pool_new(&fx->cfg);
	fx->base = event_base_new();
	assert_non_null(fx->pool);
	assert_non_null(fx->base);
	/* Checks off: no probe connects to the test's backends. */
	fx->cfg.health.enabled = false;
	fx->health = health_new(fx->base, &fx->cfg, NULL, 0);
	assert_non_null(fx->health);
	fx->ctx = relay_ctx_new(fx->base, &fx->cfg, fx->pool, fx->health, &fx->limit, &fx->stats);
	assert_non_null(fx->ctx);
	assert_int_equal(pthread_create(&fx->loop, NULL, loop_run, fx), 0);
	fx->loop_running = true;
}

static void fx_stop_loop(struct fx *fx)
{
	if (!fx->loop_running)
		return;
	event_base_loopbreak(fx->base);
	pthread_join(fx->loop, NULL);
	fx->loop_running = false;
}

/* Runs fn on the loop's thread, where the relay lives, and waits for it. */
struct loop_call {
	void (*fn)(struct fx *fx, void *arg);
	struct fx *fx;
	void *arg;
	atomic_int done;
};

static void loop_call_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_call *lc = arg;

	(void)fd;
	(void)what;
	lc->fn(lc->fx, lc->arg);
	atomic_store(&lc->done, 1);
}

static void run_in_loop(struct fx *fx, void (*fn)(struct fx *, void *), void *arg)
{
	const struct timeval now = { 0, 0 };
	struct loop_call lc = { fn, fx, arg, 0 };

	assert_int_equal(event_base_once(fx->base, -1, EV_TIMEOUT, loop_call_cb, &lc, &now), 0);
	assert_true(wait_flag(&lc.done, 1, IO_TIMEOUT_S * 1000));
}

static void on_done(void *arg)
{
	struct fx *fx = arg;

	atomic_fetch_add(&fx->done, 1);
}

#define RELAY_NO_SLOT (-2) /* fx_client's: relay_reserve() refused */

struct start_call {
	int fd;
	struct sockaddr_storage client, local;
	int rc;
};

static void start_in_loop(struct fx *fx, void *arg)
{
	struct start_call *sc = arg;

	/* As the front end and acceptor do: a slot of max_connections first. */
	if (!relay_reserve(fx->ctx)) {
		close(sc->fd);
		sc->rc = RELAY_NO_SLOT;
		return;
	}
	sc->rc = relay_start(fx->ctx, sc->fd, &sc->client, &sc->local, on_done, fx);
}

/* A loopback connection whose accepted end goes to relay_start, as the front
 * end hands over an adopted socket. Returns the test's (client's) end. */
static int fx_client(struct fx *fx, int expect_rc)
{
	struct config_endpoint ep;
	int lfd = listen_loopback(fx, 1, &ep);
	int c = tcp_socket(fx);
	struct start_call sc;
	socklen_t len = sizeof(sc.client);

	assert_int_equal(connect(c, (struct sockaddr *)&ep.addr, ep.len), 0);
	sc.fd = accept4(lfd, (struct sockaddr *)&sc.client, &len, SOCK_CLOEXEC);
	assert_true(sc.fd >= 0);
	len = sizeof(sc.local);
	assert_int_equal(getsockname(sc.fd, (struct sockaddr *)&sc.local, &len), 0);
	run_in_loop(fx, start_in_loop, &sc);
	assert_int_equal(sc.rc, expect_rc);
	return c;
}

static void active_in_loop(struct fx *fx, void *arg)
{
	*(size_t *)arg = relay_active(fx->ctx);
}

static size_t fx_active(struct fx *fx)
{
	size_t n;

	run_in_loop(fx, active_in_loop, &n);
	return n;
}

/* The connection is over: its done callback ran once and nothing is open. */
static void expect_ended(struct fx *fx)
{
	assert_true(wait_flag(&fx->done, 1, IO_TIMEOUT_S * 1000));
	assert_int_equal(atomic_load(&fx->done), 1);
	assert_int_equal(fx_active(fx), 0);
	assert_int_equal(stat_of(fx, STAT_conn_active), 0);
	assert_int_equal(connlimit_open(&fx->limit), 0); /* its slot is back */
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->cfg.connect_timeout_ms = 2000;
	fx->cfg.relay_buffer_kb = 256;
	fx->cfg.max_connections = 16;
	connlimit_init(&fx->limit, fx->cfg.max_connections);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fx_stop_loop(fx);
	relay_ctx_free(fx->ctx);
	backend_pool_free(fx->pool);
	health_unref(fx->health);
	if (fx->base != NULL)
		event_base_free(fx->base);
	for (size_t i = 0; i < fx->n_fds; i++)
		if (fx->fds[i] >= 0)
			close(fx->fds[i]);
	free(fx);
	return 0;
}

/* A backend listening (no PROXY header), the loop running and one client
 * relayed to it: returns the backend's end, the client's in *client, and the
 * listener in *lfd unless NULL (for more connections). */
static int fx_connect(struct fx *fx, int *client, int *lfd)
{
	int l = fx_backend(fx, BACKEND_LISTENING, CONFIG_PROXY_OFF);

	fx_start(fx);
	*client = fx_client(fx, 0);
	if (lfd != NULL)
		*lfd = l;
	return fx_accept(fx, l);
}

/* An established echo through the relay; returns the backend's end. */
static int fx_established(struct fx *fx, int *client)
{
	int b = fx_connect(fx, client, NULL);

	send_all(*client, "hi", 2);
	recv_expect(b, "hi", 2);
	return b;
}

/* Both peers' threads, started together and joined. */
static void peers_run(struct peer *a, struct peer *b)
{
	peer_start(a);
	peer_start(b);
	peer_join(a);
	peer_join(b);
}

/* Backend `idx`'s sample of a health.h series, as /metrics shows it. */
static unsigned long long health_value(struct fx *fx, const char *series, size_t idx)
{
	static char text[8192];
	char want[128], ep[64];
	const char *at;

	health_format_metrics(fx->health, text, sizeof(text));
	snprintf(want, sizeof(want), "\n%s{backend=\"%s\"} ", series,
	         config_endpoint_str(&fx->cfg.backends[idx].ep, ep, sizeof(ep)));
	at = strstr(text, want);
	assert_non_null(at);
	return strtoull(at + strlen(want), NULL, 10);
}

/* ---- tests ---- */

static void test_echo(void **state)
{
	struct fx *fx = *state;
	int c, b = fx_connect(fx, &c, NULL);

	ping_pong(c, b, "ping", "pong!");
	assert_int_equal(fx_active(fx), 1);
	assert_int_equal(stat_of(fx, STAT_conn_active), 1);
	assert_int_equal(health_value(fx, "synguard_backend_connections", 0), 1);
	close_cleanly(fx, c, b);
	expect_ended(fx);
	assert_int_equal(health_value(fx, "synguard_backend_connections", 0), 0);
	assert_int_equal(stat_of(fx, STAT_backend_connect_ok), 1);
	assert_int_equal(stat_of(fx, STAT_bytes_client_to_backend), 4);
	assert_int_equal(stat_of(fx, STAT_bytes_backend_to_client), 5);
	assert_int_equal(stat_of(fx, STAT_conn_closed), 1);
	assert_int_equal(stat_of(fx, STAT_conn_reset), 0);
}

static void expect_peer(const struct peer *p, uint64_t rx_len)
{
	assert_int_equal(p->err, 0);
	assert_int_equal(p->tx_off, p->tx_len);
	assert_int_equal(p->rx_len, rx_len);
	assert_int_equal(p->rx_bad, -1);
}

static void test_bulk_both_ways(void **state)
{
	const uint64_t size = 64 * MIB;
	struct fx *fx = *state;
	struct peer client = { .tx_seed = 1, .tx_len = size, .rx_seed = 2 };
	struct peer backend = { .tx_seed = 2, .tx_len = size, .rx_seed = 1 };
	double t0, dt;

	backend.fd = fx_connect(fx, &client.fd, NULL);
	t0 = now_s();
	peers_run(&client, &backend);
	dt = now_s() - t0;
	expect_peer(&client, size);
	expect_peer(&backend, size);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_bytes_client_to_backend), size);
	assert_int_equal(stat_of(fx, STAT_bytes_backend_to_client), size);
	assert_int_equal(stat_of(fx, STAT_conn_closed), 1);
	print_message("64 MiB each way at once in %.2f s: %.0f MiB/s each way\n", dt, 64 / dt);
}

static void test_half_close(void **state)
{
	struct fx *fx = *state;
	/* The client sends its request and its FIN, then keeps reading; the
	 * backend answers only after it read that FIN. */
	struct peer client = { .tx_seed = 3, .tx_len = 100000, .rx_seed = 4 };
	struct peer backend = { .tx_seed = 4, .tx_len = 4 * MIB, .tx_after_eof = true, .rx_seed = 3 };

	backend.fd = fx_connect(fx, &client.fd, NULL);
	peers_run(&client, &backend);
	expect_peer(&client, 4 * MIB);
	expect_peer(&backend, 100000);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_conn_closed), 1);
}

static void test_backend_refused(void **state)
{
	struct fx *fx = *state;
	double t0;
	int c;

	fx_backend(fx, BACKEND_REFUSING, CONFIG_PROXY_OFF);
	fx_start(fx);
	t0 = now_s();
	c = fx_client(fx, 0);
	expect_reset(c);
	assert_true(now_s() - t0 < 1.0);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_backend_connect_failed), 1);
	assert_int_equal(stat_of(fx, STAT_backend_unavailable), 1);
	assert_int_equal(stat_of(fx, STAT_backend_connect_ok), 0);
}

static void test_no_backend_configured(void **state)
{
	struct fx *fx = *state;
	int c;

	fx_start(fx);
	c = fx_client(fx, -1);
	expect_reset(c);
	assert_int_equal(atomic_load(&fx->done), 0);
	assert_int_equal(fx_active(fx), 0);
	assert_int_equal(stat_of(fx, STAT_backend_unavailable), 1);
	assert_int_equal(stat_of(fx, STAT_conn_active), 0);
}

static void test_failover(void **state)
{
	struct fx *fx = *state;
	int lfd, c, b;

	fx_backend(fx, BACKEND_REFUSING, CONFIG_PROXY_OFF);
	lfd = fx_backend(fx, BACKEND_LISTENING, CONFIG_PROXY_OFF);
	fx_start(fx);
	c = fx_client(fx, 0);
	b = fx_accept(fx, lfd);
	send_all(c, "hello", 5);
	recv_expect(b, "hello", 5);
	send_all(b, "world", 5);
	recv_expect(c, "world", 5);
	assert_int_equal(stat_of(fx, STAT_backend_connect_failed), 1);
	assert_int_equal(stat_of(fx, STAT_backend_connect_ok), 1);
	assert_int_equal(stat_of(fx, STAT_backend_unavailable), 0);
	/* Per backend: the failed connect is the refusing one's, the
	 * connection the listening one's. */
	assert_int_equal(health_value(fx, "synguard_backend_connect_failures_total", 0), 1);
	assert_int_equal(health_value(fx, "synguard_backend_connect_failures_total", 1), 0);
	assert_int_equal(health_value(fx, "synguard_backend_connections", 0), 0);
	assert_int_equal(health_value(fx, "synguard_backend_connections", 1), 1);
}

static void test_connect_timeout_failover(void **state)
{
	struct fx *fx = *state;
	int lfd, c, b;
	double t0, dt;

	fx->cfg.connect_timeout_ms = 200;
	fx_backend(fx, BACKEND_SILENT, CONFIG_PROXY_OFF);
	lfd = fx_backend(fx, BACKEND_LISTENING, CONFIG_PROXY_OFF);
	fx_start(fx);
	t0 = now_s();
	c = fx_client(fx, 0);
	/* Sent while the relay still connects: it waits in the kernel. */
	send_all(c, "early", 5);
	b = fx_accept(fx, lfd);
	dt = now_s() - t0;
	recv_expect(b, "early", 5);
	assert_true(dt >= 0.19);
	assert_true(dt < 1.5);
	assert_int_equal(stat_of(fx, STAT_backend_connect_failed), 1);
	assert_int_equal(stat_of(fx, STAT_backend_connect_ok), 1);
}

static void test_connect_timeout_reset(void **state)
{
	struct fx *fx = *state;
	double t0, dt;
	int c;

	fx->cfg.connect_timeout_ms = 200;
	fx_backend(fx, BACKEND_SILENT, CONFIG_PROXY_OFF);
	fx_start(fx);
	t0 = now_s();
	c = fx_client(fx, 0);
	expect_reset(c);
	dt = now_s() - t0;
	assert_true(dt >= 0.19);
	assert_true(dt < 1.5);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_backend_unavailable), 1);
}

static void test_backend_reset(void **state)
{
	struct fx *fx = *state;
	int c, b = fx_established(fx, &c);

	fx_reset(fx, b);
	expect_reset(c);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_conn_reset), 1);
	assert_int_equal(stat_of(fx, STAT_conn_closed), 0);
}

static void test_client_reset(void **state)
{
	struct fx *fx = *state;
	int c, b = fx_established(fx, &c);

	fx_reset(fx, c);
	expect_reset(b);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_conn_reset), 1);
}

static void test_backend_closes_first(void **state)
{
	struct fx *fx = *state;
	int c, b = fx_connect(fx, &c, NULL);

	send_all(b, "bye", 3);
	fx_close(fx, b);
	recv_expect(c, "bye", 3);
	expect_eof(c);
	fx_close(fx, c);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_conn_closed), 1);
	assert_int_equal(stat_of(fx, STAT_bytes_backend_to_client), 3);
}

/* A connection kept busy stays; one silent for idle_timeout_s gets a FIN on
 * both sides within a second more (the check runs once a second). */
static void test_idle_timeout(void **state)
{
	struct fx *fx = *state;
	int c, b;
	double t0;

	fx->cfg.idle_timeout_s = 1;
	b = fx_established(fx, &c);
	for (int i = 0; i < 7; i++) {
		poll(NULL, 0, 300);
		ping_pong(c, b, "x", "y");
	}
	assert_int_equal(fx_active(fx), 1);
	t0 = now_s();
	expect_eof(c);
	expect_eof(b);
	print_message("closed after %.2f s of silence\n", now_s() - t0);
	assert_true(now_s() - t0 >= 0.9 && now_s() - t0 < 3.5);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_conn_idle_timeout), 1);
	assert_int_equal(stat_of(fx, STAT_conn_reset), 0);
}

/* Pipes outlive their connection (a pool): one that ends with bytes still in
 * its pipe must not hand them to the next, and a reused pipe carries only its
 * own connection's bytes. */
static void test_pipes_reused_clean(void **state)
{
	struct fx *fx = *state;
	int c, lfd, b = fx_connect(fx, &c, &lfd);

	/* The backend reads nothing and the client writes until blocked, so the
	 * relay's pipe is full when both sides reset. */
	send_until_blocked(c, 9);
	fx_reset(fx, c);
	fx_reset(fx, b);
	assert_true(wait_flag(&fx->done, 1, IO_TIMEOUT_S * 1000));
	assert_int_equal(stat_of(fx, STAT_conn_reset), 1);

	for (int i = 0; i < 3; i++) {
		c = fx_client(fx, 0);
		b = fx_accept(fx, lfd);
		ping_pong(c, b, "fresh", "reply!");
		close_cleanly(fx, c, b);
		fx_close(fx, c);
		assert_true(wait_flag(&fx->done, 2 + i, IO_TIMEOUT_S * 1000));
	}
	assert_int_equal(stat_of(fx, STAT_conn_closed), 3);
	assert_int_equal(fx_active(fx), 0);
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void test_back_pressure(void **state)
{
	const uint64_t more = 16 * MIB;
	struct fx *fx = *state;
	struct peer client = { .rx_seed = 5 };
	struct peer backend = { .tx_seed = 5 };
	uint64_t sent;
	double cpu;

	backend.fd = fx_connect(fx, &client.fd, NULL);
	/* The client reads nothing. */
	sent = send_until_blocked(backend.fd, backend.tx_seed);
	print_message("backend blocked after %.1f MiB\n", (double)sent / MIB);
	assert_true(sent < 64 * MIB);
	/* Stalled, the relay waits; it does not spin on EAGAIN. */
	cpu = cpu_s();
	poll(NULL, 0, 200);
	assert_true(cpu_s() - cpu < 0.05);

	/* The client reads again: everything arrives, in order. */
	backend.tx_off = sent;
	backend.tx_len = sent + more;
	peers_run(&client, &backend);
	expect_peer(&client, sent + more);
	expect_peer(&backend, 0);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_bytes_backend_to_client), sent + more);
}

static void check_proxy_header(struct fx *fx, enum config_proxy_protocol version)
{
	static const unsigned char sig[12] = "\r\n\r\n\0\r\nQUIT\n";
	int lfd = fx_backend(fx, BACKEND_LISTENING, version);
	unsigned char want[128 + 32768], got[sizeof(want)];
	size_t hlen, plen = 32768;
	struct sockaddr_in cs, ls;
	socklen_t len = sizeof(cs);
	int c, b;

	fx_start(fx);
	c = fx_client(fx, 0);
	assert_int_equal(getsockname(c, (struct sockaddr *)&cs, &len), 0);
	assert_int_equal(getpeername(c, (struct sockaddr *)&ls, &len), 0);
	if (version == CONFIG_PROXY_V1) {
		hlen = (size_t)snprintf((char *)want, sizeof(want),
		                        "PROXY TCP4 127.0.0.1 127.0.0.1 %u %u\r\n", ntohs(cs.sin_port),
		                        ntohs(ls.sin_port));
	} else {
		memcpy(want, sig, sizeof(sig));
		memcpy(want + 12, "\x21\x11\x00\x0c", 4);
		memcpy(want + 16, &cs.sin_addr, 4);
		memcpy(want + 20, &ls.sin_addr, 4);
		memcpy(want + 24, &cs.sin_port, 2);
		memcpy(want + 26, &ls.sin_port, 2);
		hlen = 28;
	}
	pattern(want + hlen, 0, plen, 6);
	send_all(c, want + hlen, plen);
	b = fx_accept(fx, lfd);
	assert_int_equal(recv(b, got, hlen + plen, MSG_WAITALL), (ssize_t)(hlen + plen));
	assert_memory_equal(got, want, hlen + plen);
	/* Nothing of it goes back to the client. */
	send_all(b, "ok", 2);
	recv_expect(c, "ok", 2);
	assert_int_equal(stat_of(fx, STAT_bytes_client_to_backend), plen);
}

/* Urgent data (one byte sent with MSG_OOB) stops splice() at the urgent mark
 * while the socket stays readable. Each such byte must reach the other side
 * in its place in the stream, in both directions, without the loop spinning
 * on it; and wakeups that move nothing must not count as activity, so the
 * connection still closes when it then goes silent. */
static void test_urgent_byte(void **state)
{
	struct fx *fx = *state;
	int c, b;
	double cpu, t0;

	fx->cfg.idle_timeout_s = 2;
	b = fx_established(fx, &c);
	assert_int_equal(send(c, "A", 1, MSG_OOB | MSG_NOSIGNAL), 1);
	send_all(c, "B", 1);
	recv_expect(b, "AB", 2);
	assert_int_equal(send(b, "U", 1, MSG_OOB | MSG_NOSIGNAL), 1);
	send_all(b, "V", 1);
	recv_expect(c, "UV", 2);
	/* An urgent byte nobody follows: the loop must go idle, not spin. */
	assert_int_equal(send(c, "C", 1, MSG_OOB | MSG_NOSIGNAL), 1);
	recv_expect(b, "C", 1);
	cpu = cpu_s();
	poll(NULL, 0, 1000);
	cpu = cpu_s() - cpu;
	print_message("CPU over 1 s after urgent bytes: %.3f s\n", cpu);
	assert_true(cpu < 0.3);
	ping_pong(c, b, "more", "reply");
	t0 = now_s();
	expect_eof(c);
	expect_eof(b);
	assert_true(now_s() - t0 < 4.5);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_conn_idle_timeout), 1);
	assert_int_equal(stat_of(fx, STAT_bytes_client_to_backend), 2 + 3 + 4);
}

static void test_proxy_v1(void **state)
{
	check_proxy_header(*state, CONFIG_PROXY_V1);
}

static void test_proxy_v2(void **state)
{
	check_proxy_header(*state, CONFIG_PROXY_V2);
}

/* The backend takes the connection and closes it before reading the header:
 * the client sees its end (EOF or reset), and the relay cleans up. */
static void test_proxy_backend_closes_at_once(void **state)
{
	struct fx *fx = *state;
	int lfd = fx_backend(fx, BACKEND_LISTENING, CONFIG_PROXY_V1);
	int c, b;
	ssize_t n;
	char ch;

	fx_start(fx);
	c = fx_client(fx, 0);
	b = fx_accept(fx, lfd);
	fx_close(fx, b);
	n = recv(c, &ch, 1, 0);
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	fx_close(fx, c);
	expect_ended(fx);
	assert_int_equal(stat_of(fx, STAT_conn_closed) + stat_of(fx, STAT_conn_reset), 1);
}

static void test_ctx_free_resets(void **state)
{
	struct fx *fx = *state;
	int c, b = fx_established(fx, &c);

	fx_stop_loop(fx);
	relay_ctx_free(fx->ctx);
	fx->ctx = NULL;
	expect_reset(c);
	expect_reset(b);
	assert_int_equal(atomic_load(&fx->done), 1);
	assert_int_equal(stat_of(fx, STAT_conn_reset), 1);
	assert_int_equal(stat_of(fx, STAT_conn_active), 0);
	assert_int_equal(connlimit_open(&fx->limit), 0);
}

/* max_connections counts every worker's connections together: a second
 * worker's relay finds no slot while the first holds the only one, and
 * finds it again once that connection ended. */
struct second_worker {
	struct relay_ctx *ctx;
	bool reserved;
};

static void reserve_in_loop(struct fx *fx, void *arg)
{
	struct second_worker *w = arg;

	(void)fx;
	w->reserved = relay_reserve(w->ctx);
	if (w->reserved)
		relay_unreserve(w->ctx);
}

static void test_limit_all_workers(void **state)
{
	struct fx *fx = *state;
	struct second_worker w;
	int c, b;

	connlimit_init(&fx->limit, 1);
	b = fx_connect(fx, &c, NULL);
	w.ctx = relay_ctx_new(fx->base, &fx->cfg, fx->pool, fx->health, &fx->limit, &fx->stats);
	assert_non_null(w.ctx);
	run_in_loop(fx, reserve_in_loop, &w);
	assert_false(w.reserved);
	fx_client(fx, RELAY_NO_SLOT); /* nor the first worker's own */
	close_cleanly(fx, c, b);
	expect_ended(fx);
	run_in_loop(fx, reserve_in_loop, &w);
	assert_true(w.reserved);
	fx_stop_loop(fx);
	relay_ctx_free(w.ctx);
}

/* A reload: new connections go to the new backends; one already relayed
 * keeps its backend and its bytes. */
struct reconf_call {
	struct config cfg;
	struct backend_pool *pool;
	struct health *health;
};

static void reconfigure_in_loop(struct fx *fx, void *arg)
{
	struct reconf_call *r = arg;

	relay_ctx_reconfigure(fx->ctx, &r->cfg, r->pool, r->health);
}

static void test_reconfigure(void **state)
{
	struct fx *fx = *state;
	struct reconf_call r;
	int c1, b1, c2, b2, lfd2;

	b1 = fx_established(fx, &c1);
	r.cfg = fx->cfg;
	r.cfg.n_backends = 0;
	lfd2 = fx_backend(fx, BACKEND_LISTENING, CONFIG_PROXY_OFF); /* appended to fx->cfg ... */
	r.cfg.backends[r.cfg.n_backends++] =
	        fx->cfg.backends[fx->cfg.n_backends - 1]; /* ... and alone in r */
	r.pool = backend_pool_new(&r.cfg);
	r.health = health_new(fx->base, &r.cfg, NULL, 0);
	assert_non_null(r.pool);
	assert_non_null(r.health);
	run_in_loop(fx, reconfigure_in_loop, &r);
	backend_pool_free(r.pool); /* the relay holds them */
	health_unref(r.health);
	c2 = fx_client(fx, 0);
	b2 = fx_accept(fx, lfd2);
	ping_pong(c2, b2, "new", "backend");
	ping_pong(c1, b1, "old", "still here");
	assert_int_equal(fx_active(fx), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_backend_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_closes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipes_reused_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_urgent_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_backend_closes_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_free_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_all_workers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfigure, setup, teardown),
	};

	/* splice() into a socket raises SIGPIPE; the daemon ignores it too. */
	signal(SIGPIPE, SIG_IGN);
	/* The test thread calls into the loop's base (event_base_once, loopbreak). */
	evthread_use_pthreads();
	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}

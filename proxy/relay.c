#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "connlimit.h"
#include "log.h"
#include "proxyproto.h"

/* A callback moves at most this many rounds (splice in, splice out) before
 * going back to the loop, so one busy connection can't starve the others
 * (nor the packet ring, which shares the loop): at most this many pipefuls
 * per direction per loop iteration. */
#define RELAY_MOVE_ROUNDS 4

/* What one recv() takes when splice() cannot move past the urgent mark. */
#define RELAY_URGENT_BUF 4096

#define RELAY_SPLICE_FLAGS (SPLICE_F_NONBLOCK | SPLICE_F_MOVE)

/* Empty pipes kept for the next connections: making one and sizing it is
 * three syscalls, closing it two more, at every connection. Enough for a
 * burst of short connections; an idle worker holds at most this many. */
#define RELAY_PIPE_POOL 64

enum relay_side { RELAY_CLIENT, RELAY_BACKEND };

static const char *const relay_side_name[] = { "client", "backend" };

enum relay_dir_state {
	RELAY_DIR_OPEN,  /* reading the source */
	RELAY_DIR_DRAIN, /* the source sent its FIN; emptying the pipe */
	RELAY_DIR_DONE,  /* FIN passed on: the destination is shut for writing */
};

/* How a connection ended; each is counted by its own counter. */
enum relay_end {
	RELAY_END_CLOSED,
	RELAY_END_RESET,
	RELAY_END_UNAVAILABLE,
	RELAY_END_IDLE,
};

static const enum stats_id relay_end_stat[] = {
	[RELAY_END_CLOSED] = STAT_conn_closed,
	[RELAY_END_RESET] = STAT_conn_reset,
	[RELAY_END_UNAVAILABLE] = STAT_backend_unavailable,
	[RELAY_END_IDLE] = STAT_conn_idle_timeout,
};

/* One direction: what `src` sends goes through the pipe to `dst`. */
struct relay_dir {
	struct relay_conn *conn;
	int src, dst;
	int pipe[2];    /* [0] read end, [1] write end */
	size_t cap;     /* the pipe's size in bytes */
	int asked;      /* the pipe_size it was made for */
	size_t pending; /* bytes in the pipe */
	enum relay_dir_state state;
	enum stats_id stat; /* bytes taken from src */
	struct event rd_ev; /* src readable */
	struct event wr_ev; /* dst writable */
};

struct relay_conn {
	LIST_ENTRY(relay_conn) entry;
	struct relay_ctx *ctx;
	int fd[2];                             /* by enum relay_side; -1 when closed */
	struct relay_dir dir[2];               /* dir[s] carries what fd[s] sends */
	struct backend_pool *pool;             /* the backends when it started (held) */
	struct health *health;                 /* and their checks (a reference) */
	long backend;                          /* the pool's index of the backend in use */
	uint64_t tried;                        /* backends tried so far, for backend_pick */
	struct event connect_ev;               /* backend connect completed or timed out */
	struct sockaddr_storage client, local; /* for the PROXY header */
	bool relaying;                         /* connected to the backend, bytes flowing */
	uint64_t last_tick;                    /* ctx->ticks when either side last moved */
	relay_done_fn done;                    /* NULL until relay_start succeeded */
	void *done_arg;
};

struct relay_ctx {
	struct event_base *base;
	struct backend_pool *pool; /* for new connections (held) */
	struct health *health;     /* for new connections (a reference) */
	struct connlimit *limit;
	struct stats *stats;
	struct timeval connect_timeout;
	uint64_t idle_s;       /* 0: no idle timeout */
	uint64_t ticks;        /* seconds counted by the sweep: the idle clock */
	struct event sweep_ev; /* once a second: close idle connections */
	int pipe_size;         /* bytes asked for each pipe */
	struct relay_pipe {
		int fd[2];
		size_t cap;
	} pipes[RELAY_PIPE_POOL]; /* empty pipes, the first n_pipes in use */
	size_t n_pipes;
	LIST_HEAD(, relay_conn) conns;
	size_t active;
};

static uint64_t relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Best effort: the relay works without these options, only less well. */
static void relay_sockopt(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		log_debug("relay: setsockopt(%d, %d): %s", level, name, strerror(errno));
}

/* Close so that the peer gets an RST rather than a FIN. */
static void relay_reset_fd(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		log_debug("relay: SO_LINGER: %s", strerror(errno));
	close(fd);
}

static void relay_event_del(struct event *ev)
{
	if (event_initialized(ev))
		event_del(ev);
}

/* Give a direction's pipe back: to the pool if it is empty (bytes left in it
 * would reach the next connection), else closed. */
static void relay_pipe_put(struct relay_ctx *ctx, struct relay_dir *d)
{
	if (d->pipe[0] < 0)
		return;
	/* Of the size asked now only: a reload may have changed it. */
	if (d->pending == 0 && d->asked == ctx->pipe_size && ctx->n_pipes < RELAY_PIPE_POOL) {
		struct relay_pipe *p = &ctx->pipes[ctx->n_pipes++];

		p->fd[0] = d->pipe[0];
		p->fd[1] = d->pipe[1];
		p->cap = d->cap;
	} else {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	d->pipe[0] = d->pipe[1] = -1;
}

/* The one release path: every connection ends here, exactly once. */
static void relay_end(struct relay_conn *c, enum relay_end how)
{
	struct relay_ctx *ctx = c->ctx;
	relay_done_fn done = c->done;
	void *done_arg = c->done_arg;

	relay_event_del(&c->connect_ev);
	for (int s = 0; s < 2; s++) {
		struct relay_dir *d = &c->dir[s];

		relay_event_del(&d->rd_ev);
		relay_event_del(&d->wr_ev);
		relay_pipe_put(ctx, d);
		if (c->fd[s] < 0)
			continue;
		if (how == RELAY_END_CLOSED || how == RELAY_END_IDLE)
			close(c->fd[s]);
		else
			relay_reset_fd(c->fd[s]);
	}
	if (c->relaying)
		health_conn_closed(c->health, (size_t)c->backend);
	LIST_REMOVE(c, entry);
	ctx->active--;
	connlimit_give(ctx->limit);
	stats_dec(ctx->stats, STAT_conn_active);
	stats_inc(ctx->stats, relay_end_stat[how]);
	backend_pool_free(c->pool);
	health_unref(c->health);
	free(c);
	if (done != NULL)
		done(done_arg);
}

static int relay_event_set(struct event *ev, bool on)
{
	if (on == (event_pending(ev, EV_READ | EV_WRITE, NULL) != 0))
		return 0;
	return on ? event_add(ev, NULL) : event_del(ev);
}

/* Wait for the source only while the pipe is empty, and for the destination
 * only while it is not. So an EAGAIN from splice always means the socket we
 * wait for (never a full pipe, which splice reports the same way), and a
 * destination that stops taking bytes stops the reading: back-pressure, with
 * no more memory than the pipe. */
static int relay_dir_arm(struct relay_dir *d)
{
	if (relay_event_set(&d->rd_ev, d->state == RELAY_DIR_OPEN && d->pending == 0) < 0 ||
	    relay_event_set(&d->wr_ev, d->pending > 0) < 0)
		return -1;
	return 0;
}

/* splice() stops at TCP's urgent mark (tcp_read_sock) and returns EAGAIN
 * while the socket stays readable, so a peer that sends one byte with
 * MSG_OOB would have the loop spin on it for ever. The sockets are
 * SO_OOBINLINE, so an ordinary recv() reads the urgent byte in its place in
 * the stream, which moves the mark out of the way; the bytes go into the
 * pipe (empty when this runs) like spliced ones. Returns what recv()
 * returns. */
static ssize_t relay_dir_recv(struct relay_dir *d)
{
	unsigned char buf[RELAY_URGENT_BUF];
	size_t room = d->cap - d->pending < sizeof(buf) ? d->cap - d->pending : sizeof(buf);
	ssize_t n = recv(d->src, buf, room, MSG_DONTWAIT);

	if (n <= 0)
		return n;
	if (write(d->pipe[1], buf, (size_t)n) != n) { /* the pipe had the room */
		errno = EIO;
		return -1;
	}
	return n;
}

/* Splice in while the pipe has room and the source has bytes; splice out
 * while the pipe has bytes and the destination has room. `readable`: the
 * loop said the source is readable, so a splice that moves nothing may be
 * stuck at an urgent mark. Sets *moved if any byte moved. Returns 0, or the
 * errno of a failed socket. */
static int relay_dir_move(struct relay_dir *d, bool readable, bool *moved)
{
	struct stats *stats = d->conn->ctx->stats;

	for (int round = 0; round < RELAY_MOVE_ROUNDS; round++) {
		bool progress = false;
		ssize_t n;

		if (d->state == RELAY_DIR_OPEN && d->pending < d->cap) {
			n = splice(d->src, NULL, d->pipe[1], NULL, d->cap - d->pending, RELAY_SPLICE_FLAGS);
			if (n < 0 && errno == EAGAIN && readable && round == 0)
				n = relay_dir_recv(d);
			if (n > 0) {
				d->pending += (size_t)n;
				stats_add(stats, d->stat, (uint64_t)n);
				progress = true;
			} else if (n == 0) {
				d->state = RELAY_DIR_DRAIN;
			} else if (errno != EAGAIN) {
				return errno;
			}
		}
		if (d->pending > 0) {
			n = splice(d->pipe[0], NULL, d->dst, NULL, d->pending, RELAY_SPLICE_FLAGS);
			if (n > 0) {
				d->pending -= (size_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN) {
				return errno;
			}
		}
		if (!progress)
			break;
		*moved = true;
	}
	return 0;
}

/* Both events of a direction: its source readable, its destination writable. */
static void relay_dir_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_dir *d = arg;
	struct relay_conn *c = d->conn;
	bool moved = false;
	int err;

	(void)fd;
	err = relay_dir_move(d, (what & EV_READ) != 0, &moved);
	/* Only bytes count as activity: a wakeup that moves none (a spurious
	 * one, a peer playing with urgent data) must not hold off the idle
	 * timeout. */
	if (moved)
		c->last_tick = c->ctx->ticks;
	if (err == 0 && d->state == RELAY_DIR_DRAIN && d->pending == 0) {
		/* Pass the FIN on; the other direction keeps flowing. */
		if (shutdown(d->dst, SHUT_WR) < 0)
			err = errno;
		d->state = RELAY_DIR_DONE;
	}
	if (err != 0) {
		int s = (int)(d - c->dir);

		log_debug("relay: %s to %s: %s", relay_side_name[s], relay_side_name[!s], strerror(err));
		relay_end(c, RELAY_END_RESET);
		return;
	}
	if (c->dir[RELAY_CLIENT].state == RELAY_DIR_DONE && c->dir[RELAY_BACKEND].state == RELAY_DIR_DONE) {
		relay_end(c, RELAY_END_CLOSED);
		return;
	}
	if (relay_dir_arm(d) < 0)
		relay_end(c, RELAY_END_RESET);
}

/* Connected: queue the PROXY header, then relay both ways. */
static void relay_open(struct relay_conn *c)
{
	struct relay_ctx *ctx = c->ctx;
	const struct config_backend *be = backend_get(c->pool, (size_t)c->backend);
	struct relay_dir *up = &c->dir[RELAY_CLIENT];
	char name[64];

	stats_inc(ctx->stats, STAT_backend_connect_ok);
	if (backend_report(c->pool, (size_t)c->backend, true, relay_now_ms()))
		log_info("relay: backend %s is up again", config_endpoint_str(&be->ep, name, sizeof(name)));
	if (be->proxy_protocol != CONFIG_PROXY_OFF) {
		unsigned char hdr[PROXYPROTO_MAX];
		size_t len = proxyproto_build(be->proxy_protocol, &c->client, &c->local, hdr, sizeof(hdr));

		/* Ahead of the client's bytes in their pipe, the header goes out
		 * by the same splice, short writes included. The pipe is empty
		 * and the header below PIPE_BUF, so this write is whole. */
		if (len == 0 || write(up->pipe[1], hdr, len) != (ssize_t)len) {
			log_warn("relay: no PROXY header for backend %s",
			         config_endpoint_str(&be->ep, name, sizeof(name)));
			relay_end(c, RELAY_END_RESET);
			return;
		}
		up->pending = len;
	}
	for (int s = 0; s < 2; s++) {
		struct relay_dir *d = &c->dir[s];

		d->src = c->fd[s];
		d->dst = c->fd[!s];
		event_assign(&d->rd_ev, ctx->base, d->src, EV_READ | EV_PERSIST, relay_dir_cb, d);
		event_assign(&d->wr_ev, ctx->base, d->dst, EV_WRITE | EV_PERSIST, relay_dir_cb, d);
	}
	c->relaying = true;
	health_conn_opened(c->health, (size_t)c->backend);
	c->last_tick = ctx->ticks;
	if (relay_dir_arm(&c->dir[RELAY_CLIENT]) < 0 || relay_dir_arm(&c->dir[RELAY_BACKEND]) < 0)
		relay_end(c, RELAY_END_RESET);
}

static void relay_connect_failed(struct relay_conn *c, int err)
{
	struct relay_ctx *ctx = c->ctx;
	const struct config_backend *be = backend_get(c->pool, (size_t)c->backend);
	char name[64];

	close(c->fd[RELAY_BACKEND]);
	c->fd[RELAY_BACKEND] = -1;
	stats_inc(ctx->stats, STAT_backend_connect_failed);
	health_connect_failed(c->health, (size_t)c->backend);
	config_endpoint_str(&be->ep, name, sizeof(name));
	if (backend_report(c->pool, (size_t)c->backend, false, relay_now_ms()))
		log_warn("relay: backend %s: %s; holding it down for %d ms", name, strerror(err),
		         BACKEND_HOLD_DOWN_MS);
	else
		log_debug("relay: backend %s: %s", name, strerror(err));
}

static int relay_connect_next(struct relay_conn *c);

static void relay_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_conn *c = arg;
	int err = ETIMEDOUT;
	socklen_t len = sizeof(err);

	if ((what & EV_WRITE) && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		relay_open(c);
		return;
	}
	relay_connect_failed(c, err);
	relay_connect_next(c);
}

/* Start a connect to the next backend the pool offers. Returns 0 once one is
 * under way; -1 when none is left or no socket could be made, having ended
 * the connection. The outcome always arrives through the loop, never from
 * this call, so relay_start never sees the connection end under it. */
static int relay_connect_next(struct relay_conn *c)
{
	struct relay_ctx *ctx = c->ctx;

	for (;;) {
		const struct config_backend *be;
		int fd;

		c->backend = backend_pick(c->pool, relay_now_ms(), &c->tried, health_up_mask(c->health));
		if (c->backend < 0) {
			log_debug("relay: no backend left for a client");
			relay_end(c, RELAY_END_UNAVAILABLE);
			return -1;
		}
		be = backend_get(c->pool, (size_t)c->backend);
		fd = socket(be->ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			log_warn("relay: socket: %s", strerror(errno));
			relay_end(c, RELAY_END_RESET);
			return -1;
		}
		c->fd[RELAY_BACKEND] = fd;
		relay_sockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
		relay_sockopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
		relay_sockopt(fd, SOL_SOCKET, SO_OOBINLINE, 1); /* see relay_dir_recv */
		if (connect(fd, (const struct sockaddr *)&be->ep.addr, be->ep.len) == 0 ||
		    errno == EINPROGRESS) {
			/* Success and refusal both show as writable; silence as the timeout. */
			event_assign(&c->connect_ev, ctx->base, fd, EV_WRITE, relay_connect_cb, c);
			if (event_add(&c->connect_ev, &ctx->connect_timeout) == 0)
				return 0;
			relay_end(c, RELAY_END_RESET);
			return -1;
		}
		relay_connect_failed(c, errno);
	}
}

/* A pipe for a direction: from the pool, or a new one. */
static int relay_pipe_get(struct relay_ctx *ctx, struct relay_dir *d)
{
	int size = ctx->pipe_size, sz;

	d->asked = size;
	if (ctx->n_pipes > 0) {
		const struct relay_pipe *p = &ctx->pipes[--ctx->n_pipes];

		d->pipe[0] = p->fd[0];
		d->pipe[1] = p->fd[1];
		d->cap = p->cap;
		return 0;
	}
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	/* Best effort: above fs.pipe-max-size, or past the user's pipe quota,
	 * the kernel refuses and the default size stays. */
	if (fcntl(d->pipe[1], F_SETPIPE_SZ, size) < 0)
		log_debug("relay: F_SETPIPE_SZ %d: %s", size, strerror(errno));
	sz = fcntl(d->pipe[1], F_GETPIPE_SZ);
	if (sz <= 0) {
		close(d->pipe[0]);
		close(d->pipe[1]);
		d->pipe[0] = d->pipe[1] = -1;
		return -1;
	}
	d->cap = (size_t)sz;
	return 0;
}

int relay_start(struct relay_ctx *ctx, int client_fd, const struct sockaddr_storage *client,
                const struct sockaddr_storage *local, relay_done_fn done, void *arg)
{
	struct relay_conn *c;
	int flags;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_warn("relay: out of memory");
		relay_reset_fd(client_fd);
		connlimit_give(ctx->limit);
		stats_inc(ctx->stats, STAT_conn_reset);
		return -1;
	}
	c->ctx = ctx;
	c->pool = backend_pool_hold(ctx->pool);
	c->health = ctx->health;
	health_ref(c->health);
	c->fd[RELAY_CLIENT] = client_fd;
	c->fd[RELAY_BACKEND] = -1;
	c->client = *client;
	c->local = *local;
	for (int s = 0; s < 2; s++) {
		c->dir[s].conn = c;
		c->dir[s].pipe[0] = c->dir[s].pipe[1] = -1;
	}
	c->dir[RELAY_CLIENT].stat = STAT_bytes_client_to_backend;
	c->dir[RELAY_BACKEND].stat = STAT_bytes_backend_to_client;
	LIST_INSERT_HEAD(&ctx->conns, c, entry);
	ctx->active++;
	stats_inc(ctx->stats, STAT_conn_active);

	flags = fcntl(client_fd, F_GETFL);
	if (flags < 0 || fcntl(client_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    relay_pipe_get(ctx, &c->dir[RELAY_CLIENT]) < 0 ||
	    relay_pipe_get(ctx, &c->dir[RELAY_BACKEND]) < 0) {
		log_warn("relay: cannot set up a connection: %s", strerror(errno));
		relay_end(c, RELAY_END_RESET);
		return -1;
	}
	relay_sockopt(client_fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	relay_sockopt(client_fd, SOL_SOCKET, SO_OOBINLINE, 1); /* see relay_dir_recv */
	if (relay_connect_next(c) < 0)
		return -1;
	c->done = done;
	c->done_arg = arg;
	return 0;
}

bool relay_reserve(struct relay_ctx *ctx)
{
	return connlimit_take(ctx->limit);
}

void relay_unreserve(struct relay_ctx *ctx)
{
	connlimit_give(ctx->limit);
}

size_t relay_active(const struct relay_ctx *ctx)
{
	return ctx->active;
}

/* A FIN to both sides of every connection silent for idle_s: a client that
 * completed a handshake must not hold its slot (max_connections) for ever.
 * Activity is stamped with this sweep's tick count, so the relay reads no
 * clock per event; a connection last active during tick T is closed at tick
 * T + idle_s + 1, i.e. after idle_s to idle_s + 1 seconds of silence. */
static void relay_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_ctx *ctx = arg;
	struct relay_conn *c, *next;

	(void)fd;
	(void)what;
	ctx->ticks++;
	for (c = LIST_FIRST(&ctx->conns); ctx->idle_s > 0 && c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->relaying && ctx->ticks - c->last_tick > ctx->idle_s) {
			log_debug("relay: closing a connection idle for %llu s or more",
			          (unsigned long long)ctx->idle_s);
			relay_end(c, RELAY_END_IDLE);
		}
	}
}

/* The empty pipes kept for new connections, closed. */
static void relay_pipes_close(struct relay_ctx *ctx)
{
	while (ctx->n_pipes > 0) {
		const struct relay_pipe *p = &ctx->pipes[--ctx->n_pipes];

		close(p->fd[0]);
		close(p->fd[1]);
	}
}

void relay_ctx_reconfigure(struct relay_ctx *ctx, const struct config *cfg, struct backend_pool *pool,
                           struct health *health)
{
	struct backend_pool *old = ctx->pool;
	struct health *old_health = ctx->health;
	int old_size = ctx->pipe_size;

	/* Taken before the old ones go: they may be the same. */
	ctx->pool = backend_pool_hold(pool);
	backend_pool_free(old);
	health_ref(health);
	ctx->health = health;
	health_unref(old_health); /* NULL the first time */
	ctx->connect_timeout.tv_sec = cfg->connect_timeout_ms / 1000;
	ctx->connect_timeout.tv_usec = (cfg->connect_timeout_ms % 1000) * 1000;
	/* config bounds relay_buffer_kb to 16 MiB, well inside an int. */
	ctx->pipe_size = (int)cfg->relay_buffer_kb * 1024;
	ctx->idle_s = cfg->idle_timeout_s;
	if (ctx->pipe_size != old_size) /* new connections get the new size */
		relay_pipes_close(ctx);
}

struct relay_ctx *relay_ctx_new(struct event_base *base, const struct config *cfg, struct backend_pool *pool,
                                struct health *health, struct connlimit *limit, struct stats *stats)
{
	static const struct timeval sweep_every = { 1, 0 };
	struct relay_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->base = base;
	ctx->limit = limit;
	ctx->stats = stats;
	relay_ctx_reconfigure(ctx, cfg, pool, health);
	LIST_INIT(&ctx->conns);
	/* Always: a reload may set idle_timeout_s. */
	event_assign(&ctx->sweep_ev, base, -1, EV_PERSIST, relay_sweep_cb, ctx);
	if (event_add(&ctx->sweep_ev, &sweep_every) < 0) {
		backend_pool_free(ctx->pool);
		health_unref(ctx->health);
		free(ctx);
		return NULL;
	}
	return ctx;
}

void relay_ctx_free(struct relay_ctx *ctx)
{
	struct relay_conn *c;

	if (ctx == NULL)
		return;
	relay_event_del(&ctx->sweep_ev);
	while ((c = LIST_FIRST(&ctx->conns)) != NULL)
		relay_end(c, RELAY_END_RESET);
	relay_pipes_close(ctx);
	backend_pool_free(ctx->pool);
	health_unref(ctx->health);
	free(ctx);
}

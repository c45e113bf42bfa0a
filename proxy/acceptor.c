#include "acceptor.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "relay.h"

/* Connections queued by the kernel wait here while the workers are busy;
 * the kernel caps it at net.core.somaxconn. */
#define ACCEPTOR_BACKLOG 4096
/* Accepted per wakeup: bounded, so relayed connections get their turn. */
#define ACCEPTOR_BATCH 64

struct acceptor_listener {
	struct acceptor *a;
	int fd; /* -1: none */
	struct event *ev;
};

struct acceptor {
	const struct config *cfg; /* l[i] listens on cfg->listen[i] */
	struct event_base *base;
	struct stats *stats;
	struct relay_ctx *relay;
	time_t last_warn;
	size_t n;
	struct acceptor_listener l[CONFIG_MAX_LISTEN];
};

/* A reset, not a FIN: the client learns at once that it was refused. */
static void acceptor_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void acceptor_take(struct acceptor *a, int fd, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (!relay_reserve(a->relay)) {
		stats_inc(a->stats, STAT_conn_limit_rejected);
		if (time(NULL) != a->last_warn) {
			a->last_warn = time(NULL);
			log_warn("refusing a connection: max_connections = %u are open (all workers)",
			         a->cfg->max_connections);
		}
		acceptor_reset(fd);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
		relay_unreserve(a->relay);
		acceptor_reset(fd);
		return;
	}
	stats_inc(a->stats, STAT_accepted);
	relay_start(a->relay, fd, peer, &local, NULL, NULL);
}

static void acceptor_on_listen(evutil_socket_t fd, short what, void *arg)
{
	struct acceptor_listener *l = arg;

	(void)what;
	for (int i = 0; i < ACCEPTOR_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int c = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c < 0) {
			/* EAGAIN: drained. ECONNABORTED and the like: that
			 * connection is gone, the next may be fine. Out of
			 * descriptors: relay_start would fail too; wait. */
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED &&
			    errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		acceptor_take(l->a, c, &peer);
	}
}

int acceptor_listen_fd(const struct config_endpoint *ep, char *err, size_t errlen)
{
	int one = 1, family = ep->addr.ss_family;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	char a[64];

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 || listen(fd, ACCEPTOR_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", config_endpoint_str(ep, a, sizeof(a)),
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void acceptor_close(struct acceptor_listener *l)
{
	if (l->ev)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	l->ev = NULL;
	l->fd = -1;
}

/* l takes `fd` (closed by acceptor_close whatever happens; -1: none) and
 * serves it. */
static int acceptor_serve(struct acceptor *a, struct acceptor_listener *l, int fd)
{
	l->a = a;
	l->fd = fd;
	l->ev = NULL;
	if (fd < 0)
		return -1;
	l->ev = event_new(a->base, fd, EV_READ | EV_PERSIST, acceptor_on_listen, l);
	return l->ev && event_add(l->ev, NULL) == 0 ? 0 : -1;
}

int acceptor_reconfigure(struct acceptor *a, const struct runconf *run, char *err, size_t errlen)
{
	const struct config *cfg = runconf_cfg(run);
	struct acceptor_listener old[CONFIG_MAX_LISTEN];
	struct backend_pool *pool = backend_pool_new(cfg);
	size_t n_old = a->n;

	if (!pool) {
		snprintf(err, errlen, "out of memory for the backends");
		return -1;
	}
	memcpy(old, a->l, sizeof(old));
	for (a->n = 0; a->n < cfg->n_listen; a->n++) {
		size_t j = config_listen_index(a->cfg, &cfg->listen[a->n]);
		int fd;

		if (j < n_old) { /* kept: the same socket, and the connections queued on it */
			if (old[j].ev)
				event_free(old[j].ev);
			fd = old[j].fd;
			old[j].ev = NULL;
			old[j].fd = -1;
		} else {
			fd = acceptor_listen_fd(&cfg->listen[a->n], err, errlen);
		}
		if (fd < 0 || acceptor_serve(a, &a->l[a->n], fd) < 0)
			log_error("a worker does not serve %s: the others take its clients",
			          fd < 0 ? err : "an endpoint (out of memory)");
	}
	for (size_t j = 0; j < n_old; j++) /* endpoints removed: their queued clients are reset */
		acceptor_close(&old[j]);
	a->cfg = cfg;
	relay_ctx_reconfigure(a->relay, cfg, pool, runconf_health(run));
	backend_pool_free(pool); /* the relay holds it */
	return 0;
}

struct acceptor *acceptor_new(struct event_base *base, const struct runconf *run, struct connlimit *limit,
                              struct stats *stats, char *err, size_t errlen)
{
	const struct config *cfg = runconf_cfg(run);
	struct acceptor *a = calloc(1, sizeof(*a));
	struct backend_pool *pool = backend_pool_new(cfg);

	if (!a || !pool) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	a->cfg = cfg;
	a->base = base;
	a->stats = stats;
	if (!(a->relay = relay_ctx_new(base, cfg, pool, runconf_health(run), limit, stats))) {
		snprintf(err, errlen, "out of memory for the relay");
		goto fail;
	}
	for (; a->n < cfg->n_listen; a->n++) {
		int fd = acceptor_listen_fd(&cfg->listen[a->n], err, errlen);

		if (fd < 0)
			goto fail;
		if (acceptor_serve(a, &a->l[a->n], fd) < 0) {
			a->n++; /* released with the others */
			snprintf(err, errlen, "cannot add a listening socket to the loop");
			goto fail;
		}
	}
	backend_pool_free(pool); /* the relay holds it */
	return a;
fail:
	backend_pool_free(pool);
	acceptor_free(a);
	return NULL;
}

void acceptor_free(struct acceptor *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		acceptor_close(&a->l[i]);
	relay_ctx_free(a->relay);
	free(a);
}

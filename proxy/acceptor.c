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
	int fd;
	struct event *ev;
};

struct acceptor {
	const struct config *cfg;
	struct stats *stats;
	struct backend_pool *pool;
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

	if (relay_active(a->relay) >= a->cfg->max_connections) {
		stats_inc(a->stats, STAT_conn_limit_rejected);
		if (time(NULL) != a->last_warn) {
			a->last_warn = time(NULL);
			log_warn("refusing a connection: %zu open (max_connections)", relay_active(a->relay));
		}
		acceptor_reset(fd);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
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

static int acceptor_listen(struct acceptor_listener *l, const struct config_endpoint *ep, char *err,
                           size_t errlen)
{
	int one = 1, family = ep->addr.ss_family;
	char a[64];

	l->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (family == AF_INET6 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(l->fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 ||
	    listen(l->fd, ACCEPTOR_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", config_endpoint_str(ep, a, sizeof(a)),
		         strerror(errno));
		return -1;
	}
	return 0;
}

struct acceptor *acceptor_new(struct event_base *base, const struct config *cfg, struct health *health,
                              struct stats *stats, char *err, size_t errlen)
{
	struct acceptor *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	a->stats = stats;
	if (!(a->pool = backend_pool_new(cfg)) ||
	    !(a->relay = relay_ctx_new(base, cfg, a->pool, health, stats))) {
		snprintf(err, errlen, "out of memory for the backends or relay");
		goto fail;
	}
	for (; a->n < cfg->n_listen; a->n++) {
		struct acceptor_listener *l = &a->l[a->n];

		l->a = a;
		if (acceptor_listen(l, &cfg->listen[a->n], err, errlen) < 0)
			goto fail_one;
		l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST, acceptor_on_listen, l);
		if (!l->ev || event_add(l->ev, NULL) < 0) {
			snprintf(err, errlen, "cannot add a listening socket to the loop");
			goto fail_one;
		}
	}
	return a;
fail_one:
	a->n++; /* its descriptor and event, if any, are released with the others */
fail:
	acceptor_free(a);
	return NULL;
}

void acceptor_free(struct acceptor *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		if (a->l[i].ev)
			event_free(a->l[i].ev);
		if (a->l[i].fd >= 0)
			close(a->l[i].fd);
	}
	relay_ctx_free(a->relay);
	backend_pool_free(a->pool);
	free(a);
}

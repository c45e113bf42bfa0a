/* A small HTTP/1.x responder on bufferevents rather than evhttp: libevent
 * 2.1's evhttp bounds header and body sizes, but has no connection cap
 * (evhttp_set_max_connections is 2.2) and only an inactivity timeout, which a
 * client trickling a byte every few seconds renews forever. Neither can be
 * added around it: an accepted fd cannot be handed to evhttp (its
 * evhttp_get_request is internal), and no public hook sees a connection end.
 * Serving two fixed paths with Connection: close needs only a request head
 * parser (admin_parse_request) and one timer per connection.
 */
#include "admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

enum admin_conn_state {
	ADMIN_CONN_READING,   /* the request head */
	ADMIN_CONN_WRITING,   /* the response */
	ADMIN_CONN_LINGERING, /* sent and half-closed: until the client closes */
};

struct admin_conn {
	struct admin *a;
	struct bufferevent *bev;
	struct event *deadline;
	enum admin_conn_state state;
	bool peer_closed; /* EOF seen while writing */
	size_t discarded; /* bytes read after the request was answered */
	TAILQ_ENTRY(admin_conn) link;
};

struct admin {
	struct event_base *base;
	struct evconnlistener *listener;
	struct stats *const *all;
	size_t n;
	struct timeval deadline;
	TAILQ_HEAD(, admin_conn) conns;
	unsigned n_conns;
	uint64_t refused; /* connections closed at accept: ADMIN_MAX_CONNS open */
	struct admin_source src;
	bool has_src;
	const char *datapath, *mode; /* for synguard_build_info */
	void (*refresh)(void *ctx);
	void *refresh_ctx;
};

/* snprintf at buf + *off, advancing *off; false once the text is cut. */
static bool admin_append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static bool admin_append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *off) {
		*off = cap - 1;
		return false;
	}
	*off += (size_t)n;
	return true;
}

size_t admin_format_metrics(const uint64_t values[STAT_COUNT], const char *datapath, const char *mode,
                            const struct admin_source *src, char *buf, size_t cap)
{
	size_t off = 0;
	bool whole = true;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	/* Prometheus conventions: counters end in _total, gauges do not. */
	for (size_t i = 0; i < STAT_COUNT && whole; i++) {
		enum stats_id id = (enum stats_id)i;
		const char *suffix = stats_is_gauge(id) ? "" : "_total";

		whole = admin_append(buf, cap, &off,
		                     "# HELP synguard_%s%s %s\n# TYPE synguard_%s%s %s\nsynguard_%s%s %llu\n",
		                     stats_name(id), suffix, stats_help(id), stats_name(id), suffix,
		                     stats_is_gauge(id) ? "gauge" : "counter", stats_name(id), suffix,
		                     (unsigned long long)values[i]);
	}
	if (whole)
		whole = admin_append(
		        buf, cap, &off,
		        "# HELP synguard_build_info the version, data path and mode running; always 1\n"
		        "# TYPE synguard_build_info gauge\n"
		        "synguard_build_info{version=\"%s\",datapath=\"%s\",mode=\"%s\"} 1\n",
		        SYNGUARD_VERSION, datapath, mode);
	if (whole && src && src->metrics && off + 1 < cap) {
		size_t n = src->metrics(src->ctx, buf + off, cap - off);
		off += n < cap - off ? n : cap - off - 1;
		buf[off] = '\0';
	}
	/* A line cut short would make the whole text unparseable. */
	while (off > 0 && buf[off - 1] != '\n')
		off--;
	buf[off] = '\0';
	return off;
}

/* ---- the request head, pure ---- */

static bool admin_eq(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && strncasecmp(s, lit, len) == 0;
}

/* "METHOD SP target SP HTTP/1.x": the route it asks for, or why not. */
static enum admin_request admin_request_line(const char *s, size_t len, bool *head_only)
{
	const char *sp1 = memchr(s, ' ', len), *sp2 = memrchr(s, ' ', len), *end = s + len;

	if (!sp1 || sp2 == sp1 || sp1[1] != '/')
		return ADMIN_REQ_BAD;
	if (end - sp2 != 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' || sp2[8] > '9')
		return ADMIN_REQ_BAD;
	for (const char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return ADMIN_REQ_BAD;
	/* Methods are case-sensitive. */
	*head_only = sp1 - s == 4 && memcmp(s, "HEAD", 4) == 0;
	if (!*head_only && !(sp1 - s == 3 && memcmp(s, "GET", 3) == 0))
		return ADMIN_REQ_METHOD;

	const char *q = memchr(sp1, '?', (size_t)(sp2 - sp1));
	size_t plen = (size_t)((q ? q : sp2) - (sp1 + 1));
	if (plen == 8 && memcmp(sp1 + 1, "/metrics", 8) == 0)
		return ADMIN_REQ_METRICS;
	if (plen == 7 && memcmp(sp1 + 1, "/health", 7) == 0)
		return ADMIN_REQ_HEALTH;
	return ADMIN_REQ_NOT_FOUND;
}

/* "name: value": the verdict this header forces, or ADMIN_REQ_INCOMPLETE
 * for none. */
static enum admin_request admin_header(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len), *v, *end = s + len;
	size_t nlen = colon ? (size_t)(colon - s) : 0;

	/* No name, whitespace before the colon, or an obsolete folded line. */
	if (nlen == 0 || memchr(s, ' ', nlen) || memchr(s, '\t', nlen))
		return ADMIN_REQ_BAD;
	if (admin_eq(s, nlen, "transfer-encoding"))
		return ADMIN_REQ_BODY;
	if (!admin_eq(s, nlen, "content-length"))
		return ADMIN_REQ_INCOMPLETE;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (v == end)
		return ADMIN_REQ_BAD;
	bool body = false;
	for (; v < end; v++) {
		if (*v < '0' || *v > '9')
			return ADMIN_REQ_BAD;
		body |= *v != '0';
	}
	return body ? ADMIN_REQ_BODY : ADMIN_REQ_INCOMPLETE;
}

enum admin_request admin_parse_request(const char *buf, size_t len, bool *head_only)
{
	enum admin_request route = ADMIN_REQ_INCOMPLETE;
	const char *p = buf, *nl;

	*head_only = false;
	/* The whole head must end within the bound, whatever follows it. */
	if (len > ADMIN_HEAD_MAX)
		len = ADMIN_HEAD_MAX;
	while ((nl = memchr(p, '\n', len - (size_t)(p - buf)))) {
		size_t n = (size_t)(nl - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (route == ADMIN_REQ_INCOMPLETE) {
			route = admin_request_line(p, n, head_only);
			if (route == ADMIN_REQ_BAD || route == ADMIN_REQ_METHOD)
				return route;
		} else if (n == 0) {
			return route;
		} else {
			enum admin_request r = admin_header(p, n);
			if (r != ADMIN_REQ_INCOMPLETE)
				return r;
		}
		p = nl + 1;
	}
	return len == ADMIN_HEAD_MAX ? ADMIN_REQ_TOO_LARGE : ADMIN_REQ_INCOMPLETE;
}

/* ---- connections ---- */

static const struct {
	int code;
	const char *reason, *body;
} admin_status[] = {
	[ADMIN_REQ_METRICS] = { 200, "OK", NULL },
	[ADMIN_REQ_HEALTH] = { 200, "OK", "ok\n" },
	[ADMIN_REQ_NOT_FOUND] = { 404, "Not Found", "not found\n" },
	[ADMIN_REQ_BAD] = { 400, "Bad Request", "bad request\n" },
	[ADMIN_REQ_METHOD] = { 405, "Method Not Allowed", "only GET and HEAD\n" },
	[ADMIN_REQ_BODY] = { 413, "Content Too Large", "requests take no body\n" },
	[ADMIN_REQ_TOO_LARGE] = { 431, "Request Header Fields Too Large", "request head too large\n" },
};

static void admin_conn_free(struct admin_conn *c)
{
	TAILQ_REMOVE(&c->a->conns, c, link);
	c->a->n_conns--;
	if (c->deadline)
		event_free(c->deadline);
	bufferevent_free(c->bev); /* closes the socket */
	free(c);
}

/* What the source says of /health; true without one. */
static bool admin_healthy(struct admin *a, char *why, size_t whylen)
{
	why[0] = '\0';
	return !a->has_src || !a->src.healthy || a->src.healthy(a->src.ctx, why, whylen);
}

/* Queues the response to `r`. -1 if out of memory. */
static int admin_respond(struct admin_conn *c, enum admin_request r, bool head_only)
{
	struct admin *a = c->a;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char body[ADMIN_METRICS_MAX];
	int code = admin_status[r].code;
	const char *reason = admin_status[r].reason;
	size_t len;

	if (r == ADMIN_REQ_METRICS) {
		uint64_t v[STAT_COUNT];

		if (a->refresh)
			a->refresh(a->refresh_ctx);
		stats_sum(v, a->all, a->n);
		len = admin_format_metrics(v, a->datapath, a->mode, a->has_src ? &a->src : NULL, body,
		                           sizeof(body));
	} else if (r == ADMIN_REQ_HEALTH && !admin_healthy(a, body, sizeof(body) - 1)) {
		code = 503;
		reason = "Service Unavailable";
		len = strnlen(body, sizeof(body) - 2);
		body[len++] = '\n';
	} else {
		len = strlen(admin_status[r].body);
		memcpy(body, admin_status[r].body, len);
	}
	if (evbuffer_add_printf(out,
	                        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	                        "Connection: close\r\n\r\n",
	                        code, reason,
	                        r == ADMIN_REQ_METRICS ? "text/plain; version=0.0.4" : "text/plain", len,
	                        r == ADMIN_REQ_METHOD ? "Allow: GET, HEAD\r\n" : "") < 0)
		return -1;
	/* HEAD: the headers GET would have, no body. */
	return head_only ? 0 : evbuffer_add(out, body, len);
}

static void admin_on_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	bool head_only;

	if (c->state != ADMIN_CONN_READING) {
		/* Answered: what else comes is dropped, and beyond a bound
		 * ends the connection. */
		c->discarded += len;
		evbuffer_drain(in, len);
		if (c->discarded > ADMIN_HEAD_MAX)
			admin_conn_free(c);
		return;
	}
	/* The read high-watermark keeps len <= ADMIN_HEAD_MAX. */
	const char *head = (const char *)evbuffer_pullup(in, -1);
	if (!head) {
		admin_conn_free(c);
		return;
	}
	enum admin_request r = admin_parse_request(head, len, &head_only);
	if (r == ADMIN_REQ_INCOMPLETE)
		return;
	evbuffer_drain(in, len);
	c->state = ADMIN_CONN_WRITING;
	if (admin_status[r].code != 200)
		log_debug("admin: request refused with %d", admin_status[r].code);
	if (admin_respond(c, r, head_only) < 0)
		admin_conn_free(c);
}

static void admin_on_written(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;

	if (c->state != ADMIN_CONN_WRITING)
		return;
	if (c->peer_closed) {
		admin_conn_free(c);
		return;
	}
	/* Half-close and wait for the client's close: closing with its bytes
	 * unread would send a reset, which can destroy the response before it
	 * is read. */
	c->state = ADMIN_CONN_LINGERING;
	shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void admin_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_conn *c = arg;

	(void)bev;
	/* A client that half-closes after its request still gets the response. */
	if ((what & BEV_EVENT_EOF) && c->state == ADMIN_CONN_WRITING) {
		c->peer_closed = true;
		return;
	}
	admin_conn_free(c);
}

static void admin_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *c = arg;

	(void)fd;
	(void)what;
	log_debug("admin: connection closed at its deadline");
	admin_conn_free(c);
}

static void admin_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                            void *arg)
{
	struct admin *a = arg;

	(void)l;
	(void)sa;
	(void)salen;
	if (a->n_conns >= ADMIN_MAX_CONNS) {
		close(fd);
		a->refused++;
		log_debug("admin: %u connections open, one more refused (%" PRIu64 " so far)", a->n_conns,
		          a->refused);
		return;
	}
	struct admin_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = c ? bufferevent_socket_new(a->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (!bev) {
		log_warn("admin: out of memory for a connection");
		free(c);
		close(fd);
		return;
	}
	c->a = a;
	c->bev = bev;
	TAILQ_INSERT_TAIL(&a->conns, c, link);
	a->n_conns++;
	/* Never read more than a request head can be. */
	bufferevent_setwatermark(bev, EV_READ, 0, ADMIN_HEAD_MAX);
	bufferevent_setcb(bev, admin_on_read, admin_on_written, admin_on_event, c);
	c->deadline = evtimer_new(a->base, admin_on_deadline, c);
	if (!c->deadline || evtimer_add(c->deadline, &a->deadline) < 0 ||
	    bufferevent_enable(bev, EV_READ) < 0) {
		log_warn("admin: cannot set up a connection");
		admin_conn_free(c);
	}
}

struct admin *admin_new(struct event_base *base, const struct config_endpoint *ep, struct stats *const *all,
                        size_t n, unsigned deadline_ms, char *err, size_t errlen)
{
	struct admin *a = calloc(1, sizeof(*a));
	int rcvbuf = ADMIN_HEAD_MAX;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->base = base;
	a->all = all;
	a->datapath = a->mode = "unknown";
	a->n = n;
	a->deadline.tv_sec = deadline_ms / 1000;
	a->deadline.tv_usec = (suseconds_t)(deadline_ms % 1000) * 1000;
	TAILQ_INIT(&a->conns);
	a->listener = evconnlistener_new_bind(
	        base, admin_on_accept, a, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	        16, (const struct sockaddr *)&ep->addr, (int)ep->len);
	/* Accepted sockets inherit it: the kernel too holds little per client. */
	if (!a->listener || setsockopt(evconnlistener_get_fd(a->listener), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	                               sizeof(rcvbuf)) < 0) {
		char text[64];
		snprintf(err, errlen, "cannot listen on %s: %s", config_endpoint_str(ep, text, sizeof(text)),
		         strerror(errno));
		admin_free(a);
		return NULL;
	}
	return a;
}

void admin_set_source(struct admin *a, const struct admin_source *src)
{
	a->has_src = src != NULL;
	if (src)
		a->src = *src;
}

void admin_set_refresh(struct admin *a, void (*refresh)(void *ctx), void *ctx)
{
	a->refresh = refresh;
	a->refresh_ctx = ctx;
}

void admin_set_build_info(struct admin *a, const char *datapath, const char *mode)
{
	a->datapath = datapath;
	a->mode = mode;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	if (a->listener)
		evconnlistener_free(a->listener);
	while (!TAILQ_EMPTY(&a->conns))
		admin_conn_free(TAILQ_FIRST(&a->conns));
	free(a);
}

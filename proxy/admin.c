#include "admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct admin {
	struct evhttp *http;
	struct stats *const *all;
	size_t n;
};

size_t admin_format_metrics(const uint64_t values[STAT_COUNT], char *buf, size_t cap)
{
	size_t off = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < STAT_COUNT && off < cap; i++) {
		enum stats_id id = (enum stats_id)i;
		int n = snprintf(buf + off, cap - off,
				 "# HELP synguard_%s %s\n# TYPE synguard_%s %s\nsynguard_%s %llu\n",
				 stats_name(id), stats_help(id), stats_name(id),
				 stats_is_gauge(id) ? "gauge" : "counter", stats_name(id),
				 (unsigned long long)values[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return off < cap ? off : cap - 1;
}

static void admin_reply(struct evhttp_request *req, int code, const char *type, const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	if (!out) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, code == HTTP_OK ? "OK" : "Not Found", out);
	evbuffer_free(out);
}

static void admin_on_request(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	char body[16384];
	uint64_t v[STAT_COUNT];

	/* HEAD too: some health checkers use it (evhttp sends no body then). */
	if (!(evhttp_request_get_command(req) & (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)) || !path) {
		admin_reply(req, HTTP_NOTFOUND, "text/plain", "not found\n", 10);
	} else if (strcmp(path, "/metrics") == 0) {
		stats_sum(v, a->all, a->n);
		size_t len = admin_format_metrics(v, body, sizeof(body));
		admin_reply(req, HTTP_OK, "text/plain; version=0.0.4", body, len);
	} else if (strcmp(path, "/health") == 0) {
		admin_reply(req, HTTP_OK, "text/plain", "ok\n", 3);
	} else {
		admin_reply(req, HTTP_NOTFOUND, "text/plain", "not found\n", 10);
	}
}

struct admin *admin_new(struct event_base *base, const struct config_endpoint *ep,
			struct stats *const *all, size_t n, char *err, size_t errlen)
{
	struct admin *a = calloc(1, sizeof(*a));
	struct evconnlistener *l;

	if (!a || !(a->http = evhttp_new(base))) {
		snprintf(err, errlen, "out of memory");
		free(a);
		return NULL;
	}
	a->all = all;
	a->n = n;
	l = evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
				    16, (const struct sockaddr *)&ep->addr, (int)ep->len);
	if (!l || !evhttp_bind_listener(a->http, l)) {
		char text[64];
		snprintf(err, errlen, "cannot listen on %s: %s",
			 config_endpoint_str(ep, text, sizeof(text)), strerror(errno));
		if (l)
			evconnlistener_free(l);
		admin_free(a);
		return NULL;
	}
	evhttp_set_gencb(a->http, admin_on_request, a);
	return a;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	evhttp_free(a->http);
	free(a);
}

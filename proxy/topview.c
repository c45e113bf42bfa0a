#include "topview.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPVIEW_LINE_MAX 512 /* longer sample lines are skipped: none of ours is */

static const char *const topview_names[TOPVIEW_N] = {
	[TOPVIEW_SYN] = "synguard_syn_received_total",
	[TOPVIEW_SYNACK] = "synguard_synack_sent_total",
	[TOPVIEW_ACK_VALID] = "synguard_ack_valid_total",
	[TOPVIEW_ACK_BAD] = "synguard_ack_bad_cookie_total",
	[TOPVIEW_ACK_EXPIRED] = "synguard_ack_expired_total",
	[TOPVIEW_ADOPTED] = "synguard_adopted_total",
	[TOPVIEW_ACCEPTED] = "synguard_accepted_total",
	[TOPVIEW_CONN_ACTIVE] = "synguard_conn_active",
	[TOPVIEW_FLOOD] = "synguard_flood",
	[TOPVIEW_DATAPATH] = "synguard_datapath",
};

static const struct {
	const char *name;
	size_t off; /* of the double in struct topview_backend */
} topview_backend_series[] = {
	{ "synguard_backend_up", offsetof(struct topview_backend, up) },
	{ "synguard_backend_connections", offsetof(struct topview_backend, connections) },
	{ "synguard_backend_connect_failures_total", offsetof(struct topview_backend, failures) },
	{ "synguard_backend_check_seconds", offsetof(struct topview_backend, check_s) },
};

/* The value of label `key` in labels[0..len) (what is between the braces:
 * key="value",...) into out, unescaped. false if absent or malformed. */
static bool topview_label(const char *labels, size_t len, const char *key, char *out, size_t outlen)
{
	const char *p = labels, *end = labels + len;
	size_t klen = strlen(key);

	while (p < end) {
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (!eq || eq + 1 >= end || eq[1] != '"')
			return false;
		bool match = (size_t)(eq - p) == klen && memcmp(p, key, klen) == 0;
		size_t n = 0;
		for (p = eq + 2; p < end && *p != '"'; p++) {
			char c = *p;
			if (c == '\\' && p + 1 < end) {
				c = *++p == 'n' ? '\n' : *p;
			}
			if (match && n + 1 < outlen)
				out[n++] = c;
		}
		if (p >= end)
			return false; /* no closing quote */
		if (match) {
			out[n] = '\0';
			return true;
		}
		p++; /* the closing quote */
		if (p < end && *p == ',')
			p++;
	}
	return false;
}

static struct topview_backend *topview_backend(struct topview_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_backends; i++)
		if (strcmp(s->backends[i].name, name) == 0)
			return &s->backends[i];
	if (s->n_backends == TOPVIEW_MAX_BACKENDS)
		return NULL;
	struct topview_backend *b = &s->backends[s->n_backends++];
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->up = b->connections = b->failures = b->check_s = NAN;
	return b;
}

/* One sample line, NUL-terminated: name, {labels} maybe, value. */
static bool topview_line(struct topview_sample *s, const char *line)
{
	size_t nlen = strcspn(line, "{ ");
	const char *labels = NULL, *v = line + nlen;
	size_t llen = 0;

	if (*v == '{') {
		/* The closing brace outside quotes. */
		bool quoted = false;
		labels = ++v;
		for (; *v && (quoted || *v != '}'); v++) {
			if (*v == '\\' && v[1])
				v++;
			else if (*v == '"')
				quoted = !quoted;
		}
		if (*v != '}')
			return false;
		llen = (size_t)(v - labels);
		v++;
	}
	if (*v != ' ')
		return false;
	char *end;
	double val = strtod(v + 1, &end);
	if (end == v + 1)
		return false;
	if (*end == ' ') { /* a timestamp in ms */
		const char *ts = end + 1;
		(void)strtoll(ts, &end, 10);
		if (end == ts)
			return false;
	}
	if (*end != '\0')
		return false;
	if (nlen < 9 || strncmp(line, "synguard_", 9) != 0)
		return false;

	for (int i = 0; i < TOPVIEW_N; i++)
		if (strlen(topview_names[i]) == nlen && strncmp(line, topview_names[i], nlen) == 0) {
			s->v[i] = val;
			return true;
		}
	if (nlen == strlen("synguard_build_info") && strncmp(line, "synguard_build_info", nlen) == 0) {
		topview_label(labels, llen, "version", s->version, sizeof(s->version));
		topview_label(labels, llen, "datapath", s->datapath, sizeof(s->datapath));
		topview_label(labels, llen, "mode", s->mode, sizeof(s->mode));
		return true;
	}
	for (size_t i = 0; i < sizeof(topview_backend_series) / sizeof(topview_backend_series[0]); i++) {
		char name[sizeof(s->backends[0].name)];
		struct topview_backend *b;

		if (strlen(topview_backend_series[i].name) != nlen ||
		    strncmp(line, topview_backend_series[i].name, nlen) != 0)
			continue;
		if (!labels || !topview_label(labels, llen, "backend", name, sizeof(name)))
			return true; /* ours, but not one backend's */
		if ((b = topview_backend(s, name)))
			*(double *)((char *)b + topview_backend_series[i].off) = val;
		else if (i == 0)
			s->backends_over++; /* counted once each, by their up series */
		return true;
	}
	return true; /* another synguard series */
}

enum topview_parse topview_parse(const char *text, size_t len, double t, struct topview_sample *s)
{
	const char *p = text, *end = text + len;
	bool ours = false;

	memset(s, 0, sizeof(*s));
	s->t = t;
	for (int i = 0; i < TOPVIEW_N; i++)
		s->v[i] = NAN;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char line[TOPVIEW_LINE_MAX];

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && n < sizeof(line) && p[0] != '#') {
			memcpy(line, p, n);
			line[n] = '\0';
			ours |= topview_line(s, line);
		}
		p = nl ? nl + 1 : end;
	}
	return ours ? TOPVIEW_PARSED : TOPVIEW_NOT_SYNGUARD;
}

/* ---- the screen ---- */

struct topview_out {
	char *buf;
	size_t cap, len;
	bool full;
};

/* Appends one line (fmt without its \n), whole or not at all. */
__attribute__((format(printf, 2, 3))) static void topview_put(struct topview_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->full)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= o->cap - o->len) {
		o->full = true;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
	o->buf[o->len++] = '\n';
	o->buf[o->len] = '\0';
}

/* A number for the screen: "-" if NAN, whole above 100, else one decimal. */
static const char *topview_num(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fabs(v) >= 100 || v == floor(v) ? "%.0f" : "%.1f", v);
	return buf;
}

/* Per second between the two, NAN if either is absent or it went back (a
 * restart). */
static double topview_rate(double prev, double cur, double dt)
{
	if (isnan(prev) || isnan(cur) || cur < prev || dt <= 0)
		return NAN;
	return (cur - prev) / dt;
}

/* What the absent parts of a sum count: nothing, unless all are absent. */
static double topview_sum(double a, double b)
{
	if (isnan(a))
		return b;
	return isnan(b) ? a : a + b;
}

static const char *topview_datapath(const struct topview_sample *s)
{
	static const char *const names[] = { "ring", "xdp", "kernel" };
	double d = s->v[TOPVIEW_DATAPATH];

	if (s->datapath[0])
		return s->datapath;
	if (!isnan(d) && d >= 0 && d < 3 && d == floor(d))
		return names[(int)d];
	return "-";
}

static const struct topview_backend *topview_find(const struct topview_sample *s, const char *name)
{
	for (size_t i = 0; s && i < s->n_backends; i++)
		if (strcmp(s->backends[i].name, name) == 0)
			return &s->backends[i];
	return NULL;
}

static void topview_backends(struct topview_out *o, const struct topview_sample *prev,
                             const struct topview_sample *cur, double dt)
{
	size_t up = 0, down = 0;
	char a[32], b[32], c[32];

	if (cur->n_backends == 0) {
		topview_put(o, "backends: -");
		return;
	}
	for (size_t i = 0; i < cur->n_backends; i++) {
		up += cur->backends[i].up > 0;
		down += cur->backends[i].up == 0;
	}
	topview_put(o, "backends: %zu up, %zu down", up, down);
	topview_put(o, "%-40s %5s %11s %10s %9s", "backend", "state", "connections", "failures/s",
	            "check ms");
	for (size_t i = 0; i < cur->n_backends; i++) {
		const struct topview_backend *x = &cur->backends[i], *px = topview_find(prev, x->name);

		topview_put(o, "%-40s %5s %11s %10s %9s", x->name,
		            isnan(x->up) ? "-"
		            : x->up > 0  ? "up"
		                         : "DOWN",
		            topview_num(x->connections, a, sizeof(a)),
		            topview_num(px ? topview_rate(px->failures, x->failures, dt) : NAN, b, sizeof(b)),
		            topview_num(x->check_s * 1000, c, sizeof(c)));
	}
	if (cur->backends_over)
		topview_put(o, "(%zu more not shown)", cur->backends_over);
}

size_t topview_format(const struct topview_sample *prev, const struct topview_sample *cur,
                      const char *endpoint, char *buf, size_t cap)
{
	static const struct {
		const char *label;
		enum topview_value id, plus; /* plus == id: one value */
	} rows[] = {
		{ "SYNs", TOPVIEW_SYN, TOPVIEW_SYN },
		{ "SYN-ACKs", TOPVIEW_SYNACK, TOPVIEW_SYNACK },
		{ "ACKs valid", TOPVIEW_ACK_VALID, TOPVIEW_ACK_VALID },
		{ "ACKs bad cookie", TOPVIEW_ACK_BAD, TOPVIEW_ACK_BAD },
		{ "ACKs expired", TOPVIEW_ACK_EXPIRED, TOPVIEW_ACK_EXPIRED },
		{ "adoptions", TOPVIEW_ADOPTED, TOPVIEW_ACCEPTED },
	};
	struct topview_out o = { buf, cap, 0, cap == 0 };
	double dt = prev ? cur->t - prev->t : 0, flood = cur->v[TOPVIEW_FLOOD];
	char a[32], b[32];

	if (cap > 0)
		buf[0] = '\0';
	topview_put(&o, "synguard %s at %s: data path %s, mode %s, %s", cur->version[0] ? cur->version : "-",
	            endpoint, topview_datapath(cur), cur->mode[0] ? cur->mode : "-",
	            isnan(flood) ? "flood state -"
	            : flood > 0  ? "UNDER FLOOD"
	                         : "no flood");
	topview_put(&o, "%s", "");
	topview_put(&o, "%-20s %12s %16s", "", "per second", "total");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double c = cur->v[rows[i].id], p = prev ? prev->v[rows[i].id] : NAN;

		if (rows[i].plus != rows[i].id) {
			c = topview_sum(c, cur->v[rows[i].plus]);
			p = prev ? topview_sum(p, prev->v[rows[i].plus]) : NAN;
		}
		topview_put(&o, "%-20s %12s %16s", rows[i].label,
		            topview_num(topview_rate(p, c, dt), a, sizeof(a)), topview_num(c, b, sizeof(b)));
	}
	topview_put(&o, "%-20s %12s %16s", "connections open", "",
	            topview_num(cur->v[TOPVIEW_CONN_ACTIVE], a, sizeof(a)));
	topview_put(&o, "%s", "");
	topview_backends(&o, prev, cur, dt);
	return o.len;
}

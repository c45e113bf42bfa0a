/* config — read synguard's configuration file with libconfig.
 *
 * Each group of the file (the root, cookie, every backend) is described by a
 * table of keywords; config_group() rejects names not in its table, reports
 * missing required ones and hands each setting to its keyword's parser.
 * Settings are parsed in table order, not file order, so the cross-checks
 * (a backend or admin equal to a listen endpoint) find `listen` already done.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "config.h"
#include "netaddr.h"

struct config_parse {
	const char *name; /* file name for messages */
	struct config *cfg;
	char *err;
	size_t errlen;
};

struct config_keyword;
typedef int config_parser(struct config_parse *, const config_setting_t *, const struct config_keyword *,
                          void *);

struct config_keyword {
	const char *name;
	config_parser *parse;
	bool required;
	long long min, max;       /* config_parse_uint */
	const char *const *names; /* config_parse_enum: value i is names[i] */
	size_t off, size;         /* the field in the group's struct */
};

#define CONFIG_FIELD(type, f) .off = offsetof(type, f), .size = sizeof(((type *)0)->f)

/* Integer and enum fields are stored through their width, which is all a
 * keyword knows of their type: uint16_t or 32 bits. */
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned fields are 32 bits");
_Static_assert(sizeof(enum log_level) == sizeof(unsigned), "enums stored as unsigned");
_Static_assert(sizeof(enum config_proxy_protocol) == sizeof(unsigned), "enums stored as unsigned");
_Static_assert(sizeof(enum config_datapath) == sizeof(unsigned), "enums stored as unsigned");
_Static_assert(sizeof(enum config_xdp_attach) == sizeof(unsigned), "enums stored as unsigned");
_Static_assert(sizeof(enum config_mode) == sizeof(unsigned), "enums stored as unsigned");

static const char *const config_log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const config_proxy_protocols[] = { "off", "v1", "v2", NULL };
static const char *const config_datapaths[] = { "auto", "kernel", "xdp", "ring", NULL };
static const char *const config_xdp_attaches[] = { "auto", "native", "generic", NULL };
static const char *const config_modes[] = { "relay", "protect", NULL };

static config_parser config_parse_uint, config_parse_enum, config_parse_interface, config_parse_listen,
        config_parse_backends, config_parse_backend_address, config_parse_cookie, config_parse_key_file,
        config_parse_admin, config_parse_user, config_parse_xdp, config_parse_bool, config_parse_health,
        config_parse_name;

static const struct config_keyword config_top_keywords[] = {
	{ .name = "interface", .parse = config_parse_interface, .required = true },
	{ .name = "listen", .parse = config_parse_listen, .required = true },
	{ .name = "backends", .parse = config_parse_backends }, /* config_check_mode() */
	{ .name = "admin", .parse = config_parse_admin },
	{ .name = "cookie", .parse = config_parse_cookie },
	{ .name = "mss",
	  .parse = config_parse_uint,
	  .min = 536,
	  .max = 9000,
	  CONFIG_FIELD(struct config, mss) },
	{ .name = "workers",
	  .parse = config_parse_uint,
	  .min = 1,
	  .max = 64,
	  CONFIG_FIELD(struct config, workers) },
	{ .name = "log_level",
	  .parse = config_parse_enum,
	  .names = config_log_levels,
	  CONFIG_FIELD(struct config, log_level) },
	{ .name = "connect_timeout_ms",
	  .parse = config_parse_uint,
	  .min = 100,
	  .max = 60000,
	  CONFIG_FIELD(struct config, connect_timeout_ms) },
	{ .name = "max_connections",
	  .parse = config_parse_uint,
	  .min = 1,
	  .max = 1048576,
	  CONFIG_FIELD(struct config, max_connections) },
	{ .name = "relay_buffer_kb",
	  .parse = config_parse_uint,
	  .min = 16,
	  .max = 16384,
	  CONFIG_FIELD(struct config, relay_buffer_kb) },
	{ .name = "idle_timeout_s",
	  .parse = config_parse_uint,
	  .min = 0,
	  .max = 86400,
	  CONFIG_FIELD(struct config, idle_timeout_s) },
	{ .name = "drain_timeout_s",
	  .parse = config_parse_uint,
	  .min = 0,
	  .max = 3600,
	  CONFIG_FIELD(struct config, drain_timeout_s) },
	{ .name = "datapath",
	  .parse = config_parse_enum,
	  .names = config_datapaths,
	  CONFIG_FIELD(struct config, datapath) },
	{ .name = "xdp_attach",
	  .parse = config_parse_enum,
	  .names = config_xdp_attaches,
	  CONFIG_FIELD(struct config, xdp_attach) },
	{ .name = "mode",
	  .parse = config_parse_enum,
	  .names = config_modes,
	  CONFIG_FIELD(struct config, mode) },
	{ .name = "xdp", .parse = config_parse_xdp },
	{ .name = "user", .parse = config_parse_user },
	{ .name = "health_check", .parse = config_parse_health },
	{ .name = "name", .parse = config_parse_name },
	{ .name = NULL },
};

static const struct config_keyword config_cookie_keywords[] = {
	/* A cookie is accepted for up to two periods: the bound on how long a
	 * captured handshake ACK could be replayed (frontend.c's linger). */
	{ .name = "key_period",
	  .parse = config_parse_uint,
	  .min = 1,
	  .max = CONFIG_KEY_PERIOD_MAX,
	  CONFIG_FIELD(struct config, key_period_s) },
	{ .name = "key_file", .parse = config_parse_key_file },
	{ .name = NULL },
};

static const struct config_keyword config_health_keywords[] = {
	{ .name = "enabled", .parse = config_parse_bool, CONFIG_FIELD(struct config_health, enabled) },
	{ .name = "interval_ms",
	  .parse = config_parse_uint,
	  .min = 100,
	  .max = 60000,
	  CONFIG_FIELD(struct config_health, interval_ms) },
	/* At most interval_ms: config_parse_health() checks it. */
	{ .name = "timeout_ms",
	  .parse = config_parse_uint,
	  .min = 50,
	  .max = 60000,
	  CONFIG_FIELD(struct config_health, timeout_ms) },
	{ .name = "rise",
	  .parse = config_parse_uint,
	  .min = 1,
	  .max = 100,
	  CONFIG_FIELD(struct config_health, rise) },
	{ .name = "fall",
	  .parse = config_parse_uint,
	  .min = 1,
	  .max = 100,
	  CONFIG_FIELD(struct config_health, fall) },
	{ .name = NULL },
};

static const struct config_keyword config_backend_keywords[] = {
	{ .name = "address", .parse = config_parse_backend_address, .required = true },
	{ .name = "weight",
	  .parse = config_parse_uint,
	  .min = 1,
	  .max = 100,
	  CONFIG_FIELD(struct config_backend, weight) },
	{ .name = "proxy_protocol",
	  .parse = config_parse_enum,
	  .names = config_proxy_protocols,
	  CONFIG_FIELD(struct config_backend, proxy_protocol) },
	{ .name = NULL },
};

/* "FILE:LINE: message"; the root group has no line, so "FILE: message". */
static int __attribute__((format(printf, 3, 4)))
config_error(struct config_parse *p, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = config_setting_source_file(s); /* set inside @include files */
	unsigned line = config_setting_source_line(s);
	char msg[CONFIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (file == NULL)
		file = p->name;
	if (line == 0)
		snprintf(p->err, p->errlen, "%s: %s", file, msg);
	else
		snprintf(p->err, p->errlen, "%s:%u: %s", file, line, msg);
	return -1;
}

static const struct config_keyword *config_keyword_find(const struct config_keyword *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/* `what` names the group in messages; NULL for the root. */
static int config_group(struct config_parse *p, const config_setting_t *group,
                        const struct config_keyword *table, void *base, const char *what)
{
	const struct config_keyword *kw;
	const char *in = what != NULL ? " in " : "";
	const config_setting_t *s;
	unsigned i;

	if (what == NULL)
		what = "";
	else if (!config_setting_is_group(group))
		return config_error(p, group, "%s must be a group: { ... }", what);
	for (i = 0; (s = config_setting_get_elem(group, i)) != NULL; i++)
		if (config_keyword_find(table, config_setting_name(s)) == NULL)
			return config_error(p, s, "unknown setting '%s'%s%s", config_setting_name(s), in,
			                    what);
	for (kw = table; kw->name != NULL; kw++) {
		s = config_setting_get_member(group, kw->name);
		if (s == NULL && kw->required)
			return config_error(p, group, "missing required setting '%s'%s%s", kw->name, in,
			                    what);
		if (s != NULL && kw->parse(p, s, kw, base) == -1)
			return -1;
	}
	return 0;
}

static void config_store(void *base, const struct config_keyword *kw, unsigned v)
{
	char *field = (char *)base + kw->off;
	uint16_t v16 = v;
	uint32_t v32 = v;

	if (kw->size == sizeof v16)
		memcpy(field, &v16, sizeof v16);
	else
		memcpy(field, &v32, sizeof v32);
}

static int config_parse_uint(struct config_parse *p, const config_setting_t *s,
                             const struct config_keyword *kw, void *base)
{
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return config_error(p, s, "%s must be an integer", kw->name);
	v = config_setting_get_int64(s);
	if (v < kw->min || v > kw->max)
		return config_error(p, s, "%s must be between %lld and %lld (got %lld)", kw->name, kw->min,
		                    kw->max, v);
	config_store(base, kw, (unsigned)v);
	return 0;
}

static int config_parse_bool(struct config_parse *p, const config_setting_t *s,
                             const struct config_keyword *kw, void *base)
{
	bool v;

	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return config_error(p, s, "%s must be true or false", kw->name);
	v = config_setting_get_bool(s) != 0;
	memcpy((char *)base + kw->off, &v, sizeof v);
	return 0;
}

/* The string in `s`, or NULL after saying it is not one. */
static const char *config_string(struct config_parse *p, const config_setting_t *s, const char *what)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_error(p, s, "%s must be a string", what);
		return NULL;
	}
	return config_setting_get_string(s);
}

static int config_parse_enum(struct config_parse *p, const config_setting_t *s,
                             const struct config_keyword *kw, void *base)
{
	char choices[64] = "";
	const char *str;
	unsigned i;

	if ((str = config_string(p, s, kw->name)) == NULL)
		return -1;
	for (i = 0; kw->names[i] != NULL; i++) {
		if (strcmp(str, kw->names[i]) == 0) {
			config_store(base, kw, i);
			return 0;
		}
		snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s", i ? ", " : "",
		         kw->names[i]);
	}
	return config_error(p, s, "%s must be one of %s (got '%s')", kw->name, choices, str);
}

/* Stricter than the kernel's dev_valid_name(): the name is written into an
 * nft script, so only characters that cannot end its quoted string. */
static bool config_ifname_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= IF_NAMESIZE || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) && !strchr("_.@-", *name))
			return false;
	return true;
}

static int config_parse_interface(struct config_parse *p, const config_setting_t *s,
                                  const struct config_keyword *kw, void *base)
{
	struct config *cfg = base;
	const char *str;

	if ((str = config_string(p, s, kw->name)) == NULL)
		return -1;
	if (!config_ifname_valid(str))
		return config_error(
		        p, s, "interface '%s' is not a valid interface name (1 to %d of A-Z a-z 0-9 _ . @ -)",
		        str, IF_NAMESIZE - 1);
	strcpy(cfg->interface, str);
	return 0;
}

/* Portable user names (POSIX's portable filename characters, no leading
 * '-'), or a uid in digits. Whether the account exists is asked at start. */
static bool config_user_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONFIG_USER_MAX || name[0] == '-')
		return false;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) && !strchr("_.-", *name))
			return false;
	return true;
}

static int config_parse_user(struct config_parse *p, const config_setting_t *s,
                             const struct config_keyword *kw, void *base)
{
	struct config *cfg = base;
	const char *str;

	if ((str = config_string(p, s, kw->name)) == NULL)
		return -1;
	if (!config_user_valid(str))
		return config_error(p, s,
		                    "user '%s' is not a valid user name (1 to %d of A-Z a-z 0-9 _ . -, "
		                    "not starting with -)",
		                    str, CONFIG_USER_MAX);
	strcpy(cfg->user, str);
	return 0;
}

/* Instance names go into nft table names and log lines: a-z 0-9 _ -. */
static bool config_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int config_parse_name(struct config_parse *p, const config_setting_t *s,
                             const struct config_keyword *kw, void *base)
{
	struct config *cfg = base;
	const char *str, *c;

	if ((str = config_string(p, s, kw->name)) == NULL)
		return -1;
	for (c = str; *c != '\0' && config_name_char(*c); c++)
		;
	if (*c != '\0' || c == str || c - str > CONFIG_NAME_MAX)
		return config_error(p, s, "name '%s' is not a valid instance name (1 to %d of a-z 0-9 _ -)",
		                    str, CONFIG_NAME_MAX);
	strcpy(cfg->name, str);
	return 0;
}

void config_name_derive(const char *path, char name[CONFIG_NAME_MAX + 1])
{
	const char *b = strrchr(path, '/');
	size_t len, n = 0;

	b = b != NULL ? b + 1 : path;
	len = strlen(b);
	if (len >= 5 && strcmp(b + len - 5, ".conf") == 0)
		len -= 5;
	for (; n < len && n < CONFIG_NAME_MAX; n++) {
		char c = (char)tolower((unsigned char)b[n]);
		name[n] = config_name_char(c) ? c : '_';
	}
	name[n] = '\0';
	if (n == 0)
		strcpy(name, "synguard");
}

static int config_parse_key_file(struct config_parse *p, const config_setting_t *s,
                                 const struct config_keyword *kw, void *base)
{
	struct config *cfg = base;
	const char *str;

	if ((str = config_string(p, s, kw->name)) == NULL)
		return -1;
	/* Absolute, so the meaning does not depend on the daemon's cwd. */
	if (str[0] != '/')
		return config_error(p, s, "key_file '%s' must be an absolute path", str);
	if (strlen(str) >= sizeof cfg->key_file)
		return config_error(p, s, "key_file is longer than %zu characters", sizeof cfg->key_file - 1);
	strcpy(cfg->key_file, str);
	return 0;
}

static int config_parse_cookie(struct config_parse *p, const config_setting_t *s,
                               const struct config_keyword *kw, void *base)
{
	return config_group(p, s, config_cookie_keywords, base, kw->name);
}

/* config_parse_endpoint() zero-fills, so equal endpoints are equal bytes. */
static bool config_endpoint_equal(const struct config_endpoint *a, const struct config_endpoint *b)
{
	return a->len == b->len && memcmp(&a->addr, &b->addr, a->len) == 0;
}

/* Whether listening on `a` takes the packets meant for `b`. */
static bool config_endpoint_covers(const struct config_endpoint *a, const struct config_endpoint *b)
{
	return config_endpoint_equal(a, b) ||
	       (netaddr_is_any(&a->addr) && a->addr.ss_family == b->addr.ss_family &&
	        netaddr_port(&a->addr) == netaddr_port(&b->addr));
}

/* The setting `s` (a string) into `ep`; `what` names it in messages. */
static int config_endpoint(struct config_parse *p, const config_setting_t *s, const char *what,
                           struct config_endpoint *ep)
{
	const char *str;

	if ((str = config_string(p, s, what)) == NULL)
		return -1;
	if (config_parse_endpoint(str, ep) == -1)
		return config_error(p, s,
		                    "%s '%s' is not ADDR:PORT (a.b.c.d:port or [v6]:port, port 1-65535)",
		                    what, str);
	return 0;
}

static int config_listen_add(struct config_parse *p, const config_setting_t *s, struct config *cfg)
{
	struct config_endpoint *ep = &cfg->listen[cfg->n_listen];
	char a[NETADDR_STRLEN], b[NETADDR_STRLEN];
	size_t i;

	if (config_endpoint(p, s, "listen endpoint", ep) == -1)
		return -1;
	for (i = 0; i < cfg->n_listen; i++) {
		if (config_endpoint_equal(&cfg->listen[i], ep))
			return config_error(p, s, "duplicate listen endpoint '%s'",
			                    config_endpoint_str(ep, a, sizeof a));
		if (config_endpoint_covers(&cfg->listen[i], ep) ||
		    config_endpoint_covers(ep, &cfg->listen[i]))
			return config_error(p, s, "listen endpoint '%s' overlaps '%s'",
			                    config_endpoint_str(ep, a, sizeof a),
			                    config_endpoint_str(&cfg->listen[i], b, sizeof b));
	}
	cfg->n_listen++;
	return 0;
}

static int config_parse_listen(struct config_parse *p, const config_setting_t *s,
                               const struct config_keyword *kw, void *base)
{
	struct config *cfg = base;
	int i, n;

	(void)kw;
	/* One endpoint may be written without the brackets of a list. */
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return config_listen_add(p, s, cfg);
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return config_error(
		        p, s, "listen must be an endpoint string or a list of them: [ \"ADDR:PORT\", ... ]");
	n = config_setting_length(s);
	if (n < 1 || n > CONFIG_MAX_LISTEN)
		return config_error(p, s, "listen must have 1 to %d endpoints (got %d)", CONFIG_MAX_LISTEN,
		                    n);
	for (i = 0; i < n; i++)
		if (config_listen_add(p, config_setting_get_elem(s, i), cfg) == -1)
			return -1;
	return 0;
}

static int config_parse_backend_address(struct config_parse *p, const config_setting_t *s,
                                        const struct config_keyword *kw, void *base)
{
	struct config_backend *be = base;
	size_t i;

	(void)kw;
	if (config_endpoint(p, s, "backend address", &be->ep) == -1)
		return -1;
	if (netaddr_is_any(&be->ep.addr))
		return config_error(p, s,
		                    "backend address '%s' is a wildcard; give the backend's own address",
		                    config_setting_get_string(s));
	/* The proxy would take its own connection to the backend. */
	for (i = 0; i < p->cfg->n_listen; i++)
		if (config_endpoint_equal(&be->ep, &p->cfg->listen[i]))
			return config_error(p, s,
			                    "backend address '%s' is also a listen endpoint; it would loop",
			                    config_setting_get_string(s));
	return 0;
}

static int config_parse_backends(struct config_parse *p, const config_setting_t *s,
                                 const struct config_keyword *kw, void *base)
{
	struct config *cfg = base;
	struct config_backend *be;
	const config_setting_t *elem;
	char a[NETADDR_STRLEN];
	size_t i;
	int n;

	if (!config_setting_is_list(s))
		return config_error(
		        p, s, "%s must be a list of groups: ( { address = \"ADDR:PORT\"; }, ... )", kw->name);
	n = config_setting_length(s);
	if (n < 1 || n > CONFIG_MAX_BACKENDS)
		return config_error(p, s, "%s must have 1 to %d entries (got %d)", kw->name,
		                    CONFIG_MAX_BACKENDS, n);
	for (; cfg->n_backends < (size_t)n; cfg->n_backends++) {
		elem = config_setting_get_elem(s, cfg->n_backends);
		be = &cfg->backends[cfg->n_backends];
		be->weight = 1;
		be->proxy_protocol = CONFIG_PROXY_OFF;
		if (config_group(p, elem, config_backend_keywords, be, "backend") == -1)
			return -1;
		/* Twice the same backend is a typo; weight says "more of this one". */
		for (i = 0; i < cfg->n_backends; i++)
			if (config_endpoint_equal(&cfg->backends[i].ep, &be->ep))
				return config_error(p, elem, "duplicate backend '%s'",
				                    config_endpoint_str(&be->ep, a, sizeof a));
	}
	return 0;
}

static int config_parse_admin(struct config_parse *p, const config_setting_t *s,
                              const struct config_keyword *kw, void *base)
{
	struct config *cfg = base;
	size_t i;

	if (config_endpoint(p, s, kw->name, &cfg->admin) == -1)
		return -1;
	/* The admin endpoint has no authentication: one address, chosen. */
	if (netaddr_is_any(&cfg->admin.addr))
		return config_error(p, s,
		                    "admin '%s' is a wildcard; bind it to one address such as 127.0.0.1",
		                    config_setting_get_string(s));
	/* The front end would answer its SYNs; the admin socket would never see one. */
	for (i = 0; i < cfg->n_listen; i++)
		if (config_endpoint_equal(&cfg->listen[i], &cfg->admin))
			return config_error(p, s, "admin '%s' is also a listen endpoint",
			                    config_setting_get_string(s));
	cfg->admin_enabled = true;
	return 0;
}

static int config_parse_health(struct config_parse *p, const config_setting_t *s,
                               const struct config_keyword *kw, void *base)
{
	struct config_health *h = &((struct config *)base)->health;
	const config_setting_t *timeout;

	if (config_group(p, s, config_health_keywords, h, kw->name) == -1)
		return -1;
	/* A probe ends before the next one starts. Left out, the timeout
	 * follows a short interval down. */
	timeout = config_setting_get_member(s, "timeout_ms");
	if (timeout == NULL && h->timeout_ms > h->interval_ms)
		h->timeout_ms = h->interval_ms;
	if (h->timeout_ms > h->interval_ms)
		return config_error(p, timeout, "timeout_ms must be at most interval_ms (%u) (got %u)",
		                    h->interval_ms, h->timeout_ms);
	return 0;
}

/* The setting of releases before the kernel path: say what replaced it. */
static int config_parse_xdp(struct config_parse *p, const config_setting_t *s,
                            const struct config_keyword *kw, void *base)
{
	(void)kw;
	(void)base;
	return config_error(p, s,
	                    "'xdp' is gone: say datapath = \"xdp\" for SYNs answered by XDP and ACKs "
	                    "from the packet ring, or leave datapath at \"auto\"");
}

/* What the mode needs: backends to relay to, or (protect) none and the
 * kernel path. Checked after the whole file, so the order of settings does
 * not matter. */
static int config_check_mode(struct config_parse *p, const config_setting_t *root)
{
	const config_setting_t *backends = config_setting_get_member(root, "backends");
	const config_setting_t *datapath = config_setting_get_member(root, "datapath");
	const config_setting_t *health = config_setting_get_member(root, "health_check");

	if (p->cfg->mode == CONFIG_MODE_RELAY) {
		if (!backends)
			return config_error(p, root,
			                    "missing required setting 'backends' (or mode = \"protect\", "
			                    "for a server on this host)");
		return 0;
	}
	if (backends)
		return config_error(p, backends,
		                    "backends with mode = \"protect\": in protect mode the "
		                    "server on this host accepts the connections itself");
	if (health)
		return config_error(p, health,
		                    "health_check with mode = \"protect\": it checks backends, "
		                    "and protect mode has none");
	if (p->cfg->datapath != CONFIG_DATAPATH_AUTO && p->cfg->datapath != CONFIG_DATAPATH_KERNEL)
		return config_error(p, datapath,
		                    "mode = \"protect\" needs datapath = \"kernel\" or "
		                    "\"auto\": only the kernel path hands connections to "
		                    "another process's listening socket");
	return 0;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->mss = 1460;
	cfg->key_period_s = 30;
	cfg->workers = 1;
	cfg->log_level = LOG_INFO;
	cfg->connect_timeout_ms = 2000;
	cfg->max_connections = 65536;
	cfg->relay_buffer_kb = 256;
	cfg->idle_timeout_s = 600;
	cfg->drain_timeout_s = 30;
	cfg->health.enabled = true;
	cfg->health.interval_ms = 2000;
	cfg->health.timeout_ms = 1000;
	cfg->health.rise = 2;
	cfg->health.fall = 3;
	strcpy(cfg->user, CONFIG_USER_DEFAULT);
}

/* After config_read*(): report its syntax error, or fill `cfg`. */
static int config_load(config_t *lc, bool read_ok, const char *name, struct config *cfg, char *err,
                       size_t errlen)
{
	struct config_parse p = { .name = name, .cfg = cfg, .err = err, .errlen = errlen };
	const char *file = config_error_file(lc); /* set inside @include files */
	int rc = -1;

	config_defaults(cfg);
	if (!read_ok)
		snprintf(err, errlen, "%s:%d: %s", file != NULL ? file : name, config_error_line(lc),
		         config_error_text(lc));
	else if (strlen(name) >= sizeof cfg->path)
		snprintf(err, errlen, "%s: file name too long", name);
	else {
		strcpy(cfg->path, name);
		rc = config_group(&p, config_root_setting(lc), config_top_keywords, cfg, NULL);
		if (rc == 0)
			rc = config_check_mode(&p, config_root_setting(lc));
		if (rc == 0 && cfg->name[0] == '\0')
			config_name_derive(name, cfg->name);
	}
	config_destroy(lc);
	return rc;
}

int config_load_string(const char *text, const char *name, struct config *cfg, char *err, size_t errlen)
{
	config_t lc;

	config_init(&lc);
	return config_load(&lc, config_read_string(&lc, text) == CONFIG_TRUE, name, cfg, err, errlen);
}

int config_load_file(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct stat st;
	config_t lc;
	FILE *fp;
	int rc;

	/* Open it here: libconfig would say only "file I/O error". */
	fp = fopen(path, "r");
	/* fopen() accepts a directory, and libconfig's scanner exit()s on one. */
	if (fp != NULL && fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		fp = NULL;
		errno = EISDIR;
	}
	if (fp == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	config_init(&lc);
	rc = config_load(&lc, config_read(&lc, fp) == CONFIG_TRUE, path, cfg, err, errlen);
	fclose(fp);
	return rc;
}

int config_parse_endpoint(const char *text, struct config_endpoint *ep)
{
	uint8_t addr[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN];
	const char *port, *end;
	unsigned long n = 0;
	int family = AF_INET;

	if (text[0] == '[') {
		family = AF_INET6;
		text++;
		if ((end = strchr(text, ']')) == NULL || end[1] != ':')
			return -1;
		port = end + 2;
	} else {
		/* A second colon means IPv6 without the brackets. */
		if ((end = strchr(text, ':')) == NULL || strchr(end + 1, ':') != NULL)
			return -1;
		port = end + 1;
	}
	if ((size_t)(end - text) >= sizeof host)
		return -1;
	memcpy(host, text, end - text);
	host[end - text] = '\0';

	/* Digits only: strtoul() would take signs, spaces and "0x". */
	for (; isdigit((unsigned char)*port) && n <= 65535; port++)
		n = n * 10 + (*port - '0');
	if (*port != '\0' || n == 0 || n > 65535)
		return -1;

	if (inet_pton(family, host, addr) != 1)
		return -1;
	memset(ep, 0, sizeof *ep);
	ep->len = netaddr_make(&ep->addr, family, addr, (uint16_t)n, 0);
	return 0;
}

/* What the running daemon cannot change in place: the interface its rings
 * and programs are bound to, the threads, the data path, its user and
 * admin socket. Compared as the parser leaves them (zero-filled). */
int config_reload_check(const struct config *old, const struct config *new, char *err, size_t errlen)
{
	const char *what = NULL;

	if (strcmp(old->interface, new->interface) != 0)
		what = "interface";
	else if (strcmp(old->name, new->name) != 0)
		what = "name";
	else if (old->workers != new->workers)
		what = "workers";
	else if (old->datapath != new->datapath)
		what = "datapath";
	else if (old->xdp_attach != new->xdp_attach)
		what = "xdp_attach";
	else if (old->mode != new->mode)
		what = "mode";
	else if (strcmp(old->user, new->user) != 0)
		what = "user";
	else if (old->admin_enabled != new->admin_enabled ||
	         (old->admin_enabled && memcmp(&old->admin, &new->admin, sizeof(old->admin)) != 0))
		what = "admin";
	if (!what)
		return 0;
	snprintf(err, errlen, "%s: `%s` changed, which needs a restart", new->path, what);
	return -1;
}

size_t config_listen_index(const struct config *cfg, const struct config_endpoint *ep)
{
	size_t i = 0;

	while (i < cfg->n_listen && memcmp(&cfg->listen[i], ep, sizeof(*ep)) != 0)
		i++;
	return i;
}

const char *config_endpoint_str(const struct config_endpoint *ep, char *buf, size_t buflen)
{
	return netaddr_str(&ep->addr, buf, buflen);
}

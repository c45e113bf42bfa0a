/* Unit tests for config: the file format, its defaults, every kind of error
 * message, and the endpoint parser. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* The three required settings, on lines 1 to 3; a test appends line 4. */
#define BASE                            \
	"interface = \"eth0\";\n"       \
	"listen = \"192.0.2.10:80\";\n" \
	"backends = ( { address = \"10.0.0.2:8080\"; } );\n"

static struct config cfg;
static char err[CONFIG_ERR_MAX];

static void assert_v4(const struct config_endpoint *ep, const char *addr, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep->addr;
	struct in_addr want;

	assert_int_equal(inet_pton(AF_INET, addr, &want), 1);
	assert_int_equal(ep->len, sizeof *sin);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), port);
	assert_memory_equal(&sin->sin_addr, &want, sizeof want);
}

static void assert_v6(const struct config_endpoint *ep, const char *addr, uint16_t port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ep->addr;
	struct in6_addr want;

	assert_int_equal(inet_pton(AF_INET6, addr, &want), 1);
	assert_int_equal(ep->len, sizeof *sin6);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), port);
	assert_memory_equal(&sin6->sin6_addr, &want, sizeof want);
}

static void load_ok(const char *text)
{
	int rc = config_load_string(text, "test.conf", &cfg, err, sizeof err);

	if (rc != 0)
		fail_msg("unexpected error: %s", err);
}

/* `text` must fail with exactly "test.conf:LINE: msg" ("test.conf: msg"
 * for line 0). */
static void load_err(const char *text, unsigned line, const char *msg)
{
	char want[CONFIG_ERR_MAX];

	assert_int_equal(config_load_string(text, "test.conf", &cfg, err, sizeof err), -1);
	if (line == 0)
		snprintf(want, sizeof want, "test.conf: %s", msg);
	else
		snprintf(want, sizeof want, "test.conf:%u: %s", line, msg);
	assert_string_equal(err, want);
}

/* A line-4 error after BASE. */
static void base_err(const char *line4, const char *msg)
{
	char text[1024];

	snprintf(text, sizeof text, BASE "%s\n", line4);
	load_err(text, 4, msg);
}

static void test_full(void **state)
{
	(void)state;
	load_ok("interface = \"ens3\";\n"
	        "listen = [ \"192.0.2.10:80\", \"[2001:db8::10]:443\", \"0.0.0.0:8443\" ];\n"
	        "backends = (\n"
	        "  { address = \"10.0.0.2:8080\"; weight = 3; proxy_protocol = \"v1\"; },\n"
	        "  { address = \"[2001:db8::2]:8443\"; proxy_protocol = \"v2\"; },\n"
	        "  { address = \"10.0.0.3:80\"; weight = 100; proxy_protocol = \"off\"; }\n"
	        ");\n"
	        "mss = 1400;\n"
	        "cookie = { key_period = 15; key_file = \"/etc/synguard/cookie.key\"; };\n"
	        "admin = \"[::1]:9100\";\n"
	        "workers = 4;\n"
	        "log_level = \"debug\";\n"
	        "connect_timeout_ms = 500;\n"
	        "max_connections = 1048576;\n"
	        "relay_buffer_kb = 16;\n"
	        "idle_timeout_s = 0;\n"
	        "drain_timeout_s = 5;\n"
	        "user = \"synguard\";\n");

	assert_string_equal(cfg.path, "test.conf");
	assert_string_equal(cfg.interface, "ens3");
	assert_int_equal(cfg.n_listen, 3);
	assert_v4(&cfg.listen[0], "192.0.2.10", 80);
	assert_v6(&cfg.listen[1], "2001:db8::10", 443);
	assert_v4(&cfg.listen[2], "0.0.0.0", 8443);
	assert_int_equal(cfg.n_backends, 3);
	assert_v4(&cfg.backends[0].ep, "10.0.0.2", 8080);
	assert_int_equal(cfg.backends[0].weight, 3);
	assert_int_equal(cfg.backends[0].proxy_protocol, CONFIG_PROXY_V1);
	assert_v6(&cfg.backends[1].ep, "2001:db8::2", 8443);
	assert_int_equal(cfg.backends[1].weight, 1);
	assert_int_equal(cfg.backends[1].proxy_protocol, CONFIG_PROXY_V2);
	assert_v4(&cfg.backends[2].ep, "10.0.0.3", 80);
	assert_int_equal(cfg.backends[2].weight, 100);
	assert_int_equal(cfg.backends[2].proxy_protocol, CONFIG_PROXY_OFF);
	assert_int_equal(cfg.mss, 1400);
	assert_int_equal(cfg.key_period_s, 15);
	assert_string_equal(cfg.key_file, "/etc/synguard/cookie.key");
	assert_true(cfg.admin_enabled);
	assert_v6(&cfg.admin, "::1", 9100);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_int_equal(cfg.connect_timeout_ms, 500);
	assert_int_equal(cfg.max_connections, 1048576);
	assert_int_equal(cfg.relay_buffer_kb, 16);
	assert_int_equal(cfg.idle_timeout_s, 0);
	assert_int_equal(cfg.drain_timeout_s, 5);
	assert_string_equal(cfg.user, "synguard");
}

static void assert_defaults(const struct config *c)
{
	assert_int_equal(c->mss, 1460);
	assert_int_equal(c->key_period_s, 30);
	assert_string_equal(c->key_file, "");
	assert_false(c->admin_enabled);
	assert_int_equal(c->workers, 1);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->connect_timeout_ms, 2000);
	assert_int_equal(c->max_connections, 65536);
	assert_int_equal(c->relay_buffer_kb, 256);
	assert_int_equal(c->idle_timeout_s, 600);
	assert_int_equal(c->drain_timeout_s, 30);
	assert_true(c->health.enabled);
	assert_int_equal(c->health.interval_ms, 2000);
	assert_int_equal(c->health.timeout_ms, 1000);
	assert_int_equal(c->health.rise, 2);
	assert_int_equal(c->health.fall, 3);
	assert_string_equal(c->user, "nobody");
}

static void test_minimal_defaults(void **state)
{
	struct config d;

	(void)state;
	config_defaults(&d);
	assert_defaults(&d);
	assert_int_equal(d.n_listen, 0);
	assert_int_equal(d.n_backends, 0);

	/* A struct left from an earlier load must not leak into this one. */
	memset(&cfg, 0xa5, sizeof cfg);
	load_ok(BASE);
	assert_defaults(&cfg);
	assert_string_equal(cfg.interface, "eth0");
	assert_int_equal(cfg.n_listen, 1);
	assert_v4(&cfg.listen[0], "192.0.2.10", 80);
	assert_int_equal(cfg.n_backends, 1);
	assert_v4(&cfg.backends[0].ep, "10.0.0.2", 8080);
	assert_int_equal(cfg.backends[0].weight, 1);
	assert_int_equal(cfg.backends[0].proxy_protocol, CONFIG_PROXY_OFF);

	/* An empty cookie group keeps its defaults too. */
	load_ok(BASE "cookie = { };\n");
	assert_int_equal(cfg.key_period_s, 30);
	assert_string_equal(cfg.key_file, "");
}

static void test_example_file(void **state)
{
	(void)state;
	if (config_load_file(CONFIG_EXAMPLE, &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.path, CONFIG_EXAMPLE);
	assert_string_equal(cfg.interface, "eth0");
	assert_true(cfg.n_listen >= 1);
	assert_true(cfg.n_backends >= 1);
	assert_true(cfg.admin_enabled);
	assert_true(cfg.health.enabled);
	assert_int_equal(cfg.health.fall, 3);
	assert_string_equal(cfg.user, "synguard"); /* the installed units' user */
}

/* Write `text` to a temporary file; its name goes in `path`. */
static void write_temp(char path[static 64], const char *text)
{
	int fd;

	strcpy(path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_file_errors_name_file_and_line(void **state)
{
	char path[64], want[CONFIG_ERR_MAX];

	(void)state;
	write_temp(path, BASE "mss = 1460\nworkers = = 2;\n");
	assert_int_equal(config_load_file(path, &cfg, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:5: syntax error", path);
	assert_string_equal(err, want);
	unlink(path);

	write_temp(path, BASE "\n\nworkers = 0;\n");
	assert_int_equal(config_load_file(path, &cfg, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:6: workers must be between 1 and 64 (got 0)", path);
	assert_string_equal(err, want);
	unlink(path);
}

static void test_syntax_error(void **state)
{
	(void)state;
	load_err("interface = \"eth0\";\nlisten = [ \"192.0.2.10:80\" \n;\n", 3, "syntax error");
	load_err("interface = \"eth0\";\nlisten = ;\n", 2, "syntax error");
	/* libconfig itself refuses a setting given twice. */
	load_err(BASE "mss = 1400;\nmss = 1500;\n", 5, "duplicate setting name");
}

static void test_unknown_settings(void **state)
{
	(void)state;
	base_err("interfce = \"eth1\";", "unknown setting 'interfce'");
	base_err("cookie = { key_period = 30; keyfile = \"/k\"; };", "unknown setting 'keyfile' in cookie");
	load_err("interface = \"eth0\";\n"
	         "listen = \"192.0.2.10:80\";\n"
	         "backends = ( { address = \"10.0.0.2:8080\";\n"
	         "               wieght = 2; } );\n",
	         4, "unknown setting 'wieght' in backend");
}

static void test_wrong_types(void **state)
{
	(void)state;
	base_err("mss = \"1460\";", "mss must be an integer");
	base_err("workers = 1.5;", "workers must be an integer");
	base_err("relay_buffer_kb = true;", "relay_buffer_kb must be an integer");
	base_err("log_level = 2;", "log_level must be a string");
	base_err("admin = [ \"127.0.0.1:9100\" ];", "admin must be a string");
	base_err("cookie = 30;", "cookie must be a group: { ... }");
	base_err("cookie = { key_file = 5; };", "key_file must be a string");
	load_err("interface = 0;\nlisten = \"192.0.2.10:80\";\nbackends = ( { address = \"10.0.0.2:80\"; } "
	         ");\n",
	         1, "interface must be a string");
	load_err("interface = \"eth0\";\nlisten = 80;\nbackends = ( { address = \"10.0.0.2:80\"; } );\n", 2,
	         "listen must be an endpoint string or a list of them: [ \"ADDR:PORT\", ... ]");
	load_err("interface = \"eth0\";\nlisten = ( \"192.0.2.10:80\", 443 );\n"
	         "backends = ( { address = \"10.0.0.2:80\"; } );\n",
	         2, "listen endpoint must be a string");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = { address = "
	         "\"10.0.0.2:80\"; };\n",
	         3, "backends must be a list of groups: ( { address = \"ADDR:PORT\"; }, ... )");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = ( \"10.0.0.2:80\" );\n", 3,
	         "backend must be a group: { ... }");
}

static void test_out_of_range(void **state)
{
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "mss = 100;", "mss must be between 536 and 9000 (got 100)" },
		{ "mss = 9001;", "mss must be between 536 and 9000 (got 9001)" },
		{ "mss = -1460;", "mss must be between 536 and 9000 (got -1460)" },
		{ "workers = 0;", "workers must be between 1 and 64 (got 0)" },
		{ "workers = 65;", "workers must be between 1 and 64 (got 65)" },
		{ "connect_timeout_ms = 99;", "connect_timeout_ms must be between 100 and 60000 (got 99)" },
		{ "max_connections = 1048577;",
		  "max_connections must be between 1 and 1048576 (got 1048577)" },
		{ "max_connections = 5000000000L;",
		  "max_connections must be between 1 and 1048576 (got 5000000000)" },
		{ "relay_buffer_kb = 15;", "relay_buffer_kb must be between 16 and 16384 (got 15)" },
		{ "idle_timeout_s = 86401;", "idle_timeout_s must be between 0 and 86400 (got 86401)" },
		{ "idle_timeout_s = -1;", "idle_timeout_s must be between 0 and 86400 (got -1)" },
		{ "drain_timeout_s = 3601;", "drain_timeout_s must be between 0 and 3600 (got 3601)" },
		{ "cookie = { key_period = 0; };", "key_period must be between 1 and 60 (got 0)" },
		/* A cookie lives two periods: longer ones would let a captured
		 * handshake ACK be replayed for hours. */
		{ "cookie = { key_period = 61; };", "key_period must be between 1 and 60 (got 61)" },
		{ "cookie = { key_period = 3600; };", "key_period must be between 1 and 60 (got 3600)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		base_err(cases[i].line, cases[i].msg);
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n"
	         "backends = ( { address = \"10.0.0.2:8080\"; weight = 0; } );\n",
	         3, "weight must be between 1 and 100 (got 0)");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n"
	         "backends = ( { address = \"10.0.0.2:8080\";\n weight = 101; } );\n",
	         4, "weight must be between 1 and 100 (got 101)");

	/* The bounds themselves are accepted, also as 64-bit literals. */
	load_ok(BASE "mss = 536L;\nworkers = 64;\ncookie = { key_period = 60; };\n");
	assert_int_equal(cfg.mss, 536);
	assert_int_equal(cfg.workers, 64);
	assert_int_equal(cfg.key_period_s, 60);
}

static void test_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"192.0.2.10",       /* no port */
		"192.0.2.10:",      /* empty port */
		"192.0.2.10:0",     /* port 0 */
		"192.0.2.10:70000", /* port > 65535 */
		"192.0.2.10:65536",
		"192.0.2.10:99999999999999999999",
		"192.0.2.10:+80",
		"192.0.2.10:0x50",
		"2001:db8::10:80",    /* unbracketed IPv6 */
		"[2001:db8::10]",     /* bracketed, no port */
		"[2001:db8::10:80",   /* unclosed bracket */
		"[192.0.2.10]:80",    /* brackets are for IPv6 */
		"10.0.0.300:80",      /* octet out of range */
		"10.0.0:80",          /* short form inet_aton would take */
		"www.example.com:80", /* names are not resolved */
		"garbage",
		"",
		":80",
		"192.0.2.10:80 ", /* trailing junk */
		"192.0.2.10:80x",
		"[2001:db8::10]:443/",
		" 192.0.2.10:80",
		"[fe80::1%eth0]:80", /* no scope ids */
	};
	struct config_endpoint ep;
	char line[256], msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(config_parse_endpoint(bad[i], &ep), -1);
		snprintf(line, sizeof line, "admin = \"%s\";", bad[i]);
		snprintf(msg, sizeof msg,
		         "admin '%s' is not ADDR:PORT (a.b.c.d:port or [v6]:port, port 1-65535)", bad[i]);
		base_err(line, msg);
	}
	load_err(
	        "interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n"
	        "backends = ( { address = \"10.0.0.300:80\"; } );\n",
	        3,
	        "backend address '10.0.0.300:80' is not ADDR:PORT (a.b.c.d:port or [v6]:port, port 1-65535)");
	load_err("interface = \"eth0\";\nlisten = [ \"192.0.2.10:80\",\n \"2001:db8::10:443\" ];\n"
	         "backends = ( { address = \"10.0.0.2:80\"; } );\n",
	         3,
	         "listen endpoint '2001:db8::10:443' is not ADDR:PORT (a.b.c.d:port or [v6]:port, port "
	         "1-65535)");
}

static void test_missing_required(void **state)
{
	(void)state;
	load_err("listen = \"192.0.2.10:80\";\nbackends = ( { address = \"10.0.0.2:80\"; } );\n", 0,
	         "missing required setting 'interface'");
	load_err("interface = \"eth0\";\nbackends = ( { address = \"10.0.0.2:80\"; } );\n", 0,
	         "missing required setting 'listen'");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n", 0,
	         "missing required setting 'backends' (or mode = \"protect\", for a server on this host)");
	load_err("", 0, "missing required setting 'interface'");
	/* Inside a backend, the line of the backend's group. */
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = (\n"
	         " { address = \"10.0.0.2:80\"; },\n { weight = 2; }\n);\n",
	         5, "missing required setting 'address' in backend");
}

/* datapath, xdp_attach and mode, and what protect mode needs. */
static void test_datapath_and_mode(void **state)
{
	(void)state;
	load_ok(BASE);
	assert_int_equal(cfg.datapath, CONFIG_DATAPATH_AUTO);
	assert_int_equal(cfg.xdp_attach, CONFIG_XDP_ATTACH_AUTO);
	assert_int_equal(cfg.mode, CONFIG_MODE_RELAY);
	load_ok(BASE "datapath = \"ring\";\nxdp_attach = \"generic\";\n");
	assert_int_equal(cfg.datapath, CONFIG_DATAPATH_RING);
	assert_int_equal(cfg.xdp_attach, CONFIG_XDP_ATTACH_GENERIC);
	load_ok(BASE "datapath = \"kernel\";\nxdp_attach = \"native\";\n");
	assert_int_equal(cfg.datapath, CONFIG_DATAPATH_KERNEL);
	assert_int_equal(cfg.xdp_attach, CONFIG_XDP_ATTACH_NATIVE);
	base_err("datapath = \"fast\";", "datapath must be one of auto, kernel, xdp, ring (got 'fast')");
	/* The old setting says what replaced it, at its line. */
	base_err("xdp = \"on\";", "'xdp' is gone: say datapath = \"xdp\" for SYNs answered by XDP and ACKs "
	                          "from the packet ring, or leave datapath at \"auto\"");

	/* Protect mode: no backends, the kernel path; the settings in any order. */
	load_ok("mode = \"protect\";\ninterface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n");
	assert_int_equal(cfg.mode, CONFIG_MODE_PROTECT);
	assert_int_equal(cfg.n_backends, 0);
	load_ok("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\ndatapath = \"kernel\";\nmode = "
	        "\"protect\";\n");
	load_err(BASE "mode = \"protect\";\n", 3,
	         "backends with mode = \"protect\": in protect mode the server on this host accepts the "
	         "connections itself");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nmode = \"protect\";\ndatapath = "
	         "\"xdp\";\n",
	         4,
	         "mode = \"protect\" needs datapath = \"kernel\" or \"auto\": only the kernel path hands "
	         "connections to another process's listening socket");
}

/* SIGHUP applies backends, limits, timeouts, keys and endpoints; what the
 * rings, programs, threads and privileges were built from needs a restart. */
static void test_reload_check(void **state)
{
	static const struct {
		const char *interface, *extra, *setting;
	} cases[] = {
		{ "eth1", "", "interface" },
		{ "eth0", "workers = 2;", "workers" },
		{ "eth0", "datapath = \"ring\";", "datapath" },
		{ "eth0", "xdp_attach = \"native\";", "xdp_attach" },
		{ "eth0", "name = \"other\";", "name" },
		{ "eth0", "user = \"daemon\";", "user" },
		{ "eth0", "admin = \"127.0.0.1:9100\";", "admin" },
	};
	static struct config old;
	char want[CONFIG_ERR_MAX];

	(void)state;
	load_ok(BASE);
	old = cfg;
	/* Everything an operator tunes under load. */
	load_ok("interface = \"eth0\";\nlisten = [ \"192.0.2.10:80\", \"192.0.2.10:443\" ];\n"
	        "backends = ( { address = \"10.0.0.9:80\"; weight = 7; proxy_protocol = \"v2\"; } );\n"
	        "max_connections = 5;\nconnect_timeout_ms = 300;\nidle_timeout_s = 9;\n"
	        "drain_timeout_s = 1;\nlog_level = \"debug\";\nmss = 1400;\n"
	        "cookie = { key_period = 7; key_file = \"/etc/synguard/other.key\"; };\n");
	assert_int_equal(config_reload_check(&old, &cfg, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];

		snprintf(text, sizeof text,
		         "interface = \"%s\";\nlisten = \"192.0.2.10:80\";\n"
		         "backends = ( { address = \"10.0.0.2:8080\"; } );\n%s\n",
		         cases[i].interface, cases[i].extra);
		load_ok(text);
		assert_int_equal(config_reload_check(&old, &cfg, err, sizeof err), -1);
		snprintf(want, sizeof want, "test.conf: `%s` changed, which needs a restart",
		         cases[i].setting);
		assert_string_equal(err, want);
	}
	load_ok("mode = \"protect\";\ninterface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n");
	assert_int_equal(config_reload_check(&old, &cfg, err, sizeof err), -1);
	assert_string_equal(err, "test.conf: `mode` changed, which needs a restart");
}

static void test_health_check(void **state)
{
	(void)state;
	load_ok(BASE "health_check = { interval_ms = 500; timeout_ms = 200; rise = 1; fall = 5; };\n");
	assert_true(cfg.health.enabled);
	assert_int_equal(cfg.health.interval_ms, 500);
	assert_int_equal(cfg.health.timeout_ms, 200);
	assert_int_equal(cfg.health.rise, 1);
	assert_int_equal(cfg.health.fall, 5);
	load_ok(BASE "health_check = { enabled = false; };\n");
	assert_false(cfg.health.enabled);
	assert_int_equal(cfg.health.interval_ms, 2000);
	/* Left out, the timeout follows a short interval down... */
	load_ok(BASE "health_check = { interval_ms = 200; };\n");
	assert_int_equal(cfg.health.timeout_ms, 200);
	/* ...and a timeout equal to the interval is the bound, accepted. */
	load_ok(BASE "health_check = { interval_ms = 100; timeout_ms = 100; rise = 100; fall = 100; };\n");
	assert_int_equal(cfg.health.timeout_ms, 100);

	base_err("health_check = { interval_ms = 99; };",
	         "interval_ms must be between 100 and 60000 (got 99)");
	base_err("health_check = { interval_ms = 60001; };",
	         "interval_ms must be between 100 and 60000 (got 60001)");
	base_err("health_check = { timeout_ms = 49; };", "timeout_ms must be between 50 and 60000 (got 49)");
	base_err("health_check = { rise = 0; };", "rise must be between 1 and 100 (got 0)");
	base_err("health_check = { fall = 101; };", "fall must be between 1 and 100 (got 101)");
	base_err("health_check = { enabled = 1; };", "enabled must be true or false");
	base_err("health_check = { inter = 100; };", "unknown setting 'inter' in health_check");
	base_err("health_check = 2000;", "health_check must be a group: { ... }");
	load_err(BASE "health_check = {\n interval_ms = 1000;\n timeout_ms = 1001;\n};\n", 6,
	         "timeout_ms must be at most interval_ms (1000) (got 1001)");
	load_err("mode = \"protect\";\ninterface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n"
	         "health_check = { };\n",
	         4, "health_check with mode = \"protect\": it checks backends, and protect mode has none");
}

static void test_counts(void **state)
{
	char text[4096];
	int i, n;

	(void)state;
	load_err("interface = \"eth0\";\nlisten = [ ];\nbackends = ( { address = \"10.0.0.2:80\"; } );\n", 2,
	         "listen must have 1 to 16 endpoints (got 0)");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = ( );\n", 3,
	         "backends must have 1 to 64 entries (got 0)");

	n = snprintf(text, sizeof text, "interface = \"eth0\";\nlisten = [");
	for (i = 1; i <= 17; i++)
		n += snprintf(text + n, sizeof text - n, "%s\"192.0.2.%d:80\"", i > 1 ? ", " : "", i);
	snprintf(text + n, sizeof text - n, "];\nbackends = ( { address = \"10.0.0.2:80\"; } );\n");
	load_err(text, 2, "listen must have 1 to 16 endpoints (got 17)");

	n = snprintf(text, sizeof text, "interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = (");
	for (i = 1; i <= 65; i++)
		n += snprintf(text + n, sizeof text - n, "%s{ address = \"10.0.1.%d:80\"; }",
		              i > 1 ? ", " : "", i);
	snprintf(text + n, sizeof text - n, ");\n");
	load_err(text, 3, "backends must have 1 to 64 entries (got 65)");

	/* Exactly 64 is fine. */
	n = snprintf(text, sizeof text, "interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = (");
	for (i = 1; i <= 64; i++)
		n += snprintf(text + n, sizeof text - n, "%s{ address = \"10.0.1.%d:80\"; }",
		              i > 1 ? ", " : "", i);
	snprintf(text + n, sizeof text - n, ");\n");
	load_ok(text);
	assert_int_equal(cfg.n_backends, 64);
	assert_v4(&cfg.backends[63].ep, "10.0.1.64", 80);
}

static void test_duplicate_listen(void **state)
{
	(void)state;
	load_err("interface = \"eth0\";\nlisten = [ \"192.0.2.10:80\",\n \"192.0.2.10:80\" ];\n"
	         "backends = ( { address = \"10.0.0.2:80\"; } );\n",
	         3, "duplicate listen endpoint '192.0.2.10:80'");
	/* The same IPv6 address written two ways is still the same. */
	load_err("interface = \"eth0\";\nlisten = [ \"[2001:db8::10]:443\",\n \"[2001:DB8:0::0:10]:443\" ];\n"
	         "backends = ( { address = \"10.0.0.2:80\"; } );\n",
	         3, "duplicate listen endpoint '[2001:db8::10]:443'");
	/* A wildcard already takes that port on every address. */
	load_err("interface = \"eth0\";\nlisten = [ \"0.0.0.0:80\",\n \"192.0.2.10:80\" ];\n"
	         "backends = ( { address = \"10.0.0.2:80\"; } );\n",
	         3, "listen endpoint '192.0.2.10:80' overlaps '0.0.0.0:80'");
	load_err("interface = \"eth0\";\nlisten = [ \"[2001:db8::10]:80\",\n \"[::]:80\" ];\n"
	         "backends = ( { address = \"10.0.0.2:80\"; } );\n",
	         3, "listen endpoint '[::]:80' overlaps '[2001:db8::10]:80'");

	/* Other port, other family: no overlap. */
	load_ok("interface = \"eth0\";\nlisten = [ \"0.0.0.0:80\", \"192.0.2.10:443\", \"[::]:80\" ];\n"
	        "backends = ( { address = \"10.0.0.2:80\"; } );\n");
	assert_int_equal(cfg.n_listen, 3);
	assert_v6(&cfg.listen[2], "::", 80);
}

static void test_backend_checks(void **state)
{
	(void)state;
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = ( { address = "
	         "\"0.0.0.0:8080\"; } );\n",
	         3, "backend address '0.0.0.0:8080' is a wildcard; give the backend's own address");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = ( { address = "
	         "\"[::]:8080\"; } );\n",
	         3, "backend address '[::]:8080' is a wildcard; give the backend's own address");
	/* The check does not depend on the order in the file. */
	load_err("backends = ( { address = \"192.0.2.10:80\"; } );\ninterface = \"eth0\";\nlisten = "
	         "\"192.0.2.10:80\";\n",
	         1, "backend address '192.0.2.10:80' is also a listen endpoint; it would loop");
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\nbackends = (\n { address = "
	         "\"10.0.0.2:80\"; },\n"
	         " { address = \"10.0.0.2:80\"; weight = 5; }\n);\n",
	         5, "duplicate backend '10.0.0.2:80'");

	/* Another port on the listen address, and a port under a wildcard,
	 * are other endpoints. */
	load_ok("interface = \"eth0\";\nlisten = [ \"192.0.2.10:80\", \"0.0.0.0:443\" ];\n"
	        "backends = ( { address = \"192.0.2.10:8080\"; }, { address = \"10.0.0.2:443\"; } );\n");
	assert_int_equal(cfg.n_backends, 2);
}

static void test_enums(void **state)
{
	(void)state;
	load_err("interface = \"eth0\";\nlisten = \"192.0.2.10:80\";\n"
	         "backends = ( { address = \"10.0.0.2:80\"; proxy_protocol = \"v3\"; } );\n",
	         3, "proxy_protocol must be one of off, v1, v2 (got 'v3')");
	base_err("log_level = \"verbose\";",
	         "log_level must be one of error, warn, info, debug (got 'verbose')");
	base_err("log_level = \"INFO\";", "log_level must be one of error, warn, info, debug (got 'INFO')");

	load_ok(BASE "log_level = \"error\";\n");
	assert_int_equal(cfg.log_level, LOG_ERROR);
	load_ok(BASE "log_level = \"warn\";\n");
	assert_int_equal(cfg.log_level, LOG_WARN);
}

static void test_admin_checks(void **state)
{
	(void)state;
	base_err("admin = \"0.0.0.0:9100\";",
	         "admin '0.0.0.0:9100' is a wildcard; bind it to one address such as 127.0.0.1");
	base_err("admin = \"192.0.2.10:80\";", "admin '192.0.2.10:80' is also a listen endpoint");
	load_ok(BASE "admin = \"127.0.0.1:9100\";\n");
	assert_true(cfg.admin_enabled);
	assert_v4(&cfg.admin, "127.0.0.1", 9100);
}

static void test_interface_and_key_file(void **state)
{
	(void)state;
	load_err("interface = \"averyverylongname\";\n", 1,
	         "interface 'averyverylongname' is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . @ "
	         "-)");
	load_err("interface = \"\";\n", 1,
	         "interface '' is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . @ -)");
	load_err("interface = \"eth0:1\";\n", 1,
	         "interface 'eth0:1' is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . @ -)");
	/* The name goes into an nft script: a quote must not end its string there. */
	load_err("interface = \"e\\\"0;{\";\n", 1,
	         "interface 'e\"0;{' is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . @ -)");
	base_err("cookie = { key_file = \"cookie.key\"; };",
	         "key_file 'cookie.key' must be an absolute path");
	base_err("cookie = { key_file = \"\"; };", "key_file '' must be an absolute path");

	load_ok("interface = \"abcdefghijklmno\";\n"
	        "listen = \"192.0.2.10:80\";\nbackends = ( { address = \"10.0.0.2:80\"; } );\n");
	assert_string_equal(cfg.interface, "abcdefghijklmno");
}

/* A string setting `key` stored in `field` (of cfg): each of `good` loads
 * and is stored as is, each of `bad` fails with `invalid` (its %s the value). */
static void string_setting(const char *key, const char *field, const char *const *good, size_t ngood,
                           const char *const *bad, size_t nbad, const char *invalid)
{
	char line[256], msg[256], wrong[64];

	for (size_t i = 0; i < ngood; i++) {
		snprintf(line, sizeof line, BASE "%s = \"%s\";\n", key, good[i]);
		load_ok(line);
		assert_string_equal(field, good[i]);
	}
	for (size_t i = 0; i < nbad; i++) {
		snprintf(line, sizeof line, "%s = \"%s\";", key, bad[i]);
		snprintf(msg, sizeof msg, invalid, bad[i]);
		base_err(line, msg);
	}
	snprintf(line, sizeof line, "%s = 1;", key);
	snprintf(wrong, sizeof wrong, "%s must be a string", key);
	base_err(line, wrong);
}

static void test_user(void **state)
{
	static const char
	        *const good[] = { "daemon", "_synguard", "sg-proxy.1",
		                  "65534",  "0",         "abcdefghijklmnopqrstuvwxyz012345" /* 32 */ };
	static const char *const bad[] = { "",         "-u",
		                           "sg proxy", "root;",
		                           "a/b",      "caf\xc3\xa9",
		                           "a$",       "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */ };

	(void)state;
	string_setting(
	        "user", cfg.user, good, sizeof good / sizeof good[0], bad, sizeof bad / sizeof bad[0],
	        "user '%s' is not a valid user name (1 to 32 of A-Z a-z 0-9 _ . -, not starting with -)");
}

static void test_name(void **state)
{
	static const char *const good[] = { "web", "a", "api_2-b", "abcdefghijklmnopqrstuvwx" /* 24 */ };
	static const char
	        *const bad[] = { "",      "Web",         "a.b", "a b",
		                 "web;x", "caf\xc3\xa9", "a/b", "abcdefghijklmnopqrstuvwxy" /* 25 */ };

	(void)state;
	string_setting("name", cfg.name, good, sizeof good / sizeof good[0], bad, sizeof bad / sizeof bad[0],
	               "name '%s' is not a valid instance name (1 to 24 of a-z 0-9 _ -)");
	/* Without one: the file's name's. */
	load_ok(BASE);
	assert_string_equal(cfg.name, "test");
}

static void test_name_derive(void **state)
{
	static const struct {
		const char *path, *name;
	} cases[] = {
		{ "/etc/synguard/web.conf", "web" },
		{ "synguard.conf", "synguard" },
		{ "/etc/synguard/Shop.API.conf", "shop_api" },
		{ "/etc/synguard/web", "web" },
		{ "/etc/synguard/web.conf.orig", "web_conf_orig" },
		{ "/x/caf\xc3\xa9 2.conf", "caf___2" },
		{ "/x/abcdefghijklmnopqrstuvwxyz.conf", "abcdefghijklmnopqrstuvwx" },
		{ "/x/.conf", "synguard" },
		{ "/x/", "synguard" },
	};
	char name[CONFIG_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		config_name_derive(cases[i].path, name);
		assert_string_equal(name, cases[i].name);
	}
}

static void test_unreadable_file(void **state)
{
	(void)state;
	assert_int_equal(config_load_file("/nonexistent/synguard.conf", &cfg, err, sizeof err), -1);
	assert_string_equal(err, "cannot open /nonexistent/synguard.conf: No such file or directory");
	/* libconfig's scanner would exit() the process on a directory. */
	assert_int_equal(config_load_file("/tmp", &cfg, err, sizeof err), -1);
	assert_string_equal(err, "cannot open /tmp: Is a directory");
}

static void test_endpoint_roundtrip(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "192.0.2.1:80", "192.0.2.1:80" },
		{ "0.0.0.0:1", "0.0.0.0:1" },
		{ "255.255.255.255:65535", "255.255.255.255:65535" },
		{ "192.0.2.1:0080", "192.0.2.1:80" },
		{ "[2001:db8::1]:443", "[2001:db8::1]:443" },
		{ "[2001:DB8:0:0:0:0:0:1]:443", "[2001:db8::1]:443" },
		{ "[::]:80", "[::]:80" },
		{ "[::ffff:192.0.2.1]:8080", "[::ffff:192.0.2.1]:8080" },
		{ "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" },
	};
	struct config_endpoint ep;
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(config_parse_endpoint(cases[i].in, &ep), 0);
		assert_string_equal(config_endpoint_str(&ep, buf, sizeof buf), cases[i].out);
	}
	assert_int_equal(config_parse_endpoint("192.0.2.1:80", &ep), 0);
	assert_v4(&ep, "192.0.2.1", 80);
	assert_int_equal(config_parse_endpoint("[2001:db8::1]:443", &ep), 0);
	assert_v6(&ep, "2001:db8::1", 443);

	/* A short buffer truncates, terminated. */
	assert_string_equal(config_endpoint_str(&ep, buf, 8), "[2001:d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_file_errors_name_file_and_line),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unknown_settings),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_duplicate_listen),
		cmocka_unit_test(test_backend_checks),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_admin_checks),
		cmocka_unit_test(test_interface_and_key_file),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_name_derive),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_endpoint_roundtrip),
		cmocka_unit_test(test_datapath_and_mode),
		cmocka_unit_test(test_reload_check),
		cmocka_unit_test(test_health_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

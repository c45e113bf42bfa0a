/* Unit tests for fw: the nft script fw_ruleset() writes, byte for byte, its
 * behaviour when the buffer is short, and — as root, inside a network
 * namespace of a forked child so the host's ruleset is never touched — the
 * script checked by nft itself and installed and removed by fw_install() and
 * fw_remove() through one handle, as synguard uses it. Those last tests are
 * skipped without root, without nft or where a network namespace cannot be
 * made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fw.h"

#define GUARD 0xA5

/* Four listen endpoints: a specific IPv4 and IPv6 address and a wildcard of
 * each family. */
static const char *const conf_text =
        "interface = \"eth0\";\n"
        "listen = [ \"192.0.2.10:80\", \"[2001:db8::10]:443\", \"0.0.0.0:8080\", \"[::]:8443\" ];\n"
        "backends = ( { address = \"10.0.0.2:8080\"; } );\n";

/* Named after the file: fw-test. */
static const char *const expected_script =
        "add table inet synguard-fw-test\n"
        "delete table inet synguard-fw-test\n"
        "table inet synguard-fw-test {\n"
        "\tflags owner\n"
        "\tchain guard {\n"
        "\t\tsocket mark 0x53470002 accept\n"
        "\t\tcounter drop\n"
        "\t}\n"
        "\tchain prerouting {\n"
        "\t\ttype filter hook prerouting priority raw; policy accept;\n"
        "\t\tiifname \"eth0\" ip daddr 192.0.2.10 tcp dport 80 jump guard\n"
        "\t\tiifname \"eth0\" ip6 daddr 2001:db8::10 tcp dport 443 jump guard\n"
        "\t\tiifname \"eth0\" meta nfproto ipv4 tcp dport 8080 jump guard\n"
        "\t\tiifname \"eth0\" meta nfproto ipv6 tcp dport 8443 jump guard\n"
        "\t}\n"
        "}\n";

static const char *const expected_update =
        "flush chain inet synguard-fw-test prerouting\n"
        "add rule inet synguard-fw-test prerouting "
        "iifname \"eth0\" ip daddr 192.0.2.10 tcp dport 80 jump guard\n"
        "add rule inet synguard-fw-test prerouting "
        "iifname \"eth0\" ip6 daddr 2001:db8::10 tcp dport 443 jump guard\n"
        "add rule inet synguard-fw-test prerouting "
        "iifname \"eth0\" meta nfproto ipv4 tcp dport 8080 jump guard\n"
        "add rule inet synguard-fw-test prerouting "
        "iifname \"eth0\" meta nfproto ipv6 tcp dport 8443 jump guard\n";

static void load_cfg(struct config *cfg)
{
	char err[CONFIG_ERR_MAX];

	if (config_load_string(conf_text, "fw-test.conf", cfg, err, sizeof err) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(cfg->n_listen, 4);
	assert_string_equal(cfg->name, "fw-test");
}

/* The script for `cfg` in a fresh heap string (fails the test if it does
 * not fit in 64 KiB). */
static char *script_of(const struct config *cfg, enum fw_script what, size_t *len)
{
	size_t cap = 65536;
	char *buf = malloc(cap);

	assert_non_null(buf);
	*len = fw_ruleset(cfg, what, buf, cap);
	assert_true(*len > 0);
	assert_int_equal(strlen(buf), *len);
	return buf;
}

static char *script_for(const struct config *cfg, size_t *len)
{
	return script_of(cfg, FW_SCRIPT_INSTALL, len);
}

static size_t count_lines_equal(const char *text, const char *line)
{
	size_t n = 0, ll = strlen(line);

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == ll && memcmp(p, line, ll) == 0)
			n++;
		p += len + (nl ? 1 : 0);
	}
	return n;
}

/* ---- the script text ---- */

static void test_ruleset_exact(void **state)
{
	struct config cfg;
	size_t len;
	char *s;

	(void)state;
	load_cfg(&cfg);
	s = script_for(&cfg, &len);
	assert_string_equal(s, expected_script);
	assert_int_equal(len, strlen(expected_script));
	free(s);
	s = script_of(&cfg, FW_SCRIPT_UPDATE, &len);
	assert_string_equal(s, expected_update);
	free(s);
}

/* The same facts line by line, so a failure says which one broke. */
static void test_ruleset_lines(void **state)
{
	struct config cfg;
	size_t len;
	char *s;

	(void)state;
	load_cfg(&cfg);
	s = script_for(&cfg, &len);

	/* The prelude that replaces an ownerless table comes first, in this
	 * order, and the new one has an owner. */
	const char *prelude = "add table inet synguard-fw-test\ndelete table inet synguard-fw-test\n"
	                      "table inet synguard-fw-test {\n\tflags owner\n";
	assert_true(strncmp(s, prelude, strlen(prelude)) == 0);
	assert_int_equal(count_lines_equal(s, "add table inet synguard-fw-test"), 1);
	assert_int_equal(count_lines_equal(s, "delete table inet synguard-fw-test"), 1);

	/* Live sockets pass, everything else to a protected port is dropped,
	 * and the accept comes before the drop. */
	char live[64];
	snprintf(live, sizeof live, "\t\tsocket mark 0x%08x accept", FW_MARK_LIVE);
	assert_string_equal(live, "\t\tsocket mark 0x53470002 accept");
	assert_int_equal(count_lines_equal(s, live), 1);
	assert_int_equal(count_lines_equal(s, "\t\tcounter drop"), 1);
	assert_true(strstr(s, live) < strstr(s, "\t\tcounter drop"));
	/* The repair mark must not be let through. */
	assert_null(strstr(s, "0x53470001"));

	assert_int_equal(count_lines_equal(s, "\t\ttype filter hook prerouting priority raw; policy accept;"),
	                 1);

	/* One jump per endpoint, each on the interface. */
	assert_int_equal(
	        count_lines_equal(s, "\t\tiifname \"eth0\" ip daddr 192.0.2.10 tcp dport 80 jump guard"), 1);
	assert_int_equal(
	        count_lines_equal(s, "\t\tiifname \"eth0\" ip6 daddr 2001:db8::10 tcp dport 443 jump guard"),
	        1);
	assert_int_equal(
	        count_lines_equal(s, "\t\tiifname \"eth0\" meta nfproto ipv4 tcp dport 8080 jump guard"), 1);
	assert_int_equal(
	        count_lines_equal(s, "\t\tiifname \"eth0\" meta nfproto ipv6 tcp dport 8443 jump guard"), 1);
	size_t jumps = 0;
	for (const char *p = s; (p = strstr(p, "jump guard")); p++)
		jumps++;
	assert_int_equal(jumps, cfg.n_listen);

	/* A wildcard never turns into an address match. */
	assert_null(strstr(s, "0.0.0.0"));
	assert_null(strstr(s, "daddr ::"));

	/* Braces balance and the script ends with a newline. */
	int depth = 0;
	for (const char *p = s; *p; p++) {
		depth += *p == '{';
		depth -= *p == '}';
		assert_true(depth >= 0);
	}
	assert_int_equal(depth, 0);
	assert_int_equal(s[len - 1], '\n');
	free(s);
}

/* Hand-filled config: ports and addresses at their extremes, in network
 * byte order (a byte-order slip shows up as 256 or 65280). */
static void set_v4(struct config_endpoint *ep, const char *addr, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;

	memset(ep, 0, sizeof *ep);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	ep->len = sizeof *sin;
}

static void set_v6(struct config_endpoint *ep, const char *addr, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->addr;

	memset(ep, 0, sizeof *ep);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	ep->len = sizeof *sin6;
}

static void test_ruleset_hand_filled(void **state)
{
	static struct config cfg;
	size_t len;
	char *s;

	(void)state;
	config_defaults(&cfg);
	strcpy(cfg.name, "web");
	strcpy(cfg.interface, "ens1f0np0");
	set_v4(&cfg.listen[0], "203.0.113.255", 1);
	set_v4(&cfg.listen[1], "10.0.0.1", 65535);
	set_v6(&cfg.listen[2], "fe80::1:2", 256);
	set_v6(&cfg.listen[3], "::ffff:192.0.2.1", 1);
	cfg.n_listen = 4;
	s = script_for(&cfg, &len);
	assert_int_equal(
	        count_lines_equal(s,
	                          "\t\tiifname \"ens1f0np0\" ip daddr 203.0.113.255 tcp dport 1 jump guard"),
	        1);
	assert_int_equal(count_lines_equal(
	                         s, "\t\tiifname \"ens1f0np0\" ip daddr 10.0.0.1 tcp dport 65535 jump guard"),
	                 1);
	assert_int_equal(count_lines_equal(
	                         s, "\t\tiifname \"ens1f0np0\" ip6 daddr fe80::1:2 tcp dport 256 jump guard"),
	                 1);
	assert_int_equal(
	        count_lines_equal(
	                s, "\t\tiifname \"ens1f0np0\" ip6 daddr ::ffff:192.0.2.1 tcp dport 1 jump guard"),
	        1);
	free(s);

	/* Only the first n_listen endpoints count. */
	cfg.n_listen = 1;
	s = script_for(&cfg, &len);
	assert_non_null(strstr(s, "203.0.113.255"));
	assert_null(strstr(s, "10.0.0.1"));
	assert_null(strstr(s, "ip6"));
	assert_non_null(strstr(s, "table inet synguard-web {\n"));
	free(s);
}

/* The largest config there can be fits the 8 KiB fw_install() and
 * fw_update() use, with either script. */
static void test_ruleset_largest_fits_install_buffer(void **state)
{
	static struct config cfg;
	static char buf[8192];

	(void)state;
	config_defaults(&cfg);
	memset(cfg.name, 'n', CONFIG_NAME_MAX);
	cfg.name[CONFIG_NAME_MAX] = '\0';
	memset(cfg.interface, 'x', IF_NAMESIZE - 1);
	cfg.interface[IF_NAMESIZE - 1] = '\0';
	for (size_t i = 0; i < CONFIG_MAX_LISTEN; i++)
		set_v6(&cfg.listen[i], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0", (uint16_t)(65535 - i));
	cfg.n_listen = CONFIG_MAX_LISTEN;
	for (int what = FW_SCRIPT_INSTALL; what <= FW_SCRIPT_UPDATE; what++) {
		size_t len = fw_ruleset(&cfg, (enum fw_script)what, buf, sizeof buf);
		assert_true(len > 0);
		assert_true(len < sizeof buf);
		assert_int_equal(strlen(buf), len);
	}
}

/* ---- short buffers ---- */

static void every_cap(enum fw_script what)
{
	struct config cfg;
	size_t len;
	char *full, *buf;

	load_cfg(&cfg);
	full = script_of(&cfg, what, &len);
	buf = malloc(len + 64);
	assert_non_null(buf);

	for (size_t cap = 0; cap <= len + 1; cap++) {
		memset(buf, GUARD, len + 64);
		size_t got = fw_ruleset(&cfg, what, buf, cap);
		if (cap <= len) {
			if (got != 0)
				fail_msg("cap %zu of %zu: returned %zu, want 0", cap, len, got);
		} else {
			assert_int_equal(got, len);
			assert_memory_equal(buf, full, len + 1);
		}
		for (size_t i = cap; i < len + 64; i++)
			if ((unsigned char)buf[i] != GUARD)
				fail_msg("cap %zu: byte %zu written past the end", cap, i);
	}
	/* A cap well above the length changes nothing. */
	memset(buf, GUARD, len + 64);
	assert_int_equal(fw_ruleset(&cfg, what, buf, len + 64), len);
	assert_string_equal(buf, full);
	free(buf);
	free(full);
}

static void test_ruleset_every_cap(void **state)
{
	(void)state;
	every_cap(FW_SCRIPT_INSTALL);
	every_cap(FW_SCRIPT_UPDATE);
}

/* ---- nft itself, in a network namespace of our own ---- */

static bool find_nft(char *path, size_t pathlen)
{
	const char *env = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/local/sbin", env ? env : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		snprintf(path, pathlen, "%s/nft", d);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

/* Whether this process may make a network namespace: tried in a child, so
 * ours stays where it is. */
static bool can_unshare_net(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	if (waitpid(pid, &st, 0) != pid)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void skip_unless_privileged(void)
{
	if (geteuid() != 0) {
		print_message("skipped: not root\n");
		skip();
	}
	if (!can_unshare_net()) {
		print_message("skipped: cannot create a network namespace\n");
		skip();
	}
}

/* Runs `nft -c -f FILE` on `script` in a fresh network namespace; returns
 * nft's exit status (or -1). */
static int nft_check(const char *nft, const char *script)
{
	char file[] = "/tmp/synguard-fw-test-XXXXXX";
	int fd = mkstemp(file);
	int st = -1;
	pid_t pid;

	assert_true(fd >= 0);
	size_t len = strlen(script);
	assert_int_equal(write(fd, script, len), (ssize_t)len);
	close(fd);

	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (unshare(CLONE_NEWNET) != 0)
			_exit(126);
		/* nft's diagnostics only for the expected failures' noise. */
		if (devnull >= 0 && getenv("FW_TEST_VERBOSE") == NULL)
			dup2(devnull, STDERR_FILENO);
		execl(nft, "nft", "-c", "-f", file, (char *)NULL);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		st = WEXITSTATUS(st);
	else
		st = -1;
	unlink(file);
	return st;
}

static void test_nft_accepts_script(void **state)
{
	struct config cfg;
	char nft[4096];
	size_t len;
	char *s;

	(void)state;
	if (geteuid() != 0 || !find_nft(nft, sizeof nft)) {
		print_message("skipped: needs root and the nft binary\n");
		skip();
	}
	skip_unless_privileged();
	load_cfg(&cfg);
	s = script_for(&cfg, &len);
	assert_int_equal(nft_check(nft, s), 0);
	/* The update script runs on an installed table. */
	char *u = script_of(&cfg, FW_SCRIPT_UPDATE, &len);
	char *both = malloc(strlen(s) + strlen(u) + 1);
	assert_non_null(both);
	strcat(strcpy(both, s), u);
	assert_int_equal(nft_check(nft, both), 0);
	free(both);
	free(u);

	/* Negative control: nft -c does reject a broken script, so the check
	 * above means something. */
	char *bad = strdup(s);
	assert_non_null(bad);
	char *j = strstr(bad, "jump guard");
	assert_non_null(j);
	memcpy(j, "jump gaurd", strlen("jump gaurd"));
	assert_int_equal(nft_check(nft, bad), 1); /* nft's own error, not exec's */
	free(bad);
	free(s);
}

/* In the child, inside its own namespace: run `cmd` through libnftables and
 * return its listing (heap) or NULL if the command failed. */
static char *child_nft(const char *cmd)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	char *out = NULL;

	if (!nft)
		return NULL;
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, cmd) == 0)
		out = strdup(nft_ctx_get_output_buffer(nft));
	nft_ctx_free(nft);
	return out;
}

static size_t count_substr(const char *s, const char *sub)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
		n++;
	return n;
}

#define CHILD_CHECK(cond)                                                                                  \
	do {                                                                                               \
		if (!(cond)) {                                                                             \
			fprintf(stderr, "fw child: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			_exit(1);                                                                          \
		}                                                                                          \
	} while (0)

#define TABLE "inet synguard-fw-test"

/* The body of test_install_remove, in a forked child that has left the
 * host's network namespace. Exits 0 when every check passed. */
static void child_install_remove(const struct config *cfg)
{
	char err[512] = "";
	struct fw *fw, *fw2;
	struct config other = *cfg, fewer = *cfg;
	char *list;

	if (unshare(CLONE_NEWNET) != 0)
		_exit(2);
	fw = fw_new(err, sizeof err);
	CHILD_CHECK(fw != NULL);

	/* Nothing installed yet: removing is still fine. */
	CHILD_CHECK(child_nft("list table " TABLE) == NULL);
	CHILD_CHECK(fw_remove(fw, err, sizeof err) == 0);

	/* An ownerless table of the name (made by hand, or by an older
	 * synguard) with an extra chain and rule is replaced whole. */
	CHILD_CHECK(child_nft("add table " TABLE "\n"
	                      "add chain " TABLE " stale\n"
	                      "add chain " TABLE " prerouting\n"
	                      "add rule " TABLE " prerouting tcp dport 9999 jump stale\n") != NULL);
	CHILD_CHECK(fw_install(fw, cfg, err, sizeof err) == 0);
	list = child_nft("list table " TABLE);
	CHILD_CHECK(list != NULL);
	CHILD_CHECK(strstr(list, "flags owner") != NULL);
	CHILD_CHECK(strstr(list, "stale") == NULL);
	CHILD_CHECK(strstr(list, "9999") == NULL);
	CHILD_CHECK(strstr(list, "socket mark 0x53470002 accept") != NULL);
	CHILD_CHECK(strstr(list, "drop") != NULL);
	CHILD_CHECK(strstr(list, "hook prerouting priority raw") != NULL);
	CHILD_CHECK(strstr(list, "ip daddr 192.0.2.10 tcp dport 80 jump guard") != NULL);
	CHILD_CHECK(strstr(list, "ip6 daddr 2001:db8::10 tcp dport 443 jump guard") != NULL);
	CHILD_CHECK(count_substr(list, "jump guard") == cfg->n_listen);
	CHILD_CHECK(count_substr(list, "socket mark") == 1);
	free(list);

	/* Owned: another handle (another instance) can neither change nor
	 * delete it, and installing the same name there is refused by name. */
	CHILD_CHECK(child_nft("add rule " TABLE " prerouting tcp dport 9999 drop\n") == NULL);
	CHILD_CHECK(child_nft("delete table " TABLE "\n") == NULL);
	fw2 = fw_new(err, sizeof err);
	CHILD_CHECK(fw2 != NULL);
	CHILD_CHECK(fw_install(fw2, cfg, err, sizeof err) == -1);
	CHILD_CHECK(strstr(err, "another synguard instance named fw-test runs in this network namespace") ==
	            err);
	CHILD_CHECK(strstr(err, "inet synguard-fw-test") != NULL);
	list = child_nft("list table " TABLE);
	CHILD_CHECK(list != NULL && count_substr(list, "jump guard") == cfg->n_listen);
	free(list);

	/* Another name lives beside it; removing it leaves the first alone. */
	strcpy(other.name, "other");
	other.n_listen = 1;
	CHILD_CHECK(fw_install(fw2, &other, err, sizeof err) == 0);
	list = child_nft("list tables");
	CHILD_CHECK(list && strstr(list, "table " TABLE "\n") && strstr(list, "table inet synguard-other\n"));
	free(list);
	CHILD_CHECK(fw_remove(fw2, err, sizeof err) == 0);
	list = child_nft("list tables");
	CHILD_CHECK(list && strstr(list, "table " TABLE "\n") && !strstr(list, "synguard-other"));
	free(list);

	/* An update replaces the endpoints' rules and nothing else; a failed
	 * one keeps the old rules; another name's is refused. */
	fewer.n_listen = 1;
	CHILD_CHECK(fw_update(fw, &fewer, err, sizeof err) == 0);
	list = child_nft("list table " TABLE);
	CHILD_CHECK(list != NULL && count_substr(list, "jump guard") == 1);
	CHILD_CHECK(strstr(list, "ip daddr 192.0.2.10 tcp dport 80 jump guard") != NULL);
	CHILD_CHECK(strstr(list, "socket mark 0x53470002 accept") != NULL);
	CHILD_CHECK(strstr(list, "flags owner") != NULL);
	free(list);
	strcpy(fewer.interface, "eth\"0");
	CHILD_CHECK(fw_update(fw, &fewer, err, sizeof err) == -1);
	CHILD_CHECK(fw_update(fw, &other, err, sizeof err) == -1);
	CHILD_CHECK(strstr(err, "no table synguard-other installed") != NULL);
	CHILD_CHECK(fw_update(fw, cfg, err, sizeof err) == 0);
	list = child_nft("list table " TABLE);
	CHILD_CHECK(list != NULL && count_substr(list, "jump guard") == cfg->n_listen);
	free(list);

	CHILD_CHECK(fw_remove(fw, err, sizeof err) == 0);
	CHILD_CHECK(child_nft("list table " TABLE) == NULL);
	/* Other tables are none of fw's business. */
	CHILD_CHECK(child_nft("add table inet other\n") != NULL);
	CHILD_CHECK(fw_remove(fw, err, sizeof err) == 0);
	list = child_nft("list tables");
	CHILD_CHECK(list && strstr(list, "table inet other") != NULL);
	free(list);

	/* A handle closed without removing (a killed process's socket) takes
	 * its table with it. */
	CHILD_CHECK(fw_install(fw2, cfg, err, sizeof err) == 0);
	CHILD_CHECK(child_nft("list table " TABLE) != NULL);
	fw_free(fw2);
	CHILD_CHECK(child_nft("list table " TABLE) == NULL);
	fw_free(fw);
	_exit(0);
}

static void test_install_remove(void **state)
{
	struct config cfg;
	int st;
	pid_t pid;

	(void)state;
	skip_unless_privileged();
	load_cfg(&cfg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_install_remove(&cfg);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* fw_install reports nft's own message on one line. An interface name of
 * 15 characters containing a quote cannot be expressed in nft syntax. */
static void child_install_error(const struct config *cfg)
{
	char err[512] = "", again[512] = "";
	struct fw *fw;

	if (unshare(CLONE_NEWNET) != 0)
		_exit(2);
	fw = fw_new(err, sizeof err);
	CHILD_CHECK(fw != NULL);
	CHILD_CHECK(fw_install(fw, cfg, err, sizeof err) == -1);
	CHILD_CHECK(strncmp(err, "nftables: ", 10) == 0);
	CHILD_CHECK(strlen(err) > 10);
	CHILD_CHECK(strchr(err, '\n') == NULL);
	/* Atomic: nothing was installed. */
	CHILD_CHECK(child_nft("list table " TABLE) == NULL);
	/* The handle's error buffer starts empty for the next command: the
	 * same failure says the same thing, not twice. */
	CHILD_CHECK(fw_install(fw, cfg, again, sizeof again) == -1);
	CHILD_CHECK(strcmp(again, err) == 0);
	fw_free(fw);
	_exit(0);
}

static void test_install_error_message(void **state)
{
	struct config cfg;
	int st;
	pid_t pid;

	(void)state;
	skip_unless_privileged();
	load_cfg(&cfg);
	strcpy(cfg.interface, "eth\"0");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_install_error(&cfg);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ruleset_exact),
		cmocka_unit_test(test_ruleset_lines),
		cmocka_unit_test(test_ruleset_hand_filled),
		cmocka_unit_test(test_ruleset_largest_fits_install_buffer),
		cmocka_unit_test(test_ruleset_every_cap),
		cmocka_unit_test(test_nft_accepts_script),
		cmocka_unit_test(test_install_remove),
		cmocka_unit_test(test_install_error_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for privs_resolve(): the `user` setting into a uid and gid, by
 * name (root is in every passwd database), by number with and without a
 * passwd entry, and the refusals; and for privs_needed(): which capabilities
 * each kind of configuration needs at start. privs_drop() is tested end to
 * end (tests/e2e/15-privileges.sh, 22-install.sh): it needs root and changes
 * the process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "privs.h"

static void test_resolve(void **state)
{
	struct privs_user u;
	char err[128], name[32];
	unsigned free_uid = 4242;

	(void)state;
	assert_int_equal(privs_resolve("root", &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_int_equal(privs_resolve("0", &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);

	/* A number without a passwd entry: its gid is the same number. */
	while (getpwuid(free_uid))
		free_uid++;
	snprintf(name, sizeof(name), "%u", free_uid);
	assert_int_equal(privs_resolve(name, &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, free_uid);
	assert_int_equal(u.gid, free_uid);
	assert_int_equal(privs_resolve("4294967294", &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, 4294967294u);

	assert_int_equal(privs_resolve("sg-no-such-user", &u, err, sizeof(err)), -1);
	assert_string_equal(err, "no such user");
	assert_int_equal(privs_resolve("4294967295", &u, err, sizeof(err)), -1);
	assert_string_equal(err, "not a valid uid (0 to 4294967294)");
	assert_int_equal(privs_resolve("99999999999999999999999", &u, err, sizeof(err)), -1);
	assert_string_equal(err, "not a valid uid (0 to 4294967294)");
}

/* privs_needed() for the config `text` (after an interface), starting as
 * root and becoming `to`, as capability names in order. */
static const char *needed(const char *text, uid_t to)
{
	static char out[256];
	char conf[1024], err[CONFIG_ERR_MAX];
	const struct privs_user root = { 0, 0 }, u = { to, to };
	struct privs_caps need;
	struct config cfg;
	size_t len = 0;

	snprintf(conf, sizeof(conf), "interface = \"eth0\";\n%s\n", text);
	if (config_load_string(conf, "test.conf", &cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	privs_needed(&cfg, &root, &u, &need);
	out[0] = '\0';
	for (size_t i = 0; i < need.n; i++) {
		char *name = cap_to_name(need.v[i]);
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "", name);
		cap_free(name);
	}
	return out;
}

/* A relay to one backend, protecting port 8080 (no privileged port). */
#define RELAY "listen = [ \"192.0.2.1:8080\" ]; backends = ( { address = \"10.0.0.2:80\"; } );\n"
#define RING RELAY "datapath = \"ring\";\n"

static void test_needed(void **state)
{
	(void)state;
	/* Each data path: the ring's sockets, the BPF programs' loading, auto both. */
	assert_string_equal(needed(RING, 0), "cap_net_admin,cap_net_raw");
	assert_string_equal(needed(RELAY "datapath = \"xdp\";", 0),
	                    "cap_net_admin,cap_net_raw,cap_bpf,cap_perfmon");
	assert_string_equal(needed(RELAY "datapath = \"kernel\";", 0), "cap_net_admin,cap_bpf,cap_perfmon");
	assert_string_equal(needed(RELAY, 0), "cap_net_admin,cap_net_raw,cap_bpf,cap_perfmon");
	/* A port below 1024: a listen endpoint (relay mode), or the admin one. */
	assert_string_equal(needed("listen = [ \"192.0.2.1:8080\", \"[2001:db8::1]:443\" ];\n"
	                           "backends = ( { address = \"10.0.0.2:80\"; } ); datapath = \"ring\";",
	                           0),
	                    "cap_net_admin,cap_net_raw,cap_net_bind_service");
	assert_string_equal(
	        needed("listen = [ \"192.0.2.1:1024\" ]; backends = ( { address = \"10.0.0.2:80\"; } );\n"
	               "datapath = \"ring\";",
	               0),
	        "cap_net_admin,cap_net_raw");
	assert_string_equal(needed(RING "admin = \"127.0.0.1:81\";", 0),
	                    "cap_net_admin,cap_net_raw,cap_net_bind_service");
	assert_string_equal(needed(RING "admin = \"127.0.0.1:9100\";", 0), "cap_net_admin,cap_net_raw");
	/* Protect mode: the server binds its own port. */
	assert_string_equal(
	        needed("mode = \"protect\"; listen = [ \"192.0.2.1:80\" ]; datapath = \"kernel\";", 0),
	        "cap_net_admin,cap_bpf,cap_perfmon");
	/* Another user to become: the switch and the bounding set. */
	assert_string_equal(needed(RING, 4242),
	                    "cap_net_admin,cap_net_raw,cap_setuid,cap_setgid,cap_setpcap");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

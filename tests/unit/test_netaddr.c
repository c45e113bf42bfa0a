/* netaddr: socket addresses built from (family, bytes, port, scope id) and
 * taken apart again; the scope id kept for IPv6 link-local addresses only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "netaddr.h"

#define SCOPE 7 /* an interface index */

/* `text` (an IPv4 or IPv6 address) made into `ss` with port 80, reached on
 * interface SCOPE; returns the length. */
static socklen_t make(struct sockaddr_storage *ss, const char *text)
{
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;
	uint8_t bytes[16];

	assert_int_equal(inet_pton(family, text, bytes), 1);
	return netaddr_make(ss, family, bytes, 80, SCOPE);
}

static void test_ipv4(void **state)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const uint8_t want[4] = { 192, 0, 2, 1 };
	const uint8_t *raw;

	(void)state;
	memset(&ss, 0xa5, sizeof(ss));
	assert_int_equal(netaddr_make(&ss, AF_INET, want, 443, SCOPE), sizeof(struct sockaddr_in));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(sin->sin_port, htons(443));
	assert_memory_equal(&sin->sin_addr, want, 4);
	assert_int_equal(netaddr_len(&ss), sizeof(struct sockaddr_in));
	assert_int_equal(netaddr_port(&ss), 443);
	assert_int_equal(netaddr_scope_id(&ss), 0);
	assert_int_equal(netaddr_raw(&ss, &raw), 4);
	assert_memory_equal(raw, want, 4);
	/* Zero-filled: the rest of the storage carries nothing. */
	for (size_t i = sizeof(*sin); i < sizeof(ss); i++)
		assert_int_equal(((const uint8_t *)&ss)[i], 0);
}

static void test_ipv6_global_has_no_scope(void **state)
{
	struct sockaddr_storage ss, again;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	const uint8_t *raw;

	(void)state;
	assert_int_equal(make(&ss, "2001:db8::1"), sizeof(struct sockaddr_in6));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(sin6->sin6_port, htons(80));
	assert_int_equal(sin6->sin6_scope_id, 0);
	assert_int_equal(netaddr_scope_id(&ss), 0);
	assert_int_equal(netaddr_len(&ss), sizeof(struct sockaddr_in6));
	assert_int_equal(netaddr_raw(&ss, &raw), 16);
	assert_memory_equal(raw, &sin6->sin6_addr, 16);
	/* Equal addresses are equal bytes, whichever interface they came on. */
	make(&again, "2001:db8::1");
	assert_memory_equal(&ss, &again, sizeof(ss));
	/* Site-local (fec0::/10, deprecated) and unique local are not link-local. */
	make(&ss, "fec0::1");
	assert_int_equal(netaddr_scope_id(&ss), 0);
	make(&ss, "fd00::1");
	assert_int_equal(netaddr_scope_id(&ss), 0);
	make(&ss, "::1");
	assert_int_equal(netaddr_scope_id(&ss), 0);
}

/* bind() and connect() refuse a link-local address without its interface. */
static void test_ipv6_link_local_has_scope(void **state)
{
	static const char *const link_local[] = { "fe80::1", "fe80::200:ff:fe00:2", "febf:ffff::1" };
	struct sockaddr_storage ss;
	char buf[NETADDR_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(link_local) / sizeof(link_local[0]); i++) {
		make(&ss, link_local[i]);
		assert_int_equal(((const struct sockaddr_in6 *)&ss)->sin6_scope_id, SCOPE);
		assert_int_equal(netaddr_scope_id(&ss), SCOPE);
	}
	make(&ss, "fe80::1");
	assert_string_equal(netaddr_str(&ss, buf, sizeof(buf)), "[fe80::1%7]:80");
	assert_string_equal(netaddr_host(&ss, buf, sizeof(buf)), "fe80::1");
}

static void test_other_family(void **state)
{
	static const uint8_t zero[sizeof(struct sockaddr_storage)];
	const uint8_t bytes[16] = { 1 };
	struct sockaddr_storage ss;
	const uint8_t *raw = NULL;
	char buf[NETADDR_STRLEN];

	(void)state;
	memset(&ss, 0xa5, sizeof(ss));
	assert_int_equal(netaddr_make(&ss, AF_UNIX, bytes, 80, SCOPE), 0);
	assert_memory_equal(&ss, zero, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_int_equal(netaddr_len(&ss), 0);
	assert_int_equal(netaddr_raw(&ss, &raw), 0);
	assert_null(raw);
	assert_int_equal(netaddr_port(&ss), 0);
	assert_false(netaddr_is_any(&ss));
	assert_null(netaddr_host(&ss, buf, sizeof(buf)));
	assert_string_equal(netaddr_str(&ss, buf, sizeof(buf)), "?");
}

static void test_any(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	make(&ss, "0.0.0.0");
	assert_true(netaddr_is_any(&ss));
	make(&ss, "::");
	assert_true(netaddr_is_any(&ss));
	make(&ss, "0.0.0.1");
	assert_false(netaddr_is_any(&ss));
	make(&ss, "::1");
	assert_false(netaddr_is_any(&ss));
}

static void test_text(void **state)
{
	struct sockaddr_storage ss;
	char buf[NETADDR_STRLEN], small[8];

	(void)state;
	make(&ss, "192.0.2.1");
	assert_string_equal(netaddr_str(&ss, buf, sizeof(buf)), "192.0.2.1:80");
	assert_string_equal(netaddr_host(&ss, buf, sizeof(buf)), "192.0.2.1");
	make(&ss, "2001:db8::1");
	assert_string_equal(netaddr_str(&ss, buf, sizeof(buf)), "[2001:db8::1]:80");
	assert_string_equal(netaddr_str(&ss, small, sizeof(small)), "[2001:d");
	assert_null(netaddr_host(&ss, small, sizeof(small)));
	/* The longest there is fits. */
	make(&ss, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	((struct sockaddr_in6 *)&ss)->sin6_scope_id = UINT32_MAX;
	((struct sockaddr_in6 *)&ss)->sin6_port = htons(65535);
	assert_string_equal(netaddr_str(&ss, buf, sizeof(buf)),
	                    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6_global_has_no_scope),
		cmocka_unit_test(test_ipv6_link_local_has_scope),
		cmocka_unit_test(test_other_family),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}

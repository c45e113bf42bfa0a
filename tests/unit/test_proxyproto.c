/* proxyproto: exact bytes of the v1 and v2 headers (HAProxy's
 * proxy-protocol.txt), and the cases that build nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "proxyproto.h"

static struct sockaddr_storage addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
	return ss;
}

#define SIG "\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"

static void expect_header(enum config_proxy_protocol v, const char *cip, uint16_t cport, const char *lip,
                          uint16_t lport, const void *want, size_t want_len)
{
	struct sockaddr_storage c = addr(cip, cport), l = addr(lip, lport);
	unsigned char buf[PROXYPROTO_MAX];

	assert_int_equal(proxyproto_build(v, &c, &l, buf, sizeof(buf)), want_len);
	assert_memory_equal(buf, want, want_len);
	/* Exactly enough room is enough; one byte less is not. */
	assert_int_equal(proxyproto_build(v, &c, &l, buf, want_len), want_len);
	assert_int_equal(proxyproto_build(v, &c, &l, buf, want_len - 1), 0);
}

static void test_v1_tcp4(void **state)
{
	static const char want[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1234 80\r\n";

	(void)state;
	expect_header(CONFIG_PROXY_V1, "1.2.3.4", 1234, "5.6.7.8", 80, want, sizeof(want) - 1);
}

static void test_v1_tcp6(void **state)
{
	static const char want[] = "PROXY TCP6 2001:db8::1 2001:db8::2 40000 443\r\n";

	(void)state;
	expect_header(CONFIG_PROXY_V1, "2001:db8::1", 40000, "2001:db8::2", 443, want, sizeof(want) - 1);
}

static void test_v1_longest(void **state)
{
	static const char want[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	                           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65534\r\n";

	(void)state;
	assert_true(sizeof(want) - 1 <= PROXYPROTO_MAX);
	expect_header(CONFIG_PROXY_V1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65534, want, sizeof(want) - 1);
}

static void test_v2_tcp4(void **state)
{
	static const char want[] = SIG "\x21\x11\x00\x0c"
	                               "\x01\x02\x03\x04"
	                               "\x05\x06\x07\x08"
	                               "\x04\xd2\x00\x50";

	(void)state;
	assert_int_equal(sizeof(want) - 1, 28);
	expect_header(CONFIG_PROXY_V2, "1.2.3.4", 1234, "5.6.7.8", 80, want, sizeof(want) - 1);
}

static void test_v2_tcp6(void **state)
{
	static const char want[] = SIG "\x21\x21\x00\x24"
	                               "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	                               "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"
	                               "\x9c\x40\x01\xbb";

	(void)state;
	assert_int_equal(sizeof(want) - 1, 52);
	expect_header(CONFIG_PROXY_V2, "2001:db8::1", 40000, "2001:db8::2", 443, want, sizeof(want) - 1);
}

static void test_nothing_built(void **state)
{
	struct sockaddr_storage v4 = addr("1.2.3.4", 1), v6 = addr("::1", 2), unix_ss;
	unsigned char buf[PROXYPROTO_MAX];

	(void)state;
	memset(&unix_ss, 0, sizeof(unix_ss));
	unix_ss.ss_family = AF_UNIX;
	assert_int_equal(proxyproto_build(CONFIG_PROXY_OFF, &v4, &v4, buf, sizeof(buf)), 0);
	assert_int_equal(proxyproto_build(CONFIG_PROXY_V1, &v4, &v6, buf, sizeof(buf)), 0);
	assert_int_equal(proxyproto_build(CONFIG_PROXY_V2, &v6, &v4, buf, sizeof(buf)), 0);
	assert_int_equal(proxyproto_build(CONFIG_PROXY_V1, &unix_ss, &unix_ss, buf, sizeof(buf)), 0);
	assert_int_equal(proxyproto_build(CONFIG_PROXY_V2, &v4, &v4, buf, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),    cmocka_unit_test(test_v1_tcp6),
		cmocka_unit_test(test_v1_longest), cmocka_unit_test(test_v2_tcp4),
		cmocka_unit_test(test_v2_tcp6),    cmocka_unit_test(test_nothing_built),
	};

	return cmocka_run_group_tests_name("proxyproto", tests, NULL, NULL);
}

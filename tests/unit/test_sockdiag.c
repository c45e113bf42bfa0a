/* sockdiag: only a TIME_WAIT socket is ever destroyed. Real loopback
 * connections in a network namespace of the test's own; needs root
 * (SOCK_DESTROY wants CAP_NET_ADMIN): skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ipv6.h> /* struct in6_ifreq */
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockdiag.h"

struct conn {
	int server, client; /* the accepted end (ours, as for synguard) and the peer */
	struct sockaddr_storage local, peer;
};

static int setup(void **state)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	*state = NULL;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	close(fd);
	*state = (void *)1;
	return 0;
}

static void need_root(void **state)
{
	if (!*state)
		skip();
}

/* A connection to `at` (port 0: any), of length `len`. */
static void conn_open_at(struct conn *c, struct sockaddr_storage *at, socklen_t len)
{
	int l = socket(at->ss_family, SOCK_STREAM, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)at, len), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)at, &len), 0);
	c->client = socket(at->ss_family, SOCK_STREAM, 0);
	assert_int_equal(connect(c->client, (struct sockaddr *)at, len), 0);
	len = sizeof(c->peer);
	c->server = accept(l, (struct sockaddr *)&c->peer, &len);
	assert_true(c->server >= 0);
	len = sizeof(c->local);
	assert_int_equal(getsockname(c->server, (struct sockaddr *)&c->local, &len), 0);
	close(l);
}

static void conn_open(struct conn *c)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	conn_open_at(c, &ss, sizeof(*sin));
}

/* sockdiag_destroy until it stops saying EBUSY (a state changing on its
 * way), at most a second. */
static int destroy_settled(const struct conn *c, int *err)
{
	const struct timespec ms = { 0, 1000000 };
	int rc = -1;

	for (int i = 0; i < 1000; i++) {
		rc = sockdiag_destroy(&c->local, &c->peer);
		*err = rc < 0 ? errno : 0;
		if (rc == 0 || *err != EBUSY)
			break;
		nanosleep(&ms, NULL);
	}
	return rc;
}

/* Ours closed first, then the peer: TIME_WAIT, destroyed; then gone. */
static void test_time_wait_destroyed(void **state)
{
	struct conn c;
	int err;

	need_root(state);
	conn_open(&c);
	close(c.server);
	close(c.client);
	assert_int_equal(destroy_settled(&c, &err), 0);
	assert_int_equal(sockdiag_destroy(&c.local, &c.peer), -1);
	assert_int_equal(errno, ENOENT);
}

/* Ours closed, the peer has not: FIN_WAIT2 is left alone, however long. */
static void test_fin_wait_left_alone(void **state)
{
	struct conn c;
	char byte;

	need_root(state);
	conn_open(&c);
	close(c.server);
	assert_int_equal(recv(c.client, &byte, 1, 0), 0); /* our FIN arrived, and was ACKed */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sockdiag_destroy(&c.local, &c.peer), -1);
		assert_int_equal(errno, EBUSY);
	}
	close(c.client);
}

/* An open connection, and one the peer half-closed (ours in CLOSE_WAIT). */
static void test_open_left_alone(void **state)
{
	struct conn c;
	char byte;

	need_root(state);
	conn_open(&c);
	assert_int_equal(sockdiag_destroy(&c.local, &c.peer), -1);
	assert_int_equal(errno, EBUSY);
	shutdown(c.client, SHUT_WR);
	assert_int_equal(recv(c.server, &byte, 1, 0), 0);
	assert_int_equal(sockdiag_destroy(&c.local, &c.peer), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(send(c.server, "x", 1, MSG_NOSIGNAL), 1); /* still usable */
	assert_int_equal(recv(c.client, &byte, 1, 0), 1);
	close(c.server);
	close(c.client);
}

/* A socket on a link-local address is bound to its interface, and found
 * only on it: TIME_WAIT on fe80::1%lo is destroyed all the same. */
static void test_link_local_time_wait_destroyed(void **state)
{
	struct in6_ifreq ifr6 = { .ifr6_prefixlen = 64, .ifr6_ifindex = (int)if_nametoindex("lo") };
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct conn c;
	int fd, err;

	need_root(state);
	assert_int_equal(inet_pton(AF_INET6, "fe80::1", &ifr6.ifr6_addr), 1);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0 && errno == EAFNOSUPPORT)
		skip(); /* no IPv6 in this kernel */
	assert_true(fd >= 0);
	assert_true(ioctl(fd, SIOCSIFADDR, &ifr6) == 0 || errno == EEXIST);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = ifr6.ifr6_addr;
	sin6->sin6_scope_id = (uint32_t)ifr6.ifr6_ifindex;
	/* The new address is tentative (EADDRNOTAVAIL) until the kernel's
	 * address work has run: a moment, at most a second here. */
	for (int i = 0; i < 1000 && bind(fd, (struct sockaddr *)sin6, sizeof(*sin6)) < 0; i++) {
		assert_int_equal(errno, EADDRNOTAVAIL);
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	close(fd);
	conn_open_at(&c, &ss, sizeof(*sin6));
	assert_int_equal(((const struct sockaddr_in6 *)&c.local)->sin6_scope_id, ifr6.ifr6_ifindex);
	close(c.server);
	close(c.client);
	assert_int_equal(destroy_settled(&c, &err), 0);
	assert_int_equal(sockdiag_destroy(&c.local, &c.peer), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_wait_destroyed),
		cmocka_unit_test(test_fin_wait_left_alone),
		cmocka_unit_test(test_open_left_alone),
		cmocka_unit_test(test_link_local_time_wait_destroyed),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

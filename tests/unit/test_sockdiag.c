/* sockdiag: only a TIME_WAIT socket is ever destroyed. Real loopback
 * connections in a network namespace of the test's own; needs root
 * (SOCK_DESTROY wants CAP_NET_ADMIN): skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
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

static void conn_open(struct conn *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	c->client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c->client, (struct sockaddr *)&sin, sizeof(sin)), 0);
	len = sizeof(c->peer);
	c->server = accept(l, (struct sockaddr *)&c->peer, &len);
	assert_true(c->server >= 0);
	len = sizeof(c->local);
	assert_int_equal(getsockname(c->server, (struct sockaddr *)&c->local, &len), 0);
	close(l);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_wait_destroyed),
		cmocka_unit_test(test_fin_wait_left_alone),
		cmocka_unit_test(test_open_left_alone),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

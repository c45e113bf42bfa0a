/* Unit tests for sandbox: in a forked child that enters it, the calls
 * synguard makes after set-up still work (threads included) and calls
 * outside the list, or with arguments outside it, fail with EPERM without
 * killing the process. Needs no root: a filter needs only no_new_privs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

#define CHILD_CHECK(cond)                                                                                \
	do {                                                                                             \
		if (!(cond)) {                                                                           \
			fprintf(stderr, "sandbox child: %s:%d: check failed: %s (errno %d)\n", __FILE__, \
			        __LINE__, #cond, errno);                                                 \
			_exit(1);                                                                        \
		}                                                                                        \
	} while (0)

/* `call` must fail with EPERM: the filter's answer, not the kernel's. */
#define CHILD_DENIED(call) CHILD_CHECK((call) == -1 && errno == EPERM)

static void *thread_main(void *arg)
{
	int *fds = arg;

	return write(fds[1], "t", 1) == 1 ? arg : NULL;
}

static int bpf_cmd(int cmd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (unsigned)-1;
	return (int)syscall(SYS_bpf, cmd, &attr, sizeof(attr));
}

static void child(void)
{
	char err[256], c;
	int fds[2], s, n;
	pthread_t t;
	void *ret;
	void *p;

	CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHILD_CHECK(sandbox_enter(err, sizeof(err)) > 0);

	/* What synguard does once set up. */
	CHILD_CHECK(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
	CHILD_CHECK(ioctl(fds[0], FIONREAD, &n) == 0 && n == 0);
	CHILD_CHECK(pthread_create(&t, NULL, thread_main, fds) == 0);
	CHILD_CHECK(pthread_join(t, &ret) == 0 && ret == fds);
	CHILD_CHECK(read(fds[0], &c, 1) == 1 && c == 't');
	CHILD_CHECK((s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0 && close(s) == 0);
	CHILD_CHECK((s = socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)) >= 0 && close(s) == 0);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(p != MAP_FAILED && munmap(p, 1 << 20) == 0);
	/* A map command reaches the kernel, which finds no map. */
	CHILD_CHECK(bpf_cmd(BPF_MAP_LOOKUP_ELEM) == -1 && errno == EBADF);

	/* A reload reads the config and key files. */
	CHILD_CHECK((s = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && close(s) == 0);

	/* What it must not do. */
	CHILD_DENIED(open("/dev/null", O_WRONLY));
	CHILD_DENIED(open("/dev/null", O_RDWR));
	CHILD_DENIED(openat(AT_FDCWD, "/tmp/synguard-sandbox-test", O_RDONLY | O_CREAT, 0600));
	CHILD_DENIED(socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC));
	CHILD_DENIED(socket(AF_PACKET, SOCK_RAW, 0));
	CHILD_DENIED(ioctl(fds[0], FIOCLEX));
	CHILD_DENIED(bpf_cmd(BPF_PROG_LOAD));
	CHILD_DENIED(mprotect(p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 4096,
	                      PROT_READ | PROT_EXEC));
	CHILD_CHECK(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	                    MAP_FAILED &&
	            errno == EPERM);
	CHILD_DENIED(fork());
	CHILD_DENIED(execl("/bin/true", "true", (char *)NULL));
	CHILD_DENIED(kill(getppid(), 0));
	_exit(0);
}

static void test_sandbox(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child();
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st)); /* denied calls fail; they never kill */
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

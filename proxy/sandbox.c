#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* One allowed call: with no argument tests, or with up to two that must all
 * hold. Several rules for the same call allow it when any of them holds. */
struct sandbox_rule {
	int nr;
	unsigned n_args;
	struct scmp_arg_cmp args[2];
};

#define ANY(name)                  \
	{                          \
		SCMP_SYS(name), 0, \
		{                  \
			{          \
				0  \
			}          \
		}                  \
	}
#define IF(name, a)                \
	{                          \
		SCMP_SYS(name), 1, \
		{                  \
			a          \
		}                  \
	}
#define IF2(name, a, b)            \
	{                          \
		SCMP_SYS(name), 2, \
		{                  \
			a, b       \
		}                  \
	}
#define ARG_IS(i, v) SCMP_CMP(i, SCMP_CMP_EQ, (scmp_datum_t)(v))
#define ARG_HAS(i, bits) SCMP_CMP(i, SCMP_CMP_MASKED_EQ, (scmp_datum_t)(bits), (scmp_datum_t)(bits))
#define ARG_HAS_NOT(i, bits) SCMP_CMP(i, SCMP_CMP_MASKED_EQ, (scmp_datum_t)(bits), 0)

static int sandbox_distinct(const struct sandbox_rule *rules, size_t n)
{
	int count = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < i && rules[j].nr != rules[i].nr)
			j++;
		count += j == i;
	}
	return count;
}

int sandbox_enter(char *err, size_t errlen)
{
	const struct sandbox_rule allow[] = {
		/* Memory: malloc (brk; mmap, mremap and munmap for large blocks;
		 * madvise when it trims), thread stacks and their guard pages.
		 * Never executable: nothing is loaded after set-up. */
		ANY(brk),
		IF(mmap, ARG_HAS_NOT(2, PROT_EXEC)),
		IF(mprotect, ARG_HAS_NOT(2, PROT_EXEC)),
		ANY(munmap),
		ANY(mremap),
		ANY(madvise),

		/* Threads: pthread_create() for the workers, with clone() for
		 * threads only, never a new process (clone3's flags are out of a
		 * filter's reach: see below); a thread's start (set_robust_list,
		 * rseq) and end; futex for every lock (libevent, stdio, malloc). */
		IF(clone, ARG_HAS(0, CLONE_THREAD)),
		ANY(set_robust_list),
		ANY(rseq),
		ANY(futex),
		ANY(exit),
		ANY(exit_group),

		/* Signals: libevent's handlers return (rt_sigreturn) and are
		 * removed at exit (rt_sigaction); thread start and exit mask
		 * signals; abort() and raise() signal this process only; a call a
		 * signal interrupted is restarted. */
		ANY(rt_sigreturn),
		ANY(rt_sigaction),
		ANY(rt_sigprocmask),
		ANY(restart_syscall),
		ANY(getpid),
		ANY(gettid),
		IF(tgkill, ARG_IS(0, getpid())),

		/* sd_notify() (notify.c) asks who we are: it sends credentials
		 * only when real and effective ids differ. */
		ANY(getuid),
		ANY(geteuid),
		ANY(getgid),
		ANY(getegid),

		/* Time, where the vDSO does not answer; randomness (glibc, OpenSSL). */
		ANY(clock_gettime),
		ANY(clock_nanosleep),
		ANY(nanosleep),
		ANY(gettimeofday),
		ANY(getrandom),

		/* Event loops: libevent's epoll, and the eventfd and signal pipe
		 * that wake a loop; the log and counters on stderr; the admin
		 * endpoint's requests and answers (readv/writev of evbuffers). */
		ANY(epoll_wait),
		ANY(epoll_pwait),
		ANY(epoll_ctl),
		ANY(read),
		ANY(readv),
		ANY(write),
		ANY(writev),
		ANY(close),

		/* SIGHUP: the config file (with its @include files) and the
		 * key file read again (access() first). Only for reading: nothing is created,
		 * written or truncated. */
		IF(openat, ARG_HAS_NOT(2, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)),
		IF(faccessat, ARG_IS(2, R_OK)),
		IF(faccessat2, ARG_IS(2, R_OK)),
		ANY(fstat),
		ANY(newfstatat),
		ANY(lseek),
		/* ... and whether the open-file limit has room for a new
		 * max_connections: this process's, read only (getrlimit). */
		IF2(prlimit64, ARG_IS(0, 0), ARG_IS(2, 0)),

		/* libnftables waits for the kernel's answer with select() when
		 * fw_remove() deletes the table at exit. */
		ANY(select),
		ANY(pselect6),

		/* The relay: splice() through a pipe pair per connection, sized
		 * with fcntl(F_SETPIPE_SZ); non-blocking mode; half-close. */
		ANY(splice),
		ANY(pipe2),
		ANY(fcntl),
		ANY(shutdown),

		/* Sockets: adopted connections (TCP_REPAIR, SO_MARK, bound to the
		 * protected address) and backend connections, IPv4 and IPv6;
		 * if_nametoindex()'s AF_UNIX socket; netlink for getifaddrs()
		 * (route) and for removing TIME_WAIT sockets (sock_diag). The
		 * admin endpoint accepts; the TX ring is kicked with sendto();
		 * netlink talks with sendto/recvmsg; nft with sendmsg. */
		IF(socket, ARG_IS(0, AF_INET)),
		IF(socket, ARG_IS(0, AF_INET6)),
		IF(socket, ARG_IS(0, AF_UNIX)),
		IF2(socket, ARG_IS(0, AF_NETLINK), ARG_IS(2, NETLINK_ROUTE)),
		IF2(socket, ARG_IS(0, AF_NETLINK), ARG_IS(2, NETLINK_SOCK_DIAG)),
		ANY(bind),
		ANY(listen), /* the kernel path: a reload's new endpoints */
		ANY(connect),
		ANY(accept4),
		ANY(accept),
		ANY(getsockname),
		ANY(getpeername),
		ANY(setsockopt),
		ANY(getsockopt),
		ANY(sendto),
		ANY(recvfrom),
		ANY(sendmsg),
		ANY(recvmsg),

		/* ioctl: bytes waiting to be read (libevent's evbuffer_read),
		 * the urgent mark on relayed sockets, an interface's index
		 * (if_nametoindex). */
		IF(ioctl, ARG_IS(1, FIONREAD)),
		IF(ioctl, ARG_IS(1, SIOCATMARK)),
		IF(ioctl, ARG_IS(1, SIOCGIFINDEX)),

		/* bpf: the XDP program's maps every second (fastpath.c): its key
		 * (read, then written), its counters, and the map of this host's
		 * addresses when they change (walked, stale entries deleted). No
		 * program loads, no new maps. */
		IF(bpf, ARG_IS(0, BPF_MAP_LOOKUP_ELEM)),
		IF(bpf, ARG_IS(0, BPF_MAP_UPDATE_ELEM)),
		IF(bpf, ARG_IS(0, BPF_MAP_DELETE_ELEM)),
		IF(bpf, ARG_IS(0, BPF_MAP_GET_NEXT_KEY)),
	};
	const size_t n = sizeof(allow) / sizeof(allow[0]);
	/* glibc's pthread_create() tries clone3 and, told ENOSYS, uses clone,
	 * whose flags the filter can check. That answer comes from a filter of
	 * its own that logs nothing, so a new thread is not logged as a denied
	 * call; the main filter allows clone3, and the stricter answer wins. */
	scmp_filter_ctx no_clone3 = seccomp_init(SCMP_ACT_ALLOW),
	                filter = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	const char *step = "create";
	int rc = -ENOMEM;

	if (no_clone3 && filter) {
		step = "build";
		rc = seccomp_rule_add(no_clone3, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		if (rc == 0)
			rc = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone3), 0);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = seccomp_rule_add_array(filter, SCMP_ACT_ALLOW, allow[i].nr, allow[i].n_args,
			                            allow[i].args);
	}
	if (rc == 0) {
		step = "configure";
		rc = seccomp_attr_set(no_clone3, SCMP_FLTATR_CTL_TSYNC, 1);
		if (rc == 0)
			rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1);
		if (rc == 0)
			rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_LOG, 1);
	}
	if (rc == 0) {
		step = "load";
		rc = seccomp_load(no_clone3);
		if (rc == 0)
			rc = seccomp_load(filter);
	}
	seccomp_release(no_clone3);
	seccomp_release(filter);
	if (rc != 0) {
		snprintf(err, errlen, "cannot %s the seccomp filter: %s", step, strerror(-rc));
		return -1;
	}
	return sandbox_distinct(allow, n);
}

#include "privs.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "netaddr.h"

#define PRIVS_N(a) (sizeof(a) / sizeof((a)[0]))

static const cap_value_t privs_wanted[] = { CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_SYS_RESOURCE };
/* Held only while privs_drop() works: the bounding set (first: alone when
 * there is no switch), the switch. */
static const cap_value_t privs_switching[] = { CAP_SETPCAP, CAP_SETUID, CAP_SETGID };

static void privs_add(struct privs_caps *c, cap_value_t v)
{
	if (c->n < PRIVS_CAPS_MAX)
		c->v[c->n++] = v;
}

static bool privs_privileged_port(const struct config_endpoint *ep)
{
	return netaddr_port(&ep->addr) < 1024;
}

void privs_needed(const struct config *cfg, const struct privs_user *cur, const struct privs_user *u,
                  struct privs_caps *need)
{
	bool ring = cfg->datapath != CONFIG_DATAPATH_KERNEL, bpf = cfg->datapath != CONFIG_DATAPATH_RING;
	bool low = cfg->admin_enabled && privs_privileged_port(&cfg->admin);

	need->n = 0;
	privs_add(need, CAP_NET_ADMIN);
	if (ring)
		privs_add(need, CAP_NET_RAW);
	if (bpf) {
		privs_add(need, CAP_BPF);
		privs_add(need, CAP_PERFMON);
	}
	for (size_t i = 0; cfg->mode == CONFIG_MODE_RELAY && i < cfg->n_listen; i++)
		low = low || privs_privileged_port(&cfg->listen[i]);
	if (low)
		privs_add(need, CAP_NET_BIND_SERVICE);
	if (cur->uid != u->uid || cur->gid != u->gid) {
		privs_add(need, CAP_SETUID);
		privs_add(need, CAP_SETGID);
		privs_add(need, CAP_SETPCAP);
	}
}

/* The calling process: who it is now (real and effective ids alike). */
static bool privs_current(struct privs_user *cur)
{
	cur->uid = geteuid();
	cur->gid = getegid();
	return getuid() == cur->uid && getgid() == cur->gid;
}

static bool privs_has(cap_t caps, cap_value_t c, cap_flag_t flag)
{
	cap_flag_value_t v = CAP_CLEAR;

	return cap_get_flag(caps, c, flag, &v) == 0 && v == CAP_SET;
}

int privs_check(const struct config *cfg, const struct privs_user *u, char *err, size_t errlen)
{
	struct privs_caps need;
	struct privs_user cur;
	char missing[256] = "";
	cap_t caps = cap_get_proc();

	if (!caps) {
		snprintf(err, errlen, "cannot read capabilities: %s", strerror(errno));
		return -1;
	}
	/* Real and effective ids that differ count as "not `u` yet". */
	if (!privs_current(&cur))
		cur.uid = (uid_t)-1;
	privs_needed(cfg, &cur, u, &need);
	for (size_t i = 0; i < need.n; i++) {
		if (!privs_has(caps, need.v[i], CAP_EFFECTIVE)) {
			char *name = cap_to_name(need.v[i]);
			size_t len = strlen(missing);
			snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? ", " : "",
			         name ? name : "?");
			cap_free(name);
		}
	}
	cap_free(caps);
	if (!missing[0])
		return 0;
	snprintf(err, errlen, "missing capabilities %s: run synguard as root (or grant them)", missing);
	return -1;
}

int privs_resolve(const char *name, struct privs_user *u, char *err, size_t errlen)
{
	const struct passwd *pw = getpwnam(name);
	unsigned long long n;

	if (pw) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
		return 0;
	}
	if (!name[0] || strspn(name, "0123456789") != strlen(name)) {
		snprintf(err, errlen, "no such user");
		return -1;
	}
	errno = 0;
	n = strtoull(name, NULL, 10);
	/* (uid_t)-1 is no uid: to the kernel it means "unchanged". */
	if (errno || n >= (uid_t)-1) {
		snprintf(err, errlen, "not a valid uid (0 to %u)", (uid_t)-2);
		return -1;
	}
	u->uid = (uid_t)n;
	pw = getpwuid(u->uid);
	u->gid = pw ? pw->pw_gid : (gid_t)n;
	return 0;
}

static bool privs_in(const cap_value_t *set, size_t n, cap_value_t c)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == c)
			return true;
	return false;
}

/* Add `v` to the permitted and effective sets of `caps`. */
static int privs_raise(cap_t caps, const cap_value_t *v, int n)
{
	if (n == 0) /* cap_set_flag() refuses an empty list */
		return 0;
	if (cap_set_flag(caps, CAP_PERMITTED, n, v, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n, v, CAP_SET) < 0)
		return -1;
	return 0;
}

/* Permitted and effective: exactly `keep` and `extra`; nothing inheritable. */
static int privs_set(cap_t caps, const cap_value_t *keep, int n_keep, const cap_value_t *extra, int n_extra)
{
	if (cap_clear(caps) < 0 || privs_raise(caps, keep, n_keep) < 0 ||
	    privs_raise(caps, extra, n_extra) < 0)
		return -1;
	return cap_set_proc(caps);
}

/* Needs CAP_SETPCAP, which stays effective while it leaves the bounding set. */
static int privs_clear_bound(const cap_value_t *keep, size_t n_keep)
{
	for (cap_value_t c = 0; c < cap_max_bits(); c++)
		if (!privs_in(keep, n_keep, c) && cap_get_bound(c) == 1 && cap_drop_bound(c) < 0)
			return -1;
	return 0;
}

int privs_drop(const struct privs_user *u, char *err, size_t errlen)
{
	cap_value_t keep[PRIVS_N(privs_wanted)];
	cap_t caps = cap_get_proc();
	const char *step = "read capabilities";
	struct privs_user cur;
	/* Started as `u` (a unit's User=): no switch, no CAP_SETUID needed. */
	bool is_u = privs_current(&cur) && cur.uid == u->uid && cur.gid == u->gid;
	bool bound = false;
	int n_keep = 0, rc = -1;

	if (!caps)
		goto out;
	for (size_t i = 0; i < PRIVS_N(privs_wanted); i++)
		if (privs_has(caps, privs_wanted[i], CAP_PERMITTED))
			keep[n_keep++] = privs_wanted[i];
	bound = !is_u || privs_has(caps, CAP_SETPCAP, CAP_PERMITTED);
	step = "narrow capabilities";
	if (privs_set(caps, keep, n_keep, privs_switching,
	              is_u ? (int)bound : (int)PRIVS_N(privs_switching)) < 0)
		goto out;
	step = "clear the bounding set";
	if (bound && privs_clear_bound(keep, (size_t)n_keep) < 0)
		goto out;
	/* libcap raises CAP_SETGID / CAP_SETUID for the switch, keeps the
	 * permitted set across setuid() (PR_SET_KEEPCAPS) and lowers the
	 * effective set after. */
	step = "switch group";
	if (!is_u && cap_setgroups(u->gid, 1, &u->gid) < 0)
		goto out;
	step = "switch user";
	if (!is_u && cap_setuid(u->uid) < 0)
		goto out;
	step = "drop capabilities";
	if (privs_set(caps, keep, n_keep, NULL, 0) < 0)
		goto out;
	step = "clear the ambient set";
	if (cap_reset_ambient() < 0)
		goto out;
	step = "set no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "cannot %s (becoming uid %u, gid %u): %s", step, (unsigned)u->uid,
		         (unsigned)u->gid, strerror(errno));
	cap_free(caps);
	return rc;
}

const char *privs_caps_str(char *buf, size_t len)
{
	cap_t caps = cap_get_proc();
	char *text = caps ? cap_to_text(caps, NULL) : NULL;

	snprintf(buf, len, "%s", text ? text : "?");
	cap_free(text);
	cap_free(caps);
	return buf;
}

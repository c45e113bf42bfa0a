/* privs — who synguard is once it is set up.
 *
 * synguard starts as root, or already as the configured user with the
 * capabilities set-up needs (a systemd unit's User= and AmbientCapabilities=):
 * its packet rings, nft table and BPF programs need them (privs_needed()).
 * Once they exist, privs_drop() makes it the configured user (uid, gid, and
 * that gid as its only supplementary group; started as that user, it keeps
 * its groups) holding only what the running daemon still needs:
 *   CAP_NET_ADMIN         TCP_REPAIR, SO_MARK, sock_diag's SOCK_DESTROY, and
 *                         removing the nft table at exit;
 *   CAP_NET_BIND_SERVICE  binding adopted sockets to a protected port < 1024;
 *   CAP_SYS_RESOURCE      relay pipes of the configured size: without it the
 *                         kernel caps a user's pipes at 64 MB in all
 *                         (fs.pipe-user-pages-soft), a few hundred connections.
 * Each only if the process had it (a container may withhold
 * CAP_SYS_RESOURCE). Every other capability leaves the bounding set too
 * (when it holds CAP_SETPCAP; else the bounding set is its starter's);
 * nothing stays inheritable or ambient; no_new_privs is set.
 */
#ifndef SYNGUARD_PRIVS_H
#define SYNGUARD_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/types.h>

#include "config.h"

#define PRIVS_CAPS_MAX 8

struct privs_user {
	uid_t uid;
	gid_t gid;
};

/* A few capabilities, in the order privs_needed() adds them. */
struct privs_caps {
	cap_value_t v[PRIVS_CAPS_MAX];
	size_t n;
};

/* What starting with `cfg` needs, as `cur` becoming `u` (pure):
 *   CAP_NET_ADMIN         always: XDP and TC attach, the nft table, TCP_REPAIR;
 *   CAP_NET_RAW           the packet ring (datapath ring, xdp, and auto, which
 *                         may fall back to them);
 *   CAP_BPF, CAP_PERFMON  loading the BPF programs (datapath xdp, kernel,
 *                         auto): without CAP_PERFMON the verifier refuses them;
 *   CAP_NET_BIND_SERVICE  a listen port below 1024 in relay mode (adoption and
 *                         the kernel path's listeners bind it; in protect mode
 *                         the server does), or an admin port below 1024;
 *   CAP_SETUID, CAP_SETGID, CAP_SETPCAP  only when `u` is not `cur` already. */
void privs_needed(const struct config *cfg, const struct privs_user *cur, const struct privs_user *u,
                  struct privs_caps *need);

/* Refuse early, with a clear reason: the effective set must hold all
 * privs_needed() names, for this process becoming `u`. Returns 0, or -1
 * naming what is missing in `err`. */
int privs_check(const struct config *cfg, const struct privs_user *u, char *err, size_t errlen);

/* `name` (the `user` setting: a user name, or a uid in digits) into `u`.
 * A name must be in the passwd database; a uid that is not gets the gid of
 * the same number. Returns 0, or -1 with the reason in `err`. */
int privs_resolve(const char *name, struct privs_user *u, char *err, size_t errlen);

/* Become `u` with the capabilities above (already `u`: only narrow them,
 * which needs no CAP_SETUID). Call before any other thread exists:
 * capabilities are per thread. Returns 0, or -1 with the step that failed in
 * `err`. */
int privs_drop(const struct privs_user *u, char *err, size_t errlen);

/* The capabilities held now, as text ("cap_net_admin,...=ep"), in `buf`. */
const char *privs_caps_str(char *buf, size_t len);

#endif

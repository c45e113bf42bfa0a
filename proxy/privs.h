/* privs — who synguard is once it is set up.
 *
 * synguard starts as root: its packet rings, nft table and XDP program need
 * CAP_NET_RAW, CAP_NET_ADMIN and more. Once they exist, privs_drop() makes it
 * the configured user (uid, gid, and that gid as its only supplementary
 * group) holding only what the running daemon still needs:
 *   CAP_NET_ADMIN         TCP_REPAIR, SO_MARK, sock_diag's SOCK_DESTROY, and
 *                         removing the nft table at exit;
 *   CAP_NET_BIND_SERVICE  binding adopted sockets to a protected port < 1024;
 *   CAP_SYS_RESOURCE      relay pipes of the configured size: without it the
 *                         kernel caps a user's pipes at 64 MB in all
 *                         (fs.pipe-user-pages-soft), a few hundred connections.
 * Each only if the process had it (a container may withhold
 * CAP_SYS_RESOURCE). Every other capability leaves the bounding set too;
 * nothing stays inheritable or ambient; no_new_privs is set.
 */
#ifndef SYNGUARD_PRIVS_H
#define SYNGUARD_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

struct privs_user {
	uid_t uid;
	gid_t gid;
};

/* Refuse early, with a clear reason: set-up needs CAP_NET_ADMIN and
 * CAP_NET_RAW, privs_drop() CAP_SETUID, CAP_SETGID and CAP_SETPCAP. Returns
 * 0, or -1 naming what is missing in `err`. */
int privs_check(char *err, size_t errlen);

/* `name` (the `user` setting: a user name, or a uid in digits) into `u`.
 * A name must be in the passwd database; a uid that is not gets the gid of
 * the same number. Returns 0, or -1 with the reason in `err`. */
int privs_resolve(const char *name, struct privs_user *u, char *err, size_t errlen);

/* Become `u` with the capabilities above. Call before any other thread
 * exists: capabilities are per thread. Returns 0, or -1 with the step that
 * failed in `err`. */
int privs_drop(const struct privs_user *u, char *err, size_t errlen);

/* The capabilities held now, as text ("cap_net_admin,...=ep"), in `buf`. */
const char *privs_caps_str(char *buf, size_t len);

#endif

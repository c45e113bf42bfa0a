/* fw — the nftables table that keeps the kernel out of synguard's way.
 *
 * There is no listening socket on a protected port, so the kernel would
 * answer every SYN, ACK and early data segment with a reset. The table drops,
 * at prerouting priority raw, every packet to a protected address:port that
 * has no socket marked FW_MARK_LIVE. AF_PACKET taps frames before netfilter,
 * so synguard still sees them. An adopted socket carries FW_MARK_REPAIR while
 * it is being built (its packets stay dropped) and FW_MARK_LIVE from then on.
 * A TIME_WAIT socket carries no mark and so does not swallow a reused port.
 *
 * Each instance has its own table, inet synguard-NAME (config.h's name), made
 * with nftables' owner flag: only the netlink socket of fw's handle may change
 * it, and the kernel deletes it when that socket closes, so also when the
 * process is killed. A table of the same name that exists at install time is
 * therefore another live instance's, and installing is refused.
 */
#ifndef SYNGUARD_FW_H
#define SYNGUARD_FW_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define FW_TABLE_PREFIX "synguard-"
#define FW_MARK_REPAIR 0x53470001u
#define FW_MARK_LIVE 0x53470002u

enum fw_script {
	FW_SCRIPT_INSTALL, /* create the table (replacing an ownerless one of the same name) */
	FW_SCRIPT_UPDATE,  /* replace the rules of an installed table for cfg's endpoints */
};

/* The nft script for cfg's table: pure, for tests; nft applies each as one
 * transaction. Returns the length written, or 0 if `cap` is too small. */
size_t fw_ruleset(const struct config *cfg, enum fw_script what, char *buf, size_t cap);

struct fw;

/* A handle on nftables in the current network namespace, for the calls
 * below. nft reads its symbol tables under /etc/iproute2 when a handle is
 * made: make it while synguard may still open files (sandbox.h), and keep it
 * for the removal at exit. NULL with a message in `err`. */
struct fw *fw_new(char *err, size_t errlen);

/* Install cfg's table. Returns 0, or -1 with nft's message in `err` (or,
 * when another live instance holds the table, one that says so). */
int fw_install(struct fw *fw, const struct config *cfg, char *err, size_t errlen);

/* Guard cfg's endpoints instead of the installed ones (a reload), with no
 * moment where neither set is guarded; cfg's name must be the installed
 * table's. Needs CAP_NET_ADMIN only. Returns 0, or -1 with a message (the
 * old rules then stay). */
int fw_update(struct fw *fw, const struct config *cfg, char *err, size_t errlen);

/* Remove the installed table, if any; needs CAP_NET_ADMIN only. Returns 0,
 * or -1 with a message. */
int fw_remove(struct fw *fw, char *err, size_t errlen);

void fw_free(struct fw *fw);

#endif

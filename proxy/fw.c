#include "fw.h"

#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

/* Append to buf at *off; returns 0, or -1 once it no longer fits. */
static int fw_append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *off)
		return -1;
	*off += (size_t)n;
	return 0;
}

/* "ip daddr 192.0.2.1 " / "ip6 daddr 2001:db8::1 " / "meta nfproto ipv4 " for a wildcard. */
static int fw_match_daddr(const struct config_endpoint *ep, char *buf, size_t cap, size_t *off)
{
	bool v4 = ep->addr.ss_family == AF_INET;
	char addr[INET6_ADDRSTRLEN];

	if (netaddr_is_any(&ep->addr))
		return fw_append(buf, cap, off, "meta nfproto %s ", v4 ? "ipv4" : "ipv6");
	if (!netaddr_host(&ep->addr, addr, sizeof(addr)))
		return -1;
	return fw_append(buf, cap, off, "%s daddr %s ", v4 ? "ip" : "ip6", addr);
}

/* One "iifname ... jump guard" line per endpoint, each after `lead`. */
static int fw_rules(const struct config *cfg, const char *lead, char *buf, size_t cap, size_t *off)
{
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct config_endpoint *ep = &cfg->listen[i];
		if (fw_append(buf, cap, off, "%siifname \"%s\" ", lead, cfg->interface) < 0 ||
		    fw_match_daddr(ep, buf, cap, off) < 0 ||
		    fw_append(buf, cap, off, "tcp dport %u jump guard\n", netaddr_port(&ep->addr)) < 0)
			return -1;
	}
	return 0;
}

static size_t fw_install_script(const struct config *cfg, char *buf, size_t cap)
{
	const char *t = cfg->name;
	size_t off = 0;

	/* "add" then "delete" makes the delete succeed whether or not an
	 * ownerless table of the name exists (made by hand, or by a synguard
	 * before tables had owners); an owned one fails the "add", untouched. */
	if (fw_append(buf, cap, &off,
	              "add table inet " FW_TABLE_PREFIX "%s\n"
	              "delete table inet " FW_TABLE_PREFIX "%s\n"
	              "table inet " FW_TABLE_PREFIX "%s {\n"
	              "\tflags owner\n"
	              "\tchain guard {\n"
	              "\t\tsocket mark 0x%08x accept\n"
	              "\t\tcounter drop\n"
	              "\t}\n"
	              "\tchain prerouting {\n"
	              "\t\ttype filter hook prerouting priority raw; policy accept;\n",
	              t, t, t, FW_MARK_LIVE) < 0 ||
	    fw_rules(cfg, "\t\t", buf, cap, &off) < 0 || fw_append(buf, cap, &off, "\t}\n}\n") < 0)
		return 0;
	return off;
}

static size_t fw_update_script(const struct config *cfg, char *buf, size_t cap)
{
	char lead[96];
	size_t off = 0;

	snprintf(lead, sizeof(lead), "add rule inet " FW_TABLE_PREFIX "%s prerouting ", cfg->name);
	if (fw_append(buf, cap, &off, "flush chain inet " FW_TABLE_PREFIX "%s prerouting\n", cfg->name) < 0 ||
	    fw_rules(cfg, lead, buf, cap, &off) < 0)
		return 0;
	return off;
}

size_t fw_ruleset(const struct config *cfg, enum fw_script what, char *buf, size_t cap)
{
	return what == FW_SCRIPT_INSTALL ? fw_install_script(cfg, buf, cap) : fw_update_script(cfg, buf, cap);
}

struct fw {
	/* Its netlink socket owns the table: open from fw_new() to fw_free(). */
	struct nft_ctx *nft;
	char name[CONFIG_NAME_MAX + 1]; /* the installed table's instance name; "" when none */
};

struct fw *fw_new(char *err, size_t errlen)
{
	struct fw *fw = calloc(1, sizeof(*fw));

	if (!fw || !(fw->nft = nft_ctx_new(NFT_CTX_DEFAULT))) {
		snprintf(err, errlen, "nftables: cannot create a context");
		free(fw);
		return NULL;
	}
	nft_ctx_buffer_output(fw->nft);
	nft_ctx_buffer_error(fw->nft);
	return fw;
}

void fw_free(struct fw *fw)
{
	if (!fw)
		return;
	nft_ctx_free(fw->nft);
	free(fw);
}

/* Run an nft script; on failure copy nft's own error text into err. */
static int fw_run(struct fw *fw, const char *script, char *err, size_t errlen)
{
	const char *msg;

	if (nft_run_cmd_from_buffer(fw->nft, script) == 0)
		return 0;
	msg = nft_ctx_get_error_buffer(fw->nft); /* read, it is emptied for the next run */
	snprintf(err, errlen, "nftables: %s", msg && *msg ? msg : "command failed");
	/* nft ends its message with a newline; logs want one line. */
	err[strcspn(err, "\n")] = '\0';
	return -1;
}

/* The install failed: if a table of the name exists with an owner, that is
 * another live instance (a dead one's is gone with its socket): say so. */
static void fw_explain_owned(struct fw *fw, const struct config *cfg, char *err, size_t errlen)
{
	char cmd[64], who[64] = "";
	const char *out, *pn;

	snprintf(cmd, sizeof(cmd), "list table inet " FW_TABLE_PREFIX "%s", cfg->name);
	if (nft_run_cmd_from_buffer(fw->nft, cmd) != 0) {
		nft_ctx_get_error_buffer(fw->nft); /* empty it for the next run */
		return;
	}
	out = nft_ctx_get_output_buffer(fw->nft);
	if (!out || !strstr(out, "flags owner"))
		return;
	/* nft lists the owner's process name: "table inet X { # progname synguard". */
	if ((pn = strstr(out, "# progname ")) != NULL)
		snprintf(who, sizeof(who), " (process %.*s)", (int)strcspn(pn + 11, " \n"), pn + 11);
	snprintf(err, errlen,
	         "another synguard instance named %s runs in this network namespace: its nftables table "
	         "inet " FW_TABLE_PREFIX "%s is held by a live process%s; give this one another name",
	         cfg->name, cfg->name, who);
}

static int fw_run_script(struct fw *fw, const struct config *cfg, enum fw_script what, char *err,
                         size_t errlen)
{
	char script[8192];

	if (fw_ruleset(cfg, what, script, sizeof(script)) == 0) {
		snprintf(err, errlen, "nftables: ruleset too large");
		return -1;
	}
	return fw_run(fw, script, err, errlen);
}

int fw_install(struct fw *fw, const struct config *cfg, char *err, size_t errlen)
{
	if (fw_run_script(fw, cfg, FW_SCRIPT_INSTALL, err, errlen) < 0) {
		fw_explain_owned(fw, cfg, err, errlen);
		return -1;
	}
	strcpy(fw->name, cfg->name);
	return 0;
}

int fw_update(struct fw *fw, const struct config *cfg, char *err, size_t errlen)
{
	if (!fw->name[0] || strcmp(fw->name, cfg->name) != 0) {
		snprintf(err, errlen, "nftables: no table " FW_TABLE_PREFIX "%s installed to update%s%s",
		         cfg->name, fw->name[0] ? "; the installed one is " FW_TABLE_PREFIX : "", fw->name);
		return -1;
	}
	return fw_run_script(fw, cfg, FW_SCRIPT_UPDATE, err, errlen);
}

int fw_remove(struct fw *fw, char *err, size_t errlen)
{
	char cmd[64];

	if (!fw->name[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "delete table inet " FW_TABLE_PREFIX "%s\n", fw->name);
	if (fw_run(fw, cmd, err, errlen) < 0)
		return -1;
	fw->name[0] = '\0';
	return 0;
}

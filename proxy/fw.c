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

size_t fw_ruleset(const struct config *cfg, char *buf, size_t cap)
{
	size_t off = 0;

	/* "add" then "delete" makes the delete succeed whether or not a stale
	 * table from a crashed run exists; nft applies the file atomically. */
	if (fw_append(buf, cap, &off,
	              "add table inet " FW_TABLE "\n"
	              "delete table inet " FW_TABLE "\n"
	              "table inet " FW_TABLE " {\n"
	              "\tchain guard {\n"
	              "\t\tsocket mark 0x%08x accept\n"
	              "\t\tcounter drop\n"
	              "\t}\n"
	              "\tchain prerouting {\n"
	              "\t\ttype filter hook prerouting priority raw; policy accept;\n",
	              FW_MARK_LIVE) < 0)
		return 0;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct config_endpoint *ep = &cfg->listen[i];
		if (fw_append(buf, cap, &off, "\t\tiifname \"%s\" ", cfg->interface) < 0 ||
		    fw_match_daddr(ep, buf, cap, &off) < 0 ||
		    fw_append(buf, cap, &off, "tcp dport %u jump guard\n", netaddr_port(&ep->addr)) < 0)
			return 0;
	}
	if (fw_append(buf, cap, &off, "\t}\n}\n") < 0)
		return 0;
	return off;
}

struct fw {
	struct nft_ctx *nft;
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

int fw_install(struct fw *fw, const struct config *cfg, char *err, size_t errlen)
{
	char script[8192];

	if (fw_ruleset(cfg, script, sizeof(script)) == 0) {
		snprintf(err, errlen, "nftables: ruleset too large");
		return -1;
	}
	return fw_run(fw, script, err, errlen);
}

int fw_remove(struct fw *fw, char *err, size_t errlen)
{
	return fw_run(fw, "add table inet " FW_TABLE "\ndelete table inet " FW_TABLE "\n", err, errlen);
}

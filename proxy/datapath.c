#include "datapath.h"

#include <stdio.h>

const char *datapath_name(enum datapath_kind k)
{
	switch (k) {
	case DATAPATH_KERNEL:
		return "kernel";
	case DATAPATH_XDP:
		return "xdp";
	default:
		return "ring";
	}
}

/* Why the kernel path cannot run here, or NULL if it can. */
static const char *datapath_kernel_blocker(const struct datapath_facts *f)
{
	if (!f->kfunc)
		return "this kernel has no bpf_sk_assign_tcp_reqsk() (Linux >= 6.9 has)";
	if (f->syncookies != 1 && f->syncookies != 2)
		return "net.ipv4.tcp_syncookies is not 1 or 2 (the listener would reset cookie ACKs)";
	if (f->timestamps == 0)
		return "net.ipv4.tcp_timestamps is 0 (the kernel would refuse clients' timestamps)";
	if (f->sack == 0)
		return "net.ipv4.tcp_sack is 0 (the kernel would refuse clients' SACK)";
	if (f->window_scaling == 0)
		return "net.ipv4.tcp_window_scaling is 0 (the kernel would refuse clients' window scaling)";
	return NULL;
}

int datapath_plan(const struct config *cfg, const struct datapath_facts *f, enum datapath_kind *first,
                  char *why, size_t whylen)
{
	const char *blocker = datapath_kernel_blocker(f);

	why[0] = '\0';
	switch (cfg->datapath) {
	case CONFIG_DATAPATH_RING:
		*first = DATAPATH_RING;
		snprintf(why, whylen, "datapath = \"ring\"");
		return 0;
	case CONFIG_DATAPATH_XDP:
		*first = DATAPATH_XDP;
		snprintf(why, whylen, "datapath = \"xdp\"");
		return 0;
	case CONFIG_DATAPATH_KERNEL:
	case CONFIG_DATAPATH_AUTO:
		break;
	}
	if (!blocker) {
		*first = DATAPATH_KERNEL;
		snprintf(why, whylen, "%s",
		         cfg->datapath == CONFIG_DATAPATH_KERNEL ? "datapath = \"kernel\""
		                                                 : "auto: the kernel can");
		return 0;
	}
	if (cfg->datapath == CONFIG_DATAPATH_KERNEL || cfg->mode == CONFIG_MODE_PROTECT) {
		snprintf(why, whylen, "%s needs the kernel path, but %s",
		         cfg->mode == CONFIG_MODE_PROTECT ? "mode = \"protect\"" : "datapath = \"kernel\"",
		         blocker);
		return -1;
	}
	*first = DATAPATH_XDP;
	snprintf(why, whylen, "auto: not the kernel path: %s", blocker);
	return 0;
}

bool datapath_fallback(const struct config *cfg, enum datapath_kind k, enum datapath_kind *next)
{
	if (cfg->datapath != CONFIG_DATAPATH_AUTO || cfg->mode == CONFIG_MODE_PROTECT || k == DATAPATH_RING)
		return false;
	*next = k == DATAPATH_KERNEL ? DATAPATH_XDP : DATAPATH_RING;
	return true;
}

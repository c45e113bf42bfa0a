#include "fastpath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <errno.h>
#include <event2/event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netaddr.h"
#include "synack.h"
#include "xdp_shared.h"
#include "xdp_syn.skel.h"

struct fastpath {
	struct xdp_syn *skel;
	struct bpf_link *link;
	int ifindex; /* 0 when not attached */
	int ncpus;
	/* From fastpath_start() on: */
	struct cookie_jar *jar;  /* the program's keys */
	uint64_t epoch;          /* the one whose key the program has */
	struct localaddr *local; /* this host's addresses, as the program knows them */
	struct stats *stats;     /* its counters, for the caller to sum */
	struct event *ev_tick;
};

static int fastpath_add_endpoint(struct fastpath *fp, const struct config_endpoint *ep)
{
	struct xdp_endpoint key = { .family = (uint8_t)ep->addr.ss_family,
		                    .port = htons(netaddr_port(&ep->addr)) };
	const uint8_t *addr;
	size_t alen = netaddr_raw(&ep->addr, &addr);
	uint8_t one = 1;

	memcpy(key.addr, addr, alen);
	return bpf_map__update_elem(fp->skel->maps.endpoints, &key, sizeof(key), &one, sizeof(one), BPF_ANY);
}

static int fastpath_params(struct fastpath *fp, struct xdp_params *p)
{
	uint32_t zero = 0;

	return bpf_map__lookup_elem(fp->skel->maps.params, &zero, sizeof(zero), p, sizeof(*p), 0);
}

static int fastpath_store(struct fastpath *fp, const struct xdp_params *p)
{
	uint32_t zero = 0;

	return bpf_map__update_elem(fp->skel->maps.params, &zero, sizeof(zero), p, sizeof(*p), BPF_ANY);
}

/* The interface's link-layer address, into the program's parameters. */
static int fastpath_read_mac(const char *ifname, struct xdp_params *p)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc == 0)
		memcpy(p->mac, ifr.ifr_hwaddr.sa_data, sizeof(p->mac));
	return rc;
}

struct fastpath *fastpath_open(const struct config *cfg, const char *ifname, char *err, size_t errlen)
{
	struct fastpath *fp = calloc(1, sizeof(*fp));
	struct xdp_params p = { .mss = cfg->mss };

	if (!fp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fp->ncpus = libbpf_num_possible_cpus();
	fp->skel = xdp_syn__open_and_load();
	if (!fp->skel || fp->ncpus <= 0) {
		snprintf(err, errlen, "cannot load the XDP program: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (fastpath_add_endpoint(fp, &cfg->listen[i]) < 0) {
			snprintf(err, errlen, "XDP endpoint map: %s", strerror(errno));
			goto fail;
		}
	}
	if (ifname && fastpath_read_mac(ifname, &p) < 0) {
		snprintf(err, errlen, "link-layer address of %s: %s", ifname, strerror(errno));
		goto fail;
	}
	if (fastpath_store(fp, &p) < 0) {
		snprintf(err, errlen, "XDP parameters: %s", strerror(errno));
		goto fail;
	}
	if (!ifname)
		return fp;
	/* No mode flag: the driver's own (native) XDP where it has one, else the
	 * kernel's generic XDP, which works on any device. */
	fp->ifindex = (int)if_nametoindex(ifname);
	fp->link = bpf_program__attach_xdp(fp->skel->progs.xdp_syn, fp->ifindex);
	if (!fp->link) {
		snprintf(err, errlen, "cannot attach XDP to %s: %s", ifname, strerror(errno));
		goto fail;
	}
	return fp;
fail:
	fastpath_close(fp);
	return NULL;
}

const char *fastpath_mode(const struct fastpath *fp)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (fp->ifindex == 0 || bpf_xdp_query(fp->ifindex, 0, &q) < 0)
		return "unknown";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offloaded";
	default:
		return "unknown";
	}
}

void fastpath_close(struct fastpath *fp)
{
	if (!fp)
		return;
	if (fp->ev_tick)
		event_free(fp->ev_tick);
	cookie_jar_free(fp->jar);
	localaddr_free(fp->local);
	bpf_link__destroy(fp->link);
	xdp_syn__destroy(fp->skel);
	free(fp);
}

int fastpath_set_mac(struct fastpath *fp, const uint8_t mac[6])
{
	struct xdp_params p;

	if (fastpath_params(fp, &p) < 0)
		return -1;
	memcpy(p.mac, mac, sizeof(p.mac));
	return fastpath_store(fp, &p);
}

int fastpath_set_local(struct fastpath *fp, const struct localaddr *local)
{
	struct bpf_map *map = fp->skel->maps.local_addrs;
	struct xdp_addr key, next;
	uint8_t one = 1;
	bool more;
	int rc = 0;

	/* Drop the addresses no longer ours (the next key is taken before
	 * its predecessor goes), then add the current ones. */
	more = bpf_map__get_next_key(map, NULL, &next, sizeof(next)) == 0;
	while (more) {
		key = next;
		more = bpf_map__get_next_key(map, &key, &next, sizeof(next)) == 0;
		if (!localaddr_has(local, key.family, key.addr))
			bpf_map__delete_elem(map, &key, sizeof(key), 0);
	}
	for (size_t i = 0; i < localaddr_count(local); i++) {
		const struct localaddr_entry *e = localaddr_at(local, i);

		memset(&key, 0, sizeof(key));
		key.family = e->family;
		memcpy(key.addr, e->addr, sizeof(key.addr));
		if (bpf_map__update_elem(map, &key, sizeof(key), &one, sizeof(one), BPF_ANY) < 0)
			rc = -1;
	}
	return rc;
}

int fastpath_set_key(struct fastpath *fp, uint64_t epoch, const uint8_t key[COOKIE_EPOCH_KEY_LEN])
{
	struct xdp_params p;
	struct xdp_keyslot *k;
	uint32_t parity = (uint32_t)(epoch & 1);

	if (fastpath_params(fp, &p) < 0)
		return -1;
	/* Fill the idle slot, then switch to it: the program never sees a
	 * half-written key. */
	k = &p.slot[parity];
	k->k0 = synack_le64(key);
	k->k1 = synack_le64(key + 8);
	k->parity = parity;
	k->ready = 1;
	if (fastpath_store(fp, &p) < 0)
		return -1;
	p.current = parity;
	return fastpath_store(fp, &p);
}

int fastpath_run(struct fastpath *fp, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (uint32_t)len, .data_out = out,
	            .data_size_out = (uint32_t)*out_len, .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(fp->skel->progs.xdp_syn), &opts) < 0)
		return -1;
	*out_len = opts.data_size_out;
	return (int)opts.retval;
}

static uint64_t fastpath_counter(struct fastpath *fp, uint32_t stat)
{
	uint64_t per_cpu[fp->ncpus], sum = 0;

	if (bpf_map__lookup_elem(fp->skel->maps.stats, &stat, sizeof(stat), per_cpu,
	                         sizeof(uint64_t) * (size_t)fp->ncpus, 0) < 0)
		return 0;
	for (int i = 0; i < fp->ncpus; i++)
		sum += per_cpu[i];
	return sum;
}

void fastpath_counters(struct fastpath *fp, struct fastpath_counts *c)
{
	c->syns = fastpath_counter(fp, XDP_STAT_SYN);
	c->synacks = fastpath_counter(fp, XDP_STAT_SYNACK);
	c->martian = fastpath_counter(fp, XDP_STAT_MARTIAN);
	c->malformed = fastpath_counter(fp, XDP_STAT_MALFORMED);
	c->bad_csum = fastpath_counter(fp, XDP_STAT_BAD_CSUM);
}

void fastpath_update_stats(struct fastpath *fp)
{
	struct fastpath_counts c;

	fastpath_counters(fp, &c);
	const struct {
		enum stats_id id;
		uint64_t v;
	} * m, map[] = {
		/* SYNs it passed on reach the ring and are counted there. */
		{ STAT_syn_received, c.synacks },   { STAT_synack_sent, c.synacks },
		{ STAT_synack_xdp, c.synacks },     { STAT_rx_martian, c.martian },
		{ STAT_rx_malformed, c.malformed }, { STAT_rx_bad_csum, c.bad_csum },
	};

	for (m = map; m < map + sizeof(map) / sizeof(map[0]); m++)
		atomic_store_explicit(&fp->stats->v[m->id], m->v, memory_order_relaxed);
}

/* Keep the program's key on the current epoch (a cookie it makes in the
 * first second of an epoch with the previous key is still valid), its
 * addresses and its counters current. */
static void fastpath_tick(struct fastpath *fp)
{
	uint8_t key[COOKIE_EPOCH_KEY_LEN];
	uint64_t epoch;

	if (cookie_epoch_key(fp->jar, (uint64_t)time(NULL), &epoch, key) == 0 && epoch != fp->epoch &&
	    fastpath_set_key(fp, epoch, key) == 0)
		fp->epoch = epoch;
	memset(key, 0, sizeof(key));
	if (localaddr_refresh(fp->local) == 1 && fastpath_set_local(fp, fp->local) < 0)
		log_warn("XDP fast path: cannot hold all %zu addresses of this host",
		         localaddr_count(fp->local));
	fastpath_update_stats(fp);
}

static void fastpath_on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fastpath_tick(arg);
}

int fastpath_start(struct fastpath *fp, struct event_base *base, const uint8_t master[COOKIE_MASTER_LEN],
                   uint32_t period_s, struct stats *stats, char *err, size_t errlen)
{
	struct timeval every = { 1, 0 };

	fp->stats = stats;
	fp->jar = cookie_jar_new(master, period_s);
	fp->local = localaddr_new();
	fp->ev_tick = event_new(base, -1, EV_PERSIST, fastpath_on_tick, fp);
	if (!fp->jar || !fp->local || !fp->ev_tick || event_add(fp->ev_tick, &every) < 0) {
		snprintf(err, errlen, "cannot start the XDP key timer: out of memory");
		return -1;
	}
	fastpath_tick(fp);
	return 0;
}

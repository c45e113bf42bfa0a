#include "fastpath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/sockios.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
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
#include "tc_ack.skel.h"
#include "xdp_syn.skel.h"

/* The tcx attach point (Linux 6.6): Debian 12's headers predate it; the
 * number is kernel ABI. */
#define FASTPATH_BPF_TCX_INGRESS 46

struct fastpath {
	struct xdp_syn *skel;
	struct tc_ack *tc; /* the kernel path's ACK check, or NULL */
	/* bpf_links, held by their descriptors: closed, they detach, so the
	 * programs go with the process even on SIGKILL. -1 when none. */
	int xdp_link, tc_link;
	int ifindex;             /* 0 when not attached */
	const char *generic_why; /* fastpath_generic_why() */
	int ncpus;
	/* From fastpath_start() on: */
	struct cookie_jar *jar; /* the programs' keys */
	uint32_t period_s;
	uint64_t loaded[XDP_KEYSLOTS]; /* epoch + 1 of the key in each slot, 0 if none */
	struct localaddr *local;       /* this host's addresses, as the program knows them */
	struct stats *stats;           /* its counters, for the caller to sum */
	struct event *ev_tick;
};

static struct xdp_endpoint fastpath_endpoint_key(const struct config_endpoint *ep)
{
	struct xdp_endpoint key = { .family = (uint8_t)ep->addr.ss_family,
		                    .port = htons(netaddr_port(&ep->addr)) };
	const uint8_t *addr;
	size_t alen = netaddr_raw(&ep->addr, &addr);

	memcpy(key.addr, addr, alen);
	return key;
}

static bool fastpath_protects(const struct config *cfg, const struct xdp_endpoint *key)
{
	for (size_t i = 0; i < cfg->n_listen; i++) {
		struct xdp_endpoint k = fastpath_endpoint_key(&cfg->listen[i]);
		if (memcmp(&k, key, sizeof(k)) == 0)
			return true;
	}
	return false;
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

int fastpath_kernel_path_supported(char *why, size_t whylen)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id;

	if (!vmlinux) {
		snprintf(why, whylen, "the kernel has no BTF (/sys/kernel/btf/vmlinux): %s", strerror(errno));
		return 0;
	}
	id = btf__find_by_name_kind(vmlinux, "bpf_sk_assign_tcp_reqsk", BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0) {
		snprintf(why, whylen, "this kernel has no bpf_sk_assign_tcp_reqsk() (Linux >= 6.9 has)");
		return 0;
	}
	snprintf(why, whylen, "the kernel has bpf_sk_assign_tcp_reqsk()");
	return 1;
}

/* Is `ifname` a veth? Its native XDP_TX hands frames to the peer only when
 * the peer runs an XDP program too, and drops them otherwise, silently. */
static bool fastpath_is_veth(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool veth;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	veth = ioctl(fd, SIOCETHTOOL, &ifr) == 0 && strcmp(info.driver, "veth") == 0;
	close(fd);
	return veth;
}

/* Does process `pid` hold BPF program `id` (a link or program descriptor
 * whose fdinfo names it)? */
static bool fastpath_holds(long pid, uint32_t id)
{
	char path[64], line[128], want[32];
	struct dirent *fe;
	bool found = false;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo", pid);
	if (!(fds = opendir(path)))
		return false;
	snprintf(want, sizeof(want), "prog_id:\t%u\n", id);
	while (!found && (fe = readdir(fds)) != NULL) {
		int fd = fe->d_name[0] == '.' ? -1 : openat(dirfd(fds), fe->d_name, O_RDONLY | O_CLOEXEC);
		FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

		if (!f) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while (!found && fgets(line, sizeof(line), f))
			found = strcmp(line, want) == 0;
		fclose(f);
	}
	closedir(fds);
	return found;
}

/* Who holds BPF program `id`: "process PID (COMMAND LINE)" into buf, or ""
 * if no process here does (one in another PID namespace, say). */
static void fastpath_holder(uint32_t id, char *buf, size_t len)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	char path[64], cmd[160];
	size_t n = 0;
	long pid = 0;
	FILE *f;

	buf[0] = '\0';
	while (proc && pid == 0 && (de = readdir(proc)) != NULL) {
		char *end;
		long p = strtol(de->d_name, &end, 10);
		if (p > 0 && *end == '\0' && fastpath_holds(p, id))
			pid = p;
	}
	if (proc)
		closedir(proc);
	if (pid == 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((f = fopen(path, "re"))) {
		n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	cmd[n] = '\0';
	snprintf(buf, len, "process %ld (%s)", pid, cmd);
}

/* The XDP attach failed with `e`: an interface runs one XDP program, so say
 * which one is there and who holds it, or else what the kernel said. */
static void fastpath_attach_error(const struct fastpath *fp, const char *ifname, int e, char *err,
                                  size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = { 0 };
	uint32_t ilen = sizeof(info);
	char holder[256];
	int fd;

	if (bpf_xdp_query(fp->ifindex, 0, &q) < 0 || q.prog_id == 0) {
		snprintf(err, errlen, "cannot attach XDP to %s: %s", ifname, strerror(e));
		return;
	}
	fd = bpf_prog_get_fd_by_id(q.prog_id);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0)
		snprintf(info.name, sizeof(info.name), "?");
	if (fd >= 0)
		close(fd);
	fastpath_holder(q.prog_id, holder, sizeof(holder));
	snprintf(err, errlen,
	         "XDP program id %u (%s%s) already attached to %s, held by %s: an interface runs one XDP "
	         "program",
	         q.prog_id, info.name, strcmp(info.name, "xdp_syn") == 0 ? ": another synguard's" : "",
	         ifname, holder[0] ? holder : "no process seen here");
}

static int fastpath_attach(struct fastpath *fp, const char *ifname, enum config_xdp_attach how, char *err,
                           size_t errlen)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);

	/* No mode flag: the driver's own (native) XDP where it has one, else
	 * the kernel's generic XDP, which works on any device. */
	fp->generic_why = "the driver has no native XDP";
	if (how == CONFIG_XDP_ATTACH_GENERIC) {
		opts.flags = XDP_FLAGS_SKB_MODE;
		fp->generic_why = "xdp_attach = \"generic\"";
	} else if (how == CONFIG_XDP_ATTACH_AUTO && fastpath_is_veth(ifname)) {
		opts.flags = XDP_FLAGS_SKB_MODE;
		fp->generic_why = "the interface is a veth, whose native XDP loses SYN-ACKs unless its peer "
		                  "runs an XDP program too (xdp_attach = \"native\" if it does)";
	} else if (how == CONFIG_XDP_ATTACH_NATIVE) {
		opts.flags = XDP_FLAGS_DRV_MODE;
	}
	fp->xdp_link = bpf_link_create(bpf_program__fd(fp->skel->progs.xdp_syn), fp->ifindex, BPF_XDP, &opts);
	if (fp->xdp_link < 0) {
		fastpath_attach_error(fp, ifname, errno, err, errlen);
		return -1;
	}
	if (!fp->tc)
		return 0;
	fp->tc_link = bpf_link_create(bpf_program__fd(fp->tc->progs.tc_ack), fp->ifindex,
	                              (enum bpf_attach_type)FASTPATH_BPF_TCX_INGRESS, NULL);
	if (fp->tc_link < 0) {
		snprintf(err, errlen, "cannot attach the TC program to %s (tcx ingress): %s", ifname,
		         strerror(errno));
		return -1;
	}
	return 0;
}

static int fastpath_open_tc(struct fastpath *fp, char *err, size_t errlen)
{
	struct {
		struct bpf_map *tc, *xdp;
	} shared[] = {
		{ fp->tc->maps.params, fp->skel->maps.params },
		{ fp->tc->maps.endpoints, fp->skel->maps.endpoints },
		{ fp->tc->maps.local_addrs, fp->skel->maps.local_addrs },
	};

	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		if (bpf_map__reuse_fd(shared[i].tc, bpf_map__fd(shared[i].xdp)) < 0) {
			snprintf(err, errlen, "TC program: sharing the XDP program's maps: %s",
			         strerror(errno));
			return -1;
		}
	if (tc_ack__load(fp->tc) < 0) {
		snprintf(err, errlen, "cannot load the TC program: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct fastpath *fastpath_open(const struct config *cfg, const struct fastpath_opts *o, char *err,
                               size_t errlen)
{
	struct fastpath *fp = calloc(1, sizeof(*fp));
	struct xdp_params p = { .mss = cfg->mss, .kernel_acks = o->kernel_acks };

	if (!fp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fp->xdp_link = fp->tc_link = -1;
	fp->ncpus = libbpf_num_possible_cpus();
	fp->skel = xdp_syn__open_and_load();
	if (!fp->skel || fp->ncpus <= 0) {
		snprintf(err, errlen, "cannot load the XDP program: %s", strerror(errno));
		goto fail;
	}
	if (o->kernel_acks) {
		fp->tc = tc_ack__open();
		if (!fp->tc) {
			snprintf(err, errlen, "cannot open the TC program: %s", strerror(errno));
			goto fail;
		}
		if (fastpath_open_tc(fp, err, errlen) < 0)
			goto fail;
	}
	if (o->ifname && fastpath_read_mac(o->ifname, &p) < 0) {
		snprintf(err, errlen, "link-layer address of %s: %s", o->ifname, strerror(errno));
		goto fail;
	}
	if (fastpath_store(fp, &p) < 0 || fastpath_set_endpoints(fp, cfg) < 0) {
		snprintf(err, errlen, "XDP parameters or endpoint map: %s", strerror(errno));
		goto fail;
	}
	if (!o->ifname)
		return fp;
	fp->ifindex = (int)if_nametoindex(o->ifname);
	if (fastpath_attach(fp, o->ifname, o->attach, err, errlen) < 0)
		goto fail;
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

const char *fastpath_generic_why(const struct fastpath *fp)
{
	return fp->generic_why ? fp->generic_why : "not attached";
}

void fastpath_close(struct fastpath *fp)
{
	if (!fp)
		return;
	if (fp->ev_tick)
		event_free(fp->ev_tick);
	cookie_jar_free(fp->jar);
	localaddr_free(fp->local);
	if (fp->tc_link >= 0)
		close(fp->tc_link);
	if (fp->xdp_link >= 0)
		close(fp->xdp_link);
	tc_ack__destroy(fp->tc);
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

int fastpath_set_endpoints(struct fastpath *fp, const struct config *cfg)
{
	struct bpf_map *map = fp->skel->maps.endpoints;
	struct xdp_endpoint key, next;
	struct xdp_params p;
	uint8_t one = 1;
	bool more;

	/* The new endpoints first, then the old ones go: one kept in both is
	 * never missing, so its SYNs never reach the kernel meanwhile. */
	for (size_t i = 0; i < cfg->n_listen; i++) {
		key = fastpath_endpoint_key(&cfg->listen[i]);
		if (bpf_map__update_elem(map, &key, sizeof(key), &one, sizeof(one), BPF_ANY) < 0)
			return -1;
	}
	more = bpf_map__get_next_key(map, NULL, &next, sizeof(next)) == 0;
	while (more) {
		key = next;
		more = bpf_map__get_next_key(map, &key, &next, sizeof(next)) == 0;
		if (!fastpath_protects(cfg, &key) && bpf_map__delete_elem(map, &key, sizeof(key), 0) < 0)
			return -1;
	}
	if (fastpath_params(fp, &p) < 0)
		return -1;
	p.mss = cfg->mss;
	return fastpath_store(fp, &p);
}

int fastpath_set_key(struct fastpath *fp, uint64_t epoch, const uint8_t key[COOKIE_EPOCH_KEY_LEN])
{
	struct xdp_params p;
	struct xdp_keyslot *k, *cur;

	if (fastpath_params(fp, &p) < 0)
		return -1;
	/* Fill the epoch's slot, then make it current if it is the newest: a
	 * program never sees a half-written current key. */
	k = &p.slot[epoch % XDP_KEYSLOTS];
	k->k0 = synack_le64(key);
	k->k1 = synack_le64(key + 8);
	k->epoch = epoch;
	k->ready = 1;
	if (fastpath_store(fp, &p) < 0)
		return -1;
	cur = &p.slot[p.current % XDP_KEYSLOTS];
	if (cur != k && cur->ready && cur->epoch > epoch)
		return 0;
	p.current = (uint32_t)(epoch % XDP_KEYSLOTS);
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

int fastpath_run_tc(struct fastpath *fp, const uint8_t *in, size_t len, struct fastpath_tc_result *r)
{
	struct __sk_buff ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (uint32_t)len, .ctx_in = &ctx,
	            .ctx_size_in = sizeof(ctx), .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = 1);

	if (!fp->tc) {
		errno = ENOENT;
		return -1;
	}
	if (bpf_prog_test_run_opts(bpf_program__fd(fp->tc->progs.tc_ack), &opts) < 0)
		return -1;
	r->verdict = ctx.cb[TC_CB_VERDICT];
	r->mss = (uint16_t)ctx.cb[TC_CB_MSS];
	r->snd_wscale = (uint8_t)ctx.cb[TC_CB_WSCALE];
	r->rcv_wscale = (uint8_t)(ctx.cb[TC_CB_WSCALE] >> 8);
	r->wscale_ok = (ctx.cb[TC_CB_WSCALE] >> 16 & 1) != 0;
	r->sack_ok = (ctx.cb[TC_CB_WSCALE] >> 24 & 1) != 0;
	r->tsval = ctx.cb[TC_CB_TSVAL];
	r->tstamp_ok = (ctx.cb[TC_CB_TS] & 1) != 0;
	r->assign_rc = (int8_t)(ctx.cb[TC_CB_TS] >> 8);
	r->action = (int)opts.retval;
	return 0;
}

/* Counter `stat` of a per-CPU array `map`, summed over CPUs. */
static uint64_t fastpath_counter(struct fastpath *fp, struct bpf_map *map, uint32_t stat)
{
	uint64_t per_cpu[fp->ncpus], sum = 0;

	if (bpf_map__lookup_elem(map, &stat, sizeof(stat), per_cpu, sizeof(uint64_t) * (size_t)fp->ncpus, 0) <
	    0)
		return 0;
	for (int i = 0; i < fp->ncpus; i++)
		sum += per_cpu[i];
	return sum;
}

void fastpath_counters(struct fastpath *fp, struct fastpath_counts *c)
{
	struct bpf_map *xdp = fp->skel->maps.stats;

	memset(c, 0, sizeof(*c));
	c->syns = fastpath_counter(fp, xdp, XDP_STAT_SYN);
	c->synacks = fastpath_counter(fp, xdp, XDP_STAT_SYNACK);
	c->martian = fastpath_counter(fp, xdp, XDP_STAT_MARTIAN);
	c->malformed = fastpath_counter(fp, xdp, XDP_STAT_MALFORMED);
	c->bad_csum = fastpath_counter(fp, xdp, XDP_STAT_BAD_CSUM);
	c->draining = fastpath_counter(fp, xdp, XDP_STAT_DRAINING);
	c->passed = fastpath_counter(fp, xdp, XDP_STAT_PASS_LIVE) +
	            fastpath_counter(fp, xdp, XDP_STAT_PASS_OTHER);
	if (!fp->tc)
		return;
	for (uint32_t i = 0; i < TC_STAT_COUNT; i++)
		c->tc[i] = fastpath_counter(fp, fp->tc->maps.tc_stats, i);
	c->malformed += c->tc[TC_STAT_MALFORMED];
}

void fastpath_update_stats(struct fastpath *fp)
{
	struct fastpath_counts c;

	fastpath_counters(fp, &c);
	const struct {
		enum stats_id id;
		uint64_t v;
	} * m, map[] = {
		/* With the ring, the SYNs passed on reach it and are counted
		 * there; on the kernel path, they are the kernel's. The ones
		 * dropped count as such, as the ring path counts them. */
		{ STAT_syn_received, (fp->tc ? c.synacks + c.passed : c.synacks) + c.draining },
		{ STAT_syn_draining, c.draining },
		{ STAT_synack_sent, c.synacks },
		{ STAT_synack_xdp, c.synacks },
		{ STAT_rx_martian, c.martian },
		{ STAT_rx_malformed, c.malformed },
		{ STAT_rx_bad_csum, c.bad_csum },
		{ STAT_ack_valid, c.tc[TC_STAT_VALID] },
		{ STAT_ack_bad_cookie, c.tc[TC_STAT_BAD_COOKIE] },
		{ STAT_ack_expired, c.tc[TC_STAT_EXPIRED] },
		{ STAT_ack_kernel_cookie, c.tc[TC_STAT_KERNEL_COOKIE] },
		{ STAT_ack_no_listener, c.tc[TC_STAT_NO_LISTENER] },
		{ STAT_reqsk_failed, c.tc[TC_STAT_ASSIGN_FAILED] },
		{ STAT_syn_to_kernel, fp->tc ? c.passed : 0 },
	};

	for (m = map; m < map + sizeof(map) / sizeof(map[0]); m++)
		atomic_store_explicit(&fp->stats->v[m->id], m->v, memory_order_relaxed);
}

/* Keep the programs' keys on the current epoch and the three before it (a
 * cookie of the previous one is still valid, the two before are told apart
 * as expired), oldest first so that the current one moves last; their
 * addresses and counters current. */
static void fastpath_tick(struct fastpath *fp)
{
	uint8_t key[COOKIE_EPOCH_KEY_LEN];
	uint64_t now = (uint64_t)time(NULL), epoch;

	for (uint64_t back = XDP_KEYSLOTS; back-- > 0;) {
		if (now < back * fp->period_s ||
		    cookie_epoch_key(fp->jar, now - back * fp->period_s, &epoch, key) < 0 ||
		    fp->loaded[epoch % XDP_KEYSLOTS] == epoch + 1)
			continue;
		if (fastpath_set_key(fp, epoch, key) == 0)
			fp->loaded[epoch % XDP_KEYSLOTS] = epoch + 1;
	}
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

int fastpath_rekey(struct fastpath *fp, const uint8_t master[COOKIE_MASTER_LEN], uint32_t period_s)
{
	struct cookie_jar *jar = cookie_jar_new(master, period_s);
	struct xdp_params p;

	if (!jar || fastpath_params(fp, &p) < 0) {
		cookie_jar_free(jar);
		return -1;
	}
	/* The slots are emptied first: a new period numbers epochs anew, and
	 * fastpath_set_key() makes only the newest epoch current. Until the
	 * tick below fills them, SYNs pass to the kernel (or the ring). */
	memset(p.slot, 0, sizeof(p.slot));
	p.current = 0;
	if (fastpath_store(fp, &p) < 0) {
		cookie_jar_free(jar);
		return -1;
	}
	cookie_jar_free(fp->jar);
	fp->jar = jar;
	fp->period_s = period_s;
	memset(fp->loaded, 0, sizeof(fp->loaded));
	fastpath_tick(fp);
	return 0;
}

int fastpath_drain(struct fastpath *fp)
{
	struct xdp_params p;

	if (fastpath_params(fp, &p) < 0)
		return -1;
	p.draining = 1;
	return fastpath_store(fp, &p);
}

int fastpath_start(struct fastpath *fp, struct event_base *base, const uint8_t master[COOKIE_MASTER_LEN],
                   uint32_t period_s, struct stats *stats, char *err, size_t errlen)
{
	struct timeval every = { 1, 0 };

	fp->stats = stats;
	fp->period_s = period_s;
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

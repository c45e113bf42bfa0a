/* The test switch's port facing synguard runs this when synguard's XDP fast
 * path is on: a veth delivers XDP_TX frames only to a peer with an XDP
 * program of its own. It passes everything. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

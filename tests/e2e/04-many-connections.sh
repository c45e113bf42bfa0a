#!/usr/bin/env bash
# 04 — many short connections, with certain source-port reuse: 500 sequential
# (with TCP timestamps, then 300 more without: the proxy holds TIME_WAIT for
# each 4-tuple and a client reusing the port must still get in either way,
# DESIGN §5; on the kernel path the kernel answers a SYN for a 4-tuple it
# holds in TIME_WAIT itself), then 1000 at concurrency 100. Every one must
# succeed with a 200 and be taken over by synguard.
set -euo pipefail
SG_FAMILIES="4 6" # also over IPv6, with SG_FAMILY=6
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SEQ_N=${SEQ_N:-500} SEQ_NOTS_N=${SEQ_NOTS_N:-300} CONC_N=${CONC_N:-1000} CONC_C=${CONC_C:-100}
# Client retransmissions allowed, per 1000 connections. With the XDP fast
# path a few requests a run (0 to 5 % seen) wait for the client's tail-loss
# probe (~200 ms): their bytes, dropped before the socket went live, are
# neither injected nor taken by the kernel. An open problem (README, Limits),
# held here to a bound so that it cannot grow unseen.
MAX_RETRANS_PER_1000=1
[[ $SG_DATAPATH == xdp ]] && MAX_RETRANS_PER_1000=100

sg_setup
sg_start
taken0=$(sg_stat "$SG_TAKEN")
tw_killed0=$(sg_stat_cached adopt_tw_killed)
retrans0=$(client_retrans)

# All successful, each port used more than once (reuse happened), no SYN lost.
check_phase() { # TAG COUNT PORTS
	local tag=$1 n=$2 ports=$3
	assert_cmp "$tag: successful connections" "$(jget "$LEGIT_JSON" ok)" == "$n"
	assert_cmp "$tag: distinct source ports" "$(jget "$LEGIT_JSON" distinct_ports)" "<=" "$ports"
	assert_cmp "$tag: most uses of one source port" "$(jget "$LEGIT_JSON" max_port_uses)" ">=" 2
	# A reused port that hangs shows as a SYN retransmission (>= 1 s).
	assert_synguard "$tag: connects that took >= 1 s" "$(jget "$LEGIT_JSON" connect_ge_1s)" == 0
}

# 20 ports: 500 sequential connections reuse each about 25 times.
client_port_range 40000 40019
legit_run seq-ts -n "$SEQ_N" -c 1 --timeout 3
check_phase seq-ts "$SEQ_N" 20
seq_line=$(legit_line "$LEGIT_JSON")
tw=$(in_proxy ss -Htan state time-wait "sport = :$SG_PORT" | wc -l)
say "TIME_WAIT sockets in the proxy namespace after phase 1: $tw"

in_client sysctl -qw net.ipv4.tcp_timestamps=0
legit_run seq-nots -n "$SEQ_NOTS_N" -c 1 --timeout 3
check_phase seq-nots "$SEQ_NOTS_N" 20
nots_line=$(legit_line "$LEGIT_JSON")
in_client sysctl -qw net.ipv4.tcp_timestamps=1

# 100 at once need 100 ports, plus those still finishing their close at a few
# thousand connections a second: 256 of them, so 1000 connections reuse each
# about 4 times.
client_port_range 40000 40255
legit_run concurrent -n "$CONC_N" -c "$CONC_C" --timeout 5
check_phase concurrent "$CONC_N" 256
conc_line=$(legit_line "$LEGIT_JSON")

total=$((SEQ_N + SEQ_NOTS_N + CONC_N))
taken=$(($(sg_stat "$SG_TAKEN") - taken0))
tw_killed=$(($(sg_stat_cached adopt_tw_killed) - tw_killed0))
assert_synguard "connections $SG_TAKEN" "$taken" == "$total"
assert_synguard "$SG_TAKE_FAILED" "$(sg_stat_cached "$SG_TAKE_FAILED")" == 0
# Early data the client sent before adoption must not have to be resent
# (DESIGN §5: well under 0.1% of connections; on the kernel path the kernel
# takes every segment itself).
retrans=$(($(client_retrans) - retrans0))
late=$(sg_stat_cached early_data_late)
retrans_pct=$(awk -v r="$retrans" -v n="$total" 'BEGIN { printf "%.3f", 100 * r / n }')
say "client retransmissions: $retrans over $total connections ($retrans_pct%); early data injected late: $late"
assert_cmp "client retransmissions x 1000" "$((retrans * 1000))" "<" "$((total * MAX_RETRANS_PER_1000))"

sg_pass "sequential+timestamps: $seq_line | sequential, no timestamps: $nots_line | concurrent $CONC_C: $conc_line | proxy TIME_WAIT after phase 1: $tw, $SG_TAKEN $taken of $total, TIME_WAIT replaced $tw_killed, client retransmissions $retrans ($retrans_pct%), early data injected late $late"

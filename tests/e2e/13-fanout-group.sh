#!/usr/bin/env bash
# 13 — two workers share the interface's traffic through a packet fanout
# group whose id the kernel picks among the free ones. Shown with the case a
# process-derived id gets wrong: synguard runs as PID 1 of a PID namespace
# (so getpid() & 0xffff would be 1) while another program already holds
# fanout group 1 on p0 in another mode. synguard must start, serve, and
# leave that program's group alone. (The kernel path has no packet socket:
# there it shows two workers serving as PID 1 of a PID namespace.)
set -euo pipefail
SG_PATHS="ring kernel"
SG_PATHS_WHY="the xdp path's ring and fanout group are the ring path's (tested there): it differs only in answering SYNs"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup
SG_CONF=$SG_TMP/synguard.conf SG_LOG=$SG_TMP/synguard-fanout.log
sg_write_config "$SG_CONF"
sed -i 's/^workers = 1;/workers = 2;/' "$SG_CONF"
grep -q '^workers = 2;' "$SG_CONF" || sg_fail "could not set workers = 2 in $SG_CONF"

# PACKET_FANOUT = 18, PACKET_FANOUT_LB = 1: group 1, load-balancing mode.
sg_bg "$SG_TMP/holder.log" "$NS_PROXY" timeout 60 python3 -c '
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("p0", 0))
s.setsockopt(263, 18, 1 | 1 << 16)
print("holding fanout group 1", flush=True)
time.sleep(55)'
holder_pid=$SG_LAST_PID
for ((i = 0; i < 100; i++)); do grep -q holding "$SG_TMP/holder.log" && break; sleep 0.05; done
grep -q holding "$SG_TMP/holder.log" || sg_fail "the group holder did not start: $(cat "$SG_TMP/holder.log")"

pin=()
[[ -n $SG_CPU ]] && pin=(taskset -c "$SG_CPU")
ip netns exec "$NS_PROXY" "${pin[@]}" unshare --pid --fork --kill-child=TERM \
	"$SYNGUARD" -c "$SG_CONF" 2>"$SG_LOG" >/dev/null </dev/null &
SG_PID=$!
SG_PIDS+=("$SG_PID")
sg_wait_ready
legit_run fanout -n 100 -c 10 --timeout 3
assert_cmp "connections served by two workers" "$(jget "$LEGIT_JSON" ok)" == 100
pid_alive "$holder_pid" || sg_fail "the other program's socket holder died"
sg_pass "started as PID 1 beside another program's fanout group 1 and served 100/100 connections with 2 workers"

#!/usr/bin/env bash
# 12 — the protected interface goes down, comes back, then disappears:
# while it is down synguard does not spin (the packet socket's ENETDOWN is
# read and logged once; the kernel path has no packet socket), once it is up
# again clients are served, and when it is deleted synguard stops by itself,
# removing its nft table.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup
sg_start
out=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || out="curl failed: $out"
assert_eq "served before" "$out" 200

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SG_PID/stat"; }

in_proxy ip link set p0 down
sleep 1
t0=$(cpu_ticks)
sleep 2
cpu_pct=$((($(cpu_ticks) - t0) * 100 / $(getconf CLK_TCK) / 2))
assert_cmp "synguard CPU % while p0 is down" "$cpu_pct" "<" 20
if [[ $SG_DATAPATH != kernel ]]; then
	grep -q 'p0: Network is down' "$SG_LOG" || sg_fail "no log line about p0 going down: $(sg_log_tail 3 | tr '\n' ' ')"
	say "ok: the log says: $(grep -m 1 'p0: Network is down' "$SG_LOG")"
fi

in_proxy ip link set p0 up
topo_wait_links
out=000
for ((i = 0; i < 20; i++)); do
	out=$(CURL_MAX_TIME=3 client_curl -o /dev/null -w '%{http_code}' "$SG_URL" 2>/dev/null) && break
	sleep 0.25
done
assert_eq "served once p0 is back" "$out" 200
download_big_check

in_proxy ip link del p0
wait_exit "$SG_PID" 5 || sg_fail "synguard still running 5 s after p0 was deleted"
wait "$SG_PID" 2>/dev/null && rc=0 || rc=$?
assert_cmp "exit status when the interface is gone" "$rc" == 1
grep -q 'interface p0 is gone' "$SG_LOG" || sg_fail "no log line saying why it stopped"
assert_cmp "synguard nft tables left" "$(sg_tables)" == 0
SG_PID=""

sg_pass "down: ${cpu_pct}% CPU, logged; up: served (${DL_MBPS} Mbit/s download); deleted: stopped, table removed"

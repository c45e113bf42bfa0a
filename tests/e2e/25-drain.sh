#!/usr/bin/env bash
# 25 — SIGTERM drains: a download in flight when it comes completes intact,
# a new client is not answered meanwhile (syn_draining), synguard exits 0 as
# soon as the last connection ended, and leaves nothing installed. A second
# SIGTERM stops at once, resetting what is open; drain_timeout_s bounds the
# wait. Also max_connections counts every worker's connections together
# (workers = 2, max_connections = 1: one client served at a time).
set -euo pipefail
SG_PATHS="ring kernel" SG_PATHS_WHY="draining is the ring path's on the xdp path too, and the XDP program's as on the kernel path"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup curl sha256sum
# Small socket buffers on both sides of the proxy: a rate-limited download
# stays in synguard's relay for its whole length instead of sitting in the
# kernel's buffers after synguard handed it over.
in_client sysctl -qw net.ipv4.tcp_rmem="4096 32768 65536"
in_proxy sysctl -qw net.ipv4.tcp_wmem="4096 32768 65536"

# slow_download TAG — 10 MB at 4 MB/s (2.5 s) in the background.
slow_download() {
	sg_bg "$SG_TMP/$1.out" "$NS_CLIENT" curl -s -S --max-time 30 --limit-rate 4M -o "$SG_TMP/$1.got" \
		-w '%{http_code} %{size_download}' "${SG_URL}big.bin"
	DL_PID=$SG_LAST_PID
	sleep 1 # under way
}

# 1: the first TERM lets the download finish.
sg_start
slow_download dl1
t0=$(now_ms)
kill -TERM "$SG_PID"
sleep 0.5
rc=0
CURL_MAX_TIME=2 client_curl -o /dev/null "$SG_URL" 2>/dev/null || rc=$?
assert_cmp "curl exit for a new client while draining (28: not answered)" "$rc" == 28
wait_exit "$DL_PID" 30 || sg_fail "the download did not end"
wait $DL_PID || sg_fail "the download failed during the drain: $(cat "$SG_TMP/dl1.out")"
got=$(sha256sum "$SG_TMP/dl1.got" | awk '{print $1}')
assert_eq "sha256 of the download in flight at SIGTERM" "$got" "$SG_BIG_SHA"
wait_exit "$SG_PID" 5 || sg_fail "synguard still runs 5 s after its last connection ended"
wait "$SG_PID" && rc=0 || rc=$?
drain_ms=$(($(now_ms) - t0))
assert_cmp "exit status after draining" "$rc" == 0
grep -q 'SIGTERM: draining' "$SG_LOG" || sg_fail "no 'draining' line in the log"
grep -q 'drained: every connection has finished' "$SG_LOG" || sg_fail "no 'drained' line in the log"
drained_syns=$(sg_stat_cached syn_draining)
assert_cmp "syn_draining" "$drained_syns" ">=" 1
assert_cmp "nft tables of synguard's after the drain" "$(sg_tables)" == 0

# 2: a second TERM stops at once; the download is reset.
sg_start
slow_download dl2
kill -TERM "$SG_PID"
sleep 0.3
t0=$(now_ms)
kill -TERM "$SG_PID"
wait_exit "$SG_PID" 3 || sg_fail "synguard still runs 3 s after a second SIGTERM"
stop_ms=$(($(now_ms) - t0))
wait_exit "$DL_PID" 10 || sg_fail "the download did not end after the second SIGTERM"
wait $DL_PID && rc=0 || rc=$?
assert_cmp "curl exit for the download cut by a second SIGTERM (nonzero)" "$rc" "!=" 0
assert_cmp "nft tables of synguard's after a second SIGTERM" "$(sg_tables)" == 0

# 3: drain_timeout_s = 1 ends the drain with the download reset.
printf 'drain_timeout_s = 1;\n' >>"$SG_TMP/extra.conf"
SG_CONFIG_TEMPLATE_ORIG=$SG_CONFIG_TEMPLATE
cat "$SG_CONFIG_TEMPLATE_ORIG" "$SG_TMP/extra.conf" >"$SG_TMP/drain1.tmpl"
SG_CONFIG_TEMPLATE=$SG_TMP/drain1.tmpl
sg_start
slow_download dl3
t0=$(now_ms)
kill -TERM "$SG_PID"
wait_exit "$SG_PID" 5 || sg_fail "synguard still runs 5 s after SIGTERM with drain_timeout_s = 1"
timeout_ms=$(($(now_ms) - t0))
assert_cmp "ms from SIGTERM to exit with drain_timeout_s = 1" "$timeout_ms" "<" 3000
grep -q 'drain_timeout_s (1 s) is over: resetting the 1 connection' "$SG_LOG" ||
	sg_fail "no 'drain_timeout_s is over' line: $(sg_log_tail 3 | tr '\n' ' ')"
wait_exit "$DL_PID" 10 || true

# 4: workers = 2, max_connections = 1: the limit is the process's.
sed -e 's/^workers = .*/workers = 2;/' -e 's/^max_connections = .*/max_connections = 1;/' \
	"$SG_CONFIG_TEMPLATE_ORIG" >"$SG_TMP/limit.tmpl"
SG_CONFIG_TEMPLATE=$SG_TMP/limit.tmpl
sg_start
slow_download dl4
refused=0
for port in 41001 41002 41003 41004 41005 41006; do # source ports hash to either worker
	client_curl --local-port "$port" -o /dev/null "$SG_URL" 2>/dev/null || refused=$((refused + 1))
done
assert_cmp "clients refused while one download holds max_connections = 1 (of 6)" "$refused" == 6
rejected=$(sg_stat conn_limit_rejected)
assert_synguard "conn_limit_rejected" "$rejected" ">=" 6
wait_exit "$DL_PID" 30 || sg_fail "the download did not end"
code=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || sg_fail "curl failed once the slot was free"
assert_eq "HTTP status once the download ended" "$code" 200
sg_stop
sg_pass "a download in flight at SIGTERM arrived intact; new clients unanswered meanwhile ($drained_syns SYNs dropped); exit 0 after ${drain_ms} ms with no table left; a second SIGTERM stopped in ${stop_ms} ms; drain_timeout_s = 1 ended it in ${timeout_ms} ms; workers = 2, max_connections = 1 refused 6 of 6 clients while one was served"

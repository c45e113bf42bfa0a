#!/usr/bin/env bash
# 17 — protect mode: nginx runs on the defended host and listens on the
# protected address itself; synguard (mode = "protect", no backends, the
# kernel path) answers SYNs with cookies and hands the kernel the verified
# connections, which nginx accepts directly. Shown: the index page (nginx
# sees the client's own address), a 10 MB download byte for byte, and a
# client that reuses its source port right after each finished connection,
# with and without TCP timestamps (nginx closes first: the defended host
# holds TIME_WAIT for the 4-tuple, and that SYN is the kernel's to answer).
# synguard itself holds no TCP socket, and no byte passes through it. A
# protect config on the ring path is refused before anything starts.
set -euo pipefail
SG_FAMILIES="4 6" # also over IPv6, with SG_FAMILY=6
SG_PATHS=kernel SG_PATHS_WHY="protect mode needs the kernel path"
SG_DATAPATH=${SG_DATAPATH:-kernel}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

REUSE_N=${REUSE_N:-300} REUSE_PORTS=10

if ! sg_has_counters; then
	sg_skip "protect mode has no stand-in (the stand-in is a relay)"
	exit 77
fi
sg_protect_setup curl sha256sum

# Protect mode needs the kernel path: the ring path is refused, saying why.
SG_DATAPATH=ring sg_write_config "$SG_TMP/protect-ring.conf"
rc=0
out=$(in_proxy "$SYNGUARD" -t -c "$SG_TMP/protect-ring.conf" 2>&1) || rc=$?
assert_cmp "synguard -t, protect mode on the ring path: exit status" "$rc" == 1
[[ $out == *protect* && $out == *kernel* ]] || sg_fail "the refusal does not name protect mode and the kernel path: $out"
say "ok: refused: $out"

sg_start
synack0=$(sg_stat synack_xdp)

# The index page, from nginx on the defended host: its access log shows the
# client's own address (a relay's would be its own).
client_ip=$SG_CLIENT_IP
[[ $SG_FAMILY == 6 ]] && client_ip=$SG_CLIENT_IP6
out=$(client_curl -o "$SG_TMP/index.got" -w '%{http_code}' -A synguard-e2e-17 "$SG_URL") ||
	sg_fail "curl $SG_URL failed: $out"
assert_eq "HTTP status" "$out" 200
assert_ok "body is the index page" cmp -s "$SG_TMP/index.got" "$SG_TMP/www/index.html"
for ((i = 0; i < 20; i++)); do
	(($(access_log_count "^$client_ip .*synguard-e2e-17") > 0)) && break
	sleep 0.05
done
assert_cmp "access log lines from the client's address $client_ip" "$(access_log_count "^$client_ip .*synguard-e2e-17")" == 1
assert_cmp "synack_xdp (SYN-ACKs from the driver)" "$(($(sg_stat synack_xdp) - synack0))" ">=" 1
assert_cmp "ack_valid" "$(sg_stat_cached ack_valid)" ">=" 1

download_big_check

# Port reuse: REUSE_N sequential connections over REUSE_PORTS source ports,
# each reused right after its last connection ended.
reuse() { # TAG
	legit_run "$1" -n "$REUSE_N" -c 1 --timeout 3
	assert_cmp "$1: successful connections" "$(jget "$LEGIT_JSON" ok)" == "$REUSE_N"
	assert_cmp "$1: distinct source ports" "$(jget "$LEGIT_JSON" distinct_ports)" "<=" "$REUSE_PORTS"
	assert_cmp "$1: most uses of one source port" "$(jget "$LEGIT_JSON" max_port_uses)" ">=" $((REUSE_N / REUSE_PORTS / 2))
	# A reused port that hangs shows as a SYN retransmission (>= 1 s).
	assert_cmp "$1: connects that took >= 1 s" "$(jget "$LEGIT_JSON" connect_ge_1s)" == 0
	# The reuse met the server's TIME_WAIT for the same 4-tuple.
	assert_cmp "$1: TIME_WAIT sockets of nginx's" "$(in_proxy ss -Htan state time-wait "sport = :$SG_PORT" | wc -l)" ">=" 1
}
client_port_range 40000 $((40000 + REUSE_PORTS - 1))
reuse reuse-ts
ts_line=$(legit_line "$LEGIT_JSON")
in_client sysctl -qw net.ipv4.tcp_timestamps=0
reuse reuse-nots
nots_line=$(legit_line "$LEGIT_JSON")

# Nothing went through synguard: no TCP socket of its own, no relayed byte.
sockets=$(in_proxy ss -Htanp | grep -c "pid=$SG_PID," || true)
assert_cmp "TCP sockets synguard holds" "$sockets" == 0
assert_cmp "bytes_backend_to_client" "$(sg_stat bytes_backend_to_client)" == 0
assert_cmp "accepted (by synguard)" "$(sg_stat_cached accepted)" == 0
assert_cmp "datapath gauge (2: kernel)" "$(sg_stat_cached datapath)" == 2
valid=$(sg_stat_cached ack_valid) kernel_cookie=$(sg_stat_cached ack_kernel_cookie)
failed=$(sg_stat_cached reqsk_failed)
assert_cmp "reqsk_failed" "$failed" == 0

sg_pass "index from nginx on the defended host (client address in its log), 10 MB in ${DL_SECONDS}s (sha256 ok) | port reuse with timestamps: $ts_line | without: $nots_line | ack_valid $valid, ack_kernel_cookie $kernel_cookie, reqsk_failed 0; ring path refused"

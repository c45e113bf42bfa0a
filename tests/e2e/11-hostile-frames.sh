#!/usr/bin/env bash
# 11 — what one host on the LAN can do with a few crafted frames or one
# connection, tried for real:
#  - SYNs from impossible sources (loopback, unspecified, multicast,
#    broadcast, the defended address itself), to another host's or the
#    broadcast link-layer address, with a wrong TCP checksum or an IP total
#    length that leaves no room for TCP get no SYN-ACK, each drop counted;
#  - an ACK with a valid cookie but a wrong checksum is not taken over and its
#    request never reaches the backend (the same ACK with a right checksum
#    is: the control);
#  - with a wildcard listen, SYNs to an address that is not ours (another
#    host's, the subnet broadcast) get no SYN-ACK;
#  - one client holding a connection with an urgent byte in it (MSG_OOB)
#    neither makes synguard spin nor stops it serving others.
# A frame-crafting helper (craft.py) sends from the attacker's namespace with
# an unassigned source address, so its own kernel never answers.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup
sg_start
P0_MAC=$(in_proxy cat /sys/class/net/p0/address)
SPOOF=10.77.0.50 # on the LAN, assigned to nobody
SPORT=42000

craft() { # CMD ARGS... — craft.py in the attacker's namespace; a fresh source port each call
	SPORT=$((SPORT + 1))
	in_attacker timeout 20 python3 "$SG_E2E_DIR/craft.py" "$1" a0 --sport "$SPORT" "${@:2}"
}

# SYN WHAT EXPECT ARGS... — one SYN (default: from SPOOF to the VIP, to p0's
# MAC), answered or silent: as the attacker sees it, and as synguard counts
# the SYN-ACKs it sent (an answer to 127.0.0.1 is dropped on the way back, by
# the test's gateway, but it was sent).
syn_expect() {
	local what=$1 want=$2 got before
	shift 2
	before=$(sg_stat synack_sent)
	got=$(craft syn --src "$SPOOF" --dst "$SG_VIP" --dst-mac "$P0_MAC" "$@")
	assert_eq "$what" "$got" "$want"
	assert_synguard "$what: SYN-ACKs sent" "$(($(sg_stat synack_sent) - before))" == "$([[ $want == answered ]] && echo 1 || echo 0)"
}

syn_expect "control: a well-formed SYN" answered
m0=$(sg_stat rx_martian) n0=$(sg_stat_cached rx_not_ours) c0=$(sg_stat_cached rx_bad_csum)
mal0=$(sg_stat_cached rx_malformed)
for src in 127.0.0.1 0.0.0.0 224.0.0.5 255.255.255.255 "$SG_VIP"; do
	syn_expect "SYN from $src" silent --src "$src"
done
syn_expect "SYN to another host's MAC" silent --dst-mac 02:00:00:00:00:99
syn_expect "SYN to the broadcast MAC" silent --dst-mac ff:ff:ff:ff:ff:ff
syn_expect "SYN with a wrong TCP checksum" silent --bad-csum
syn_expect "SYN whose IP total length is 20" silent --ip-total-len 20
assert_synguard "martian sources counted" "$(($(sg_stat rx_martian) - m0))" == 5
# Frames for another link-layer address reach synguard's packet socket only:
# on the kernel path the XDP program leaves them to the kernel, which drops
# them itself, uncounted (their silence, above, is what matters).
if [[ $SG_DATAPATH != kernel ]]; then
	assert_synguard "frames not for us counted" "$(($(sg_stat_cached rx_not_ours) - n0))" == 2
fi
assert_synguard "wrong checksums counted" "$(($(sg_stat_cached rx_bad_csum) - c0))" == 1
assert_synguard "malformed counted" "$(($(sg_stat_cached rx_malformed) - mal0))" == 1

# A valid cookie with a wrong checksum: not taken over, nothing reaches nginx.
a0=$(sg_stat "$SG_TAKEN")
craft handshake --src "$SPOOF" --dst "$SG_VIP" --dst-mac "$P0_MAC" --ack-csum bad \
	--data $'GET /hostile-bad-csum HTTP/1.0\r\n\r\n' >/dev/null || sg_fail "no SYN-ACK for the checksum test"
sleep 0.3
assert_synguard "$SG_TAKEN after an ACK with a wrong checksum" "$(($(sg_stat "$SG_TAKEN") - a0))" == 0
assert_cmp "requests from it at the backend" "$(access_log_count 'hostile-bad-csum')" == 0
craft handshake --src "$SPOOF" --dst "$SG_VIP" --dst-mac "$P0_MAC" --ack-csum bad-then-good \
	--data $'GET /hostile-good-csum HTTP/1.0\r\n\r\n' >/dev/null || sg_fail "no SYN-ACK for the control"
for ((i = 0; i < 40; i++)); do (($(access_log_count 'hostile-good-csum') > 0)) && break; sleep 0.05; done
assert_synguard "control: $SG_TAKEN once the checksum is right" "$(($(sg_stat "$SG_TAKEN") - a0))" == 1
assert_cmp "control: its request at the backend" "$(access_log_count 'hostile-good-csum')" == 1

# One connection with an urgent byte in it, held open: synguard must not
# spin, and must go on answering and serving everyone else.
sg_bg "$SG_TMP/urgent.log" "$NS_CLIENT" timeout 15 python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=5)
time.sleep(0.5)  # adopted and relayed: bytes sent with the handshake would be injected as plain data
s.send(b"G", socket.MSG_OOB)
s.send(b"E")
print("sent", flush=True)
time.sleep(12)' "$SG_VIP"
urgent_pid=$SG_LAST_PID
for ((i = 0; i < 100; i++)); do grep -q sent "$SG_TMP/urgent.log" && break; sleep 0.05; done
grep -q sent "$SG_TMP/urgent.log" || sg_fail "the urgent-byte client did not connect: $(cat "$SG_TMP/urgent.log")"
sleep 0.5
t0=$(awk '{print $14 + $15}' "/proc/$SG_PID/stat")
sleep 2
cpu_pct=$((($(awk '{print $14 + $15}' "/proc/$SG_PID/stat") - t0) * 100 / $(getconf CLK_TCK) / 2))
assert_cmp "synguard CPU % with an urgent byte pending" "$cpu_pct" "<" 30
out=$(CURL_MAX_TIME=5 client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || out="curl failed: $out"
assert_eq "another client served meanwhile" "$out" 200
stop_pid "$urgent_pid" TERM 2

# A wildcard listen answers only for this host's own addresses.
sg_stop
SG_LISTEN=0.0.0.0:$SG_PORT sg_start
syn_expect "wildcard: SYN to our address" answered
syn_expect "wildcard: SYN to another host's address" silent --dst 10.77.0.99
syn_expect "wildcard: SYN to the subnet broadcast" silent --dst 10.77.0.255
out=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || out="curl failed: $out"
assert_eq "wildcard: a client served" "$out" 200

sg_pass "hostile SYNs unanswered and counted, bad-checksum ACK not taken over, urgent byte: ${cpu_pct}% CPU and others served"

#!/usr/bin/env bash
# 14 — a handshake ACK captured on the way (with the request it carries) and
# replayed after the connection ended is not adopted again while its cookie
# is still valid: synguard remembers each adopted handshake for as long as
# its cookie lives (two key periods, here the longest allowed: 2 x 60 s),
# not only the 60 s of TIME_WAIT. Replayed 62 s after the capture; the
# request reaches the backend once.
set -euo pipefail
SG_PATHS=ring
SG_PATHS_WHY="the xdp path adopts handshake ACKs as the ring path does (tested in the ring run); the kernel path does not guard against replays yet (README, Limits)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

REPLAY_AFTER_S=62

sg_setup
# lib.sh's template with the longest key period allowed.
sed 's|key_period = 30;|key_period = 60;|' "$SG_CONFIG_TEMPLATE" >"$SG_TMP/replay.conf.in"
grep -q 'key_period = 60;' "$SG_TMP/replay.conf.in" || sg_fail "could not set key_period = 60"
SG_CONFIG_TEMPLATE=$SG_TMP/replay.conf.in SG_LISTEN=$SG_VIP:$SG_PORT
sg_start
# A cookie made now must still be valid 62 s later: start early in a 60 s
# epoch (it is then valid until the end of the next one, 60..119 s away).
while (($(date +%s) % 60 > 40)); do sleep 1; done

sg_bg "$SG_TMP/capture.log" "$NS_CLIENT" timeout 20 python3 "$SG_E2E_DIR/craft.py" capture c0 \
	--dst "$SG_VIP" --dport "$SG_PORT" --out "$SG_TMP/request.hex" --wait 15
capture_pid=$SG_LAST_PID
for ((i = 0; i < 100; i++)); do grep -q capturing "$SG_TMP/capture.log" && break; sleep 0.05; done
echo "a page" >"$SG_TMP/www/replay-me"
out=$(client_curl -o /dev/null -w '%{http_code}' "${SG_URL}replay-me") || out="curl failed: $out"
assert_eq "the original request" "$out" 200
wait_exit "$capture_pid" 15 || sg_fail "capture did not finish"
[[ -s $SG_TMP/request.hex ]] || sg_fail "no request frame captured: $(cat "$SG_TMP/capture.log")"
t_capture=$(date +%s)
assert_cmp "requests at the backend" "$(access_log_count 'replay-me')" == 1
adopted0=$(sg_stat adopted)

say "replaying the captured frame in ${REPLAY_AFTER_S} s"
sleep $((t_capture + REPLAY_AFTER_S - $(date +%s)))
in_client python3 "$SG_E2E_DIR/craft.py" send c0 --file "$SG_TMP/request.hex"
sleep 1
assert_synguard "adopted again by the replay" "$(($(sg_stat adopted) - adopted0))" == 0
assert_cmp "requests at the backend after the replay" "$(access_log_count 'replay-me')" == 1
sg_pass "a handshake ACK with its request, replayed ${REPLAY_AFTER_S} s later, not adopted again"

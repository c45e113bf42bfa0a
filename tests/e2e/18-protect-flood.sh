#!/usr/bin/env bash
# 18 — protect mode under attack (nginx on the defended host, as in 17):
# a spoofed-source SYN flood (hping3 -S --flood --rand-source, 10 s), during
# which >= 99% of 1000 legitimate connections succeed and the SYN-ACKs come
# from the driver (synack_xdp); then a forged-ACK flood (hping3 -A, 8 s),
# during which >= 99% of 300 legitimate connections succeed, the forged ACKs
# are counted as bad cookies and at most the 2^-24-per-guess forgeries the
# cookie allows reach nginx.
set -euo pipefail
SG_PATHS=kernel SG_PATHS_WHY="protect mode needs the kernel path"
SG_DATAPATH=${SG_DATAPATH:-kernel}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SYN_FLOOD_S=${SYN_FLOOD_S:-10} SYN_LEGIT_N=${SYN_LEGIT_N:-1000}
ACK_FLOOD_S=${ACK_FLOOD_S:-8} ACK_LEGIT_N=${ACK_LEGIT_N:-300}
MIN_SUCCESS_PCT=99

if ! sg_has_counters; then
	sg_skip "protect mode has no stand-in (the stand-in is a relay)"
	exit 77
fi
sg_protect_setup hping3
sg_start
legit_run warmup -n 20 --timeout 3
assert_cmp "warm-up connections" "$(jget "$LEGIT_JSON" ok)" == 20

# legit_during SECONDS N TAG — N legitimate connections spread over a flood
# of SECONDS (started a second before), with a margin for python starting up
# under load.
legit_during() {
	sleep 1
	legit_run "$3" -n "$2" -c 20 --rate $(($2 / ($1 - 3))) --timeout 3
	pid_alive "$FLOOD_PID" || say "warning: the flood ended before the legitimate clients did"
	flood_wait
	assert_cmp "$3: legitimate success %" "$(jget "$LEGIT_JSON" success_pct)" ">=" "$MIN_SUCCESS_PCT"
}

declare -A C0
snap() { # the counters named, into C0
	local k
	sg_stats_refresh
	for k in "$@"; do C0[$k]=$(sg_stat_cached "$k"); done
}
delta() { echo $(($(sg_stat_cached "$1") - ${C0[$1]})); }
# Legitimate segments lost before any program saw them (a connect that took
# >= 1 s lost its SYN or SYN-ACK somewhere).
mark_losses() { LINK0=$(np_tx_dropped) BACKLOG0=$(softnet_dropped); }
losses() {
	echo "frames lost on the link to p0 $(($(np_tx_dropped) - LINK0)), kernel input backlog drops $(($(softnet_dropped) - BACKLOG0))"
}

# SYN flood.
snap syn_received synack_xdp ack_valid
mark_losses
flood_start "$SYN_FLOOD_S" -S
legit_during "$SYN_FLOOD_S" "$SYN_LEGIT_N" syn-flood
syn_line=$(legit_line "$LEGIT_JSON")
sg_stats_refresh
syn=$(delta syn_received) synack=$(delta synack_xdp)
say "SYN flood: $FLOOD_SENT sent ($FLOOD_RATE/s); syn_received +$syn, synack_xdp +$synack; $(losses)"
assert_cmp "flood SYNs sent" "$FLOOD_SENT" ">" 0
assert_cmp "syn_received during the SYN flood" "$syn" ">=" $((FLOOD_SENT / 2))
assert_cmp "synack_xdp during the SYN flood" "$synack" ">=" $((FLOOD_SENT / 2))
syn_rate=$FLOOD_RATE syn_sent=$FLOOD_SENT

# Forged-ACK flood.
snap ack_bad_cookie ack_valid ack_expired rx_martian ack_kernel_cookie ack_no_listener reqsk_failed synack_xdp syn_received
mark_losses
flood_start "$ACK_FLOOD_S" -A
legit_during "$ACK_FLOOD_S" "$ACK_LEGIT_N" ack-flood
ack_line=$(legit_line "$LEGIT_JSON")
sleep 0.5
sg_stats_refresh
bad=$(delta ack_bad_cookie) valid=$(delta ack_valid) expired=$(delta ack_expired) martian=$(delta rx_martian)
kcookie=$(delta ack_kernel_cookie) nolistener=$(delta ack_no_listener) reqsk=$(delta reqsk_failed)
say "ACK flood: syn_received +$(delta syn_received), synack_xdp +$(delta synack_xdp); $(losses)"
bad_ratio=$(awk -v a="$bad" -v s="$FLOOD_SENT" 'BEGIN { printf "%.3f", a / (s > 0 ? s : 1) }')
say "ACK flood: $FLOOD_SENT sent ($FLOOD_RATE/s); ack_bad_cookie +$bad ($bad_ratio of sent), ack_expired +$expired, rx_martian +$martian, ack_kernel_cookie +$kcookie, ack_no_listener +$nolistener, reqsk_failed +$reqsk, ack_valid +$valid for $ACK_LEGIT_N legitimate connections"
assert_cmp "flood ACKs sent" "$FLOOD_SENT" ">" 0
assert_cmp "ack_bad_cookie / ACKs sent" "$bad_ratio" ">=" 0.5
# Valid cookies: the legitimate clients' handshakes, and forged ACKs that
# matched (2^-24 a guess: at most 2, plus 3 per 2^24 guesses).
assert_cmp "ack_valid beyond the legitimate connections" "$((valid - ACK_LEGIT_N))" "<=" $((2 + 3 * FLOOD_SENT / 16777216))

sg_pass "SYN flood $syn_rate/s ($syn_sent sent): $syn_line; synack_xdp +$synack | ACK flood $FLOOD_RATE/s ($FLOOD_SENT sent): $ack_line; ack_bad_cookie +$bad ($bad_ratio of sent)"

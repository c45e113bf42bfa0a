#!/usr/bin/env bash
# 06 — an ACK flood with spoofed sources (hping3 -A --flood --rand-source, 5 s)
# guesses cookies at ~100k/s. A guess succeeds with probability 2^-24 (the
# cookie's MAC is 24 bits, cookie/cookie.h), so ~500k guesses open a
# connection in about 3 % of runs: at most 2 may, plus 3 per 2^24 guesses
# (P(3 or more) < 1e-5 at 10^6), and each other forged ACK is counted as a
# bad cookie (or, from an impossible source, a martian).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FLOOD_S=${FLOOD_S:-5}

sg_setup hping3
sg_start
taken0=$(sg_stat "$SG_TAKEN")
bad0=$(sg_stat_cached ack_bad_cookie)
expired0=$(sg_stat_cached ack_expired)
drops0=$(sg_stat_cached ring_drops)
martian0=$(sg_stat_cached rx_martian)
link0=$(np_tx_dropped)
flood_start "$FLOOD_S" -A
flood_wait
sleep 0.5 # let synguard drain its ring
taken=$(($(sg_stat "$SG_TAKEN") - taken0))
bad=$(($(sg_stat_cached ack_bad_cookie) - bad0))
expired=$(($(sg_stat_cached ack_expired) - expired0))
drops=$(($(sg_stat_cached ring_drops) - drops0))
martian=$(($(sg_stat_cached rx_martian) - martian0))
# Frames the switch port could not hand to p0 (with XDP, its ring of frames
# for the XDP program fills when the defender's core is busy) never reached
# the defended host at all.
link=$(($(np_tx_dropped) - link0))
delivered=$((FLOOD_SENT - link))
# Frames the kernel dropped at a full ring never reached synguard: they are
# counted as ring_drops instead; hping3's random sources include impossible
# ones (127/8, 0/8, multicast, ...), dropped as such before any cookie check.
# Every forged ACK must land in one of these.
accounted=$((bad + expired + drops + martian))
ratio=$(awk -v a="$accounted" -v s="$delivered" 'BEGIN { printf "%.3f", a / (s > 0 ? s : 1) }')
bad_ratio=$(awk -v a="$bad" -v s="$FLOOD_SENT" 'BEGIN { printf "%.3f", a / (s > 0 ? s : 1) }')
say "flood: $FLOOD_SENT ACKs sent in ${FLOOD_S}s ($FLOOD_RATE/s); ack_bad_cookie +$bad, ack_expired +$expired, ring_drops +$drops, rx_martian +$martian, $SG_TAKEN +$taken; $link lost on the link"

assert_cmp "flood ACKs sent" "$FLOOD_SENT" ">" 0
assert_synguard "$SG_TAKEN during the ACK flood (forged cookies that matched)" "$taken" "<=" \
	$((2 + 3 * FLOOD_SENT / 16777216))
assert_synguard "(bad cookie + expired + ring drops + martian) / ACKs delivered" "$ratio" ">=" 0.95
assert_synguard "(bad cookie + expired + ring drops + martian) / ACKs delivered" "$ratio" "<=" 1.05
assert_synguard "ack_bad_cookie / ACKs sent" "$bad_ratio" ">=" 0.5
# And the service is still there afterwards.
legit_run after -n 20 --timeout 3
assert_cmp "connections after the flood" "$(jget "$LEGIT_JSON" ok)" == 20

sg_pass "$FLOOD_SENT forged ACKs ($FLOOD_RATE/s): $SG_TAKEN +$taken, ack_bad_cookie +$bad (${bad_ratio} of sent), ack_expired +$expired, ring_drops +$drops; 20/20 legit afterwards"

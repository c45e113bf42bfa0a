#!/usr/bin/env bash
# 05 — under a spoofed-source SYN flood of 10 s (hping3 -S --flood --rand-source;
# over IPv6 synflood6.py) at least 99% of 1000 legitimate connections succeed,
# and synguard's memory does not grow with the flood (it keeps no state per
# SYN): RSS growth < 2 MB.
set -euo pipefail
SG_FAMILIES="4 6" # also over IPv6, with SG_FAMILY=6
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FLOOD_S=${FLOOD_S:-10} LEGIT_N=${LEGIT_N:-1000} MIN_SUCCESS_PCT=99 MAX_RSS_GROWTH_KB=2048

sg_setup hping3
sg_start
# Warm up first, so the baseline includes what serving any connection costs.
legit_run warmup -n 50 -c 5 --timeout 3
assert_cmp "warm-up connections" "$(jget "$LEGIT_JSON" ok)" == 50
rss0=$(rss_kb "$SG_PID")
syn0=$(sg_stat syn_received)
synack0=$(sg_stat_cached synack_sent)
drops0=$(sg_stat_cached ring_drops)
gw0=$(gateway_dropped)
backlog0=$(softnet_dropped)

sg_bg "$SG_TMP/rss.log" - rss_sampler "$SG_PID" "$SG_TMP/rss.samples" $((FLOOD_S + 30))
sampler=$SG_LAST_PID
flood_start "$FLOOD_S" -S
sleep 1 # let the flood reach full rate before measuring legit clients
# Spread the legitimate connections over the flood, with a margin for
# python starting up under load.
rate=$((LEGIT_N / (FLOOD_S - 3)))
legit_run under-flood -n "$LEGIT_N" -c 20 --rate "$rate" --timeout 3
pid_alive "$FLOOD_PID" || say "warning: the flood ended before the legitimate clients did"
flood_wait
touch "$SG_TMP/rss.samples.stop"
wait_exit "$sampler" 5 || true
rss_after=$(rss_kb "$SG_PID")
echo "$rss_after" >>"$SG_TMP/rss.samples"
rss_max=$(max_of_file "$SG_TMP/rss.samples")

syn=$(($(sg_stat syn_received) - syn0))
synack=$(($(sg_stat_cached synack_sent) - synack0))
drops=$(($(sg_stat_cached ring_drops) - drops0))
gw=$(($(gateway_dropped) - gw0))
backlog=$(($(softnet_dropped) - backlog0))
pct=$(jget "$LEGIT_JSON" success_pct)
p50=$(jget "$LEGIT_JSON" connect_ms.p50)
p99=$(jget "$LEGIT_JSON" connect_ms.p99)
slow=$(jget "$LEGIT_JSON" connect_ge_1s)
growth=$((rss_max - rss0))

say "flood: $FLOOD_SENT SYNs sent in ${FLOOD_S}s ($FLOOD_RATE/s); synguard: syn_received +$syn, synack_sent +$synack, ring_drops +$drops; kernel input backlog drops (before any tap) $backlog; gateway dropped $gw packets to spoofed addresses"
say "RSS: before ${rss0} kB, max ${rss_max} kB, after ${rss_after} kB"
assert_cmp "flood SYNs sent" "$FLOOD_SENT" ">" 0
assert_cmp "legitimate success %" "$pct" ">=" "$MIN_SUCCESS_PCT"
assert_cmp "RSS growth kB" "$growth" "<" "$MAX_RSS_GROWTH_KB"
assert_synguard "syn_received during the flood" "$syn" ">=" $((FLOOD_SENT / 2))
# The operator is told: the flood shows in the log (one report every 10 s).
announced=$(grep -c 'flood started' "$SG_LOG" || true)
assert_synguard "log lines announcing the flood" "$announced" "==" 1

sg_pass "legit $(jget "$LEGIT_JSON" ok)/$LEGIT_N = ${pct}% under a ${FLOOD_RATE} SYN/s flood ($FLOOD_SENT sent); connect p50 ${p50} ms p99 ${p99} ms, $slow >= 1 s; syn_received $syn, synack_sent $synack, ring_drops $drops, backlog drops $backlog; RSS ${rss0} -> max ${rss_max} kB (+${growth} kB)"

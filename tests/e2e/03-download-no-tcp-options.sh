#!/usr/bin/env bash
# 03 — the 10 MB download again, from a client that offers no TCP options but
# MSS: no timestamps, no window scaling, no SACK (the cookie's option
# encoding and the adoption must cope with their absence; DESIGN §3–§5).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup curl sha256sum
# Per-namespace sysctls: only the client is changed.
in_client sysctl -qw net.ipv4.tcp_timestamps=0 net.ipv4.tcp_window_scaling=0 net.ipv4.tcp_sack=0
opts=$(in_client sysctl -n net.ipv4.tcp_timestamps net.ipv4.tcp_window_scaling net.ipv4.tcp_sack | tr '\n' ' ')
assert_eq "client tcp_timestamps/window_scaling/sack" "$opts" "0 0 0 "
sg_start
download_big_check
taken=$(sg_stat "$SG_TAKEN")
assert_synguard "$SG_TAKEN" "$taken" ">=" 1
sg_pass "no timestamps/wscale/SACK: 10 MB in ${DL_SECONDS}s (${DL_MBPS} Mbit/s), sha256 matches"

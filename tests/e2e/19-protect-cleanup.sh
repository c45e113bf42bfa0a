#!/usr/bin/env bash
# 19 — protect mode leaves nothing behind: after SIGTERM (exit 0) and after
# SIGKILL, none of synguard's BPF programs, maps or links exists and nothing
# is attached to p0 (XDP, tc, tcx) — compared with the host's BPF objects
# before it started — and no nft table was ever made. nginx on the defended
# host goes on serving without synguard each time (its listener is its own),
# and a new synguard protects it again.
set -euo pipefail
SG_PATHS=kernel SG_PATHS_WHY="protect mode needs the kernel path"
SG_DATAPATH=${SG_DATAPATH:-kernel}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! sg_has_counters; then
	sg_skip "protect mode has no stand-in (the stand-in is a relay)"
	exit 77
fi
sg_protect_setup curl


serves() { # WHEN
	local out
	out=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || out="curl failed: $out"
	assert_eq "$1: index page" "$out" 200
}

# start_protecting — synguard up, holding its programs, the client served
# through its cookies.
start_protecting() {
	local valid0
	sg_start
	sg_bpf_running
	assert_cmp "running: nft tables named synguard" "$(sg_tables)" == 0
	valid0=$(sg_stat ack_valid)
	serves "protected"
	assert_cmp "protected: ack_valid" "$(($(sg_stat ack_valid) - valid0))" == 1
}

sg_bpf_before
start_protecting
sg_stop TERM
assert_cmp "exit status after SIGTERM" "$SG_EXIT_RC" == 0
sg_bpf_clean "after SIGTERM"
serves "after SIGTERM, without synguard"

start_protecting
sg_stop KILL
sg_bpf_clean "after SIGKILL"
assert_cmp "after SIGKILL: nft tables named synguard" "$(sg_tables)" == 0
serves "after SIGKILL, without synguard"

start_protecting
sg_stop TERM
sg_bpf_clean "after the final SIGTERM"

sg_pass "protect mode: $SG_BPF_HELD while running; after SIGTERM and after SIGKILL none left, p0 clean, no nft table; nginx served without synguard, and again protected after each restart"

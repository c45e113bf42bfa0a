#!/usr/bin/env bash
# 02 — a 10 MB download through synguard arrives intact (same sha256).
set -euo pipefail
SG_FAMILIES="4 6" # also over IPv6, with SG_FAMILY=6
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup curl sha256sum
sg_start
download_big_check
relayed=$(sg_stat bytes_backend_to_client)
assert_synguard "bytes_backend_to_client" "$relayed" ">=" "$SG_BIG_SIZE"
sg_pass "10 MB in ${DL_SECONDS}s (${DL_MBPS} Mbit/s), sha256 ${SG_BIG_SHA:0:16}… matches, relayed $relayed bytes"

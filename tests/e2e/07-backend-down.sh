#!/usr/bin/env bash
# 07 — with the backend down, a client is reset at once (the backend's refusal
# turns into an RST, DESIGN §6), not left hanging; with the backend back,
# synguard serves again.
set -euo pipefail
SG_PATHS="ring kernel" SG_PATHS_WHY="about the relay, which the xdp path shares with the ring path (tested there): it differs only in answering SYNs"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MAX_FAIL_MS=1000

sg_setup curl
sg_start
code=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || sg_fail "curl failed with the backend up"
assert_eq "HTTP status, backend up" "$code" 200
unavail0=$(sg_stat backend_unavailable)

nginx_stop
say "nginx stopped"
t0=$(now_ms)
rc=0
err=$(CURL_MAX_TIME=5 client_curl -o /dev/null "$SG_URL" 2>&1) || rc=$?
ms=$(($(now_ms) - t0))
say "curl with the backend down: exit $rc after $ms ms ($err)"
# 56: recv failure (reset), 55: send failure (reset before the request went
# out), 52: empty reply (closed), 7: could not connect.
case $rc in
7 | 52 | 55 | 56) ;;
*) sg_fail "curl with the backend down exited $rc ($err), expected 7, 52, 55 or 56 (reset/closed/refused)" ;;
esac
assert_cmp "ms until curl failed" "$ms" "<" "$MAX_FAIL_MS"
# synguard resets (DESIGN §6): curl sees the reset while sending or receiving.
reset=$([[ $rc == 55 || $rc == 56 ]] && echo 1 || echo 0)
assert_synguard "client got a reset (curl exit 55/56)" "$reset" == 1
assert_synguard "backend_unavailable" $(($(sg_stat backend_unavailable) - unavail0)) ">=" 1

nginx_start
say "nginx started again"
code=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || sg_fail "curl failed after the backend came back"
assert_eq "HTTP status, backend back" "$code" 200

sg_pass "backend down: curl exit $rc after $ms ms (< $MAX_FAIL_MS ms); backend back: HTTP $code"

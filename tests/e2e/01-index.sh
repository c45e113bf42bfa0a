#!/usr/bin/env bash
# 01 — curl fetches the index page through synguard, and nginx's access log
# shows the request (so it really went through to the backend).
set -euo pipefail
SG_FAMILIES="4 6" # also over IPv6, with SG_FAMILY=6
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup curl
sg_start

out=$(client_curl -o "$SG_TMP/index.got" -w '%{http_code} %{size_download} %{time_connect} %{time_total}' \
	-A synguard-e2e-01 "$SG_URL") || sg_fail "curl $SG_URL failed: $out"
read -r code size t_connect t_total <<<"$out"
assert_eq "HTTP status" "$code" 200
assert_ok "body is the index page" cmp -s "$SG_TMP/index.got" "$SG_TMP/www/index.html"

# nginx logs when the request completes: allow it a moment.
for _ in $(seq 20); do
	(($(access_log_count '"GET / HTTP/1.1" 200 .*synguard-e2e-01') > 0)) && break
	sleep 0.05
done
logged=$(access_log_count '"GET / HTTP/1.1" 200 .*synguard-e2e-01')
assert_cmp "access log lines for the request" "$logged" == 1

taken=$(sg_stat "$SG_TAKEN")
valid=$(sg_stat_cached ack_valid)
backend_ok=$(sg_stat_cached backend_connect_ok)
assert_synguard "ack_valid" "$valid" ">=" 1
assert_synguard "$SG_TAKEN" "$taken" ">=" 1
assert_synguard "backend_connect_ok" "$backend_ok" ">=" 1

sg_pass "HTTP $code, $size bytes, connect ${t_connect}s, total ${t_total}s, access log lines $logged, ack_valid $valid, $SG_TAKEN $taken ($SG_DATAPATH path)"

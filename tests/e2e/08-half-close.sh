#!/usr/bin/env bash
# 08 — half-close is relayed both ways: a client shuts its write side right
# after its request; the backend answers only once that FIN has reached it
# (halfclose_backend.py), and the client must still receive the whole 10 MB
# response, byte for byte.
set -euo pipefail
SG_PATHS="ring kernel" SG_PATHS_WHY="about the relay, which the xdp path shares with the ring path (tested there): it differs only in answering SYNs"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup
# nginx aborts a response when its client half-closes: swap in a backend that
# waits for the FIN instead.
nginx_stop
sg_bg "$SG_TMP/halfclose-backend.log" "$NS_BACKEND" "${PIN_OTHERS[@]}" timeout 60 python3 "$SG_E2E_DIR/halfclose_backend.py" \
	--bind "$SG_BACKEND_IP" --port "$SG_PORT" --file "$SG_TMP/www/big.bin" --count 1 --timeout 5
for _ in $(seq 100); do
	grep -q listening "$SG_TMP/halfclose-backend.log" && break
	sleep 0.05
done
# It serves exactly one connection: no health check may take it.
sg_config_edit() { printf 'health_check = { enabled = false; };\n' >>"$1"; }
sg_start

legit_run half-close -n 1 --path /big.bin --half-close --expect-sha256 "$SG_BIG_SHA" --timeout 20
backend_saw=$(grep '^conn ' "$SG_TMP/halfclose-backend.log" || echo "no connection")
say "backend: $backend_saw"
[[ $backend_saw == *eof=1* ]] || sg_fail "the client's FIN did not reach the backend within 5 s (backend: $backend_saw)"
ok=$(jget "$LEGIT_JSON" ok)
bytes=$(jget "$LEGIT_JSON" bytes)
[[ $ok == 1 ]] || sg_fail "half-closed client did not get the full response: $(legit_line "$LEGIT_JSON")"
assert_cmp "body bytes after half-close" "$bytes" == "$SG_BIG_SIZE"
ms=$(jget "$LEGIT_JSON" total_ms.p50)
sg_pass "client FIN relayed to the backend ($backend_saw), then $bytes bytes received in $ms ms, sha256 matches"

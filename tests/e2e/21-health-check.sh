#!/usr/bin/env bash
# 21 — active health checks: of two backends, one goes silent (its SYNs
# dropped in the backend's namespace: no refusal, only silence); it is marked
# down within fall x interval (+ jitter, one timeout and some slack), logged
# once, and no client waits for it afterwards; with both silent /health
# answers 503, with one back 200; each comes back up within rise x interval.
# The per-backend series pass promtool.
set -euo pipefail
# One path is enough: the checks and the backend choice are the relay's,
# which every path shares. The kernel path where this kernel has it.
SG_PATHS=kernel
[[ -n ${SG_E2E_KERNEL_PATH_MISSING-$("$(dirname "$0")/kernel-path-check")} ]] && SG_PATHS=ring
SG_PATHS_WHY="about the relay's backend choice, which every path shares: one is enough"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

INTERVAL_MS=200 TIMEOUT_MS=100 RISE=2 FALL=3 CONNECT_TIMEOUT_MS=1000
# Probes are jittered by up to a tenth of the interval; the log is polled;
# the machine may be busy (2 cores, other tests).
SLACK_MS=1000
DOWN_BOUND_MS=$((FALL * INTERVAL_MS * 11 / 10 + TIMEOUT_MS + SLACK_MS))
UP_BOUND_MS=$((RISE * INTERVAL_MS * 11 / 10 + TIMEOUT_MS + SLACK_MS))
REQUESTS=40
ADMIN=127.0.0.1:9100
A=$SG_BACKEND_IP:$SG_PORT B=10.77.9.3:$SG_PORT

sg_topo_setup promtool
# Backend B: a second address of the backend host, nginx listening on both.
in_backend ip addr add "${B%:*}/24" dev be0
SG_BACKEND_ENDPOINTS+=("$B")
nginx_conf
nginx_start
# Silence by address: SYNs to a member of @silent are dropped.
in_backend nft -f - <<-EOF
	table inet sg_h21 {
		set silent { type ipv4_addr; }
		chain input {
			type filter hook input priority 0; policy accept;
			ip daddr @silent tcp dport $SG_PORT drop
		}
	}
EOF
silence() { in_backend nft "$1" element inet sg_h21 silent "{ ${2%:*} }"; }

sed -e "s|^backends = .*|backends = ( { address = \"$A\"; }, { address = \"$B\"; } );|" \
	-e "s|^workers = .*|workers = 2;|" \
	-e "s|^connect_timeout_ms = .*|connect_timeout_ms = $CONNECT_TIMEOUT_MS;|" \
	"$SG_CONFIG_TEMPLATE" >"$SG_TMP/template.conf"
cat >>"$SG_TMP/template.conf" <<-EOF
	admin = "$ADMIN";
	health_check = { interval_ms = $INTERVAL_MS; timeout_ms = $TIMEOUT_MS; rise = $RISE; fall = $FALL; };
EOF
SG_CONFIG_TEMPLATE=$SG_TMP/template.conf
say "topology $SG_TAG up, backends $A and $B ($(sg_where))"
sg_start

metrics() { in_proxy curl -s --max-time 2 "http://$ADMIN/metrics"; }
# backend_metric NAME BACKEND — one per-backend sample's value.
backend_metric() { metrics | awk -v k="$1{backend=\"$2\"}" '$1 == k { print $2 }'; }
health_status() { in_proxy curl -s --max-time 2 -o "$SG_TMP/health.body" -w '%{http_code}' "http://$ADMIN/health"; }

# wait_log TEXT BOUND_MS T0 — wait for a log line with TEXT; sets WAITED_MS
# (since T0) and fails beyond BOUND_MS (plus a second, to report the time).
wait_log() {
	local text=$1 bound=$2 t0=$3
	while ! grep -qF "$text" "$SG_LOG"; do
		(($(now_ms) - t0 > bound + 1000)) && sg_fail "no '$text' in the log within $((bound + 1000)) ms"
		sleep 0.02
	done
	WAITED_MS=$(($(now_ms) - t0))
	assert_cmp "ms until '$text'" "$WAITED_MS" "<=" "$bound"
}

# Both up: served, and the metrics say so.
code=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || sg_fail "curl failed with both backends up"
assert_eq "HTTP status, both backends up" "$code" 200
assert_eq "synguard_backend_up $A" "$(backend_metric synguard_backend_up "$A")" 1
assert_eq "synguard_backend_up $B" "$(backend_metric synguard_backend_up "$B")" 1

# B silent.
t0=$(now_ms)
silence add "$B"
wait_log "backend $B is down ($FALL failed checks: timed out)" "$DOWN_BOUND_MS" "$t0"
down_ms=$WAITED_MS
assert_eq "synguard_backend_up $B, silent" "$(backend_metric synguard_backend_up "$B")" 0
assert_eq "/health with $A up" "$(health_status)" 200

# No client waits for B: each connection its own (Connection: close).
urls=()
for ((i = 0; i < REQUESTS; i++)); do urls+=("$SG_URL"); done
CURL_MAX_TIME=60 client_curl -o /dev/null -H 'Connection: close' -w '%{http_code} %{time_total}\n' "${urls[@]}" \
	>"$SG_TMP/requests.txt" || sg_fail "curl of $REQUESTS requests failed: $(tail -n 3 "$SG_TMP/requests.txt")"
ok=$(awk '$1 == 200' "$SG_TMP/requests.txt" | wc -l)
max_ms=$(awk '{ if ($2 + 0 > m) m = $2 + 0 } END { printf "%.1f", m * 1000 }' "$SG_TMP/requests.txt")
assert_cmp "requests answered 200 with $B silent" "$ok" == "$REQUESTS"
assert_cmp "slowest request (ms)" "$max_ms" "<" $((CONNECT_TIMEOUT_MS / 2))
assert_cmp "connections to $B now" "$(backend_metric synguard_backend_connections "$B")" == 0
assert_cmp "clients' failed connects to $B" "$(backend_metric synguard_backend_connect_failures_total "$B")" == 0
assert_cmp "'$B is down' lines" "$(grep -cF "backend $B is down" "$SG_LOG")" == 1

# Both silent: /health says no backend is up.
t0=$(now_ms)
silence add "$A"
wait_log "backend $A is down" "$DOWN_BOUND_MS" "$t0"
assert_eq "/health, both silent" "$(health_status)" 503
assert_eq "/health body" "$(cat "$SG_TMP/health.body")" "no backend is up"

# A back, then B.
t0=$(now_ms)
silence delete "$A"
wait_log "backend $A is up ($RISE successful checks)" "$UP_BOUND_MS" "$t0"
assert_eq "/health, $A back" "$(health_status)" 200
t0=$(now_ms)
silence delete "$B"
wait_log "backend $B is up ($RISE successful checks)" "$UP_BOUND_MS" "$t0"
up_ms=$WAITED_MS
assert_eq "synguard_backend_up $B, back" "$(backend_metric synguard_backend_up "$B")" 1
assert_cmp "failed checks of $B" "$(backend_metric synguard_backend_check_failures_total "$B")" ">=" "$FALL"
code=$(client_curl -o /dev/null -w '%{http_code}' "$SG_URL") || sg_fail "curl failed with both backends back"
assert_eq "HTTP status, both back" "$code" 200

# The per-backend series as Prometheus tools read them.
series='synguard_backend_(up|connections|connect_failures_total|check_failures_total|check_seconds)'
metrics | grep -E "^(# (HELP|TYPE) $series |$series\\{)" >"$SG_TMP/backend.prom"
assert_cmp "per-backend series lines" "$(wc -l <"$SG_TMP/backend.prom")" == 20
promtool check metrics <"$SG_TMP/backend.prom" >"$SG_TMP/promtool.out" 2>&1 ||
	sg_fail "promtool check metrics: $(cat "$SG_TMP/promtool.out")"
say "ok: promtool check metrics accepts the per-backend series"

sg_pass "silent backend down after $down_ms ms (bound $DOWN_BOUND_MS), $ok/$REQUESTS requests then, slowest $max_ms ms" \
	"(< $((CONNECT_TIMEOUT_MS / 2))); /health 503 with both silent, 200 with one back; back up after $up_ms ms" \
	"(bound $UP_BOUND_MS); promtool ok"

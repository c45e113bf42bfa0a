#!/usr/bin/env bash
# 20 — the admin endpoint as monitoring sees it: after a few connections,
# /metrics from the running daemon passes `promtool check metrics` with no
# complaint (Prometheus' own linter: counters *_total, gauges typed as such),
# the SYN and adoption counters moved with the traffic, synguard_build_info
# names the version, the data path running and the mode, and /health answers
# 200 "ok". `synguard top --once` (by -a and by -c) shows the data path and
# the SYNs seen; against nothing listening it says why and exits 1.
set -euo pipefail
SG_PATHS=ring SG_PATHS_WHY="the endpoint and top do not depend on the data path (build_info's datapath label is checked against the path running)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! sg_has_counters; then
	sg_skip "the stand-in has no admin endpoint"
	exit 77
fi
sg_setup curl promtool

ADMIN=127.0.0.1:9100
N=5
SG_CONFIG_TEMPLATE_BASE=$SG_CONFIG_TEMPLATE
SG_CONFIG_TEMPLATE=$SG_TMP/metrics.conf.in
{
	cat "$SG_CONFIG_TEMPLATE_BASE"
	echo "admin = \"$ADMIN\";"
} >"$SG_CONFIG_TEMPLATE"
sg_start

for ((i = 0; i < N; i++)); do
	client_curl -o /dev/null "$SG_URL" || sg_fail "request $((i + 1)) of $N failed"
done

admin_get() { # PATH OUT: the body into OUT, the status on stdout
	in_proxy curl --silent --show-error --max-time 5 -o "$2" -w '%{http_code}' "http://$ADMIN$1" ||
		sg_fail "admin endpoint did not answer $1"
}

code=$(admin_get /metrics "$SG_TMP/metrics.txt")
assert_eq "/metrics status" "$code" 200
lint=$(promtool check metrics <"$SG_TMP/metrics.txt" 2>&1) ||
	sg_fail "promtool check metrics failed: $lint"
[[ -z $lint ]] || sg_fail "promtool check metrics complains: $lint"
series=$(grep -c '^synguard_' "$SG_TMP/metrics.txt")
say "ok: promtool check metrics passes $series series"

metric() { awk -v m="$1" '$1 == m {print $2}' "$SG_TMP/metrics.txt"; }
syns=$(metric synguard_syn_received_total)
taken=$(metric "synguard_${SG_TAKEN}_total")
assert_cmp "synguard_syn_received_total" "${syns:-0}" ">=" "$N"
assert_cmp "synguard_${SG_TAKEN}_total" "${taken:-0}" ">=" "$N"
assert_eq "synguard_flood (a few connections are no flood)" "$(metric synguard_flood)" 0
version=$("$SYNGUARD" --version | awk '{print $2}')
build_info="synguard_build_info{version=\"$version\",datapath=\"$SG_DATAPATH\",mode=\"relay\"} 1"
grep -qxF "$build_info" "$SG_TMP/metrics.txt" ||
	sg_fail "no '$build_info' line: $(grep build_info "$SG_TMP/metrics.txt" || echo none)"

code=$(admin_get /health "$SG_TMP/health.txt")
assert_eq "/health status" "$code" 200
assert_eq "/health body" "$(cat "$SG_TMP/health.txt")" ok

# top: by the endpoint and by the config that names it.
in_proxy "$SYNGUARD" top --once -a "$ADMIN" >"$SG_TMP/top.txt" 2>&1 || sg_fail "top --once failed: $(cat "$SG_TMP/top.txt")"
say "synguard top --once:"
sed 's/^/    /' "$SG_TMP/top.txt" >&2
grep -q "data path $SG_DATAPATH, mode relay" "$SG_TMP/top.txt" ||
	sg_fail "top does not show the data path: $(head -n 1 "$SG_TMP/top.txt")"
top_syns=$(awk '$1 == "SYNs" {print $3}' "$SG_TMP/top.txt")
assert_cmp "top: SYNs total" "${top_syns:-0}" ">=" "$N"
in_proxy "$SYNGUARD" top --once -c "$SG_CONF" >"$SG_TMP/top-c.txt" 2>&1 ||
	sg_fail "top --once -c failed: $(cat "$SG_TMP/top-c.txt")"
grep -q "at $ADMIN: data path $SG_DATAPATH" "$SG_TMP/top-c.txt" || sg_fail "top -c: $(head -n 1 "$SG_TMP/top-c.txt")"

# The live view, on a terminal (a pty) for 2.5 s: it draws the data path,
# then q ends it with exit 0 at once.
live=$(in_proxy python3 - "$SYNGUARD" "$ADMIN" "$SG_DATAPATH" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execv(sys.argv[1], ["synguard", "top", "-a", sys.argv[2]])
out, end = b"", time.time() + 2.5
while time.time() < end:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            out += os.read(fd, 65536)
        except OSError:
            break
os.write(fd, b"q")
t = time.time()
for _ in range(50):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    status = -1
print(("data path " + sys.argv[3]).encode() in out, b"q: quit" in out, os.waitstatus_to_exitcode(status) if status >= 0 else "hung",
      "%.1f" % (time.time() - t))
PY
)
read -r drawn help live_rc live_s <<<"$live"
[[ $drawn == True && $help == True ]] || sg_fail "the live view did not draw the data path and help: $live"
assert_eq "live view: exit code after q" "$live_rc" 0

# Nothing listening: a clear message, exit 1, at once.
rc=0
in_proxy "$SYNGUARD" top --once -a 127.0.0.1:9 >"$SG_TMP/top-down.txt" 2>&1 || rc=$?
assert_eq "top against nothing: exit code" "$rc" 1
grep -q "127.0.0.1:9/metrics: cannot connect: Connection refused" "$SG_TMP/top-down.txt" ||
	sg_fail "top against nothing says: $(cat "$SG_TMP/top-down.txt")"

sg_pass "promtool passes $series series, syn_received_total $syns, ${SG_TAKEN}_total $taken, build_info $version/$SG_DATAPATH/relay, /health 200 ok; top --once shows path $SG_DATAPATH and $top_syns SYNs (-a and -c), the live view draws it and quits on q in ${live_s}s; unreachable: exit 1"

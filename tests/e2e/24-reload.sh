#!/usr/bin/env bash
# 24 — SIGHUP applies a new config under continuous load without a failed
# request or a dropped connection: a weight change takes effect (A:B from
# 1:0 to 1:3), a listen endpoint added is served and one removed is not, a
# broken config and a restart-only change are refused naming the file:line or
# the setting while the running config stays in force, and a 10 MB download
# running across every reload arrives intact; stopped, it leaves nothing.
set -euo pipefail
SG_PATHS="ring kernel" SG_PATHS_WHY="reload is the same on the xdp path as on the ring path but for the XDP program's maps, which the kernel path shares"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

LOAD_MAX=3000 # requests at most: the load is bounded in count as in time

sg_setup curl sha256sum

# Backend B: a second nginx beside the first (A), its own page.
B_PORT=8081
mkdir -p "$SG_TMP/www-b"
echo "backend B" >"$SG_TMP/www-b/index.html"
sed -e "s|listen $SG_BACKEND_IP:$SG_PORT|listen $SG_BACKEND_IP:$B_PORT|" -e "s|root $SG_TMP/www;|root $SG_TMP/www-b;|" \
	-e "s|$SG_TMP/nginx\.pid|$SG_TMP/nginx-b.pid|" -e "s|$SG_TMP/nginx-access\.log|$SG_TMP/nginx-b-access.log|" \
	-e "s|$SG_TMP/nginx\.lock|$SG_TMP/nginx-b.lock|" -e '/listen \[/d' "$SG_TMP/nginx.conf" >"$SG_TMP/nginx-b.conf"
nginx_launch "$NS_BACKEND" nginx-b "$SG_BACKEND_IP:$B_PORT" "${PIN_OTHERS[@]}"
for ((i = 0; i < 100; i++)); do
	in_backend ss -Hltn "sport = :$B_PORT" | grep -q LISTEN && break
	((i < 99)) || sg_fail "backend B does not listen on :$B_PORT: $(tail -n 2 "$SG_TMP/nginx-b-error.log")"
	sleep 0.05
done

# A key file only root can read (0600 root, as --gen-key makes it), so a
# reload as `user` cannot read it again.
"$SYNGUARD" --gen-key "$SG_TMP/cookie.key" >/dev/null
sg_config_edit() { sed -i "s|^cookie = .*|cookie = { key_period = 30; key_file = \"$SG_TMP/cookie.key\"; };|" "$1"; }
[[ $SG_DATAPATH == ring ]] || sg_bpf_before
sg_start
[[ $SG_DATAPATH == ring ]] || sg_bpf_running
grep -q "cookie key loaded from $SG_TMP/cookie.key" "$SG_LOG" || sg_fail "the key file was not loaded at start"
# As in /etc/synguard: the file (not the key) readable by the configured user.
chmod 711 "$SG_TMP"
chmod 644 "$SG_CONF"
N_LISTEN=$(sed -nE 's/.*ready: protecting ([0-9]+) endpoint.*/\1/p' "$SG_LOG")
conf_set() { # the running config with its backends line and extra settings replaced
	local backends=$1 extra=${2:-}
	sed -e "s|^backends = .*|backends = ( $backends );|" "$SG_TMP/synguard.conf.orig" >"$SG_CONF"
	[[ -z $extra ]] || printf '%s\n' "$extra" >>"$SG_CONF"
}
cp "$SG_CONF" "$SG_TMP/synguard.conf.orig"
A="{ address = \"$SG_BACKEND_IP:$SG_PORT\"; weight = 1; }"
B="{ address = \"$SG_BACKEND_IP:$B_PORT\"; weight = 3; }"

# hup WHAT PATTERN — SIGHUP; wait for the log line that ends the reload.
RELOADS=0
hup() {
	local before i
	before=$(grep -cE 'reloaded |reload refused|reload failed' "$SG_LOG" || true)
	kill -HUP "$SG_PID"
	for ((i = 0; i < 100; i++)); do
		(($(grep -cE 'reloaded |reload refused|reload failed' "$SG_LOG" || true) > before)) && break
		sleep 0.05
	done
	RELOADS=$((RELOADS + 1))
	grep -E 'reloaded |reload refused|reload failed' "$SG_LOG" | tail -n 1 | grep -qE "$2" ||
		sg_fail "$1: expected a log line matching '$2', got: $(sg_log_tail 2 | tr '\n' ' ')"
	pid_alive "$SG_PID" || sg_fail "$1: synguard exited on SIGHUP: $(sg_log_tail 3 | tr '\n' ' ')"
	say "$1: $(grep -E 'reloaded |reload refused' "$SG_LOG" | tail -n 1 | sed 's/.*synguard\[[a-z]*\] //')"
}

# The continuous load: one request after another, each line A, B or FAIL.
cat >"$SG_TMP/load.sh" <<-EOF
	i=0
	while [ ! -e "$SG_TMP/load.stop" ] && [ \$i -lt $LOAD_MAX ]; do
		i=\$((i + 1))
		body=\$(curl -s --max-time 3 "$SG_URL") && rc=0 || rc=\$?
		case \$body in
		*"backend B"*) echo B ;;
		*"index page"*) echo A ;;
		*) echo "FAIL curl exit \$rc" ;;
		esac
	done
EOF
sg_bg "$SG_TMP/load.out" "$NS_CLIENT" bash "$SG_TMP/load.sh"
LOAD_PID=$SG_LAST_PID
# The download that spans every reload (2 MB/s: 5 s).
sg_bg "$SG_TMP/dl.out" "$NS_CLIENT" curl -s --max-time 30 --limit-rate 2M -o "$SG_TMP/big.got" "${SG_URL}big.bin"
DL_PID=$SG_LAST_PID
sleep 1

lines() { wc -l <"$SG_TMP/load.out"; }
share_b() { # FROM: B's share (percent) of the answers after line FROM
	tail -n +"$(($1 + 1))" "$SG_TMP/load.out" | awk '/^A$/ { a++ } /^B$/ { b++ } END { print (a + b) ? int(100 * b / (a + b)) : -1 }'
}
n0=$(lines)
assert_cmp "B's share before any reload (%)" "$(share_b 0)" == 0

# 1: B added with weight 3.
conf_set "$A, $B"
hup "backends A:1, B:3" "reloaded .*2 backend"
grep -q "reload: user nobody cannot read the key file $SG_TMP/cookie.key: the running key stays" "$SG_LOG" ||
	sg_fail "no warning that the key file cannot be read again: $(sg_log_tail 3 | tr '\n' ' ')"
n1=$(lines)
sleep 2
assert_cmp "requests in 2 s after the weight change" "$(($(lines) - n1))" ">=" 10
share1=$(share_b "$n1")
assert_cmp "B's share after A:1, B:3 (%)" "$share1" ">=" 65
assert_cmp "B's share after A:1, B:3 (%)" "$share1" "<=" 85

# 2: a broken config: refused at its line, the running one stays.
conf_set "$A, $B" "oops = 10 10;"
bad_line=$(wc -l <"$SG_CONF")
hup "a syntax error" "reload refused: $SG_CONF:$bad_line: syntax error; the running configuration stays in force"
# 3: a setting only a restart can change.
conf_set "$A, $B"
sed -i 's/^workers = .*/workers = 2;/' "$SG_CONF"
hup "workers changed" 'reload refused: .*`workers` changed, which needs a restart'
n3=$(lines)
sleep 1.5
share3=$(share_b "$n3")
assert_cmp "B's share after the refused reloads (%)" "$share3" ">=" 60

# 4: a second listen endpoint, then without it again.
sed -i -e "s|^listen = \[ \(.*\) \];|listen = [ \1, \"$SG_VIP4:8080\" ];|" "$SG_TMP/synguard.conf.orig"
conf_set "$A, $B"
hup "listen on :8080 too" "reloaded .*: $((N_LISTEN + 1)) endpoint"
code=$(client_curl -o /dev/null -w '%{http_code}' "http://$SG_VIP4:8080/") || sg_fail "curl to the added endpoint :8080 failed"
assert_eq "HTTP status on the added endpoint" "$code" 200
sed -i -e "s|, \"$SG_VIP4:8080\" \];| ];|" "$SG_TMP/synguard.conf.orig"
conf_set "$A, $B"
hup "no :8080 again" "reloaded .*: $N_LISTEN endpoint"
rc=0
CURL_MAX_TIME=3 client_curl -o /dev/null "http://$SG_VIP4:8080/" 2>/dev/null || rc=$?
assert_cmp "curl exit on the removed endpoint :8080 (7: refused)" "$rc" == 7

# 5: back to A alone.
conf_set "$A"
hup "backend A alone" "reloaded .*1 backend"
n5=$(lines)
sleep 1.5
assert_cmp "B's share after B was removed (%)" "$(share_b "$n5")" == 0

touch "$SG_TMP/load.stop"
wait_exit "$LOAD_PID" 10 || sg_fail "the load loop did not stop"
wait_exit "$DL_PID" 30 || sg_fail "the download did not finish"
total=$(lines)
failed=$(grep -c FAIL "$SG_TMP/load.out" || true)
[[ $failed == 0 ]] || sg_fail "$failed of $total requests failed across $RELOADS reloads: $(grep FAIL "$SG_TMP/load.out" | sort | uniq -c | tr '\n' ' ')"
got=$(sha256sum "$SG_TMP/big.got" 2>/dev/null | awk '{print $1}')
assert_eq "sha256 of the download across the reloads" "$got" "$SG_BIG_SHA"
assert_cmp "requests during the test" "$total" ">=" 50

# Reloaded six times, it still leaves nothing behind when it stops.
sg_stop TERM
assert_cmp "exit status after the reloads and SIGTERM" "$SG_EXIT_RC" == 0
assert_cmp "nft tables of synguard's after SIGTERM" "$(sg_tables)" == 0
[[ $SG_DATAPATH == ring ]] || sg_bpf_clean "after the reloads and SIGTERM"
sg_pass "$total requests, 0 failed, across $RELOADS SIGHUPs; B's share 0 → ${share1}% (weights 1:3) → ${share3}% after a syntax error and a workers change were refused; :8080 served once added and refused once removed; 10 MB download across all reloads intact; nothing left after SIGTERM"

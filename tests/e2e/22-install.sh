#!/usr/bin/env bash
# 22 — what `meson install` puts on a host runs as the unit says: the
# installed synguard.service and synguard@.service pass `systemd-analyze
# verify` (at their real prefix, in a mount namespace of this test), the man
# pages render without a warning and document every setting of the example
# config; the installed binary, run as the unit runs it — a system user of
# its own (made here, deleted on exit), exactly the unit's ambient
# capabilities and bounding set, no_new_privs, its LimitNOFILE, the file
# system as its ProtectSystem=strict, ProtectHome=, PrivateTmp= and
# PrivateDevices= leave it (tests/e2e/unit_fs.sh) — protects
# port 80 on the default data path: curl through it gets the page, it tells
# systemd READY=1 and its status, logs with journal priorities, and after
# TERM nothing of it is left. `-t` refuses, naming it, a missing interface, a
# missing key file, a group-readable one and the missing CAP_NET_BIND_SERVICE
# for port 80; a start that fails after set-up began prints the error and no
# counters, and leaves no nft table, BPF program or link.
set -euo pipefail
SG_PATHS=auto SG_PATHS_WHY="the installed service runs the path datapath = \"auto\" picks here; what each path needs is privs_needed()'s unit test"
SG_DATAPATH=${SG_DATAPATH:-auto}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! sg_has_counters; then
	sg_skip "the stand-in is not installed"
	exit 77
fi
sg_setup meson systemd-analyze groff setpriv prlimit useradd userdel unshare

# ---------------------------------------------------------------- install

DEST=$SG_TMP/dest
chmod 711 "$SG_TMP" # the test user reaches the binary and its config below
meson install -C "$BUILD" --destdir "$DEST" --no-rebuild --quiet >"$SG_TMP/install.log" 2>&1 ||
	sg_fail "meson install failed: $(tail -n 5 "$SG_TMP/install.log")"
read -r PREFIX SBINDIR MANDIR SYSCONFDIR < <(meson introspect "$BUILD" --buildoptions | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["prefix"], o["sbindir"], o["mandir"], o["sysconfdir"])')
abs() { [[ $1 == /* ]] && echo "$1" || echo "$PREFIX/$1"; }
UNITDIR=$(dirname "$(find "$DEST" -name synguard.service -print -quit)")
[[ $UNITDIR != . ]] || sg_fail "no synguard.service installed under $DEST"
UNITDIR=${UNITDIR#"$DEST"}
for f in "$(abs "$SBINDIR")/synguard" "$UNITDIR/synguard.service" "$UNITDIR/synguard@.service" \
	"$(abs "$MANDIR")/man8/synguard.8" "$(abs "$MANDIR")/man5/synguard.conf.5" \
	"$(abs "$SYSCONFDIR")/synguard/synguard.conf.example"; do
	[[ -f $DEST$f ]] || sg_fail "meson install did not install $f"
done
[[ -n $(find "$DEST" -path '*sysusers.d/synguard.conf') ]] || sg_fail "no sysusers.d/synguard.conf installed"
UNIT=$DEST$UNITDIR/synguard.service
BIN=$DEST$(abs "$SBINDIR")/synguard
say "ok: installed under $DEST (prefix $PREFIX)"

# systemd-analyze verify at the real prefix: the install laid over it (an
# overlay: the host's files stay visible) in a private mount namespace, the
# man pages of Documentation= found there.
# shellcheck disable=SC2016 # $1.. are the inner shell's arguments
out=$(unshare -m --propagation private sh -c 'mount -t overlay sg22 -o "lowerdir=$1$2:$2" "$2" &&
	MANPATH="$3:/usr/share/man" systemd-analyze verify "$4/synguard.service" "$4/synguard@.service" 2>&1' \
	- "$DEST" "$PREFIX" "$(abs "$MANDIR")" "$UNITDIR") || sg_fail "systemd-analyze verify failed: $out"
assert_eq "systemd-analyze verify: messages" "$out" ""
grep -q "^ExecStart=$(abs "$SBINDIR")/synguard -c $(abs "$SYSCONFDIR")/synguard/synguard.conf\$" "$UNIT" ||
	sg_fail "synguard.service: ExecStart is not the installed binary with $(abs "$SYSCONFDIR")/synguard/synguard.conf"
grep -q "^ExecStart=.* -c $(abs "$SYSCONFDIR")/synguard/%i.conf\$" "$DEST$UNITDIR/synguard@.service" ||
	sg_fail "synguard@.service: ExecStart does not read %i.conf"
say "ok: systemd-analyze verify passes on synguard.service and synguard@.service"

# The man pages: no groff warning; every setting of the example config in
# synguard.conf(5), every option of the usage in synguard(8).
for page in man8/synguard.8 man5/synguard.conf.5; do
	out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$DEST$(abs "$MANDIR")/$page" 2>&1) ||
		sg_fail "groff failed on $page: $out"
	assert_eq "groff warnings for $page" "$out" ""
done
CONF5=$(LC_ALL=C.UTF-8 groff -man -Tutf8 "$DEST$(abs "$MANDIR")/man5/synguard.conf.5" 2>/dev/null | sed 's/.\x08//g')
n=0
while read -r setting; do
	grep -qE "^ +$setting( |$)" <<<"$CONF5" || sg_fail "synguard.conf(5) does not document '$setting'"
	n=$((n + 1))
done < <(sed -nE 's/^[[:space:]]*([a-z_]+) = .*/\1/p' "$SG_ROOT/config/synguard.conf.example" | sort -u)
SG8=$(LC_ALL=C.UTF-8 groff -man -Tutf8 "$DEST$(abs "$MANDIR")/man8/synguard.8" 2>/dev/null | sed 's/.\x08//g')
for opt in --config --test --gen-key --version --help TERM HUP USR1 CAP_NET_BIND_SERVICE JOURNAL_STREAM; do
	grep -q -- "$opt" <<<"$SG8" || sg_fail "synguard(8) does not mention $opt"
done
say "ok: man pages render without warnings; synguard.conf(5) documents all $n settings of the example"

# ---------------------------------------------------------------- as the unit

# The unit's capabilities, those this host grants, in setpriv's syntax: a
# container may withhold some, which systemd (>= 246, systemd/systemd#15959)
# then leaves out of the ambient set.
UNIT_CAPS=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
[[ $UNIT_CAPS == "$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")" ]] ||
	sg_fail "AmbientCapabilities and CapabilityBoundingSet differ in $UNIT"
CAPS="" WITHHELD=""
for c in $UNIT_CAPS; do
	c=${c,,}
	c=${c#cap_}
	if setpriv --inh-caps "+$c" true 2>/dev/null; then CAPS+=",+$c"; else WITHHELD+=" $c"; fi
done
CAPS=${CAPS#,}
[[ -n $WITHHELD ]] && say "this host withholds:$WITHHELD"
NOFILE=$(sed -n 's/^LimitNOFILE=//p' "$UNIT")
assert_cmp "LimitNOFILE (65536 x 6 + 1024)" "$NOFILE" == $((65536 * 6 + 1024))
# Where this host's hard limit is lower (no CAP_SYS_RESOURCE to raise it),
# that, as systemd would have to.
HARD=$(ulimit -Hn)
[[ $HARD != unlimited ]] && ((HARD < NOFILE)) && say "open-file limit: the host's hard limit $HARD, not $NOFILE" && NOFILE=$HARD
grep -qx 'Type=notify' "$UNIT" || sg_fail "$UNIT is not Type=notify"
grep -qx 'User=synguard' "$UNIT" || sg_fail "$UNIT does not run as User=synguard"

# A system user of our own, standing in for the unit's `synguard`.
SG_USER=sg22-$$-$RANDOM
useradd --system --no-create-home --shell /usr/sbin/nologin "$SG_USER"
# -f: even while a process of it still runs (sg_cleanup kills those), which
# then gets the exit status it would have had.
install_cleanup() {
	local rc=$?
	userdel -f "$SG_USER" 2>/dev/null
	(exit "$rc")
	sg_cleanup
}
trap install_cleanup EXIT
read -r USER_UID USER_GID < <(getent passwd "$SG_USER" | awk -F: '{print $3, $4}')
ETC=$SG_TMP/etc
mkdir -m 755 "$ETC"

# write_conf FILE [SED] — the test's config as this user, edited by SED.
write_conf() {
	sg_write_config "$1"
	echo "user = \"$SG_USER\";" >>"$1"
	[[ -z ${2:-} ]] || sed -i -e "$2" "$1"
	chmod 644 "$1"
}

# as_unit CAPS: AS_UNIT becomes the command line that runs a program as the
# unit runs ExecStart (in the proxy namespace), its file system hardened as
# the unit's ProtectSystem=strict, ProtectHome=, PrivateTmp= and
# PrivateDevices= harden it (unit_fs.sh). An array, not a function: run
# in the background, the PID we keep is then the program's.
as_unit() {
	AS_UNIT=("$SG_E2E_DIR/unit_fs.sh" "$SG_TMP" ip netns exec "$NS_PROXY" prlimit --nofile="$NOFILE:$NOFILE" setpriv --reuid "$SG_USER"
		--regid "$SG_USER" --init-groups --inh-caps "-all,$1" --ambient-caps "-all,$1"
		--bounding-set "-all,$1" --no-new-privs)
}

# start_as_unit CONF — the installed binary as the unit starts it, with
# NOTIFY_SOCKET and JOURNAL_STREAM (its stderr, the log) as systemd sets them.
start_as_unit() {
	SG_STARTS=$((SG_STARTS + 1))
	SG_LOG=$SG_TMP/synguard-$SG_STARTS.log
	: >"$SG_LOG"
	as_unit "$CAPS"
	# shellcheck disable=SC2094 # its own stderr is what JOURNAL_STREAM names
	NOTIFY_SOCKET=$NOTIFY JOURNAL_STREAM=$(stat -c '%d:%i' "$SG_LOG") \
		"${AS_UNIT[@]}" "$BIN" -c "$1" 2>"$SG_LOG" >/dev/null </dev/null &
	SG_PID=$!
	SG_PIDS+=("$SG_PID")
	SG_STARTED+=("$SG_PID")
}

# retry N CMD... — CMD until it succeeds, at most N tries 0.1 s apart.
retry() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# systemd's end of sd_notify: every datagram, one file per message.
NOTIFY=$SG_TMP/notify.sock
sg_bg "$SG_TMP/notify.log" - timeout 60 python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        out.flush()' "$NOTIFY" "$SG_TMP/notified"
retry 50 test -S "$NOTIFY" || sg_fail "the notify socket $NOTIFY did not appear"

CONF=$ETC/synguard.conf
write_conf "$CONF"
as_unit "$CAPS"
out=$("${AS_UNIT[@]}" "$BIN" -t -c "$CONF" 2>&1) || sg_fail "-t as the unit: $out"
assert_eq "-t as the unit" "$out" "synguard: $CONF: configuration ok"

sg_bpf_before
start_as_unit "$CONF"
sg_wait_ready
grep -q "^<6>synguard\[info\] ready" "$SG_LOG" || sg_fail "no journal priority on the ready line: $(grep -m 1 ready "$SG_LOG")"
grep -q "synguard\[info\] data path: $SG_DATAPATH (" "$SG_LOG" ||
	sg_fail "the log does not say 'data path: $SG_DATAPATH': $(grep -m 1 'data path' "$SG_LOG" || echo none)"
sg_bpf_running
BODY=$(client_curl "$SG_URL") || sg_fail "curl through synguard on port $SG_PORT failed: $BODY"
[[ $BODY == *"synguard e2e backend index page"* ]] || sg_fail "index page not served: $BODY"
say "ok: port $SG_PORT served by the installed synguard as $SG_USER with $CAPS"
KEPT=$(printf '%016x' $(((1 << 10) | (1 << 12) | (1 << 24))))
HAVE=$(awk '/^CapPrm:/ {print $2}' /proc/self/status)
KEPT=$(printf '%016x' $((16#$KEPT & 16#$HAVE)))
got=$(awk '/^(Uid|Gid|CapPrm|CapEff|CapAmb|NoNewPrivs):/ { sub(/:$/, "", $1); printf "%s %s; ", $1, $2 }' "/proc/$SG_PID/status")
assert_eq "running: ids and capabilities" "$got" "Uid $USER_UID; Gid $USER_GID; CapPrm $KEPT; CapEff $KEPT; CapAmb 0000000000000000; NoNewPrivs 1; "
retry 20 grep -q '^READY=1' "$SG_TMP/notified" || sg_fail "no READY=1 on NOTIFY_SOCKET: $(cat "$SG_TMP/notified" 2>/dev/null)"
STATUS=$(grep -m 1 '^STATUS=' "$SG_TMP/notified" || true)
assert_eq "status line" "$STATUS" "STATUS=protecting 2 endpoint(s), data path $SG_DATAPATH, 0 conns, no flood"
# systemctl reload: RELOADING=1 (with the time, as systemd >= 253 wants it), then READY=1 again.
kill -HUP "$SG_PID"
retry 40 grep -q 'reloaded ' "$SG_LOG" || sg_fail "no 'reloaded' line after SIGHUP: $(sg_log_tail 2 | tr '\n' ' ')"
retry 20 grep -q '^RELOADING=1' "$SG_TMP/notified" || sg_fail "no RELOADING=1 on NOTIFY_SOCKET after SIGHUP"
grep -q '^RELOADING=1 MONOTONIC_USEC=[0-9]' "$SG_TMP/notified" || sg_fail "RELOADING=1 without MONOTONIC_USEC"
assert_cmp "READY=1 messages (start, end of the reload)" "$(grep -c '^READY=1' "$SG_TMP/notified")" == 2
BODY=$(client_curl "$SG_URL") || sg_fail "curl after the reload failed: $BODY"
sg_stop TERM
grep -q '^STOPPING=1' "$SG_TMP/notified" || sg_fail "no STOPPING=1 on NOTIFY_SOCKET after SIGTERM"
assert_cmp "exit status after SIGTERM" "$SG_EXIT_RC" == 0
sg_bpf_clean "after SIGTERM"
assert_cmp "nft tables named synguard after SIGTERM" "$(in_proxy nft list tables | grep -c synguard || true)" == 0

# ---------------------------------------------------------------- refusals

# refused WHAT CAPS CONF WANT — `-t` as the unit exits 1 with WANT in its message.
refused() {
	local rc=0 out
	as_unit "$2"
	out=$("${AS_UNIT[@]}" "$BIN" -t -c "$3" 2>&1) || rc=$?
	assert_cmp "-t, $1: exit status" "$rc" == 1
	[[ $out == *"$4"* ]] || sg_fail "-t, $1: '$out' does not say '$4'"
	say "ok: -t, $1: $out"
}
write_conf "$ETC/noif.conf" 's/^interface = .*/interface = "sg22nosuch0";/'
refused "a missing interface" "$CAPS" "$ETC/noif.conf" "interface sg22nosuch0: No such device"
KEY=$ETC/cookie.key
write_conf "$ETC/key.conf" "s|^cookie = .*|cookie = { key_period = 30; key_file = \"$KEY\"; };|"
refused "a missing key file" "$CAPS" "$ETC/key.conf" "$KEY: cannot open: No such file or directory"
"$BIN" --gen-key "$KEY" >/dev/null
chown "$SG_USER:" "$KEY"
as_unit "$CAPS"
out=$("${AS_UNIT[@]}" "$BIN" -t -c "$ETC/key.conf" 2>&1) || sg_fail "-t with the user's 0600 key: $out"
chmod 640 "$KEY"
refused "a group-readable key file" "$CAPS" "$ETC/key.conf" "$KEY: mode 0640 lets group or others at the key"
refused "no CAP_NET_BIND_SERVICE for port $SG_PORT" "${CAPS/,+net_bind_service/}" "$CONF" \
	"missing capabilities cap_net_bind_service"

# A start that fails after set-up began (the admin port is taken): the
# error, no counters, nothing left installed.
ADMIN=127.0.0.1:9100
sg_bg "$SG_TMP/occupy.log" "$NS_PROXY" timeout 30 python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 9100))
s.listen()
time.sleep(30)'
write_conf "$ETC/admin.conf"
echo "admin = \"$ADMIN\";" >>"$ETC/admin.conf"
retry 50 in_proxy sh -c 'ss -Hltn "sport = :9100" | grep -q .' || sg_fail "nothing listens on $ADMIN"
start_as_unit "$ETC/admin.conf"
wait_exit "$SG_PID" 10 || sg_fail "a start with its admin port taken did not end within 10 s"
stop_pid "$SG_PID" TERM 1
assert_cmp "failed start: exit status" "$SG_EXIT_RC" == 1
grep -q 'synguard\[error\] admin endpoint: .*Address already in use' "$SG_LOG" ||
	sg_fail "failed start: no admin endpoint error in the log: $(tr '\n' ' ' <"$SG_LOG")"
assert_cmp "failed start: stats lines" "$(grep -cE '^stats [a-z_]+ [0-9]+$' "$SG_LOG" || true)" == 0
grep -q 'synguard\[info\] ready' "$SG_LOG" && sg_fail "failed start: it said ready"
SG_PID=""
sg_bpf_clean "after the failed start"
assert_cmp "failed start: nft tables named synguard" "$(in_proxy nft list tables | grep -c synguard || true)" == 0

sg_pass "installed (prefix $PREFIX), units verified, man pages clean ($n settings documented); as $SG_USER with the unit's capabilities ($CAPS${WITHHELD:+; withheld here:$WITHHELD}) on the $SG_DATAPATH path: port $SG_PORT served, READY=1, status, RELOADING=1 on HUP, STOPPING=1 on TERM, journal priorities, nothing left after TERM; -t refused a missing interface, a missing key, a 0640 key, no CAP_NET_BIND_SERVICE; a failed start printed no counters and left nothing"

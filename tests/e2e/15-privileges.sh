#!/usr/bin/env bash
# 15 — once set up, synguard is the configured user (default nobody) in every
# thread, with exactly the capabilities it still needs (CAP_NET_ADMIN,
# CAP_NET_BIND_SERVICE, and CAP_SYS_RESOURCE where this host grants it) as
# its permitted, effective and bounding sets, none inheritable or ambient,
# no_new_privs and its seccomp filters; and it still serves (index, 10 MB,
# admin endpoint) and removes its nft table at exit, after the drop. A uid
# given in digits works without a passwd entry; a user that does not exist is
# refused at start, naming the setting, before anything is installed.
set -euo pipefail
SG_PATHS="ring kernel" SG_PATHS_WHY="the privilege drop and the filter are the same on every path; the kernel path runs with the BPF programs loaded, as the xdp path does"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! sg_has_counters; then
	sg_skip "the stand-in does not drop privileges"
	exit 77
fi
sg_setup

# /proc's hex of the kept set: CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12),
# CAP_SYS_RESOURCE (24), less what this shell does not have itself.
HAVE=$(awk '/^CapPrm:/ {print $2}' /proc/self/status)
KEPT=$(printf '%016x' $((((1 << 10) | (1 << 12) | (1 << 24)) & 16#$HAVE)))
ADMIN=127.0.0.1:9100
BASE_TEMPLATE=$SG_CONFIG_TEMPLATE

# sg_start's template: two workers (three threads to check) and the admin
# endpoint (accept() after the filter), then LINE (a user setting, or none).
use_template() { # LINE
	SG_CONFIG_TEMPLATE=$SG_TMP/privileges.conf.in
	{
		sed 's/^workers = .*/workers = 2;/' "$BASE_TEMPLATE"
		echo "admin = \"$ADMIN\";"
		echo "$1"
	} >"$SG_CONFIG_TEMPLATE"
}

# Every thread of synguard: user, groups, capabilities, no_new_privs, seccomp.
check_threads() { # UID GID
	local uid=$1 gid=$2 task n=0 got
	local want="Uid $uid $uid $uid $uid; Gid $gid $gid $gid $gid; Groups $gid; CapInh 0000000000000000;"
	want+=" CapPrm $KEPT; CapEff $KEPT; CapBnd $KEPT; CapAmb 0000000000000000; NoNewPrivs 1; Seccomp 2"
	for task in /proc/"$SG_PID"/task/*; do
		got=$(awk 'BEGIN { split("Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp", k) }
			{ sub(/:$/, "", $1); name = $1; $1 = ""; v[name] = substr($0, 2) }
			END { for (i = 1; i <= 10; i++) printf "%s%s %s", (i > 1 ? "; " : ""), k[i], v[k[i]] }' "$task/status")
		assert_eq "thread ${task##*/}" "$got" "$want"
		n=$((n + 1))
	done
	assert_cmp "threads checked (main + 2 workers)" "$n" == 3
}


# Stop with TERM: exit 0, no error logged, the table gone. (lib.sh's cleanup
# fails the test if the sandbox denied any of its system calls.)
stop_clean() { # WHEN
	local log=$SG_LOG
	sg_stop TERM
	assert_cmp "$1: exit status after SIGTERM" "$SG_EXIT_RC" == 0
	assert_cmp "$1: errors logged" "$(grep -c 'synguard\[error\]' "$log" || true)" == 0
	assert_cmp "$1: tables inet synguard after exit" "$(sg_tables)" == 0
}

# 1. The default user, serving.
use_template ""
sg_start
read -r NOBODY_UID NOBODY_GID < <(getent passwd nobody | awk -F: '{print $3, $4}')
check_threads "$NOBODY_UID" "$NOBODY_GID"
grep -q "running as user nobody (uid $NOBODY_UID, gid $NOBODY_GID)" "$SG_LOG" ||
	sg_fail "no 'running as user nobody' line in the log"
BODY=$(client_curl "$SG_URL")
[[ $BODY == *"synguard e2e backend index page"* ]] || sg_fail "index page not served: $BODY"
say "ok: index page served"
download_big_check
METRICS=$(in_proxy curl --silent --show-error --max-time 5 "http://$ADMIN/metrics") ||
	sg_fail "admin endpoint did not answer"
TAKEN=$(awk -v m="synguard_${SG_TAKEN}_total" '$1 == m {print $2}' <<<"$METRICS")
assert_cmp "admin endpoint: synguard_${SG_TAKEN}_total" "$TAKEN" ">=" 2
stop_clean "user nobody"

# 2. A uid in digits that has no passwd entry: its gid is the same number.
uid=4242
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
use_template "user = \"$uid\";"
sg_start
check_threads "$uid" "$uid"
legit_run numeric -n 3 --timeout 3
assert_cmp "user $uid: connections served" "$(jget "$LEGIT_JSON" ok)" == 3
stop_clean "user $uid"

# 3. A user that does not exist: refused by the check and at start, naming
# the file and the setting; nothing installed.
nosuch=sg-nosuch-$$
use_template "user = \"$nosuch\";"
sg_write_config "$SG_TMP/missing.conf"
want="synguard: $SG_TMP/missing.conf: user \"$nosuch\": no such user"
rc=0
out=$(in_proxy "$SYNGUARD" -t -c "$SG_TMP/missing.conf" 2>&1) || rc=$?
assert_cmp "synguard -t with a missing user: exit status" "$rc" == 1
assert_eq "synguard -t with a missing user: message" "$out" "$want"
rc=0
out=$(in_proxy timeout 10 "$SYNGUARD" -c "$SG_TMP/missing.conf" 2>&1) || rc=$?
assert_cmp "start with a missing user: exit status" "$rc" == 1
assert_eq "start with a missing user: message" "$out" "$want"
assert_cmp "start with a missing user: tables inet synguard" "$(sg_tables)" == 0

sg_pass "every thread uid/gid $NOBODY_UID/$NOBODY_GID (nobody) and $uid/$uid (digits), CapPrm=CapEff=CapBnd=$KEPT, CapInh=CapAmb=0, NoNewPrivs 1, Seccomp 2; served the index, 10 MB (sha256 ok, $DL_MBPS Mbit/s) and /metrics; TERM: exit 0, table removed; a missing user refused, naming the setting"

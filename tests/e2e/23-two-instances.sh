#!/usr/bin/env bash
# 23 — two synguard instances in one network namespace, as the example config
# suggests for ports that need different backends: A (a.conf, instance "a")
# protects port 80 for nginx's :80, B (b.conf, "b") port 8080 for nginx's
# :8080, each with two workers (a fanout group each: the kernel picks an
# unused id) and an admin endpoint of its own. Each has its own nft table
# (inet synguard-a, inet synguard-b) and never touches the other's: stopping
# one (SIGTERM, and SIGKILL: the kernel deletes a table with its owner's
# socket) leaves the other serving with its table intact. A third instance
# under a running one's name is refused, naming it.
# With datapath = "auto" (SG_DATAPATH=auto) A attaches the XDP program; B
# cannot (one XDP program per interface), falls back to the ring path and
# says why, naming A; an explicit datapath = "xdp" beside A is refused.
set -euo pipefail
SG_PATHS="ring kernel xdp"
SG_PATHS_WHY="the ring run shows the tables; SG_DATAPATH=auto shows the XDP fallback"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# On the auto run the first instance runs the auto path (kernel, or xdp),
# the second the ring path. Otherwise both run SG_DATAPATH; the XDP program
# is one per interface, so both on the xdp or kernel path cannot be.
FIRST=$SG_DATAPATH SECOND=$SG_DATAPATH
if [[ $SG_AUTO == 1 ]]; then
	SECOND=ring
elif [[ $SG_DATAPATH != ring ]]; then
	sg_skip "both instances on the $SG_DATAPATH path cannot attach an XDP program each: run on ring, or SG_DATAPATH=auto"
	exit 77
fi

PORT_B=8080
SG_BACKEND_ENDPOINTS=("$SG_BACKEND_IP:$SG_PORT" "$SG_BACKEND_IP:$PORT_B")
sg_setup

# sg_start's config for instance SG_INSTANCE: its port, its backend's, its
# admin port; two workers.
declare -A PORT=([a]=$SG_PORT [b]=$PORT_B [c]=8081) ADMIN_PORT=([a]=9101 [b]=9102 [c]=9103)
sg_config_edit() {
	local n=$SG_INSTANCE
	sed -i -e "s|\"$SG_VIP4:$SG_PORT\"|\"$SG_VIP4:${PORT[$n]}\"|" \
		-e "s|\"$SG_BACKEND_IP:$SG_PORT\"|\"$SG_BACKEND_IP:${PORT[$n]}\"|" \
		-e 's/^workers = .*/workers = 2;/' "$1"
	[[ -n ${DATAPATH_OVERRIDE:-} ]] && sed -i "s/^datapath = .*/datapath = \"$DATAPATH_OVERRIDE\";/" "$1"
	echo "admin = \"127.0.0.1:${ADMIN_PORT[$n]}\";" >>"$1"
}
SG_LISTEN=$SG_VIP4:$SG_PORT # one endpoint per instance, IPv4

# The path each instance must run: on the auto run the second to start
# falls back to the ring path while the other holds the XDP program.
declare -A PID LOG
start() { # NAME PATH
	local want=$SG_DATAPATH
	SG_DATAPATH=$2 SG_INSTANCE=$1 sg_start
	SG_DATAPATH=$want
	PID[$1]=$SG_PID LOG[$1]=$SG_LOG
	grep -q "synguard\[info\] instance $1 (" "$SG_LOG" || sg_fail "$1: no 'instance $1' log line"
}
stop() { # NAME SIGNAL
	SG_PID=${PID[$1]} sg_stop "$2"
	PID[$1]=""
}

# Each instance serves its port and answers on its admin port.
serves() { # NAME WHEN
	local n=$1 metrics
	legit_run "$n-$SG_STARTS" -n 10 -c 2 --timeout 3 --port "${PORT[$n]}"
	assert_cmp "$2: $n (port ${PORT[$n]}) served" "$(jget "$LEGIT_JSON" ok)" == 10
	metrics=$(in_proxy curl --silent --max-time 3 "http://127.0.0.1:${ADMIN_PORT[$n]}/metrics") || true
	grep -q '^synguard_' <<<"$metrics" || sg_fail "$2: $n's admin endpoint did not answer"
}

# Which tables exist, and each one's rules are its own port's.
tables_are() { # WHEN NAMES...
	local when=$1 n list
	shift
	list=$(in_proxy nft list tables | sed -n 's/^table inet synguard-//p' | sort | tr '\n' ' ')
	assert_eq "$when: tables inet synguard-*" "${list% }" "$*"
	for n in "$@"; do
		list=$(in_proxy nft list table inet "synguard-$n")
		grep -q "tcp dport ${PORT[$n]} jump guard" <<<"$list" ||
			sg_fail "$when: table synguard-$n lost its rule for port ${PORT[$n]}: $list"
	done
}

# What a table each path has: the kernel path none.
table_of() { [[ $1 == kernel ]] || echo "$2"; }

start a "$FIRST"
start b "$SECOND"
if [[ $SG_AUTO == 1 ]]; then
	grep -q "already attached to p0, held by process ${PID[a]} (" "${LOG[b]}" ||
		sg_fail "b's log does not name a as the XDP program's holder: $(grep -m 1 'XDP' "${LOG[b]}" || echo 'no XDP line')"
	grep -q "data path: ring (auto: the xdp path failed to start)" "${LOG[b]}" ||
		sg_fail "b's log does not say it fell back to the ring path: $(grep -m 1 'data path:' "${LOG[b]}")"
	say "ok: b fell back to the ring path: $(grep -m 1 'already attached' "${LOG[b]}" | sed 's/.*\] //')"
fi
# $(table_of) words stay separate: a list of names.
# shellcheck disable=SC2046
tables_are "both running" $(table_of "$FIRST" a) b
serves a "both running"
serves b "both running"
# The fanout groups of NAME's packet sockets (ss -0 -e -p: a socket's
# process, then its "fanout(id:N,...)"), one distinct id a line.
fanout_ids() { # NAME
	in_proxy ss -0 -a -e -p | awk -v pid="pid=${PID[$1]}," '
		/users:/ { mine = index($0, pid) > 0 }
		mine && match($0, /fanout\(id:[0-9]+/) { print substr($0, RSTART + 11, RLENGTH - 11) }' | sort -u
}
# Each instance's two workers share one group, and the two groups differ
# (the kernel path has no packet socket).
FANOUT=""
declare -A GROUP
for n in a b; do
	[[ $n == a && $FIRST == kernel ]] && continue
	ids=$(fanout_ids "$n")
	assert_cmp "$n's fanout groups (2 workers)" "$(grep -c . <<<"$ids")" == 1
	FANOUT+="$n: group $ids, "
	GROUP[$n]=$ids
done
[[ $FIRST == kernel ]] || assert_cmp "a's fanout group differs from b's" "${GROUP[a]}" != "${GROUP[b]}"

stop a TERM
assert_cmp "a's exit status after SIGTERM" "$SG_EXIT_RC" == 0
tables_are "a stopped" b
serves b "a stopped"
start a "$FIRST"
# shellcheck disable=SC2046
tables_are "a restarted" $(table_of "$FIRST" a) b
serves a "a restarted"

stop b TERM
assert_cmp "b's exit status after SIGTERM" "$SG_EXIT_RC" == 0
# shellcheck disable=SC2046
tables_are "b stopped" $(table_of "$FIRST" a)
serves a "b stopped"
start b "$SECOND"
# shellcheck disable=SC2046
tables_are "b restarted" $(table_of "$FIRST" a) b

# Under a running instance's name: refused, naming it (the ring path's table;
# on the auto run, an explicit datapath = "xdp" beside a's XDP program).
mkdir -p "$SG_TMP/other"
if [[ $SG_AUTO == 1 ]]; then
	sg_write_config "$SG_TMP/c.conf"
	SG_INSTANCE=c DATAPATH_OVERRIDE=xdp sg_config_edit "$SG_TMP/c.conf"
	want="xdp data path: XDP program id [0-9]+ \(xdp_syn: another synguard's\) already attached to p0, held by process ${PID[a]} "
	conf=$SG_TMP/c.conf REFUSED="datapath = \"xdp\" beside a refused, naming a's XDP program"
else
	sg_write_config "$SG_TMP/other/b.conf"
	SG_INSTANCE=c sg_config_edit "$SG_TMP/other/b.conf"
	want="another synguard instance named b runs in this network namespace"
	conf=$SG_TMP/other/b.conf REFUSED="a second 'b' refused by name"
fi
rc=0
in_proxy timeout 10 "$SYNGUARD" -c "$conf" 2>"$SG_TMP/refused.log" >/dev/null </dev/null || rc=$?
assert_cmp "a conflicting instance's exit status" "$rc" == 1
grep -qE "$want" "$SG_TMP/refused.log" || sg_fail "the refusal does not say '$want': $(tail -n 2 "$SG_TMP/refused.log" | tr '\n' ' ')"
say "ok: refused: $(grep -m 1 -E "$want" "$SG_TMP/refused.log" | sed 's/.*\] //')"
serves b "after the refused start"

# SIGKILL: b's table goes with its process (its owner), a serves on.
stop b KILL
# shellcheck disable=SC2046
tables_are "b killed" $(table_of "$FIRST" a)
serves a "b killed"
stop a TERM
tables_are "both stopped"

sg_pass "a ($FIRST path) and b ($SECOND path), 2 workers each (${FANOUT%, }), each served 10/10 on its own port and admin port while the other ran, was stopped (TERM) and restarted; tables synguard-a/-b each its own, the stopped one's gone; $REFUSED; b's table gone after SIGKILL"

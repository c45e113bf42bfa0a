#!/usr/bin/env bash
# 09 — synguard leaves nothing behind when stopped: after SIGTERM no nft table
# of its own, no socket, no process, and on the xdp and kernel paths none of
# its BPF programs, maps or links, nothing attached to p0. After SIGKILL
# nothing stays either: its table has an owner (nftables' owner flag, its
# netlink socket), so the kernel deletes it with the process, and its BPF
# state goes with the process too; a restart serves, and a SIGTERM then
# leaves nothing again.
set -euo pipefail
SG_PATHS="ring kernel" SG_PATHS_WHY="what it leaves behind: the ring path's table and the kernel path's XDP and TC programs cover the xdp path's (its table and XDP program)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

sg_setup

# The ring and xdp paths keep the kernel's own handshakes off the protected
# port with a table of synguard's; the kernel path hands them to the kernel.
TABLES=1
[[ $SG_DATAPATH == kernel ]] && TABLES=0
# The stand-in's table (made with the nft command) has no owner: it stays.
KILLED_TABLES=0
[[ $SG_STANDIN == 1 ]] && KILLED_TABLES=$TABLES

# A few connections the server closes first, so that the proxy side holds
# their TIME_WAIT (what a restart or a plain listener has to live with).
serves() { # WHEN
	legit_run serves -n 3 --timeout 3
	assert_cmp "$1: connections served" "$(jget "$LEGIT_JSON" ok)" == 3
}

# Sockets synguard could have left in the proxy namespace: TCP sockets that
# are live or owned (listening, established either side, half-open or
# half-closed, on the protected port or towards the backend) — orphans
# closing down (FIN-WAIT, TIME-WAIT) are ownerless kernel state that expires
# by itself; packet sockets (its ring) and raw sockets (its SYN-ACK sender).
# Nothing else in this namespace opens any of these.
leftover_sockets() {
	in_proxy ss -Htan state listening state established state syn-recv state syn-sent state close-wait
	in_proxy ss -H -0 -a
	in_proxy ss -H -w -a
}

# Can a plain server (SO_REUSEADDR, as nginx sets) take the address back at
# once, although adopted connections' TIME_WAIT sockets are still there?
can_rebind() {
	in_proxy python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
    print("yes")
except OSError as e:
    print(f"no ({e.strerror}; {sys.argv[3]} TIME_WAIT sockets)")' "$SG_VIP" "$SG_PORT" \
		"$(in_proxy ss -Htan state time-wait "sport = :$SG_PORT" | wc -l)"
}

assert_clean() { # WHEN PID
	local left pids
	assert_cmp "$1: tables inet synguard-*" "$(sg_tables)" == 0
	pid_alive "$2" && sg_fail "$1: process $2 still running"
	pids=$(ip netns pids "$NS_PROXY")
	[[ -z $pids ]] || sg_fail "$1: processes left in the proxy namespace: $(ps -o pid=,comm= -p "${pids//$'\n'/,}")"
	left=$(leftover_sockets)
	[[ -z $left ]] || sg_fail "$1: sockets left in the proxy namespace: $left"
	say "ok: $1: no table, no process, no socket"
	sg_answers_in_driver && sg_bpf_clean "$1"
	REBIND=$(can_rebind)
	assert_eq "$1: a plain listener (SO_REUSEADDR) can bind $SG_VIP:$SG_PORT" "$REBIND" yes
}

# With several synguards started one after another, each one's BPF state is
# checked against the host's from before the first.
if sg_answers_in_driver; then sg_bpf_before; fi
running() {
	assert_cmp "running: tables inet synguard-*" "$(sg_tables)" == "$TABLES"
	if sg_answers_in_driver; then sg_bpf_running; fi
}

sg_start
running
serves "first start"
pid=$SG_PID log=$SG_LOG
sg_stop TERM
assert_cmp "exit status after SIGTERM" "$SG_EXIT_RC" == 0
grep -q "stats $SG_LAST_COUNTER " "$log" || sg_fail "no counters printed at exit"
assert_clean "after SIGTERM" "$pid"

sg_start
running
serves "second start"
sg_stop KILL
assert_cmp "after SIGKILL: tables inet synguard-*" "$(sg_tables)" == "$KILLED_TABLES"
if sg_answers_in_driver; then sg_bpf_clean "after SIGKILL"; fi

sg_start
running
serves "restart after SIGKILL"
pid=$SG_PID
sg_stop TERM
assert_cmp "exit status after SIGTERM" "$SG_EXIT_RC" == 0
assert_clean "after the final SIGTERM" "$pid"

bpf=""
sg_answers_in_driver && bpf=" ($SG_BPF_HELD while running, none left, also after SIGKILL)"
sg_pass "$SG_DATAPATH path: SIGTERM: exit 0, table/sockets/process/BPF gone$bpf; SIGKILL: no table left (owner flag), BPF gone; restart served; SIGTERM: clean, and a plain listener can rebind the address at once"

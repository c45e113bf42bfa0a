#!/usr/bin/env bash
# standin-synguard.sh — a stand-in for synguard (SG_E2E_STANDIN=1), so the e2e
# harness can be debugged without the daemon. It speaks synguard's interface
# (-c FILE, -t, "ready" log line, SIGUSR1/exit counters, SIGTERM cleans up,
# its own nft table `inet synguard-NAME`, NAME the config file's, replaced if
# stale: without nftables' owner flag, which only a process holding its
# netlink socket can set, a SIGKILL leaves it) but relays with socat
# through an ordinary listening socket: the kernel, not synguard, handles the
# handshakes, SYN cookies included. Its counters are all zero.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check=0 conf=""
while getopts tc: opt; do
	case $opt in
	t) check=1 ;;
	c) conf=$OPTARG ;;
	*) echo "usage: $0 [-t] -c FILE" >&2 && exit 2 ;;
	esac
done

log() { printf '%s synguard[%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$2" >&2; }

[[ -r $conf ]] || { log error "cannot read config '$conf'" && exit 1; }
# The first listen address and the first backend, ignoring comment lines.
setting() { grep -vE '^[[:space:]]*(#|//)' "$conf" | sed -nE "s/.*$1 *= *\\[? *\"([^\"]+)\".*/\\1/p" | head -n 1; }
listen=$(setting listen)
backend=$(setting address)
[[ $listen == *:* && $backend == *:* ]] || { log error "$conf: need listen and a backend address" && exit 1; }
((check)) && { log info "config ok (stand-in)" && exit 0; }

counters=$(sed -nE 's/^[[:space:]]*X\(([a-z_]+),.*/\1/p' "$here/../../util/stats.h")
print_stats() {
	local n
	for n in $counters; do printf 'stats %s 0\n' "$n" >&2; done
}

stop=0
trap 'stop=1' TERM INT
trap print_stats USR1

# Like synguard: a table of our own, replacing one a killed instance left.
table=synguard-$(basename "$conf" .conf)
if nft delete table inet "$table" 2>/dev/null; then log warn "replaced a stale table inet $table"; fi
nft add table inet "$table"

# -t 30: after one side's EOF keep relaying the other way (half-close) for up
# to 30 s, not socat's default 0.5 s.
socat -t 30 "TCP-LISTEN:${listen##*:},bind=${listen%:*},fork,reuseaddr,backlog=1024" \
	"TCP:${backend%:*}:${backend##*:},connect-timeout=1" &
socat_pid=$!
echo "$socat_pid" >"$(dirname "$conf")/standin-socat.pid"
for _ in $(seq 40); do ss -Hltn "sport = :${listen##*:}" | grep -q LISTEN && break; sleep 0.05; done
log info "ready (stand-in: socat $listen -> $backend)"

while ((!stop)) && kill -0 "$socat_pid" 2>/dev/null; do
	wait "$socat_pid" || true # returns early on every trapped signal
done
kill "$socat_pid" 2>/dev/null || true
wait "$socat_pid" 2>/dev/null || true
nft delete table inet "$table"
print_stats
log info "exiting"

# shellcheck shell=bash disable=SC2034 # its globals are read by the scripts that source it
# lib.sh — shared machinery of synguard's end-to-end tests and of scripts/demo.
#
# Source it from a script that runs `set -euo pipefail`, then call sg_setup
# (topology + backend), sg_start (synguard), and the helpers below. Every
# namespace, process and temp dir it creates is torn down by an EXIT/INT/TERM
# trap, also when a test fails halfway.
#
# Topology (all of it inside namespaces named "$SG_TAG-<role>", unique per run):
#
#   client   c0 10.77.0.2/24 fd77::2/64 ─┐
#   attacker a0 10.77.0.3/24 fd77::3/64 ─┼─ br0 10.77.0.254 fd77::fe (ns "net": ─┐
#                                        │      bridge + gateway)                │
#   proxy    p0 10.77.0.1/24 fd77::1/64 ─┘  (the protected addresses;            │
#                                            synguard taps p0)                   │
#            pb 10.77.9.1/24 fd77:9::1/64 ── be0 10.77.9.2/24 fd77:9::2/64       │
#                                            backend (nginx :80)                 │
#                                                                                │
#   client, attacker and proxy route everything else via the gateway, and the ──┘
#   switch drops (nft on its ports' ingress, no ICMP) every frame for an
#   address that is not one of ours: SYN-ACKs to spoofed sources vanish one
#   hop beyond the defended host, as on a real network (DESIGN §8) — not
#   inside it. synguard protects both addresses of p0 and relays to the
#   backend's IPv4 address; nginx listens on both of its addresses.
#
# Environment:
#   SG_FAMILY=6      the tests' clients (and flood) use the IPv6 addresses: SG_VIP,
#                    SG_URL; tests that declare SG_FAMILIES="4 6" before sourcing
#                    this file run, the others end as skipped (exit 77)
#   SG_DATAPATH=ring|xdp|kernel|auto  synguard's data path (config `datapath`), default
#                    ring: SYNs and ACKs from the packet ring; xdp: SYNs answered
#                    in the driver, ACKs from the ring; kernel: SYNs in the driver,
#                    cookie ACKs turned into kernel sockets by a TC program. A test
#                    that cannot apply to every path declares the ones it runs on
#                    before sourcing this file, SG_PATHS="ring xdp", and why in
#                    SG_PATHS_WHY; on the others it ends as skipped. On a kernel
#                    without the kfunc bpf_sk_assign_tcp_reqsk every kernel-path
#                    test is skipped. auto: the default configuration (datapath
#                    and xdp_attach "auto", no XDP program on p0's peer), which
#                    must run the kernel path here, or xdp without the kfunc.
#   SG_XDP_ATTACH=generic  the config's xdp_attach (default: native where p0's
#                    peer runs an XDP program, auto with SG_DATAPATH=auto)
#   BUILD            build dir (default: <repo>/build)
#   SYNGUARD         daemon binary (default: $BUILD/proxy/synguard)
#   SG_E2E_STANDIN=1 run tests/e2e/standin-synguard.sh (socat relay) instead of
#                    synguard; counter assertions print SKIP
#   SG_E2E_KEEP=1    keep the temp dir (logs, configs) and print where it is
#   SG_E2E_PIN=0     don't pin synguard / the flood generator to separate CPUs
#                    (nor steer receive processing: see topo_rps)
#   SG_E2E_NET_CPU=N the CPU that does the switch's work (default 0)
#   SG_CONFIG_TEMPLATE  config template (default: config/demo.conf)
#   SG_E2E_TMPDIR    where the temp dir is made (default /tmp)

SG_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SG_ROOT=$(cd "$SG_E2E_DIR/../.." && pwd)
BUILD=${BUILD:-$SG_ROOT/build}
SG_STANDIN=${SG_E2E_STANDIN:-0}
if [[ $SG_STANDIN == 1 ]]; then
	SYNGUARD=$SG_E2E_DIR/standin-synguard.sh
else
	SYNGUARD=${SYNGUARD:-$BUILD/proxy/synguard}
fi
SG_CONFIG_TEMPLATE=${SG_CONFIG_TEMPLATE:-$SG_ROOT/config/demo.conf}
SG_NAME=${SG_NAME:-$(basename "$0" .sh)}
[[ ${SG_FAMILY:-4} == 6 ]] && SG_NAME+=" (IPv6)"

# Addresses. 10.77.0.0/24, 10.77.9.0/24, fd77::/64 and fd77:9::/64 (unique
# local) exist only inside our namespaces.
SG_VIP4=10.77.0.1 SG_CLIENT_IP=10.77.0.2 SG_ATTACKER_IP=10.77.0.3 SG_GW_IP=10.77.0.254
SG_PROXY_BACK_IP=10.77.9.1 SG_BACKEND_IP=10.77.9.2 SG_PORT=80
SG_FRONT_NET=10.77.0.0/24
SG_VIP6=fd77::1 SG_CLIENT_IP6=fd77::2 SG_ATTACKER_IP6=fd77::3 SG_GW_IP6=fd77::fe
SG_PROXY_BACK_IP6=fd77:9::1 SG_BACKEND_IP6=fd77:9::2
SG_FRONT_NET6=fd77::/64
# The spoofed sources of the IPv6 flood: off-link (documentation prefix), so
# the proxy sends their SYN-ACKs to the gateway, which drops them.
SG_SPOOF_NET6=2001:db8::/32
# Endpoints: what synguard protects and where nginx listens (topo_up adds the
# IPv6 ones; other topologies, such as 10-ecmp's, are IPv4 only).
SG_LISTEN_ENDPOINTS=("$SG_VIP4:$SG_PORT")
SG_BACKEND_ENDPOINTS=("$SG_BACKEND_IP:$SG_PORT")
# The address family the tests' clients use: SG_VIP and SG_URL.
SG_FAMILY=${SG_FAMILY:-4}
case $SG_FAMILY in
4) SG_VIP=$SG_VIP4 SG_URL=http://$SG_VIP4/ ;;
6) SG_VIP=$SG_VIP6 SG_URL=http://[$SG_VIP6]/ ;;
*) echo "lib.sh: SG_FAMILY must be 4 or 6, not '$SG_FAMILY'" >&2 && exit 2 ;;
esac
SG_DATAPATH=${SG_DATAPATH:-ring}
# The path datapath = "auto" must pick here: kernel, or xdp without the kfunc
# (SG_E2E_KERNEL_PATH_MISSING, when set, says so without asking again).
sg_auto_path() {
	if [[ -z ${SG_E2E_KERNEL_PATH_MISSING-$("$SG_E2E_DIR/kernel-path-check")} ]]; then echo kernel; else echo xdp; fi
}
# auto: the configuration an operator gets by default (datapath and
# xdp_attach "auto": no XDP program on p0's peer, so XDP runs generic on the
# veth); SG_DATAPATH becomes the path synguard must then pick here.
SG_AUTO=0
case $SG_DATAPATH in
ring | xdp | kernel) ;;
auto) SG_AUTO=1 SG_DATAPATH=$(sg_auto_path) ;;
*) echo "lib.sh: SG_DATAPATH must be ring, xdp, kernel or auto, not '$SG_DATAPATH'" >&2 && exit 2 ;;
esac
SG_BIG_SIZE=$((10 * 1024 * 1024))

# $$ and a random part: not even a stale namespace left by a killed run that
# had the same PID can collide.
SG_TAG=${SG_E2E_TAG:-sg-$$-$RANDOM}
NS_NET=$SG_TAG-net NS_CLIENT=$SG_TAG-client NS_ATTACKER=$SG_TAG-attacker
NS_PROXY=$SG_TAG-proxy NS_BACKEND=$SG_TAG-backend

SG_TMP=""           # temp dir: configs, logs, www root
SG_NAMESPACES=()    # namespaces we created (deleted by the trap)
SG_PIDS=()          # background processes we started (killed by the trap)
SG_PID=""           # synguard (or the stand-in)
SG_STARTED=()       # every synguard PID this test started
SG_LOG=""           # its stderr
SG_CONF=""          # its config
NGINX_PID=""
SG_BIG_SHA=""       # sha256 of www/big.bin

# CPU pinning (DESIGN §8): defender on the last CPU, flood generator on CPU 0,
# so the numbers measure synguard and not the scheduler.
SG_NCPU=$(nproc)
# The switch's work (np's receive) goes to SG_E2E_NET_CPU, default the
# generator's CPU: see topo_rps.
# Clients and the backend (other machines, really) run on the CPUs that are
# not synguard's: PIN_OTHERS prefixes their commands.
if [[ ${SG_E2E_PIN:-1} == 1 && $SG_NCPU -ge 2 ]]; then
	SG_CPU=$((SG_NCPU - 1)) FLOOD_CPU=0 NET_CPU=${SG_E2E_NET_CPU:-0}
	PIN_OTHERS=(taskset -c "0-$((SG_NCPU - 2))")
else
	SG_CPU="" FLOOD_CPU="" NET_CPU="" PIN_OTHERS=()
fi

# ---------------------------------------------------------------- messages

# Progress and "ok:" lines, on stderr; SG_QUIET=1 silences them (the demo).
say() { [[ ${SG_QUIET:-0} == 1 ]] || printf '[%s] %s\n' "$SG_NAME" "$*" >&2; }

# The one line a reader looks for, with the measured numbers.
sg_pass() { printf 'PASS %s: %s\n' "$SG_NAME" "$*"; }
sg_skip() { printf 'SKIP %s: %s\n' "$SG_NAME" "$*"; }

# Fail the test: one clear line, then the trap tears everything down. To
# stderr, so that it shows also when called inside $(...) (whose failure then
# stops the script through set -e: assign with "x=$(...)", never "local x=$(...)").
sg_fail() {
	printf 'FAIL %s: %s\n' "$SG_NAME" "$*" >&2
	exit 1
}

# A test that runs over IPv6 too says so before it sources this file:
# SG_FAMILIES="4 6". The others are IPv4 only: with SG_FAMILY=6, skipped.
if [[ $SG_FAMILY == 6 && " ${SG_FAMILIES:-4} " != *" 6 "* ]]; then
	sg_skip "IPv4 only (SG_FAMILY=6)"
	exit 77
fi

# A test that cannot apply to a data path runs only on those it declares;
# SG_PATHS=auto: on the one datapath = "auto" picks here.
[[ ${SG_PATHS:-} == auto ]] && SG_PATHS=$(sg_auto_path)
if [[ " ${SG_PATHS:-ring xdp kernel} " != *" $SG_DATAPATH "* ]]; then
	sg_skip "not on the $SG_DATAPATH path (runs on: $SG_PATHS): ${SG_PATHS_WHY:-no reason given}"
	exit 77
fi

# Where synguard cannot run the kernel path (kernel-path-check says why),
# its tests are skipped. run-all asks once for all its tests.
if [[ $SG_DATAPATH == kernel && $SG_STANDIN != 1 ]]; then
	SG_KERNEL_PATH_MISSING=${SG_E2E_KERNEL_PATH_MISSING-$("$SG_E2E_DIR/kernel-path-check")}
	if [[ -n $SG_KERNEL_PATH_MISSING ]]; then
		sg_skip "SG_DATAPATH=kernel: $SG_KERNEL_PATH_MISSING"
		exit 77
	fi
fi

# The counters of connections synguard took over after a valid handshake,
# and of valid handshakes it could not turn into a socket: adopted with
# TCP_REPAIR (ring and xdp paths), or accepted from its listener's queue
# after the kernel built the socket (kernel path).
if [[ $SG_DATAPATH == kernel ]]; then
	SG_TAKEN=accepted SG_TAKE_FAILED=reqsk_failed
else
	SG_TAKEN=adopted SG_TAKE_FAILED=adopt_failed
fi

# ---------------------------------------------------------------- assertions

# assert_cmp WHAT ACTUAL OP EXPECTED — numeric (float) comparison; OP is one of
# < <= > >= == !=.
assert_cmp() {
	local what=$1 actual=$2 op=$3 expected=$4
	if awk -v a="$actual" -v b="$expected" -v op="$op" 'BEGIN {
		if (a !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) exit 1
		if (op == "<") r = a < b; else if (op == "<=") r = a <= b
		else if (op == ">") r = a > b; else if (op == ">=") r = a >= b
		else if (op == "==") r = a == b; else if (op == "!=") r = a != b
		else r = 0
		exit !r }'; then
		say "ok: $what = $actual ($op $expected)"
	else
		sg_fail "$what = $actual, expected $op $expected"
	fi
}

assert_eq() { # WHAT ACTUAL EXPECTED (strings)
	[[ $2 == "$3" ]] || sg_fail "$1: got '$2', expected '$3'"
	say "ok: $1 = $2"
}

# assert_ok WHAT CMD... — the command must succeed.
assert_ok() {
	local what=$1
	shift
	"$@" || sg_fail "$what (command failed: $*)"
	say "ok: $what"
}

# assert_synguard WHAT ACTUAL OP EXPECTED — like assert_cmp, for synguard's
# counters and for behavior that is synguard's own (the stand-in has no real
# counters and leaves handshakes to the kernel): in stand-in mode only SKIP.
assert_synguard() {
	if sg_has_counters; then
		assert_cmp "$@"
	else
		printf 'SKIP %s: synguard-only assertion "%s %s %s" (stand-in mode)\n' "$SG_NAME" "$1" "$3" "$4"
	fi
}

sg_has_counters() { [[ $SG_STANDIN != 1 ]]; }

# ---------------------------------------------------------------- preconditions

sg_require_root() {
	[[ $(id -u) == 0 ]] || sg_fail "must run as root (network namespaces, nft, TCP_REPAIR)"
}

# Check, never install: tests/e2e/README says which packages provide them.
sg_require_tools() {
	local t missing=()
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	((${#missing[@]} == 0)) || sg_fail "missing tools: ${missing[*]} (see tests/e2e/README)"
}

sg_require_synguard() {
	[[ -x $SYNGUARD ]] || sg_fail "synguard binary not found at $SYNGUARD (build it, or set SYNGUARD / BUILD, or SG_E2E_STANDIN=1)"
}

# Everything a test needs, checked in one go.
sg_preflight() {
	sg_require_root
	sg_require_tools ip nft nginx curl python3 ethtool sha256sum timeout taskset ss awk "$@"
	[[ $SG_STANDIN == 1 ]] && sg_require_tools socat
	sg_require_synguard
	[[ -r $SG_CONFIG_TEMPLATE ]] || sg_fail "config template $SG_CONFIG_TEMPLATE not found"
}

# ---------------------------------------------------------------- processes

# Alive and not a zombie (our own children stay zombies until waited for).
pid_alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

# Start a background command and remember its PID for the trap. The caller
# reads it from $SG_LAST_PID ($! is lost across the function boundary).
# Usage: sg_bg LOGFILE NS CMD... — NS "-" for the root namespace. CMD must be
# a program, not a shell function: the background child then execs it (and
# `ip netns exec`, taskset and timeout exec or supervise too), so the PID we
# keep is the program's and a signal to it reaches the program.
sg_bg() {
	local log=$1 ns=$2
	shift 2
	if [[ $ns == - ]]; then
		"$@" >"$log" 2>&1 </dev/null &
	else
		ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	fi
	SG_LAST_PID=$!
	SG_PIDS+=("$SG_LAST_PID")
}

# Wait up to SECONDS for PID to exit; 0 if it did.
wait_exit() {
	local pid=$1 seconds=$2 i
	for ((i = 0; i < seconds * 20; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.05
	done
	return 1
}

# Stop one of our PIDs: SIGNAL, up to SECONDS of grace, then SIGKILL.
# Sets SG_EXIT_RC to its exit status when it was our child.
stop_pid() {
	local pid=$1 sig=${2:-TERM} seconds=${3:-5}
	SG_EXIT_RC=""
	[[ -n $pid ]] || return 0
	if pid_alive "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null || true
		if ! wait_exit "$pid" "$seconds"; then
			say "pid $pid ignored SIG$sig for ${seconds}s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			wait_exit "$pid" 2 || true
		fi
	fi
	SG_EXIT_RC=0
	wait "$pid" 2>/dev/null || SG_EXIT_RC=$?
}

# Resident set size in kB (0 if the process is gone).
rss_kb() {
	awk '/^VmRSS:/ {print $2; found=1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null || echo 0
}

# Sample PID's RSS every 100 ms into FILE (one number per line) until the
# stop file appears or SECONDS pass. Background it with sg_bg.
rss_sampler() {
	local pid=$1 file=$2 seconds=$3 i
	for ((i = 0; i < seconds * 10; i++)); do
		[[ -e $file.stop ]] && break
		rss_kb "$pid" >>"$file"
		sleep 0.1
	done
}

max_of_file() { sort -n "$1" | tail -n 1; }

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- namespaces

in_ns() { # NS CMD...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}
in_client() { in_ns "$NS_CLIENT" "$@"; }
in_attacker() { in_ns "$NS_ATTACKER" "$@"; }
in_proxy() { in_ns "$NS_PROXY" "$@"; }
in_backend() { in_ns "$NS_BACKEND" "$@"; }

# Segments the client's TCP stack has retransmitted so far (/proc/net/snmp
# is per namespace): a request dropped before adoption shows up here.
client_retrans() {
	in_client awk '/^Tcp:/ { if (!n) { for (i = 1; i <= NF; i++) col[$i] = i; n = 1 } else print $col["RetransSegs"] }' /proc/net/snmp
}

# ns_add NS [ipv6] — without "ipv6", IPv6 is off in NS (a topology that has
# no use for it). With it, the interfaces made later skip duplicate address
# detection (their addresses are usable at once, and fewer frames cross the
# tap); their router solicitations, neighbour discovery and MLD reports are
# ICMPv6, which neither synguard's ring filter nor its XDP program counts.
ns_add() {
	local ns=$1
	ip netns add "$ns"
	SG_NAMESPACES+=("$ns")
	in_ns "$ns" ip link set lo up
	if [[ ${2:-} == ipv6 ]]; then
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	else
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	fi
}

# veth pair created directly inside the namespaces: no device name ever
# exists in the root namespace, so parallel runs cannot collide.
veth() { # NAME NS PEER PEER_NS
	ip link add "$1" netns "$2" type veth peer name "$3" netns "$4"
}

# Offloads, and why:
# - tx checksumming off on the client's and attacker's veths: with it on, the
#   frames synguard reads from its ring carry CHECKSUM_PARTIAL (a TCP checksum
#   not yet computed; TP_STATUS_CSUMNOTREADY) and no TSO super-frames; off,
#   they look as they would on a wire. (Turning tx csum off also turns TSO off.)
# - GRO off on the bridge ports and on p0: GRO would coalesce a client's
#   segments before the AF_PACKET tap (veth GRO is off by default; we make
#   sure).
# The proxy→client and backend links keep their offloads: only the kernel's
# TCP stack reads those packets, and TSO keeps the 10 MB downloads fast.
topo_offloads() {
	in_client ethtool -K c0 tx off >/dev/null
	in_attacker ethtool -K a0 tx off >/dev/null
	local dev
	for dev in nc na np; do in_ns "$NS_NET" ethtool -K "$dev" gro off >/dev/null; done
	sg_answers_in_driver && [[ $SG_AUTO == 0 ]] && topo_xdp_peer on
	in_proxy ethtool -K p0 gro off >/dev/null
}

# The xdp and kernel paths answer SYNs with synguard's XDP program.
sg_answers_in_driver() { [[ $SG_DATAPATH != ring ]]; }

# topo_xdp_peer on|off [NS DEV] — with synguard's XDP program, SYN-ACKs leave
# p0 by XDP_TX, which a veth delivers only to a peer with an XDP program of its
# own: an XDP_PASS program on np (or on DEV in NS, p0's peer in another
# topology). Not there otherwise: it costs every frame p0 sends a copy into
# the veth's XDP pages, and GSO packets lose their size (measured: 1 GiB
# downloads through p0 at ~300 MB/s instead of ~2 GB/s).
topo_xdp_peer() {
	local ns=${2:-$NS_NET} dev=${3:-np}
	if [[ $1 == on ]]; then
		in_ns "$ns" ip link set dev "$dev" xdp obj "$BUILD/proxy/bpf/xdp_pass.bpf.o" sec xdp
	else
		in_ns "$ns" ip link set dev "$dev" xdp off
	fi
}

# The gateway's quiet drop (DESIGN §8: "drop on a bridge port"): frames that
# enter the switch for an address that is not ours (SYN-ACKs and RSTs to
# spoofed sources) are dropped, counted, at the ingress of the switch port,
# without an ICMP error and before any bridging or routing work: the cheapest
# place, since on two cores somebody's CPU pays for it. The prerouting rule
# catches the same for anything routed to the gateway by other ways. IPv6's
# link-local and multicast destinations (neighbour discovery) are ours too.
# br_netfilter, if loaded on this host, would pass bridged frames through the
# inet hooks too: switch it off in this namespace (the sysctl exists only
# while the module is loaded); the rules match on the destination anyway.
topo_gateway_nft() {
	in_ns "$NS_NET" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
	local ours4="ip daddr != $SG_FRONT_NET" ours6="ip6 daddr != { $SG_FRONT_NET6, fe80::/10, ff00::/8 }"
	in_ns "$NS_NET" nft -f - <<-EOF
		table netdev sg_gateway {
			counter beyond { }
			chain from_client {
				type filter hook ingress device "nc" priority 0; policy accept;
				$ours4 counter name "beyond" drop
				$ours6 counter name "beyond" drop
			}
			chain from_attacker {
				type filter hook ingress device "na" priority 0; policy accept;
				$ours4 counter name "beyond" drop
				$ours6 counter name "beyond" drop
			}
			chain from_proxy {
				type filter hook ingress device "np" priority 0; policy accept;
				$ours4 counter name "beyond" drop
				$ours6 counter name "beyond" drop
			}
		}
		table inet sg_gateway {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				$ours4 drop
				$ours6 drop
			}
			chain forward {
				type filter hook forward priority filter; policy accept;
				$ours4 drop
				$ours6 drop
			}
		}
	EOF
}

# Packets the gateway dropped for not-our addresses (SYN-ACKs and RSTs to
# spoofed sources, mostly).
gateway_dropped() {
	in_ns "$NS_NET" nft list counter netdev sg_gateway beyond | awk '/packets/ {print $2}'
}

# RPS (receive packet steering), so that each side pays for its own work:
# - p0's receive processing (ring delivery, nft, TCP) runs on synguard's CPU,
#   not on whichever CPU sent the frame into the veth — otherwise the flood
#   generator's core pays for the defender's receive path (DESIGN §8);
# - np's (the switch port facing the proxy) runs on NET_CPU, by default not
#   synguard's: what synguard sends is switched and dropped by the
#   "network", which on a real site is other hardware. On two cores that
#   work lands on the generator's core and slows hping3 (measured: ~75k SYN/s
#   instead of ~110k); SG_E2E_NET_CPU=1 puts it on synguard's core
#   instead, a harsher test that makes the defender pay for the wire too.
topo_rps() {
	[[ -n $SG_CPU ]] || return 0
	in_proxy sh -c "printf '%x' $((1 << SG_CPU)) > /sys/class/net/p0/queues/rx-0/rps_cpus"
	in_ns "$NS_NET" sh -c "printf '%x' $((1 << NET_CPU)) > /sys/class/net/np/queues/rx-0/rps_cpus"
}

topo_up() {
	local role
	for role in "$NS_NET" "$NS_CLIENT" "$NS_ATTACKER" "$NS_PROXY" "$NS_BACKEND"; do ns_add "$role" ipv6; done

	in_ns "$NS_NET" ip link add br0 type bridge
	veth c0 "$NS_CLIENT" nc "$NS_NET"
	veth a0 "$NS_ATTACKER" na "$NS_NET"
	veth p0 "$NS_PROXY" np "$NS_NET"
	veth pb "$NS_PROXY" be0 "$NS_BACKEND"
	local port
	for port in nc na np; do in_ns "$NS_NET" ip link set "$port" master br0 up; done
	in_ns "$NS_NET" ip addr add "$SG_GW_IP/24" dev br0
	in_ns "$NS_NET" ip addr add "$SG_GW_IP6/64" dev br0 nodad
	in_ns "$NS_NET" ip link set br0 up

	in_client ip addr add "$SG_CLIENT_IP/24" dev c0
	in_client ip addr add "$SG_CLIENT_IP6/64" dev c0 nodad
	in_attacker ip addr add "$SG_ATTACKER_IP/24" dev a0
	in_attacker ip addr add "$SG_ATTACKER_IP6/64" dev a0 nodad
	in_proxy ip addr add "$SG_VIP4/24" dev p0
	in_proxy ip addr add "$SG_VIP6/64" dev p0 nodad
	in_proxy ip addr add "$SG_PROXY_BACK_IP/24" dev pb
	in_proxy ip addr add "$SG_PROXY_BACK_IP6/64" dev pb nodad
	in_backend ip addr add "$SG_BACKEND_IP/24" dev be0
	in_backend ip addr add "$SG_BACKEND_IP6/64" dev be0 nodad
	SG_LISTEN_ENDPOINTS+=("[$SG_VIP6]:$SG_PORT")
	SG_BACKEND_ENDPOINTS+=("[$SG_BACKEND_IP6]:$SG_PORT")
	in_client ip link set c0 up
	in_attacker ip link set a0 up
	in_proxy ip link set p0 up
	in_proxy ip link set pb up
	in_backend ip link set be0 up
	local ns
	for ns in "$NS_CLIENT" "$NS_ATTACKER" "$NS_PROXY"; do
		in_ns "$ns" ip route add default via "$SG_GW_IP"
		in_ns "$ns" ip -6 route add default via "$SG_GW_IP6"
	done
	# The backend has no default route: it talks to the proxy only.

	topo_offloads
	topo_gateway_nft
	topo_rps
	topo_wait_links
}

# veths come up asynchronously: wait (bounded) until every link is up.
link_up() { # NS DEV
	[[ $(in_ns "$1" cat "/sys/class/net/$2/operstate" 2>/dev/null) == up ]]
}

# links_wait NS DEV [NS DEV...] — wait (5 s at most) until each DEV in its NS is up.
links_wait() {
	local i j
	for ((i = 0; i < 100; i++)); do
		for ((j = 1; j < $#; j += 2)); do
			link_up "${@:j:1}" "${@:j+1:1}" || break
		done
		((j > $#)) && return 0
		sleep 0.05
	done
	sg_fail "topology: links did not come up within 5 s"
}

topo_wait_links() {
	links_wait "$NS_CLIENT" c0 "$NS_ATTACKER" a0 "$NS_PROXY" p0 "$NS_PROXY" pb "$NS_BACKEND" be0 "$NS_NET" br0
}

# ---------------------------------------------------------------- teardown

sg_cleanup() {
	local rc=$? i pid ns denied
	trap - EXIT INT TERM ERR
	set +e
	if ((rc != 0)) && [[ -n $SG_LOG && -s $SG_LOG ]]; then
		printf '[%s] last lines of synguard'"'"'s log (%s), counters left out:\n' "$SG_NAME" "$SG_LOG" >&2
		sg_log_tail 25 | sed 's/^/    /' >&2
	fi
	# Our PIDs, newest first: TERM, a short grace, then KILL.
	for ((i = ${#SG_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${SG_PIDS[i]}
		pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SG_PIDS[@]}"; do
		wait_exit "$pid" 2 || kill -KILL "$pid" 2>/dev/null
	done
	# Whatever is still inside our namespaces is ours too (children of the
	# above: socat's per-connection forks, nginx workers): these namespaces
	# were created by this run under a unique name.
	for ns in "${SG_NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	for ns in "${SG_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null || say "could not delete namespace $ns"
	done
	# Last, when the kernel has long logged whatever synguard did at exit.
	if ((rc == 0)) && sg_has_counters; then
		for pid in "${SG_STARTED[@]}"; do
			denied=$(sg_denied_calls "$pid")
			[[ -z $denied ]] && continue
			printf 'FAIL %s: the sandbox denied synguard (pid %s) system calls: %s; allow them in proxy/sandbox.c if they are needed\n' \
				"$SG_NAME" "$pid" "$denied" >&2
			rc=1
		done
	fi
	if [[ -n $SG_TMP ]]; then
		if [[ ${SG_E2E_KEEP:-0} == 1 ]]; then
			say "kept $SG_TMP"
		else
			rm -rf "$SG_TMP"
		fi
	fi
	exit "$rc"
}

# An unexpected failing command (set -e) still ends with a FAIL line that
# says where.
sg_on_err() {
	printf 'FAIL %s: unexpected error (status %s) at %s: %s\n' "$SG_NAME" "$1" "$2" "$3" >&2
	exit "$1"
}

sg_install_trap() {
	set -E
	trap 'sg_on_err $? "${BASH_SOURCE[0]}:$LINENO" "$BASH_COMMAND"' ERR
	trap sg_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---------------------------------------------------------------- backend

# The static site: an index page and a 10 MB random file of known sha256.
www_make() {
	mkdir -p "$SG_TMP/www" "$SG_TMP/nginx-tmp"
	cat >"$SG_TMP/www/index.html" <<-EOF
		<!doctype html>
		<title>synguard e2e</title>
		<p>synguard e2e backend index page</p>
	EOF
	head -c "$SG_BIG_SIZE" /dev/urandom >"$SG_TMP/www/big.bin"
	SG_BIG_SHA=$(sha256sum "$SG_TMP/www/big.bin" | awk '{print $1}')
}

nginx_conf() {
	cat >"$SG_TMP/nginx.conf" <<-EOF
		# Generated by tests/e2e/lib.sh: the backend behind synguard.
		daemon off;               # we hold the master's PID
		master_process on;
		worker_processes 1;
		user root root;           # the temp dir is 0700; it is a throwaway namespace
		pid $SG_TMP/nginx.pid;
		lock_file $SG_TMP/nginx.lock;
		error_log $SG_TMP/nginx-error.log info;
		events { worker_connections 4096; }
		http {
			access_log $SG_TMP/nginx-access.log;
			default_type application/octet-stream;
			types { text/html html; }
			sendfile on;
			keepalive_timeout 5s;
			client_body_temp_path $SG_TMP/nginx-tmp/body;
			proxy_temp_path $SG_TMP/nginx-tmp/proxy;
			server {
				$(printf 'listen %s backlog=4096;\n' "${SG_BACKEND_ENDPOINTS[@]}")
				server_name _;
				root $SG_TMP/www;
				location / { }
			}
		}
	EOF
}

# nginx_launch NS TAG WHERE [PIN...] — nginx with $SG_TMP/TAG.conf in NS
# (logs TAG.out, TAG-error.log), waited for (5 s at most) until it listens on
# port SG_PORT; WHERE names that address in errors. Its PID: SG_LAST_PID.
nginx_launch() {
	local ns=$1 tag=$2 where=$3 pid i
	shift 3
	sg_bg "$SG_TMP/$tag.out" "$ns" "$@" nginx -e "$SG_TMP/$tag-error.log" -c "$SG_TMP/$tag.conf"
	pid=$SG_LAST_PID
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" || sg_fail "nginx ($tag) exited: $(tail -n 5 "$SG_TMP/$tag-error.log" "$SG_TMP/$tag.out" 2>/dev/null)"
		in_ns "$ns" ss -Hltn "sport = :$SG_PORT" | grep -q LISTEN && return 0
		sleep 0.05
	done
	sg_fail "nginx ($tag) did not listen on $where within 5 s"
}

nginx_start() {
	nginx_launch "$NS_BACKEND" nginx "$SG_BACKEND_IP:$SG_PORT" "${PIN_OTHERS[@]}"
	NGINX_PID=$SG_LAST_PID
}

nginx_stop() {
	stop_pid "$NGINX_PID" TERM 5
	NGINX_PID=""
}

access_log_count() { # PATTERN (grep -E)
	grep -cE "$1" "$SG_TMP/nginx-access.log" 2>/dev/null || true
}

# Protect mode (config/protect-demo.conf): the web server runs on the
# defended host itself. nginx in the proxy namespace listens on the protected
# addresses (10.77.0.1:80, [fd77::1]:80), as the backend nginx would behind
# synguard; there is no backend.
protect_nginx_start() {
	SG_BACKEND_ENDPOINTS=("${SG_LISTEN_ENDPOINTS[@]}")
	nginx_conf
	nginx_launch "$NS_PROXY" nginx "$SG_VIP:$SG_PORT" "${PIN_OTHERS[@]}"
	NGINX_PID=$SG_LAST_PID
}

# ---------------------------------------------------------------- synguard

# Render the config template for this topology. Placeholders: @INTERFACE@,
# @LISTEN@ (SG_LISTEN if set, else SG_LISTEN_ENDPOINTS: each quoted,
# comma-separated), @BACKEND@, @LOG_LEVEL@, @DATAPATH@ (SG_DATAPATH),
# @XDP_ATTACH@ (native where the path has the XDP program: p0's peer runs one
# of its own, topo_xdp_peer; auto on the ring path, which loads none).
sg_write_config() {
	local out=$1 attach=auto datapath=$SG_DATAPATH endpoints=("${SG_LISTEN_ENDPOINTS[@]}") listen
	sg_answers_in_driver && attach=native
	[[ $SG_AUTO == 1 ]] && attach=auto datapath=auto
	attach=${SG_XDP_ATTACH:-$attach}
	[[ -n ${SG_LISTEN:-} ]] && endpoints=("$SG_LISTEN")
	listen=$(printf '"%s", ' "${endpoints[@]}")
	sed -e "s|@INTERFACE@|p0|g" \
		-e "s|@LISTEN@|${listen%, }|g" \
		-e "s|@BACKEND@|$SG_BACKEND_IP:$SG_PORT|g" \
		-e "s|@LOG_LEVEL@|${SG_LOG_LEVEL:-info}|g" \
		-e "s|@DATAPATH@|$datapath|g" \
		-e "s|@XDP_ATTACH@|$attach|g" \
		"$SG_CONFIG_TEMPLATE" >"$out"
}

# How many nftables tables of synguard instances (inet synguard-NAME) the
# proxy namespace has.
sg_tables() { in_proxy nft list tables | grep -c '^table inet synguard-' || true; }

# The last N lines of synguard's log, its counters left out.
sg_log_tail() {
	grep -vE '(^| )stats [a-z_]+ [0-9]+$' "$SG_LOG" | tail -n "$1"
}

# Start synguard in the proxy namespace (pinned to SG_CPU), wait for its
# "ready" log line. Each start gets a fresh log file (SG_LOG).
SG_STARTS=0
# With the XDP fast path, synguard's SYN work runs in p0's NAPI, on whichever
# CPU handed p0 the frame (the switch's). Run that NAPI as a kernel thread on
# synguard's CPU instead, so the defender's core pays for the defender's work
# as in every other mode. Only threads that did not exist before this start
# (SG_NAPI_BEFORE) are moved.
sg_xdp_napi_on_cpu() {
	local pid
	in_proxy sh -c 'echo 1 > /sys/class/net/p0/threaded'
	for pid in $(pgrep '^napi/p0-' || true); do
		[[ $SG_NAPI_BEFORE == *" $pid "* ]] || taskset -cp "$SG_CPU" "$pid" >/dev/null
	done
}

# SG_INSTANCE names the config file (default synguard: synguard.conf, so
# the instance is named "synguard"); a test that defines sg_config_edit
# gets the rendered file passed to it before the start.
sg_start() {
	SG_STARTS=$((SG_STARTS + 1))
	SG_CONF=$SG_TMP/${SG_INSTANCE:-synguard}.conf
	SG_LOG=$SG_TMP/synguard-$SG_STARTS.log
	sg_write_config "$SG_CONF"
	if declare -F sg_config_edit >/dev/null; then sg_config_edit "$SG_CONF"; fi
	local pin=()
	[[ -n $SG_CPU ]] && pin=(taskset -c "$SG_CPU")
	# Config check first: a bad config is reported as such, not as "not ready".
	in_proxy "$SYNGUARD" -t -c "$SG_CONF" >"$SG_TMP/config-check.log" 2>&1 ||
		sg_fail "synguard -t rejected $SG_CONF: $(cat "$SG_TMP/config-check.log")"
	SG_NAPI_BEFORE=" $(pgrep -d ' ' '^napi/p0-' || true) "
	# Not through sg_bg: stderr goes to its own log, and `ip netns exec` and
	# taskset both exec, so $! is synguard itself.
	ip netns exec "$NS_PROXY" "${pin[@]}" "$SYNGUARD" -c "$SG_CONF" 2>"$SG_LOG" >/dev/null </dev/null &
	SG_PID=$!
	SG_PIDS+=("$SG_PID")
	SG_STARTED+=("$SG_PID")
	sg_wait_ready
	sg_has_counters || return 0
	# The path asked for is the path that runs (never a silent fallback).
	grep -q "synguard\[info\] data path: $SG_DATAPATH (" "$SG_LOG" ||
		sg_fail "the log does not say 'data path: $SG_DATAPATH': $(grep -m 1 'data path' "$SG_LOG" || echo 'no data path line')"
	if sg_answers_in_driver; then
		# p0 is a veth: its driver has native XDP (generic would be slower
		# and would not show what this run means to show); by default,
		# without a program on its peer, generic (never lost SYN-ACKs).
		local mode=native
		[[ $SG_AUTO == 1 || ${SG_XDP_ATTACH:-} == generic ]] && mode=generic
		grep -q "XDP fast path attached to p0 ($mode mode)" "$SG_LOG" ||
			sg_fail "XDP fast path not attached in $mode mode: $(grep -m 1 'XDP' "$SG_LOG" || echo 'no XDP line in the log')"
		# (Generic XDP runs where p0 receives: a veth without NAPI.)
		[[ -n $SG_CPU && $mode == native ]] && sg_xdp_napi_on_cpu
	fi
	return 0
}

sg_wait_ready() {
	local i
	for ((i = 0; i < 200; i++)); do
		pid_alive "$SG_PID" || sg_fail "synguard exited before ready: $(sg_log_tail 3 | tr '\n' ' ')"
		grep -q 'synguard\[info\] ready' "$SG_LOG" && return 0
		sleep 0.05
	done
	sg_fail "synguard not ready within 10 s"
}

# System calls that synguard's sandbox (proxy/sandbox.c) denied process PID,
# from the kernel's log (audit type 1326), on one line: "syscall=NR xCOUNT,
# ...". Empty where that log cannot be read, or where auditd takes the
# messages.
sg_denied_calls() { # PID
	dmesg 2>/dev/null | awk -v pid="pid=$1" '/type=1326/ && / comm="synguard"/ {
		p = 0; nr = ""
		for (i = 1; i <= NF; i++) { if ($i == pid) p = 1; if ($i ~ /^syscall=/) nr = $i }
		if (p) print nr }' | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }'
}

# sg_stop [SIGNAL] — stop synguard, wait (bounded), keep its exit status in
# SG_EXIT_RC. Its final counters stay readable with sg_stat_cached.
sg_stop() {
	local sig=${1:-TERM} rc
	stop_pid "$SG_PID" "$sig" 5
	rc=$SG_EXIT_RC
	# The stand-in relays with a socat child, which dies with the daemon's
	# sockets on a real SIGKILL; make that so here too.
	if [[ $SG_STANDIN == 1 && -s $SG_TMP/standin-socat.pid ]]; then
		stop_pid "$(cat "$SG_TMP/standin-socat.pid")" KILL 2
		rm -f "$SG_TMP/standin-socat.pid"
	fi
	SG_EXIT_RC=$rc SG_PID=""
}

# The counter synguard prints last (the last one in util/stats.h): its line
# marks the end of a block.
SG_LAST_COUNTER=$(sed -nE 's/^[[:space:]]*X\(([a-z_]+),.*/\1/p' "$SG_ROOT/util/stats.h" 2>/dev/null | tail -n 1)
SG_LAST_COUNTER=${SG_LAST_COUNTER:-conn_active}

# Ask synguard for its counters (SIGUSR1) and wait until the whole block is in
# the log, i.e. one more line of the last counter.
sg_stats_refresh() {
	local before i
	pid_alive "${SG_PID:-0}" || sg_fail "sg_stats_refresh: synguard is not running"
	before=$(grep -c "stats $SG_LAST_COUNTER " "$SG_LOG" || true)
	kill -USR1 "$SG_PID"
	for ((i = 0; i < 60; i++)); do
		(($(grep -c "stats $SG_LAST_COUNTER " "$SG_LOG" || true) > before)) && return 0
		sleep 0.05
	done
	sg_fail "synguard printed no counters within 3 s of SIGUSR1"
}

# The last value of counter NAME in the log (no signal). The line is
# "stats NAME VALUE", alone or after a log prefix.
sg_stat_cached() {
	awk -v name="$1" '{ for (i = 1; i < NF - 1; i++) if ($i == "stats" && $(i + 1) == name) v = $(i + 2) }
		END { if (v == "") exit 1; print v }' "$SG_LOG" || sg_fail "counter $1 not found in $SG_LOG"
}

sg_stat() {
	sg_stats_refresh
	sg_stat_cached "$1"
}

# Print every counter of the last block: "name value" lines.
sg_stats_all() {
	awk '{ for (i = 1; i < NF - 1; i++) if ($i == "stats") v[$(i + 1)] = $(i + 2) }
		END { for (k in v) print k, v[k] }' "$SG_LOG" | sort
}

# Both run in the client namespace; curl must never wait long.
client_curl() { in_client "${PIN_OTHERS[@]}" curl --silent --show-error --max-time "${CURL_MAX_TIME:-10}" "$@"; }

# Download the 10 MB file through synguard and check it byte for byte (sha256).
# Sets DL_SECONDS and DL_MBPS. A connection that lost window scaling crawls
# (DESIGN §4: 5.8 KB in 20 s), so the time is bounded and asserted too.
download_big_check() {
	local out code size got_sha
	out=$(CURL_MAX_TIME=30 client_curl -o "$SG_TMP/big.got" \
		-w '%{http_code} %{size_download} %{time_total}' "${SG_URL}big.bin") ||
		sg_fail "download of ${SG_URL}big.bin failed: $out ($(stat -c %s "$SG_TMP/big.got" 2>/dev/null || echo 0) bytes arrived)"
	read -r code size DL_SECONDS <<<"$out"
	assert_eq "HTTP status" "$code" 200
	assert_cmp "bytes downloaded" "$size" == "$SG_BIG_SIZE"
	got_sha=$(sha256sum "$SG_TMP/big.got" | awk '{print $1}')
	assert_eq "sha256 of the download" "$got_sha" "$SG_BIG_SHA"
	assert_cmp "download seconds" "$DL_SECONDS" "<" 10
	DL_MBPS=$(awk -v b="$size" -v t="$DL_SECONDS" 'BEGIN { printf "%.0f", b * 8 / 1e6 / (t > 0 ? t : 1e-9) }')
}

# ---------------------------------------------------------------- BPF state

# The BPF programs, maps and links on the host (KIND ID NAME PIDS lines,
# tests/e2e/bpf_objects.py) into FILE.
bpf_objects() { python3 "$SG_E2E_DIR/bpf_objects.py" list >"$1"; }

# bpf_held FILE PID — the objects of a bpf_objects FILE that PID holds.
bpf_held() {
	awk -v pid="$2" '{ n = split($4, p, ","); for (i = 1; i <= n; i++) if (p[i] == pid) { print; next } }' "$1"
}

# bpf_left BEFORE HELD — what a stopped synguard left behind: the objects it
# held (HELD, a bpf_held list) that still exist, and the objects that did not
# exist before it started (BEFORE) that no process holds and that are named
# like one of its own (pinned or attached without a link). Other synguards on
# the host (other tests) hold theirs, so they are not counted.
bpf_left() {
	bpf_objects "$SG_TMP/bpf-after"
	awk 'FILENAME == ARGV[1] { before[$1 " " $2] = 1; next }
		FILENAME == ARGV[2] { held[$1 " " $2] = 1; name[$3] = 1; next }
		(($1 " " $2) in held) || (!(($1 " " $2) in before) && $4 == "-" && ($3 in name))' \
		"$1" "$2" "$SG_TMP/bpf-after"
}

# Programs attached to p0: "xdp N tc N tcx_ingress N tcx_egress N".
p0_hooks() { in_proxy python3 "$SG_E2E_DIR/bpf_objects.py" hooks p0; }

# Exit cleanup of synguard's BPF state (xdp and kernel paths): sg_bpf_before
# before sg_start, sg_bpf_running while it runs (what it holds: its XDP
# program, on the kernel path a TC program too, each attached to p0 by a link
# of its own), sg_bpf_clean WHEN once it stopped: nothing of it left, nothing
# on p0.
sg_bpf_before() { bpf_objects "$SG_TMP/bpf-before"; }

sg_bpf_running() {
	local tcx=0 progs maps links
	[[ $SG_DATAPATH == kernel ]] && tcx=1
	bpf_objects "$SG_TMP/bpf-now"
	bpf_held "$SG_TMP/bpf-now" "$SG_PID" >"$SG_TMP/bpf-held"
	read -r progs maps links < <(awk '{ n[$1]++ } END { print n["prog"] + 0, n["map"] + 0, n["link"] + 0 }' "$SG_TMP/bpf-held")
	assert_cmp "BPF programs synguard holds" "$progs" ">=" $((1 + tcx))
	assert_cmp "BPF links synguard holds" "$links" ">=" $((1 + tcx))
	assert_eq "programs on p0" "$(p0_hooks)" "xdp 1 tc 0 tcx_ingress $tcx tcx_egress 0"
	SG_BPF_HELD="$progs programs, $maps maps, $links links"
}

sg_bpf_clean() { # WHEN
	local left
	left=$(bpf_left "$SG_TMP/bpf-before" "$SG_TMP/bpf-held")
	[[ -z $left ]] || sg_fail "$1: BPF objects left (kind id name holders): $(tr '\n' ';' <<<"$left")"
	say "ok: $1: none of synguard's BPF objects left ($SG_BPF_HELD while it ran)"
	assert_eq "$1: programs on p0" "$(p0_hooks)" "xdp 0 tc 0 tcx_ingress 0 tcx_egress 0"
}

# ---------------------------------------------------------------- load

# legit_client ARGS... — the python load generator in the client namespace,
# bounded by an outer timeout; prints its JSON summary on stdout.
legit_client() {
	in_client "${PIN_OTHERS[@]}" timeout "${LEGIT_TIMEOUT:-120}" python3 "$SG_E2E_DIR/legit_client.py" \
		--host "$SG_VIP" --port "$SG_PORT" "$@"
}

# legit_run TAG ARGS... — run legit_client, keep its summary in
# $SG_TMP/TAG.json (LEGIT_JSON) and per-connection records in TAG.csv, and
# log a one-line summary.
legit_run() {
	local tag=$1
	shift
	LEGIT_JSON=$SG_TMP/$tag.json
	legit_client --records "$SG_TMP/$tag.csv" "$@" >"$LEGIT_JSON" || sg_fail "legit_client ($tag) failed to run"
	say "$tag: $(legit_line "$LEGIT_JSON")"
}

# A readable line from a legit_client summary.
legit_line() {
	python3 - "$1" <<-'PY'
		import json, sys
		s = json.load(open(sys.argv[1]))
		c, t = s["connect_ms"], s["total_ms"]
		print(f"{s['ok']}/{s['count']} ok ({s['success_pct']}%), connect p50/p99 {c['p50']}/{c['p99']} ms, "
		      f"request p50/p99 {t['p50']}/{t['p99']} ms, {s['connect_ge_1s']} connects >= 1 s, "
		      f"{s['distinct_ports']} source ports (max {s['max_port_uses']} uses), "
		      f"{s['conn_per_s']} conn/s, {s['late_starts']} late, errors {s['errors'] or 'none'}")
	PY
}

# jget FILE KEY — one value from legit_client's JSON summary.
jget() {
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v:=v[k] for k in sys.argv[2].split(".")]; print(v)' "$1" "$2"
}

# The client's ephemeral port range, per namespace: a small one makes source
# port reuse certain.
client_port_range() { in_client sysctl -qw net.ipv4.ip_local_port_range="$1 $2"; }

# Start a spoofed-source flood from the attacker namespace, pinned to
# FLOOD_CPU and bounded by timeout (SIGINT, so the generator prints its
# statistics): hping3, or over IPv6 (SG_FAMILY=6; SYNs only) synflood6.py, from
# random sources in SG_SPOOF_NET6. Returns once the flood is on the wire.
# Sets FLOOD_PID, FLOOD_TX0 (a0's tx packet counter before) and FLOOD_T0.
# Usage: flood_start SECONDS FLAG where FLAG is -S (SYN) or -A (ACK).
flood_start() {
	local seconds=$1 flag=$2 pin=() gen limit=$1 i
	[[ -n $FLOOD_CPU ]] && pin=(taskset -c "$FLOOD_CPU")
	if [[ $SG_FAMILY == 6 ]]; then
		[[ $flag == -S ]] || sg_fail "flood_start: only SYN floods (-S) over IPv6, not $flag"
		gen=(python3 "$SG_E2E_DIR/synflood6.py" a0 --dst "$SG_VIP6" --dport "$SG_PORT" --seconds "$seconds"
			--src-prefix "$SG_SPOOF_NET6")
		# It counts its seconds from its first frame; python's start-up
		# (seconds on a busy machine) is not the flood's.
		limit=$((seconds + 10))
	else
		gen=(hping3 "$flag" --flood --rand-source -p "$SG_PORT" "$SG_VIP")
	fi
	FLOOD_TX0=$(attacker_tx)
	sg_bg "$SG_TMP/flood.log" "$NS_ATTACKER" "${pin[@]}" timeout -s INT "$limit" "${gen[@]}"
	FLOOD_PID=$SG_LAST_PID
	# A hundred frames, not one: a0 sends a few of its own (IPv6 neighbour
	# discovery, MLD).
	for ((i = 0; i < 200; i++)); do
		(($(attacker_tx) > FLOOD_TX0 + 100)) && break
		pid_alive "$FLOOD_PID" || sg_fail "the flood generator exited: $(tail -n 3 "$SG_TMP/flood.log")"
		sleep 0.05
	done
	((i < 200)) || sg_fail "the flood generator sent nothing within 10 s"
	FLOOD_T0=$(now_ms)
}

# Wait for the flood to end (its timeout bounds it); sets FLOOD_SENT (frames
# the attacker's interface sent) and FLOOD_RATE (per second).
flood_wait() {
	wait_exit "$FLOOD_PID" 60 || sg_fail "the flood generator did not stop"
	wait "$FLOOD_PID" 2>/dev/null || true
	local ms=$(($(now_ms) - FLOOD_T0))
	FLOOD_SENT=$(($(attacker_tx) - FLOOD_TX0))
	FLOOD_RATE=$((FLOOD_SENT * 1000 / (ms > 0 ? ms : 1)))
}

attacker_tx() { in_attacker cat /sys/class/net/a0/statistics/tx_packets; }

# Frames the switch port facing the proxy could not hand to p0 (with XDP on
# p0, the veth's ring of frames for the program fills when p0's CPU is busy):
# they never reached the defended host.
np_tx_dropped() { in_ns "$NS_NET" cat /sys/class/net/np/statistics/tx_dropped; }

# Packets the kernel dropped because a CPU's input backlog was full
# (netdev_max_backlog; host-wide, all namespaces). Under a flood, p0's frames
# queue on synguard's CPU (RPS) and overflow there before any tap sees them —
# legitimate segments included, which then wait for a TCP retransmission.
softnet_dropped() {
	local n=0 _processed dropped _rest
	while read -r _processed dropped _rest; do n=$((n + 16#$dropped)); done </proc/net/softnet_stat
	echo "$n"
}

# ---------------------------------------------------------------- one call

# Everything most tests need: preflight, trap, topology, backend up.
# Arguments: extra tools this test needs.
# shellcheck disable=SC2120
sg_setup() {
	sg_topo_setup "$@"
	nginx_conf
	nginx_start
	say "topology $SG_TAG up ($(sg_where))"
}

# The same for protect mode: nginx on the defended host, synguard's
# template config/protect-demo.conf.
sg_protect_setup() {
	sg_topo_setup "$@"
	protect_nginx_start
	SG_CONFIG_TEMPLATE=$SG_ROOT/config/protect-demo.conf
	say "topology $SG_TAG up, protect mode: nginx on $SG_VIP:$SG_PORT in the proxy namespace ($(sg_where))"
}

sg_where() {
	echo "tmp $SG_TMP, synguard: $SYNGUARD${SG_CPU:+ on CPU $SG_CPU, flood on CPU $FLOOD_CPU, switch on CPU $NET_CPU}"
}

sg_topo_setup() {
	sg_preflight "$@"
	sg_install_trap
	SG_TMP=$(mktemp -d "${SG_E2E_TMPDIR:-/tmp}/sg-e2e.XXXXXX")
	topo_up
	www_make
}

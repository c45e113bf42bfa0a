#!/usr/bin/env bash
# 10 — two synguard instances behind one address (ECMP), one key file: a
# connection whose SYN was answered by host A and whose ACK reaches host B is
# adopted by B (on the kernel path: accepted; cookies are stateless: shared
# key + wall clock).
#
#   client c0 10.77.5.2
#     │
#   router rc 10.77.5.254 ─┬─ ra 10.77.1.254 ── p0 10.77.1.1 + VIP: host A, synguard ── pb 10.77.9.1 ─┐
#                          └─ rb 10.77.2.254 ── p0 10.77.2.1 + VIP: host B, synguard ── pb 10.77.9.3 ─┤
#                                                           backend: bridge br9 10.77.9.2, nginx :80 ─┘
#
# The router reaches the VIP (10.77.0.1) by a two-way multipath route hashed
# on the 4-tuple, read from the headers as a hardware router does: hash policy
# 3 with the five-tuple fields. Not policy 1: on a router fed by a veth it
# takes the hash that the client's socket left on the skb, which changes at
# each retransmission timeout (net.core.txrehash), so a retransmission could
# move to the other host.
#
# "Crossed": the router marks SYNs, and marked packets look the VIP up in a
# table with the same next hops in the opposite order. A connection's packets
# all hash alike and the first next hop takes the lower half of the hash
# range, so each SYN goes to the host its later segments do not go to.
# "Plain": no such rule, ECMP as usual. Not assumed but measured, per
# connection: the router's conntrack remembers which host a connection's SYN
# went to and counts the client's later segments that went to that host or
# to the other.
#
# Shared key: plain and crossed, every connection and a 10 MB download
# succeed, each host adopting what the routing gave it. Negative control, host
# B restarted with a different key: plain still all succeed, crossed all fail
# (each host counts the other's cookies as bad).
set -euo pipefail
SG_PATHS="ring kernel" SG_PATHS_WHY="the XDP program's cookies are held to cookie_make() bit for bit by test_fastpath, and the kernel path crosses XDP cookies between hosts here"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PLAIN_N=${PLAIN_N:-100} PLAIN_C=${PLAIN_C:-20}
CROSS_N=${CROSS_N:-300} CROSS_C=${CROSS_C:-50}
NEG_N=${NEG_N:-30}
# Before reading counters after a phase: the client's last segments reach the
# router (synguard's counters, XDP's included, are current at SIGUSR1).
SETTLE_S=0.2

ECMP_CLIENT_IP=10.77.5.2 ECMP_CLIENT_GW=10.77.5.254
declare -A HOST_LINK_IP=([A]=10.77.1.1 [B]=10.77.2.1) HOST_GW_IP=([A]=10.77.1.254 [B]=10.77.2.254)
declare -A HOST_BACK_IP=([A]=10.77.9.1 [B]=10.77.9.3) HOST_PORT=([A]=ra [B]=rb)
CROSS_TABLE=100 SYN_MARK=0x5347
NS_ROUTER=$NS_NET
declare -A HOST_NS=([A]=$SG_TAG-hostA [B]=$SG_TAG-hostB) HOST_PID=() HOST_LOG=()

if ! sg_has_counters; then
	sg_skip "in stand-in mode each kernel makes its own SYN cookies: no instance can adopt another's"
	exit 77
fi

in_router() { in_ns "$NS_ROUTER" "$@"; }

# Routing sysctls before any interface exists, so that every interface
# inherits them. rp_filter off: a connection enters the router from A (SYN-ACK)
# and from B (the rest); not this host's default to decide.
ecmp_ns() { # NS
	ns_add "$1"
	in_ns "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

ecmp_topo_up() {
	local h ns
	for ns in "$NS_ROUTER" "$NS_CLIENT" "$NS_BACKEND" "${HOST_NS[A]}" "${HOST_NS[B]}"; do ecmp_ns "$ns"; done
	# Fields: source and destination address, protocol, source and destination port.
	in_router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=3 \
		net.ipv4.fib_multipath_hash_fields=0x0037

	veth c0 "$NS_CLIENT" rc "$NS_ROUTER"
	in_client ip addr add "$ECMP_CLIENT_IP/24" dev c0
	in_router ip addr add "$ECMP_CLIENT_GW/24" dev rc
	in_client ip link set c0 up
	in_router ip link set rc up
	in_client ip route add default via "$ECMP_CLIENT_GW"
	# As in lib.sh's topology: the client's frames in synguard's ring carry
	# real checksums and no TSO; nobody coalesces them before the tap.
	in_client ethtool -K c0 tx off >/dev/null
	in_router ethtool -K rc gro off >/dev/null

	in_backend ip link add br9 type bridge
	in_backend ip addr add "$SG_BACKEND_IP/24" dev br9
	in_backend ip link set br9 up
	for h in A B; do
		veth p0 "${HOST_NS[$h]}" "${HOST_PORT[$h]}" "$NS_ROUTER"
		in_ns "${HOST_NS[$h]}" ip addr add "${HOST_LINK_IP[$h]}/24" dev p0
		in_ns "${HOST_NS[$h]}" ip addr add "$SG_VIP/32" dev p0
		in_router ip addr add "${HOST_GW_IP[$h]}/24" dev "${HOST_PORT[$h]}"
		in_ns "${HOST_NS[$h]}" ip link set p0 up
		in_router ip link set "${HOST_PORT[$h]}" up
		in_ns "${HOST_NS[$h]}" ip route add default via "${HOST_GW_IP[$h]}"
		in_ns "${HOST_NS[$h]}" ethtool -K p0 gro off >/dev/null
		in_router ethtool -K "${HOST_PORT[$h]}" gro off >/dev/null
		sg_answers_in_driver && topo_xdp_peer on "$NS_ROUTER" "${HOST_PORT[$h]}"

		veth pb "${HOST_NS[$h]}" "b$h" "$NS_BACKEND"
		in_ns "${HOST_NS[$h]}" ip addr add "${HOST_BACK_IP[$h]}/24" dev pb
		in_backend ip link set "b$h" master br9 up
		in_ns "${HOST_NS[$h]}" ip link set pb up
	done

	in_router ip route add "$SG_VIP/32" \
		nexthop via "${HOST_LINK_IP[A]}" dev ra nexthop via "${HOST_LINK_IP[B]}" dev rb
	in_router ip route add "$SG_VIP/32" table "$CROSS_TABLE" \
		nexthop via "${HOST_LINK_IP[B]}" dev rb nexthop via "${HOST_LINK_IP[A]}" dev ra
	# A SYN is a segment with SYN and without ACK. ct mark: the host (1 = A,
	# 2 = B) the connection's last SYN went to.
	in_router nft -f - <<-EOF
		table inet sg_ecmp {
			counter to_same { }
			counter to_other { }
			chain pre {
				type filter hook prerouting priority mangle; policy accept;
				ip daddr $SG_VIP tcp dport $SG_PORT tcp flags & (syn | ack) == syn meta mark set $SYN_MARK
			}
			chain forward {
				type filter hook forward priority filter; policy accept;
				ip daddr $SG_VIP tcp dport $SG_PORT jump to_vip
			}
			chain to_vip {
				tcp flags & (syn | ack) == syn oifname "ra" ct mark set 1 return
				tcp flags & (syn | ack) == syn oifname "rb" ct mark set 2 return
				oifname "ra" ct mark 1 counter name "to_same" return
				oifname "rb" ct mark 2 counter name "to_same" return
				ct mark { 1, 2 } counter name "to_other"
			}
		}
	EOF
	links_wait "$NS_CLIENT" c0 "$NS_ROUTER" rc "$NS_ROUTER" ra "$NS_ROUTER" rb "$NS_BACKEND" br9 \
		"${HOST_NS[A]}" p0 "${HOST_NS[A]}" pb "${HOST_NS[B]}" p0 "${HOST_NS[B]}" pb
}

# crossing on|off — SYNs take the swapped table, or the main one as the rest.
crossing() {
	if [[ $1 == on ]]; then
		in_router ip rule add fwmark "$SYN_MARK" lookup "$CROSS_TABLE" priority 100
	else
		in_router ip rule del fwmark "$SYN_MARK" lookup "$CROSS_TABLE" priority 100
	fi
}

router_counter() { # NAME — packets
	in_router nft list counter inet sg_ecmp "$1" | awk '/packets/ { print $2 }'
}

# host_start H KEYFILE — synguard on host H (lib.sh's sg_start, in H's
# namespace) with the demo config plus key_file = KEYFILE.
host_start() {
	local h=$1 key=$2
	NS_PROXY=${HOST_NS[$h]}
	SG_CONFIG_TEMPLATE=$SG_TMP/template-$h.conf
	sed -E "s|^cookie = \\{|cookie = { key_file = \"$key\";|" "$SG_ROOT/config/demo.conf" >"$SG_CONFIG_TEMPLATE"
	grep -q "key_file = \"$key\"" "$SG_CONFIG_TEMPLATE" ||
		sg_fail "config/demo.conf has no 'cookie = {' line to add key_file to"
	sg_start
	grep -q "cookie key loaded from $key" "$SG_LOG" || sg_fail "host $h: synguard did not load $key"
	HOST_PID[$h]=$SG_PID HOST_LOG[$h]=$SG_LOG
	say "host $h: synguard $SG_PID, key $key"
}

host_use() { # H — the sg_* helpers now talk to host H's synguard
	NS_PROXY=${HOST_NS[$1]} SG_PID=${HOST_PID[$1]} SG_LOG=${HOST_LOG[$1]}
}

declare -A SNAP=() D=()

# snapshot: both hosts' counters (SNAP[H.name]) and the router's (SNAP[router.name]).
snapshot() {
	local h k v
	for h in A B; do
		host_use "$h"
		sg_stats_refresh
		while read -r k v; do SNAP[$h.$k]=$v; done < <(sg_stats_all)
	done
	for k in to_same to_other; do SNAP[router.$k]=$(router_counter "$k"); done
}

# phase TAG N CONCURRENCY TIMEOUT [curl] — N connections (and the 10 MB
# download); D holds the counters' increase, LEGIT_OK the successful ones.
phase() {
	local tag=$1 n=$2 conc=$3 timeout=$4 k
	local -A before
	snapshot
	for k in "${!SNAP[@]}"; do before[$k]=${SNAP[$k]}; done
	legit_run "$tag" -n "$n" -c "$conc" --timeout "$timeout"
	LEGIT_OK=$(jget "$LEGIT_JSON" ok) LEGIT_N=$n
	[[ ${5:-} == curl ]] && download_big_check
	sleep "$SETTLE_S"
	snapshot
	for k in "${!SNAP[@]}"; do D[$k]=$((${SNAP[$k]} - ${before[$k]})); done
	say "$(numbers "$tag")"
}

both() { echo $((${D[A.$1]} + ${D[B.$1]})); } # COUNTER — its increase on both hosts

# Every client segment after a SYN went to the SYN's host (WHERE = same) or
# to the other (other); both hosts answered SYNs, N in all.
assert_split() { # TAG WHERE CONNECTIONS
	local tag=$1 where=$2 n=$3 not=same
	[[ $where == same ]] && not=other
	assert_cmp "$tag: client segments routed to the $not host" "${D[router.to_$not]}" == 0
	assert_cmp "$tag: client segments routed to the $where host" "${D[router.to_$where]}" ">=" "$n"
	assert_cmp "$tag: SYNs answered by A" "${D[A.synack_sent]}" ">" 0
	assert_cmp "$tag: SYNs answered by B" "${D[B.synack_sent]}" ">" 0
	assert_cmp "$tag: SYNs answered, both hosts" "$(both synack_sent)" == "$n"
}

# Every client connection succeeded, every connection (N, with the download)
# was taken over once (adopted, or on the kernel path accepted), no bad cookie.
assert_all_ok() { # TAG CLIENT_CONNECTIONS N
	local tag=$1 n=$3
	assert_cmp "$tag: successful client connections" "$LEGIT_OK" == "$2"
	assert_cmp "$tag: $SG_TAKEN, both hosts" "$(both "$SG_TAKEN")" == "$n"
	assert_cmp "$tag: bad cookies, both hosts" "$(both ack_bad_cookie)" == 0
	assert_cmp "$tag: failed adoptions, both hosts" "$(both "$SG_TAKE_FAILED")" == 0
}

# The measured numbers of the last phase, for the log and the PASS line.
numbers() { # TAG
	echo "$1: $LEGIT_OK/$LEGIT_N ok; SYNs answered/$SG_TAKEN/bad cookies:" \
		"A ${D[A.synack_sent]}/${D[A.$SG_TAKEN]}/${D[A.ack_bad_cookie]}, B ${D[B.synack_sent]}/${D[B.$SG_TAKEN]}/${D[B.ack_bad_cookie]};" \
		"client segments after the SYN to its host/the other: ${D[router.to_same]}/${D[router.to_other]}"
}

sg_preflight
sg_install_trap
SG_TMP=$(mktemp -d "${SG_E2E_TMPDIR:-/tmp}/sg-e2e.XXXXXX")
ecmp_topo_up
www_make
nginx_conf
nginx_start
KEY=$SG_TMP/cookie.key KEY_B=$SG_TMP/cookie-b.key
"$SYNGUARD" --gen-key "$KEY" >/dev/null
host_start A "$KEY"
host_start B "$KEY"
say "topology $SG_TAG up (tmp $SG_TMP)"

# Shared key, plain ECMP: each host adopts what it answered.
phase plain "$PLAIN_N" "$PLAIN_C" 3
assert_all_ok plain "$PLAIN_N" "$PLAIN_N"
assert_split plain same "$PLAIN_N"
assert_cmp "plain: A took over what A answered" "${D[A.$SG_TAKEN]}" == "${D[A.synack_sent]}"
plain_line=$(numbers plain)

# Shared key, crossed: each host adopts what the other answered.
crossing on
phase crossed "$CROSS_N" "$CROSS_C" 3 curl
assert_all_ok crossed "$CROSS_N" $((CROSS_N + 1))
assert_split crossed other $((CROSS_N + 1))
assert_cmp "crossed: B took over what A answered" "${D[B.$SG_TAKEN]}" == "${D[A.synack_sent]}"
assert_cmp "crossed: A took over what B answered" "${D[A.$SG_TAKEN]}" == "${D[B.synack_sent]}"
crossed_line="$(numbers crossed), 10 MB in ${DL_SECONDS}s, sha256 matches"

# Negative control: B with another key. Plain, every connection succeeds ...
"$SYNGUARD" --gen-key "$KEY_B" >/dev/null
cmp -s "$KEY" "$KEY_B" && sg_fail "two generated keys are identical"
host_use B
sg_stop TERM
host_start B "$KEY_B"
crossing off
phase neg-plain "$PLAIN_N" "$PLAIN_C" 3
assert_all_ok neg-plain "$PLAIN_N" "$PLAIN_N"
assert_split neg-plain same "$PLAIN_N"
neg_plain_line=$(numbers neg-plain)

# ... crossed, every one fails. Last: the failed connections' sockets go on
# retransmitting to the wrong host for a while after the client gave up.
crossing on
phase neg-crossed "$NEG_N" "$NEG_N" 2
assert_cmp "different keys, crossed: successful connections" "$LEGIT_OK" == 0
assert_cmp "different keys, crossed: $SG_TAKEN, both hosts" "$(both "$SG_TAKEN")" == 0
assert_split neg-crossed other "$NEG_N"
assert_cmp "different keys, crossed: B's bad cookies" "${D[B.ack_bad_cookie]}" ">=" "${D[A.synack_sent]}"
assert_cmp "different keys, crossed: A's bad cookies" "${D[A.ack_bad_cookie]}" ">=" "${D[B.synack_sent]}"
neg_crossed_line=$(numbers neg-crossed)

sg_pass "shared key: $plain_line | $crossed_line || different keys: $neg_plain_line | $neg_crossed_line"

# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# (globals are read by bench/run; lib.sh's globals; snap's A_*/B_* are set by printf -v)
# benchlib.sh — the benchmark's machinery, on top of tests/e2e/lib.sh (source
# that first: it provides the topology, the backend nginx, synguard start/stop,
# the legitimate client, the teardown trap). bench/README.md explains the
# method and the choices made here.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3 (python3-matplotlib lives there); a python3 earlier in PATH
# (pyenv) may lack it.
BENCH_PY=/usr/bin/python3
[[ -x $BENCH_PY ]] || BENCH_PY=$(command -v python3)

FRONT_PID=""        # the front nginx (kernel modes)
FLOOD_PID=""        # the flood generator (timeout wrapper)
SAMPLER_PID=""
DEFENDER_DESC=""    # what defends in the current mode

# Modes, in the order tables list them.
BENCH_ALL_MODES="none cookies1 cookies2 synproxy synguard synguard-xdp synguard-kernel synguard-auto protect local-cookies2"
mode_title() {
	case $1 in
	none) echo "no defense (cookies off, backlog 64)" ;;
	cookies1) echo "kernel SYN cookies = 1" ;;
	cookies2) echo "kernel SYN cookies = 2" ;;
	synproxy) echo "nft SYNPROXY" ;;
	synguard) echo "synguard, datapath = ring" ;;
	synguard-xdp) echo "synguard, datapath = xdp" ;;
	synguard-kernel) echo "synguard, datapath = kernel" ;;
	synguard-auto) echo "synguard, default configuration (datapath and xdp_attach auto)" ;;
	protect) echo "synguard protect mode, nginx on the defended host" ;;
	local-cookies2) echo "nginx on the defended host, kernel SYN cookies = 2" ;;
	direct) echo "direct to the backend (routed by the front)" ;;
	*) echo "$1" ;;
	esac
}

# mode_datapath MODE — synguard's data path (lib.sh's SG_DATAPATH) in MODE;
# nothing for the modes without synguard.
mode_datapath() {
	case $1 in
	synguard) echo ring ;;
	synguard-xdp) echo xdp ;;
	synguard-kernel | protect) echo kernel ;;
	synguard-auto) echo auto ;;
	esac
}

# bench_without_kernel_path "WORDS" — the modes (or relay targets) of WORDS
# that do not need synguard's kernel path.
bench_without_kernel_path() {
	local m out=()
	for m in $1; do [[ $(mode_datapath "$m") == kernel ]] || out+=("$m"); done
	echo "${out[*]}"
}

# ---------------------------------------------------------------- testbed

# bench_topology — lib.sh's topology with the tools the benchmarks use. The
# XDP program the xdp and kernel paths need on the switch port facing p0
# comes and goes with those modes (bench_sg_start, mode_down). Receive
# processing of the defended host's other interface (the backend side) goes
# to the defender's CPU too: it pays for its whole network path.
bench_topology() {
	SG_DATAPATH=ring
	sg_setup hping3 trafgen wrk conntrack taskset
	[[ -n $SG_CPU ]] || sg_fail "needs 2 CPUs or more (defender and attacker on different cores)"
	if [[ ${BENCH_PB_RPS:-1} == 1 ]]; then
		in_proxy sh -c "printf '%x' $((1 << SG_CPU)) > /sys/class/net/pb/queues/rx-0/rps_cpus"
	fi
}

# ---------------------------------------------------------------- CPU

# The whole script (and whatever it starts without its own pinning: the
# legitimate client, wrk, curl, the samplers) stays off the defender's CPU.
bench_pin_self() {
	[[ -n $SG_CPU ]] || return 0
	taskset -cp "0-$((SG_NCPU - 2))" $$ >/dev/null
}

# cpu_fields CPU — "user nice system idle iowait irq softirq steal" in ticks.
cpu_fields() {
	awk -v c="cpu$1" '$1 == c { print $2, $3, $4, $5, $6, $7, $8, $9 }' /proc/stat
}

# Busy percent of all CPUs over SECONDS (a fraction is fine).
cpus_busy_pct() {
	local a b
	a=$(awk '$1 == "cpu" { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	sleep "$1"
	b=$(awk '$1 == "cpu" { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		t = y[2] - x[2]; printf "%d", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# Before each measurement: this run's own processes are idle then, so CPU
# use is somebody else's (another benchmark or test on the same machine would
# spoil the numbers). Wait for quiet, at most BENCH_QUIET_MAX_S; the busy
# percent seen last is recorded with the point (foreign_busy_pct) and points
# measured on a busy machine are flagged in the table.
QUIET_PCT=${BENCH_QUIET_PCT:-10}
QUIET_MAX_S=${BENCH_QUIET_MAX_S:-20}
quiet_wait() {
	local t0 waited=0
	t0=$(date +%s)
	while :; do
		FOREIGN_PCT=$(cpus_busy_pct 0.4)
		((FOREIGN_PCT <= QUIET_PCT)) && break
		(($(date +%s) - t0 >= QUIET_MAX_S)) && break
		((waited)) || say "machine busy (${FOREIGN_PCT}% of all CPUs, not ours?): waiting up to ${QUIET_MAX_S}s for quiet"
		waited=1
		sleep 1
	done
	((waited == 0 || FOREIGN_PCT <= QUIET_PCT)) || say "still ${FOREIGN_PCT}% busy: measuring anyway (flagged)"
}

# user+system ticks of every process in the defended namespace (the defender:
# synguard, or the front nginx master and worker).
defender_ticks() {
	local pids
	pids=$(ip netns pids "$NS_PROXY" 2>/dev/null | tr '\n' ' ')
	[[ -n $pids ]] || { echo 0 && return; }
	# shellcheck disable=SC2086,SC2046
	{ (cd /proc && cat $(printf '%s/stat ' $pids) 2>/dev/null) || true; } |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# ---------------------------------------------------------------- counters

# What the defender puts on the wire, counted where it arrives: at the ingress
# of the switch port facing it (np, in the switch namespace, before the
# gateway's drop). Every path out of p0 lands here (kernel TCP, raw sockets,
# XDP_TX), and the counting costs the switch's CPU, not the defender's.
bench_wire_counters() {
	in_ns "$NS_NET" nft -f - <<-EOF
		table netdev bench_wire {
			counter synack { }
			counter rst { }
			chain from_proxy {
				type filter hook ingress device "np" priority -100; policy accept;
				tcp flags & (syn | ack) == syn | ack counter name "synack"
				tcp flags & rst == rst counter name "rst"
			}
		}
	EOF
}
wire_counter() { in_ns "$NS_NET" nft list counter netdev bench_wire "$1" | awk '/packets/ { print $2 }'; }
dev_stat() { in_ns "$1" cat "/sys/class/net/$2/statistics/$3"; } # NS DEV COUNTER

# synguard's counters recorded with every point (their names go to the meta
# record, for report.py): SYNs and how they were answered, ACKs and what
# became of them on each path; rx_martian: flood SYNs from impossible sources
# (trafgen's random ones include them), dropped unanswered.
BENCH_SG_COUNTERS="syn_received synack_sent synack_xdp ring_drops synack_send_failed ack_valid ack_bad_cookie"
BENCH_SG_COUNTERS+=" adopted accepted reqsk_failed ack_no_listener rx_martian"

# snap PREFIX — every counter of a point, into variables PREFIX_*.
snap() {
	local p=$1 v c
	printf -v "${p}_ms" '%s' "$(now_ms)"
	printf -v "${p}_a0tx" '%s' "$(attacker_tx)"
	printf -v "${p}_p0rx" '%s' "$(dev_stat "$NS_PROXY" p0 rx_packets)"
	printf -v "${p}_p0tx" '%s' "$(dev_stat "$NS_PROXY" p0 tx_packets)"
	printf -v "${p}_synack" '%s' "$(wire_counter synack)"
	printf -v "${p}_rst" '%s' "$(wire_counter rst)"
	printf -v "${p}_cpu1" '%s' "$(cpu_fields "${SG_CPU:-0}")"
	printf -v "${p}_cpu0" '%s' "$(cpu_fields 0)"
	printf -v "${p}_proc" '%s' "$(defender_ticks)"
	printf -v "${p}_softnet" '%s' "$(softnet_dropped)"
	# Function-call IPIs received per CPU (RPS wakes a remote CPU with one).
	printf -v "${p}_ipi" '%s' "$(awk '$1 == "CAL:" { print $2, $3 }' /proc/interrupts)"
	v=""
	if [[ -n ${SG_PID:-} ]] && pid_alive "$SG_PID"; then
		sg_stats_refresh
		for c in $BENCH_SG_COUNTERS; do v+="$(sg_stat_cached "$c") "; done
	fi
	printf -v "${p}_sg" '%s' "${v% }"
}

# ---------------------------------------------------------------- front server

# The defended host's server, one nginx worker pinned to the defender's CPU,
# on the protected address (every endpoint synguard would protect), in one of
# two roles:
# - stream: the front of the kernel modes, nginx's stream (TCP) proxy relaying
#   to the same backend as synguard: accept, connect to the backend, copy both
#   ways. The same work as synguard's relay, so that these modes differ from
#   synguard only in how the handshake is defended (bench/README.md: "Modes").
# - http: the web server itself, serving the backend's files (protect and
#   local-cookies2): what protect mode defends, and what an operator runs with
#   kernel cookies instead. No access log: it would cost the defender's core
#   per connection.
front_conf() { # stream|http BACKLOG
	local listen
	listen=$(printf 'listen %s backlog='"$2"';\n' "${SG_LISTEN_ENDPOINTS[@]}")
	{
		cat <<-EOF
			# Generated by bench/benchlib.sh: the defended host's server ($1).
			load_module /usr/lib/nginx/modules/ngx_stream_module.so;
			daemon off;
			master_process on;
			worker_processes 1;
			worker_rlimit_nofile 65536;
			user root root;
			pid $SG_TMP/front.pid;
			error_log $SG_TMP/front-error.log warn;
			events { worker_connections 16384; }
		EOF
		if [[ $1 == stream ]]; then
			cat <<-EOF
				stream {
					server {
						$listen
						proxy_pass $SG_BACKEND_IP:$SG_PORT;
						proxy_connect_timeout 1s;
					}
				}
			EOF
		else
			cat <<-EOF
				http {
					access_log off;
					default_type application/octet-stream;
					types { text/html html; }
					sendfile on;
					client_body_temp_path $SG_TMP/nginx-tmp/front-body;
					server {
						$listen
						server_name _;
						root $SG_TMP/www;
						location / { }
					}
				}
			EOF
		fi
	} >"$SG_TMP/front.conf"
}

front_start() { # stream|http BACKLOG
	local pin=()
	[[ -n $SG_CPU ]] && pin=(taskset -c "$SG_CPU")
	front_conf "$1" "$2"
	nginx_launch "$NS_PROXY" front "$SG_VIP:$SG_PORT" "${pin[@]}"
	FRONT_PID=$SG_LAST_PID
}

front_stop() {
	[[ -n $FRONT_PID ]] || return 0
	stop_pid "$FRONT_PID" TERM 5
	FRONT_PID=""
}

# nft SYNPROXY as the nftables wiki sets it up: SYNs to the service are not
# tracked (raw prerouting); whatever conntrack then finds invalid or untracked
# goes to synproxy, which answers SYNs with a cookie and, on a valid ACK, does
# the handshake with the local server; the rest of invalid is dropped. It
# needs tcp_syncookies=1 and timestamps; loose tracking off so that a stray
# ACK cannot create a connection.
synproxy_on() {
	in_proxy nft -f - <<-EOF
		table ip bench_synproxy {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				ip daddr $SG_VIP tcp dport $SG_PORT tcp flags syn notrack
			}
			chain in {
				type filter hook input priority filter; policy accept;
				ip daddr $SG_VIP tcp dport $SG_PORT ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
				ct state invalid drop
			}
		}
	EOF
	in_proxy sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
	in_proxy conntrack -F >/dev/null 2>&1 || true
}
synproxy_off() { in_proxy nft delete table ip bench_synproxy 2>/dev/null || true; }

# mode_up MODE — set the defended namespace up for MODE and start its server.
mode_up() {
	local mode=$1 cookies=1 synq=4096 backlog=4096
	in_proxy sysctl -qw net.ipv4.tcp_timestamps=1
	# Our legitimate clients share one address. Linux lets a "proven" peer
	# (one with cached TCP metrics, i.e. any earlier connection) past a SYN
	# queue 3/4 full when cookies are off, which real, mostly new clients
	# would not enjoy: no metrics, so every client is new to the server.
	in_proxy sysctl -qw net.ipv4.tcp_no_metrics_save=1
	in_proxy ip tcp_metrics flush all 2>/dev/null || true
	case $mode in
	none) cookies=0 synq=$NONE_BACKLOG backlog=$NONE_BACKLOG ;;
	cookies1 | synproxy) cookies=1 ;;
	cookies2 | local-cookies2) cookies=2 ;;
	# synguard's kernel path needs 1 or 2 (the listener would reset cookie
	# ACKs); 1 is what synguard sets itself when it finds 0.
	synguard | synguard-xdp | synguard-kernel | synguard-auto | protect) ;;
	*) sg_fail "unknown mode $mode (known: $BENCH_ALL_MODES)" ;;
	esac
	in_proxy sysctl -qw net.ipv4.tcp_syncookies="$cookies" net.ipv4.tcp_max_syn_backlog="$synq"
	case $mode in
	protect)
		front_start http "$backlog"
		bench_sg_start "$mode" "$SG_ROOT/config/protect-demo.conf"
		DEFENDER_DESC="synguard pid $SG_PID (protect) + nginx pid $FRONT_PID (backlog $backlog)"
		;;
	synguard*)
		bench_sg_start "$mode" "$SG_CONFIG_TEMPLATE"
		DEFENDER_DESC="synguard pid $SG_PID (datapath $SG_DATAPATH)"
		;;
	local-cookies2)
		front_start http "$backlog"
		DEFENDER_DESC="nginx pid $FRONT_PID (backlog $backlog, tcp_syncookies=$cookies)"
		;;
	*)
		[[ $mode == synproxy ]] && synproxy_on
		front_start stream "$backlog"
		DEFENDER_DESC="nginx stream front pid $FRONT_PID (backlog $backlog, tcp_syncookies=$cookies)"
		;;
	esac
}

# bench_sg_start MODE TEMPLATE — synguard on MODE's data path with config
# TEMPLATE (lib.sh's placeholders). The xdp and kernel paths answer SYNs with
# XDP_TX, which a veth delivers only to a peer that runs an XDP program: one
# on np, the switch port facing p0, for these modes only (bench/README.md).
# Not for synguard-auto (the default configuration: generic XDP on a veth),
# nor in the relay part (BENCH_IN_RELAY=1), where XDP attaches generic too:
# that program costs every frame p0 sends a copy, which is the testbed's
# cost, not synguard's, and would dominate bulk throughput.
BENCH_PEER_XDP=0
bench_sg_start() {
	SG_DATAPATH=$(mode_datapath "$1") SG_AUTO=0 SG_XDP_ATTACH=""
	if [[ $SG_DATAPATH == auto ]]; then
		SG_AUTO=1 SG_DATAPATH=$(SG_E2E_KERNEL_PATH_MISSING=${KERNEL_PATH_MISSING:-} sg_auto_path)
	elif [[ $SG_DATAPATH != ring && ${BENCH_IN_RELAY:-0} == 1 ]]; then
		SG_XDP_ATTACH=generic
	elif [[ $SG_DATAPATH != ring ]]; then
		topo_xdp_peer on
		BENCH_PEER_XDP=1
	fi
	SG_CONFIG_TEMPLATE=$2 sg_start
}

mode_down() {
	local mode=$1
	if [[ -n $(mode_datapath "$mode") ]]; then
		sg_stop TERM
		[[ $BENCH_PEER_XDP == 0 ]] || topo_xdp_peer off
		SG_DATAPATH=ring SG_AUTO=0 SG_XDP_ATTACH="" BENCH_PEER_XDP=0
	fi
	front_stop
	[[ $mode == synproxy ]] && synproxy_off
	# Half-open connections of a closed listener linger until their next
	# SYN-ACK timer (up to tens of seconds): remove them, or the next mode's
	# "kernel state" counts them.
	in_proxy ss -K -tn state syn-recv >/dev/null 2>&1 || true
	return 0
}

# ---------------------------------------------------------------- floods

# trafgen's packets: Ethernet to p0 (same segment), random source address
# (the whole IPv4 space, like hping3 --rand-source), port and sequence number;
# no TCP options (hping3 sends none either). Checksums are computed by trafgen
# per packet.
trafgen_cfg() { # syn|ack -> file
	local kind=$1 mac flags
	mac=$(in_proxy cat /sys/class/net/p0/address)
	if [[ $kind == syn ]]; then flags="syn"; else flags="ack, aseq=drnd()"; fi
	cat >"$SG_TMP/trafgen-$kind.cfg" <<-EOF
		{ eth(da=$mac), ipv4(sa=drnd(), da=$SG_VIP, ttl=64, id=drnd()),
		  tcp(sp=drnd(), dp=$SG_PORT, seq=drnd(), $flags, win=64240) }
	EOF
	echo "$SG_TMP/trafgen-$kind.cfg"
}

# Even pacing: a token-bucket qdisc (tbf) on the attacker's interface, with
# trafgen on the qdisc path (-q). A full bucket holds frames back, their
# socket's send buffer fills, and trafgen's sendto() waits: the generator runs
# exactly at the rate and wastes nothing. (An nft "limit rate ... drop" at a0's
# egress, DESIGN §8, also paces evenly, but each dropped frame costs a full
# send that trafgen then retries on ENOBUFS: measured here, 152k/s came out
# for a 200k/s limit and 184k/s for 300k/s, against 197k/s and 229k/s with tbf
# and ~270k/s unpaced; bench/README.md.) Frames are 54 bytes (Ethernet + IPv4
# + TCP, no options); tbf counts those bytes.
TRAFGEN_FRAME_BYTES=54
# The bucket holds 5 ms of frames: a generator that lost the CPU for a moment
# (it runs at nice 19) catches up instead of losing its share.
pace_set() { # PACKETS_PER_SECOND
	local burst=$(($1 * TRAFGEN_FRAME_BYTES / 200))
	((burst >= 4000)) || burst=4000
	in_attacker tc qdisc replace dev a0 root tbf rate $(($1 * TRAFGEN_FRAME_BYTES * 8))bit burst "$burst" limit 1000000
}
pace_clear() { in_attacker tc qdisc del dev a0 root 2>/dev/null || true; }

# flood_desc SPEC — words for a flood spec: idle, syn:hping, ack:hping,
# syn:tg:RATE, syn:tg:max, ack:tg:RATE...
flood_desc() {
	local kind gen rate
	IFS=: read -r kind gen rate <<<"$1"
	case $kind:$gen in
	idle:*) echo "no flood" ;;
	*:hping) echo "${kind^^} hping3 --flood" ;;
	*:tg) if [[ $rate == max ]]; then echo "${kind^^} trafgen max"; else echo "${kind^^} trafgen $((rate / 1000))k/s"; fi ;;
	*) echo "$1" ;;
	esac
}

# flood_go SPEC SECONDS [COUNT] — start the flood in the attacker namespace on
# FLOOD_CPU at nice 19 (the legitimate client and the backend share that CPU
# with it; they get their turn first), bounded by timeout. trafgen is bounded
# by a packet count too, COUNT if given (hping3 ignores -c in --flood mode).
# Sets FLOOD_PID.
flood_go() {
	local spec=$1 seconds=$2 count=${3:-} kind gen rate flag pin=() n cfg
	IFS=: read -r kind gen rate <<<"$spec"
	FLOOD_PID="" FLOOD_PLACEMENT=""
	[[ $kind == idle ]] && return 0
	[[ -n $FLOOD_CPU ]] && pin=(taskset -c "$FLOOD_CPU")
	case $gen in
	hping)
		if [[ $kind == syn ]]; then flag=-S; else flag=-A; fi
		sg_bg "$SG_TMP/flood.log" "$NS_ATTACKER" timeout -s INT "$seconds" nice -n 19 "${pin[@]}" \
			hping3 "$flag" --flood --rand-source -p "$SG_PORT" "$SG_VIP"
		;;
	tg)
		cfg=$(trafgen_cfg "$kind")
		[[ $rate == max ]] || pace_set "$rate"
		if [[ -n $count ]]; then
			n=$count
		elif [[ $rate == max ]]; then
			n=$((TRAFGEN_MAX_PPS * seconds))
		else
			n=$((rate * seconds * 12 / 10))
		fi
		# -P 1: one sender process; -t 0: sendto() per packet, which waits
		# for send-buffer space (the TX_RING path exits on EAGAIN after a few
		# hundred frames in flight, DESIGN §8; the send buffer can't be raised
		# inside a namespace); -q: through a0's qdisc (the pacing);
		# --no-sock-mem: don't touch the host's socket memory sysctls;
		# -Q: don't touch IRQ affinities.
		sg_bg "$SG_TMP/flood.log" "$NS_ATTACKER" timeout -s INT "$seconds" nice -n 19 "${pin[@]}" \
			trafgen -P 1 -t 0 -q --no-sock-mem -Q -o a0 -i "$cfg" -n "$n"
		;;
	*) sg_fail "unknown flood spec $spec" ;;
	esac
	FLOOD_PID=$SG_LAST_PID
}

# Where the generator's threads really run (trafgen forks its sender and
# pins it itself, DESIGN §8): "pid/tid:comm:cpu:allowed" for each thread.
flood_placement() {
	local pids pid
	pids=$(ip netns pids "$NS_ATTACKER" 2>/dev/null | tr '\n' ' ')
	for pid in $pids; do
		{ ps -L -o pid=,tid=,comm=,psr= -p "$pid" 2>/dev/null || true; } | while read -r p t c cpu; do
			[[ $c == trafgen || $c == hping3 ]] || continue
			printf '%s/%s:%s:%s:%s ' "$p" "$t" "$c" "$cpu" \
				"$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$p/task/$t/status" 2>/dev/null || true)"
		done
	done
}

flood_stop() {
	[[ -n $FLOOD_PID ]] || return 0
	stop_pid "$FLOOD_PID" INT 3
	FLOOD_PID=""
	pace_clear
}

# ---------------------------------------------------------------- one point

# run_point MODE SPEC REP — one measurement: MODE up, the flood, legitimate
# connections over it, counters before and after, MODE down; appends one
# JSON line to $RAW.
run_point() {
	local mode=$1 spec=$2 rep=$3 tag flood_s sgA sgB
	tag="p$((++POINT_SEQ))-$mode-${spec//:/-}-r$rep"
	quiet_wait
	mode_up "$mode"
	# A few connections first, so that first-use costs are not measured.
	legit_client -n 20 -c 5 --timeout 3 >/dev/null || true
	rm -f "$SG_TMP/sampler.stop"
	flood_s=$((WARMUP_S + (LEGIT_N + LEGIT_RATE - 1) / LEGIT_RATE + CONN_TIMEOUT + 5))
	sg_bg "$SG_TMP/sampler-$tag.json" "$NS_PROXY" "${PIN_OTHERS[@]}" \
		"$BENCH_PY" "$BENCH_DIR/sampler.py" --stop "$SG_TMP/sampler.stop" --max-seconds $((flood_s + 10))
	SAMPLER_PID=$SG_LAST_PID
	sleep 0.3
	snap A
	flood_go "$spec" "$flood_s"
	sleep "$WARMUP_S"
	[[ -n $FLOOD_PID ]] && FLOOD_PLACEMENT=$(flood_placement)
	[[ -n $FLOOD_PID ]] && ! pid_alive "$FLOOD_PID" && say "warning: the flood generator exited early: $(tail -n 3 "$SG_TMP/flood.log" | tr '\n' ' ')"
	legit_run "$tag" -n "$LEGIT_N" -c 20 --rate "$LEGIT_RATE" --timeout "$CONN_TIMEOUT"
	[[ -n $FLOOD_PID ]] && ! pid_alive "$FLOOD_PID" && say "warning: the flood ended before the legitimate clients did"
	flood_stop
	snap B
	touch "$SG_TMP/sampler.stop"
	wait_exit "$SAMPLER_PID" 5 || true
	mode_down "$mode"
	"$BENCH_PY" "$BENCH_DIR/record.py" "$RAW" type=point mode="$mode" flood="$spec" rep="$rep" tag="$tag" \
		window_ms=$((B_ms - A_ms)) offered=$((B_a0tx - A_a0tx)) p0_rx=$((B_p0rx - A_p0rx)) p0_tx=$((B_p0tx - A_p0tx)) \
		synack=$((B_synack - A_synack)) rst=$((B_rst - A_rst)) softnet_drops=$((B_softnet - A_softnet)) \
		cpu1_a="$A_cpu1" cpu1_b="$B_cpu1" cpu0_a="$A_cpu0" cpu0_b="$B_cpu0" \
		proc_ticks=$((B_proc - A_proc)) sg_a="$A_sg" sg_b="$B_sg" ipi_a="$A_ipi" ipi_b="$B_ipi" \
		foreign_busy_pct="$FOREIGN_PCT" placement="$FLOOD_PLACEMENT" defender="$DEFENDER_DESC" \
		legit@="$LEGIT_JSON" mem@="$SG_TMP/sampler-$tag.json"
	point_line "$mode" "$spec" "$rep"
}

# One progress line per point, from the record just written.
point_line() {
	"$BENCH_PY" - "$RAW" "$@" <<-'PY' >&2
		import json, sys
		r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
		w = r["window_ms"] / 1000
		l = r["legit"] or {}
		idle = lambda f: int(f.split()[3]) + int(f.split()[4])
		cpu1 = max(0, 100 - (idle(r["cpu1_b"]) - idle(r["cpu1_a"])) / w)
		print(f"[bench] {sys.argv[2]:>12} {sys.argv[3]:<14} rep {sys.argv[4]}: offered {r['offered']/w:9.0f}/s "
		      f"SYN-ACK {r['synack']/w:9.0f}/s RST {r['rst']/w:8.0f}/s  legit {l.get('success_pct')}% "
		      f"connect p99 {l.get('connect_ms', {}).get('p99')} ms  CPU{''} busy {cpu1:3.0f}%  "
		      f"[{(r['placement'] or '').strip() or '-'}]{'  BUSY MACHINE ' + str(r['foreign_busy_pct']) + '%' if (r['foreign_busy_pct'] or 0) > 10 else ''}")
	PY
}

# ---------------------------------------------------------------- relay cost

# For "direct": the client reaches the backend through the defended host's
# kernel, routed (no proxy): the same wires and the same CPUs as through a
# proxy, without its socket termination and copying.
relay_routes() {
	in_client ip route add "${SG_BACKEND_IP%.*}.0/24" via "$SG_VIP"
	in_backend ip route add "$SG_FRONT_NET" via "$SG_PROXY_BACK_IP"
	# The switch drops frames for addresses that are not on the front
	# network; let the client's frames for the backend network through.
	in_ns "$NS_NET" nft insert rule netdev sg_gateway from_client ip daddr "${SG_BACKEND_IP%.*}.0/24" accept
}

relay_up() { # TARGET -> RELAY_URL
	case $1 in
	direct)
		in_proxy sysctl -qw net.ipv4.ip_forward=1
		RELAY_URL=http://$SG_BACKEND_IP:$SG_PORT
		DEFENDER_DESC="none: the front kernel routes"
		;;
	kernel) mode_up cookies1 && RELAY_URL=http://$SG_VIP:$SG_PORT ;;
	*) mode_up "$1" && RELAY_URL=http://$SG_VIP:$SG_PORT ;;
	esac
}

relay_down() {
	case $1 in
	direct) in_proxy sysctl -qw net.ipv4.ip_forward=0 ;;
	kernel) mode_down cookies1 ;;
	*) mode_down "$1" ;;
	esac
}

# BENCH_PERF=1: a CPU profile of the defender's core while each relay runs
# (perf record -g, cpu-clock: no hardware counters in this VM), for SECONDS
# from the start; perf_stop writes TAG.txt beside it: where the time went,
# callers included, by symbol. Off by default (perf is not in scripts/deps
# and records its own overhead into the numbers).
PERF_PID="" PERF_TAG=""
perf_start() { # TAG SECONDS
	[[ ${BENCH_PERF:-0} == 1 ]] || return 0
	command -v perf >/dev/null || { say "BENCH_PERF=1 but no perf (apt-get install linux-perf)" && return 0; }
	PERF_TAG=$1
	sg_bg "$OUT/perf-$PERF_TAG.log" - perf record -q -g -C "$SG_CPU" -o "$OUT/perf-$PERF_TAG.data" -- sleep "$2"
	PERF_PID=$SG_LAST_PID
}

perf_stop() {
	[[ -n $PERF_PID ]] || return 0
	wait_exit "$PERF_PID" 30 || stop_pid "$PERF_PID" INT 5
	perf report -i "$OUT/perf-$PERF_TAG.data" --children --sort sym -g none --stdio 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 80 >"$OUT/perf-$PERF_TAG.txt" || true
	PERF_PID="" PERF_TAG=""
}

# run_relay TARGET REP — wrk with a new connection per request, then one bulk
# download; appends one JSON line to $RAW.
run_relay() {
	local target=$1 rep=$2 out rps errs non2xx lat50 lat99 code size speed ttot cpuA cpuB
	quiet_wait
	BENCH_IN_RELAY=1 relay_up "$target"
	legit_client -n 20 -c 5 --timeout 3 >/dev/null 2>&1 || true
	cpuA=$(cpu_fields "${SG_CPU:-0}")
	perf_start "relay-$target-r$rep-wrk" "$WRK_S"
	out=$(in_client "${PIN_OTHERS[@]}" timeout $((WRK_S + 20)) wrk -t 1 -c "$WRK_C" -d "${WRK_S}s" --latency \
		-H "Connection: close" "$RELAY_URL/" 2>&1) || say "wrk exited non-zero ($target): $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	perf_stop
	cpuB=$(cpu_fields "${SG_CPU:-0}")
	printf '%s\n' "$out" >"$SG_TMP/wrk-$target-$rep.txt"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
	non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
	lat50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	lat99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	perf_start "relay-$target-r$rep-bulk" 1
	out=$(CURL_MAX_TIME=120 client_curl -o /dev/null -w '%{http_code} %{size_download} %{speed_download} %{time_total}' \
		"$RELAY_URL/bulk.bin" 2>&1) || say "bulk download failed ($target): $out"
	perf_stop
	read -r code size speed ttot <<<"$out"
	relay_down "$target"
	"$BENCH_PY" "$BENCH_DIR/record.py" "$RAW" type=relay target="$target" rep="$rep" \
		rps="${rps:-}" wrk_errors="${errs:-0}" wrk_non2xx="${non2xx:-0}" lat_p50="${lat50:-}" lat_p99="${lat99:-}" \
		wrk_s="$WRK_S" wrk_c="$WRK_C" cpu1_a="$cpuA" cpu1_b="$cpuB" \
		bulk_code="${code:-}" bulk_bytes="${size:-0}" bulk_Bps="${speed:-0}" bulk_s="${ttot:-}" \
		foreign_busy_pct="$FOREIGN_PCT"
	say "$(printf '%-10s rep %s: %8s req/s (errors %s, non-2xx %s, p99 %s), bulk %s MB/s' "$target" "$rep" \
		"${rps:-?}" "${errs:-0}" "${non2xx:-0}" "${lat99:-?}" "$(awk -v s="${speed:-0}" 'BEGIN { printf "%.0f", s / 1e6 }')")"
}

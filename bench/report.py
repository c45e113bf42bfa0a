#!/usr/bin/env python3
"""report.py — bench/run's raw measurements into a table, JSON and a plot.

  report.py RESULT_DIR

Reads RESULT_DIR/raw.jsonl (one JSON object per line: a "meta" record, one
"point" record per mode x flood x repetition, one "relay" record per relay
target x repetition) and writes, in RESULT_DIR:

  results.json  the medians over repetitions, each repetition's derived
                numbers, the machine and the configuration;
  table.md      the same as markdown tables;
  plot.png      legitimate success and request p99 against the offered flood
                rate, one line per mode (needs matplotlib; skipped without).

Derived numbers (bench/README.md, "Method"):
  offered /s      frames the attacker's interface sent, per second of the window
  SYN-ACK /s, RST /s  what the defended host sent toward the switch
  CPU us/pkt      (defender CPU busy time in the window - the same mode's busy
                  rate without a flood x window) / packets offered; busy =
                  user + nice + system + irq + softirq of that CPU (/proc/stat)
  per SYN-ACK     the same, divided by SYN-ACKs sent instead
  process us/pkt  the defending processes' own user + system time, likewise
"""

import json
import os
import re
import statistics
import sys

HZ = os.sysconf("SC_CLK_TCK")
BUSY = (0, 1, 2, 5, 6)  # user nice system . . irq softirq in "user nice system idle iowait irq softirq steal"
MODE_TITLES = {
    "none": "no defense",
    "cookies1": "kernel cookies=1",
    "cookies2": "kernel cookies=2",
    "synproxy": "nft SYNPROXY",
    "synguard": "synguard (ring)",
    "synguard-xdp": "synguard (xdp)",
    "synguard-kernel": "synguard (kernel)",
    "synguard-auto": "synguard (default config)",
    "protect": "synguard protect + local nginx",
    "local-cookies2": "local nginx, kernel cookies=2",
}
RELAY_TITLES = {
    "direct": "direct to the backend (routed)",
    "synguard": "synguard, ring path (splice relay)",
    "synguard-xdp": "synguard, xdp path (splice relay)",
    "synguard-kernel": "synguard, kernel path (splice relay)",
    "synguard-auto": "synguard, default configuration (splice relay)",
    "synproxy": "nft SYNPROXY + nginx stream relay",
    "kernel": "kernel cookies=1 + nginx stream relay",
    "cookies1": "kernel cookies=1 + nginx stream relay",
    "cookies2": "kernel cookies=2 + nginx stream relay",
    "protect": "synguard protect, nginx on the defended host",
    "local-cookies2": "nginx on the defended host, kernel cookies=2",
}
# The counters of result directories written before bench/run recorded their
# names (meta "sg_counters").
SG_COUNTERS_OLD = "syn_received synack_sent ring_drops ack_bad_cookie adopted synack_send_failed"
BUSY_FLAG_PCT = 10


def flood_title(spec):
    parts = spec.split(":")
    kind = parts[0]
    if kind == "idle":
        return "no flood"
    gen = parts[1] if len(parts) > 1 else "?"
    if gen == "hping":
        return f"{kind.upper()} hping3 --flood"
    rate = parts[2] if len(parts) > 2 else "max"
    if rate == "max":
        return f"{kind.upper()} trafgen max"
    return f"{kind.upper()} trafgen {int(rate) // 1000}k/s"


def busy_ticks(fields):
    """user + nice + system + irq + softirq: tick-sampled on this kernel."""
    f = [int(x) for x in fields.split()]
    return sum(f[i] for i in BUSY)


def idle_ticks(fields):
    """idle + iowait: measured at every idle entry and exit (NO_HZ), precise."""
    f = [int(x) for x in fields.split()]
    return f[3] + f[4]


def busy_s(a, b, window_s):
    """Seconds the CPU was not idle in the window: window - idle. The busy
    fields are sampled by the tick, which does not run while the CPU idles
    between packets, so softirq work done on wakeups from idle is missed, and
    a process woken by a jiffies timer is over-charged (bench/README.md)."""
    return max(0.0, window_s - (idle_ticks(b) - idle_ticks(a)) / HZ)


def softirq_ticks(fields):
    return int(fields.split()[6])


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def slab_objsize(name, default):
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] == name:
                    return int(parts[3])
    except OSError:
        pass
    return default


def ipi(r, cpu, w):
    a, b = (r.get("ipi_a") or "").split(), (r.get("ipi_b") or "").split()
    return (int(b[cpu]) - int(a[cpu])) / w if len(a) > cpu and len(b) > cpu else None


def derive_point(r, base, counters):
    """Per-repetition numbers of one point record. base: (defender CPU
    seconds, process CPU seconds, CPU busy rate) of the same mode's legitimate
    load without a flood, or None; counters: the names of synguard's counters
    in the record."""
    w = r["window_ms"] / 1000.0
    kind = r["flood"].split(":")[0]
    busy = busy_s(r["cpu1_a"], r["cpu1_b"], w)
    fields_s = (busy_ticks(r["cpu1_b"]) - busy_ticks(r["cpu1_a"])) / HZ
    sirq_s = (softirq_ticks(r["cpu1_b"]) - softirq_ticks(r["cpu1_a"])) / HZ
    cpu0 = busy_s(r["cpu0_a"], r["cpu0_b"], w)
    proc_s = r["proc_ticks"] / HZ
    legit = r.get("legit") or {}
    mem = r.get("mem") or {}
    d = {
        "rep": r["rep"],
        "window_s": round(w, 3),
        "offered_pps": r["offered"] / w,
        "p0_rx_pps": r["p0_rx"] / w,
        "synack_pps": r["synack"] / w,
        "rst_pps": r["rst"] / w,
        "softnet_drops": r["softnet_drops"],
        "ipi_cpu0_per_s": ipi(r, 0, w),
        "ipi_cpu1_per_s": ipi(r, 1, w),
        "cpu1_busy_pct": 100 * busy / w,
        "cpu1_busy_fields_pct": 100 * fields_s / w,
        "cpu1_softirq_field_pct": 100 * sirq_s / w,
        "cpu0_busy_pct": 100 * cpu0 / w,
        "proc_busy_pct": 100 * proc_s / w,
        "legit_ok_pct": legit.get("success_pct"),
        "legit_count": legit.get("count"),
        "legit_errors": legit.get("errors"),
        "connect_p50_ms": (legit.get("connect_ms") or {}).get("p50"),
        "connect_p99_ms": (legit.get("connect_ms") or {}).get("p99"),
        "request_p50_ms": (legit.get("total_ms") or {}).get("p50"),
        "request_p99_ms": (legit.get("total_ms") or {}).get("p99"),
        "connect_ge_1s": legit.get("connect_ge_1s"),
        "rss_kb_first": mem.get("rss_kb_first"),
        "rss_kb_max": mem.get("rss_kb_max"),
        "syn_recv_max": mem.get("syn_recv_max"),
        "conntrack_max": mem.get("conntrack_max"),
        "foreign_busy_pct": r.get("foreign_busy_pct"),
        "placement": (r.get("placement") or "").strip(),
    }
    a, b = (r.get("sg_a") or "").split(), (r.get("sg_b") or "").split()
    if len(a) == len(b) == len(counters):
        d["synguard"] = {k: int(y) - int(x) for k, x, y in zip(counters, a, b)}
    d["cpu_us_per_pkt"] = d["cpu_us_per_synack"] = d["proc_us_per_pkt"] = None
    if kind != "idle" and base is not None and r["offered"] > 0:
        extra_s = busy - base[0]
        extra_proc_s = proc_s - base[1]
        d["cpu_us_per_pkt"] = 1e6 * extra_s / r["offered"]
        d["proc_us_per_pkt"] = 1e6 * extra_proc_s / r["offered"]
        if kind == "syn" and r["synack"] > 0.05 * r["offered"]:
            d["cpu_us_per_synack"] = 1e6 * extra_s / r["synack"]
    return d


def unit_ms(text):
    """wrk's latency ("812.00us", "1.23ms", "2.01s") in ms."""
    if text is None:
        return None
    m = re.match(r"([0-9.]+)(us|ms|s|m)$", str(text))
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def main():
    out = sys.argv[1]
    recs = [json.loads(line) for line in open(os.path.join(out, "raw.jsonl")) if line.strip()]
    meta = next((r for r in recs if r["type"] == "meta"), {})
    points = [r for r in recs if r["type"] == "point"]
    relays = [r for r in recs if r["type"] == "relay"]
    modes = meta.get("modes", "").split() or sorted({r["mode"] for r in points})
    floods = meta.get("floods", "").split() or sorted({r["flood"] for r in points})
    counters = meta.get("sg_counters", SG_COUNTERS_OLD).split()
    req_size = slab_objsize("request_sock_TCP", 320)
    ct_size = slab_objsize("nf_conntrack", 256)

    # Each mode's CPU cost of the legitimate load alone (the "idle" flood: the
    # same connections, no flood), in CPU seconds: subtracted from the flooded
    # windows. Seconds, not a rate: the flooded window is longer (warm-up,
    # slow connections) for the same legitimate work.
    base = {}
    for m in modes:
        idle = [r for r in points if r["mode"] == m and r["flood"].startswith("idle")]
        if idle:
            cpu = [busy_s(r["cpu1_a"], r["cpu1_b"], r["window_ms"] / 1000) for r in idle]
            proc = [r["proc_ticks"] / HZ for r in idle]
            rate = [c / (r["window_ms"] / 1000) for c, r in zip(cpu, idle)]
            base[m] = (statistics.median(cpu), statistics.median(proc), statistics.median(rate))

    rows = []
    for f in floods:
        for m in modes:
            runs = [derive_point(r, base.get(m), counters) for r in points if r["mode"] == m and r["flood"] == f]
            if not runs:
                continue
            keys = [k for k in runs[0] if k != "rep" and all(isinstance(x.get(k), (int, float, type(None))) for x in runs)]
            medians = {k: med([x.get(k) for x in runs]) for k in keys}
            if any("synguard" in x for x in runs):
                medians["synguard"] = {k: med([x["synguard"][k] for x in runs if "synguard" in x]) for k in counters}
            rows.append({"mode": m, "flood": f, "flood_title": flood_title(f), "mode_title": MODE_TITLES.get(m, m),
                         "reps": len(runs), "median": medians, "runs": runs})

    relay_rows = []
    targets = meta.get("relay_targets", "").split() or sorted({r["target"] for r in relays})
    for t in targets:
        runs = [r for r in relays if r["target"] == t]
        if not runs:
            continue
        derived = []
        for r in runs:
            w = float(r.get("wrk_s") or 0) or 1
            busy = busy_s(r["cpu1_a"], r["cpu1_b"], w)
            derived.append({
                "rep": r["rep"], "rps": r.get("rps"), "errors": r.get("wrk_errors"), "non2xx": r.get("wrk_non2xx"),
                "lat_p50_ms": unit_ms(r.get("lat_p50")), "lat_p99_ms": unit_ms(r.get("lat_p99")),
                "cpu1_busy_pct": 100 * busy / w,
                # The defender core's time per relayed connection: steadier
                # than requests/s when that core is the bottleneck.
                "cpu1_us_per_req": 1e6 * busy / (float(r["rps"]) * w) if r.get("rps") else None,
                "bulk_MBps": (r.get("bulk_Bps") or 0) / 1e6 if r.get("bulk_code") == 200 else None,
                "bulk_bytes": r.get("bulk_bytes"), "foreign_busy_pct": r.get("foreign_busy_pct"),
            })
        keys = ("rps", "errors", "non2xx", "lat_p50_ms", "lat_p99_ms", "cpu1_busy_pct", "cpu1_us_per_req", "bulk_MBps")
        relay_rows.append({"target": t, "title": RELAY_TITLES.get(t, t), "reps": len(runs),
                           "median": {k: med([d[k] for d in derived]) for k in keys}, "runs": derived})
    direct = next((r for r in relay_rows if r["target"] == "direct"), None)
    for r in relay_rows:
        for k, rk in (("rps", "rps_vs_direct"), ("bulk_MBps", "bulk_vs_direct")):
            a, b = r["median"].get(k), direct["median"].get(k) if direct else None
            r["median"][rk] = a / b if a is not None and b else None

    placements = sorted({p.split(":")[2] + " (allowed " + (p.split(":")[3] or "?") + ")"
                         for row in rows for run in row["runs"] for p in run["placement"].split()
                         if ":trafgen:" in p})
    busy_points = sum(1 for row in rows for run in row["runs"] if (run["foreign_busy_pct"] or 0) > BUSY_FLAG_PCT)
    busy_points += sum(1 for row in relay_rows for run in row["runs"] if (run["foreign_busy_pct"] or 0) > BUSY_FLAG_PCT)
    notes = {
        "baseline_cpu1_busy_pct": {m: round(100 * b[2], 2) for m, b in base.items()},
        "baseline_cpu1_s": {m: round(b[0], 3) for m, b in base.items()},
        "baseline_process_s": {m: round(b[1], 3) for m, b in base.items()},
        "trafgen_sender_cpus": placements,
        "points_on_busy_machine": busy_points,
        "slab_objsize": {"request_sock_TCP": req_size, "nf_conntrack": ct_size},
    }
    checks = target_checks(rows, relay_rows)
    result = {"meta": meta, "notes": notes, "points": rows, "relay": relay_rows, "targets": checks}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(markdown(meta, notes, rows, relay_rows, checks, req_size, ct_size))
    plot(out, meta, rows, modes)


def ratio(a, b):
    return a / b if a is not None and b else None


def check(target, measured, ok):
    """One line of the targets table: ok is None where the run lacks a number."""
    return {"target": target, "measured": measured, "met": None if ok is None else bool(ok)}


def target_checks(rows, relay_rows):
    """Issue 10's targets, checked against the medians of this run (where the
    run has the modes and floods they need)."""
    point = {(r["mode"], r["flood"]): r["median"] for r in rows}
    relay = {r["target"]: r["median"] for r in relay_rows}
    modes = {r["mode"] for r in rows}
    syn_floods = [f for f in dict.fromkeys(r["flood"] for r in rows) if f.split(":")[0] == "syn"]
    out = []

    def get(mode, flood, key):
        return (point.get((mode, flood)) or {}).get(key)

    # Protect mode against the same nginx, unprotected.
    p, lo = relay.get("protect") or {}, relay.get("local-cookies2") or {}
    if p and lo:
        q = ratio(p.get("rps"), lo.get("rps"))
        out.append(check("protect: new connections/s ≥ 0.95× the same nginx unprotected (no flood)",
                         f"{fmt(p.get('rps'))} / {fmt(lo.get('rps'))} = {fmt(q, 2)}×", None if q is None else q >= 0.95))
        q = ratio(p.get("bulk_MBps"), lo.get("bulk_MBps"))
        out.append(check("protect: bulk MB/s against the same nginx unprotected (no target; for reading)",
                         f"{fmt(p.get('bulk_MBps'))} / {fmt(lo.get('bulk_MBps'))} = {fmt(q, 2)}×", None))
    prot = [f for f in syn_floods if ("protect", f) in point]
    if prot:
        top = max(prot, key=lambda f: get("protect", f, "offered_pps") or 0)
        title = f"{flood_title(top)}, {fmt(get('protect', top, 'offered_pps'))} SYN/s offered"
        ok = get("protect", top, "legit_ok_pct")
        out.append(check(f"protect at the fastest flood ({title}): legitimate success ≥ 99.9 %",
                         f"{fmt(ok, 1)} %", None if ok is None else ok >= 99.9))
        c, c0 = get("protect", top, "connect_p99_ms"), get("protect", "idle", "connect_p99_ms")
        q = ratio(c, c0)
        out.append(check(f"protect at the fastest flood ({title}): connect p99 ≤ 2× its no-flood p99",
                         f"{fmt(c, 1)} / {fmt(c0, 1)} ms = {fmt(q, 2)}×", None if q is None else q <= 2))
        ref = "local-cookies2" if "local-cookies2" in modes else "cookies2"
        for f in prot:
            a, b = get("protect", f, "cpu_us_per_pkt"), get(ref, f, "cpu_us_per_pkt")
            q = ratio(a, b)
            out.append(check(f"protect under {flood_title(f)}: defender CPU per flood SYN ≤ 0.5× {MODE_TITLES[ref]}",
                             f"{fmt(a, 2)} / {fmt(b, 2)} µs = {fmt(q, 2)}×", None if q is None else q <= 0.5))
    # Relay mode on the kernel path against kernel cookies + nginx's stream proxy.
    k, n = relay.get("synguard-kernel") or {}, relay.get("kernel") or {}
    if k and n:
        for key, what, goal in (("rps", "requests/s", 1.2), ("bulk_MBps", "bulk MB/s", 1.3)):
            q = ratio(k.get(key), n.get(key))
            out.append(check(f"kernel-path relay: {what} ≥ {goal}× kernel cookies + nginx stream relay",
                             f"{fmt(k.get(key))} / {fmt(n.get(key))} = {fmt(q, 2)}×", None if q is None else q >= goal))
    # The default configuration (datapath = auto: the kernel path where the
    # kernel has the kfunc, else xdp) against kernel cookies=2 at every flood.
    default = next((m for m in ("synguard-auto", "synguard-kernel", "synguard-xdp") if m in modes), "synguard-xdp")
    for f in dict.fromkeys(r["flood"] for r in rows):
        if (default, f) not in point or ("cookies2", f) not in point:
            continue
        a, b = get(default, f, "legit_ok_pct"), get("cookies2", f, "legit_ok_pct")
        ca, cb = get(default, f, "connect_p99_ms"), get("cookies2", f, "connect_p99_ms")
        ok = None if None in (a, b, ca, cb) else a >= b and ca <= cb
        out.append(check(f"default ({MODE_TITLES[default]}) under {flood_title(f)}: no worse than kernel cookies=2",
                         f"legit {fmt(a, 1)} vs {fmt(b, 1)} %, connect p99 {fmt(ca, 1)} vs {fmt(cb, 1)} ms", ok))
    return out


def fmt(v, digits=0, none="-"):
    if v is None:
        return none
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def pair(a, b, digits=1):
    if a is None and b is None:
        return "-"
    return f"{fmt(a, digits)} / {fmt(b, digits)}"


def markdown(meta, notes, rows, relay_rows, checks, req_size, ct_size):
    L = []
    reps = max([r["reps"] for r in rows] + [0])
    L.append(f"### SYN floods and legitimate clients (medians of {reps} interleaved runs)")
    L.append("")
    L.append(f"Machine: {meta.get('cpu_model', '?')}, {meta.get('ncpu', '?')} CPUs ({meta.get('hypervisor') or 'bare metal'} guest), "
             f"{meta.get('mem_gib', '?')} GiB, Linux {meta.get('kernel', '?')}, {meta.get('os', '?')}; "
             f"synguard {meta.get('git_head', '?')} (binary {meta.get('synguard_mtime', '?')}). "
             f"Defender on CPU {meta.get('defender_cpu')} (process and receive processing), with the switch's work for what it "
             f"sends (CPU {meta.get('switch_cpu')}); attacker, client and backend on CPU {meta.get('attacker_cpu')}. "
             f"Legitimate load per point: {meta.get('legit_n')} HTTP GETs (new connection each) at "
             f"{meta.get('legit_rate')}/s, {meta.get('conn_timeout')} s timeout, starting {meta.get('warmup_s')} s into the flood.")
    L.append("")
    L.append("| flood | mode | offered /s | SYN-ACK /s | RST /s | legit ok | connect p50 / p99 ms | request p50 / p99 ms "
             "| CPU µs per pkt | µs per SYN-ACK | process µs per pkt | defender RSS MB before → max | kernel state (max) |")
    L.append("|" + "---|" * 13)
    for row in rows:
        m = row["median"]
        parts = []
        if m.get("syn_recv_max") is not None:
            parts.append(f"{fmt(m['syn_recv_max'])} SYN_RECV ({fmt(m['syn_recv_max'] * req_size / 1024)} KiB)")
        if row["mode"] == "synproxy" and m.get("conntrack_max") is not None:
            parts.append(f"{fmt(m['conntrack_max'])} conntrack ({fmt(m['conntrack_max'] * ct_size / 1024)} KiB)")
        state = ", ".join(parts) or "-"
        rss = "-"
        if m.get("rss_kb_max"):
            rss = f"{m['rss_kb_first'] / 1024:.1f} → {m['rss_kb_max'] / 1024:.1f}"
        busy = sum(1 for r in row["runs"] if (r["foreign_busy_pct"] or 0) > BUSY_FLAG_PCT)
        flag = f" ⚠{busy}" if busy else ""
        ok = f"{m['legit_ok_pct']:.1f} %" if m.get("legit_ok_pct") is not None else "-"
        # The front nginx's own time mostly moves with where softirq work
        # happens to run (in its syscalls or not): only synguard's is shown
        # (not in protect mode, where nginx shares the namespace).
        proc = "-"
        if row["mode"].startswith("synguard"):
            v = m.get("proc_us_per_pkt")
            proc = "≤ 0" if v is not None and v < 0 else fmt(v, 2)
        L.append(f"| {row['flood_title']} | {row['mode_title']}{flag} | {fmt(m['offered_pps'])} | {fmt(m['synack_pps'])} "
                 f"| {fmt(m['rst_pps'])} | {ok} | {pair(m.get('connect_p50_ms'), m.get('connect_p99_ms'))} "
                 f"| {pair(m.get('request_p50_ms'), m.get('request_p99_ms'))} | {fmt(m.get('cpu_us_per_pkt'), 2)} "
                 f"| {fmt(m.get('cpu_us_per_synack'), 2)} | {proc} | {rss} | {state} |")
    L.append("")
    L.append("- *offered*: frames the attacker's interface sent per second of the measured window (flood start to stop); "
             "*SYN-ACK /s*, *RST /s*: what the defended host sent, counted at the switch port facing it "
             "(kernel SYN-ACK retransmissions included).")
    L.append("- *legit ok*: connections that completed (connect, GET, whole response) within the timeout; latencies are "
             "over the connections that got that far (connect) or completed (request).")
    base = notes["baseline_cpu1_busy_pct"]
    base_s = notes["baseline_cpu1_s"]
    L.append("- *CPU µs per pkt*: time the defender's CPU was not idle in the window (window − idle − iowait of "
             "that CPU in /proc/stat, which NO_HZ measures at every idle entry and exit), minus what the same "
             "legitimate connections cost the same mode without a flood (" +
             ", ".join(f"{MODE_TITLES.get(k, k)} {v * 1000:.0f} ms" for k, v in base_s.items()) +
             "), per packet offered; *per SYN-ACK*: per SYN-ACK sent (when they are at least 5 % of the offered). "
             "A saturated defender shows less than its true cost per offered packet. *process*: synguard's own "
             "user+system time (/proc/PID/stat; kernel work done in its context, such as its sends, included), same "
             "subtraction (results.json has the front nginx's too); ≤ 0: less than without a flood, when the "
             "kernel work of the legitimate connections ran outside the process (a busy NAPI thread takes it "
             "over), which is the case on the xdp and kernel paths, where the flood itself never reaches the "
             "process.")
    L.append(f"- *kernel state*: request sockets in SYN_RECV and conntrack entries in the defended namespace, at most "
             f"(sampled every 0.25 s), × their slab object size ({req_size} / {ct_size} bytes).")
    losses = (("ring_drops", "frames the kernel dropped, ring full"), ("synack_send_failed", "SYN-ACKs not sent"),
              ("reqsk_failed", "valid cookie ACKs the kernel refused"))
    for row in rows:
        sgc = row["median"].get("synguard") or {}
        said = [f"{k} {fmt(sgc[k])} ({why})" for k, why in losses if sgc.get(k)]
        if said:
            L.append(f"- {row['mode_title']} under {row['flood_title']}: its counters (medians per window) say "
                     f"{', '.join(said)}, of {fmt(sgc.get('syn_received'))} SYNs received.")
    if meta.get("kernel_path_missing"):
        L.append(f"- synguard's kernel path (modes synguard-kernel, protect) was left out: "
                 f"{meta['kernel_path_missing']}.")
    if notes["trafgen_sender_cpus"]:
        L.append(f"- trafgen's sender thread ran on CPU {', '.join(notes['trafgen_sender_cpus'])} "
                 f"(ps -L -o psr, one second into each flood).")
    if notes["points_on_busy_machine"]:
        L.append(f"- ⚠N: N of the runs started while the machine was more than {BUSY_FLAG_PCT} % busy with something "
                 f"else ({notes['points_on_busy_machine']} runs in all); their numbers are suspect.")
    if relay_rows:
        L.append("")
        L.append(f"### Relay cost (medians of {max(r['reps'] for r in relay_rows)} runs)")
        L.append("")
        L.append(f"wrk -t 1 -c {meta.get('wrk_c')} -d {meta.get('wrk_s')}s -H \"Connection: close\" (a new connection per "
                 f"request) for the index page; then one {meta.get('bulk_mb')} MiB download with curl.")
        L.append("")
        L.append("| path | requests/s | vs direct | wrk errors | latency p50 / p99 ms | defender CPU busy "
                 "| defender CPU µs / request | bulk MB/s | vs direct |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for r in relay_rows:
            m = r["median"]
            busy = sum(1 for x in r["runs"] if (x["foreign_busy_pct"] or 0) > BUSY_FLAG_PCT)
            flag = f" ⚠{busy}" if busy else ""
            errs = fmt(m.get("errors"))
            if m.get("non2xx"):
                errs += f" (+{fmt(m['non2xx'])} non-2xx)"
            L.append(f"| {r['title']}{flag} | {fmt(m.get('rps'))} | {fmt(m.get('rps_vs_direct'), 2)} | {errs} "
                     f"| {pair(m.get('lat_p50_ms'), m.get('lat_p99_ms'), 2)} | {fmt(m.get('cpu1_busy_pct'))} % "
                     f"| {fmt(m.get('cpu1_us_per_req'))} | {fmt(m.get('bulk_MBps'))} | {fmt(m.get('bulk_vs_direct'), 2)} |")
        L.append("")
        L.append("MB = 10⁶ bytes. *direct*: the client reaches the backend through the defended host's kernel (routed, "
                 "no proxy); the same wires and CPUs as the other paths.")
    if checks:
        L.append("")
        L.append("### Targets (issue 10), from the medians above")
        L.append("")
        L.append("| target | measured | met |")
        L.append("|---|---|---|")
        for c in checks:
            met = {True: "yes", False: "**no**", None: "-"}[c["met"]]
            L.append(f"| {c['target']} | {c['measured']} | {met} |")
        L.append("")
        L.append("Memory under 10⁷ flood SYNs and 10⁷ forged ACKs: `bench/rss`.")
    return "\n".join(L) + "\n"


def plot(out, meta, rows, modes):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib not found: no plot.png (apt-get install python3-matplotlib)", file=sys.stderr)
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2))
    markers = {"none": "x", "cookies1": "s", "cookies2": "D", "synproxy": "^", "synguard": "o", "synguard-xdp": "P",
               "synguard-kernel": "*", "synguard-auto": "p", "protect": "h", "local-cookies2": "d"}
    # synguard's modes solid, the kernel's own defenses dashed: ten colours
    # alone do not tell nine lines apart at a glance.
    dashed = ("none", "cookies1", "cookies2", "synproxy", "local-cookies2")
    for m in modes:
        pts = [r for r in rows if r["mode"] == m and r["flood"].split(":")[0] in ("idle", "syn")]
        pts.sort(key=lambda r: r["median"]["offered_pps"] or 0)
        if not pts:
            continue
        x = [(r["median"]["offered_pps"] or 0) / 1000 for r in pts]
        ok = [r["median"]["legit_ok_pct"] for r in pts]
        p99 = [r["median"]["request_p99_ms"] for r in pts]
        label = MODE_TITLES.get(m, m)
        style = {"marker": markers.get(m, "o"), "linestyle": "--" if m in dashed else "-", "label": label}
        ax1.plot(x, ok, **style)
        # A p99 over the few connections that got through a failed defense
        # would look best of all: only points where at least half succeeded.
        keep = [b is not None and (o or 0) >= 50 for b, o in zip(p99, ok)]
        xs = [a for a, k in zip(x, keep) if k]
        ys = [b for b, k in zip(p99, keep) if k]
        ax2.plot(xs, ys, **style)
    ax1.set_xlabel("SYN flood offered (thousand SYN/s)")
    ax1.set_ylabel("legitimate connections completed (%)")
    ax1.set_ylim(-3, 103)
    ax1.grid(True, alpha=0.3)
    ax1.set_title("Legitimate success under a SYN flood")
    ax2.set_xlabel("SYN flood offered (thousand SYN/s)")
    ax2.set_ylabel("request p99 of completed connections (ms, log)\n(only where ≥ 50 % completed)")
    ax2.set_yscale("log")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.set_title("p99 latency (connect → full response)")
    ax1.legend(loc="lower left", fontsize=8)
    reps = max([r["reps"] for r in rows] + [0])
    fig.suptitle(f"synguard vs kernel defenses: medians of {reps} runs; defender on 1 CPU "
                 f"({meta.get('cpu_model', '?')}, Linux {meta.get('kernel', '?')})", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "plot.png"), dpi=110)


if __name__ == "__main__":
    main()

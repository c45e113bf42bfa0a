#!/usr/bin/env python3
"""sampler.py — memory of the defended host during one benchmark point.

Run it inside the defended ("proxy") network namespace (ip netns exec), pinned
to a CPU that is not the defender's. Every --interval seconds, until the file
--stop exists or --max-seconds pass, it samples:

  rss_kb     the sum of VmRSS of every process in this network namespace
             except itself: the defender (synguard, or the front nginx master
             and worker in the kernel modes);
  syn_recv   request sockets (SYN_RECV) in this namespace's /proc/net/tcp: the
             kernel's half-open connections, one per SYN it answered without a
             cookie;
  conntrack  nf_conntrack_count of this namespace (SYNPROXY's state; absent
             when conntrack is not loaded here).

At exit it prints one JSON object: the first and the largest value of each.
"""

import argparse
import json
import os
import time


def netns_of(pid):
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def defender_pids():
    me = os.getpid()
    ns = netns_of("self")
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me and netns_of(name) == ns:
            pids.append(int(name))
    return pids


def syn_recv():
    n = 0
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split(None, 4)
                if len(parts) > 3 and parts[3] == "03":
                    n += 1
    except OSError:
        return None
    return n


def conntrack():
    try:
        with open("/proc/sys/net/netfilter/nf_conntrack_count") as f:
            return int(f.read())
    except OSError:
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stop", required=True)
    p.add_argument("--interval", type=float, default=0.25)
    p.add_argument("--max-seconds", type=float, default=60)
    args = p.parse_args()
    pids = defender_pids()
    first, peak = {}, {}
    deadline = time.monotonic() + args.max_seconds
    samples = 0
    while True:
        values = {
            "rss_kb": sum(rss_kb(pid) for pid in pids),
            "syn_recv": syn_recv(),
            "conntrack": conntrack(),
        }
        samples += 1
        for k, v in values.items():
            if v is None:
                continue
            first.setdefault(k, v)
            peak[k] = max(peak.get(k, v), v)
        if os.path.exists(args.stop) or time.monotonic() > deadline:
            break
        time.sleep(args.interval)
    out = {"samples": samples, "pids": pids}
    for k in ("rss_kb", "syn_recv", "conntrack"):
        out[k + "_first"] = first.get(k)
        out[k + "_max"] = peak.get(k)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bpf_objects.py — what BPF state exists, for the exit-cleanup tests.

  bpf_objects.py list       every BPF program, map and link on the host, one a
                            line: KIND ID NAME PIDS (NAME: a link's is its
                            program's; PIDS: the processes holding a file
                            descriptor of it, comma-separated, or -), from
                            bpftool's JSON and /proc/*/fdinfo (Debian 12's
                            bpftool shows no holders)
  bpf_objects.py hooks DEV  programs attached to DEV (in this network namespace):
                            "xdp N tc N tcx_ingress N tcx_egress N"; tcx from
                            BPF_PROG_QUERY (Debian 12's bpftool does not show tcx)
"""
import ctypes
import json
import os
import platform
import socket
import subprocess
import sys

BPF_PROG_QUERY = 16
BPF_TCX_INGRESS, BPF_TCX_EGRESS = 46, 47
NR_BPF = {"x86_64": 321, "aarch64": 280}
FD_KINDS = {"anon_inode:bpf-prog": "prog", "anon_inode:bpf-map": "map", "anon_inode:bpf_link": "link"}


def show(*what):
    out = subprocess.run(["bpftool", "-j", *what], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def holders():
    """{(kind, id): {pid, ...}} from every process's BPF file descriptors."""
    held = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone, or a kernel thread
            continue
        for fd in fds:
            try:
                kind = FD_KINDS.get(os.readlink(f"/proc/{pid}/fd/{fd}"))
                if kind is None:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    info = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            if f"{kind}_id" in info:
                held.setdefault((kind, int(info[f"{kind}_id"])), set()).add(int(pid))
    return held


def list_objects():
    progs = show("prog", "show")
    prog_names = {p["id"]: p.get("name") or "-" for p in progs}
    held = holders()
    for kind, objs in (("prog", progs), ("map", show("map", "show")), ("link", show("link", "show"))):
        for o in objs:
            name = prog_names.get(o.get("prog_id"), "-") if kind == "link" else o.get("name") or "-"
            pids = ",".join(map(str, sorted(held.get((kind, o["id"]), ())))) or "-"
            print(kind, o["id"], name, pids)


class Query(ctypes.Structure):  # union bpf_attr's query member
    _fields_ = [("target_ifindex", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("prog_cnt", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("prog_attach_flags", ctypes.c_uint64), ("link_ids", ctypes.c_uint64),
                ("link_attach_flags", ctypes.c_uint64), ("revision", ctypes.c_uint64)]


def tcx_count(ifindex, attach_type):
    libc = ctypes.CDLL(None, use_errno=True)
    attr = Query(target_ifindex=ifindex, attach_type=attach_type)
    if libc.syscall(NR_BPF[platform.machine()], BPF_PROG_QUERY, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
        sys.exit(f"bpf_objects.py: BPF_PROG_QUERY on ifindex {ifindex}: {os.strerror(ctypes.get_errno())}")
    return attr.prog_cnt


def main():
    if sys.argv[1:] == ["list"]:
        list_objects()
    elif len(sys.argv) == 3 and sys.argv[1] == "hooks":
        dev = sys.argv[2]
        net = show("net", "show", "dev", dev)[0]
        ifindex = socket.if_nametoindex(dev)
        print("xdp", len(net["xdp"]), "tc", len(net["tc"]), "tcx_ingress", tcx_count(ifindex, BPF_TCX_INGRESS),
              "tcx_egress", tcx_count(ifindex, BPF_TCX_EGRESS))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""legit_client.py — legitimate HTTP clients for synguard's e2e tests and demo.

Makes N connections, each: connect, "GET PATH" with "Connection: close",
optionally shut the write side (half-close), read the full response until the
server closes, and check it (status, Content-Length, optionally sha256). It
records per connection the connect latency, the total latency, the local port
and the outcome, and prints one JSON summary on stdout:

  {"count": 1000, "ok": 998, "failed": 2, "success_pct": 99.8,
   "errors": {"timeout-connect": 2}, "connect_ms": {"p50": .., "p99": ..},
   "total_ms": {...}, "distinct_ports": 20, "max_port_uses": 50, ...}

One thread drives every connection with non-blocking sockets (selectors): no
GIL convoy inflating latencies when the machine is saturated by a flood.
Without --rate, at most --concurrency connections are open at once (closed
loop). With --rate, connections start on schedule (so many per second) however
many are still open: an open loop, so connections that hang until their
timeout don't push the later ones past the end of an attack. "late_starts"
counts connections that started over 100 ms behind schedule.
Each connection is bounded by --timeout seconds, so the whole run is bounded.
"""

import argparse
import errno
import hashlib
import ipaddress
import json
import selectors
import socket
import sys
import time
from collections import Counter

MAX_OPEN = 4000  # open-loop safety cap on simultaneous connections


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", required=True, type=ipaddress.ip_address, help="IPv4 or IPv6 address")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("-n", "--count", type=int, default=100)
    p.add_argument("-c", "--concurrency", type=int, default=1, help="open connections at most (without --rate)")
    p.add_argument("--rate", type=float, default=0, help="connection starts per second, open loop (0: closed loop)")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per connection, connect to last byte")
    p.add_argument("--path", default="/")
    p.add_argument("--half-close", action="store_true", help="shutdown(SHUT_WR) right after the request")
    p.add_argument("--expect-status", type=int, default=200)
    p.add_argument("--expect-sha256", help="the body's sha256 (hex)")
    p.add_argument("--records", help="write one CSV line per connection to this file")
    return p.parse_args()


class Failure(Exception):
    pass


class Conn:
    """One connection's state and its result."""

    def __init__(self, index, args, request, scheduled, now):
        self.index = index
        self.args = args
        self.request = request
        self.t0 = now
        self.deadline = now + args.timeout
        self.late = scheduled is not None and now - scheduled > 0.1
        self.stage = "connect"
        self.head = b""
        self.head_done = False
        self.body_len = 0
        self.digest = hashlib.sha256()
        self.result = {"ok": False, "connect_ms": None, "total_ms": None, "lport": None, "bytes": 0, "error": ""}
        family = socket.AF_INET6 if args.host.version == 6 else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        rc = self.sock.connect_ex((str(args.host), args.port))
        if rc not in (0, errno.EINPROGRESS):
            raise OSError(rc, errno.errorcode.get(rc, str(rc)))

    def on_writable(self, now):
        """Connected (or failed): send the request, go on reading."""
        rc = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if rc:
            raise OSError(rc, errno.errorcode.get(rc, str(rc)))
        self.result["connect_ms"] = (now - self.t0) * 1000
        self.result["lport"] = self.sock.getsockname()[1]
        self.stage = "send"
        sent = self.sock.send(self.request)  # a few hundred bytes: one send
        if sent != len(self.request):
            raise Failure("short-send")
        if self.args.half_close:
            self.sock.shutdown(socket.SHUT_WR)
        self.stage = "read"

    def on_readable(self, now):
        """Returns True at EOF (response complete and checked)."""
        while True:
            try:
                chunk = self.sock.recv(262144)
            except BlockingIOError:
                return False
            if not chunk:
                self.check()
                self.result["ok"] = True
                self.result["total_ms"] = (now - self.t0) * 1000
                return True
            if self.head_done:
                self.body_len += len(chunk)
                self.digest.update(chunk)
                continue
            self.head += chunk
            if b"\r\n\r\n" in self.head:
                self.head, rest = self.head.split(b"\r\n\r\n", 1)
                self.head_done = True
                self.body_len = len(rest)
                self.digest.update(rest)

    def check(self):
        self.result["bytes"] = self.body_len
        if not self.head_done:
            raise Failure("truncated-head" if self.head else "empty-reply")
        lines = self.head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise Failure("bad-status-line")
        if int(parts[1]) != self.args.expect_status:
            raise Failure(f"status-{parts[1]}")
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and int(value) != self.body_len:
                raise Failure("short-body")
        if self.args.expect_sha256 and self.digest.hexdigest() != self.args.expect_sha256.lower():
            raise Failure("sha256-mismatch")

    def fail(self, error):
        self.result["error"] = error
        self.result["bytes"] = self.body_len

    def error_name(self, e):
        if isinstance(e, Failure):
            return str(e)
        if isinstance(e, OSError) and e.errno in errno.errorcode:
            return f"{errno.errorcode[e.errno]}-{self.stage}"
        return f"{type(e).__name__}-{self.stage}"


def run(args):
    host = f"[{args.host}]" if args.host.version == 6 else str(args.host)  # RFC 3986's IP-literal
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: synguard-legit-client\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    sel = selectors.DefaultSelector()
    results = [None] * args.count
    lates = [False] * args.count
    open_conns = set()
    next_index = 0
    start = time.perf_counter()

    def finish(c, error=None):
        if error is not None:
            c.fail(error)
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        open_conns.discard(c)
        results[c.index] = c.result
        lates[c.index] = c.late

    while next_index < args.count or open_conns:
        now = time.perf_counter()
        # Start whatever is due.
        while next_index < args.count:
            if args.rate > 0:
                scheduled = start + next_index / args.rate
                if scheduled > now or len(open_conns) >= MAX_OPEN:
                    break
            else:
                scheduled = None
                if len(open_conns) >= max(1, args.concurrency):
                    break
            try:
                c = Conn(next_index, args, request, scheduled, now)
            except OSError as e:
                results[next_index] = {"ok": False, "connect_ms": None, "total_ms": None, "lport": None,
                                       "bytes": 0, "error": f"{errno.errorcode.get(e.errno, 'E?')}-socket"}
                next_index += 1
                continue
            open_conns.add(c)
            sel.register(c.sock, selectors.EVENT_WRITE, c)
            next_index += 1
        # Wait for events, no longer than the next start or the next deadline.
        wake = min((c.deadline for c in open_conns), default=now + 0.05)
        if next_index < args.count and args.rate > 0:
            wake = min(wake, start + next_index / args.rate)
        for key, _ in sel.select(max(0.0, min(wake - now, 0.05))):
            c = key.data
            now = time.perf_counter()
            try:
                if c.stage == "connect":
                    c.on_writable(now)
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                elif c.on_readable(now):
                    finish(c)
            except (Failure, OSError) as e:
                finish(c, c.error_name(e))
        now = time.perf_counter()
        for c in [c for c in open_conns if c.deadline <= now]:
            finish(c, f"timeout-{c.stage}")
    elapsed = time.perf_counter() - start
    for i, r in enumerate(results):
        r["late"] = lates[i]
    return results, elapsed


def percentiles(values):
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    v = sorted(values)

    def rank(q):  # nearest rank
        return round(v[min(len(v) - 1, max(0, int(q * len(v) + 0.999999) - 1))], 3)

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": round(v[-1], 3)}


def summarize(results, elapsed):
    ok = [r for r in results if r["ok"]]
    ports = Counter(r["lport"] for r in results if r["lport"] is not None)
    connected = [r["connect_ms"] for r in results if r["connect_ms"] is not None]
    return {
        "count": len(results),
        "ok": len(ok),
        "failed": len(results) - len(ok),
        "success_pct": round(100.0 * len(ok) / len(results), 2) if results else 0.0,
        "errors": dict(Counter(r["error"] for r in results if not r["ok"])),
        "connect_ms": percentiles(connected),
        "total_ms": percentiles([r["total_ms"] for r in ok]),
        # A SYN retransmission takes a second: these connects lost a SYN or SYN-ACK.
        "connect_ge_1s": sum(1 for c in connected if c >= 1000),
        "bytes": sum(r["bytes"] for r in results),
        "distinct_ports": len(ports),
        "max_port_uses": max(ports.values()) if ports else 0,
        "reused_ports": sum(1 for n in ports.values() if n > 1),
        "late_starts": sum(1 for r in results if r["late"]),
        "elapsed_s": round(elapsed, 3),
        "conn_per_s": round(len(results) / elapsed, 1) if elapsed > 0 else 0.0,
    }


def main():
    args = parse_args()
    results, elapsed = run(args)
    if args.records:
        with open(args.records, "w") as f:
            f.write("i,ok,error,lport,connect_ms,total_ms,bytes,late\n")
            for i, r in enumerate(results):
                f.write(f"{i},{int(r['ok'])},{r['error']},{r['lport']},{r['connect_ms']},{r['total_ms']},"
                        f"{r['bytes']},{int(r['late'])}\n")
    json.dump(summarize(results, elapsed), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

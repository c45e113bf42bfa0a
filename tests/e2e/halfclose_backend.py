#!/usr/bin/env python3
"""halfclose_backend.py — a backend that answers only after the client's FIN.

For each connection: read the request head, then keep reading until EOF —
which comes only if the proxy relayed the client's shutdown(SHUT_WR) — and
only then send "HTTP/1.0 200" with FILE and close. nginx can't be used here:
it treats a client's EOF during a response as an abort ("client prematurely
closed connection") and cuts the response short.

Logs one line per connection to stdout: "conn eof=1 extra=0 sent=N".
Bounded: at most --count connections, --timeout seconds for each EOF.
"""

import argparse
import socket


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--file", required=True)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args()
    body = open(args.file, "rb").read()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.bind, args.port))
    srv.listen(16)
    print("listening", flush=True)
    for _ in range(args.count):
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(args.timeout)
            data = b""
            eof = 0
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        eof = 1
                        break
                    data += chunk
            except socket.timeout:
                pass
            head, _, extra = data.partition(b"\r\n\r\n")
            sent = 0
            if eof and head.startswith(b"GET "):
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
                conn.sendall(body)
                sent = len(body)
            print(f"conn eof={eof} extra={len(extra)} sent={sent}", flush=True)


if __name__ == "__main__":
    main()

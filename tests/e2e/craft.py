#!/usr/bin/env python3
"""craft.py — hand-made TCP/IPv4 frames for the hostile-peer tests.

Sends Ethernet frames through an AF_PACKET socket, so every field the kernel
would otherwise fill or check (link-layer addresses, source address,
checksums, lengths) is the test's to choose, and reports what comes back.
Used only inside the test's own namespaces (tests/e2e/11-hostile-frames.sh).

  craft.py syn IFACE [frame options]         one SYN; prints "answered" or "silent"
  craft.py handshake IFACE [frame options]   SYN, the SYN-ACK's cookie, then the
                                             ACK with --data; prints the cookie
  craft.py capture IFACE --dst A --dport P --out FILE [--wait S]
                                             keep the first frame IFACE sends to
                                             A:P with TCP data (as hex)
  craft.py send IFACE --file FILE            send that frame again, as it was
Frame options: --src/--dst (IPv4), --sport/--dport, --dst-mac/--src-mac,
--bad-csum (the TCP checksum off by one), --ip-total-len N (IPv4 total length
field), --wait SECONDS (how long to listen for the answer). handshake also
takes --data TEXT and --ack-csum bad|good|bad-then-good.
"""
import argparse
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SYN, ACK, PSH = 0x02, 0x10, 0x08


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_segment(a, seq, ack, flags, payload=b"", syn_opts=False, bad_csum=False):
    # MSS 1460, SACK permitted, timestamps, window scale 7: what Linux offers.
    opts = b""
    if syn_opts:
        opts = (struct.pack("!BBH", 2, 4, 1460) + bytes([4, 2, 8, 10]) +
                struct.pack("!II", int(time.time()) & 0xFFFFFFFF, 0) + bytes([1, 3, 3, 7]))
    hdr = struct.pack("!HHIIBBHHH", a.sport, a.dport, seq, ack, (20 + len(opts)) // 4 << 4,
                      flags, 64240, 0, 0) + opts
    pseudo = socket.inet_aton(a.src) + socket.inet_aton(a.dst) + struct.pack(
        "!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    if bad_csum:
        c = (c + 1) & 0xFFFF
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def frame(a, sock, tcp):
    total = a.ip_total_len if a.ip_total_len is not None else 20 + len(tcp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(a.src), socket.inet_aton(a.dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    src_mac = mac_bytes(a.src_mac) if a.src_mac else sock.getsockname()[4]
    return mac_bytes(a.dst_mac) + src_mac + b"\x08\x00" + ip + tcp


def synack_for(a, data):
    """The SYN-ACK answering our SYN in a received frame, as (seq, ack), or None."""
    if len(data) < 54 or data[12:14] != b"\x08\x00" or data[23] != 6:
        return None
    ihl = (data[14] & 0x0F) * 4
    ip_src, ip_dst = socket.inet_ntoa(data[26:30]), socket.inet_ntoa(data[30:34])
    t = 14 + ihl
    sport, dport, seq, ack, _, flags = struct.unpack("!HHIIBB", data[t:t + 14])
    if (ip_src, ip_dst, sport, dport) != (a.dst, a.src, a.dport, a.sport) or flags & 0x3F != SYN | ACK:
        return None
    return seq, ack


def wait_synack(a, sock):
    end = time.monotonic() + a.wait
    while (left := end - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        got = synack_for(a, sock.recv(65535))
        if got:
            return got
    return None


def tcp_data_to(data, dst, dport):
    """True for an untagged IPv4 frame carrying TCP data to dst:dport."""
    if len(data) < 54 or data[12:14] != b"\x08\x00" or data[23] != 6:
        return False
    ihl = (data[14] & 0x0F) * 4
    total = struct.unpack("!H", data[16:18])[0]
    t = 14 + ihl
    doff = (data[t + 12] >> 4) * 4
    return (socket.inet_ntoa(data[30:34]) == dst and struct.unpack("!H", data[t + 2:t + 4])[0] == dport
            and total > ihl + doff)


def capture(a):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((a.iface, 0))
    print("capturing", flush=True)
    end = time.monotonic() + a.wait
    while (left := end - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        data, addr = sock.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING and tcp_data_to(data, a.dst, a.dport):
            with open(a.out, "w") as f:
                f.write(data.hex())
            return 0
    print("nothing captured", file=sys.stderr)
    return 1


def send(a):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((a.iface, 0))
    with open(a.file) as f:
        sock.send(bytes.fromhex(f.read().strip()))
    return 0


def main():
    if sys.argv[1:2] in (["capture"], ["send"]):
        p = argparse.ArgumentParser()
        p.add_argument("cmd")
        p.add_argument("iface")
        p.add_argument("--dst")
        p.add_argument("--dport", type=int, default=80)
        p.add_argument("--out")
        p.add_argument("--file")
        p.add_argument("--wait", type=float, default=10)
        a = p.parse_args()
        return capture(a) if a.cmd == "capture" else send(a)
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["syn", "handshake"])
    p.add_argument("iface")
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--sport", type=int, default=40000)
    p.add_argument("--dport", type=int, default=80)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-mac")
    p.add_argument("--bad-csum", action="store_true")
    p.add_argument("--ip-total-len", type=int)
    p.add_argument("--wait", type=float, default=0.5)
    p.add_argument("--data", default="")
    p.add_argument("--ack-csum", choices=["bad", "good", "bad-then-good"], default="good")
    a = p.parse_args()

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((a.iface, 0))
    isn = 0x10203040
    sock.send(frame(a, sock, tcp_segment(a, isn, 0, SYN, syn_opts=True, bad_csum=a.bad_csum)))
    got = wait_synack(a, sock)
    if a.cmd == "syn":
        print("answered" if got else "silent")
        return 0
    if not got or got[1] != isn + 1:
        print("no SYN-ACK", file=sys.stderr)
        return 1
    cookie = got[0]
    payload = a.data.encode()
    tries = {"bad": [True], "good": [False], "bad-then-good": [True, False]}[a.ack_csum]
    a.ip_total_len = None
    for bad in tries:
        sock.send(frame(a, sock, tcp_segment(a, isn + 1, cookie + 1, ACK | PSH, payload, bad_csum=bad)))
        time.sleep(a.wait)
    print(cookie)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# 16 — a client of a wildcard IPv6 listen ("[::]:80") that connects to the
# proxy's link-local address gets the index page: the adopted socket's
# addresses carry p0's index as their scope id, without which bind() refuses
# a link-local address (EINVAL, and the client was reset). On the kernel
# path the kernel builds that socket in synguard's wildcard listener.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PROXY_LL=fe80::1 CLIENT_LL=fe80::2

sg_setup curl
# Fixed link-local addresses on c0 and p0 (beside the automatic ones),
# without duplicate address detection.
for dev in "$NS_CLIENT c0 $CLIENT_LL" "$NS_PROXY p0 $PROXY_LL"; do
	read -r ns ifname addr <<<"$dev"
	in_ns "$ns" sysctl -qw "net.ipv6.conf.$ifname.addr_gen_mode=1" "net.ipv6.conf.$ifname.disable_ipv6=0"
	in_ns "$ns" ip addr add "$addr/64" dev "$ifname" nodad
done
SG_LISTEN="[::]:$SG_PORT"
sg_start

url="http://[$PROXY_LL%25c0]:$SG_PORT/"
out=$(client_curl -g -o "$SG_TMP/index.got" -w '%{http_code} %{size_download}' -A synguard-e2e-16 "$url") ||
	sg_fail "curl $url failed: $out"
read -r code size <<<"$out"
assert_eq "HTTP status" "$code" 200
assert_ok "body is the index page" cmp -s "$SG_TMP/index.got" "$SG_TMP/www/index.html"

taken=$(sg_stat "$SG_TAKEN")
failed=$(sg_stat_cached "$SG_TAKE_FAILED")
assert_synguard "$SG_TAKEN" "$taken" ">=" 1
assert_synguard "$SG_TAKE_FAILED" "$failed" "==" 0

sg_pass "HTTP $code from $url, $size bytes, $SG_TAKEN $taken, $SG_TAKE_FAILED $failed"

#!/bin/sh
# unit_fs.sh TMP CMD... — CMD in a mount namespace laid out as the unit's
# hardening lays it out for synguard (e2e 22): ProtectSystem=strict (every
# mount read-only but /dev, /proc, /sys), ProtectHome= (empty /home, /root,
# /run/user), PrivateTmp= (an empty /tmp and /var/tmp; TMP, the test's own
# directory, put back in place so its paths still hold) and PrivateDevices=
# (a /dev with null, zero, full, random, urandom only). Run as root; every
# mount is private to the namespace, so the host sees none of them.
set -eu
[ "${UNIT_FS_INNER:-}" = 1 ] || UNIT_FS_INNER=1 exec unshare -m --propagation private "$0" "$@"
tmp=$1
shift
# Where the originals wait while their places are covered: a tmpfs of
# this namespace, so that nothing is made on the host.
keep=/mnt
mount -t tmpfs tmpfs "$keep"
mkdir "$keep/tmp" "$keep/dev"
mount --bind "$tmp" "$keep/tmp"
mount --bind /dev "$keep/dev"
for d in /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
mkdir -p "$tmp"
mount --bind "$keep/tmp" "$tmp"
for d in /home /root /run/user; do [ ! -d "$d" ] || mount -t tmpfs -o mode=755 tmpfs "$d"; done
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom; do
	touch "/dev/$n"
	mount --bind "$keep/dev/$n" "/dev/$n"
done
# Read-only: every mount but the API file systems and the private /tmp (and
# what the tmpfs over $keep hides).
awk '{ print $5 }' /proc/self/mountinfo | sort -u | while read -r m; do
	case $m in
	/proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /tmp | /tmp/* | /var/tmp | "$keep"/*) continue ;;
	esac
	mount -o remount,bind,ro "$m" || {
		echo "unit_fs.sh: cannot make $m read-only" >&2
		exit 1
	}
done
exec "$@"

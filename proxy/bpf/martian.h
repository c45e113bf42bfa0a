/* martian — source addresses no other host can send from, as the kernel's
 * routing sees them (martian sources): one definition for the C code
 * (pkt_src_martian) and the BPF programs, so no libc here. Addresses in
 * network byte order. Our own addresses are martian too; only the caller
 * knows them.
 */
#ifndef SYNGUARD_MARTIAN_H
#define SYNGUARD_MARTIAN_H

/* 0.0.0.0/8, 127.0.0.0/8, multicast 224.0.0.0/4, 255.255.255.255. */
static inline int martian_src4(const unsigned char *a)
{
	return a[0] == 0 || a[0] == 127 || (a[0] & 0xf0) == 0xe0 ||
	       (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
}

/* :: and ::1, multicast ff00::/8, v4-mapped ::ffff:0:0/96. */
static inline int martian_src6(const unsigned char *a)
{
	unsigned zero10 = 0;

	for (int i = 0; i < 10; i++)
		zero10 |= a[i];
	if (a[0] == 0xff)
		return 1;
	if (zero10)
		return 0;
	if (a[10] == 0xff && a[11] == 0xff)
		return 1;
	return (a[10] | a[11] | a[12] | a[13] | a[14]) == 0 && (a[15] == 0 || a[15] == 1);
}

#endif

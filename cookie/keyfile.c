#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

enum {
	KEYFILE_HEX_LEN = 2 * COOKIE_MASTER_LEN,
	/* The key, its newline, and one byte more to notice anything after it. */
	KEYFILE_BUF_LEN = KEYFILE_HEX_LEN + 2,
};

__attribute__((format(printf, 4, 5))) static int keyfile_fail(char *err, size_t errlen, const char *path,
                                                              const char *fmt, ...)
{
	int n = snprintf(err, errlen, "%s: ", path);
	va_list ap;

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int keyfile_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Up to `len` bytes, fewer only at end of file; -1 on a read error. */
static ssize_t keyfile_read(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int keyfile_decode(const char *hex, const char *path, uint8_t master[COOKIE_MASTER_LEN], char *err,
                          size_t errlen)
{
	for (int i = 0; i < KEYFILE_HEX_LEN; i += 2) {
		int hi = keyfile_nibble(hex[i]), lo = keyfile_nibble(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return keyfile_fail(err, errlen, path, "not a hex digit at byte %d", i + (hi >= 0));
		master[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Checks what was opened (not the path, which could change after a stat())
 * and decodes it into `master`. */
static int keyfile_parse(int fd, const char *path, uint8_t master[COOKIE_MASTER_LEN], char *err,
                         size_t errlen)
{
	char buf[KEYFILE_BUF_LEN];
	struct stat st;
	ssize_t len;
	int ret;

	if (fstat(fd, &st) < 0)
		return keyfile_fail(err, errlen, path, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return keyfile_fail(err, errlen, path, "not a regular file");
	if (st.st_mode & 077)
		return keyfile_fail(err, errlen, path,
		                    "mode %04o lets group or others at the key; chmod 600 it",
		                    (unsigned)(st.st_mode & 07777));
	/* Anyone else who owns it could change it, or chmod it open. */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return keyfile_fail(err, errlen, path, "owned by uid %u, neither root nor this user (uid %u)",
		                    (unsigned)st.st_uid, (unsigned)geteuid());
	len = keyfile_read(fd, buf, sizeof(buf));
	if (len < 0)
		ret = keyfile_fail(err, errlen, path, "cannot read: %s", strerror(errno));
	else if (len < KEYFILE_HEX_LEN)
		ret = keyfile_fail(err, errlen, path, "too short: %zd bytes, want %d hex digits", len,
		                   KEYFILE_HEX_LEN);
	else if (len > KEYFILE_HEX_LEN && (len > KEYFILE_HEX_LEN + 1 || buf[KEYFILE_HEX_LEN] != '\n'))
		ret = keyfile_fail(err, errlen, path, "trailing data after %d hex digits", KEYFILE_HEX_LEN);
	else
		ret = keyfile_decode(buf, path, master, err, errlen);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

int keyfile_load(const char *path, uint8_t master[COOKIE_MASTER_LEN], char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO must not hang us before fstat() refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int ret;

	if (fd < 0) {
		ret = keyfile_fail(err, errlen, path, "cannot open: %s", strerror(errno));
	} else {
		ret = keyfile_parse(fd, path, master, err, errlen);
		close(fd);
	}
	if (ret < 0)
		OPENSSL_cleanse(master, COOKIE_MASTER_LEN);
	return ret;
}

static int keyfile_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int keyfile_generate(const char *path, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t master[COOKIE_MASTER_LEN];
	char buf[KEYFILE_HEX_LEN + 1];
	int fd, ret;

	if (cookie_master_random(master) < 0)
		return keyfile_fail(err, errlen, path, "the random generator failed");
	for (size_t i = 0; i < COOKIE_MASTER_LEN; i++) {
		buf[2 * i] = hex[master[i] >> 4];
		buf[2 * i + 1] = hex[master[i] & 15];
	}
	buf[KEYFILE_HEX_LEN] = '\n';
	OPENSSL_cleanse(master, sizeof(master));

	/* O_EXCL also refuses a symlink in the way. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = keyfile_fail(err, errlen, path, "cannot create: %s", strerror(errno));
	} else {
		/* fchmod: 0600 exactly, whatever the umask took away. */
		if (fchmod(fd, 0600) < 0 || keyfile_write(fd, buf, sizeof(buf)) < 0 || fsync(fd) < 0)
			ret = keyfile_fail(err, errlen, path, "cannot write: %s", strerror(errno));
		else
			ret = 0;
		if (close(fd) < 0 && ret == 0)
			ret = keyfile_fail(err, errlen, path, "cannot write: %s", strerror(errno));
		/* A half-written key must not be loaded later, nor block a retry. */
		if (ret < 0)
			unlink(path);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

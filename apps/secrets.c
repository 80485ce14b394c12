/* secrets: read or create the server's secret files (secrets.h).  An
 * existing file is used only when it is a regular file (not a symbolic
 * link) owned by this user with no access for group or others. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/rand.h>

#include "secrets.h"

static int create_secret(const char *path, size_t nbytes, char *out, size_t cap, char *err,
			 size_t errcap)
{
	unsigned char raw[64];
	static const char hex[] = "0123456789abcdef";
	if (nbytes > sizeof raw || 2 * nbytes + 1 > cap) {
		snprintf(err, errcap, "%s: secret too long", path);
		return ENOSPC;
	}
	if (RAND_bytes(raw, (int)nbytes) != 1) {
		snprintf(err, errcap, "%s: no randomness for a new secret", path);
		return EIO;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errcap, "%s: cannot create: %s", path, strerror(e));
		return e;
	}
	char line[2 * 64 + 2];
	memcpy(line, out, 2 * nbytes);
	line[2 * nbytes] = '\n';
	ssize_t w = write(fd, line, 2 * nbytes + 1);
	int e = w == (ssize_t)(2 * nbytes + 1) ? 0 : w < 0 ? errno : EIO;
	if (!e && fsync(fd) != 0)
		e = errno;
	close(fd);
	if (e) {
		snprintf(err, errcap, "%s: cannot write: %s", path, strerror(e));
		unlink(path);
	}
	return e;
}

int secret_file_load(const char *path, size_t nbytes, char *out, size_t cap, bool *created,
		     char *err, size_t errcap)
{
	*created = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT) {
			int e = errno;
			snprintf(err, errcap, "%s: cannot open: %s", path, strerror(e));
			return e;
		}
		int e = create_secret(path, nbytes, out, cap, err, errcap);
		*created = e == 0;
		return e;
	}
	/* a secret someone else could have written, or can read, is no
	 * secret: a regular file of ours, owner only */
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		snprintf(err, errcap, "%s: must be a regular file owned by this user and readable "
			 "by it alone (chmod 600)", path);
		return EPERM;
	}
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof buf);
	int e = n < 0 ? errno : 0;
	close(fd);
	if (e) {
		snprintf(err, errcap, "%s: cannot read: %s", path, strerror(e));
		return e;
	}
	size_t b = 0, l = (size_t)n;
	while (b < l && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\n' || buf[b] == '\r'))
		b++;
	while (l > b && (buf[l - 1] == ' ' || buf[l - 1] == '\t' || buf[l - 1] == '\n' ||
			 buf[l - 1] == '\r'))
		l--;
	if (l == b) {
		snprintf(err, errcap, "%s: empty", path);
		return EINVAL;
	}
	if (l - b >= cap || (size_t)n == sizeof buf) {
		snprintf(err, errcap, "%s: longer than %zu bytes", path, cap - 1);
		return ENOSPC;
	}
	memcpy(out, buf + b, l - b);
	out[l - b] = 0;
	return 0;
}

/* secrets: the server's secrets kept in files beside its store: the digest
 * nonce secret (so that nonces stay valid across a restart) and the admin
 * API token (so that sbctl can read it).  A missing file is created with
 * fresh random bytes, readable by its owner only (mode 0600). */
#ifndef SWITCHBOARD_APPS_SECRETS_H
#define SWITCHBOARD_APPS_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* Read the secret in path into out (cap bytes, NUL-terminated text of
 * hex digits, 2 * nbytes of them when created), creating the file with
 * nbytes random bytes (as hex) when it does not exist (*created = true).
 * Surrounding white space is dropped.  An existing file must be a regular
 * file (no symbolic link) owned by this user, mode 0600 or stricter: else
 * EPERM.  0; ENOSPC (longer than cap - 1), EINVAL (empty), EIO (no
 * randomness), EPERM, or the errno of open/read/write, with a sentence in
 * err. */
int secret_file_load(const char *path, size_t nbytes, char *out, size_t cap, bool *created,
		     char *err, size_t errcap);

#endif

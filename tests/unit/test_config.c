/* Unit tests for the server's settings (config.h): listen addresses, the
 * INI file through libinih, the command line overriding the file, the
 * defaults, and a readable error for every bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "switchboard/auth.h"
#include "switchboard/config.h"

static int load(struct sb_config *c, char *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, err);
	argv[argc++] = "switchboard";
	char *a;
	while ((a = va_arg(ap, char *)) != NULL)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = 0;
	return sb_config_load(c, argc, argv, err, SB_CFG_ERR_MAX);
}

static void write_file(char *path, const char *text)
{
	strcpy(path, "/tmp/sbcfgXXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_parse_listen(void **state)
{
	(void)state;
	struct sb_config_listen l;
	char a[SB_ADDR_STR_MAX];
	assert_int_equal(sb_config_parse_listen(&l, "udp:127.0.0.1:5070"), 0);
	assert_int_equal(l.proto, SB_TP_UDP);
	assert_string_equal(sb_addr_to_str(&l.addr, a, sizeof a), "127.0.0.1:5070");
	assert_int_equal(sb_config_parse_listen(&l, "tcp:[::1]:5061"), 0);
	assert_int_equal(l.proto, SB_TP_TCP);
	assert_string_equal(sb_addr_to_str(&l.addr, a, sizeof a), "[::1]:5061");
	assert_int_equal(sb_config_parse_listen(&l, "tls:127.0.0.1:5061"), EINVAL);
	assert_int_equal(sb_config_parse_listen(&l, "udp:127.0.0.1"), EINVAL);
	assert_int_equal(sb_config_parse_listen(&l, "udp:127.0.0.1:70000"), EINVAL);
	assert_int_equal(sb_config_parse_listen(&l, "udp:example.com:5060"), EINVAL);
	assert_int_equal(sb_config_parse_listen(&l, "udp:127.0.0.1:50x"), EINVAL);
}

static void test_command_line(void **state)
{
	(void)state;
	struct sb_config c;
	char err[SB_CFG_ERR_MAX];
	assert_int_equal(load(&c, err, "--listen", "udp:127.0.0.1:5070", "--listen",
			      "tcp:127.0.0.1:5071", "--domain", "127.0.0.1", "--log-level", "debug",
			      "--recurse-on-3xx", "--fork", "sequential", NULL),
			 0);
	assert_int_equal(c.nlisten, 2);
	assert_int_equal(c.listen[1].proto, SB_TP_TCP);
	assert_int_equal(sb_addr_port(&c.listen[1].addr), 5071);
	assert_int_equal(c.ndomains, 1);
	assert_string_equal(c.domains[0], "127.0.0.1");
	assert_int_equal(c.log_level, SB_LOG_DEBUG);
	assert_true(c.recurse_on_3xx);
	assert_int_equal(c.fork, SB_FORK_SEQUENTIAL);
	/* defaults */
	assert_int_equal(load(&c, err, NULL), 0);
	assert_int_equal(c.log_level, SB_LOG_INFO);
	assert_int_equal(c.fork, SB_FORK_PARALLEL);
	assert_false(c.recurse_on_3xx);
	sb_config_finish(&c);
	assert_int_equal(c.nlisten, 4);
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(sb_addr_port(&c.listen[k].addr), 5060);
	assert_true(c.ndomains >= 1); /* the host name at least */
}

static void test_bad_options(void **state)
{
	(void)state;
	struct sb_config c;
	char err[SB_CFG_ERR_MAX];
	assert_int_equal(load(&c, err, "--bogus", NULL), EINVAL);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	assert_int_equal(load(&c, err, "--listen", "udp:nowhere", NULL), EINVAL);
	assert_non_null(strstr(err, "bad listen address 'udp:nowhere'"));
	assert_int_equal(load(&c, err, "--log-level", "loud", NULL), EINVAL);
	assert_non_null(strstr(err, "bad --log-level 'loud'"));
	assert_int_equal(load(&c, err, "--fork", "random", NULL), EINVAL);
	assert_non_null(strstr(err, "bad --fork"));
	assert_int_equal(load(&c, err, "--listen", NULL), EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(load(&c, err, "extra", NULL), EINVAL);
	assert_non_null(strstr(err, "unexpected argument 'extra'"));
	assert_int_equal(load(&c, err, "-c", "/nonexistent/switchboard.ini", NULL), EINVAL);
	assert_non_null(strstr(err, "cannot open"));
}

static void test_file_and_override(void **state)
{
	(void)state;
	char path[64], err[SB_CFG_ERR_MAX];
	write_file(path, "; a comment\n"
			 "[server]\n"
			 "listen = udp:127.0.0.1:5080\n"
			 "listen = tcp:127.0.0.1:5080\n"
			 "domain = example.com\n"
			 "log_level = warn\n"
			 "recurse_on_3xx = yes\n"
			 "fork = sequential\n");
	struct sb_config c;
	assert_int_equal(load(&c, err, "-c", path, NULL), 0);
	assert_int_equal(c.nlisten, 2);
	assert_int_equal(sb_addr_port(&c.listen[0].addr), 5080);
	assert_string_equal(c.domains[0], "example.com");
	assert_int_equal(c.log_level, SB_LOG_WARN);
	assert_true(c.recurse_on_3xx);
	assert_int_equal(c.fork, SB_FORK_SEQUENTIAL);
	/* the command line wins: its listeners replace the file's */
	assert_int_equal(load(&c, err, "--listen", "udp:127.0.0.1:6000", "-c", path, "--log-level",
			      "error", "--fork", "parallel", NULL),
			 0);
	assert_int_equal(c.nlisten, 1);
	assert_int_equal(sb_addr_port(&c.listen[0].addr), 6000);
	assert_string_equal(c.domains[0], "example.com");
	assert_int_equal(c.log_level, SB_LOG_ERROR);
	assert_int_equal(c.fork, SB_FORK_PARALLEL);
	unlink(path);

	write_file(path, "[server]\nlisten = udp:127.0.0.1:5080\ncolour = blue\n");
	assert_int_equal(load(&c, err, "-c", path, NULL), EINVAL);
	assert_non_null(strstr(err, ":3: unknown key 'colour'"));
	unlink(path);
	write_file(path, "[client]\nlisten = udp:127.0.0.1:5080\n");
	assert_int_equal(load(&c, err, "-c", path, NULL), EINVAL);
	assert_non_null(strstr(err, ":2: unknown section [client]"));
	unlink(path);
	write_file(path, "[server]\nfork = maybe\n");
	assert_int_equal(load(&c, err, "--config", path, NULL), EINVAL);
	assert_non_null(strstr(err, "bad fork 'maybe'"));
	unlink(path);
}


/* Issue 4's settings: [auth], [store], [api], [users] and their options. */
static void test_auth_store_api_defaults(void **state)
{
	(void)state;
	struct sb_config c;
	char err[SB_CFG_ERR_MAX], a[SB_ADDR_STR_MAX];
	assert_int_equal(load(&c, err, "--domain", "example.com", NULL), 0);
	sb_config_finish(&c);
	assert_int_equal(c.auth_methods,
			 (1u << SB_METHOD_REGISTER) | (1u << SB_METHOD_INVITE));
	assert_string_equal(c.realm, "example.com");
	assert_string_equal(c.store_path, "switchboard.db");
	assert_string_equal(c.api_token_file, "switchboard.db.token");
	assert_true(c.api_enabled);
	assert_string_equal(sb_addr_to_str(&c.api_listen, a, sizeof a), "127.0.0.1:5081");
	assert_int_equal(c.nusers, 0);
}

static void test_auth_store_api_file(void **state)
{
	(void)state;
	char path[64], err[SB_CFG_ERR_MAX], a[SB_ADDR_STR_MAX];
	write_file(path, "[server]\ndomain = example.com\n"
			 "[auth]\nrealm = sip.example.com\nmethods = INVITE, MESSAGE\n"
			 "algorithms = SHA-256\n"
			 "nonce_lifetime_s = 60\nmax_failures = 3\nfailure_window_s = 30\n"
			 "lockout_s = 90\nlockout_action = silent\n"
			 "[store]\npath = /var/lib/sb/db\nsync = full\n"
			 "[api]\nlisten = [::1]:9000\ntoken = 0123456789abcdef0123\n"
			 "[users]\nalice = wonder land\nbob = b\n");
	struct sb_config c;
	assert_int_equal(load(&c, err, "-c", path, "--user", "carol:c:x", "--user", "bob:b2",
			      NULL), 0);
	sb_config_finish(&c);
	assert_string_equal(c.realm, "sip.example.com");
	assert_int_equal(c.auth_methods, (1u << SB_METHOD_INVITE) | (1u << SB_METHOD_MESSAGE));
	assert_int_equal(c.auth_algs, SB_DIGEST_ALG_BIT(SB_DIGEST_SHA256));
	assert_int_equal(c.nonce_lifetime_s, 60);
	assert_int_equal(c.max_failures, 3);
	assert_int_equal(c.failure_window_s, 30);
	assert_int_equal(c.lockout_s, 90);
	assert_true(c.lockout_silent);
	assert_string_equal(c.store_path, "/var/lib/sb/db");
	assert_true(c.store_sync_full);
	assert_string_equal(sb_addr_to_str(&c.api_listen, a, sizeof a), "[::1]:9000");
	assert_string_equal(c.api_token, "0123456789abcdef0123");
	assert_string_equal(c.api_token_file, "/var/lib/sb/db.token");
	/* the command line adds carol (the password is what follows the first
	 * ':') and replaces bob's password */
	assert_int_equal(c.nusers, 3);
	assert_string_equal(c.users[0].name, "alice");
	assert_string_equal(c.users[0].password, "wonder land");
	assert_string_equal(c.users[1].name, "bob");
	assert_string_equal(c.users[1].password, "b2");
	assert_string_equal(c.users[2].name, "carol");
	assert_string_equal(c.users[2].password, "c:x");
	unlink(path);

	assert_int_equal(load(&c, err, "--auth-methods", "none", "--api", "none", "--store",
			      "x.db", NULL), 0);
	sb_config_finish(&c);
	assert_int_equal(c.auth_methods, 0);
	assert_false(c.api_enabled);
	assert_string_equal(c.api_token_file, "x.db.token");
}

static void test_auth_store_api_errors(void **state)
{
	(void)state;
	struct sb_config c;
	char err[SB_CFG_ERR_MAX], path[64];
	assert_int_equal(load(&c, err, "--auth-methods", "INVITE,ACK", NULL), EINVAL);
	assert_string_equal(err, "bad --auth-methods 'INVITE,ACK' (SIP method names other than "
				 "ACK and CANCEL, comma-separated, or none)");
	assert_int_equal(load(&c, err, "--auth-methods", "FROB", NULL), EINVAL);
	assert_int_equal(load(&c, err, "--auth-algorithms", "SHA-512-256", NULL), EINVAL);
	assert_string_equal(err, "bad --auth-algorithms 'SHA-512-256' (SHA-256 and/or MD5)");
	assert_int_equal(load(&c, err, "--auth-algorithms", "md5", NULL), 0);
	assert_int_equal(c.auth_algs, SB_DIGEST_ALG_BIT(SB_DIGEST_MD5));
	assert_int_equal(load(&c, err, "--auth-methods", "", NULL), EINVAL);
	assert_int_equal(load(&c, err, "--api", "localhost:80", NULL), EINVAL);
	assert_string_equal(err, "bad api listen address 'localhost:80' (want ADDR:PORT, ADDR "
				 "numeric, IPv6 in [], or none)");
	assert_int_equal(load(&c, err, "--user", "alice", NULL), EINVAL);
	assert_string_equal(err, "bad --user 'alice' (want NAME:PASSWORD)");
	assert_int_equal(load(&c, err, "--user", "alice:", NULL), EINVAL);
	assert_string_equal(err, "user 'alice': the password must be 1 to 127 bytes");
	assert_int_equal(load(&c, err, "--user", "a@b:x", NULL), EINVAL);
	assert_string_equal(err, "bad user name 'a@b'");
	assert_int_equal(load(&c, err, "--store", "", NULL), EINVAL);
	assert_string_equal(err, "--store needs a file path");

	write_file(path, "[auth]\nlockout_action = maybe\n");
	assert_int_equal(load(&c, err, "-c", path, NULL), EINVAL);
	assert_non_null(strstr(err, ":2: bad lockout_action 'maybe' (403 or silent)"));
	unlink(path);
	write_file(path, "[store]\ncolour = blue\n");
	assert_int_equal(load(&c, err, "-c", path, NULL), EINVAL);
	assert_non_null(strstr(err, ":2: unknown key 'colour' in [store]"));
	unlink(path);
	write_file(path, "[auth]\nmax_failures = 0\n");
	assert_int_equal(load(&c, err, "-c", path, NULL), EINVAL);
	assert_non_null(strstr(err, ":2: bad max_failures '0' (1 to 100000)"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_file_and_override),
		cmocka_unit_test(test_auth_store_api_defaults),
		cmocka_unit_test(test_auth_store_api_file),
		cmocka_unit_test(test_auth_store_api_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_file_and_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sbctl: the operator's tool, a client of the switchboard admin API
 * (include/switchboard/api.h) over HTTP with libcurl: users and their
 * passwords, forwarding rules, registrations and counters.
 *
 * Output is aligned tables for people, or with --json the server's JSON
 * pretty-printed for scripts.  Errors are one line on stderr.
 * Exit status: 0 done, 1 the server refused or could not be reached,
 * 2 bad usage or unreadable local input (options, token, config). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>
#include <jansson.h>

#include "switchboard/api.h"
#include "switchboard/config.h"
#include "switchboard/store.h"

#define DEFAULT_SERVER "127.0.0.1:5081"
#define DEFAULT_CONFIG "etc/switchboard.ini"
#define CONNECT_TIMEOUT_S 3L
#define TOTAL_TIMEOUT_S 10L
#define MAX_ANSWER (64u << 20)     /* bytes of an answer we read */
#define MAX_TOKEN SB_API_MAX_TOKEN
#define MAX_PASSWORD SB_API_MAX_PASSWORD
#define MAX_ARGS 16u

enum { EXIT_SERVER = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"usage: sbctl [--server HOST:PORT] [--token T | --token-file F] [-c CONFIG] [--json]\n"
	"             COMMAND ...\n"
	"\n"
	"Commands:\n"
	"  user list                          every user, by name\n"
	"  user add NAME [--password P | --password-file F]\n"
	"                                     add a user (no password option: read one\n"
	"                                     line from standard input)\n"
	"  user show NAME                     one user and its forwarding rules\n"
	"  user delete NAME                   delete a user, its rules and registrations\n"
	"  user passwd NAME [--password P | --password-file F]\n"
	"                                     set a new password\n"
	"  forward NAME                       show NAME's forwarding rules\n"
	"  forward list NAME                  the same\n"
	"  forward NAME KIND TARGET [--after SECONDS]\n"
	"                                     forward NAME's calls to TARGET (a sip: URI);\n"
	"                                     KIND is always, busy, noanswer (needs\n"
	"                                     --after), unavailable; 'forward NAME dnd'\n"
	"                                     turns do-not-disturb on\n"
	"  forward NAME KIND --delete         remove that rule\n"
	"  reg list [NAME]                    registrations, all or NAME's\n"
	"  reg delete NAME                    remove every registration of NAME\n"
	"  stats                              the server's counters\n"
	"  help                               this text\n"
	"\n"
	"Options:\n"
	"  --server HOST:PORT   the API's address (default " DEFAULT_SERVER ")\n"
	"  --token T            the API token\n"
	"  --token-file F       read the token from F\n"
	"  -c CONFIG            read listen, token and token_file from the [api]\n"
	"                       section of CONFIG, and path from [store] (default\n"
	"                       " DEFAULT_CONFIG " when it exists)\n"
	"  --json               print the server's JSON instead of tables\n"
	"  -h, --help           this text\n"
	"\n"
	"The token comes from --token or --token-file, else the environment variable\n"
	"SWITCHBOARD_TOKEN, else the config file's token, else the file its token_file\n"
	"names, else, as the server does, the file beside the store: [store] path\n"
	"(default " SB_CFG_DEFAULT_STORE ") with \".token\" added.  A relative path in the\n"
	"config is taken from the current directory, as the server takes it from its\n"
	"own: run sbctl where the server runs, or give absolute paths.\n"
	"Lists (user list, reg list) are read page by page until the last.\n"
	"Exit status: 0 done, 1 the server refused or was not reachable, 2 bad usage.\n";

/* Everything one run holds: no globals. */
struct ctl {
	const char *server_opt, *token_opt, *token_file_opt, *config_opt;
	bool json;
	/* command options */
	const char *password, *password_file, *after;
	bool del;
	const char *args[MAX_ARGS];
	unsigned nargs;
	/* resolved */
	char server[320];
	char token[MAX_TOKEN + 1];
	/* from the config file */
	char cfg_listen[300];
	char cfg_token[MAX_TOKEN + 1];
	char cfg_token_file[4096];
	char cfg_store[4096];
	CURL *curl;
};

/* An answer of the API. */
struct answer {
	long status;
	char *body;
	size_t len;
	json_t *json;
};

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("sbctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* A command used wrongly: its usage line. */
static void usage_of(const char *line) __attribute__((noreturn));
static void usage_of(const char *line)
{
	fprintf(stderr, "usage: sbctl %s\n", line);
	exit(EXIT_USAGE);
}

/* ------------------------------------------------------------ local input */

/* The first line of path without its line end (for a password) or the
 * whole file trimmed of white space (for a token), at most cap - 1 bytes
 * (EFBIG past them; a line end or white space does not count). */
static int read_small_file(const char *path, char *out, size_t cap, bool first_line)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return errno;
	/* room for what is cut off: a line end, white space around a token */
	size_t room = cap + 64;
	char *buf = malloc(room);
	if (!buf) {
		fclose(f);
		return ENOMEM;
	}
	size_t n = fread(buf, 1, room - 1, f);
	int e = ferror(f) ? EIO : 0;
	bool more = !e && fgetc(f) != EOF;
	fclose(f);
	if (e) {
		free(buf);
		return e;
	}
	buf[n] = '\0';
	size_t b = 0;
	if (first_line) {
		char *nl = memchr(buf, '\n', n);
		if (nl) {
			n = (size_t)(nl - buf);
			more = false; /* what follows the first line is not read */
		}
		n = strnlen(buf, n);
		if (n && buf[n - 1] == '\r')
			n--;
	} else {
		while (b < n && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\n' || buf[b] == '\r'))
			b++;
		while (n > b && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\n' ||
				 buf[n - 1] == '\r'))
			n--;
	}
	if (more || n - b >= cap) {
		free(buf);
		return EFBIG;
	}
	memcpy(out, buf + b, n - b);
	out[n - b] = '\0';
	free(buf);
	return 0;
}

static int ini_h(void *arg, const char *section, const char *name, const char *value)
{
	struct ctl *c = arg;
	if (!strcmp(section, "store") && !strcmp(name, "path"))
		snprintf(c->cfg_store, sizeof c->cfg_store, "%s", value);
	if (strcmp(section, "api") != 0)
		return 1;
	if (!strcmp(name, "listen"))
		snprintf(c->cfg_listen, sizeof c->cfg_listen, "%s", value);
	else if (!strcmp(name, "token"))
		snprintf(c->cfg_token, sizeof c->cfg_token, "%s", value);
	else if (!strcmp(name, "token_file"))
		snprintf(c->cfg_token_file, sizeof c->cfg_token_file, "%s", value);
	return 1;
}

static void read_config(struct ctl *c)
{
	const char *path = c->config_opt;
	if (!path) {
		if (access(DEFAULT_CONFIG, R_OK) != 0)
			return;
		path = DEFAULT_CONFIG;
	}
	int r = ini_parse(path, ini_h, c);
	if (r < 0)
		die(EXIT_USAGE, "cannot read the config file %s: %s", path,
		    errno ? strerror(errno) : "cannot open it");
	if (r > 0)
		die(EXIT_USAGE, "%s line %d: not valid INI", path, r);
}

/* A server address as the URL's authority: a wildcard listen address is
 * reached on loopback; a missing port is the default one. */
static void set_server(struct ctl *c, const char *s, const char *from)
{
	if (!strncmp(s, "http://", 7))
		s += 7;
	size_t n = strlen(s);
	while (n && s[n - 1] == '/')
		n--;
	if (!n || n >= sizeof c->server - 16)
		die(EXIT_USAGE, "bad server address '%s' (%s): want HOST:PORT", s, from);
	char host[300]; /* n < 300 - 16 */
	const char *port = NULL;
	if (s[0] == '[') {
		const char *e = memchr(s, ']', n);
		if (!e)
			die(EXIT_USAGE, "bad server address '%s' (%s): want HOST:PORT", s, from);
		snprintf(host, sizeof host, "%.*s", (int)(e - s + 1), s);
		if ((size_t)(e - s + 1) < n) {
			if (e[1] != ':')
				die(EXIT_USAGE, "bad server address '%s' (%s): want HOST:PORT", s,
				    from);
			port = e + 2;
		}
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
			die(EXIT_USAGE, "bad server address '%s' (%s): write IPv6 addresses in []",
			    s, from);
		snprintf(host, sizeof host, "%.*s", (int)(colon ? colon - s : (long)n), s);
		if (colon)
			port = colon + 1;
	}
	char portbuf[8];
	snprintf(portbuf, sizeof portbuf, "%u", SB_API_DEFAULT_PORT);
	if (port) {
		size_t pl = n - (size_t)(port - s);
		char *end;
		unsigned long v = pl && pl < 6 ? strtoul(port, &end, 10) : 0;
		if (!v || v > 65535 || end != port + pl)
			die(EXIT_USAGE, "bad port in server address '%s' (%s)", s, from);
		snprintf(portbuf, sizeof portbuf, "%lu", v);
	}
	if (!strcmp(host, "0.0.0.0") || !host[0])
		snprintf(host, sizeof host, "127.0.0.1");
	else if (!strcmp(host, "[::]"))
		snprintf(host, sizeof host, "[::1]");
	snprintf(c->server, sizeof c->server, "%s:%s", host, portbuf);
}

static void load_token_file(struct ctl *c, const char *path, const char *what)
{
	int e = read_small_file(path, c->token, sizeof c->token, false);
	if (e == EFBIG)
		die(EXIT_USAGE, "the token in %s (%s) is longer than %u bytes", path, what, MAX_TOKEN);
	if (e)
		die(EXIT_USAGE, "cannot read the token file %s (%s): %s", path, what, strerror(e));
	if (!c->token[0])
		die(EXIT_USAGE, "the token file %s (%s) is empty", path, what);
}

static void resolve(struct ctl *c)
{
	read_config(c);
	if (c->server_opt)
		set_server(c, c->server_opt, "--server");
	else if (c->cfg_listen[0] && !strcmp(c->cfg_listen, "none"))
		die(EXIT_USAGE, "the admin API is turned off in the config (listen = none); "
			 "give --server");
	else if (c->cfg_listen[0])
		set_server(c, c->cfg_listen, "listen in the config");
	else
		set_server(c, DEFAULT_SERVER, "default");

	const char *env = getenv("SWITCHBOARD_TOKEN");
	if (c->token_opt) {
		if (strlen(c->token_opt) > MAX_TOKEN)
			die(EXIT_USAGE, "the token is longer than %u bytes", MAX_TOKEN);
		snprintf(c->token, sizeof c->token, "%s", c->token_opt);
	} else if (c->token_file_opt) {
		load_token_file(c, c->token_file_opt, "--token-file");
	} else if (env && *env) {
		snprintf(c->token, sizeof c->token, "%s", env);
	} else if (c->cfg_token[0]) {
		snprintf(c->token, sizeof c->token, "%s", c->cfg_token);
	} else if (c->cfg_token_file[0]) {
		/* relative: from the current directory, as the server does */
		load_token_file(c, c->cfg_token_file, "token_file in the config");
	} else {
		/* the server's default (sb_config_finish): beside the store */
		char def[sizeof c->cfg_store + 8];
		snprintf(def, sizeof def, "%s.token",
			 c->cfg_store[0] ? c->cfg_store : SB_CFG_DEFAULT_STORE);
		if (access(def, F_OK) != 0)
			die(EXIT_USAGE, "no API token: give --token or --token-file, set "
				 "SWITCHBOARD_TOKEN, or name a token_file in the [api] section of the "
				 "config (-c); the server's default, %s, does not exist here", def);
		load_token_file(c, def, "the server's default, beside its store");
	}
	if (!c->token[0])
		die(EXIT_USAGE, "the API token is empty");
}

/* The password of user add / passwd: the option, the file, or a line of
 * standard input (without echo when it is a terminal). */
static void get_password(struct ctl *c, char *out, size_t cap, const char *usage)
{
	if (c->password && c->password_file)
		usage_of(usage);
	if (c->password) {
		if (strlen(c->password) >= cap)
			die(EXIT_USAGE, "the password is longer than %u bytes", MAX_PASSWORD);
		snprintf(out, cap, "%s", c->password);
	} else if (c->password_file) {
		int e = read_small_file(c->password_file, out, cap, true);
		if (e == EFBIG)
			die(EXIT_USAGE, "the password in %s is longer than %u bytes",
			    c->password_file, MAX_PASSWORD);
		if (e)
			die(EXIT_USAGE, "cannot read the password file %s: %s", c->password_file,
			    strerror(e));
	} else {
		bool tty = isatty(STDIN_FILENO);
		struct termios old, quiet;
		if (tty) {
			fputs("Password: ", stderr);
			fflush(stderr);
			tcgetattr(STDIN_FILENO, &old);
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		}
		char line[MAX_PASSWORD + 4];
		bool got = fgets(line, sizeof line, stdin) != NULL;
		if (tty) {
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
			fputc('\n', stderr);
		}
		if (!got)
			die(EXIT_USAGE, "no password: give --password or --password-file, or type "
				 "one line on standard input");
		size_t n = strlen(line);
		bool whole = n && line[n - 1] == '\n';
		if (whole)
			line[--n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n >= cap || (!whole && !feof(stdin)))
			die(EXIT_USAGE, "the password is longer than %u bytes", MAX_PASSWORD);
		snprintf(out, cap, "%s", line);
	}
	if (!out[0])
		die(EXIT_USAGE, "the password must not be empty");
}

/* ------------------------------------------------------------ HTTP */

static size_t write_h(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	if (len > MAX_ANSWER - a->len)
		return 0; /* curl fails with CURLE_WRITE_ERROR */
	char *nb = realloc(a->body, a->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + a->len, p, len);
	a->body = nb;
	a->len += len;
	a->body[a->len] = '\0';
	return len;
}

/* method on path (already escaped), with body (may be NULL).  Returns
 * only with the answer the command expects: status want, and a JSON object
 * when want_json; any other answer ends the run (exit 1) with the
 * server's sentence, or "unexpected answer". */
static void request(struct ctl *c, const char *method, const char *path, json_t *body,
		    long want, bool want_json, struct answer *a)
{
	memset(a, 0, sizeof *a);
	size_t ul = strlen(c->server) + strlen(path) + 32;
	char *url = malloc(ul);
	if (!url)
		die(EXIT_SERVER, "out of memory");
	snprintf(url, ul, "http://%s/api/v1%s", c->server, path);
	char auth[MAX_TOKEN + 32];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
	struct curl_slist *hdrs = curl_slist_append(NULL, auth);
	char *data = NULL;
	if (body) {
		data = json_dumps(body, JSON_COMPACT);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		if (!data)
			die(EXIT_SERVER, "out of memory");
	}
	hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
	if (!hdrs)
		die(EXIT_SERVER, "out of memory");
	CURL *h = c->curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* a NAME of "." or ".." stays a segment, not a step up the path */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (data) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(data));
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_h);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* the API is local: never via a proxy */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sbctl");
	CURLcode rc = curl_easy_perform(h);
	long oserr = 0, reqsize = 0;
	curl_off_t pretransfer = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &reqsize);
	curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	curl_slist_free_all(hdrs);
	free(data);
	free(url);
	/* connected and sending (or sent): the server may have acted on it */
	bool sent = reqsize > 0 || pretransfer > 0 || a->status || a->len;
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    (rc == CURLE_OPERATION_TIMEDOUT && !sent)) {
		const char *why = oserr ? strerror((int)oserr) :
				  rc == CURLE_OPERATION_TIMEDOUT ? "no answer in time" :
				  errbuf[0] ? errbuf : curl_easy_strerror(rc);
		die(EXIT_SERVER, "cannot reach the switchboard API at %s: %s (is the server running?)",
		    c->server, why);
	}
	if (rc == CURLE_OPERATION_TIMEDOUT)
		die(EXIT_SERVER, "the request was sent to %s but no answer came in %ld s: it may or "
			 "may not have been applied", c->server, TOTAL_TIMEOUT_S);
	if (rc != CURLE_OK && sent && a->status == 0)
		die(EXIT_SERVER, "the request was sent to %s but the answer did not come (%s): it "
			 "may or may not have been applied", c->server,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (rc != CURLE_OK)
		die(EXIT_SERVER, "talking to the switchboard API at %s failed: %s", c->server,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (a->len)
		a->json = json_loadb(a->body, a->len, 0, NULL);
	if (a->status == 401)
		die(EXIT_SERVER, "the server refused the token (401)");
	if (a->status < 200 || a->status > 299) {
		json_t *e = json_object_get(a->json, "error");
		if (json_is_string(e))
			die(EXIT_SERVER, "%s", json_string_value(e));
		die(EXIT_SERVER, "the server answered %ld", a->status);
	}
	if (a->status != want)
		die(EXIT_SERVER, "unexpected answer from the server (status %ld, wanted %ld)",
		    a->status, want);
	if (want_json && !json_is_object(a->json))
		die(EXIT_SERVER, "unexpected answer from the server (status %ld without a JSON "
			 "object)", a->status);
}

static void answer_free(struct answer *a)
{
	json_decref(a->json);
	free(a->body);
}

/* name %-escaped for a path segment. */
static char *esc(struct ctl *c, const char *name)
{
	char *e = curl_easy_escape(c->curl, name, 0);
	if (!e)
		die(EXIT_SERVER, "out of memory");
	return e;
}

/* --json: the answer pretty-printed; true when it was. */
static bool print_json(const struct ctl *c, const struct answer *a)
{
	if (!c->json)
		return false;
	if (a->json) {
		char *s = json_dumps(a->json, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					     JSON_REAL_PRECISION(4));
		if (s) {
			puts(s);
			free(s);
		}
	}
	return true;
}

/* ------------------------------------------------------------ tables */

#define MAX_COLS 6u

struct table {
	unsigned ncols;
	char **cells;               /* rows * ncols, malloc'd strings */
	size_t rows, cap;
};

static void table_row(struct table *t, ...)
{
	if (t->rows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
		if (!t->cells)
			die(EXIT_SERVER, "out of memory");
	}
	va_list ap;
	va_start(ap, t);
	for (unsigned i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		t->cells[t->rows * t->ncols + i] = strdup(s ? s : "");
	}
	va_end(ap);
	t->rows++;
}

/* Columns two spaces apart, the last one not padded. */
static void table_print(struct table *t)
{
	size_t w[MAX_COLS] = { 0 };
	for (size_t r = 0; r < t->rows; r++)
		for (unsigned i = 0; i < t->ncols; i++) {
			size_t l = strlen(t->cells[r * t->ncols + i]);
			if (l > w[i])
				w[i] = l;
		}
	for (size_t r = 0; r < t->rows; r++) {
		for (unsigned i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			if (i + 1 < t->ncols)
				printf("%-*s  ", (int)w[i], s);
			else
				printf("%s", s);
		}
		putchar('\n');
	}
	for (size_t k = 0; k < t->rows * t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static const char *const kinds[] = { "always", "busy", "noanswer", "unavailable", "dnd" };

/* One rule in words: "sip:x", "sip:x after 20 s", "on" (dnd). */
static void rule_text(const char *kind, json_t *rule, char *out, size_t cap)
{
	const char *target = str(rule, "target");
	json_t *after = json_object_get(rule, "after");
	if (!strcmp(kind, "dnd"))
		snprintf(out, cap, "on");
	else if (json_is_integer(after))
		snprintf(out, cap, "%s after %lld s", target ? target : "?",
			 (long long)json_integer_value(after));
	else
		snprintf(out, cap, "%s", target ? target : "?");
}

/* The rules in one cell: "always sip:x; noanswer sip:y after 20 s", or "-". */
static void rules_cell(json_t *fwd, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		json_t *rule = json_object_get(fwd, kinds[k]);
		if (!rule)
			continue;
		char t[700];
		rule_text(kinds[k], rule, t, sizeof t);
		int w = snprintf(out + n, cap - n, "%s%s %s", n ? "; " : "", kinds[k], t);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	if (!n)
		snprintf(out, cap, "-");
}

/* ------------------------------------------------------------ commands */

/* Whether s can go into a query as it is: a cursor (api.h) holds only
 * unreserved bytes and %HH escapes. */
static bool cursor_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '%') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
				return false;
			s += 2;
		} else if (!isalnum(ch) && !strchr("-._~", ch)) {
			return false;
		}
	}
	return true;
}

/* GET the list at path page by page (api.h: "next" is the cursor of the
 * following page), into one answer: {key: every item, "next": null}. */
static void get_all(struct ctl *c, const char *path, const char *key, struct answer *a)
{
	request(c, "GET", path, NULL, 200, true, a);
	json_t *all = json_object_get(a->json, key);
	if (!json_is_array(all))
		die(EXIT_SERVER, "unexpected answer from the server (no \"%s\" list)", key);
	char *prev = NULL;
	const char *sep = strchr(path, '?') ? "&" : "?";
	for (;;) {
		json_t *next = json_object_get(a->json, "next");
		if (!next || json_is_null(next))
			break;
		const char *cur = json_string_value(next);
		if (!cur || !cursor_ok(cur) || (prev && !strcmp(prev, cur)))
			die(EXIT_SERVER, "unexpected answer from the server (a bad \"next\")");
		free(prev);
		prev = strdup(cur);
		size_t pl = strlen(path) + strlen(cur) + 16;
		char *p = malloc(pl);
		if (!prev || !p)
			die(EXIT_SERVER, "out of memory");
		snprintf(p, pl, "%s%safter=%s", path, sep, cur);
		struct answer pg;
		request(c, "GET", p, NULL, 200, true, &pg);
		free(p);
		json_t *items = json_object_get(pg.json, key);
		if (!json_is_array(items))
			die(EXIT_SERVER, "unexpected answer from the server (no \"%s\" list)", key);
		json_array_extend(all, items);
		json_t *nx = json_object_get(pg.json, "next");
		json_object_set_new(a->json, "next", nx ? json_incref(nx) : json_null());
		answer_free(&pg);
	}
	free(prev);
	json_object_set_new(a->json, "next", json_null());
}

static void user_list(struct ctl *c)
{
	struct answer a;
	get_all(c, "/users", "users", &a);
	if (!print_json(c, &a)) {
		json_t *users = json_object_get(a.json, "users");
		if (!json_array_size(users)) {
			puts("no users");
		} else {
			struct table t = { .ncols = 3 };
			table_row(&t, "NAME", "CREATED", "FORWARDING");
			size_t i;
			json_t *u;
			json_array_foreach(users, i, u) {
				char rules[2048];
				rules_cell(json_object_get(u, "forward"), rules, sizeof rules);
				table_row(&t, str(u, "name"), str(u, "created"), rules);
			}
			table_print(&t);
		}
	}
	answer_free(&a);
}

static void show_rules(json_t *fwd, const char *name)
{
	if (!json_object_size(fwd)) {
		printf("%s has no forwarding rules\n", name);
		return;
	}
	struct table t = { .ncols = 2 };
	table_row(&t, "KIND", "TARGET");
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		json_t *rule = json_object_get(fwd, kinds[k]);
		if (!rule)
			continue;
		char text[700];
		rule_text(kinds[k], rule, text, sizeof text);
		table_row(&t, kinds[k], text);
	}
	table_print(&t);
}

static void user_show(struct ctl *c, const char *name)
{
	char path[1024];
	char *e = esc(c, name);
	snprintf(path, sizeof path, "/users/%s", e);
	curl_free(e);
	struct answer a;
	request(c, "GET", path, NULL, 200, true, &a);
	if (!print_json(c, &a)) {
		json_t *fwd = json_object_get(a.json, "forward");
		struct table t = { .ncols = 2 };
		table_row(&t, "name", str(a.json, "name"));
		table_row(&t, "created", str(a.json, "created"));
		if (!json_object_size(fwd))
			table_row(&t, "forwarding", "none");
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
			json_t *rule = json_object_get(fwd, kinds[k]);
			if (!rule)
				continue;
			char text[700];
			rule_text(kinds[k], rule, text, sizeof text);
			table_row(&t, kinds[k], text);
		}
		table_print(&t);
	}
	answer_free(&a);
}

static void user_add(struct ctl *c, const char *name)
{
	char pw[MAX_PASSWORD + 1];
	get_password(c, pw, sizeof pw, "user add NAME [--password P | --password-file F]");
	json_t *body = json_pack("{s:s, s:s}", "name", name, "password", pw);
	if (!body)
		die(EXIT_USAGE, "the name and password must be UTF-8 text");
	struct answer a;
	request(c, "POST", "/users", body, 201, true, &a);
	json_decref(body);
	if (!print_json(c, &a))
		printf("user %s added\n", name);
	answer_free(&a);
}

static void user_passwd(struct ctl *c, const char *name)
{
	char pw[MAX_PASSWORD + 1];
	get_password(c, pw, sizeof pw, "user passwd NAME [--password P | --password-file F]");
	json_t *body = json_pack("{s:s}", "password", pw);
	if (!body)
		die(EXIT_USAGE, "the password must be UTF-8 text");
	char path[1024];
	char *e = esc(c, name);
	snprintf(path, sizeof path, "/users/%s/password", e);
	curl_free(e);
	struct answer a;
	request(c, "PUT", path, body, 204, false, &a);
	json_decref(body);
	if (!print_json(c, &a))
		printf("password of %s changed\n", name);
	answer_free(&a);
}

static void user_delete(struct ctl *c, const char *name)
{
	char path[1024];
	char *e = esc(c, name);
	snprintf(path, sizeof path, "/users/%s", e);
	curl_free(e);
	struct answer a;
	request(c, "DELETE", path, NULL, 204, false, &a);
	if (!print_json(c, &a))
		printf("user %s deleted\n", name);
	answer_free(&a);
}

static void forward_show(struct ctl *c, const char *name)
{
	char path[1024];
	char *e = esc(c, name);
	snprintf(path, sizeof path, "/users/%s/forward", e);
	curl_free(e);
	struct answer a;
	request(c, "GET", path, NULL, 200, true, &a);
	if (!print_json(c, &a))
		show_rules(json_object_get(a.json, "forward"), name);
	answer_free(&a);
}

static const char forward_usage[] =
	"forward NAME KIND TARGET [--after SECONDS] | forward NAME KIND --delete | "
	"forward NAME";

static void forward_set(struct ctl *c, const char *name, const char *kind, const char *target)
{
	char path[1024];
	char *e = esc(c, name), *k = esc(c, kind);
	snprintf(path, sizeof path, "/users/%s/forward/%s", e, k);
	curl_free(e);
	curl_free(k);
	struct answer a;
	if (c->del) {
		request(c, "DELETE", path, NULL, 204, false, &a);
		if (!print_json(c, &a))
			printf("%s: %s rule deleted\n", name, kind);
		answer_free(&a);
		return;
	}
	bool dnd = !strcasecmp(kind, "dnd");
	json_t *body = json_object();
	if (!body)
		die(EXIT_SERVER, "out of memory");
	if (target && json_object_set_new(body, "target", json_string(target)) != 0)
		die(EXIT_USAGE, "the target must be UTF-8 text");
	if (c->after) /* checked by check_forward */
		json_object_set_new(body, "after",
				    json_integer((json_int_t)strtoul(c->after, NULL, 10)));
	request(c, "PUT", path, body, 204, false, &a);
	json_decref(body);
	if (!print_json(c, &a)) {
		if (dnd)
			printf("%s: dnd on\n", name);
		else if (c->after)
			printf("%s: %s -> %s after %s s\n", name, kind, target, c->after);
		else
			printf("%s: %s -> %s\n", name, kind, target);
	}
	answer_free(&a);
}

static void reg_list(struct ctl *c, const char *name)
{
	char path[1024] = "/registrations";
	if (name) {
		char *e = esc(c, name);
		snprintf(path, sizeof path, "/registrations?user=%s", e);
		curl_free(e);
	}
	struct answer a;
	get_all(c, path, "registrations", &a);
	if (!print_json(c, &a)) {
		json_t *regs = json_object_get(a.json, "registrations");
		if (!json_array_size(regs)) {
			if (name)
				printf("no registrations for %s\n", name);
			else
				puts("no registrations");
		} else {
			struct table t = { .ncols = 5 };
			table_row(&t, "AOR", "CONTACT", "EXPIRES", "Q", "SOURCE");
			size_t i;
			json_t *r;
			json_array_foreach(regs, i, r) {
				char exp[32], q[16];
				snprintf(exp, sizeof exp, "%llds", num(r, "expires_in"));
				json_t *qv = json_object_get(r, "q");
				snprintf(q, sizeof q, "%.3g",
					 json_is_number(qv) ? json_number_value(qv) : 1.0);
				table_row(&t, str(r, "aor"), str(r, "contact"), exp, q,
					  str(r, "source"));
			}
			table_print(&t);
		}
	}
	answer_free(&a);
}

static void reg_delete(struct ctl *c, const char *name)
{
	char path[1024];
	char *e = esc(c, name);
	snprintf(path, sizeof path, "/registrations/%s", e);
	curl_free(e);
	struct answer a;
	request(c, "DELETE", path, NULL, 200, true, &a);
	if (!json_is_integer(json_object_get(a.json, "removed")))
		die(EXIT_SERVER, "unexpected answer from the server (no \"removed\")");
	if (!print_json(c, &a)) {
		long long n = num(a.json, "removed");
		printf("removed %lld registration%s of %s\n", n, n == 1 ? "" : "s", name);
	}
	answer_free(&a);
}

/* "12d 3h", "3h 4m", "4m 5s", "5s". */
static void duration(long long s, char *out, size_t cap)
{
	if (s >= 86400)
		snprintf(out, cap, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, cap, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, cap, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(out, cap, "%llds", s);
}

/* "k1 v1, k2 v2, ..." of an object's integer members, names as given. */
static void pairs(json_t *o, const char *const *keys, const char *const *labels, char *out,
		  size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; keys[i]; i++) {
		int w = snprintf(out + n, cap - n, "%s%s %lld", i ? ", " : "", labels[i],
				 num(o, keys[i]));
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
}

static void stats(struct ctl *c)
{
	struct answer a;
	request(c, "GET", "/stats", NULL, 200, true, &a);
	if (print_json(c, &a)) {
		answer_free(&a);
		return;
	}
	json_t *o = a.json;
	struct table t = { .ncols = 2 };
	char v[512];
	duration(num(o, "uptime_s"), v, sizeof v);
	table_row(&t, "uptime", v);
	snprintf(v, sizeof v, "%lld", num(o, "users"));
	table_row(&t, "users", v);
	json_t *reg = json_object_get(o, "registrations");
	snprintf(v, sizeof v, "%lld bindings of %lld AORs", num(reg, "bindings"), num(reg, "aors"));
	table_row(&t, "registrations", v);
	json_t *sip = json_object_get(o, "sip");
	if (json_is_object(sip)) {
		snprintf(v, sizeof v, "%lld", num(sip, "requests"));
		table_row(&t, "sip requests", v);
		snprintf(v, sizeof v, "%lld", num(sip, "responses_in"));
		table_row(&t, "sip responses in", v);
		static const char *const cls[] = { "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", NULL };
		pairs(json_object_get(sip, "responses_out"), cls, cls, v, sizeof v);
		table_row(&t, "sip responses out", v);
		snprintf(v, sizeof v, "%lld (answered %lld, forwarded %lld)", num(sip, "calls"),
			 num(sip, "calls_answered"), num(sip, "calls_forwarded"));
		table_row(&t, "calls", v);
		snprintf(v, sizeof v, "%lld", num(sip, "challenged"));
		table_row(&t, "challenged (407)", v);
		snprintf(v, sizeof v, "%lld transactions, %lld request contexts",
			 num(sip, "transactions"), num(sip, "contexts"));
		table_row(&t, "in progress", v);
	}
	json_t *auth = json_object_get(o, "auth");
	if (json_is_object(auth)) {
		static const char *const k[] = { "ok", "challenged", "failed", "stale", "replayed",
						  "forbidden", "locked_out", NULL };
		static const char *const l[] = { "ok", "challenged", "failed", "stale", "replayed",
						  "forbidden", "locked out", NULL };
		pairs(auth, k, l, v, sizeof v);
		table_row(&t, "auth", v);
		snprintf(v, sizeof v, "%lld", num(auth, "sources_locked"));
		table_row(&t, "sources locked", v);
	}
	json_t *st = json_object_get(o, "store");
	if (json_is_object(st)) {
		static const char *const k[] = { "batches", "committed", "failed", "outstanding",
						  NULL };
		pairs(st, k, k, v, sizeof v);
		table_row(&t, "store", v);
	}
	table_print(&t);
	answer_free(&a);
}

/* ------------------------------------------------------------ arguments */

/* The value of --opt V or --opt=V at argv[*i]; NULL if this is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
	const char *a = argv[*i];
	size_t n = strlen(opt);
	if (strncmp(a, opt, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc)
		die(EXIT_USAGE, "%s needs a value (see sbctl --help)", opt);
	return argv[++*i];
}

static void parse_args(struct ctl *c, int argc, char **argv)
{
	bool only_args = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (only_args || a[0] != '-' || !a[1]) {
			if (c->nargs >= MAX_ARGS)
				die(EXIT_USAGE, "too many arguments (see sbctl --help)");
			c->args[c->nargs++] = a;
		} else if (!strcmp(a, "--")) {
			only_args = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			exit(0);
		} else if (!strcmp(a, "--json")) {
			c->json = true;
		} else if (!strcmp(a, "--delete")) {
			c->del = true;
		} else if ((v = opt_value(argc, argv, &i, "--server"))) {
			c->server_opt = v;
		} else if ((v = opt_value(argc, argv, &i, "--token-file"))) {
			c->token_file_opt = v;
		} else if ((v = opt_value(argc, argv, &i, "--token"))) {
			c->token_opt = v;
		} else if ((v = opt_value(argc, argv, &i, "--config")) ||
			   (v = opt_value(argc, argv, &i, "-c"))) {
			c->config_opt = v;
		} else if ((v = opt_value(argc, argv, &i, "--password-file"))) {
			c->password_file = v;
		} else if ((v = opt_value(argc, argv, &i, "--password"))) {
			c->password = v;
		} else if ((v = opt_value(argc, argv, &i, "--after"))) {
			c->after = v;
		} else {
			die(EXIT_USAGE, "unknown option '%s' (see sbctl --help)", a);
		}
	}
	if (c->token_opt && c->token_file_opt)
		die(EXIT_USAGE, "give --token or --token-file, not both");
}

/* forward NAME KIND [TARGET] [--after S | --delete]: the kind and what it
 * needs, checked here so that a mistake is a usage error (2). */
static void check_forward(const struct ctl *c, const char *kind, bool target)
{
	bool known = false;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		known |= !strcasecmp(kind, kinds[k]);
	if (!known)
		die(EXIT_USAGE, "unknown forwarding kind '%s': use always, busy, noanswer, "
			 "unavailable or dnd", kind);
	if (c->del) {
		if (target || c->after)
			usage_of("forward NAME KIND --delete");
		return;
	}
	if (!strcasecmp(kind, "dnd")) {
		if (target || c->after)
			usage_of("forward NAME dnd");
		return;
	}
	if (!target)
		usage_of(forward_usage);
	if (!strcasecmp(kind, "noanswer") && !c->after)
		die(EXIT_USAGE, "forward NAME noanswer TARGET needs --after SECONDS (how long "
			 "it rings first)");
	if (strcasecmp(kind, "noanswer") && c->after)
		die(EXIT_USAGE, "--after applies to noanswer only");
	if (c->after) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(c->after, &end, 10);
		if (!isdigit((unsigned char)c->after[0]) || *end || errno || v < 1 ||
		    v > SB_STORE_MAX_NOANSWER_S)
			die(EXIT_USAGE, "--after wants 1 to %u seconds, not '%s'",
			    SB_STORE_MAX_NOANSWER_S, c->after);
	}
}

/* Command options given where they mean nothing are a usage error. */
static void only_opts(const struct ctl *c, bool password, bool forward, const char *usage)
{
	if ((!password && (c->password || c->password_file)) ||
	    (!forward && (c->after || c->del)))
		usage_of(usage);
}

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	parse_args(&c, argc, argv);
	const char *cmd = c.nargs ? c.args[0] : NULL;
	const char *sub = c.nargs > 1 ? c.args[1] : NULL;
	unsigned n = c.nargs;

	if (!cmd) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	/* check the command's shape before reading any token or config */
	enum { USER_LIST, USER_ADD, USER_SHOW, USER_DELETE, USER_PASSWD, FWD_SHOW, FWD_SET,
	       REG_LIST, REG_DELETE, STATS } what;
	if (!strcmp(cmd, "user")) {
		if (sub && !strcmp(sub, "list") && n == 2) {
			what = USER_LIST;
			only_opts(&c, false, false, "user list");
		} else if (sub && !strcmp(sub, "add")) {
			if (n != 3)
				usage_of("user add NAME [--password P | --password-file F]");
			only_opts(&c, true, false,
				  "user add NAME [--password P | --password-file F]");
			what = USER_ADD;
		} else if (sub && !strcmp(sub, "show")) {
			if (n != 3)
				usage_of("user show NAME");
			only_opts(&c, false, false, "user show NAME");
			what = USER_SHOW;
		} else if (sub && !strcmp(sub, "delete")) {
			if (n != 3)
				usage_of("user delete NAME");
			only_opts(&c, false, false, "user delete NAME");
			what = USER_DELETE;
		} else if (sub && !strcmp(sub, "passwd")) {
			if (n != 3)
				usage_of("user passwd NAME [--password P | --password-file F]");
			only_opts(&c, true, false,
				  "user passwd NAME [--password P | --password-file F]");
			what = USER_PASSWD;
		} else {
			usage_of("user list | user add NAME | user show NAME | user delete NAME | "
				 "user passwd NAME");
		}
	} else if (!strcmp(cmd, "forward")) {
		if (n == 2 && !c.after && !c.del) {
			what = FWD_SHOW; /* forward NAME */
		} else if (n == 3 && !strcmp(sub, "list") && !c.after && !c.del) {
			what = FWD_SHOW; /* forward list NAME */
			sub = c.args[2];
		} else if (n == 3 || n == 4) {
			what = FWD_SET;
			check_forward(&c, c.args[2], n == 4);
		} else {
			usage_of(forward_usage);
		}
		only_opts(&c, false, true, forward_usage);
	} else if (!strcmp(cmd, "reg")) {
		if (sub && !strcmp(sub, "list") && (n == 2 || n == 3)) {
			what = REG_LIST;
			only_opts(&c, false, false, "reg list [NAME]");
		} else if (sub && !strcmp(sub, "delete") && n == 3) {
			what = REG_DELETE;
			only_opts(&c, false, false, "reg delete NAME");
		} else {
			usage_of("reg list [NAME] | reg delete NAME");
		}
	} else if (!strcmp(cmd, "stats")) {
		if (n != 1)
			usage_of("stats");
		only_opts(&c, false, false, "stats");
		what = STATS;
	} else {
		die(EXIT_USAGE, "unknown command '%s' (see sbctl --help)", cmd);
	}

	/* an empty NAME would name another resource (/users/ is the list) */
	const char *name = what == FWD_SHOW ? sub : what == FWD_SET ? c.args[1] :
			   what == USER_LIST || what == STATS || n < 3 ? NULL : c.args[2];
	if (name && !name[0])
		die(EXIT_USAGE, "NAME must not be empty");

	resolve(&c);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c.curl = curl_easy_init()))
		die(EXIT_SERVER, "cannot start libcurl");
	switch (what) {
	case USER_LIST:
		user_list(&c);
		break;
	case USER_ADD:
		user_add(&c, c.args[2]);
		break;
	case USER_SHOW:
		user_show(&c, c.args[2]);
		break;
	case USER_DELETE:
		user_delete(&c, c.args[2]);
		break;
	case USER_PASSWD:
		user_passwd(&c, c.args[2]);
		break;
	case FWD_SHOW:
		forward_show(&c, sub);
		break;
	case FWD_SET:
		forward_set(&c, c.args[1], c.args[2], n == 4 ? c.args[3] : NULL);
		break;
	case REG_LIST:
		reg_list(&c, n == 3 ? c.args[2] : NULL);
		break;
	case REG_DELETE:
		reg_delete(&c, c.args[2]);
		break;
	case STATS:
		stats(&c);
		break;
	}
	curl_easy_cleanup(c.curl);
	curl_global_cleanup();
	return 0;
}

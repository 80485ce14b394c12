/* sbphone: the phone.  One SIP identity (ua.h) on one event loop: it
 * registers with the server, makes and takes calls as its options say, and
 * with a prompt (stdin a terminal in the foreground, or --interactive)
 * takes commands a line at a time.  Every user agent event is printed as a readable line on
 * stdout and, with --events FILE, written as one JSON line (flushed at
 * once) for scripts and tests.
 *
 * Start: at most REG_WAIT_S (10 s) for the first registration.  Before it,
 * a register_failed with a 4xx or 6xx status other than 408 ends the phone
 * at once (wrong password, 403, 404: retrying cannot help); a 408, a 5xx or
 * no answer at all lets the user agent retry until the 10 s are up.  Either
 * way the phone prints "sbphone: cannot register USER at HOST:PORT: WHY" and
 * exits 1.  After the first registration, failures are printed and the user
 * agent retries (with back-off) for as long as the phone runs.
 *
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT, "quit" and the end of input on the
 * prompt shut down cleanly (sb_ua_shutdown: calls hung up, registration
 * removed, bounded by SHUTDOWN_GUARD_MS); a second signal stops at once.
 *
 * What reaches the terminal from the network (reason phrases, URIs, the
 * messages in debug logs) could hold escape sequences: every line printed
 * (events, answers, logs) has its control bytes replaced by '?'.
 *
 * Exit status: 0 after a clean shutdown, 1 when the phone cannot start or
 * register (or stopped by a second signal), 2 for bad options. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "switchboard/config.h"
#include "switchboard/loop.h"
#include "switchboard/transport.h"
#include "switchboard/ua.h"

#define DEFAULT_PORT 5060u
#define REG_WAIT_S 10u              /* the first registration, at start */
#define SHUTDOWN_GUARD_MS 40000u    /* sb_ua_shutdown is bounded by 64*T1 (32 s) */
#define DTMF_DELAY_MS 500u          /* --dtmf: after the answer, once media flows */
#define MAX_SECONDS 86400u          /* any SECONDS option */
#define MAX_EXPIRES 86400u
#define MAX_TONE_HZ 3999u           /* below half of G.711's 8000 Hz */
#define MAX_LINE 1024u              /* a prompt line */
#define MAX_TRACKED (2u * SB_UA_MAX_CALLS)
#define STATUS_MAX 2048u

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"usage: sbphone --user NAME --server HOST[:PORT] [options]\n"
	"\n"
	"Identity and registration:\n"
	"  --user NAME              the user; the address of record is sip:NAME@DOMAIN\n"
	"  --password PW            the password for digest challenges (401, 407)\n"
	"  --server HOST[:PORT]     registrar and outbound proxy (default port 5060)\n"
	"  --domain D               the AOR's domain (default: the server's HOST)\n"
	"  --proto udp|tcp          the transport to the server (default udp)\n"
	"  --listen ADDR:PORT       the local SIP address (default: the address that\n"
	"                           routes to the server, any free port)\n"
	"  --expires S              registration lifetime asked for (default 600)\n"
	"  --no-register            do not register (calls only)\n"
	"\n"
	"Calls (SECONDS may have up to 3 decimals, e.g. 0.5):\n"
	"  --call TARGET            call TARGET at start, once registered: a user\n"
	"                           (bob), a number or a URI (sip:bob@host:port)\n"
	"  --cancel-after SECONDS   give up our call (CANCEL) if not answered by then\n"
	"  --answer-after SECONDS   answer incoming calls after SECONDS (0: at once)\n"
	"  --hangup-after SECONDS   hang up a call SECONDS after it was answered\n"
	"  --reject busy|decline    reject incoming calls: 486 Busy Here or 603 Decline\n"
	"  --dnd                    do not disturb: 486 to every incoming call\n"
	"  --forward-always TARGET  forward every incoming call (302 to TARGET)\n"
	"  --forward-busy TARGET    forward incoming calls when busy\n"
	"  --forward-noanswer TARGET --forward-after SECONDS\n"
	"                           forward calls ringing that long unanswered\n"
	"  --dtmf DIGITS            send DIGITS (0-9 * # A-D, at most 32) once a call\n"
	"                           is answered\n"
	"  --exit-after-call        exit once the first call has ended\n"
	"\n"
	"Media (G.711 over RTP):\n"
	"  --play FILE.wav          play FILE in every call\n"
	"  --tone HZ                or play a sine tone of HZ (1 to 3999)\n"
	"  --record FILE.wav        record what the other side sends\n"
	"\n"
	"Output and control:\n"
	"  --events FILE            one JSON line per event to FILE ('-': stdout)\n"
	"  --interactive            read commands from stdin even when it is no\n"
	"                           terminal (a pipe); 'help' lists them\n"
	"  --log-level L            debug, info, warn (default) or error, on stderr\n"
	"  -h, --help               this text\n"
	"\n"
	"At start the phone waits at most 10 s for its registration; a 4xx or 6xx\n"
	"answer (but 408) ends it at once.  Exit status: 0 after a clean shutdown\n"
	"(SIGINT, SIGTERM, SIGHUP, SIGQUIT, quit, --exit-after-call), 1 when it\n"
	"cannot start or register, 2 for bad options.\n";

static const char help_text[] =
	"commands (N: a call's number, as events and status show it):\n"
	"  call TARGET          call a user, number or sip: URI\n"
	"  answer [N]           answer a ringing call (default: the latest)\n"
	"  reject [N]           reject a ringing call (486)\n"
	"  hangup [N]           end a call (default: the current one)\n"
	"  hold [N], resume [N] hold or resume a call\n"
	"  transfer TARGET      blind transfer of the current call\n"
	"  transfer N M         transfer call N to the other side of call M\n"
	"  dtmf DIGITS          send digits in the current call\n"
	"  dnd on|off           do not disturb\n"
	"  status               registration and calls\n"
	"  help                 this text\n"
	"  quit                 hang up, unregister and exit\n";

/* What the command line asks for. */
struct opts {
	const char *user, *password, *server, *domain, *listen;
	enum sb_tp_proto proto;
	uint32_t expires;
	bool no_register;
	const char *call;
	int32_t cancel_after_ms;      /* <0: never */
	int32_t answer_after_ms;      /* <0: never */
	int32_t hangup_after_ms;      /* <0: never */
	enum sb_ua_incoming incoming;
	bool reject_set, dnd;
	const char *fwd_always, *fwd_busy, *fwd_noanswer;
	int32_t fwd_after_ms;         /* <0: not given */
	const char *play, *record;
	unsigned tone_hz;
	const char *dtmf;
	const char *events;
	bool exit_after_call, interactive, help;
	enum sb_log_level log_level;
};

struct phone;

/* A call as the program follows it: its timers.  Matched to the user
 * agent's events by number, or by pointer before the first event. */
struct pcall {
	bool used;
	bool established;
	bool incoming;
	bool ringing;                 /* an incoming call not answered yet */
	bool held;
	unsigned id;                  /* 0 until its first event */
	struct sb_call *c;            /* valid until its "ended" event */
	struct phone *p;
	struct sb_timer cancel_t, hangup_t, dtmf_t;
};

/* Everything the phone holds: no globals. */
struct phone {
	struct opts o;
	struct sb_loop *loop;
	struct sb_ua *ua;
	struct sb_addr server;
	char server_txt[SB_ADDR_STR_MAX];
	char domain[SB_UA_MAX_NAME];
	char aor[2 * SB_UA_MAX_NAME + 8];
	FILE *events;
	bool events_stdout;
	int sigfd;
	int exit_code;
	bool registered, registered_once, shutting_down, started;
	uint32_t reg_expires;
	char last_fail[160];          /* the latest registration failure */
	struct sb_timer start_t;      /* at 0 ms once the loop runs */
	struct sb_timer reg_wait_t;   /* REG_WAIT_S at start */
	struct sb_timer guard_t;      /* shutdown bound */
	unsigned first_call;          /* --exit-after-call: its number */
	int pending;                  /* slot of the call being placed, or -1 */
	enum sb_ua_incoming policy;   /* without DND */
	bool dnd;
	struct pcall calls[MAX_TRACKED];
	/* the prompt */
	bool prompt, tty, stdin_watched;
	int stdin_flags;              /* to restore at exit; -1: untouched */
	char line[MAX_LINE];
	size_t line_len;
	bool line_long;               /* discarding the rest of an overlong line */
};

/* ------------------------------------------------------------ output */

/* Text for the terminal: every control byte (< 0x20, 0x7f) becomes '?', so
 * that nothing the network sent (an escape sequence in a reason phrase or
 * a URI) reaches the terminal as a command. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void log_h(enum sb_log_level lvl, const char *line, void *arg)
{
	const struct phone *p = arg;
	if (lvl < p->o.log_level)
		return;
	struct timespec ts;
	struct tm tm;
	char when[32], text[1024];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(text, sizeof text, "%s", line);
	printable(text);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000L, sb_log_level_name(lvl),
		text);
}

static void show_prompt(struct phone *p)
{
	if (p->prompt && p->tty && !p->shutting_down) {
		fputs("sbphone> ", stdout);
		fflush(stdout);
	}
}

/* A readable line on stdout (events, command answers), without control
 * bytes. */
static void say(struct phone *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct phone *p, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	printable(line);
	if (p->prompt && p->tty)
		fputs("\r\033[K", stdout);  /* over the prompt */
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* A JSON string: quotes, backslashes and control bytes escaped; valid
 * UTF-8 passes through, any other byte becomes U+FFFD. */
static void json_str(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	fputc('"', f);
	while (*u) {
		unsigned char c = *u;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			u++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			u++;
		} else if (c < 0x80) {
			fputc(c, f);
			u++;
		} else {
			/* the length of a well-formed sequence (RFC 3629 §4), or 0 */
			size_t n = 0;
			if (c >= 0xc2 && c <= 0xdf)
				n = 2;
			else if (c >= 0xe0 && c <= 0xef)
				n = 3;
			else if (c >= 0xf0 && c <= 0xf4)
				n = 4;
			for (size_t k = 1; k < n; k++)
				if ((u[k] & 0xc0) != 0x80)
					n = 0;
			if (n == 3 && ((c == 0xe0 && u[1] < 0xa0) || (c == 0xed && u[1] > 0x9f)))
				n = 0;
			if (n == 4 && ((c == 0xf0 && u[1] < 0x90) || (c == 0xf4 && u[1] > 0x8f)))
				n = 0;
			if (n) {
				fwrite(u, 1, n, f);
				u += n;
			} else {
				fputs("\\ufffd", f);
				u++;
			}
		}
	}
	fputc('"', f);
}

/* {"event":"ended","time":1700000000.123,"call":1,"code":486,"reason":"busy",
 *  "peer":"sip:bob@127.0.0.1"}: event, time and code always; call for call
 * events; reason and peer when known; digit for dtmf; expires for
 * registered. */
static void write_event(struct phone *p, const struct sb_ua_event *ev)
{
	if (!p->events)
		return;
	FILE *f = p->events;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fputs("{\"event\":", f);
	json_str(f, sb_ua_event_name(ev->kind));
	fprintf(f, ",\"time\":%lld.%03ld", (long long)ts.tv_sec, ts.tv_nsec / 1000000L);
	if (ev->call || ev->call_id)
		fprintf(f, ",\"call\":%u", ev->call_id);
	fprintf(f, ",\"code\":%u", ev->code);
	if (ev->reason) {
		fputs(",\"reason\":", f);
		json_str(f, ev->reason);
	}
	if (ev->peer) {
		fputs(",\"peer\":", f);
		json_str(f, ev->peer);
	}
	if (ev->kind == SB_UA_EV_DTMF && ev->digit) {
		char d[2] = { ev->digit, 0 };
		fputs(",\"digit\":", f);
		json_str(f, d);
	}
	if (ev->kind == SB_UA_EV_REGISTERED)
		fprintf(f, ",\"expires\":%u", ev->expires);
	fputs("}\n", f);
	fflush(f);
}

/* "403 Forbidden", "408", "timeout": what a failure says. */
static void code_reason(char *out, size_t cap, unsigned code, const char *reason)
{
	if (code && reason && reason[0])
		snprintf(out, cap, "%u %s", code, reason);
	else if (code)
		snprintf(out, cap, "%u", code);
	else
		snprintf(out, cap, "%s", reason && reason[0] ? reason : "no answer");
}

static void print_event(struct phone *p, const struct sb_ua_event *ev)
{
	char why[160], pre[32] = "";
	const char *peer = ev->peer ? ev->peer : "";
	const char *reason = ev->reason ? ev->reason : "";
	if (ev->call || ev->call_id)
		snprintf(pre, sizeof pre, "call %u: ", ev->call_id);
	code_reason(why, sizeof why, ev->code, ev->reason);
	switch (ev->kind) {
	case SB_UA_EV_REGISTERED:
		say(p, "registered as %s (expires %u s)", p->aor, ev->expires);
		break;
	case SB_UA_EV_REGISTER_FAILED:
		say(p, "registration failed: %s%s", why,
		    p->registered_once ? " (retrying)" : "");
		break;
	case SB_UA_EV_UNREGISTERED:
		say(p, "unregistered%s%s", reason[0] ? ": " : "", reason);
		break;
	case SB_UA_EV_INCOMING:
		say(p, "%sincoming from %s", pre, peer);
		break;
	case SB_UA_EV_REDIRECTED:
		say(p, "%sredirected to %s", pre, peer);
		break;
	case SB_UA_EV_FORWARDED:
		say(p, "%sforwarded to %s", pre, peer);
		break;
	case SB_UA_EV_DTMF:
		say(p, "%sdtmf %c", pre, ev->digit ? ev->digit : '?');
		break;
	case SB_UA_EV_ENDED:
		say(p, "%sended: %s", pre, ev->code ? why : (reason[0] ? reason : "bye"));
		break;
	case SB_UA_EV_TRANSFER_FAILED:
		say(p, "%stransfer failed: %s", pre, why);
		break;
	default:
		/* ringing, answered, held, resumed, transferred, and any new kind;
		 * a reason that only repeats the event's name is left out */
		if (!strcmp(reason, sb_ua_event_name(ev->kind)))
			reason = "";
		say(p, "%s%s%s%s%s%s%s", pre, sb_ua_event_name(ev->kind),
		    reason[0] ? ": " : "", reason, peer[0] ? " (" : "", peer, peer[0] ? ")" : "");
		break;
	}
	show_prompt(p);
}

/* ------------------------------------------------------------ calls */

static struct pcall *find_call(struct phone *p, const struct sb_ua_event *ev)
{
	for (unsigned k = 0; k < MAX_TRACKED; k++) {
		struct pcall *pc = &p->calls[k];
		if (pc->used && ((ev->call_id && pc->id == ev->call_id) ||
				 (ev->call && pc->c == ev->call)))
			return pc;
	}
	return NULL;
}

static struct pcall *new_call(struct phone *p)
{
	for (unsigned k = 0; k < MAX_TRACKED; k++) {
		struct pcall *pc = &p->calls[k];
		if (!pc->used) {
			memset(pc, 0, sizeof *pc);
			pc->used = true;
			pc->p = p;
			return pc;
		}
	}
	return NULL;
}

static void drop_call(struct phone *p, struct pcall *pc)
{
	sb_timer_stop(p->loop, &pc->cancel_t);
	sb_timer_stop(p->loop, &pc->hangup_t);
	sb_timer_stop(p->loop, &pc->dtmf_t);
	pc->used = false;
	pc->c = NULL;
}

/* The user agent's call now, or NULL once it is gone. */
static struct sb_call *ua_call(struct pcall *pc)
{
	if (!pc->used)
		return NULL;
	if (pc->id)
		return sb_ua_call_by_id(pc->p->ua, pc->id);
	return pc->c;
}

static void cancel_t_h(void *arg)
{
	struct pcall *pc = arg;
	struct sb_call *c = ua_call(pc);
	if (c && !pc->established) {
		log_h(SB_LOG_INFO, "--cancel-after: giving up the call", pc->p);
		(void)sb_ua_hangup(c);
	}
}

static void hangup_t_h(void *arg)
{
	struct pcall *pc = arg;
	struct sb_call *c = ua_call(pc);
	if (c) {
		log_h(SB_LOG_INFO, "--hangup-after: hanging up", pc->p);
		(void)sb_ua_hangup(c);
	}
}

static void dtmf_t_h(void *arg)
{
	struct pcall *pc = arg;
	struct sb_call *c = ua_call(pc);
	if (c) {
		int err = sb_ua_dtmf(c, pc->p->o.dtmf);
		if (err)
			say(pc->p, "call %u: cannot send dtmf: %s", pc->id,
			    err == ENOTSUP ? "the other side takes no telephone-event"
			    : err == ENOSPC ? "too many digits waiting" : strerror(err));
	}
}

static void shutdown_done_h(void *arg)
{
	struct phone *p = arg;
	sb_timer_stop(p->loop, &p->guard_t);
	sb_loop_stop(p->loop);
}

static void guard_t_h(void *arg)
{
	struct phone *p = arg;
	log_h(SB_LOG_WARN, "shutdown did not complete in time: stopping", p);
	sb_loop_stop(p->loop);
}

/* The clean exit: hang up, unregister, then stop the loop. */
static void begin_shutdown(struct phone *p, int code)
{
	if (p->shutting_down)
		return;
	p->shutting_down = true;
	p->exit_code = code;
	sb_timer_stop(p->loop, &p->reg_wait_t);
	(void)sb_timer_start(p->loop, &p->guard_t, SHUTDOWN_GUARD_MS, guard_t_h, p);
	sb_ua_shutdown(p->ua, shutdown_done_h, p);
}

/* No clean exit: the phone could not start (nothing to unregister). */
static void fail_now(struct phone *p, int code)
{
	p->shutting_down = true;
	p->exit_code = code;
	sb_loop_stop(p->loop);
}

/* Place a call; its slot exists before sb_ua_call so that events the user
 * agent reports from inside the call find it. */
static int place_call(struct phone *p, const char *target)
{
	struct pcall *pc = new_call(p);
	if (!pc)
		return ENOSPC;
	p->pending = (int)(pc - p->calls);
	struct sb_call *c = NULL;
	int err = sb_ua_call(p->ua, target, &c);
	p->pending = -1;
	if (err) {
		if (pc->used && !pc->id)
			drop_call(p, pc);
		return err;
	}
	if (!pc->used)
		return 0; /* it ended already */
	if (!pc->c)
		pc->c = c;
	if (!pc->c && !pc->id) {
		drop_call(p, pc); /* nothing to follow it by */
		return 0;
	}
	if (p->o.cancel_after_ms >= 0 && !pc->established)
		(void)sb_timer_start(p->loop, &pc->cancel_t, (sb_msec_t)p->o.cancel_after_ms,
				     cancel_t_h, pc);
	return 0;
}

/* The --call of the command line, once registered (or at once). */
static void start_work(struct phone *p)
{
	if (p->started)
		return;
	p->started = true;
	if (!p->o.call)
		return;
	int err = place_call(p, p->o.call);
	if (err) {
		if (err == EINVAL)
			fprintf(stderr, "sbphone: --call '%s': not a user, number or SIP URI\n",
				p->o.call);
		else
			fprintf(stderr, "sbphone: cannot call '%s': %s\n", p->o.call, strerror(err));
		if (err == EINVAL)
			fail_now(p, EXIT_USAGE);
		else
			begin_shutdown(p, EXIT_FAIL);
	}
}

/* Before the first registration: does this failure end the phone?  A 4xx
 * or 6xx but 408 will not change by retrying. */
static bool fatal_at_start(unsigned code)
{
	return (code >= 400 && code < 500 && code != 408) || (code >= 600 && code < 700);
}

static void start_fail(struct phone *p, const char *why)
{
	char w[256];
	snprintf(w, sizeof w, "%s", why);
	printable(w);
	fprintf(stderr, "sbphone: cannot register %s at %s: %s\n", p->o.user, p->server_txt, w);
	fail_now(p, EXIT_FAIL);
}

static void reg_wait_t_h(void *arg)
{
	struct phone *p = arg;
	char why[256];
	if (p->registered_once || p->shutting_down)
		return;
	if (p->last_fail[0])
		snprintf(why, sizeof why, "no registration within %u s (last: %s)", REG_WAIT_S,
			 p->last_fail);
	else
		snprintf(why, sizeof why, "no answer within %u s", REG_WAIT_S);
	start_fail(p, why);
}

static void event_h(const struct sb_ua_event *ev, void *arg)
{
	struct phone *p = arg;
	struct pcall *pc = NULL;

	write_event(p, ev);
	print_event(p, ev);

	if (ev->call || ev->call_id) {
		pc = find_call(p, ev);
		if (!pc && p->pending >= 0 && p->calls[p->pending].used && !p->calls[p->pending].id)
			pc = &p->calls[p->pending];    /* the call being placed */
		/* a call refused or forwarded at once has one event, call NULL */
		if (!pc && ev->call && ev->kind != SB_UA_EV_ENDED)
			pc = new_call(p);
		if (pc) {
			if (ev->call_id)
				pc->id = ev->call_id;
			if (ev->call)
				pc->c = ev->call;
		}
		if (ev->call_id && !p->first_call)
			p->first_call = ev->call_id;
	}

	switch (ev->kind) {
	case SB_UA_EV_REGISTERED:
		p->registered = true;
		p->reg_expires = ev->expires;
		p->last_fail[0] = 0;
		if (!p->registered_once) {
			p->registered_once = true;
			sb_timer_stop(p->loop, &p->reg_wait_t);
			if (!p->shutting_down)
				start_work(p);
		}
		break;
	case SB_UA_EV_REGISTER_FAILED:
		p->registered = false;
		code_reason(p->last_fail, sizeof p->last_fail, ev->code, ev->reason);
		if (!p->registered_once && !p->shutting_down && fatal_at_start(ev->code))
			start_fail(p, p->last_fail);
		break;
	case SB_UA_EV_UNREGISTERED:
		p->registered = false;
		break;
	case SB_UA_EV_INCOMING:
		if (pc) {
			pc->incoming = true;
			pc->ringing = true;
		}
		break;
	case SB_UA_EV_ANSWERED:
		if (pc && !pc->established) {
			pc->established = true;
			pc->ringing = false;
			sb_timer_stop(p->loop, &pc->cancel_t);
			if (p->o.hangup_after_ms >= 0)
				(void)sb_timer_start(p->loop, &pc->hangup_t,
						     (sb_msec_t)p->o.hangup_after_ms, hangup_t_h, pc);
			if (p->o.dtmf)
				(void)sb_timer_start(p->loop, &pc->dtmf_t, DTMF_DELAY_MS, dtmf_t_h, pc);
		}
		break;
	case SB_UA_EV_HELD:
		if (pc)
			pc->held = true;
		break;
	case SB_UA_EV_RESUMED:
		if (pc)
			pc->held = false;
		break;
	case SB_UA_EV_ENDED:
		if (pc)
			drop_call(p, pc);
		break;
	default:
		break;
	}

	/* over: ended, or forwarded at once (its only event) */
	bool over = ev->kind == SB_UA_EV_ENDED || (ev->kind == SB_UA_EV_FORWARDED && !ev->call);
	if (over && pc && ev->kind == SB_UA_EV_FORWARDED)
		drop_call(p, pc);
	if (over && p->o.exit_after_call && ev->call_id && ev->call_id == p->first_call &&
	    !p->shutting_down) {
		say(p, "the call has ended: exiting");
		begin_shutdown(p, EXIT_OK);
	}
}

/* ------------------------------------------------------------ the prompt */

/* The call a command names: call number arg, or the default pick. */
enum pick { PICK_RINGING, PICK_CURRENT, PICK_HELD };

static struct sb_call *pick_call(struct phone *p, const char *arg, enum pick how)
{
	if (arg) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || n == 0 || n > UINT32_MAX) {
			say(p, "'%s' is no call number", arg);
			return NULL;
		}
		struct sb_call *c = sb_ua_call_by_id(p->ua, (unsigned)n);
		if (!c)
			say(p, "no call %lu", n);
		return c;
	}
	struct pcall *best = NULL;
	for (unsigned k = 0; k < MAX_TRACKED; k++) {
		struct pcall *pc = &p->calls[k];
		if (!pc->used || !pc->id)
			continue;
		bool fits = how == PICK_RINGING ? pc->incoming && pc->ringing
			  : how == PICK_HELD ? pc->established && pc->held
			  : pc->established && !pc->held;
		if (fits && (!best || pc->id > best->id))
			best = pc;
	}
	struct sb_call *c = best ? ua_call(best) : NULL;
	if (!c && how == PICK_CURRENT) {
		c = sb_ua_current_call(p->ua);
		/* else the only call there is (one being placed, say) */
		for (unsigned k = 0; !c && k < MAX_TRACKED; k++)
			if (p->calls[k].used)
				c = ua_call(&p->calls[k]);
	}
	if (!c)
		say(p, how == PICK_RINGING ? "no call is ringing" :
		       how == PICK_HELD ? "no call is on hold" : "no call");
	return c;
}

static void result(struct phone *p, const char *what, int err)
{
	if (!err)
		return;
	const char *why = err == EINVAL ? "not possible in this call's state"
			: err == EBUSY ? "busy with another change, try again"
			: err == ENOSPC ? "too many calls" : strerror(err);
	say(p, "%s: %s", what, why);
}

static void cmd_status(struct phone *p)
{
	char buf[STATUS_MAX];
	if (p->o.no_register)
		say(p, "%s: not registering%s", p->aor, p->dnd ? ", do not disturb" : "");
	else if (p->registered)
		say(p, "%s: registered at %s (expires %u s)%s", p->aor, p->server_txt,
		    p->reg_expires, p->dnd ? ", do not disturb" : "");
	else
		say(p, "%s: not registered%s%s%s", p->aor, p->last_fail[0] ? " (" : "",
		    p->last_fail, p->last_fail[0] ? ")" : "");
	size_t n = sb_ua_status(p->ua, buf, sizeof buf);
	if (n == 0) {
		say(p, "no calls");
	} else {
		if (n >= sizeof buf)
			n = sizeof buf - 1;
		buf[n] = 0;
		/* one say() a line: say() lets no newline through */
		char *save = NULL;
		for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			say(p, "%s", l);
	}
}

static bool valid_digits(const char *d)
{
	if (!*d)
		return false;
	for (; *d; d++)
		if (!strchr("0123456789*#ABCDabcd", *d))
			return false;
	return true;
}

static void run_command(struct phone *p, char *line)
{
	char *argv[4], *save = NULL;
	int argc = 0;
	for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == (int)SB_ARRAY_LEN(argv)) {
			say(p, "too many words; 'help' lists the commands");
			return;
		}
		argv[argc++] = w;
	}
	if (argc == 0)
		return;
	const char *cmd = argv[0], *a1 = argc > 1 ? argv[1] : NULL, *a2 = argc > 2 ? argv[2] : NULL;
	struct sb_call *c;
	if (p->shutting_down) {
		say(p, "shutting down");
		return;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "?")) {
		fputs(help_text, stdout);
	} else if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit")) {
		begin_shutdown(p, EXIT_OK);
	} else if (!strcmp(cmd, "status")) {
		cmd_status(p);
	} else if (!strcmp(cmd, "call")) {
		if (argc != 2) {
			say(p, "usage: call TARGET");
			return;
		}
		int err = place_call(p, a1);
		if (err == EINVAL)
			say(p, "call: '%s' is not a user, number or SIP URI", a1);
		else
			result(p, "call", err);
	} else if (!strcmp(cmd, "answer") || !strcmp(cmd, "reject")) {
		if (argc > 2) {
			say(p, "usage: %s [N]", cmd);
			return;
		}
		if ((c = pick_call(p, a1, PICK_RINGING)))
			result(p, cmd, cmd[0] == 'a' ? sb_ua_answer(c) : sb_ua_reject(c, 486));
	} else if (!strcmp(cmd, "hangup")) {
		if (argc > 2) {
			say(p, "usage: hangup [N]");
			return;
		}
		if ((c = pick_call(p, a1, PICK_CURRENT)))
			result(p, cmd, sb_ua_hangup(c));
	} else if (!strcmp(cmd, "hold") || !strcmp(cmd, "resume")) {
		if (argc > 2) {
			say(p, "usage: %s [N]", cmd);
			return;
		}
		bool hold = cmd[0] == 'h';
		if ((c = pick_call(p, a1, hold ? PICK_CURRENT : PICK_HELD)))
			result(p, cmd, hold ? sb_ua_hold(c) : sb_ua_resume(c));
	} else if (!strcmp(cmd, "transfer")) {
		if (argc == 2) {
			if ((c = pick_call(p, NULL, PICK_CURRENT)))
				result(p, cmd, sb_ua_transfer(c, a1));
		} else if (argc == 3) {
			struct sb_call *consult;
			if ((c = pick_call(p, a1, PICK_CURRENT)) &&
			    (consult = pick_call(p, a2, PICK_CURRENT)))
				result(p, cmd, c == consult ? EINVAL
						 : sb_ua_transfer_attended(c, consult));
		} else {
			say(p, "usage: transfer TARGET | transfer N M");
		}
	} else if (!strcmp(cmd, "dtmf")) {
		if (argc != 2 || !valid_digits(a1)) {
			say(p, "usage: dtmf DIGITS (0-9 * # A-D)");
			return;
		}
		if ((c = pick_call(p, NULL, PICK_CURRENT))) {
			int err = sb_ua_dtmf(c, a1);
			if (err == ENOSPC)
				say(p, "dtmf: too many digits waiting to be sent (at most %u)",
				    SB_UA_MAX_DTMF);
			else if (err == ENOTSUP)
				say(p, "dtmf: the other side takes no DTMF (telephone-event)");
			else
				result(p, cmd, err);
		}
	} else if (!strcmp(cmd, "dnd")) {
		if (argc != 2 || (strcmp(a1, "on") && strcmp(a1, "off"))) {
			say(p, "usage: dnd on|off");
			return;
		}
		p->dnd = !strcmp(a1, "on");
		sb_ua_set_incoming(p->ua, p->dnd ? SB_UA_IN_DND : p->policy);
		say(p, "do not disturb %s", p->dnd ? "on" : "off");
	} else {
		say(p, "unknown command '%s'; 'help' lists them", cmd);
	}
}

static void stdin_stop(struct phone *p)
{
	if (p->stdin_watched) {
		(void)sb_loop_fd_del(p->loop, STDIN_FILENO);
		p->stdin_watched = false;
	}
}

static void stdin_h(int fd, unsigned events, void *arg)
{
	struct phone *p = arg;
	char buf[512];
	(void)events;
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		fprintf(stderr, "sbphone: reading commands: %s\n", strerror(errno));
		stdin_stop(p);
		return;
	}
	if (n == 0) {
		stdin_stop(p);
		if (!p->shutting_down) {
			say(p, "end of input: quitting");
			begin_shutdown(p, EXIT_OK);
		}
		return;
	}
	for (ssize_t k = 0; k < n; k++) {
		char ch = buf[k];
		if (ch != '\n') {
			if (p->line_len + 1 < sizeof p->line)
				p->line[p->line_len++] = ch;
			else
				p->line_long = true;
			continue;
		}
		p->line[p->line_len] = 0;
		if (p->line_long)
			say(p, "line too long (at most %u bytes): ignored", MAX_LINE - 1);
		else
			run_command(p, p->line);
		p->line_len = 0;
		p->line_long = false;
		show_prompt(p);
	}
}

static int stdin_start(struct phone *p)
{
	int fl = fcntl(STDIN_FILENO, F_GETFL);
	if (fl < 0)
		return errno;
	int err = sb_loop_fd_add(p->loop, STDIN_FILENO, SB_FD_READ, stdin_h, p);
	if (err)
		return err;
	p->stdin_watched = true;
	if (!(fl & O_NONBLOCK) && fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
		p->stdin_flags = fl;
	return 0;
}

/* ------------------------------------------------------------ signals */

static void signal_h(int fd, unsigned events, void *arg)
{
	struct phone *p = arg;
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof si) != (ssize_t)sizeof si)
		return;
	if (p->shutting_down) {
		fprintf(stderr, "sbphone: signal %u again: stopping now\n", si.ssi_signo);
		p->exit_code = p->exit_code ? p->exit_code : EXIT_FAIL;
		sb_loop_stop(p->loop);
		return;
	}
	char line[64];
	snprintf(line, sizeof line, "signal %u: shutting down", si.ssi_signo);
	log_h(SB_LOG_INFO, line, p);
	begin_shutdown(p, EXIT_OK);
}

static int signals_start(struct phone *p)
{
	sigset_t set;
	sigemptyset(&set);
	/* the ones that mean "stop" from a user, a terminal going away (HUP)
	 * or a service manager: all the same clean shutdown */
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return errno;
	if ((p->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return errno;
	signal(SIGPIPE, SIG_IGN);
	return sb_loop_fd_add(p->loop, p->sigfd, SB_FD_READ, signal_h, p);
}

/* ------------------------------------------------------------ options */

enum {
	OPT_USER = 256, OPT_PASSWORD, OPT_SERVER, OPT_DOMAIN, OPT_PROTO, OPT_LISTEN,
	OPT_EXPIRES, OPT_NO_REGISTER, OPT_CALL, OPT_CANCEL_AFTER, OPT_ANSWER_AFTER,
	OPT_HANGUP_AFTER, OPT_REJECT, OPT_DND, OPT_FWD_ALWAYS, OPT_FWD_BUSY, OPT_FWD_NOANSWER,
	OPT_FWD_AFTER, OPT_PLAY, OPT_TONE, OPT_RECORD, OPT_DTMF, OPT_EVENTS,
	OPT_EXIT_AFTER_CALL, OPT_INTERACTIVE, OPT_LOG_LEVEL, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "user", required_argument, NULL, OPT_USER },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	{ "no-register", no_argument, NULL, OPT_NO_REGISTER },
	{ "call", required_argument, NULL, OPT_CALL },
	{ "cancel-after", required_argument, NULL, OPT_CANCEL_AFTER },
	{ "answer-after", required_argument, NULL, OPT_ANSWER_AFTER },
	{ "hangup-after", required_argument, NULL, OPT_HANGUP_AFTER },
	{ "reject", required_argument, NULL, OPT_REJECT },
	{ "dnd", no_argument, NULL, OPT_DND },
	{ "forward-always", required_argument, NULL, OPT_FWD_ALWAYS },
	{ "forward-busy", required_argument, NULL, OPT_FWD_BUSY },
	{ "forward-noanswer", required_argument, NULL, OPT_FWD_NOANSWER },
	{ "forward-after", required_argument, NULL, OPT_FWD_AFTER },
	{ "play", required_argument, NULL, OPT_PLAY },
	{ "tone", required_argument, NULL, OPT_TONE },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "dtmf", required_argument, NULL, OPT_DTMF },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "exit-after-call", no_argument, NULL, OPT_EXIT_AFTER_CALL },
	{ "interactive", no_argument, NULL, OPT_INTERACTIVE },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void seterr(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* "2", "0.5", "1.25": seconds with at most 3 decimals, to milliseconds,
 * at most MAX_SECONDS. */
static int parse_seconds(const char *v, int32_t *ms)
{
	uint64_t whole = 0, frac = 0;
	unsigned nfrac = 0;
	const char *s = v;
	if (*s < '0' || *s > '9')
		return EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		whole = whole * 10 + (uint64_t)(*s - '0');
		if (whole > MAX_SECONDS)
			return ERANGE;
	}
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (++nfrac > 3)
				return EINVAL;
			frac = frac * 10 + (uint64_t)(*s - '0');
		}
		for (unsigned k = nfrac; k < 3; k++)
			frac *= 10;
	}
	if (*s)
		return EINVAL;
	uint64_t total = whole * 1000 + frac;
	if (total > (uint64_t)MAX_SECONDS * 1000)
		return ERANGE;
	*ms = (int32_t)total;
	return 0;
}

static int parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	if (*v < '0' || *v > '9')
		return EINVAL;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return EINVAL;
	*out = n;
	return 0;
}

static int parse_level(const char *v, enum sb_log_level *out)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	for (unsigned k = 0; k < SB_ARRAY_LEN(names); k++)
		if (!strcmp(v, names[k])) {
			*out = (enum sb_log_level)k;
			return 0;
		}
	return EINVAL;
}

static bool name_ok(const char *v)
{
	return v[0] && strlen(v) < SB_UA_MAX_NAME && !strpbrk(v, " \t\r\n\"<>@:;");
}

static int parse_opts(struct opts *o, int argc, char **argv, char *err, size_t cap)
{
	memset(o, 0, sizeof *o);
	o->proto = SB_TP_UDP;
	o->cancel_after_ms = o->answer_after_ms = o->hangup_after_ms = o->fwd_after_ms = -1;
	o->log_level = SB_LOG_WARN;
	opterr = 0;
	optind = 1;
	int c;
	unsigned long n;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		const char *v = optarg;
		int32_t *secs = NULL;
		const char *name = NULL;
		switch (c) {
		case OPT_USER:
			if (!name_ok(v)) {
				seterr(err, cap, "bad --user '%s' (a user name, no '@' or spaces, "
				       "shorter than %u bytes)", v, SB_UA_MAX_NAME);
				return EINVAL;
			}
			o->user = v;
			break;
		case OPT_PASSWORD:
			if (!v[0] || strlen(v) >= SB_UA_MAX_NAME) {
				seterr(err, cap, "bad --password (1 to %u bytes)", SB_UA_MAX_NAME - 1);
				return EINVAL;
			}
			o->password = v;
			break;
		case OPT_SERVER:
			o->server = v;
			break;
		case OPT_DOMAIN:
			if (!v[0] || strlen(v) >= SB_UA_MAX_NAME || strpbrk(v, " \t\r\n\"<>@;")) {
				seterr(err, cap, "bad --domain '%s'", v);
				return EINVAL;
			}
			o->domain = v;
			break;
		case OPT_PROTO:
			if (!strcmp(v, "udp")) {
				o->proto = SB_TP_UDP;
			} else if (!strcmp(v, "tcp")) {
				o->proto = SB_TP_TCP;
			} else {
				seterr(err, cap, "bad --proto '%s' (udp or tcp)", v);
				return EINVAL;
			}
			break;
		case OPT_LISTEN:
			o->listen = v;
			break;
		case OPT_EXPIRES:
			if (parse_uint(v, 1, MAX_EXPIRES, &n)) {
				seterr(err, cap, "bad --expires '%s' (seconds, 1 to %u)", v, MAX_EXPIRES);
				return EINVAL;
			}
			o->expires = (uint32_t)n;
			break;
		case OPT_NO_REGISTER:
			o->no_register = true;
			break;
		case OPT_CALL:
			if (!v[0]) {
				seterr(err, cap, "--call needs a target");
				return EINVAL;
			}
			o->call = v;
			break;
		case OPT_CANCEL_AFTER:
			secs = &o->cancel_after_ms;
			name = "--cancel-after";
			break;
		case OPT_ANSWER_AFTER:
			secs = &o->answer_after_ms;
			name = "--answer-after";
			break;
		case OPT_HANGUP_AFTER:
			secs = &o->hangup_after_ms;
			name = "--hangup-after";
			break;
		case OPT_FWD_AFTER:
			secs = &o->fwd_after_ms;
			name = "--forward-after";
			break;
		case OPT_REJECT:
			if (!strcmp(v, "busy")) {
				o->incoming = SB_UA_IN_BUSY;
			} else if (!strcmp(v, "decline")) {
				o->incoming = SB_UA_IN_DECLINE;
			} else {
				seterr(err, cap, "bad --reject '%s' (busy or decline)", v);
				return EINVAL;
			}
			o->reject_set = true;
			break;
		case OPT_DND:
			o->dnd = true;
			break;
		case OPT_FWD_ALWAYS:
		case OPT_FWD_BUSY:
		case OPT_FWD_NOANSWER:
			if (!v[0]) {
				seterr(err, cap, "a forwarding option needs a target");
				return EINVAL;
			}
			*(c == OPT_FWD_ALWAYS ? &o->fwd_always : c == OPT_FWD_BUSY ? &o->fwd_busy
									 : &o->fwd_noanswer) = v;
			break;
		case OPT_PLAY:
			o->play = v;
			break;
		case OPT_TONE:
			if (parse_uint(v, 1, MAX_TONE_HZ, &n)) {
				seterr(err, cap, "bad --tone '%s' (Hz, 1 to %u)", v, MAX_TONE_HZ);
				return EINVAL;
			}
			o->tone_hz = (unsigned)n;
			break;
		case OPT_RECORD:
			if (!v[0]) {
				seterr(err, cap, "--record needs a file name");
				return EINVAL;
			}
			o->record = v;
			break;
		case OPT_DTMF:
			if (!valid_digits(v) || strlen(v) > SB_UA_MAX_DTMF) {
				seterr(err, cap, "bad --dtmf '%s' (digits 0-9, *, #, A-D; at most %u)",
				       v, SB_UA_MAX_DTMF);
				return EINVAL;
			}
			o->dtmf = v;
			break;
		case OPT_EVENTS:
			if (!v[0]) {
				seterr(err, cap, "--events needs a file name ('-': stdout)");
				return EINVAL;
			}
			o->events = v;
			break;
		case OPT_EXIT_AFTER_CALL:
			o->exit_after_call = true;
			break;
		case OPT_INTERACTIVE:
			o->interactive = true;
			break;
		case OPT_LOG_LEVEL:
			if (parse_level(v, &o->log_level)) {
				seterr(err, cap, "bad --log-level '%s' (debug, info, warn or error)", v);
				return EINVAL;
			}
			break;
		case 'h':
		case OPT_HELP:
			o->help = true;
			break;
		case ':':
			seterr(err, cap, "option '%s' needs a value", argv[optind - 1]);
			return EINVAL;
		default:
			if (optopt)
				seterr(err, cap, "unknown option '-%c'", optopt);
			else
				seterr(err, cap, "unknown option '%s'", argv[optind - 1]);
			return EINVAL;
		}
		if (secs) {
			int e = parse_seconds(v, secs);
			if (e) {
				seterr(err, cap, "bad %s '%s' (seconds, 0 to %u, at most 3 decimals)",
				       name, v, MAX_SECONDS);
				return EINVAL;
			}
		}
	}
	if (optind < argc) {
		seterr(err, cap, "unexpected argument '%s'", argv[optind]);
		return EINVAL;
	}
	if (o->help)
		return 0;
	if (!o->user) {
		seterr(err, cap, "--user is required");
		return EINVAL;
	}
	if (!o->server) {
		seterr(err, cap, "--server is required");
		return EINVAL;
	}
	if (o->reject_set && o->dnd) {
		seterr(err, cap, "--reject and --dnd cannot go together");
		return EINVAL;
	}
	if (o->answer_after_ms >= 0 && (o->reject_set || o->dnd)) {
		seterr(err, cap, "--answer-after cannot go with %s", o->dnd ? "--dnd" : "--reject");
		return EINVAL;
	}
	if (!o->fwd_noanswer != (o->fwd_after_ms < 0)) {
		seterr(err, cap, "--forward-noanswer and --forward-after go together");
		return EINVAL;
	}
	if (o->fwd_after_ms == 0) {
		seterr(err, cap, "--forward-after must be more than 0 (use --forward-always)");
		return EINVAL;
	}
	if (o->play && o->tone_hz) {
		seterr(err, cap, "--play and --tone cannot go together");
		return EINVAL;
	}
	if (o->dnd)
		o->incoming = SB_UA_IN_DND;
	return 0;
}

/* "127.0.0.1", "127.0.0.1:5070", "[::1]:5070", "::1", "pbx.example:5060"
 * (a name is looked up once, at start).  The domain is the HOST as given
 * (an IPv6 address in brackets). */
static int resolve_server(struct phone *p, char *err, size_t cap)
{
	const char *v = p->o.server;
	char host[SB_UA_MAX_NAME - 2];  /* with brackets, it fits the domain */
	unsigned long port = DEFAULT_PORT;
	const char *colon = strrchr(v, ':');
	size_t hl;
	bool v6 = false;
	if (v[0] == '[') {
		const char *rb = strchr(v, ']');
		if (!rb || (rb[1] && rb[1] != ':')) {
			seterr(err, cap, "bad --server '%s' (HOST[:PORT], [IPv6]:PORT)", v);
			return EINVAL;
		}
		hl = (size_t)(rb - v - 1);
		if (hl == 0 || hl >= sizeof host)
			goto bad;
		memcpy(host, v + 1, hl);
		host[hl] = 0;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		v6 = true;
	} else if (colon && strchr(v, ':') != colon) {
		/* a bare IPv6 address: no port */
		if (strlen(v) >= sizeof host)
			goto bad;
		snprintf(host, sizeof host, "%s", v);
		colon = NULL;
		v6 = true;
	} else {
		hl = colon ? (size_t)(colon - v) : strlen(v);
		if (hl == 0 || hl >= sizeof host)
			goto bad;
		memcpy(host, v, hl);
		host[hl] = 0;
	}
	if (colon && parse_uint(colon + 1, 1, 65535, &port))
		goto bad;
	if (sb_addr_parse(&p->server, host, (uint16_t)port) != 0) {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
		struct addrinfo *ai = NULL;
		int e = getaddrinfo(host, NULL, &hints, &ai);
		if (e || !ai) {
			seterr(err, cap, "cannot find the server '%s': %s", host,
			       e ? gai_strerror(e) : "no address");
			if (ai)
				freeaddrinfo(ai);
			return EHOSTUNREACH;
		}
		e = sb_addr_from_sa(&p->server, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
		if (e) {
			seterr(err, cap, "cannot use the address of '%s'", host);
			return EHOSTUNREACH;
		}
		sb_addr_set_port(&p->server, (uint16_t)port);
	}
	sb_addr_to_str(&p->server, p->server_txt, sizeof p->server_txt);
	if (p->o.domain)
		snprintf(p->domain, sizeof p->domain, "%s", p->o.domain);
	else if (v6)
		snprintf(p->domain, sizeof p->domain, "[%s]", host);
	else
		snprintf(p->domain, sizeof p->domain, "%s", host);
	return 0;
bad:
	seterr(err, cap, "bad --server '%s' (HOST[:PORT], [IPv6]:PORT)", v);
	return EINVAL;
}

/* --listen ADDR:PORT, or the address the kernel would send to the server
 * from, with any port. */
static int local_addr(struct phone *p, struct sb_addr *out, char *err, size_t cap)
{
	if (p->o.listen) {
		char buf[128];
		const char *v = p->o.listen;
		if (strlen(v) >= sizeof buf)
			goto bad;
		snprintf(buf, sizeof buf, "%s", v);
		char *colon = strrchr(buf, ':');
		unsigned long port;
		if (!colon || parse_uint(colon + 1, 0, 65535, &port))
			goto bad;
		*colon = 0;
		char *host = buf;
		size_t hl = strlen(host);
		if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
			host[hl - 1] = 0;
			host++;
		}
		if (sb_addr_parse(out, host, (uint16_t)port) != 0)
			goto bad;
		return 0;
bad:
		seterr(err, cap, "bad --listen '%s' (ADDR:PORT, [IPv6]:PORT; numeric)", v);
		return EINVAL;
	}
	int fd = socket(sb_addr_family(&p->server), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		seterr(err, cap, "socket: %s", strerror(errno));
		return errno;
	}
	struct sb_addr a = { .len = sizeof a.u };
	if (connect(fd, &p->server.u.sa, p->server.len) != 0 ||
	    getsockname(fd, &a.u.sa, &a.len) != 0) {
		int e = errno;
		close(fd);
		seterr(err, cap, "no route to the server %s: %s", p->server_txt, strerror(e));
		return e;
	}
	close(fd);
	int e = sb_addr_from_sa(out, &a.u.sa, a.len);
	if (e) {
		seterr(err, cap, "no usable local address toward %s", p->server_txt);
		return e;
	}
	sb_addr_set_port(out, 0);
	return 0;
}

/* ------------------------------------------------------------ main */

static void start_t_h(void *arg)
{
	struct phone *p = arg;
	if (p->o.no_register)
		start_work(p);
}

static int setup(struct phone *p, char *err, size_t cap, int *exit_code)
{
	int e;
	*exit_code = EXIT_USAGE;
	if ((e = resolve_server(p, err, cap))) {
		if (e != EINVAL)
			*exit_code = EXIT_FAIL;
		return e;
	}
	if (p->o.play) {
		FILE *f = fopen(p->o.play, "rb");
		if (!f) {
			seterr(err, cap, "--play %s: %s", p->o.play, strerror(errno));
			return errno;
		}
		fclose(f);
	}
	struct sb_addr local;
	if ((e = local_addr(p, &local, err, cap))) {
		if (e != EINVAL)
			*exit_code = EXIT_FAIL;
		return e;
	}
	snprintf(p->aor, sizeof p->aor, "sip:%s@%s", p->o.user, p->domain);
	if (p->o.events) {
		if (!strcmp(p->o.events, "-")) {
			p->events = stdout;
			p->events_stdout = true;
		} else if (!(p->events = fopen(p->o.events, "w"))) {
			seterr(err, cap, "--events %s: %s", p->o.events, strerror(errno));
			return errno;
		}
	}

	*exit_code = EXIT_FAIL;
	if ((e = sb_loop_alloc(&p->loop, NULL))) {
		seterr(err, cap, "event loop: %s", strerror(e));
		return e;
	}
	if ((e = signals_start(p))) {
		seterr(err, cap, "signals: %s", strerror(e));
		return e;
	}
	p->policy = p->o.dnd ? SB_UA_IN_RING : p->o.incoming;
	p->dnd = p->o.dnd;
	struct sb_ua_cfg uc = {
		.loop = p->loop,
		.user = p->o.user,
		.password = p->o.password,
		.domain = p->domain,
		.server = p->server,
		.proto = p->o.proto,
		.local = local,
		.expires = p->o.expires,
		.no_register = p->o.no_register,
		.incoming = p->o.incoming,
		.auto_answer_ms = p->o.answer_after_ms,
		.fwd_always = p->o.fwd_always,
		.fwd_busy = p->o.fwd_busy,
		.fwd_noanswer = p->o.fwd_noanswer,
		.fwd_noanswer_ms = p->o.fwd_after_ms > 0 ? (uint32_t)p->o.fwd_after_ms : 0,
		.play_wav = p->o.play,
		.tone_hz = p->o.tone_hz,
		.record_wav = p->o.record,
		.event_h = event_h,
		.event_arg = p,
		.log_h = log_h,
		.log_arg = p,
		.log_level = p->o.log_level,
	};
	char why[256] = "";
	if ((e = sb_ua_alloc(&p->ua, &uc, why, sizeof why))) {
		char a[SB_ADDR_STR_MAX];
		if (e == EINVAL)
			*exit_code = EXIT_USAGE;
		seterr(err, cap, "cannot start the phone on %s: %s",
		       sb_addr_to_str(&local, a, sizeof a), why[0] ? why : strerror(e));
		return e;
	}
	char a[SB_ADDR_STR_MAX];
	sb_ua_local(p->ua, &local);
	say(p, "sbphone: %s on %s:%s, server %s", p->aor, p->o.proto == SB_TP_TCP ? "tcp" : "udp",
	    sb_addr_to_str(&local, a, sizeof a), p->server_txt);

	/* a terminal we do not own (started with &) would stop us (SIGTTIN) */
	bool own_tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	p->prompt = p->o.interactive || own_tty;
	p->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (p->prompt && (e = stdin_start(p))) {
		seterr(err, cap, "cannot read commands from standard input: %s%s", strerror(e),
		       e == EPERM ? " (a regular file: use a pipe or a terminal)" : "");
		*exit_code = EXIT_USAGE;
		return e;
	}
	if (!p->o.no_register)
		(void)sb_timer_start(p->loop, &p->reg_wait_t, REG_WAIT_S * 1000u, reg_wait_t_h, p);
	(void)sb_timer_start(p->loop, &p->start_t, 0, start_t_h, p);
	*exit_code = EXIT_OK;
	return 0;
}

static void teardown(struct phone *p)
{
	stdin_stop(p);
	if (p->stdin_flags >= 0)
		(void)fcntl(STDIN_FILENO, F_SETFL, p->stdin_flags);
	if (p->loop) {
		for (unsigned k = 0; k < MAX_TRACKED; k++)
			if (p->calls[k].used)
				drop_call(p, &p->calls[k]);
		sb_timer_stop(p->loop, &p->start_t);
		sb_timer_stop(p->loop, &p->reg_wait_t);
		sb_timer_stop(p->loop, &p->guard_t);
	}
	sb_ua_free(p->ua);
	if (p->sigfd >= 0) {
		if (p->loop)
			(void)sb_loop_fd_del(p->loop, p->sigfd);
		close(p->sigfd);
	}
	sb_loop_free(p->loop);
	if (p->events && !p->events_stdout)
		fclose(p->events);
}

int main(int argc, char **argv)
{
	struct phone *p = calloc(1, sizeof *p);
	char err[512] = "";
	if (!p) {
		fputs("sbphone: out of memory\n", stderr);
		return EXIT_FAIL;
	}
	p->sigfd = -1;
	p->stdin_flags = -1;
	p->pending = -1;
	if (parse_opts(&p->o, argc, argv, err, sizeof err)) {
		fprintf(stderr, "sbphone: %s\n\n%s", err, usage_text);
		free(p);
		return EXIT_USAGE;
	}
	if (p->o.help) {
		fputs(usage_text, stdout);
		free(p);
		return EXIT_OK;
	}
	int rc, e = setup(p, err, sizeof err, &rc);
	if (e) {
		fprintf(stderr, "sbphone: %s\n", err);
		if (rc == EXIT_USAGE && e == EINVAL && !p->ua)
			fprintf(stderr, "\n%s", usage_text);
	} else {
		show_prompt(p);
		e = sb_loop_run(p->loop);
		if (e) {
			fprintf(stderr, "sbphone: event loop: %s\n", strerror(e));
			rc = EXIT_FAIL;
		} else {
			rc = p->exit_code;
		}
	}
	teardown(p);
	free(p);
	return rc;
}

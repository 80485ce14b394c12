/* bench_parse: how fast Switchboard's SIP parser does what a proxy needs,
 * next to libosip2 in the same run, on the same bytes.
 *
 * The mix is the .sip files in bench/messages: one call as a desk phone and
 * its proxy see it (INVITE with SDP, 100/180/200, ACK, BYE, REGISTER with
 * digest credentials).  For each message both parsers parse, then touch the
 * fields a proxy reads on every message: top Via branch, From and To tags,
 * Call-ID, CSeq number and method, the Route set (the first value parsed),
 * Max-Forwards and the first Contact (parsed).  Switchboard parses lazily, so
 * the touching is part of what is timed; libosip2 parses every header eagerly
 * and the touching is cheap for it.  Either way the figure is "message in,
 * proxy fields out", one thread, CLOCK_MONOTONIC.
 *
 * Before timing, both parsers must agree on every touched field of every
 * message; a message either parser rejects, or a disagreement, exits non-zero
 * so a broken parser can never report a speed.  See bench/README.md. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <osipparser2/osip_parser.h>

#include "switchboard/sip.h"

#ifndef BENCH_MESSAGES_DIR
#define BENCH_MESSAGES_DIR "bench/messages"
#endif
#ifndef BENCH_OSIP_VERSION
#define BENCH_OSIP_VERSION "unknown"
#endif

#define MAX_MESSAGES 64u
#define MAX_ROUNDS 5u

struct message {
	char name[64];
	char *buf; /* exactly len bytes: a read past the end is a real bug */
	size_t len;
	bool invite;
};

/* The fields a proxy touches, as both parsers see them.  Slices point into
 * the message (Switchboard) or into libosip2's copies. */
struct fields {
	struct sb_slice branch, from_tag, to_tag, cseq_method;
	struct sb_slice route_host, contact_user, contact_host;
	size_t call_id_len; /* libosip2 splits Call-ID at '@' */
	uint32_t cseq, max_forwards, nroute, contact_port;
	bool has_max_forwards, has_contact;
};

/* One parser under test: parse buf and fill *f; 0 or an errno value. */
struct parser {
	const char *name;
	int (*touch)(const struct message *msg, struct fields *f);
};

/* ------------------------------------------------------------ Switchboard */

/* Big (the header array is inline): one, reused, as a receive loop would. */
static struct sb_sip_msg sb_msg;

static int sb_touch(const struct message *msg, struct fields *f)
{
	struct sb_sip_msg *m = &sb_msg;
	int err = sb_sip_parse(m, msg->buf, msg->len, SB_SIP_DATAGRAM);
	if (err)
		return err;
	if (m->defect != SB_DEFECT_NONE)
		return EBADMSG;

	const struct sb_via *via;
	const struct sb_nameaddr *from, *to;
	const struct sb_cseq *cseq;
	struct sb_slice call_id;
	if ((err = sb_sip_msg_via(m, &via)) || (err = sb_sip_msg_from(m, &from)) ||
	    (err = sb_sip_msg_to(m, &to)) || (err = sb_sip_msg_call_id(m, &call_id)) ||
	    (err = sb_sip_msg_cseq(m, &cseq)))
		return err;
	f->branch = via->branch;
	f->from_tag = from->tag;
	f->to_tag = to->tag;
	f->call_id_len = call_id.l;
	f->cseq = cseq->num;
	f->cseq_method = cseq->method;

	err = sb_sip_msg_max_forwards(m, &f->max_forwards);
	if (err && err != ENOENT)
		return err;
	f->has_max_forwards = err == 0;

	/* RFC 3261 §16.4: a proxy looks at the top Route to see if it is its own */
	struct sb_sip_values it;
	struct sb_slice v;
	struct sb_nameaddr na;
	f->nroute = 0;
	f->route_host = SB_SLICE_NULL;
	sb_sip_values_init(&it, m, SB_HDR_ROUTE);
	while (sb_sip_values_next(&it, &v, NULL)) {
		if (f->nroute++ == 0) {
			if ((err = sb_nameaddr_parse(&na, v)))
				return err;
			f->route_host = na.uri.host;
		}
	}

	f->has_contact = false;
	sb_sip_values_init(&it, m, SB_HDR_CONTACT);
	if (sb_sip_values_next(&it, &v, NULL)) {
		if ((err = sb_nameaddr_parse(&na, v)))
			return err;
		f->has_contact = true;
		f->contact_user = na.uri.user;
		f->contact_host = na.uri.host;
		f->contact_port = na.uri.port;
	}
	return 0;
}

/* --------------------------------------------------------------- libosip2 */

static struct sb_slice cslice(const char *s)
{
	return s ? sb_slice_from(s, strlen(s)) : SB_SLICE_NULL;
}

static uint32_t cnum(const char *s)
{
	return s ? (uint32_t)strtoul(s, NULL, 10) : 0;
}

/* libosip2 owns its strings, so they die with the message: keep the message
 * of the last call alive until the next one (the verify pass compares the
 * fields after the call returns). */
static osip_message_t *osip_last;

static void osip_forget(void)
{
	if (osip_last) {
		osip_message_free(osip_last);
		osip_last = NULL;
	}
}

static int osip_touch(const struct message *msg, struct fields *f)
{
	osip_forget();
	osip_message_t *sip;
	if (osip_message_init(&sip) != 0)
		return ENOMEM;
	osip_last = sip;
	if (osip_message_parse(sip, msg->buf, msg->len) != 0)
		return EBADMSG;

	osip_via_t *via;
	osip_generic_param_t *p;
	osip_from_t *from = osip_message_get_from(sip);
	osip_to_t *to = osip_message_get_to(sip);
	osip_call_id_t *cid = osip_message_get_call_id(sip);
	osip_cseq_t *cseq = osip_message_get_cseq(sip);
	if (osip_message_get_via(sip, 0, &via) < 0 || !from || !to || !cid || !cseq)
		return EBADMSG;
	f->branch = osip_via_param_get_byname(via, "branch", &p) == 0 ? cslice(p->gvalue)
									: SB_SLICE_NULL;
	f->from_tag = osip_from_get_tag(from, &p) == 0 ? cslice(p->gvalue) : SB_SLICE_NULL;
	f->to_tag = osip_to_get_tag(to, &p) == 0 ? cslice(p->gvalue) : SB_SLICE_NULL;
	f->call_id_len = cslice(cid->number).l + (cid->host ? 1 + strlen(cid->host) : 0);
	f->cseq = cnum(cseq->number);
	f->cseq_method = cslice(cseq->method);

	osip_header_t *mf;
	f->has_max_forwards = osip_message_get_max_forwards(sip, 0, &mf) >= 0;
	f->max_forwards = f->has_max_forwards ? cnum(mf->hvalue) : 0;

	osip_route_t *r;
	f->nroute = 0;
	f->route_host = SB_SLICE_NULL;
	while (osip_message_get_route(sip, (int)f->nroute, &r) >= 0) {
		if (f->nroute++ == 0 && r->url)
			f->route_host = cslice(r->url->host);
	}

	osip_contact_t *c;
	f->has_contact = osip_message_get_contact(sip, 0, &c) >= 0 && c->url;
	if (f->has_contact) {
		f->contact_user = cslice(c->url->username);
		f->contact_host = cslice(c->url->host);
		f->contact_port = cnum(c->url->port);
	}
	return 0;
}

/* ---------------------------------------------------------------- harness */

static const struct parser parsers[2] = {
	{ "switchboard", sb_touch },
	{ "libosip2", osip_touch },
};

/* What the timed loop keeps of the fields, so none can be optimised away. */
static uint64_t fold(const struct fields *f)
{
	uint64_t s = f->branch.l + f->from_tag.l + f->to_tag.l + f->cseq_method.l +
		     f->route_host.l + f->call_id_len + f->cseq + f->nroute;
	if (f->has_max_forwards)
		s += f->max_forwards;
	if (f->has_contact)
		s += f->contact_user.l + f->contact_host.l + f->contact_port;
	return s;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t sink;       /* checksums of every timed run, printed */
static unsigned long fails; /* parses that failed inside timed runs */

/* Parse set[0..n) passes times over; returns the seconds taken. */
static double run(const struct parser *ps, struct message *const *set, size_t n,
		  uint64_t passes)
{
	uint64_t sum = 0;
	struct fields f = { 0 };
	double t0 = now();
	for (uint64_t i = 0; i < passes; i++) {
		for (size_t j = 0; j < n; j++) {
			if (ps->touch(set[j], &f) != 0)
				fails++;
			sum += fold(&f);
		}
	}
	double t = now() - t0;
	sink += sum;
	return t;
}

/* Warm caches and branch predictors for budget seconds; returns passes/s. */
static double calibrate(const struct parser *ps, struct message *const *set, size_t n,
			double budget)
{
	uint64_t passes = 1;
	for (;;) {
		double t = run(ps, set, n, passes);
		if (t >= budget)
			return (double)passes / t;
		passes *= 2;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct bench_case {
	const char *label;
	struct message *const *set;
	size_t n;
	size_t bytes;
	double round_budget; /* seconds per parser per round */
	uint64_t passes[2];
	double rate[2][MAX_ROUNDS]; /* messages/s per round */
	double median[2];
};

static bool slice_same(struct sb_slice a, struct sb_slice b)
{
	if (!a.p || !b.p)
		return !a.p && !b.p;
	return a.l == b.l && memcmp(a.p, b.p, a.l) == 0;
}

/* Both parsers must accept every message and agree on every field. */
static bool verify(struct message *msgs, size_t n)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		struct fields a = { 0 }, b = { 0 };
		int ea = sb_touch(&msgs[i], &a);
		int eb = osip_touch(&msgs[i], &b);
		if (ea)
			fprintf(stderr, "%s: switchboard failed: %s\n", msgs[i].name, strerror(ea));
		if (eb)
			fprintf(stderr, "%s: libosip2 failed: %s\n", msgs[i].name, strerror(eb));
		if (ea || eb) {
			ok = false;
			continue;
		}
		msgs[i].invite = sb_msg.mid == SB_METHOD_INVITE;
		const char *bad = NULL;
		if (!slice_same(a.branch, b.branch))
			bad = "Via branch";
		else if (!slice_same(a.from_tag, b.from_tag))
			bad = "From tag";
		else if (!slice_same(a.to_tag, b.to_tag))
			bad = "To tag";
		else if (a.call_id_len != b.call_id_len)
			bad = "Call-ID";
		else if (a.cseq != b.cseq || !slice_same(a.cseq_method, b.cseq_method))
			bad = "CSeq";
		else if (a.has_max_forwards != b.has_max_forwards ||
			 a.max_forwards != b.max_forwards)
			bad = "Max-Forwards";
		else if (a.nroute != b.nroute || !slice_same(a.route_host, b.route_host))
			bad = "Route";
		else if (a.has_contact != b.has_contact ||
			 (a.has_contact && (!slice_same(a.contact_user, b.contact_user) ||
					    !slice_same(a.contact_host, b.contact_host) ||
					    a.contact_port != b.contact_port)))
			bad = "Contact";
		if (bad) {
			fprintf(stderr, "%s: the parsers disagree on %s\n", msgs[i].name, bad);
			ok = false;
		}
	}
	return ok;
}

static int is_sip_file(const struct dirent *d)
{
	size_t l = strlen(d->d_name);
	return l > 4 && strcmp(d->d_name + l - 4, ".sip") == 0;
}

/* Read every .sip file in dir, in name order.  Returns the count, or 0 on error. */
static size_t load(const char *dir, struct message *msgs)
{
	struct dirent **names;
	int k = scandir(dir, &names, is_sip_file, alphasort);
	if (k < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 0;
	}
	size_t n = 0;
	bool ok = true;
	for (int i = 0; i < k; i++) {
		if (ok && n < MAX_MESSAGES) {
			struct message *m = &msgs[n];
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
			snprintf(m->name, sizeof m->name, "%.63s", names[i]->d_name);
			FILE *fp = fopen(path, "rb");
			long sz = -1;
			if (fp && fseek(fp, 0, SEEK_END) == 0)
				sz = ftell(fp);
			if (sz > 0 && fseek(fp, 0, SEEK_SET) == 0 && (m->buf = malloc((size_t)sz)) &&
			    fread(m->buf, 1, (size_t)sz, fp) == (size_t)sz) {
				m->len = (size_t)sz;
				n++;
			} else {
				fprintf(stderr, "%s: cannot read\n", path);
				ok = false;
			}
			if (fp)
				fclose(fp);
		}
		free(names[i]);
	}
	free(names);
	if (ok && n == 0)
		fprintf(stderr, "%s: no *.sip messages\n", dir);
	return ok ? n : 0;
}

static void cpu_model(char *out, size_t cap)
{
	snprintf(out, cap, "unknown CPU");
	FILE *fp = fopen("/proc/cpuinfo", "r");
	if (!fp)
		return;
	char line[512];
	while (fgets(line, sizeof line, fp)) {
		if (strncmp(line, "model name", 10) == 0) {
			const char *v = strchr(line, ':');
			if (v) {
				v += strspn(v + 1, " \t") + 1;
				snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
			}
			break;
		}
	}
	fclose(fp);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--quick] [--iterations N] [--messages DIR] [--profile NAME]\n"
		"  --quick         smoke run, about 50 ms per parser\n"
		"  --iterations N  N passes over the mix per round (and N x mix-size\n"
		"                  parses of each single message), instead of timing\n"
		"  --messages DIR  the .sip messages to parse (default %s)\n"
		"  --profile NAME  run only NAME (switchboard or libosip2) over the mix,\n"
		"                  about 3 s or N passes, for perf or callgrind\n",
		argv0, BENCH_MESSAGES_DIR);
}

int main(int argc, char **argv)
{
	bool quick = false;
	uint64_t iterations = 0;
	const char *dir = BENCH_MESSAGES_DIR;
	const struct parser *profile = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
			char *end;
			iterations = strtoull(argv[++i], &end, 10);
			if (*end || iterations == 0) {
				usage(argv[0]);
				return 2;
			}
		} else if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
			i++;
			for (size_t p = 0; p < SB_ARRAY_LEN(parsers); p++)
				if (strcmp(argv[i], parsers[p].name) == 0)
					profile = &parsers[p];
			if (!profile) {
				usage(argv[0]);
				return 2;
			}
		} else {
			usage(argv[0]);
			return 2;
		}
	}

	static struct message msgs[MAX_MESSAGES];
	size_t n = load(dir, msgs);
	if (n == 0)
		return 1;
	if (parser_init() != 0) {
		fprintf(stderr, "libosip2: parser_init failed\n");
		return 1;
	}
	bool agreed = verify(msgs, n);
	osip_forget();
	if (!agreed) {
		fprintf(stderr, "bench_parse: a parser failed on the mix; no figures\n");
		return 1;
	}

	/* Cases: the whole mix, then each message alone. */
	struct message *all[MAX_MESSAGES];
	size_t total_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		all[i] = &msgs[i];
		total_bytes += msgs[i].len;
	}
	if (profile) {
		/* nothing but the one parser in the loop, for a clean profile */
		uint64_t passes = iterations ? iterations
					     : (uint64_t)(calibrate(profile, all, n, 0.05) * 3.0) + 1;
		double t = run(profile, all, n, passes);
		printf("%s: %.0f msgs/s over the mix (%llu passes, checksum %llu)\n",
		       profile->name, (double)(passes * n) / t, (unsigned long long)passes,
		       (unsigned long long)sink);
		osip_forget();
		for (size_t i = 0; i < n; i++)
			free(msgs[i].buf);
		return fails ? 1 : 0;
	}
	static struct bench_case cases[MAX_MESSAGES + 1];
	size_t ncases = 0, invite_case = 0;
	unsigned rounds = quick ? 1 : MAX_ROUNDS;
	/* ~1 s per parser for the mix and for the INVITE, less for the rest;
	 * --quick: ~50 ms per parser in all */
	double main_budget = quick ? 0.02 : 0.2;
	double other_budget = quick ? 0.01 / (double)n : 0.03;
	double warm = quick ? 0.002 : 0.05;
	cases[ncases++] = (struct bench_case){ .label = "mix", .set = all, .n = n,
					       .bytes = total_bytes,
					       .round_budget = main_budget };
	for (size_t i = 0; i < n; i++) {
		size_t c = ncases++;
		if (msgs[i].invite && !invite_case)
			invite_case = c;
		cases[c] = (struct bench_case){
			.label = msgs[i].name, .set = &all[i], .n = 1, .bytes = msgs[i].len,
			.round_budget = invite_case == c ? main_budget : other_budget
		};
	}
	if (!invite_case) {
		fprintf(stderr, "bench_parse: no INVITE in %s\n", dir);
		return 1;
	}

	for (size_t c = 0; c < ncases; c++) {
		struct bench_case *bc = &cases[c];
		for (int p = 0; p < 2; p++) {
			if (iterations) {
				bc->passes[p] = c == 0 ? iterations : iterations * n;
				run(&parsers[p], bc->set, bc->n, bc->passes[p]);
			} else {
				double rate = calibrate(&parsers[p], bc->set, bc->n, warm);
				bc->passes[p] = (uint64_t)(rate * bc->round_budget) + 1;
			}
		}
	}
	/* Rounds interleave the parsers so that drift in clock speed or
	 * neighbours' load hits both alike; the median drops outliers. */
	for (unsigned r = 0; r < rounds; r++) {
		for (size_t c = 0; c < ncases; c++) {
			struct bench_case *bc = &cases[c];
			for (int p = 0; p < 2; p++) {
				double t = run(&parsers[p], bc->set, bc->n, bc->passes[p]);
				bc->rate[p][r] = (double)(bc->passes[p] * bc->n) / t;
			}
		}
	}
	if (fails) {
		fprintf(stderr, "bench_parse: %lu parses failed while timing\n", fails);
		return 1;
	}
	for (size_t c = 0; c < ncases; c++) {
		for (int p = 0; p < 2; p++) {
			double sorted[MAX_ROUNDS];
			memcpy(sorted, cases[c].rate[p], rounds * sizeof sorted[0]);
			qsort(sorted, rounds, sizeof sorted[0], cmp_double);
			cases[c].median[p] = sorted[rounds / 2];
		}
	}

	printf("SIP parse + proxy fields, msgs/s (median of %u round%s, one thread)\n", rounds,
	       rounds == 1 ? "" : "s");
	printf("%-20s %6s %12s %7s %12s %7s %7s\n", "message", "bytes", "switchboard", "ns/msg",
	       "libosip2", "ns/msg", "ratio");
	for (size_t c = 0; c < ncases; c++) {
		const struct bench_case *bc = &cases[c];
		char label[64];
		if (c == 0)
			snprintf(label, sizeof label, "mix (%zu messages)", n);
		else
			snprintf(label, sizeof label, "%s", bc->label);
		printf("%-20s %6zu %12.0f %7.0f %12.0f %7.0f %6.1fx\n", label, bc->bytes / bc->n,
		       bc->median[0], 1e9 / bc->median[0], bc->median[1], 1e9 / bc->median[1],
		       bc->median[0] / bc->median[1]);
	}
	printf("mix: %zu bytes in all (bytes above: the mean); %.0f MB/s switchboard, "
	       "%.0f MB/s libosip2\n",
	       total_bytes, cases[0].median[0] * (double)total_bytes / (double)n / 1e6,
	       cases[0].median[1] * (double)total_bytes / (double)n / 1e6);
	printf("checksum: %llu (fields agreed on all %zu messages)\n", (unsigned long long)sink,
	       n);

	char cpu[256], date[64];
	cpu_model(cpu, sizeof cpu);
	time_t t = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&t));
#if defined(__clang__)
	const char *cc = "clang " __clang_version__;
#elif defined(__GNUC__)
	const char *cc = "gcc " __VERSION__;
#else
	const char *cc = "cc";
#endif
	printf("machine: %s, %s, %s, libosip2 %s\n", cpu, date, cc, BENCH_OSIP_VERSION);

	osip_forget();
	for (size_t i = 0; i < n; i++)
		free(msgs[i].buf);
	const struct bench_case *inv = &cases[invite_case];
	printf("INVITE parses/s: %.0f (%.1fx libosip2)\n", inv->median[0],
	       inv->median[0] / inv->median[1]);
	return 0;
}

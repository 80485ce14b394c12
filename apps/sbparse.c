/* sbparse: read one SIP message from a file (or stdin), print its start
 * line, header fields, the typed values a proxy uses, and the verdict a
 * server gives it: what an operator reaches for with a captured message.
 *
 *   sbparse [--role proxy|uas|registrar] [--stream] FILE|-
 *
 * Exit status: 0 the message is acceptable, 1 it gets an error response or is
 * dropped, 2 bad usage or unreadable input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/sdp.h"
#include "switchboard/sip.h"

#define MAX_INPUT (SB_SIP_MAX_MSG_SIZE * 2u)

static void usage(FILE *to)
{
	fprintf(to, "usage: sbparse [--role proxy|uas|registrar] [--stream] FILE|-\n"
		    "Parses one SIP message and prints its fields and the verdict.\n");
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "sbparse: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_INPUT + 1);
	if (!buf) {
		fprintf(stderr, "sbparse: out of memory\n");
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, MAX_INPUT + 1, f);
	bool err = ferror(f);
	if (f != stdin)
		fclose(f);
	if (err) {
		fprintf(stderr, "sbparse: cannot read %s\n", path);
		free(buf);
		return NULL;
	}
	if (*len > MAX_INPUT) {
		fprintf(stderr, "sbparse: %s is larger than %u bytes\n", path, MAX_INPUT);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Print a slice with control bytes escaped, so odd input stays readable. */
static void put(struct sb_slice s)
{
	for (size_t i = 0; i < s.l; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void field(const char *label, struct sb_slice s)
{
	printf("  %-14s ", label);
	if (s.p)
		put(s);
	else
		fputs("(none)", stdout);
	putchar('\n');
}

static void print_typed(struct sb_sip_msg *m)
{
	const struct sb_via *via;
	const struct sb_nameaddr *na;
	const struct sb_cseq *cs;
	struct sb_slice cid;
	uint32_t mf;

	printf("typed values:\n");
	if (sb_sip_msg_via(m, &via) == 0) {
		field("via transport", via->transport);
		field("via host", via->host);
		if (via->port)
			printf("  %-14s %u\n", "via port", via->port);
		field("via branch", via->branch);
	} else {
		printf("  %-14s missing or malformed\n", "via");
	}
	if (sb_sip_msg_from(m, &na) == 0) {
		field("from uri", na->uri_s);
		field("from tag", na->tag);
	}
	if (sb_sip_msg_to(m, &na) == 0) {
		field("to uri", na->uri_s);
		field("to tag", na->tag);
	}
	if (sb_sip_msg_call_id(m, &cid) == 0)
		field("call-id", cid);
	if (sb_sip_msg_cseq(m, &cs) == 0) {
		printf("  %-14s %u ", "cseq", cs->num);
		put(cs->method);
		putchar('\n');
	}
	if (sb_sip_msg_max_forwards(m, &mf) == 0)
		printf("  %-14s %u\n", "max-forwards", mf);
	struct sb_sip_values it;
	struct sb_slice v;
	sb_sip_values_init(&it, m, SB_HDR_CONTACT);
	while (sb_sip_values_next(&it, &v, NULL)) {
		struct sb_nameaddr c;
		if (sb_nameaddr_parse(&c, v) == 0)
			field("contact", c.star ? SB_LIT("*") : c.uri_s);
		else
			field("contact (bad)", v);
	}
	printf("  %-14s %zu bytes\n", "body", m->body.l);
	const struct sb_sip_hdr *ct = sb_sip_hdr_first(m, SB_HDR_CONTENT_TYPE);
	struct sb_media_type mt;
	if (ct && sb_media_type_parse(&mt, ct->value) == 0) {
		printf("  %-14s ", "content-type");
		put(mt.type);
		putchar('/');
		put(mt.subtype);
		putchar('\n');
		static struct sb_sdp sdp; /* ~31 KiB: not on the stack */
		if (sb_media_type_is(&mt, "application", "sdp") && sb_sdp_parse(&sdp, m->body) == 0)
			printf("  %-14s %zu media stream(s)\n", "sdp", sdp.nmedia);
	}
}

int main(int argc, char **argv)
{
	enum sb_sip_role role = SB_ROLE_PROXY;
	enum sb_sip_transport_kind kind = SB_SIP_DATAGRAM;
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			const char *r = argv[++i];
			if (strcmp(r, "proxy") == 0)
				role = SB_ROLE_PROXY;
			else if (strcmp(r, "uas") == 0)
				role = SB_ROLE_UAS;
			else if (strcmp(r, "registrar") == 0)
				role = SB_ROLE_REGISTRAR;
			else {
				fprintf(stderr, "sbparse: unknown role '%s' (proxy, uas or registrar)\n", r);
				return 2;
			}
		} else if (strcmp(argv[i], "--stream") == 0) {
			kind = SB_SIP_STREAM;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "sbparse: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (!path) {
			path = argv[i];
		} else {
			fprintf(stderr, "sbparse: one message file at a time\n");
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}

	size_t len = 0;
	char *buf = read_all(path, &len);
	if (!buf)
		return 2;

	static struct sb_sip_msg m;
	size_t msg_len = len;
	if (kind == SB_SIP_STREAM) {
		struct sb_sip_frame f;
		int err = sb_sip_frame(buf, len, SB_SIP_MAX_MSG_SIZE, &f);
		if (err) {
			printf("framing: %s\n", err == ENODATA    ? "incomplete, waiting for more bytes"
						: err == EMSGSIZE ? "message too large (513, close)"
								  : "cannot be framed (close the connection)");
			free(buf);
			return 1;
		}
		msg_len = f.len;
	}
	int err = sb_sip_parse(&m, buf, msg_len, kind);
	if (err) {
		printf("verdict: drop (%s)\n", err == ENODATA ? "incomplete message" : "not a SIP message");
		free(buf);
		return 1;
	}

	printf("%s: ", m.is_request ? "request" : "response");
	put(m.start_line);
	printf("\nheaders (%u):\n", m.nhdrs);
	for (unsigned i = 0; i < m.nhdrs; i++) {
		const struct sb_sip_hdr *h = &m.hdrs[i];
		const char *canon = sb_sip_hdr_name((enum sb_sip_hdr_id)h->id);
		printf("  [%-19s] ", canon[0] ? canon : "unknown");
		put(h->name);
		fputs(": ", stdout);
		put(h->value);
		putchar('\n');
	}
	print_typed(&m);

	struct sb_sip_validate_cfg cfg = { .role = role };
	struct sb_sip_verdict v;
	int rc = 0;
	if (sb_sip_validate(&m, &cfg, &v) == 0) {
		printf("verdict: accept\n");
	} else if (v.drop) {
		printf("verdict: drop (%u %s)\n", v.code, v.reason);
		rc = 1;
	} else {
		printf("verdict: %u %s\n", v.code, v.reason);
		for (unsigned i = 0; i < v.nunsupported; i++) {
			printf("  unsupported: ");
			put(v.unsupported[i]);
			putchar('\n');
		}
		rc = 1;
	}
	free(buf);
	return rc;
}

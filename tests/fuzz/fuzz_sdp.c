/* libFuzzer target for the SDP parser and printer: any input must parse
 * without reading past it, and whatever parses must print to a body that
 * parses again to the same values (parse -> print -> parse).  Aborts when
 * the re-parse fails or differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_sdp: round trip differs: %s\n", what);
	abort();
}

static void same_slice(struct sb_slice a, struct sb_slice b, const char *what)
{
	if ((a.p == NULL) != (b.p == NULL) || !sb_slice_eq(a, b))
		fail(what);
}

static void same_conn(const struct sb_sdp_conn *a, const struct sb_sdp_conn *b)
{
	same_slice(a->nettype, b->nettype, "c nettype");
	same_slice(a->addrtype, b->addrtype, "c addrtype");
	same_slice(a->addr, b->addr, "c addr");
	same_slice(a->multicast, b->multicast, "c multicast");
	if (a->af != b->af)
		fail("c af");
}

static void same_attrs(const struct sb_sdp_attr *a, size_t na, const struct sb_sdp_attr *b,
		       size_t nb)
{
	if (na != nb)
		fail("attr count");
	for (size_t i = 0; i < na; i++) {
		same_slice(a[i].name, b[i].name, "attr name");
		same_slice(a[i].value, b[i].value, "attr value");
	}
}

static void same_media(const struct sb_sdp_media *a, const struct sb_sdp_media *b)
{
	same_slice(a->type, b->type, "m type");
	same_slice(a->proto, b->proto, "m proto");
	if (a->port != b->port || a->port_count != b->port_count || a->nfmt != b->nfmt)
		fail("m port/fmts");
	for (size_t i = 0; i < a->nfmt; i++)
		same_slice(a->fmts[i], b->fmts[i], "m fmt");
	same_slice(a->info, b->info, "m info");
	same_slice(a->key, b->key, "m key");
	same_conn(&a->conn, &b->conn);
	if (a->nbw != b->nbw || a->dir != b->dir || a->ptime != b->ptime ||
	    a->has_rtcp != b->has_rtcp || a->rtcp_port != b->rtcp_port)
		fail("m bw/dir/ptime/rtcp");
	same_conn(&a->rtcp_conn, &b->rtcp_conn);
	if (a->nrtpmap != b->nrtpmap || a->nfmtp != b->nfmtp)
		fail("rtpmap/fmtp count");
	for (size_t i = 0; i < a->nrtpmap; i++) {
		const struct sb_sdp_rtpmap *x = &a->rtpmap[i], *y = &b->rtpmap[i];
		same_slice(x->encoding, y->encoding, "rtpmap encoding");
		if (x->pt != y->pt || x->clock != y->clock || x->channels != y->channels)
			fail("rtpmap values");
	}
	/* fmtp lines are regrouped after their rtpmap: compare per pt */
	for (size_t i = 0; i < a->nfmtp; i++) {
		const struct sb_sdp_fmtp *x = sb_sdp_find_fmtp(a, a->fmtp[i].pt);
		const struct sb_sdp_fmtp *y = sb_sdp_find_fmtp(b, a->fmtp[i].pt);
		if (!x || !y)
			fail("fmtp pt");
		same_slice(x->params, y->params, "fmtp params");
	}
	same_attrs(a->attrs, a->nattr, b->attrs, b->nattr);
}

static void same(const struct sb_sdp *a, const struct sb_sdp *b)
{
	if (a->nmedia != b->nmedia)
		fail("media count");
	same_slice(a->origin.username, b->origin.username, "o username");
	same_slice(a->origin.addr, b->origin.addr, "o addr");
	if (a->origin.sess_id != b->origin.sess_id ||
	    a->origin.sess_version != b->origin.sess_version)
		fail("o numbers");
	same_slice(a->name, b->name, "s");
	same_slice(a->info, b->info, "i");
	same_slice(a->uri, b->uri, "u");
	same_slice(a->zone, b->zone, "z");
	same_slice(a->key, b->key, "k");
	if (a->nemail != b->nemail || a->nphone != b->nphone || a->nbw != b->nbw ||
	    a->ntime != b->ntime || a->dir != b->dir)
		fail("session counts");
	for (size_t i = 0; i < a->ntime; i++)
		if (a->times[i].start != b->times[i].start || a->times[i].stop != b->times[i].stop ||
		    a->times[i].nrepeat != b->times[i].nrepeat)
			fail("t");
	same_conn(&a->conn, &b->conn);
	same_attrs(a->attrs, a->nattr, b->attrs, b->nattr);
	for (size_t i = 0; i < a->nmedia; i++)
		same_media(&a->media[i], &b->media[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* two parses: on the heap, the struct is tens of KiB */
	struct sb_sdp *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	if (!a || !b)
		abort();
	if (sb_sdp_parse(a, sb_slice_from((const char *)data, size)) == 0) {
		struct sb_buf out;
		sb_buf_init(&out, 0);
		int err = sb_sdp_print(&out, a);
		if (err) {
			fprintf(stderr, "fuzz_sdp: print failed: %d\n", err);
			abort();
		}
		/* the printed bytes in an exact-size copy, so ASan sees overreads */
		char *copy = malloc(out.len ? out.len : 1);
		if (!copy)
			abort();
		memcpy(copy, out.p, out.len);
		if (sb_sdp_parse(b, sb_slice_from(copy, out.len)) != 0) {
			fprintf(stderr, "fuzz_sdp: re-parse failed:\n%.*s\n", (int)out.len, out.p);
			abort();
		}
		same(a, b);
		free(copy);
		sb_buf_free(&out);
	}
	free(a);
	free(b);
	return 0;
}

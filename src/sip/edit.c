/* sip/edit: edits to a received message, applied when it is printed again
 * (Kamailio's "lumps").  A proxy forwarding a request changes a handful of
 * things (RFC 3261 §16.6: Request-URI, a new Via, Max-Forwards, Record-Route)
 * and must pass everything else on unchanged, so the printer copies the
 * original bytes between edits with one memcpy per untouched run and never
 * re-serialises a field it did not touch: unknown headers, odd whitespace and
 * folded lines come through byte for byte.
 *
 * Each edit becomes an event at a byte offset of m->raw: "at this offset,
 * drop `skip` original bytes and write this instead".  Events are sorted by
 * offset (a handful, insertion sort) and applied in one pass; two events that
 * claim the same original bytes are a conflict (EINVAL). */
#include <errno.h>
#include <string.h>

#include "switchboard/sip.h"

#include "charclass.h"

void sb_sip_edits_init(struct sb_sip_edits *ed)
{
	ed->n = 0;
}

/* A new value goes on one line: a CR or LF in it would inject a field. */
static bool one_line(struct sb_slice s)
{
	return !s.l || (!memchr(s.p, '\r', s.l) && !memchr(s.p, '\n', s.l));
}

static int add(struct sb_sip_edits *ed, enum sb_sip_edit_op op, uint16_t hdr,
	       struct sb_slice name, struct sb_slice value)
{
	if (ed->n >= SB_SIP_MAX_EDITS)
		return ENOSPC;
	ed->e[ed->n++] = (struct sb_sip_edit){ .op = op, .hdr = hdr, .name = name, .value = value };
	return 0;
}

int sb_sip_edit_delete(struct sb_sip_edits *ed, uint16_t hdr)
{
	if (hdr >= SB_SIP_MAX_HEADERS)
		return EINVAL;
	return add(ed, SB_EDIT_DELETE, hdr, SB_SLICE_NULL, SB_SLICE_NULL);
}

int sb_sip_edit_replace(struct sb_sip_edits *ed, uint16_t hdr, struct sb_slice value)
{
	if (hdr >= SB_SIP_MAX_HEADERS || !value.p || !one_line(value))
		return EINVAL;
	return add(ed, SB_EDIT_REPLACE, hdr, SB_SLICE_NULL, value);
}

int sb_sip_edit_insert(struct sb_sip_edits *ed, uint16_t before, struct sb_slice name,
		       struct sb_slice value)
{
	if (before > SB_SIP_MAX_HEADERS || !sb_is_token(name) || !value.p || !one_line(value))
		return EINVAL;
	return add(ed, SB_EDIT_INSERT, before, name, value);
}

int sb_sip_edit_ruri(struct sb_sip_edits *ed, struct sb_slice ruri)
{
	if (!ruri.l || !one_line(ruri) || memchr(ruri.p, ' ', ruri.l))
		return EINVAL;
	return add(ed, SB_EDIT_RURI, SB_SIP_NO_HDR, SB_SLICE_NULL, ruri);
}

int sb_sip_edit_push_via(struct sb_sip_edits *ed, struct sb_slice via_value)
{
	if (!via_value.l || !one_line(via_value))
		return EINVAL;
	return add(ed, SB_EDIT_PUSH_VIA, SB_SIP_NO_HDR, SB_SLICE_NULL, via_value);
}

int sb_sip_edit_pop_via(struct sb_sip_edits *ed)
{
	return add(ed, SB_EDIT_POP_VIA, SB_SIP_NO_HDR, SB_SLICE_NULL, SB_SLICE_NULL);
}

int sb_sip_edit_body(struct sb_sip_edits *ed, struct sb_slice body)
{
	return add(ed, SB_EDIT_BODY, SB_SIP_NO_HDR, SB_SLICE_NULL, body);
}

/* What an event writes in place of the `skip` original bytes at `at`. */
enum ev_kind {
	EV_RAW,  /* value as is (Request-URI) */
	EV_LINE, /* "name: value\r\n"; nothing when name is absent (delete) */
	EV_BODY, /* value, in place of the original body */
};

/* Order of events at one offset: a pushed Via is the topmost field, inserts
 * before a field come before what happens to the field itself, and an
 * appended Content-Length follows the fields inserted at the end. */
enum ev_rank {
	RANK_FIRST,
	RANK_INSERT,
	RANK_FIELD,
	RANK_CLEN,
	RANK_EOH,
	RANK_BODY,
};

struct ev {
	const char *at;
	size_t skip;
	struct sb_slice name, value;
	uint8_t kind;
	uint8_t rank;
};

/* Every edit is one event; a body edit adds one per Content-Length field (or
 * one appended), a missing empty line one more.  More Content-Length
 * fields than this is not a message we forward. */
#define MAX_EVENTS (SB_SIP_MAX_EDITS + 8u)

struct evs {
	struct ev e[MAX_EVENTS];
	unsigned n;
};

static int push(struct evs *v, const char *at, size_t skip, struct sb_slice name,
		struct sb_slice value, enum ev_kind kind, enum ev_rank rank)
{
	if (v->n >= MAX_EVENTS)
		return EINVAL;
	v->e[v->n++] = (struct ev){ .at = at, .skip = skip, .name = name, .value = value,
				    .kind = (uint8_t)kind, .rank = (uint8_t)rank };
	return 0;
}

static bool before(const struct ev *a, const struct ev *b)
{
	return a->at < b->at || (a->at == b->at && a->rank < b->rank);
}

/* Stable, so inserts at one place keep the order they were recorded in. */
static void sort_events(struct evs *v)
{
	for (unsigned i = 1; i < v->n; i++) {
		struct ev x = v->e[i];
		unsigned j = i;
		for (; j > 0 && before(&x, &v->e[j - 1]); j--)
			v->e[j] = v->e[j - 1];
		v->e[j] = x;
	}
}

/* RFC 3261 §16.7 step 3 (a response going upstream): remove the topmost Via
 * value.  A field holding several values ("Via: a, b") keeps the others and
 * is rewritten from its remaining bytes; a field holding one goes. */
static int pop_via(struct evs *v, const struct sb_sip_msg *m)
{
	uint16_t i = m->first[SB_HDR_VIA];
	if (i == SB_SIP_NO_HDR)
		return EINVAL;
	const struct sb_sip_hdr *h = &m->hdrs[i];
	struct sb_slice rest = h->value, top;
	sb_sip_list_next(&rest, &top);
	/* what follows the first comma, without the LWS (maybe folded) and
	 * empty elements in front of the next value */
	while (rest.p && rest.l && (sb_is_lws(rest.p[0]) || rest.p[0] == ',')) {
		rest.p++;
		rest.l--;
	}
	if (!rest.p || !rest.l)
		return push(v, h->line.p, h->line.l, SB_SLICE_NULL, SB_SLICE_NULL, EV_LINE,
			    RANK_FIELD);
	return push(v, h->line.p, h->line.l, h->name, rest, EV_LINE, RANK_FIELD);
}

/* RFC 3261 §20.14: the new body's size replaces the value of the first
 * Content-Length field; repeats of it go (they held the old size), and a
 * message without one gets one after its last field. */
static int content_length(struct evs *v, const struct sb_sip_msg *m, struct sb_slice num,
			  const char *hdr_end)
{
	const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_CONTENT_LENGTH);
	if (!h)
		return push(v, hdr_end, 0, SB_LIT("Content-Length"), num, EV_LINE, RANK_CLEN);
	int err = push(v, h->line.p, h->line.l, h->name, num, EV_LINE, RANK_FIELD);
	while (!err && (h = sb_sip_hdr_next(m, h)))
		err = push(v, h->line.p, h->line.l, SB_SLICE_NULL, SB_SLICE_NULL, EV_LINE,
			   RANK_FIELD);
	return err;
}

/* Turn the recorded edits into events against m.  EINVAL for an edit that
 * does not fit m (a field index past its fields, a Request-URI for a
 * response, a pop without a Via) or repeats a one-per-message edit. */
static int build_events(struct evs *v, const struct sb_sip_msg *m, const struct sb_sip_edits *ed,
			char *numbuf, size_t numcap)
{
	const char *hdr_end = m->headers.p + m->headers.l;
	const struct sb_sip_edit *body = NULL;
	bool ruri = false, pushed = false, popped = false;
	int err = 0;

	if (ed->n > SB_SIP_MAX_EDITS)
		return EINVAL;
	for (unsigned k = 0; k < ed->n && !err; k++) {
		const struct sb_sip_edit *e = &ed->e[k];
		switch (e->op) {
		case SB_EDIT_DELETE:
		case SB_EDIT_REPLACE: {
			if (e->hdr >= m->nhdrs)
				return EINVAL;
			const struct sb_sip_hdr *h = &m->hdrs[e->hdr];
			/* the name as written: a compact "v" stays compact */
			bool del = e->op == SB_EDIT_DELETE;
			err = push(v, h->line.p, h->line.l, del ? SB_SLICE_NULL : h->name,
				   e->value, EV_LINE, RANK_FIELD);
			break;
		}
		case SB_EDIT_INSERT: {
			if (e->hdr > m->nhdrs)
				return EINVAL;
			const char *at = e->hdr == m->nhdrs ? hdr_end : m->hdrs[e->hdr].line.p;
			err = push(v, at, 0, e->name, e->value, EV_LINE, RANK_INSERT);
			break;
		}
		case SB_EDIT_RURI:
			if (!m->is_request || ruri)
				return EINVAL;
			ruri = true;
			err = push(v, m->ruri.p, m->ruri.l, SB_SLICE_NULL, e->value, EV_RAW,
				   RANK_FIELD);
			break;
		case SB_EDIT_PUSH_VIA:
			/* RFC 3261 §16.6 step 8: the new Via goes above all others */
			if (pushed)
				return EINVAL;
			pushed = true;
			err = push(v, m->headers.p, 0, SB_LIT("Via"), e->value, EV_LINE,
				   RANK_FIRST);
			break;
		case SB_EDIT_POP_VIA:
			if (popped)
				return EINVAL;
			popped = true;
			err = pop_via(v, m);
			break;
		case SB_EDIT_BODY:
			if (body)
				return EINVAL;
			body = e;
			err = push(v, m->body.p, m->body.l, SB_SLICE_NULL, e->value, EV_BODY,
				   RANK_BODY);
			break;
		default:
			return EINVAL;
		}
	}
	/* RFC 3261 §7: the empty line ends the header section; a datagram that
	 * had none (SB_DEFECT_NO_EMPTY_LINE) gets one, so what we print always
	 * frames */
	if (!err && m->body.p == hdr_end)
		err = push(v, hdr_end, 0, SB_SLICE_NULL, SB_LIT("\r\n"), EV_RAW, RANK_EOH);
	if (err || !body)
		return err;

	struct sb_buf num;
	sb_buf_init_fixed(&num, numbuf, numcap);
	if (sb_buf_append_u64(&num, body->value.l))
		return EINVAL;
	return content_length(v, m, sb_buf_slice(&num), hdr_end);
}

int sb_sip_print_edited(struct sb_buf *out, const struct sb_sip_msg *m,
			const struct sb_sip_edits *ed)
{
	struct evs v;
	char num[20]; /* the new Content-Length: UINT64_MAX has 20 digits */
	v.n = 0;
	int err = build_events(&v, m, ed, num, sizeof num);
	if (err)
		return err;
	sort_events(&v);
	if (out->err)
		return out->err;

	size_t len0 = out->len;
	const char *cur = m->raw.p, *end = m->raw.p + m->raw.l;
	for (unsigned k = 0; k < v.n; k++) {
		const struct ev *e = &v.e[k];
		/* two events claiming the same original bytes: e.g. a delete and a
		 * replace of one field, or a pop of a Via field that is replaced */
		if (e->at < cur) {
			out->len = len0;
			return EINVAL;
		}
		sb_buf_append(out, cur, (size_t)(e->at - cur)); /* untouched run */
		/* a datagram's last field may lack its line end (the parser's
		 * SB_DEFECT_NO_EMPTY_LINE): end that line before a new field or
		 * the empty line follows it */
		bool starts_line = (e->kind == EV_LINE && e->name.p) || e->rank == RANK_EOH;
		if (starts_line && out->len > len0 && out->p[out->len - 1] != '\n')
			sb_buf_append(out, "\r\n", 2);
		switch ((enum ev_kind)e->kind) {
		case EV_RAW:
			sb_buf_append_slice(out, e->value);
			break;
		case EV_LINE:
			if (!e->name.p)
				break;
			sb_buf_append_slice(out, e->name);
			sb_buf_append(out, ": ", 2);
			sb_buf_append_slice(out, e->value);
			sb_buf_append(out, "\r\n", 2);
			break;
		case EV_BODY:
			sb_buf_append(out, e->value.p, e->value.l);
			break;
		}
		cur = e->at + e->skip;
	}
	sb_buf_append(out, cur, (size_t)(end - cur));

	if (out->err) {
		out->len = len0;
		return out->err;
	}
	return 0;
}

/* sip/ext_hdrs: typed values of the extension and informational headers a
 * proxy and a phone act on: Replaces (RFC 3891), Event and
 * Subscription-State (RFC 6665), Reason (RFC 3326), Retry-After and Warning
 * (RFC 3261), and the option-tag/method lists (Require, Supported, Allow...).
 * Each parser takes one header value (a caller splits comma lists with
 * sb_sip_values_next), makes one pass, copies nothing, and answers 0 or
 * EBADMSG.  Quoted values come back without their quotes, still escaped. */
#include <errno.h>

#include "switchboard/sip.h"

#include "charclass.h"

/* ------------------------------------------------------------- lexing */

/* RFC 3261 §25.1: word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
 * "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" /
 * "[" / "]" / "?" / "{" / "}" ), the alphabet of a Call-ID. */
static bool is_wordchar(unsigned char c)
{
	if (sb_is_tchar(c))
		return true;
	switch (c) {
	case '(': case ')': case '<': case '>': case ':': case '\\': case '"':
	case '/': case '[': case ']': case '?': case '{': case '}':
		return true;
	default:
		return false;
	}
}

static const char *scan_digits(const char *p, const char *end)
{
	while (p < end && sb_is_digit(*p))
		p++;
	return p;
}

/* p at '['.  RFC 3261 §25.1 IPv6reference = "[" IPv6address "]": the
 * characters only; sb_uri checks the address itself. */
static const char *scan_v6ref(const char *p, const char *end)
{
	const char *s = ++p;
	while (p < end && (sb_is_digit(*p) || (*p >= 'a' && *p <= 'f') ||
			   (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
		p++;
	if (p == s || p == end || *p != ']')
		return NULL;
	return p + 1;
}

/* Parse a whole slice as delta-seconds (RFC 3261 §25.1: 1*DIGIT).  Values past
 * 2^32-1 are malformed (RFC 4475 §3.1.2.5 scalarlg), not clamped. */
static int to_u32(struct sb_slice s, uint32_t *out)
{
	return sb_slice_to_u32(s, out) ? EBADMSG : 0;
}

/* ';'-separated header parameters.  RFC 3261 §25.1:
 *   generic-param = token [ EQUAL gen-value ]
 *   gen-value     = token / host / quoted-string
 * with SEMI = SWS ";" SWS and EQUAL = SWS "=" SWS. */
struct param {
	struct sb_slice name;
	struct sb_slice value; /* p == NULL: a flag; quoted: without quotes */
	bool quoted;
};

/* c points after SWS at ';' or the end.  0 with *pr filled, ENOENT at the
 * end, EBADMSG when malformed.  Leaves *c after SWS following the param. */
static int param_next(const char **c, const char *end, struct param *pr)
{
	const char *p = *c;
	if (p == end)
		return ENOENT;
	if (*p != ';')
		return EBADMSG;
	p = sb_skip_sws(p + 1, end);
	const char *n = p;
	p = sb_scan_token(p, end);
	if (p == n)
		return EBADMSG;
	*pr = (struct param){ .name = { n, (size_t)(p - n) } };
	p = sb_skip_sws(p, end);
	if (p < end && *p == '=') {
		p = sb_skip_sws(p + 1, end);
		if (p == end)
			return EBADMSG;
		const char *v = p;
		if (*p == '"') {
			p = sb_scan_quoted(p, end, &pr->value);
			if (!p)
				return EBADMSG;
			pr->quoted = true;
		} else {
			if (*p == '[') {
				p = scan_v6ref(p, end);
				if (!p)
					return EBADMSG;
			} else {
				p = sb_scan_token(p, end);
			}
			if (p == v)
				return EBADMSG;
			pr->value = (struct sb_slice){ v, (size_t)(p - v) };
		}
		p = sb_skip_sws(p, end);
	}
	*c = p;
	return 0;
}

static bool name_is(const struct param *pr, const char *name)
{
	return sb_slice_caseeq_cstr(pr->name, name);
}

/* A parameter whose grammar is "name EQUAL token": present once, with an
 * unquoted token value. */
static int take_token(const struct param *pr, struct sb_slice *dst)
{
	if (dst->p || !pr->value.p || pr->quoted)
		return EBADMSG;
	*dst = pr->value;
	return 0;
}

static int take_u32(const struct param *pr, bool *has, uint32_t *dst)
{
	if (*has || !pr->value.p || pr->quoted)
		return EBADMSG;
	*has = true;
	return to_u32(pr->value, dst);
}

static bool trimmed(struct sb_slice value, const char **p, const char **end)
{
	struct sb_slice v = sb_slice_trim(value);
	if (!v.p || v.l == 0)
		return false;
	*p = v.p;
	*end = v.p + v.l;
	return true;
}

/* The common head "token *(SEMI param)": value trimmed, its leading token in
 * *tok, *p after the SWS that follows it (at ';' or the end when well
 * formed; param_next checks).  False when there is no token. */
static bool lead_token(struct sb_slice value, const char **p, const char **end,
		       struct sb_slice *tok)
{
	if (!trimmed(value, p, end))
		return false;
	const char *s = *p;
	const char *e = sb_scan_token(s, *end);
	if (e == s)
		return false;
	*tok = (struct sb_slice){ s, (size_t)(e - s) };
	*p = sb_skip_sws(e, *end);
	return true;
}

/* ----------------------------------------------------------- Replaces */

/* RFC 3891 §6.1:
 *   Replaces = "Replaces" HCOLON callid *(SEMI replaces-param)
 *   replaces-param = to-tag / from-tag / early-flag / generic-param
 *   to-tag = "to-tag" EQUAL token     from-tag = "from-tag" EQUAL token
 *   early-flag = "early-only"
 *   callid = word [ "@" word ] */
int sb_replaces_parse(struct sb_replaces *r, struct sb_slice value)
{
	*r = (struct sb_replaces){ 0 };
	const char *p, *end;
	if (!trimmed(value, &p, &end))
		return EBADMSG;
	const char *s = p;
	while (p < end && is_wordchar((unsigned char)*p))
		p++;
	if (p == s)
		return EBADMSG;
	if (p < end && *p == '@') {
		const char *w = ++p;
		while (p < end && is_wordchar((unsigned char)*p))
			p++;
		if (p == w)
			return EBADMSG;
	}
	r->call_id = (struct sb_slice){ s, (size_t)(p - s) };
	p = sb_skip_sws(p, end);

	struct param pr;
	int err;
	while ((err = param_next(&p, end, &pr)) == 0) {
		if (name_is(&pr, "to-tag")) {
			err = take_token(&pr, &r->to_tag);
		} else if (name_is(&pr, "from-tag")) {
			err = take_token(&pr, &r->from_tag);
		} else if (name_is(&pr, "early-only")) {
			/* a flag: a value or a second one is malformed */
			if (pr.value.p || r->early_only)
				err = EBADMSG;
			r->early_only = true;
		}
		if (err)
			return err;
	}
	if (err != ENOENT)
		return err;
	/* RFC 3891 §6.1: exactly one to-tag and one from-tag. */
	if (!r->to_tag.p || !r->from_tag.p)
		return EBADMSG;
	return 0;
}

/* -------------------------------------------------------------- Event */

/* RFC 6665 §8.2.1 (ABNF §8.4):
 *   Event = ( "Event" / "o" ) HCOLON event-type *( SEMI event-param )
 *   event-type = event-package *( "." event-template )
 *   event-package = token-nodot   event-template = token-nodot
 *   event-param = generic-param / ( "id" EQUAL token ) */
int sb_event_parse(struct sb_event *e, struct sb_slice value)
{
	*e = (struct sb_event){ 0 };
	const char *p, *end;
	if (!trimmed(value, &p, &end))
		return EBADMSG;
	const char *s = p;
	for (;;) {
		const char *seg = p;
		while (p < end && *p != '.' && sb_is_tchar((unsigned char)*p))
			p++;
		if (p == seg)
			return EBADMSG; /* empty package or template: "a..b", ".a", "a." */
		if (p < end && *p == '.') {
			p++;
			continue;
		}
		break;
	}
	e->type = (struct sb_slice){ s, (size_t)(p - s) };
	p = sb_skip_sws(p, end);
	if (p < end && *p == ';') {
		const char *ps = sb_skip_sws(p + 1, end);
		e->params = (struct sb_slice){ ps, (size_t)(end - ps) };
	}

	struct param pr;
	int err;
	while ((err = param_next(&p, end, &pr)) == 0) {
		if (name_is(&pr, "id")) {
			err = take_token(&pr, &e->id);
			if (err)
				return err;
		}
	}
	return err == ENOENT ? 0 : err;
}

/* ------------------------------------------------- Subscription-State */

/* RFC 6665 §8.2.3 (ABNF §8.4):
 *   Subscription-State = "Subscription-State" HCOLON substate-value
 *                        *( SEMI subexp-params )
 *   substate-value = "active" / "pending" / "terminated" / extension-substate
 *   subexp-params = ("reason" EQUAL event-reason-value)
 *                 / ("expires" EQUAL delta-seconds)
 *                 / ("retry-after" EQUAL delta-seconds) / generic-param */
int sb_substate_parse(struct sb_substate *st, struct sb_slice value)
{
	*st = (struct sb_substate){ 0 };
	const char *p, *end;
	if (!lead_token(value, &p, &end, &st->state))
		return EBADMSG;

	struct param pr;
	int err;
	while ((err = param_next(&p, end, &pr)) == 0) {
		if (name_is(&pr, "reason"))
			err = take_token(&pr, &st->reason);
		else if (name_is(&pr, "expires"))
			err = take_u32(&pr, &st->has_expires, &st->expires);
		else if (name_is(&pr, "retry-after"))
			err = take_u32(&pr, &st->has_retry_after, &st->retry_after);
		if (err)
			return err;
	}
	return err == ENOENT ? 0 : err;
}

/* ------------------------------------------------------------- Reason */

/* RFC 3326 §2 (one reason-value; the header is a comma list of them):
 *   reason-value = protocol *(SEMI reason-params)
 *   protocol = "SIP" / "Q.850" / token
 *   reason-params = protocol-cause / reason-text / reason-extension
 *   protocol-cause = "cause" EQUAL cause      cause = 1*DIGIT
 *   reason-text = "text" EQUAL quoted-string
 * text is accepted as a token too (some gateways send text=Busy): the value
 * is unambiguous and only informational. */
int sb_reason_parse(struct sb_reason *r, struct sb_slice value)
{
	*r = (struct sb_reason){ 0 };
	const char *p, *end;
	if (!lead_token(value, &p, &end, &r->protocol))
		return EBADMSG;

	struct param pr;
	int err;
	while ((err = param_next(&p, end, &pr)) == 0) {
		if (name_is(&pr, "cause")) {
			uint32_t v;
			if (take_u32(&pr, &r->has_cause, &v))
				return EBADMSG;
			r->cause = v;
		} else if (name_is(&pr, "text")) {
			if (r->text.p || !pr.value.p)
				return EBADMSG;
			r->text = pr.value;
		}
	}
	return err == ENOENT ? 0 : err;
}

/* -------------------------------------------------------- Retry-After */

/* p at '('.  RFC 3261 §25.1:
 *   comment = LPAREN *(ctext / quoted-pair / comment) RPAREN
 *   ctext = %x21-27 / %x2A-5B / %x5D-7E / UTF8-NONASCII / LWS
 * Nesting is counted, not recursed into, so depth costs no stack.  *inner
 * gets the text between the outer parentheses, LWS trimmed. */
static const char *scan_comment(const char *p, const char *end, struct sb_slice *inner)
{
	const char *start = ++p;
	size_t depth = 1;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '(') {
			depth++;
			p++;
		} else if (c == ')') {
			if (--depth == 0) {
				*inner = sb_slice_trim((struct sb_slice){ start, (size_t)(p - start) });
				return p + 1;
			}
			p++;
		} else {
			p = sb_qtext_step(p, end); /* ctext or quoted-pair */
			if (!p)
				return NULL;
		}
	}
	return NULL;
}

/* RFC 3261 §20.33, §25.1:
 *   Retry-After = "Retry-After" HCOLON delta-seconds [ comment ]
 *                 *( SEMI retry-param )
 *   retry-param = ("duration" EQUAL delta-seconds) / generic-param */
int sb_retry_after_parse(struct sb_retry_after *r, struct sb_slice value)
{
	*r = (struct sb_retry_after){ 0 };
	const char *p, *end;
	if (!trimmed(value, &p, &end))
		return EBADMSG;
	const char *s = p;
	p = scan_digits(p, end);
	if (p == s)
		return EBADMSG;
	/* RFC 4475 §3.1.2.5 scalarlg: 949302838503028349304023988 is
	 * malformed, not clamped. */
	if (to_u32((struct sb_slice){ s, (size_t)(p - s) }, &r->delta))
		return EBADMSG;
	p = sb_skip_sws(p, end);
	if (p < end && *p == '(') {
		p = scan_comment(p, end, &r->comment);
		if (!p)
			return EBADMSG;
		p = sb_skip_sws(p, end);
	}

	struct param pr;
	int err;
	while ((err = param_next(&p, end, &pr)) == 0) {
		if (name_is(&pr, "duration")) {
			err = take_u32(&pr, &r->has_duration, &r->duration);
			if (err)
				return err;
		}
	}
	return err == ENOENT ? 0 : err;
}

/* ------------------------------------------------------------ Warning */

/* RFC 3261 §20.43, §25.1 (one warning-value):
 *   warning-value = warn-code SP warn-agent SP warn-text
 *   warn-code = 3DIGIT
 *   warn-agent = hostport / pseudonym      pseudonym = token
 *   warn-text = quoted-string
 * SP is taken as LWS: folding is legal anywhere LWS is. */
int sb_warning_parse(struct sb_warning *w, struct sb_slice value)
{
	*w = (struct sb_warning){ 0 };
	const char *p, *end;
	if (!trimmed(value, &p, &end))
		return EBADMSG;
	/* exactly three digits: RFC 4475 §3.1.2.5 scalarlg's "1812" is malformed */
	const char *s = p;
	p = scan_digits(p, end);
	if (p - s != 3)
		return EBADMSG;
	w->code = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
	const char *q = sb_skip_sws(p, end);
	if (q == p)
		return EBADMSG;
	p = q;

	/* warn-agent: host = hostname / IPv4address / IPv6reference, all of
	 * whose characters but "[:]" are token characters, then [":" port] */
	s = p;
	if (p < end && *p == '[') {
		p = scan_v6ref(p, end);
		if (!p)
			return EBADMSG;
	} else {
		p = sb_scan_token(p, end);
		if (p == s)
			return EBADMSG;
	}
	if (p < end && *p == ':') {
		const char *d = ++p;
		p = scan_digits(p, end);
		uint64_t port;
		if (p == d || sb_slice_to_u64((struct sb_slice){ d, (size_t)(p - d) },
					      65535, &port) != 0)
			return EBADMSG;
	}
	w->agent = (struct sb_slice){ s, (size_t)(p - s) };
	q = sb_skip_sws(p, end);
	if (q == p || q == end || *q != '"')
		return EBADMSG;
	p = sb_scan_quoted(q, end, &w->text);
	if (!p)
		return EBADMSG;
	p = sb_skip_sws(p, end);
	return p == end ? 0 : EBADMSG;
}

/* ------------------------------------------------- option-tag lists */

/* --------------------------------------------------------- Content-Type */

/* RFC 3261 §20.15 / §25.1:
 *   Content-Type = ( "Content-Type" / "c" ) HCOLON media-type
 *   media-type = m-type SLASH m-subtype *(SEMI m-parameter)
 *   m-parameter = m-attribute EQUAL m-value  (token / quoted-string)
 * The type and subtype are tokens compared case-insensitively (§7.3.1). */
int sb_media_type_parse(struct sb_media_type *mt, struct sb_slice value)
{
	*mt = (struct sb_media_type){ 0 };
	const char *p, *end;
	if (!lead_token(value, &p, &end, &mt->type))
		return EBADMSG;
	if (p >= end || *p != '/')
		return EBADMSG;
	p = sb_skip_sws(p + 1, end);
	const char *s = p;
	p = sb_scan_token(p, end);
	if (p == s)
		return EBADMSG;
	mt->subtype = (struct sb_slice){ s, (size_t)(p - s) };
	p = sb_skip_sws(p, end);
	if (p < end) {
		const char *ps = sb_skip_sws(p + 1, end);
		mt->params = (struct sb_slice){ ps, (size_t)(end - ps) };
	}
	struct param pr;
	int err;
	while ((err = param_next(&p, end, &pr)) == 0) {
		if (!pr.value.p)
			return EBADMSG; /* m-parameter always has a value */
	}
	return err == ENOENT ? 0 : err;
}

bool sb_media_type_is(const struct sb_media_type *mt, const char *type, const char *subtype)
{
	return sb_slice_caseeq_cstr(mt->type, type) && sb_slice_caseeq_cstr(mt->subtype, subtype);
}

/* Case rules differ by list:
 * - Allow lists methods, and RFC 3261 §7.1 makes the method token
 *   case-sensitive ("invite" is not INVITE).
 * - Require, Proxy-Require, Supported, Unsupported list option tags, which
 *   RFC 3261 §19.2 defines as "option-tag = token", and §7.3.1 says "Tokens
 *   are always case-insensitive"; no section overrides that for option tags,
 *   so "100REL" names 100rel.  Other lists (Allow-Events...) follow §7.3.1
 *   too. */
bool sb_sip_has_token(const struct sb_sip_msg *m, enum sb_sip_hdr_id id, struct sb_slice tag)
{
	if (!m || id <= SB_HDR_OTHER || id >= SB_HDR__COUNT || !tag.p || tag.l == 0)
		return false;
	bool exact = id == SB_HDR_ALLOW;
	struct sb_sip_values it;
	struct sb_slice v;
	sb_sip_values_init(&it, m, id);
	while (sb_sip_values_next(&it, &v, NULL)) {
		v = sb_slice_trim(v);
		if (exact ? sb_slice_eq(v, tag) : sb_slice_caseeq(v, tag))
			return true;
	}
	return false;
}

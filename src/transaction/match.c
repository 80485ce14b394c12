/* transaction/match: the keys under which transactions are found.
 *
 * A key is a byte string, built so that two messages of one transaction give
 * equal keys and messages of different transactions give different ones; the
 * hash table then does the matching with one lookup.  Fields are written
 * with a two-byte length in front, so no field value (which may hold any
 * byte) can run into the next one.  The first byte tells the kinds apart:
 *   'C'  client, RFC 3261 §17.1.3: method, branch
 *   'S'  server, RFC 3261 §17.2.3: method, branch, sent-by
 *   '2'  server, RFC 2543 fallback (§17.2.3): method, Request-URI, From tag,
 *        Call-ID, CSeq number, top Via, and To tag for non-INVITE
 * An ACK is keyed with method INVITE so that it finds its INVITE. */
#include <errno.h>
#include <string.h>

#include "tsx_int.h"

#define MAGIC_COOKIE "z9hG4bK"

bool tsx_branch_3261(struct sb_slice branch)
{
	/* RFC 4475 §3.1.2.13 badbranch: a branch that is exactly the cookie is
	 * not unique, so it cannot be trusted as a key */
	size_t n = sizeof(MAGIC_COOKIE) - 1;
	return branch.p && branch.l > n && memcmp(branch.p, MAGIC_COOKIE, n) == 0;
}

/* Append raw bytes; past the bound only the length grows, and key_done()
 * reports E2BIG. */
static void put(struct tsx_key *k, const void *p, size_t l)
{
	if (l && l <= sizeof k->b && k->len <= sizeof k->b - l)
		memcpy(k->b + k->len, p, l);
	k->len += l;
}

static void put_byte(struct tsx_key *k, char c)
{
	put(k, &c, 1);
}

/* s in lower case (ASCII), checked once for room rather than per byte. */
static void put_lower(struct tsx_key *k, struct sb_slice s)
{
	if (s.l > sizeof k->b || k->len > sizeof k->b - s.l) {
		k->len += s.l; /* key_done() reports E2BIG */
		return;
	}
	char *o = k->b + k->len;
	for (size_t i = 0; i < s.l; i++) {
		char c = s.p[i];
		o[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	k->len += s.l;
}

/* A field: its length in two bytes (big endian), then its bytes. */
static void put_field(struct tsx_key *k, struct sb_slice s)
{
	if (s.l > 0xffff) {
		k->len += sizeof k->b + 1; /* cannot fit: E2BIG */
		return;
	}
	unsigned char len[2] = { (unsigned char)(s.l >> 8), (unsigned char)s.l };
	put(k, len, 2);
	put(k, s.p, s.l);
}

/* Decimal digits of v into buf (at least 10 bytes); returns the length. */
static size_t u32_dec(uint32_t v, char *buf)
{
	char tmp[10];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(buf, tmp + i, sizeof tmp - i);
	return sizeof tmp - i;
}

static int key_done(const struct tsx_key *k)
{
	return k->len <= sizeof k->b ? 0 : E2BIG;
}

int tsx_key_client(struct tsx_key *k, struct sb_slice method, struct sb_slice branch)
{
	k->len = 0;
	k->rfc2543 = false;
	/* RFC 3261 §17.1.3: the branch of the top Via and the CSeq method */
	put_byte(k, 'C');
	put_field(k, method);
	put_field(k, branch);
	return key_done(k);
}

/* The first Via value of m as written (the whole value, for RFC 2543). */
static struct sb_slice top_via_value(const struct sb_sip_msg *m)
{
	struct sb_sip_values it;
	struct sb_slice v = SB_SLICE_NULL;
	sb_sip_values_init(&it, m, SB_HDR_VIA);
	if (!sb_sip_values_next(&it, &v, NULL))
		return SB_SLICE_NULL;
	return v;
}

static int key_2543(struct tsx_key *k, struct sb_sip_msg *m, struct sb_slice method)
{
	const struct sb_nameaddr *from, *to;
	const struct sb_cseq *cseq;
	struct sb_slice call_id;
	if (sb_sip_msg_from(m, &from) || sb_sip_msg_call_id(m, &call_id) ||
	    sb_sip_msg_cseq(m, &cseq))
		return EBADMSG;
	struct sb_slice via = top_via_value(m);
	if (!via.p)
		return EBADMSG;
	char num[10];
	size_t nl = u32_dec(cseq->num, num);

	k->rfc2543 = true;
	put_byte(k, '2');
	put_field(k, method);
	/* RFC 3261 §17.2.3 (RFC 2543 compatibility): "the Request-URI, To tag,
	 * From tag, Call-ID, CSeq, and top Via header field match those of the
	 * request that created the transaction" */
	put_field(k, m->ruri);
	put_field(k, from->tag);
	put_field(k, call_id);
	put_field(k, sb_slice_from(num, nl));
	put_field(k, via);
	/* the To tag of an ACK is compared with the response sent, not with the
	 * INVITE (it gained one from that response), so INVITE keys leave it
	 * out; see tsx_server_recv */
	if (!sb_slice_eq(method, SB_LIT("INVITE"))) {
		if (sb_sip_msg_to(m, &to))
			return EBADMSG;
		put_field(k, to->tag);
	}
	return key_done(k);
}

int tsx_key_server(struct tsx_key *k, struct sb_sip_msg *m, struct sb_slice method)
{
	const struct sb_via *via;
	k->len = 0;
	k->rfc2543 = false;
	if (sb_sip_msg_via(m, &via))
		return EBADMSG;
	if (!tsx_branch_3261(via->branch))
		return key_2543(k, m, method);

	/* RFC 3261 §17.2.3: the branch, the sent-by of the top Via, and the
	 * method (ACK matching INVITE) */
	put_byte(k, 'S');
	put_field(k, method);
	put_field(k, via->branch);
	/* sent-by: host compared case-insensitively (RFC 3261 §19.1.4 treats
	 * host names so), the port as written (absent is not 5060) */
	if (via->host.l > SB_TSX_MAX_KEY)
		return E2BIG;
	char port[10];
	size_t pl = via->port ? u32_dec(via->port, port) : 0;
	size_t fl = via->host.l + (pl ? 1 + pl : 0);
	unsigned char len[2] = { (unsigned char)(fl >> 8), (unsigned char)fl };
	put(k, len, 2);
	put_lower(k, via->host);
	if (pl) {
		put_byte(k, ':');
		put(k, port, pl);
	}
	return key_done(k);
}

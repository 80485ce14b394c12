/* libFuzzer target for the authentication and extension header parsers:
 * every input is handed, as one header value, to each of them.  They must
 * never read outside the slice, and every slice they return must lie inside
 * it (checked here, so a bad offset fails even when it reads mapped bytes). */
#include <stdint.h>
#include <stdlib.h>

#include "switchboard/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct sb_slice in, struct sb_slice s)
{
	if (!s.p)
		return;
	if (s.p < in.p || s.l > in.l || (size_t)(s.p - in.p) > in.l - s.l)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in = sb_slice_from((const char *)data, size);
	if (!in.p)
		in.p = "";

	struct sb_auth a;
	if (sb_auth_parse(&a, in) == 0) {
		const struct sb_slice all[] = {
			a.scheme, a.realm, a.nonce, a.opaque, a.algorithm, a.qop,
			a.stale, a.domain, a.username, a.uri, a.response, a.cnonce,
			a.nc, a.userhash, a.params,
		};
		for (size_t i = 0; i < SB_ARRAY_LEN(all); i++)
			inside(in, all[i]);
		/* what we parse as a challenge we can print back */
		if (a.digest && a.realm.p && a.nonce.p) {
			char mem[512];
			struct sb_buf b;
			sb_buf_init_fixed(&b, mem, sizeof mem);
			struct sb_auth_challenge c = {
				.realm = a.realm, .nonce = a.nonce, .opaque = a.opaque,
				.algorithm = a.algorithm, .qop = a.qop,
			};
			(void)sb_auth_print_challenge(&b, &c);
		}
	}

	struct sb_auth_info ai;
	if (sb_auth_info_parse(&ai, in) == 0) {
		inside(in, ai.nextnonce);
		inside(in, ai.qop);
		inside(in, ai.rspauth);
		inside(in, ai.cnonce);
		inside(in, ai.nc);
	}

	struct sb_replaces r;
	if (sb_replaces_parse(&r, in) == 0) {
		inside(in, r.call_id);
		inside(in, r.to_tag);
		inside(in, r.from_tag);
	}

	struct sb_event e;
	if (sb_event_parse(&e, in) == 0) {
		inside(in, e.type);
		inside(in, e.id);
		inside(in, e.params);
	}

	struct sb_substate st;
	if (sb_substate_parse(&st, in) == 0) {
		inside(in, st.state);
		inside(in, st.reason);
	}

	struct sb_reason rs;
	if (sb_reason_parse(&rs, in) == 0) {
		inside(in, rs.protocol);
		inside(in, rs.text);
	}

	struct sb_retry_after ra;
	if (sb_retry_after_parse(&ra, in) == 0)
		inside(in, ra.comment);

	struct sb_warning w;
	if (sb_warning_parse(&w, in) == 0) {
		inside(in, w.agent);
		inside(in, w.text);
		if (w.code > 999)
			abort();
	}
	return 0;
}

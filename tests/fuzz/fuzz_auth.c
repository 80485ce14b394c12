/* libFuzzer target for the authentication and extension header parsers:
 * every input is handed, as one header value, to each of them.  They must
 * never read outside the slice, and every slice they return must lie inside
 * it (checked with fuzz_check_in, so a bad offset fails even when it reads
 * mapped bytes). */
#include <stdint.h>
#include <stdlib.h>

#include "switchboard/sip.h"

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in = fuzz_input(data, size);

	struct sb_auth a;
	if (sb_auth_parse(&a, in) == 0) {
		const struct sb_slice all[] = {
			a.scheme, a.realm, a.nonce, a.opaque, a.algorithm, a.qop,
			a.stale, a.domain, a.username, a.uri, a.response, a.cnonce,
			a.nc, a.userhash, a.params,
		};
		for (size_t i = 0; i < SB_ARRAY_LEN(all); i++)
			fuzz_check_in(in, all[i]);
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
		fuzz_check_in(in, ai.nextnonce);
		fuzz_check_in(in, ai.qop);
		fuzz_check_in(in, ai.rspauth);
		fuzz_check_in(in, ai.cnonce);
		fuzz_check_in(in, ai.nc);
	}

	struct sb_replaces r;
	if (sb_replaces_parse(&r, in) == 0) {
		fuzz_check_in(in, r.call_id);
		fuzz_check_in(in, r.to_tag);
		fuzz_check_in(in, r.from_tag);
	}

	struct sb_media_type mt;
	if (sb_media_type_parse(&mt, in) == 0) {
		fuzz_check_in(in, mt.type);
		fuzz_check_in(in, mt.subtype);
		fuzz_check_in(in, mt.params);
	}

	struct sb_event e;
	if (sb_event_parse(&e, in) == 0) {
		fuzz_check_in(in, e.type);
		fuzz_check_in(in, e.id);
		fuzz_check_in(in, e.params);
	}

	struct sb_substate st;
	if (sb_substate_parse(&st, in) == 0) {
		fuzz_check_in(in, st.state);
		fuzz_check_in(in, st.reason);
	}

	struct sb_reason rs;
	if (sb_reason_parse(&rs, in) == 0) {
		fuzz_check_in(in, rs.protocol);
		fuzz_check_in(in, rs.text);
	}

	struct sb_retry_after ra;
	if (sb_retry_after_parse(&ra, in) == 0)
		fuzz_check_in(in, ra.comment);

	struct sb_warning w;
	if (sb_warning_parse(&w, in) == 0) {
		fuzz_check_in(in, w.agent);
		fuzz_check_in(in, w.text);
		if (w.code > 999)
			abort();
	}
	return 0;
}

/* libFuzzer target for sip/uri and sip/param: parse the input as one URI;
 * a parsed URI must lie inside the input, equal itself (RFC 3261 §19.1.4
 * comparison is reflexive) and iterate cleanly.  Replayed over
 * tests/fuzz/corpus/uri by `make test`. */
#include <stdint.h>
#include <stdlib.h>

#include "switchboard/sip.h"

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in = fuzz_input(data, size);
	struct sb_uri u;
	char out[SB_SIP_MAX_URI_LEN];
	size_t n;

	if (sb_uri_parse(&u, in) == 0) {
		const struct sb_slice all[] = { u.scheme_s, u.user, u.password, u.host, u.params,
						u.headers, u.opaque, u.transport, u.maddr,
						u.user_param, u.method, u.ttl };
		for (size_t i = 0; i < SB_ARRAY_LEN(all); i++)
			fuzz_check_in(in, all[i]);
		if (!sb_uri_equal(&u, &u))
			abort();
		if ((u.scheme == SB_URI_SIP || u.scheme == SB_URI_SIPS) &&
		    (u.host_type == SB_HOST_NONE || sb_host_classify(u.host) != u.host_type))
			abort();
		/* the parser accepted every escape in a SIP URI */
		if (u.scheme != SB_URI_OTHER && sb_uri_unescape(u.user, out, sizeof out, &n) != 0)
			abort();
		struct sb_slice rest = u.params, name, value;
		bool bad;
		while (sb_param_next(&rest, &name, &value, &bad)) {
			fuzz_check_in(in, name);
			fuzz_check_in(in, value);
		}
		if (bad && u.scheme != SB_URI_OTHER)
			abort(); /* the URI parser validated them */
	}
	(void)sb_uri_unescape(in, out, sizeof out, &n);
	return 0;
}

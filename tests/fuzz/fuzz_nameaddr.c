/* libFuzzer target for sip/addr and sip/param: parse the input as one
 * name-addr / addr-spec value (From, To, Contact, Route) and read its
 * Contact q and expires; every slice must lie inside the input and the URI
 * must equal itself.  Replayed over tests/fuzz/corpus/nameaddr. */
#include <stdint.h>
#include <stdlib.h>

#include "switchboard/sip.h"

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in = fuzz_input(data, size);
	struct sb_nameaddr na;

	if (sb_nameaddr_parse(&na, in) == 0 && !na.star) {
		const struct sb_slice all[] = { na.display, na.uri_s, na.params, na.tag, na.q,
						na.expires, na.uri.user, na.uri.host };
		for (size_t i = 0; i < SB_ARRAY_LEN(all); i++)
			fuzz_check_in(in, all[i]);
		if (!sb_uri_equal(&na.uri, &na.uri))
			abort();
		unsigned q;
		uint32_t secs;
		if (sb_contact_q(&na, &q) == 0 && q > 1000)
			abort();
		(void)sb_contact_expires(&na, &secs);
	}

	/* the parameter iterator alone, over the raw input */
	struct sb_slice rest = in, name, value, v;
	bool bad;
	unsigned count = 0;
	while (sb_param_next(&rest, &name, &value, &bad)) {
		fuzz_check_in(in, name);
		fuzz_check_in(in, value);
		if (name.l == 0 || ++count > size)
			abort(); /* every step consumes input */
	}
	(void)sb_param_find(in, "tag", &v);
	return 0;
}

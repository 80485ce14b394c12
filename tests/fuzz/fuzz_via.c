/* libFuzzer target for sip/via: parse the input as one Via value (RFC 3261
 * §20.42); every slice must lie inside the input and the sent-by host must
 * classify as it did in the parse.  Replayed over tests/fuzz/corpus/via. */
#include <stdint.h>
#include <stdlib.h>

#include "switchboard/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_in(struct sb_slice s, const char *base, size_t size)
{
	if (s.p && (s.p < base || s.l > size || (size_t)(s.p - base) > size - s.l))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct sb_slice in = sb_slice_from(size ? p : "", size);
	struct sb_via v;

	if (sb_via_parse(&v, in) == 0) {
		const struct sb_slice all[] = { v.proto_name, v.proto_version, v.transport, v.host,
						v.params, v.branch, v.received, v.maddr, v.ttl,
						v.rport };
		for (size_t i = 0; i < SB_ARRAY_LEN(all); i++)
			check_in(all[i], in.p, size);
		if (v.host_type == SB_HOST_NONE || sb_host_classify(v.host) != v.host_type)
			abort();
		if (v.proto_name.l == 0 || v.proto_version.l == 0 || v.transport.l == 0)
			abort();
	}
	return 0;
}

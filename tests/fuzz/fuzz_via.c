/* libFuzzer target for sip/via: parse the input as one Via value (RFC 3261
 * §20.42); every slice must lie inside the input and the sent-by host must
 * classify as it did in the parse.  Replayed over tests/fuzz/corpus/via. */
#include <stdint.h>
#include <stdlib.h>

#include "switchboard/sip.h"

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in = fuzz_input(data, size);
	struct sb_via v;

	if (sb_via_parse(&v, in) == 0) {
		const struct sb_slice all[] = { v.proto_name, v.proto_version, v.transport, v.host,
						v.params, v.branch, v.received, v.maddr, v.ttl,
						v.rport };
		for (size_t i = 0; i < SB_ARRAY_LEN(all); i++)
			fuzz_check_in(in, all[i]);
		if (v.host_type == SB_HOST_NONE || sb_host_classify(v.host) != v.host_type)
			abort();
		if (v.proto_name.l == 0 || v.proto_version.l == 0 || v.transport.l == 0)
			abort();
	}
	return 0;
}

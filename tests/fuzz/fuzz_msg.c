/* libFuzzer target: the whole message path a server runs on a datagram or a
 * stream read: framer, parser, every lazy accessor, validation in each role,
 * and the response owed, printed.  Any crash, over-read or UB is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(struct sb_sip_msg *m)
{
	const struct sb_cseq *cs;
	const struct sb_nameaddr *na;
	const struct sb_via *via;
	struct sb_slice s;
	uint32_t v;
	(void)sb_sip_msg_cseq(m, &cs);
	(void)sb_sip_msg_call_id(m, &s);
	(void)sb_sip_msg_max_forwards(m, &v);
	(void)sb_sip_msg_expires(m, &v);
	(void)sb_sip_msg_from(m, &na);
	(void)sb_sip_msg_to(m, &na);
	(void)sb_sip_msg_via(m, &via);
	for (int id = 0; id < SB_HDR__COUNT; id++) {
		struct sb_sip_values it;
		sb_sip_values_init(&it, m, (enum sb_sip_hdr_id)id);
		while (sb_sip_values_next(&it, &s, NULL))
			;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sb_sip_msg m;
	const char *buf = (const char *)data;

	struct sb_sip_frame f;
	if (sb_sip_frame(buf, size, SB_SIP_MAX_MSG_SIZE, &f) == 0 && f.len > size)
		abort();

	static const enum sb_sip_role roles[] = { SB_ROLE_PROXY, SB_ROLE_UAS, SB_ROLE_REGISTRAR };
	for (size_t r = 0; r < 3; r++) {
		if (sb_sip_parse(&m, buf, size, SB_SIP_DATAGRAM) != 0)
			return 0;
		if (m.raw.p < buf || m.raw.p + m.raw.l > buf + size)
			abort();
		touch(&m);
		struct sb_sip_validate_cfg cfg = { .role = roles[r] };
		struct sb_sip_verdict v;
		int err = sb_sip_validate(&m, &cfg, &v);
		if (err && (v.code < 400 || v.code > 599 || !v.reason))
			abort();
		if (err && m.is_request && !v.drop) {
			char mem[4096];
			struct sb_buf out;
			sb_buf_init_fixed(&out, mem, sizeof mem);
			struct sb_sip_response_spec spec = { .code = v.code,
							     .reason = sb_slice_cstr(v.reason),
							     .to_tag = SB_LIT("fuzz") };
			(void)sb_sip_print_response(&out, &m, &spec);
		}
	}
	return 0;
}

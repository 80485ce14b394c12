/* proxy/stats: the proxy's counters (proxy.h, struct sb_proxy_stats).
 * Requests and responses received are counted in sb_proxy_recv, responses
 * sent in px_send (every one the proxy puts on the wire: its own, relayed
 * ones and the transaction layer's retransmissions), calls where they are
 * forwarded and answered (forward.c, context.c), 407s in the proxy's
 * authentication step, forwarded calls in fwd.c.  Gauges (transactions,
 * contexts) are read when asked. */
#include <string.h>

#include "proxy_int.h"

/* Count buf if it is a response: "SIP/2.0 NNN", by its class. */
void px_stats_sent(struct sb_proxy *p, const char *buf, size_t len)
{
	static const char sl[] = "SIP/2.0 ";
	const size_t n = sizeof sl - 1;
	if (len < n + 3 || memcmp(buf, sl, n) != 0)
		return;
	unsigned cls = (unsigned)(unsigned char)buf[n] - '0';
	if (cls >= 1 && cls <= 6)
		p->st.responses_out[cls]++;
}

void sb_proxy_get_stats(const struct sb_proxy *p, struct sb_proxy_stats *st)
{
	*st = p->st;
	st->transactions = sb_tsx_layer_count(p->layer);
	st->contexts = p->nreqs;
}

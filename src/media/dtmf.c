/* media/dtmf: DTMF digits as RTP telephone-events (RFC 4733).
 *
 * Sending (§2.5.1): one packet per 20 ms tick while a digit lasts.  All
 * packets of an event carry the RTP timestamp of its start and the first
 * has the marker bit (§2.5.1.2); each update carries a duration grown by
 * one packet time, and the final duration is sent with E set three times
 * (§2.5.1.4), each a new RTP packet with the next sequence number
 * (§2.5.1.6).  Audio is muted while the event is sent, so that a receiver
 * never hears the digit twice (in band and as an event), then a gap of
 * audio separates digits.
 *
 * Receiving (§2.5.2): updates and end repeats share the event's
 * timestamp, so a digit is reported once, at the first packet seen with
 * a new timestamp (the marker packet may be the one lost); packets of an
 * older event (reordered) are ignored. */
#include <errno.h>
#include <string.h>

#include "switchboard/media.h"

/* RFC 4733 §3.2: events 0-9, * (10), # (11), A-D (12-15), flash (16). */
int sb_dtmf_code(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	switch (c) {
	case '*':
		return 10;
	case '#':
		return 11;
	case 'A': case 'a':
		return 12;
	case 'B': case 'b':
		return 13;
	case 'C': case 'c':
		return 14;
	case 'D': case 'd':
		return 15;
	case '!':
		return 16;
	default:
		return -1;
	}
}

char sb_dtmf_digit(unsigned code)
{
	static const char digits[] = "0123456789*#ABCD!";

	return code < sizeof digits - 1 ? digits[code] : 0;
}

int sb_dtmf_parse(struct sb_dtmf_event *ev, const uint8_t *p, size_t len)
{
	/* §2.3: event (8) | E (1) R (1) volume (6) | duration (16) */
	if (!p || len < 4)
		return EBADMSG;
	ev->event = p[0];
	ev->end = (p[1] & 0x80) != 0;
	ev->volume = p[1] & 0x3F;
	ev->duration = (uint16_t)((p[2] << 8) | p[3]);
	return 0;
}

void sb_dtmf_write(uint8_t out[4], const struct sb_dtmf_event *ev)
{
	out[0] = ev->event;
	out[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3F)); /* R = 0 */
	out[2] = (uint8_t)(ev->duration >> 8);
	out[3] = (uint8_t)ev->duration;
}

void sb_dtmf_tx_init(struct sb_dtmf_tx *tx)
{
	memset(tx, 0, sizeof *tx);
	tx->code = -1;
}

int sb_dtmf_tx_queue(struct sb_dtmf_tx *tx, const char *digits)
{
	size_t i, n;

	if (!digits)
		return EINVAL;
	n = strlen(digits);
	for (i = 0; i < n; i++)
		if (sb_dtmf_code(digits[i]) < 0)
			return EINVAL;
	if (n > SB_DTMF_QUEUE - tx->count)
		return ENOSPC;
	for (i = 0; i < n; i++) {
		tx->queue[(tx->head + tx->count) % SB_DTMF_QUEUE] = digits[i];
		tx->count++;
	}
	return 0;
}

void sb_dtmf_tx_tick(struct sb_dtmf_tx *tx, uint32_t ts, struct sb_dtmf_tick *out)
{
	const unsigned updates = SB_DTMF_TONE_FRAMES - 1;
	const unsigned ends = updates + SB_DTMF_END_REPEATS;
	const unsigned all = ends + SB_DTMF_GAP_FRAMES;
	struct sb_dtmf_event ev;
	unsigned f;

	memset(out, 0, sizeof *out);
	if (tx->code < 0) {
		if (tx->count == 0)
			return;
		tx->code = sb_dtmf_code(tx->queue[tx->head]);
		tx->head = (tx->head + 1) % SB_DTMF_QUEUE;
		tx->count--;
		tx->frame = 0;
		tx->ts = ts; /* §2.5.1.2: the event's timestamp is its start */
	}
	f = tx->frame++;
	memset(&ev, 0, sizeof ev);
	ev.event = (uint8_t)tx->code;
	ev.volume = SB_DTMF_VOLUME;
	if (f < updates) {
		ev.duration = (uint16_t)((f + 1) * SB_MEDIA_FRAME);
	} else if (f < ends) {
		ev.end = true;
		ev.duration = (uint16_t)(SB_DTMF_TONE_FRAMES * SB_MEDIA_FRAME);
	} else {
		/* the gap: audio again, no event */
		if (f + 1 >= all)
			tx->code = -1;
		return;
	}
	out->send = true;
	out->mute = true;
	out->marker = f == 0;
	out->ts = tx->ts;
	sb_dtmf_write(out->payload, &ev);
}

void sb_dtmf_rx_init(struct sb_dtmf_rx *rx)
{
	memset(rx, 0, sizeof *rx);
}

char sb_dtmf_rx_packet(struct sb_dtmf_rx *rx, uint32_t ssrc, uint32_t ts,
		       const struct sb_dtmf_event *ev)
{
	if (rx->have && rx->ssrc == ssrc) {
		/* the same event (an update or an end repeat), or an older
		 * one arriving late */
		if ((int32_t)(ts - rx->ts) <= 0)
			return 0;
	}
	rx->have = true;
	rx->ssrc = ssrc;
	rx->ts = ts;
	rx->code = ev->event;
	return sb_dtmf_digit(ev->event);
}

/* json: the admin API's JSON in and out (jansson): request bodies read
 * strictly (an object, known members only, each of its type, with a
 * sentence naming the field that is wrong), answers and {"error": ...}
 * bodies printed, and the small value helpers the resources share. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"

/* Flags for every answer: members in the order they were set, reals (q)
 * with no more digits than they need. */
#define API_DUMP_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4))

void api_answer(struct api_req *r, unsigned status, json_t *body)
{
	free(r->resp);
	r->resp = NULL;
	r->resp_len = 0;
	r->status = status;
	r->ready = true;
	if (!body)
		return;
	char *s = json_dumps(body, API_DUMP_FLAGS);
	json_decref(body);
	if (!s) {
		/* nothing but memory can fail here: answer without a body */
		r->status = 500;
		return;
	}
	/* a newline for whoever reads it with curl: grown in place, not
	 * copied (the buffer then goes to MHD as it is, which frees it: this
	 * holds while jansson allocates with malloc, its default, which
	 * nothing here changes) */
	size_t n = strlen(s);
	char *p = realloc(s, n + 2);
	if (!p) {
		free(s);
		r->status = 500;
		return;
	}
	p[n++] = '\n';
	p[n] = '\0';
	r->resp = p;
	r->resp_len = n;
}

void api_error(struct api_req *r, unsigned status, const char *fmt, ...)
{
	char msg[API_MAX_ERROR];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *o = json_object();
	if (o)
		json_object_set_new(o, "error", api_json_slice(sb_slice_cstr(msg)));
	api_answer(r, status, o);
}

void api_error_errno(struct api_req *r, int err, const char *what)
{
	switch (err) {
	case EAGAIN:
		api_error(r, 503, "the store is busy (its queue is full): %s was not done; "
			  "try again shortly", what);
		break;
	case ENOSPC:
		api_error(r, 503, "there is no room: %s was not done (%s)", what, strerror(err));
		break;
	default:
		api_error(r, 500, "%s failed: %s", what, strerror(err));
		break;
	}
}

json_t *api_body_object(struct api_req *r, const char *const *allowed)
{
	if (!r->body_len) {
		api_error(r, 400, "the request needs a JSON object as its body");
		return NULL;
	}
	json_error_t je;
	json_t *o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		api_error(r, 400, "the body is not valid JSON (line %d, column %d): %s", je.line,
			  je.column, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		api_error(r, 400, "the body must be a JSON object");
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool ok = false;
		for (const char *const *k = allowed; *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (!ok) {
			api_error(r, 400, "unknown field \"%.64s\"", key);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int api_get_string(struct api_req *r, json_t *o, const char *key, bool required,
		   struct sb_slice *out)
{
	json_t *v = json_object_get(o, key);
	*out = SB_SLICE_NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		api_error(r, 400, "the field \"%s\" is required", key);
		return -1;
	}
	if (!json_is_string(v)) {
		api_error(r, 400, "the field \"%s\" must be a string", key);
		return -1;
	}
	*out = sb_slice_from(json_string_value(v), json_string_length(v));
	return 0;
}

int api_get_uint(struct api_req *r, json_t *o, const char *key, uint32_t lo, uint32_t hi,
		 uint32_t *out, bool *present)
{
	json_t *v = json_object_get(o, key);
	*present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
	    json_integer_value(v) > (json_int_t)hi) {
		api_error(r, 400, "the field \"%s\" must be a whole number from %u to %u", key,
			  (unsigned)lo, (unsigned)hi);
		return -1;
	}
	*out = (uint32_t)json_integer_value(v);
	*present = true;
	return 0;
}

/* Length of the UTF-8 sequence at p[0..n) (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

json_t *api_json_slice(struct sb_slice s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t bad = 0;
	for (size_t i = 0; i < s.l;) {
		size_t k = utf8_seq(p + i, s.l - i);
		if (!k) {
			bad++;
			k = 1;
		}
		i += k;
	}
	if (!bad)
		return json_stringn(s.l ? s.p : "", s.l);
	/* each bad byte becomes U+FFFD (3 bytes) */
	char *t = malloc(s.l + 2 * bad + 1);
	if (!t)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < s.l;) {
		size_t k = utf8_seq(p + i, s.l - i);
		if (!k) {
			memcpy(t + n, "\xEF\xBF\xBD", 3);
			n += 3;
			i++;
			continue;
		}
		memcpy(t + n, p + i, k);
		n += k;
		i += k;
	}
	json_t *j = json_stringn(t, n);
	free(t);
	return j;
}

json_t *api_json_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];
	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

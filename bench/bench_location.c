/* bench_location: memory per binding and lookup speed of the location
 * service (src/location) at a million registrations.
 *
 * Loads N bindings (default 1,000,000), one AOR each, shaped like a desk
 * phone's REGISTER: AOR "sip:user123456@example.com", contact
 * "sip:user123456@192.0.2.10:5060;transport=udp", a 40-byte Call-ID, a UDP
 * source address.  The loop runs on the manual clock, so nothing expires
 * while loading.  Memory is the growth of the resident set (/proc/self/statm)
 * across the load, divided by N: it counts everything the location costs,
 * malloc overhead, hash buckets and the loop's timer wheel included.  Then
 * random lookups by AOR (keys prepared beforehand, after the measurement),
 * and finally the expiry of every binding by the loop.
 *
 *   ./build-bench/bench/bench_location [N] */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "switchboard/location.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident bytes, from the second field of /proc/self/statm (pages). */
static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000u;
	if (!n || n > 2000000u) {
		fprintf(stderr, "usage: %s [N <= 2000000]\n", argv[0]);
		return 2;
	}
	struct sb_loop *loop;
	struct sb_loop_cfg lc = { .manual_clock = true };
	struct sb_location *loc;
	if (sb_loop_alloc(&loop, &lc) != 0)
		return 1;
	struct sb_location_cfg cfg = { .loop = loop, .max_bindings = n, .hash_seed = 0x5eed };
	if (sb_location_alloc(&loc, &cfg) != 0)
		return 1;

	struct sb_binding_update u = { .cseq = 1, .q1000 = 1000, .source = { .proto = SB_TP_UDP } };
	sb_addr_parse(&u.source.addr, "198.51.100.23", 5060);
	char aor[64], contact[96], call_id[48];

	long rss0 = rss_bytes();
	double t0 = now_s();
	for (uint32_t i = 0; i < n; i++) {
		int al = snprintf(aor, sizeof aor, "sip:user%06u@example.com", i);
		int cl = snprintf(contact, sizeof contact,
				  "sip:user%06u@192.0.2.10:5060;transport=udp", i);
		int il = snprintf(call_id, sizeof call_id,
				  "%08x-%08x-%08x-%02u@192.0.2.10", i * 2654435761u,
				  i ^ 0xdeadbeefu, i * 40503u, i % 100);
		u.aor = sb_slice_from(aor, (size_t)al);
		u.contact = sb_slice_from(contact, (size_t)cl);
		u.call_id = sb_slice_from(call_id, (size_t)il);
		u.expires_s = 3600 + i % 600;
		int err = sb_location_update(loc, &u);
		if (err) {
			fprintf(stderr, "update %u: %s\n", i, strerror(err));
			return 1;
		}
	}
	double t1 = now_s();
	long rss1 = rss_bytes();
	printf("bindings         %u (contact %d bytes, call-id %zu bytes)\n", n,
	       (int)strlen("sip:user123456@192.0.2.10:5060;transport=udp"), u.call_id.l);
	printf("memory           %.1f bytes per binding (RSS %.1f MiB -> %.1f MiB)\n",
	       (double)(rss1 - rss0) / n, rss0 / 1048576.0, rss1 / 1048576.0);
	printf("inserts          %.0f per second\n", n / (t1 - t0));

	/* Lookups: random AORs, keys prepared outside the timed part. */
	enum { KEYS = 1 << 16, KEYLEN = 32 };
	char *keys = malloc((size_t)KEYS * KEYLEN);
	uint8_t *klen = malloc(KEYS);
	if (!keys || !klen)
		return 1;
	uint64_t seed = 88172645463325252ull;
	for (uint32_t k = 0; k < KEYS; k++)
		klen[k] = (uint8_t)snprintf(keys + (size_t)k * KEYLEN, KEYLEN,
					    "sip:user%06u@example.com",
					    (uint32_t)(xorshift(&seed) % n));
	const uint32_t lookups = 5000000;
	size_t found = 0;
	const struct sb_binding *b[SB_LOC_DEFAULT_MAX_PER_AOR];
	double t2 = now_s();
	for (uint32_t i = 0; i < lookups; i++) {
		uint32_t k = i & (KEYS - 1);
		found += sb_location_lookup(loc, sb_slice_from(keys + (size_t)k * KEYLEN, klen[k]),
					    b, SB_ARRAY_LEN(b));
	}
	double t3 = now_s();
	printf("lookups          %.0f per second (%zu of %u found)\n", lookups / (t3 - t2), found,
	       lookups);

	double t4 = now_s();
	sb_loop_advance(loop, (3600 + 600) * 1000ull);
	double t5 = now_s();
	printf("expiry           %.0f bindings per second (%zu left)\n", n / (t5 - t4),
	       sb_location_count(loc));
	free(keys);
	free(klen);
	sb_location_free(loc);
	sb_loop_free(loop);
	return found == lookups ? 0 : 1;
}

/* Unit tests for loop: timer order and the timing wheel's levels, cascades
 * and long delays on the manual clock, bounds, descriptor events over pipes
 * and socketpairs, the cross-thread wake, timers started during a poll and
 * short real-clock timers.  Deterministic: random timers come
 * from a fixed-seed generator, and every wait has a safety net so that a
 * broken loop fails a test instead of hanging it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "switchboard/loop.h"

/* ---- helpers ---- */

static struct sb_loop *manual_loop(uint32_t max_fds, uint32_t max_timers)
{
	struct sb_loop_cfg cfg = { .manual_clock = true, .max_fds = max_fds, .max_timers = max_timers };
	struct sb_loop *l = NULL;
	assert_int_equal(sb_loop_alloc(&l, &cfg), 0);
	assert_non_null(l);
	return l;
}

static struct sb_loop *real_loop(void)
{
	struct sb_loop *l = NULL;
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	return l;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A timer that records when and in which order it fired. */
#define LOG_MAX 64
struct log {
	struct sb_loop *l;
	int ids[LOG_MAX];
	sb_msec_t at[LOG_MAX];
	size_t n;
};

struct tt {
	struct sb_timer t;
	struct log *log;
	int id;
	struct sb_timer *victim;  /* stopped by this timer's handler */
	sb_msec_t restart_ms;     /* started again by its handler, if set */
	struct tt *spawn;         /* started by this timer's handler */
	sb_msec_t spawn_ms;
	unsigned fired;
};

static void tt_h(void *arg);

static void tt_record(struct tt *x)
{
	struct log *g = x->log;
	assert_true(g->n < LOG_MAX);
	g->ids[g->n] = x->id;
	g->at[g->n] = sb_loop_now(g->l);
	g->n++;
	x->fired++;
}

static void tt_h(void *arg)
{
	struct tt *x = arg;
	/* idle while its handler runs */
	assert_false(sb_timer_running(&x->t));
	tt_record(x);
	if (x->victim)
		sb_timer_stop(x->log->l, x->victim);
	if (x->spawn)
		assert_int_equal(sb_timer_start(x->log->l, &x->spawn->t, x->spawn_ms, tt_h, x->spawn), 0);
	if (x->restart_ms && x->fired < 10)
		assert_int_equal(sb_timer_start(x->log->l, &x->t, x->restart_ms, tt_h, x), 0);
}

static void tt_start(struct tt *x, sb_msec_t ms)
{
	assert_int_equal(sb_timer_start(x->log->l, &x->t, ms, tt_h, x), 0);
}

/* ---- clock and timers, manual clock ---- */

static void t_alloc(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	assert_true(sb_loop_now(l) == 0);
	assert_int_equal(sb_loop_timer_count(l), 0);
	assert_int_equal(sb_loop_fd_count(l), 0);
	sb_loop_advance(l, 1234);
	assert_true(sb_loop_now(l) == 1234);
	/* poll does not move a manual clock */
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_true(sb_loop_now(l) == 1234);
	sb_loop_free(l);
	sb_loop_free(NULL);

	l = real_loop();
	assert_true(sb_loop_now(l) > 0);
	sb_msec_t before = sb_loop_now(l);
	sb_loop_advance(l, 1000000);  /* no-op on the real clock */
	assert_true(sb_loop_now(l) < before + 1000000);
	sb_loop_free(l);
}

static void t_order(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct log g = { .l = l };
	struct tt x[6];
	/* deadline, and start order for ties */
	static const sb_msec_t ms[6] = { 30, 10, 20, 10, 30, 5 };
	for (int i = 0; i < 6; i++) {
		x[i] = (struct tt){ .log = &g, .id = i };
		tt_start(&x[i], ms[i]);
	}
	assert_int_equal(sb_loop_timer_count(l), 6);
	sb_loop_advance(l, 4);
	assert_int_equal(g.n, 0);
	sb_loop_advance(l, 100);
	static const int want[6] = { 5, 1, 3, 2, 0, 4 };
	static const sb_msec_t want_at[6] = { 5, 10, 10, 20, 30, 30 };
	assert_int_equal(g.n, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(g.ids[i], want[i]);
		assert_true(g.at[i] == want_at[i]);  /* now inside = own deadline */
	}
	assert_true(sb_loop_now(l) == 104);
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
}

static void t_restart_stop(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct log g = { .l = l };
	struct tt a = { .log = &g, .id = 1 }, b = { .log = &g, .id = 2 }, c = { .log = &g, .id = 3 };

	/* zeroed and initialised timers are idle; stopping them is a no-op */
	assert_false(sb_timer_running(&a.t));
	sb_timer_stop(l, &a.t);
	sb_timer_init(&c.t);
	assert_false(sb_timer_running(&c.t));
	assert_true(sb_timer_remaining(l, &c.t) == UINT64_MAX);

	tt_start(&a, 10);
	tt_start(&b, 20);
	assert_true(sb_timer_running(&a.t));
	assert_true(sb_timer_remaining(l, &a.t) == 10);
	/* restart moves a running timer: later, then earlier again */
	tt_start(&a, 30);
	assert_int_equal(sb_loop_timer_count(l), 2);
	assert_true(sb_timer_remaining(l, &a.t) == 30);
	sb_loop_advance(l, 25);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ids[0], 2);
	assert_true(sb_timer_remaining(l, &a.t) == 5);
	tt_start(&a, 1);
	assert_true(sb_timer_remaining(l, &a.t) == 1);
	/* a restart at the same deadline ranks after timers already there */
	tt_start(&c, 1);
	tt_start(&a, 1);
	sb_loop_advance(l, 1);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.ids[1], 3);
	assert_int_equal(g.ids[2], 1);
	assert_int_equal(a.fired, 1);

	/* stop: never fires; a second stop is harmless */
	tt_start(&a, 5);
	tt_start(&b, 5);
	sb_timer_stop(l, &a.t);
	sb_timer_stop(l, &a.t);
	assert_false(sb_timer_running(&a.t));
	assert_int_equal(sb_loop_timer_count(l), 1);
	sb_loop_advance(l, 100);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.ids[3], 2);
	assert_int_equal(a.fired, 1);

	/* a timer left running is idle once the loop is freed */
	tt_start(&a, 5);
	sb_loop_free(l);
	assert_false(sb_timer_running(&a.t));
}

static void t_stop_other_in_handler(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct log g = { .l = l };
	struct tt a = { .log = &g, .id = 1 }, b = { .log = &g, .id = 2 }, c = { .log = &g, .id = 3 };
	/* b is due at the same moment as a, c later; a stops both */
	a.victim = &b.t;
	tt_start(&a, 10);
	tt_start(&b, 10);
	tt_start(&c, 10);
	sb_loop_advance(l, 10);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ids[0], 1);
	assert_int_equal(g.ids[1], 3);
	assert_int_equal(b.fired, 0);
	assert_false(sb_timer_running(&b.t));

	/* and a timer due later, in the same advance */
	a.victim = &c.t;
	tt_start(&a, 10);
	tt_start(&c, 15);
	sb_loop_advance(l, 20);
	assert_int_equal(g.n, 3);
	assert_int_equal(c.fired, 1);
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
}

static void t_start_in_handler(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct log g = { .l = l };
	struct tt a = { .log = &g, .id = 1 }, b = { .log = &g, .id = 2 };
	struct tt z = { .log = &g, .id = 9 }, f = { .log = &g, .id = 7 };
	/* a starts z at 0 ms: it fires in the same advance, after b which was
	 * due at the same moment, and sees the same now */
	a.spawn = &z;
	a.spawn_ms = 0;
	tt_start(&a, 10);
	tt_start(&b, 10);
	sb_loop_advance(l, 10);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.ids[0], 1);
	assert_int_equal(g.ids[1], 2);
	assert_int_equal(g.ids[2], 9);
	assert_true(g.at[2] == 10);

	/* a relative start counts from the firing timer's own deadline */
	g.n = 0;
	a.spawn = &f;
	a.spawn_ms = 5;
	tt_start(&a, 3);  /* fires at 13, f at 18 */
	sb_loop_advance(l, 20);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ids[1], 7);
	assert_true(g.at[1] == 18);
	assert_true(sb_loop_now(l) == 30);

	/* beyond the target: started, not fired */
	g.n = 0;
	a.spawn_ms = 50;
	tt_start(&a, 0);
	sb_loop_advance(l, 0);
	assert_int_equal(g.n, 1);
	assert_true(sb_timer_running(&f.t));
	assert_true(sb_timer_remaining(l, &f.t) == 50);

	/* a periodic timer: restarts itself from its handler */
	struct tt p = { .log = &g, .id = 4, .restart_ms = 10 };
	sb_timer_stop(l, &f.t);
	g.n = 0;
	tt_start(&p, 10);
	sb_loop_advance(l, 55);
	assert_int_equal(p.fired, 5);
	assert_true(g.at[4] == 80);
	assert_true(sb_timer_remaining(l, &p.t) == 5);
	sb_timer_stop(l, &p.t);
	sb_loop_free(l);
}

/* An object that embeds its timer and frees itself when it fires. */
struct owned {
	struct sb_timer t;
	struct sb_loop *l;
	int *fired;
};

static void owned_h(void *arg)
{
	struct owned *o = arg;
	(*o->fired)++;
	sb_timer_stop(o->l, &o->t);  /* idle already: must be harmless */
	free(o);
}

static void t_handler_frees_owner(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	int fired = 0;
	for (int i = 0; i < 8; i++) {
		struct owned *o = calloc(1, sizeof(*o));
		assert_non_null(o);
		o->l = l;
		o->fired = &fired;
		assert_int_equal(sb_timer_start(l, &o->t, (sb_msec_t)(i % 3), owned_h, o), 0);
	}
	sb_loop_advance(l, 2);
	assert_int_equal(fired, 8);
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
}

/* 10,000 random timers, a third of them stopped and some restarted: every
 * survivor fires exactly once, in (deadline, start) order, at its deadline. */
#define RND_N 10000
struct rnd_ctx {
	struct sb_loop *l;
	size_t fired;
	sb_msec_t last_deadline;
	uint64_t last_order;
	bool in_order;
	bool at_deadline;
};
struct rnd {
	struct sb_timer t;
	struct rnd_ctx *c;
	sb_msec_t deadline;
	uint64_t order;    /* last start, in start order */
	bool live;
	unsigned fired;
};

static void rnd_h(void *arg)
{
	struct rnd *r = arg;
	struct rnd_ctx *c = r->c;
	r->fired++;
	c->fired++;
	if (!r->live)
		c->in_order = false;
	if (r->deadline < c->last_deadline ||
	    (r->deadline == c->last_deadline && r->order < c->last_order))
		c->in_order = false;
	if (sb_loop_now(c->l) != r->deadline)
		c->at_deadline = false;
	c->last_deadline = r->deadline;
	c->last_order = r->order;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void t_heap_random(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct rnd *v = calloc(RND_N, sizeof(*v));
	assert_non_null(v);
	struct rnd_ctx c = { .l = l, .in_order = true, .at_deadline = true };
	uint64_t seed = 0x9e3779b97f4a7c15u, order = 0;

	for (size_t i = 0; i < RND_N; i++) {
		sb_msec_t ms = xorshift(&seed) % 5000;  /* many ties */
		v[i].c = &c;
		assert_int_equal(sb_timer_start(l, &v[i].t, ms, rnd_h, &v[i]), 0);
		v[i].deadline = ms;
		v[i].order = order++;
		v[i].live = true;
	}
	assert_int_equal(sb_loop_timer_count(l), RND_N);
	size_t live = RND_N;
	for (size_t k = 0; k < RND_N; k++) {
		size_t i = xorshift(&seed) % RND_N;
		switch (xorshift(&seed) % 3) {
		case 0:
			sb_timer_stop(l, &v[i].t);
			if (v[i].live)
				live--;
			v[i].live = false;
			break;
		case 1: {
			sb_msec_t ms = xorshift(&seed) % 5000;
			assert_int_equal(sb_timer_start(l, &v[i].t, ms, rnd_h, &v[i]), 0);
			if (!v[i].live)
				live++;
			v[i].live = true;
			v[i].deadline = ms;
			v[i].order = order++;
			break;
		}
		default:
			break;
		}
		assert_int_equal(sb_timer_running(&v[i].t), v[i].live);
	}
	assert_int_equal(sb_loop_timer_count(l), live);
	assert_true(live > RND_N / 3 && live < RND_N);

	/* in uneven steps, so that some advances end between deadlines */
	while (sb_loop_now(l) < 5000)
		sb_loop_advance(l, 1 + xorshift(&seed) % 97);
	assert_true(c.in_order);
	assert_true(c.at_deadline);
	assert_int_equal(c.fired, live);
	for (size_t i = 0; i < RND_N; i++)
		assert_int_equal(v[i].fired, v[i].live ? 1 : 0);
	assert_int_equal(sb_loop_timer_count(l), 0);
	free(v);
	sb_loop_free(l);
}

static void noop_h(void *arg)
{
	(void)arg;
}

static void t_timer_bound(void **state)
{
	struct sb_loop *l = manual_loop(0, 100);
	struct sb_timer t[101];
	for (int i = 0; i < 101; i++)
		sb_timer_init(&t[i]);
	for (int i = 0; i < 100; i++)
		assert_int_equal(sb_timer_start(l, &t[i], (sb_msec_t)i, noop_h, NULL), 0);
	assert_int_equal(sb_timer_start(l, &t[100], 1, noop_h, NULL), ENOSPC);
	assert_false(sb_timer_running(&t[100]));
	/* a restart at the bound is a move, not a new timer */
	assert_int_equal(sb_timer_start(l, &t[0], 500, noop_h, NULL), 0);
	assert_int_equal(sb_loop_timer_count(l), 100);
	sb_timer_stop(l, &t[50]);
	assert_int_equal(sb_timer_start(l, &t[100], 1, noop_h, NULL), 0);
	assert_int_equal(sb_timer_start(l, &t[50], 1, noop_h, NULL), ENOSPC);
	sb_loop_advance(l, 1000);
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
}

/* ---- the wheel: levels, cascades, long delays ----
 *
 * The wheel sorts deadlines by groups of 8 bits: level 0 holds the current
 * 256 ms, level 1 the current 65,536 ms in 256-ms slots, and so on; timers
 * move down a level ("cascade") when the clock enters their slot.  These
 * tests put deadlines on and around those boundaries. */

/* A struct sb_timer is embedded per binding of the location service (a
 * million of them) and per transaction: it must not grow. */
static void t_timer_size(void **state)
{
	assert_true(sizeof(struct sb_timer) <= sizeof(sb_msec_t) + 4 * sizeof(void *));
}

/* Timers due at the same millisecond, started at different times, so that
 * the early ones sit on a coarse level and come down by cascade after the
 * later ones were started on a finer level: they fire in start order. */
struct tie_step {
	sb_msec_t at;        /* advance to this time, then start */
	sb_msec_t deadline;
};

static void run_ties(const struct tie_step *steps, int n, const int *want)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct log g = { .l = l };
	struct tt x[LOG_MAX];
	assert_true(n <= LOG_MAX);
	for (int i = 0; i < n; i++) {
		assert_true(steps[i].at >= sb_loop_now(l));
		sb_loop_advance(l, steps[i].at - sb_loop_now(l));
		assert_true(sb_loop_now(l) == steps[i].at);
		x[i] = (struct tt){ .log = &g, .id = i };
		tt_start(&x[i], steps[i].deadline - steps[i].at);
		assert_true(sb_timer_remaining(l, &x[i].t) == steps[i].deadline - steps[i].at);
	}
	/* some fired on the way: the order is checked across all advances */
	sb_loop_advance(l, (sb_msec_t)1 << 40);
	assert_int_equal(g.n, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(g.ids[i], want[i]);
		assert_true(g.at[i] == steps[want[i]].deadline);
	}
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
}

static void t_wheel_ties_across_levels(void **state)
{
	/* 70000 is on level 2 from 0 (bit 16 differs), on level 1 from 65536,
	 * on level 0 from 69888; 69999 and 70001 around it */
	static const struct tie_step a[] = {
		{ 0, 70000 },      /* 0: level 2 */
		{ 0, 70001 },      /* 1 */
		{ 100, 69999 },    /* 2 */
		{ 65526, 70000 },  /* 3: level 2, the same slot as 0 */
		{ 65540, 70000 },  /* 4: level 1, after 0 and 3 came down */
		{ 65540, 69999 },  /* 5 */
		{ 69887, 70000 },  /* 6: level 1, just before its slot comes down */
		{ 69888, 70000 },  /* 7: level 0 */
		{ 69999, 70001 },  /* 8 */
		{ 70000, 70000 },  /* 9: due at once */
	};
	static const int want_a[] = { 2, 5, 0, 3, 4, 6, 7, 9, 1, 8 };
	run_ties(a, 10, want_a);

	/* the same across the top of level 0 (256) and of level 2 (2^24) */
	static const struct tie_step b[] = {
		{ 0, 256 },        /* 0: level 1 */
		{ 0, 255 },        /* 1: level 0 */
		{ 200, 256 },      /* 2: level 1, the same slot as 0 */
		{ 255, 256 },      /* 3: level 1: 255 and 256 differ in bit 8 */
		{ 256, 256 },      /* 4 */
		{ 256, 1 << 24 },  /* 5: level 3 */
		{ 300, (1 << 24) - 1 },
		{ 70000, 1 << 24 },      /* 7: level 3, with 5 */
		{ (1 << 24) - 1, 1 << 24 }, /* 8: level 3 too (bit 24 differs) */
		{ 1 << 24, 1 << 24 },    /* 9 */
	};
	/* deadlines first (1 is due at 255), then starts; 4 and 9 are due at
	 * once and fire in the next advance, after those due before */
	static const int want_b[] = { 1, 0, 2, 3, 4, 6, 5, 7, 8, 9 };
	run_ties(b, 10, want_b);
}

/* Registration expiry (3600 s and more) and beyond: exact deadlines, one
 * far jump of the clock each, and a delay that saturates. */
static void t_wheel_long_delays(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct log g = { .l = l };
	struct tt hour = { .log = &g, .id = 1 }, month = { .log = &g, .id = 2 };
	struct tt far = { .log = &g, .id = 3 }, never = { .log = &g, .id = 4 };
	struct tt moved = { .log = &g, .id = 5 };
	const sb_msec_t h = 3600u * 1000u, m = 30ull * 86400u * 1000u, f = (sb_msec_t)1 << 50;
	tt_start(&hour, h);
	tt_start(&month, m);
	tt_start(&far, f);
	tt_start(&never, UINT64_MAX);  /* saturates: due at UINT64_MAX */
	tt_start(&moved, m);
	assert_true(sb_timer_remaining(l, &month.t) == m);
	assert_true(sb_timer_remaining(l, &never.t) == UINT64_MAX);  /* now is 0 */
	tt_start(&moved, h + 1);  /* far, then near */

	sb_loop_advance(l, h - 1);
	assert_int_equal(g.n, 0);
	assert_true(sb_timer_remaining(l, &hour.t) == 1);
	sb_loop_advance(l, 1);
	assert_int_equal(g.n, 1);
	assert_true(g.at[0] == h);
	sb_loop_advance(l, m - h - 1);  /* moved fires on the way */
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ids[1], 5);
	assert_true(g.at[1] == h + 1);
	assert_true(sb_timer_remaining(l, &month.t) == 1);
	sb_loop_advance(l, f);  /* month, then far */
	assert_int_equal(g.n, 4);
	assert_int_equal(g.ids[2], 2);
	assert_true(g.at[2] == m);
	assert_int_equal(g.ids[3], 3);
	assert_true(g.at[3] == f);
	assert_true(sb_loop_now(l) == m - 1 + f);
	assert_true(sb_timer_running(&never.t));
	assert_true(sb_timer_remaining(l, &never.t) == UINT64_MAX - (m - 1 + f));
	sb_loop_advance(l, UINT64_MAX);  /* saturates at the end of time */
	assert_int_equal(g.n, 5);
	assert_true(g.at[4] == UINT64_MAX);
	assert_true(sb_loop_now(l) == UINT64_MAX);
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
}

/* Far jumps of the manual clock skip empty slots: a million-millisecond
 * walk would not end in the test's time.  Deadlines spread over 2^52 ms;
 * each fires at its own deadline, in order, with a single advance. */
static void t_wheel_far_jumps(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct rnd *v = calloc(RND_N, sizeof(*v));
	assert_non_null(v);
	struct rnd_ctx c = { .l = l, .in_order = true, .at_deadline = true };
	uint64_t seed = 0x243f6a8885a308d3u;
	for (size_t i = 0; i < RND_N; i++) {
		/* every magnitude from 1 ms to 2^52 ms */
		sb_msec_t ms = xorshift(&seed) >> (12 + xorshift(&seed) % 52);
		v[i] = (struct rnd){ .c = &c, .deadline = ms, .order = i, .live = true };
		assert_int_equal(sb_timer_start(l, &v[i].t, ms, rnd_h, &v[i]), 0);
	}
	sb_loop_advance(l, (sb_msec_t)1 << 52);
	assert_true(c.in_order);
	assert_true(c.at_deadline);
	assert_int_equal(c.fired, RND_N);
	assert_int_equal(sb_loop_timer_count(l), 0);

	/* and in a few long strides ending between deadlines */
	c = (struct rnd_ctx){ .l = l, .in_order = true, .at_deadline = true };
	sb_msec_t t0 = sb_loop_now(l);
	for (size_t i = 0; i < RND_N; i++) {
		sb_msec_t ms = xorshift(&seed) >> (20 + xorshift(&seed) % 44);
		v[i] = (struct rnd){ .c = &c, .deadline = t0 + ms, .order = i, .live = true };
		assert_int_equal(sb_timer_start(l, &v[i].t, ms, rnd_h, &v[i]), 0);
	}
	for (int k = 0; k < 50 && sb_loop_timer_count(l); k++)
		sb_loop_advance(l, (sb_msec_t)1 << (k % 45));
	sb_loop_advance(l, (sb_msec_t)1 << 45);
	assert_true(c.in_order);
	assert_true(c.at_deadline);
	assert_int_equal(c.fired, RND_N);
	free(v);
	sb_loop_free(l);
}

/* Handlers that stop and restart timers sitting in a coarse slot just
 * before it comes down, and timers just come down from it. */
struct casc {
	struct log g;
	struct tt p, x, y, z, w, v, q;
};

static void casc_p_h(void *arg)  /* due at 255: before the slot of 256..511 comes down */
{
	struct casc *k = arg;
	tt_record(&k->p);
	sb_timer_stop(k->g.l, &k->y.t);  /* still on level 1 */
	tt_start(&k->z, 1);               /* 511 -> 256: its slot, after x and w */
}

static void casc_x_h(void *arg)  /* first at 256, just come down */
{
	struct casc *k = arg;
	tt_record(&k->x);
	sb_timer_stop(k->g.l, &k->w.t);  /* came down with x */
	tt_start(&k->v, 0);               /* 400 -> 256: after z */
	tt_start(&k->q, 1);               /* 600, on level 1 -> 257 */
}

static void t_wheel_stop_restart_in_cascade(void **state)
{
	struct casc *k = calloc(1, sizeof(*k));
	assert_non_null(k);
	struct sb_loop *l = manual_loop(0, 0);
	k->g.l = l;
	struct tt *all[] = { &k->p, &k->x, &k->y, &k->z, &k->w, &k->v, &k->q };
	for (int i = 0; i < 7; i++)
		*all[i] = (struct tt){ .log = &k->g, .id = i };
	assert_int_equal(sb_timer_start(l, &k->p.t, 255, casc_p_h, k), 0);
	assert_int_equal(sb_timer_start(l, &k->x.t, 256, casc_x_h, k), 0);
	tt_start(&k->y, 300);
	tt_start(&k->z, 511);
	tt_start(&k->w, 256);
	tt_start(&k->v, 400);
	tt_start(&k->q, 600);
	sb_loop_advance(l, 1000);
	/* p, then x, z (restarted at 255 for 256), v (restarted at 256), q */
	static const int want[] = { 0, 1, 3, 5, 6 };
	static const sb_msec_t want_at[] = { 255, 256, 256, 256, 257 };
	assert_int_equal(k->g.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(k->g.ids[i], want[i]);
		assert_true(k->g.at[i] == want_at[i]);
	}
	assert_int_equal(k->y.fired + k->w.fired, 0);
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
	free(k);
}

/* Starts, stops, restarts and advances interleaved at random, delays of
 * every level: each firing is at its deadline, in (deadline, start) order
 * across all advances, and nothing due by now is left running. */
#define MIX_N 2000
#define MIX_STEPS 10000

static sb_msec_t mix_delay(uint64_t *seed)
{
	switch (xorshift(seed) % 5) {
	case 0:
		return xorshift(seed) % 300;
	case 1:
		return xorshift(seed) % 70000;
	case 2:
		return 32000;  /* ties, started at different times */
	case 3:
		return xorshift(seed) % (1u << 26);
	default:
		return xorshift(seed) % 3;
	}
}

static void t_wheel_random_mix(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct rnd *v = calloc(MIX_N, sizeof(*v));
	assert_non_null(v);
	struct rnd_ctx c = { .l = l, .in_order = true, .at_deadline = true };
	uint64_t seed = 0x13198a2e03707344u, order = 0;
	size_t live = 0, started = 0;
	bool on_time = true;
	for (size_t i = 0; i < MIX_N; i++)
		v[i].c = &c;
	for (int step = 0; step < MIX_STEPS; step++) {
		size_t i = xorshift(&seed) % MIX_N;
		bool advanced = false;
		switch (xorshift(&seed) % 8) {
		case 0:
			if (v[i].live && v[i].fired == 0)
				live--;
			sb_timer_stop(l, &v[i].t);
			v[i].live = false;
			break;
		case 1:
			sb_loop_advance(l, xorshift(&seed) % 5000);
			advanced = true;
			break;
		case 2:
			if (xorshift(&seed) % 16 == 0) {
				sb_loop_advance(l, xorshift(&seed) % (1u << 24));
				advanced = true;
			}
			break;
		default: {
			sb_msec_t ms = mix_delay(&seed);
			bool was = sb_timer_running(&v[i].t);
			assert_int_equal(sb_timer_start(l, &v[i].t, ms, rnd_h, &v[i]), 0);
			if (!was)
				live++;
			v[i].live = true;
			v[i].fired = 0;
			v[i].deadline = sb_loop_now(l) + ms;
			v[i].order = order++;
			started++;
			break;
		}
		}
		/* a fired timer is idle: count it out; after an advance none
		 * is due any more, after a start only one started at 0 ms */
		for (size_t j = 0; j < MIX_N; j++) {
			if (v[j].live && v[j].fired) {
				v[j].live = false;
				live--;
			}
			if (v[j].live && v[j].deadline < sb_loop_now(l) + !advanced)
				on_time = on_time && !advanced && v[j].deadline == sb_loop_now(l);
		}
		assert_int_equal(sb_loop_timer_count(l), live);
	}
	sb_loop_advance(l, (sb_msec_t)1 << 30);
	assert_true(c.in_order);
	assert_true(c.at_deadline);
	assert_true(on_time);
	assert_int_equal(sb_loop_timer_count(l), 0);
	assert_true(c.fired > started / 4);
	free(v);
	sb_loop_free(l);
}

/* ---- descriptors ---- */

struct fdrec {
	struct sb_loop *l;
	int calls;
	unsigned events;
	int fd;
	int other;          /* deleted by this handler, if >= 0 */
	struct fdrec *readd; /* other is added again with this record */
	int mod_other;       /* watch of this fd set to nothing, if >= 0 */
	bool del_self;
};

static void fd_h(int fd, unsigned events, void *arg)
{
	struct fdrec *r = arg;
	r->calls++;
	r->events = events;
	r->fd = fd;
	if (r->other >= 0) {
		assert_int_equal(sb_loop_fd_del(r->l, r->other), 0);
		if (r->readd)
			assert_int_equal(sb_loop_fd_add(r->l, r->other, SB_FD_READ, fd_h, r->readd), 0);
	}
	if (r->mod_other >= 0)
		assert_int_equal(sb_loop_fd_mod(r->l, r->mod_other, 0), 0);
	if (r->del_self)
		assert_int_equal(sb_loop_fd_del(r->l, fd), 0);
}

static void t_fd_read(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct fdrec r = { .l = l, .other = -1, .mod_other = -1 };
	assert_int_equal(sb_loop_fd_add(l, p[0], SB_FD_READ, fd_h, &r), 0);
	assert_int_equal(sb_loop_fd_count(l), 1);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 0);

	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, p[0]);
	assert_int_equal(r.events, SB_FD_READ);
	/* level-triggered: still readable, reported again */
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 2);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 2);

	/* the writer goes away: reported as an error even though only READ
	 * is watched */
	close(p[1]);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 3);
	assert_true(r.events & SB_FD_ERROR);

	/* deleting itself from its handler: never called again */
	r.del_self = true;
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 4);
	assert_int_equal(sb_loop_fd_count(l), 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 4);
	close(p[0]);
	sb_loop_free(l);
}

static void t_fd_write_mod(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct fdrec r = { .l = l, .other = -1, .mod_other = -1 };
	assert_int_equal(sb_loop_fd_add(l, sv[0], SB_FD_WRITE, fd_h, &r), 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.events, SB_FD_WRITE);

	/* watching READ only: writable is no longer reported */
	assert_int_equal(sb_loop_fd_mod(l, sv[0], SB_FD_READ), 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(write(sv[1], "ab", 2), 2);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.events, SB_FD_READ);

	/* both */
	assert_int_equal(sb_loop_fd_mod(l, sv[0], SB_FD_READ | SB_FD_WRITE), 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 3);
	assert_int_equal(r.events, SB_FD_READ | SB_FD_WRITE);

	/* nothing */
	assert_int_equal(sb_loop_fd_mod(l, sv[0], 0), 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.calls, 3);

	assert_int_equal(sb_loop_fd_del(l, sv[0]), 0);
	assert_int_equal(sb_loop_fd_del(l, sv[0]), ENOENT);
	assert_int_equal(sb_loop_fd_mod(l, sv[0], SB_FD_READ), ENOENT);
	close(sv[0]);
	close(sv[1]);
	sb_loop_free(l);
}

/* Two descriptors ready in one batch; whichever handler runs first deletes
 * the other, whose pending event must then be dropped, also when the same
 * fd number is watched again at once by a new handler. */
static void t_fd_del_in_batch(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	struct fdrec ra = { .l = l, .other = b[0], .mod_other = -1 };
	struct fdrec rb = { .l = l, .other = a[0], .mod_other = -1 };
	struct fdrec ra2 = { .l = l, .other = -1, .mod_other = -1 }, rb2 = { .l = l, .other = -1, .mod_other = -1 };
	ra.readd = &rb2;
	rb.readd = &ra2;
	assert_int_equal(sb_loop_fd_add(l, a[0], SB_FD_READ, fd_h, &ra), 0);
	assert_int_equal(sb_loop_fd_add(l, b[0], SB_FD_READ, fd_h, &rb), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);

	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(ra.calls + rb.calls, 1);
	assert_int_equal(ra2.calls + rb2.calls, 0);
	assert_int_equal(sb_loop_fd_count(l), 2);

	/* the new watch gets its own, fresh event in the next iteration */
	ra.other = rb.other = -1;
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(ra.calls + rb.calls, 2);
	assert_int_equal(ra2.calls + rb2.calls, 1);

	/* plain deletion (no re-add) in the same batch */
	sb_loop_fd_del(l, a[0]);
	sb_loop_fd_del(l, b[0]);
	struct fdrec x = { .l = l, .other = b[0], .mod_other = -1 };
	struct fdrec y = { .l = l, .other = a[0], .mod_other = -1 };
	assert_int_equal(sb_loop_fd_add(l, a[0], SB_FD_READ, fd_h, &x), 0);
	assert_int_equal(sb_loop_fd_add(l, b[0], SB_FD_READ, fd_h, &y), 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(x.calls + y.calls, 1);
	assert_int_equal(sb_loop_fd_count(l), 1);

	/* a watch narrowed by an earlier handler of the batch: its pending
	 * READ is not delivered, though the watch remains */
	sb_loop_fd_del(l, a[0]);
	sb_loop_fd_del(l, b[0]);
	struct fdrec m = { .l = l, .other = -1, .mod_other = b[0] };
	struct fdrec n = { .l = l, .other = -1, .mod_other = a[0] };
	assert_int_equal(sb_loop_fd_add(l, a[0], SB_FD_READ, fd_h, &m), 0);
	assert_int_equal(sb_loop_fd_add(l, b[0], SB_FD_READ, fd_h, &n), 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(m.calls + n.calls, 1);
	assert_int_equal(sb_loop_fd_count(l), 2);

	for (int i = 0; i < 2; i++) {
		sb_loop_fd_del(l, a[0]);
		sb_loop_fd_del(l, b[0]);
	}
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	sb_loop_free(l);
}

static void fd_noop_h(int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

static void t_fd_bound(void **state)
{
	struct sb_loop *l = manual_loop(2, 0);
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	assert_int_equal(sb_loop_fd_add(l, a[0], SB_FD_READ, fd_noop_h, NULL), 0);
	assert_int_equal(sb_loop_fd_add(l, a[0], SB_FD_READ, fd_noop_h, NULL), EEXIST);
	assert_int_equal(sb_loop_fd_add(l, a[1], SB_FD_WRITE, fd_noop_h, NULL), 0);
	assert_int_equal(sb_loop_fd_add(l, b[0], SB_FD_READ, fd_noop_h, NULL), ENOSPC);
	assert_int_equal(sb_loop_fd_count(l), 2);
	assert_int_equal(sb_loop_fd_del(l, a[1]), 0);
	assert_int_equal(sb_loop_fd_add(l, b[0], SB_FD_READ, fd_noop_h, NULL), 0);

	/* bad arguments and descriptors epoll refuses */
	assert_int_equal(sb_loop_fd_del(l, a[1]), ENOENT);
	assert_int_equal(sb_loop_fd_add(l, -1, SB_FD_READ, fd_noop_h, NULL), EINVAL);
	assert_int_equal(sb_loop_fd_add(l, a[1], SB_FD_READ, NULL, NULL), EINVAL);
	assert_int_equal(sb_loop_fd_add(l, a[1], 0x80, fd_noop_h, NULL), EINVAL);
	assert_int_equal(sb_loop_fd_mod(l, a[0], SB_FD_ERROR), EINVAL);
	assert_int_equal(sb_loop_fd_del(l, -5), ENOENT);
	sb_loop_fd_del(l, b[0]);
	int big = 1 << 20;  /* not open: EBADF, and no table of a million slots */
	assert_int_equal(sb_loop_fd_add(l, big, SB_FD_READ, fd_noop_h, NULL), EBADF);
	assert_int_equal(sb_loop_fd_count(l), 1);

	sb_loop_fd_del(l, a[0]);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	sb_loop_free(l);
}

/* ---- poll, run, wake, real clock ---- */

/* Wakes the loop `times` times, every delay_ms. */
struct waker {
	struct sb_loop *l;
	unsigned delay_ms;
	unsigned times;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	struct timespec ts = { 0, (long)w->delay_ms * 1000000 };
	for (unsigned i = 0; i < w->times; i++) {
		nanosleep(&ts, NULL);
		sb_loop_wake(w->l);
	}
	return NULL;
}

/* A safety net for tests whose polls wait for a timer: if the loop fails
 * to wake for it, the waker does (and the test's time checks fail). */
static void net_start(pthread_t *th, struct waker *w, struct sb_loop *l)
{
	*w = (struct waker){ .l = l, .delay_ms = 500, .times = 20 };
	assert_int_equal(pthread_create(th, NULL, waker_main, w), 0);
}

static void net_end(pthread_t th)
{
	pthread_cancel(th);  /* asleep in nanosleep, a cancellation point */
	assert_int_equal(pthread_join(th, NULL), 0);
}

struct rearm {
	struct sb_timer t;
	struct sb_loop *l;
	int fired;
};

static void rearm_h(void *arg)
{
	struct rearm *r = arg;
	r->fired++;
	if (r->fired < 100)  /* bounded, so that a loop that never stops fails */
		assert_int_equal(sb_timer_start(r->l, &r->t, 0, rearm_h, r), 0);
}

/* A timer restarting itself at 0 ms fires once per poll, not forever. */
static void t_poll_zero_timer(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct rearm r = { .l = l };
	struct waker w;
	pthread_t th;
	net_start(&th, &w, l);
	assert_int_equal(sb_timer_start(l, &r.t, 0, rearm_h, &r), 0);
	uint64_t t0 = mono_ns();
	for (int i = 1; i <= 3; i++) {
		/* due now: poll(-1) must not block (the waker ends a wrong wait,
		 * and the time check below catches it) */
		assert_int_equal(sb_loop_poll(l, -1), 0);
		assert_int_equal(r.fired, i);
	}
	assert_true(mono_ns() - t0 < 400000000u);
	sb_timer_stop(l, &r.t);
	net_end(th);
	/* a future timer is not fired by poll on the manual clock */
	struct log g = { .l = l };
	struct tt a = { .log = &g, .id = 1 };
	tt_start(&a, 10);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(g.n, 0);
	sb_loop_advance(l, 10);
	assert_int_equal(g.n, 1);
	sb_loop_free(l);
}

/* ---- poll and the wheel ---- */

/* Timers started by any handler of a poll, descriptors' too, wait for the
 * next poll, also one moved there by a restart; those started before fire. */
struct fresh_ctx {
	struct log g;
	struct tt o1, o2, z;
};

static void fresh_fd_h(int fd, unsigned events, void *arg)
{
	struct fresh_ctx *f = arg;
	char c;
	assert_int_equal(read(fd, &c, 1), 1);
	tt_start(&f->z, 0);
	tt_start(&f->o2, 0);
}

static void t_poll_started_in_poll(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct fresh_ctx f = { .g = { .l = l } };
	f.o1 = (struct tt){ .log = &f.g, .id = 1 };
	f.o2 = (struct tt){ .log = &f.g, .id = 2 };
	f.z = (struct tt){ .log = &f.g, .id = 3 };
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sb_loop_fd_add(l, p[0], SB_FD_READ, fresh_fd_h, &f), 0);
	tt_start(&f.o1, 0);
	tt_start(&f.o2, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(f.g.n, 1);
	assert_int_equal(f.g.ids[0], 1);
	assert_int_equal(sb_loop_timer_count(l), 2);
	assert_true(sb_timer_remaining(l, &f.z.t) == 0);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(f.g.n, 3);
	assert_int_equal(f.g.ids[1], 3);
	assert_int_equal(f.g.ids[2], 2);
	assert_int_equal(sb_loop_timer_count(l), 0);

	/* stopped before the poll ends: never fires */
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	sb_timer_stop(l, &f.z.t);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(f.g.n, 4);
	assert_int_equal(f.g.ids[3], 2);
	sb_loop_fd_del(l, p[0]);
	close(p[0]);
	close(p[1]);
	sb_loop_free(l);
}

/* The same on the real clock, where the fresh timer can be due before an
 * older one that is due by the end of the poll too: firing stops at the
 * fresh one, as if it were in the queue (after the others of its
 * deadline).  The descriptor's handler spins across the old timer's
 * deadline, starting a 0-ms timer on the way. */
struct fresh_real {
	struct log g;
	struct tt o, f;
	sb_msec_t o_due, f_due;
};

static sb_msec_t mono_ms_now(void)
{
	return mono_ns() / 1000000u;
}

static void fresh_real_fd_h(int fd, unsigned events, void *arg)
{
	struct fresh_real *r = arg;
	char c;
	assert_int_equal(read(fd, &c, 1), 1);
	while (mono_ms_now() + 2 < r->o_due)
		;
	tt_start(&r->f, 0);
	r->f_due = sb_loop_now(r->g.l) + sb_timer_remaining(r->g.l, &r->f.t);
	/* both due when the handler returns, also if it was preempted */
	sb_msec_t last = r->f_due > r->o_due ? r->f_due : r->o_due;
	while (mono_ms_now() < last + 2)
		;
}

static void t_poll_started_in_poll_real(void **state)
{
	struct sb_loop *l = real_loop();
	struct fresh_real r = { .g = { .l = l } };
	r.o = (struct tt){ .log = &r.g, .id = 1 };
	r.f = (struct tt){ .log = &r.g, .id = 2 };
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sb_loop_fd_add(l, p[0], SB_FD_READ, fresh_real_fd_h, &r), 0);
	tt_start(&r.o, 30);
	r.o_due = sb_loop_now(l) + sb_timer_remaining(l, &r.o.t);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_true(sb_loop_now(l) > r.o_due);
	/* o fires now unless f is due before it (the usual case, unless the
	 * handler was preempted) */
	assert_int_equal(r.g.n, r.f_due < r.o_due ? 0 : 1);
	assert_int_equal(sb_loop_poll(l, 0), 0);
	assert_int_equal(r.g.n, 2);
	assert_int_equal(r.g.ids[0], r.f_due < r.o_due ? 2 : 1);
	sb_loop_fd_del(l, p[0]);
	close(p[0]);
	close(p[1]);
	sb_loop_free(l);
}

/* The epoll timeout comes from a bound of the next deadline that may be
 * early (the start of a coarse slot), never late: a manual clock whose
 * next timer is on level 1 still blocks, and a real-clock timer on level 1
 * fires on time after at most a few early wakeups. */
static void t_poll_timeout_bound(void **state)
{
	struct sb_loop *l = manual_loop(0, 0);
	struct log g = { .l = l };
	struct tt a = { .log = &g, .id = 1 };
	tt_start(&a, 1000);
	struct waker w = { .l = l, .delay_ms = 30, .times = 1 };
	pthread_t th;
	uint64_t t0 = mono_ns();
	assert_int_equal(pthread_create(&th, NULL, waker_main, &w), 0);
	assert_int_equal(sb_loop_poll(l, -1), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(mono_ns() - t0 >= 25000000u);
	assert_int_equal(g.n, 0);
	sb_loop_free(l);

	l = real_loop();
	g = (struct log){ .l = l };
	a = (struct tt){ .log = &g, .id = 1 };
	net_start(&th, &w, l);
	t0 = mono_ns();
	tt_start(&a, 700);
	int polls = 0;
	while (g.n == 0 && polls < 100) {
		assert_int_equal(sb_loop_poll(l, -1), 0);
		polls++;
	}
	uint64_t dt = mono_ns() - t0;
	net_end(th);
	assert_int_equal(g.n, 1);
	assert_true(dt >= 700000000u);
	assert_true(dt < 1080000000u);
	/* the firing, at most two early wakeups (levels 2 and 1), the net's */
	assert_true(polls <= 4);
	sb_loop_free(l);
}

static void stop_h(void *arg)
{
	struct rearm *r = arg;
	r->fired++;
	if (r->fired == 3)
		sb_loop_stop(r->l);
	else
		assert_int_equal(sb_timer_start(r->l, &r->t, 1, stop_h, r), 0);
}

static void t_run_stop(void **state)
{
	struct sb_loop *l = real_loop();
	struct rearm r = { .l = l };
	struct waker w;
	pthread_t th;
	net_start(&th, &w, l);
	uint64_t t0 = mono_ns();
	assert_int_equal(sb_timer_start(l, &r.t, 1, stop_h, &r), 0);
	assert_int_equal(sb_loop_run(l), 0);
	assert_true(mono_ns() - t0 < 400000000u);
	net_end(th);
	assert_int_equal(r.fired, 3);
	/* a stop before run: returns at once */
	sb_loop_stop(l);
	assert_int_equal(sb_loop_run(l), 0);
	sb_loop_free(l);
}

static void t_wake_thread(void **state)
{
	struct sb_loop *l = real_loop();
	/* safety net: a broken wake fails here instead of hanging */
	struct log g = { .l = l };
	struct tt net = { .log = &g, .id = 1 };
	tt_start(&net, 5000);

	struct waker w = { .l = l, .delay_ms = 5, .times = 1 };
	pthread_t th;
	uint64_t t0 = mono_ns();
	assert_int_equal(pthread_create(&th, NULL, waker_main, &w), 0);
	assert_int_equal(sb_loop_poll(l, -1), 0);
	uint64_t dt = mono_ns() - t0;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(g.n, 0);
	assert_true(dt < 2000000000u);

	/* the wake was consumed: the next poll waits its whole timeout, and
	 * a wake before the poll is not lost */
	t0 = mono_ns();
	assert_int_equal(sb_loop_poll(l, 5), 0);
	assert_true(mono_ns() - t0 >= 5000000u);
	sb_loop_wake(l);
	sb_loop_wake(l);
	t0 = mono_ns();
	assert_int_equal(sb_loop_poll(l, -1), 0);
	assert_true(mono_ns() - t0 < 2000000000u);
	assert_int_equal(g.n, 0);
	sb_timer_stop(l, &net.t);
	sb_loop_free(l);
}

static void t_real_timer(void **state)
{
	struct sb_loop *l = real_loop();
	struct log g = { .l = l };
	struct tt a = { .log = &g, .id = 1 };
	struct waker w;
	pthread_t th;
	net_start(&th, &w, l);
	/* the loop's cached now is 5 ms old: a deadline counted from it
	 * would fire early */
	struct timespec ts = { 0, 5000000 };
	nanosleep(&ts, NULL);
	uint64_t t0 = mono_ns();
	tt_start(&a, 20);
	assert_true(sb_timer_remaining(l, &a.t) >= 19 && sb_timer_remaining(l, &a.t) <= 21);
	/* poll(-1) waits for the timer itself; bounded in case it does not */
	for (int i = 0; i < 100 && g.n == 0; i++)
		assert_int_equal(sb_loop_poll(l, -1), 0);
	uint64_t dt = mono_ns() - t0;
	assert_int_equal(g.n, 1);
	assert_true(dt >= 20000000u);
	assert_true(dt < 400000000u);
	assert_true(sb_loop_now(l) >= g.at[0]);

	/* a poll timeout shorter than the timer: returns without firing */
	tt_start(&a, 1000);
	t0 = mono_ns();
	assert_int_equal(sb_loop_poll(l, 2), 0);
	dt = mono_ns() - t0;
	assert_int_equal(g.n, 1);
	assert_true(dt >= 2000000u && dt < 400000000u);
	sb_timer_stop(l, &a.t);
	net_end(th);
	sb_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_alloc),
		cmocka_unit_test(t_order),
		cmocka_unit_test(t_restart_stop),
		cmocka_unit_test(t_stop_other_in_handler),
		cmocka_unit_test(t_start_in_handler),
		cmocka_unit_test(t_handler_frees_owner),
		cmocka_unit_test(t_heap_random),
		cmocka_unit_test(t_timer_bound),
		cmocka_unit_test(t_timer_size),
		cmocka_unit_test(t_wheel_ties_across_levels),
		cmocka_unit_test(t_wheel_long_delays),
		cmocka_unit_test(t_wheel_far_jumps),
		cmocka_unit_test(t_wheel_stop_restart_in_cascade),
		cmocka_unit_test(t_wheel_random_mix),
		cmocka_unit_test(t_fd_read),
		cmocka_unit_test(t_fd_write_mod),
		cmocka_unit_test(t_fd_del_in_batch),
		cmocka_unit_test(t_fd_bound),
		cmocka_unit_test(t_poll_zero_timer),
		cmocka_unit_test(t_poll_started_in_poll),
		cmocka_unit_test(t_poll_started_in_poll_real),
		cmocka_unit_test(t_poll_timeout_bound),
		cmocka_unit_test(t_run_stop),
		cmocka_unit_test(t_wake_thread),
		cmocka_unit_test(t_real_timer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

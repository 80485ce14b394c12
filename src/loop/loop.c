/* loop: the epoll event loop.  Descriptor watches live in an fd-indexed
 * table; each watch gets a generation number that travels in the epoll
 * event, so an event fetched before the watch was deleted (or replaced) is
 * recognised as stale and dropped.  Timers sit in a hierarchical timing
 * wheel of intrusive lists (the comment above set_base() tells how it keeps
 * deadline and start order): start and stop are O(1) and allocate nothing.
 *
 * Nothing here holds a pointer into the fd table or the wheel's lists
 * across a handler call: handlers may add, delete, start and stop anything,
 * and the fd table may be reallocated. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "switchboard/loop.h"

/* epoll data of the wake eventfd.  A watch's data is its generation over its
 * fd, and an fd (non-negative int) never fills the bottom half with ones. */
#define WAKE_DATA UINT64_MAX

/* Smallest fd table, to skip the first few doublings. */
#define MIN_FD_SLOTS 64

/* The timer wheel: WHEEL_LEVELS levels of WHEEL_SLOTS slots, each level
 * sorting deadlines by WHEEL_BITS more bits; 8 * 8 = 64 bits. */
#define WHEEL_BITS 8u
#define WHEEL_SLOTS (1u << WHEEL_BITS)
#define WHEEL_LEVELS 8u
#define WHEEL_WORDS (WHEEL_SLOTS / 64u)  /* of a level's occupancy bitmap */

struct fd_slot {
	sb_fd_h *h;
	void *arg;
	unsigned events;     /* SB_FD_READ | SB_FD_WRITE watched */
	uint32_t gen;        /* 0: no watch */
};

struct sb_loop {
	int epfd;
	int wakefd;
	bool manual;
	bool stopping;
	sb_msec_t now;

	/* fd watches: slots[fd]; the table covers the highest fd ever watched,
	 * which the process's RLIMIT_NOFILE bounds; nfds <= max_fds. */
	struct fd_slot *slots;
	size_t nslots;
	size_t nfds;
	size_t max_fds;
	uint32_t gen;        /* last generation handed out, never 0 */

	/* timers: in the wheel, or in fresh while sb_loop_poll() runs its
	 * handlers (they may not fire in that call); ntimers <= max_timers */
	struct sb_timer_link wheel[WHEEL_LEVELS * WHEEL_SLOTS]; /* slot_head() */
	uint64_t occupied[WHEEL_LEVELS][WHEEL_WORDS]; /* bit s: slot s of lv not empty */
	uint32_t levels;     /* bit lv: some slot of level lv is occupied */
	sb_msec_t base;      /* nothing in the wheel is due before; <= now */
	struct sb_timer_link fresh;
	unsigned polling;    /* in sb_loop_poll(): starts go to fresh */
	size_t ntimers;
	size_t max_timers;
};

static void list_init(struct sb_timer_link *h)
{
	h->next = h->prev = h;
}

/* Leaves every timer on the list h idle (and h empty). */
static void list_idle(struct sb_timer_link *h)
{
	struct sb_timer_link *n = h->next;
	while (n != h) {
		struct sb_timer_link *next = n->next;
		n->next = n->prev = NULL;
		n = next;
	}
	list_init(h);
}

/* Reads CLOCK_MONOTONIC in whole milliseconds, rounded down or up. */
static sb_msec_t mono_ms(bool round_up)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec;
	if (round_up)
		ns += 999999;
	return (sb_msec_t)ts.tv_sec * 1000 + ns / 1000000;
}

/* Moves the cached now to the real clock (never backwards); manual: no-op. */
static void clock_refresh(struct sb_loop *l)
{
	if (l->manual)
		return;
	sb_msec_t t = mono_ms(false);
	if (t > l->now)
		l->now = t;
}

static sb_msec_t add_sat(sb_msec_t a, sb_msec_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int sb_loop_alloc(struct sb_loop **lp, const struct sb_loop_cfg *cfg)
{
	static const struct sb_loop_cfg dflt = { 0 };
	if (!lp)
		return EINVAL;
	if (!cfg)
		cfg = &dflt;
	struct sb_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	l->epfd = l->wakefd = -1;
	l->manual = cfg->manual_clock;
	l->max_fds = cfg->max_fds ? cfg->max_fds : SB_LOOP_DEFAULT_MAX_FDS;
	l->max_timers = cfg->max_timers ? cfg->max_timers : SB_LOOP_DEFAULT_MAX_TIMERS;
	for (size_t i = 0; i < WHEEL_LEVELS * WHEEL_SLOTS; i++)
		list_init(&l->wheel[i]);
	list_init(&l->fresh);

	int err = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		err = errno;
		goto out;
	}
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wakefd < 0) {
		err = errno;
		goto out;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_DATA };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) {
		err = errno;
		goto out;
	}
	clock_refresh(l);
	l->base = l->now;
out:
	if (err) {
		sb_loop_free(l);
		return err;
	}
	*lp = l;
	return 0;
}

void sb_loop_free(struct sb_loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < WHEEL_LEVELS * WHEEL_SLOTS; i++)
		list_idle(&l->wheel[i]);
	list_idle(&l->fresh);
	if (l->wakefd >= 0)
		close(l->wakefd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->slots);
	free(l);
}

sb_msec_t sb_loop_now(struct sb_loop *l)
{
	return l->now;
}

/* ---- descriptors ---- */

static uint32_t to_epoll(unsigned events)
{
	return ((events & SB_FD_READ) ? EPOLLIN : 0) |
	       ((events & SB_FD_WRITE) ? EPOLLOUT : 0);
}

static struct fd_slot *slot_of(struct sb_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nslots || !l->slots[fd].gen)
		return NULL;
	return &l->slots[fd];
}

/* Makes slots[fd] exist; the table doubles so that growth is amortised. */
static int slots_reserve(struct sb_loop *l, int fd)
{
	size_t need = (size_t)fd + 1;
	if (need <= l->nslots)
		return 0;
	size_t n = l->nslots ? l->nslots : MIN_FD_SLOTS;
	while (n < need)
		n *= 2;
	struct fd_slot *s = realloc(l->slots, n * sizeof(*s));
	if (!s)
		return ENOMEM;
	memset(s + l->nslots, 0, (n - l->nslots) * sizeof(*s));
	l->slots = s;
	l->nslots = n;
	return 0;
}

int sb_loop_fd_add(struct sb_loop *l, int fd, unsigned events, sb_fd_h *h, void *arg)
{
	if (fd < 0 || !h || (events & ~(unsigned)(SB_FD_READ | SB_FD_WRITE)))
		return EINVAL;
	if (slot_of(l, fd))
		return EEXIST;
	if (l->nfds >= l->max_fds)
		return ENOSPC;

	uint32_t gen = l->gen + 1;
	if (gen == 0)
		gen = 1;
	struct epoll_event ev = {
		.events = to_epoll(events),
		.data.u64 = (uint64_t)gen << 32 | (uint32_t)fd,
	};
	/* epoll_ctl first: it vouches that fd is open, hence below
	 * RLIMIT_NOFILE, before the table grows to cover it. */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return errno;
	int err = slots_reserve(l, fd);
	if (err) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		return err;
	}
	l->gen = gen;
	l->slots[fd] = (struct fd_slot){ .h = h, .arg = arg, .events = events, .gen = gen };
	l->nfds++;
	return 0;
}

int sb_loop_fd_mod(struct sb_loop *l, int fd, unsigned events)
{
	if (events & ~(unsigned)(SB_FD_READ | SB_FD_WRITE))
		return EINVAL;
	struct fd_slot *s = slot_of(l, fd);
	if (!s)
		return ENOENT;
	struct epoll_event ev = {
		.events = to_epoll(events),
		.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd,
	};
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return errno;
	s->events = events;
	return 0;
}

int sb_loop_fd_del(struct sb_loop *l, int fd)
{
	struct fd_slot *s = slot_of(l, fd);
	if (!s)
		return ENOENT;
	/* Fails only if fd was closed already, and then the kernel has
	 * dropped it from the epoll set itself: the watch is gone either way. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	*s = (struct fd_slot){ 0 };
	l->nfds--;
	return 0;
}

size_t sb_loop_fd_count(const struct sb_loop *l)
{
	return l->nfds;
}

/* ---- timers: the wheel ----
 *
 * Level k (0..WHEEL_LEVELS-1) sorts deadlines by their k-th group of
 * WHEEL_BITS bits (their "digit" k).  A timer sits at the level of the
 * highest digit in which its deadline differs from base, in the slot of its
 * deadline's digit there; if it differs in none above digit 0 it is on level
 * 0, whose slots are single milliseconds of base's current block.  Hence the
 * invariants that everything below rests on:
 *
 *   - every timer in the wheel is due at base or later;
 *   - a timer's level and slot follow from its deadline and base alone, so
 *     all timers due at the same millisecond share one slot;
 *   - a slot's list is in start order for each deadline: starts append, and
 *     a cascade moves a slot's timers, in order, to slots that hold no
 *     timer of the same deadline (those were all in the slot moved).
 *
 * So a millisecond's timers fire in start order even when some came down
 * from a coarser level after others were started with shorter delays.
 * When base moves to b, each level's slot of b's digit holds exactly the
 * timers whose level drops: set_base() re-inserts them (a cascade), from
 * the top level down.  A timer cascades at most once per level; far moves
 * of the clock jump from occupied slot to occupied slot (the bitmaps).
 * Eight levels of eight bits cover every 64-bit deadline, so there is no
 * overflow list and no bound on a delay.  Eight bits rather than six: a
 * timer of 5 to 65 s (RFC 3261 §17 Timers B, F, H, J, K, L, M) starts on
 * level 1 (level 2 if it crosses a multiple of 65,536 ms) and cascades
 * once, not twice, and each cascade of a long-idle timer is a cache miss;
 * the slot heads take 32 KiB per loop. */

static unsigned lowest_bit(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);  /* x != 0 */
}

static unsigned highest_bit(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);  /* x != 0 */
}

static unsigned digit(sb_msec_t d, unsigned level)
{
	return (unsigned)(d >> (level * WHEEL_BITS)) & (WHEEL_SLOTS - 1);
}

/* The level a timer due at d sits at while the wheel is at base (d >=
 * base). */
static unsigned level_of(sb_msec_t d, sb_msec_t base)
{
	sb_msec_t x = d ^ base;
	return x < WHEEL_SLOTS ? 0 : highest_bit(x) / WHEEL_BITS;
}

static struct sb_timer_link *slot_head(struct sb_loop *l, unsigned lv, unsigned s)
{
	return &l->wheel[lv * WHEEL_SLOTS + s];
}

static void occ_set(struct sb_loop *l, unsigned lv, unsigned s)
{
	l->occupied[lv][s / 64] |= (uint64_t)1 << (s % 64);
	l->levels |= 1u << lv;
}

static void occ_clear(struct sb_loop *l, unsigned lv, unsigned s)
{
	uint64_t *w = l->occupied[lv];
	w[s / 64] &= ~((uint64_t)1 << (s % 64));
	for (unsigned i = 0; i < WHEEL_WORDS; i++)
		if (w[i])
			return;
	l->levels &= ~(1u << lv);
}

static bool occ_test(const struct sb_loop *l, unsigned lv, unsigned s)
{
	return (l->occupied[lv][s / 64] >> (s % 64)) & 1;
}

/* The lowest occupied slot of level lv, which has one. */
static unsigned occ_lowest(const struct sb_loop *l, unsigned lv)
{
	const uint64_t *w = l->occupied[lv];
	unsigned i = 0;
	while (!w[i])
		i++;
	return i * 64 + lowest_bit(w[i]);
}

static void list_append(struct sb_timer_link *h, struct sb_timer_link *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static struct sb_timer *timer_of(struct sb_timer_link *n)
{
	return (struct sb_timer *)((char *)n - offsetof(struct sb_timer, link));
}

static void wheel_insert(struct sb_loop *l, struct sb_timer *t)
{
	unsigned lv = level_of(t->deadline, l->base);
	unsigned s = digit(t->deadline, lv);
	list_append(slot_head(l, lv, s), &t->link);
	occ_set(l, lv, s);
}

/* Takes a running t off its list (a slot or fresh); t is idle after. */
static void timer_unlink(struct sb_loop *l, struct sb_timer *t)
{
	struct sb_timer_link *p = t->link.prev, *n = t->link.next;
	p->next = n;
	n->prev = p;
	t->link.next = t->link.prev = NULL;
	l->ntimers--;
	/* prev == next only when t was alone: both are then the list head,
	 * fresh or a slot's */
	uintptr_t off = (uintptr_t)p - (uintptr_t)l->wheel;
	if (p == n && off < sizeof(l->wheel)) {
		size_t i = off / sizeof(l->wheel[0]);
		occ_clear(l, (unsigned)(i / WHEEL_SLOTS), (unsigned)(i % WHEEL_SLOTS));
	}
}

/* Re-inserts, in order, the timers of slot s of level lv, whose digit is
 * now base's: they all land on lower levels. */
static void cascade(struct sb_loop *l, unsigned lv, unsigned s)
{
	struct sb_timer_link *h = slot_head(l, lv, s), tmp;
	tmp.next = h->next;
	tmp.prev = h->prev;
	tmp.next->prev = &tmp;
	tmp.prev->next = &tmp;
	list_init(h);
	occ_clear(l, lv, s);
	while (tmp.next != &tmp) {
		struct sb_timer_link *n = tmp.next;
		tmp.next = n->next;
		n->next->prev = &tmp;
		wheel_insert(l, timer_of(n));
	}
}

/* Moves the wheel to b: no timer in it may be due before b.  Only the
 * levels whose digit of b differs from base's have a slot to cascade. */
static void set_base(struct sb_loop *l, sb_msec_t b)
{
	sb_msec_t old = l->base;
	if (b <= old)
		return;
	l->base = b;
	for (unsigned lv = level_of(b, old); lv > 0; lv--) {
		unsigned s = digit(b, lv);
		if (occ_test(l, lv, s))
			cascade(l, lv, s);
	}
}

/* With level 0 empty: where the lowest occupied slot of the lowest
 * occupied level starts, a lower bound of every deadline in the wheel.
 * False if the wheel is empty. */
static bool next_span(const struct sb_loop *l, sb_msec_t *span)
{
	uint32_t above = l->levels & ~1u;
	if (!above)
		return false;
	unsigned lv = lowest_bit(above);
	unsigned shift = lv * WHEEL_BITS, up = shift + WHEEL_BITS;
	sb_msec_t high = up >= 64 ? 0 : l->base >> up << up;
	*span = high | (sb_msec_t)occ_lowest(l, lv) << shift;
	return true;
}

/* The first timer in (deadline, start) order if it is due by until, else
 * NULL; cascades on the way, and leaves base at its deadline. */
static struct sb_timer *wheel_first(struct sb_loop *l, sb_msec_t until)
{
	for (;;) {
		if (l->levels & 1u) {
			sb_msec_t d = (l->base & ~(sb_msec_t)(WHEEL_SLOTS - 1)) | occ_lowest(l, 0);
			if (d > until)
				return NULL;
			l->base = d;  /* same block: no cascade */
			return timer_of(slot_head(l, 0, digit(d, 0))->next);
		}
		sb_msec_t span;
		if (!next_span(l, &span) || span > until)
			return NULL;
		set_base(l, span);
	}
}

/* A lower bound of the next deadline (exact when it is on level 0), or
 * UINT64_MAX with no timer. */
static sb_msec_t next_due_bound(const struct sb_loop *l)
{
	sb_msec_t d = UINT64_MAX;
	if (l->levels & 1u)
		d = (l->base & ~(sb_msec_t)(WHEEL_SLOTS - 1)) | occ_lowest(l, 0);
	else if (!next_span(l, &d))
		d = UINT64_MAX;
	for (struct sb_timer_link *n = l->fresh.next; n != &l->fresh; n = n->next) {
		const struct sb_timer *t = timer_of(n);
		if (t->deadline < d)
			d = t->deadline;
	}
	return d;
}

/* Moves the timers started during sb_loop_poll() into the wheel, in start
 * order. */
static void fresh_flush(struct sb_loop *l)
{
	while (l->fresh.next != &l->fresh) {
		struct sb_timer_link *n = l->fresh.next;
		l->fresh.next = n->next;
		n->next->prev = &l->fresh;
		wheel_insert(l, timer_of(n));
	}
}

void sb_timer_init(struct sb_timer *t)
{
	*t = (struct sb_timer){ 0 };
}

int sb_timer_start(struct sb_loop *l, struct sb_timer *t, sb_msec_t ms, sb_timer_h *h, void *arg)
{
	if (!h)
		return EINVAL;
	sb_msec_t from = l->now;
	if (!l->manual) {
		/* The cached now may be a whole iteration old, and it is rounded
		 * down: counting from it could fire early.  Count from the
		 * present, rounded up. */
		from = mono_ms(true);
		clock_refresh(l);
	}
	if (sb_timer_running(t))
		timer_unlink(l, t);
	else if (l->ntimers >= l->max_timers)
		return ENOSPC;
	t->deadline = add_sat(from, ms);
	/* cannot happen (base <= now <= from), but a deadline before base
	 * would sit in a slot the wheel has passed: late rather than lost */
	if (t->deadline < l->base)
		t->deadline = l->base;
	t->handler = h;
	t->arg = arg;
	if (l->polling)
		list_append(&l->fresh, &t->link);
	else
		wheel_insert(l, t);
	l->ntimers++;
	return 0;
}

void sb_timer_stop(struct sb_loop *l, struct sb_timer *t)
{
	if (sb_timer_running(t))
		timer_unlink(l, t);
}

sb_msec_t sb_timer_remaining(struct sb_loop *l, const struct sb_timer *t)
{
	if (!sb_timer_running(t))
		return UINT64_MAX;
	return t->deadline > l->now ? t->deadline - l->now : 0;
}

size_t sb_loop_timer_count(const struct sb_loop *l)
{
	return l->ntimers;
}

/* Fires, in (deadline, start) order, the wheel's timers due by until (the
 * fresh ones wait), then moves base to until.  Each is idle before its
 * handler runs; on the manual clock now is its deadline while it runs.
 * Handlers may start, stop, advance: nothing is cached across a call. */
static void fire_due(struct sb_loop *l, sb_msec_t until)
{
	struct sb_timer *t;
	while ((t = wheel_first(l, until))) {
		timer_unlink(l, t);
		if (l->manual && t->deadline > l->now)
			l->now = t->deadline;
		/* t may be freed or restarted by its handler: read it first. */
		sb_timer_h *h = t->handler;
		void *arg = t->arg;
		h(arg);
	}
	/* nothing left is due by until, and no fresh timer before it */
	if (until > l->base)
		set_base(l, until);
}

void sb_loop_advance(struct sb_loop *l, sb_msec_t ms)
{
	if (!l->manual)
		return;
	/* Called from a handler of sb_loop_poll(): everything started so far
	 * may fire, and what these handlers start too. */
	unsigned polling = l->polling;
	l->polling = 0;
	fresh_flush(l);
	sb_msec_t target = add_sat(l->now, ms);
	fire_due(l, target);
	if (target > l->now)  /* a handler may have advanced further itself */
		l->now = target;
	l->polling = polling;
}

/* ---- iteration ---- */

/* The epoll_wait timeout: the caller's, cut to the next deadline, rounded up
 * (now is rounded down, so waiting until now reaches the deadline is never
 * too short).  The next deadline is next_due_bound(): exact when the first
 * timer is on the wheel's level 0 (due within the current 256 ms block),
 * else the start of its slot's span, an earlier wakeup that cascades the
 * slot; so a timer due on level k costs at most k early wakeups, and none
 * is ever late. */
static int wait_timeout(struct sb_loop *l, int timeout_ms)
{
	if (!l->ntimers)
		return timeout_ms;
	sb_msec_t d = next_due_bound(l);
	if (d <= l->now)
		return 0;
	if (l->manual)
		return timeout_ms;  /* waiting does not bring a deadline closer */
	sb_msec_t wait = d - l->now;
	if (wait > INT_MAX)
		wait = INT_MAX;
	if (timeout_ms < 0 || (sb_msec_t)timeout_ms > wait)
		return (int)wait;
	return timeout_ms;
}

/* How far a poll fires: up to now, but not past the first fresh timer, as
 * if fresh timers were in the wheel, ranked after all others of their
 * deadline, and firing stopped at the first of them. */
static sb_msec_t poll_until(const struct sb_loop *l)
{
	sb_msec_t until = l->now;
	for (struct sb_timer_link *n = l->fresh.next; n != &l->fresh; n = n->next) {
		const struct sb_timer *t = timer_of(n);
		if (t->deadline < until)
			until = t->deadline;
	}
	return until;
}

static void poll_end(struct sb_loop *l)
{
	if (--l->polling == 0)
		fresh_flush(l);
}

static unsigned from_epoll(uint32_t e)
{
	return ((e & (EPOLLIN | EPOLLPRI)) ? SB_FD_READ : 0) |
	       ((e & EPOLLOUT) ? SB_FD_WRITE : 0) |
	       ((e & (EPOLLERR | EPOLLHUP)) ? SB_FD_ERROR : 0);
}

static void drain_wake(struct sb_loop *l)
{
	uint64_t v;
	ssize_t n = read(l->wakefd, &v, sizeof(v));
	(void)n;  /* EAGAIN: another poll drained it already */
}

int sb_loop_poll(struct sb_loop *l, int timeout_ms)
{
	struct epoll_event evs[SB_LOOP_MAX_EVENTS];
	/* Timers started from here on (at 0 ms by a handler) wait in fresh for
	 * the next call, so that a timer restarting itself cannot starve
	 * descriptors. */
	l->polling++;

	clock_refresh(l);
	int n = epoll_wait(l->epfd, evs, SB_LOOP_MAX_EVENTS, wait_timeout(l, timeout_ms));
	if (n < 0) {
		if (errno != EINTR) {
			int err = errno;
			poll_end(l);
			return err;
		}
		n = 0;
	}
	clock_refresh(l);
	for (int i = 0; i < n; i++) {
		uint64_t data = evs[i].data.u64;
		if (data == WAKE_DATA) {
			drain_wake(l);
			continue;
		}
		int fd = (int)(uint32_t)data;
		uint32_t gen = (uint32_t)(data >> 32);
		struct fd_slot *s = slot_of(l, fd);
		/* Deleted, or deleted and added again, by an earlier handler of
		 * this batch: the event belongs to a watch that is gone. */
		if (!s || s->gen != gen)
			continue;
		unsigned ev = from_epoll(evs[i].events) & (s->events | SB_FD_ERROR);
		if (!ev)
			continue;  /* fd_mod dropped what was ready */
		s->h(fd, ev, s->arg);
	}
	clock_refresh(l);
	fire_due(l, poll_until(l));
	poll_end(l);
	return 0;
}

int sb_loop_run(struct sb_loop *l)
{
	int err = 0;
	while (!l->stopping) {
		err = sb_loop_poll(l, -1);
		if (err)
			break;
	}
	l->stopping = false;
	return err;
}

void sb_loop_stop(struct sb_loop *l)
{
	l->stopping = true;
}

void sb_loop_wake(struct sb_loop *l)
{
	uint64_t one = 1;
	ssize_t n = write(l->wakefd, &one, sizeof(one));
	(void)n;  /* EAGAIN: the counter is full, a wake is pending anyway */
}

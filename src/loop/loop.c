/* loop: the epoll event loop.  Descriptor watches live in an fd-indexed
 * table; each watch gets a generation number that travels in the epoll
 * event, so an event fetched before the watch was deleted (or replaced) is
 * recognised as stale and dropped.  Timers sit in a binary min-heap of
 * pointers to the embedded struct sb_timer, ordered by (deadline, seq).
 *
 * Nothing here holds a pointer into the fd table or the heap across a
 * handler call: handlers may add, delete, start and stop anything, which
 * may reallocate both. */
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

/* Smallest fd table and heap, to skip the first few doublings. */
#define MIN_FD_SLOTS 64
#define MIN_HEAP_CAP 64

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

	/* timers: heap[0] is the earliest; ntimers <= heap_cap <= max_timers */
	struct sb_timer **heap;
	size_t ntimers;
	size_t heap_cap;
	size_t max_timers;
	uint64_t seq;        /* next start order */
};

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
	for (size_t i = 0; i < l->ntimers; i++)
		l->heap[i]->heap_index = SB_TIMER_IDLE;
	if (l->wakefd >= 0)
		close(l->wakefd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->heap);
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

/* ---- timers ---- */

static bool earlier(const struct sb_timer *a, const struct sb_timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_put(struct sb_loop *l, size_t i, struct sb_timer *t)
{
	l->heap[i] = t;
	t->heap_index = (uint32_t)(i + 1);
}

/* Moves the timer at i towards the root while it is earlier than its
 * parent; returns its final position. */
static size_t sift_up(struct sb_loop *l, size_t i)
{
	struct sb_timer *t = l->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!earlier(t, l->heap[parent]))
			break;
		heap_put(l, i, l->heap[parent]);
		i = parent;
	}
	heap_put(l, i, t);
	return i;
}

static void sift_down(struct sb_loop *l, size_t i)
{
	struct sb_timer *t = l->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->ntimers)
			break;
		if (c + 1 < l->ntimers && earlier(l->heap[c + 1], l->heap[c]))
			c++;
		if (!earlier(l->heap[c], t))
			break;
		heap_put(l, i, l->heap[c]);
		i = c;
	}
	heap_put(l, i, t);
}

/* Puts the timer at i, whose key changed, back in heap order. */
static void heap_fix(struct sb_loop *l, size_t i)
{
	if (sift_up(l, i) == i)
		sift_down(l, i);
}

/* Whether t is in this loop's heap (not idle, not another loop's). */
static bool in_heap(const struct sb_loop *l, const struct sb_timer *t)
{
	size_t i = t->heap_index;
	return i != SB_TIMER_IDLE && i <= l->ntimers && l->heap[i - 1] == t;
}

static void heap_remove(struct sb_loop *l, struct sb_timer *t)
{
	size_t i = t->heap_index - 1;
	struct sb_timer *last = l->heap[--l->ntimers];
	t->heap_index = SB_TIMER_IDLE;
	if (last == t)
		return;
	heap_put(l, i, last);
	heap_fix(l, i);
}

/* Grows the heap array geometrically, never past max_timers. */
static int heap_reserve(struct sb_loop *l)
{
	if (l->ntimers < l->heap_cap)
		return 0;
	if (l->ntimers >= l->max_timers)
		return ENOSPC;
	size_t n = l->heap_cap ? l->heap_cap * 2 : MIN_HEAP_CAP;
	if (n > l->max_timers)
		n = l->max_timers;
	struct sb_timer **h = realloc(l->heap, n * sizeof(*h));
	if (!h)
		return ENOMEM;
	l->heap = h;
	l->heap_cap = n;
	return 0;
}

void sb_timer_init(struct sb_timer *t)
{
	*t = (struct sb_timer){ .heap_index = SB_TIMER_IDLE };
}

int sb_timer_start(struct sb_loop *l, struct sb_timer *t, sb_msec_t ms, sb_timer_h *h, void *arg)
{
	if (!h)
		return EINVAL;
	sb_msec_t base = l->now;
	if (!l->manual) {
		/* The cached now may be a whole iteration old, and it is rounded
		 * down: counting from it could fire early.  Count from the
		 * present, rounded up. */
		base = mono_ms(true);
		clock_refresh(l);
	}
	bool running = in_heap(l, t);
	if (!running) {
		int err = heap_reserve(l);
		if (err)
			return err;
	}
	t->deadline = add_sat(base, ms);
	t->seq = l->seq++;
	t->handler = h;
	t->arg = arg;
	if (running) {
		heap_fix(l, t->heap_index - 1);
	} else {
		heap_put(l, l->ntimers++, t);
		sift_up(l, l->ntimers - 1);
	}
	return 0;
}

void sb_timer_stop(struct sb_loop *l, struct sb_timer *t)
{
	if (in_heap(l, t))
		heap_remove(l, t);
}

sb_msec_t sb_timer_remaining(struct sb_loop *l, const struct sb_timer *t)
{
	if (!in_heap(l, t))
		return UINT64_MAX;
	return t->deadline > l->now ? t->deadline - l->now : 0;
}

size_t sb_loop_timer_count(const struct sb_loop *l)
{
	return l->ntimers;
}

/* Fires, in (deadline, seq) order, the timers due by `until` that were
 * started before seq `seq_limit`.  Each is idle before its handler runs; on
 * the manual clock now is its deadline while it runs. */
static void fire_due(struct sb_loop *l, sb_msec_t until, uint64_t seq_limit)
{
	while (l->ntimers) {
		struct sb_timer *t = l->heap[0];
		if (t->deadline > until || t->seq >= seq_limit)
			break;
		heap_remove(l, t);
		if (l->manual && t->deadline > l->now)
			l->now = t->deadline;
		/* t may be freed or restarted by its handler: read it first. */
		sb_timer_h *h = t->handler;
		void *arg = t->arg;
		h(arg);
	}
}

void sb_loop_advance(struct sb_loop *l, sb_msec_t ms)
{
	if (!l->manual)
		return;
	sb_msec_t target = add_sat(l->now, ms);
	fire_due(l, target, UINT64_MAX);
	if (target > l->now)  /* a handler may have advanced further itself */
		l->now = target;
}

/* ---- iteration ---- */

/* The epoll_wait timeout: the caller's, cut to the next deadline, rounded up
 * (now is rounded down, so waiting until now reaches the deadline is never
 * too short). */
static int wait_timeout(struct sb_loop *l, int timeout_ms)
{
	if (!l->ntimers)
		return timeout_ms;
	sb_msec_t d = l->heap[0]->deadline;
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
	/* Timers started from here on (at 0 ms by a handler) wait for the next
	 * call, so that a timer restarting itself cannot starve descriptors. */
	uint64_t seq_limit = l->seq;

	clock_refresh(l);
	int n = epoll_wait(l->epfd, evs, SB_LOOP_MAX_EVENTS, wait_timeout(l, timeout_ms));
	if (n < 0) {
		if (errno != EINTR)
			return errno;
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
	fire_due(l, l->now, seq_limit);
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

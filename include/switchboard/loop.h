/* loop: one epoll event loop per thread, with file-descriptor watches and
 * timers.  Timers live inside the object that owns them (struct sb_timer is
 * embedded, nothing is allocated per timer) and sit in a hierarchical timing
 * wheel: start and stop are O(1), and each fires at its exact deadline
 * (milliseconds on CLOCK_MONOTONIC), never early.
 *
 * The clock can be driven by hand (sb_loop_cfg.manual_clock) so that
 * protocol timers (RFC 3261 §17: A..K) are tested deterministically without
 * sleeping: sb_loop_advance() moves time and fires what became due.
 *
 * Not thread-safe: a loop and everything registered on it belong to the
 * thread that runs it; sb_loop_wake() is the one call another thread may
 * make. */
#ifndef SWITCHBOARD_LOOP_H
#define SWITCHBOARD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sb_loop;

/* Milliseconds on the loop's clock. */
typedef uint64_t sb_msec_t;

enum sb_fd_events {
	SB_FD_READ = 1u << 0,
	SB_FD_WRITE = 1u << 1,
	SB_FD_ERROR = 1u << 2, /* reported only: EPOLLERR / EPOLLHUP */
};

typedef void (sb_fd_h)(int fd, unsigned events, void *arg);
typedef void (sb_timer_h)(void *arg);

/* A link of the wheel's circular lists (the loop's slot heads are links
 * too). */
struct sb_timer_link {
	struct sb_timer_link *next;
	struct sb_timer_link *prev;
};

/* Embed in the owning object; zero-initialise or sb_timer_init() it.  The
 * fields belong to the loop: read them only through the functions below.
 * A null link.next means idle, so that a zeroed timer is idle without a call
 * to sb_timer_init().  40 bytes on LP64, and the loop keeps nothing else per
 * timer. */
struct sb_timer {
	struct sb_timer_link link;  /* in a wheel slot, in start order */
	sb_msec_t deadline;
	sb_timer_h *handler;
	void *arg;
};

#define SB_LOOP_DEFAULT_MAX_FDS 65536u
#define SB_LOOP_DEFAULT_MAX_TIMERS (1u << 22)
/* Events taken from the kernel per epoll_wait(); more stay pending for the
 * next iteration (level-triggered), so this bounds work per iteration. */
#define SB_LOOP_MAX_EVENTS 128

struct sb_loop_cfg {
	bool manual_clock;     /* time moves only by sb_loop_advance() */
	uint32_t max_fds;      /* bound on watched descriptors; 0: 65536 */
	uint32_t max_timers;   /* bound on running timers; 0: 1 << 22 */
};

/* cfg may be NULL (real clock, default bounds).  0, EINVAL, ENOMEM, or the
 * errno of epoll_create1()/eventfd(). */
int sb_loop_alloc(struct sb_loop **lp, const struct sb_loop_cfg *cfg);
/* Closes the loop's own descriptors, not the watched ones; timers still
 * running are left idle.  NULL is a no-op. */
void sb_loop_free(struct sb_loop *l);

/* Now, on the loop's clock: cached, refreshed after each epoll_wait(),
 * before timers fire and by sb_timer_start().  Manual clock: starts at 0. */
sb_msec_t sb_loop_now(struct sb_loop *l);

/* Watch fd for events (SB_FD_READ | SB_FD_WRITE), level-triggered.
 * Handlers receive the ready events masked by the current watch, plus
 * SB_FD_ERROR.  0, EINVAL, EEXIST, ENOSPC (max_fds), ENOMEM, or the errno of
 * epoll_ctl.  Delete the watch before closing the fd. */
int sb_loop_fd_add(struct sb_loop *l, int fd, unsigned events, sb_fd_h *h, void *arg);
/* Change the events watched.  0, EINVAL, ENOENT, or the errno of epoll_ctl. */
int sb_loop_fd_mod(struct sb_loop *l, int fd, unsigned events);
/* Stop watching; safe from inside a handler, also for another fd that has
 * an event pending in the same iteration (it will not be delivered, nor to a
 * watch added again on the same fd number).  0 or ENOENT. */
int sb_loop_fd_del(struct sb_loop *l, int fd);

void sb_timer_init(struct sb_timer *t);
/* (Re)start t to fire once, ms after now; a running t is moved (it then
 * ranks after timers already started for the same deadline).  On the real
 * clock the deadline is rounded up to the next whole millisecond so that it
 * never fires early.  0, EINVAL (no handler) or ENOSPC (max_timers):
 * nothing is allocated. */
int sb_timer_start(struct sb_loop *l, struct sb_timer *t, sb_msec_t ms, sb_timer_h *h, void *arg);
/* Stop t if it runs; safe to call on an idle timer and from any handler.  A
 * timer is idle when its handler is called: the handler may free the object
 * embedding it, or start it again. */
void sb_timer_stop(struct sb_loop *l, struct sb_timer *t);
static inline bool sb_timer_running(const struct sb_timer *t)
{
	return t->link.next != NULL;
}
/* Milliseconds from sb_loop_now() until t fires (0 if due), or UINT64_MAX
 * if idle. */
sb_msec_t sb_timer_remaining(struct sb_loop *l, const struct sb_timer *t);

/* Run until sb_loop_stop().  Returns 0, or an errno from epoll_wait. */
int sb_loop_run(struct sb_loop *l);
/* One iteration: wait at most timeout_ms (-1: until the next timer or
 * event; on the manual clock timers never fall due by waiting), dispatch fd
 * events, fire due timers.  The wait for a timer due in more than a few
 * hundred ms may end early, with nothing fired, to bring it closer (at most
 * one such wakeup per level of the wheel it sits on); never late.  A timer
 * started at 0 ms by a handler during this call fires in the next one.  0
 * (also on EINTR), or an errno from epoll_wait.  For tests and embedding. */
int sb_loop_poll(struct sb_loop *l, int timeout_ms);
/* Loop thread only: make sb_loop_run() return after the current iteration
 * (at once if it is not running yet). */
void sb_loop_stop(struct sb_loop *l);
/* From any thread: make a blocked sb_loop_poll() return. */
void sb_loop_wake(struct sb_loop *l);

/* Manual clock only (no-op otherwise): move time forward by ms, firing every
 * timer that falls due, in deadline order (ties in start order), each at its
 * own deadline as seen by sb_loop_now() inside the handler; then now is the
 * target.  Timers started by these handlers fire in the same call if they
 * fall due by the target, so a handler that restarts itself at 0 ms forever
 * never lets it return. */
void sb_loop_advance(struct sb_loop *l, sb_msec_t ms);

/* Number of running timers and watched descriptors (for stats and tests). */
size_t sb_loop_timer_count(const struct sb_loop *l);
size_t sb_loop_fd_count(const struct sb_loop *l);

#endif

/* store: the write-behind front of store.h, common to every backend.
 *
 * Threads.  The loop thread queues operations (one allocation each: the
 * struct and a copy of its strings) on `pending` under `mu`.  The writer
 * thread takes everything pending, up to max_batch, hands it to the
 * backend's commit (one transaction), moves the batch to `done`, and writes
 * the eventfd.  The eventfd is watched on the loop, whose handler detaches
 * the done list and runs the handlers there.  Group commit falls out of
 * this shape: while one transaction is being written, the next batch
 * accumulates, so the more load, the larger the batches.
 *
 * The bound counts an operation from its queueing until its done handler
 * has run (`outstanding`), so neither the pending nor the done list can grow
 * past max_queue even if the loop stops draining.
 *
 * The backend is never used by two threads at once: the writer uses it
 * between taking a batch and publishing it (`inflight`); load (loop thread)
 * first waits for the writer to go idle and sets `paused`, which keeps it
 * idle until the load is over. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "switchboard/store.h"

struct sb_store {
	struct sb_loop *loop;
	const struct sb_store_backend *be_ops;
	void *be;
	int efd;
	uint32_t max_queue;
	uint32_t max_batch;
	pthread_t writer;
	bool writer_started;
	struct sb_store_op **batch;  /* the writer's: max_batch slots */

	pthread_mutex_t mu;
	pthread_cond_t work;         /* to the writer: pending, unpaused, or stop */
	pthread_cond_t idle;         /* to waiters: a batch was published */
	/* under mu */
	struct sb_store_op *pending, *pending_tail;
	struct sb_store_op *done, *done_tail;
	uint32_t outstanding;
	bool inflight;
	bool paused;
	bool stopping;
	struct sb_store_stats st;
};

/* ------------------------------------------------------------ fwd names */

static const char *const fwd_names[] = {
	[SB_STORE_FWD_ALWAYS] = "always",
	[SB_STORE_FWD_BUSY] = "busy",
	[SB_STORE_FWD_NOANSWER] = "noanswer",
	[SB_STORE_FWD_UNAVAILABLE] = "unavailable",
	[SB_STORE_FWD_DND] = "dnd",
};

const char *sb_store_fwd_name(enum sb_store_fwd k)
{
	if ((unsigned)k >= SB_ARRAY_LEN(fwd_names))
		return NULL;
	return fwd_names[k];
}

int sb_store_fwd_parse(struct sb_slice s, enum sb_store_fwd *k)
{
	for (unsigned i = 1; i < SB_ARRAY_LEN(fwd_names); i++) {
		if (fwd_names[i] && sb_slice_caseeq_cstr(s, fwd_names[i])) {
			*k = (enum sb_store_fwd)i;
			return 0;
		}
	}
	return EINVAL;
}

/* ------------------------------------------------------------ threads */

static void publish(struct sb_store *s, struct sb_store_op *head, struct sb_store_op *tail)
{
	if (s->done_tail)
		s->done_tail->next = head;
	else
		s->done = head;
	s->done_tail = tail;
}

static void *writer_main(void *arg)
{
	struct sb_store *s = arg;
	struct sb_store_op **batch = s->batch;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stopping && (s->paused || !s->pending))
			pthread_cond_wait(&s->work, &s->mu);
		if (!s->pending)
			break; /* stopping, and everything is committed */
		size_t n = 0;
		struct sb_store_op *head = s->pending, *tail = NULL;
		while (s->pending && n < s->max_batch) {
			tail = s->pending;
			s->pending = tail->next;
			batch[n++] = tail;
		}
		if (!s->pending)
			s->pending_tail = NULL;
		tail->next = NULL;
		s->inflight = true;
		pthread_mutex_unlock(&s->mu);

		/* The backend sets every op->err; its return adds nothing here. */
		(void)s->be_ops->commit(s->be, batch, n);
		uint64_t ok = 0;
		for (size_t i = 0; i < n; i++)
			ok += batch[i]->err == 0;

		pthread_mutex_lock(&s->mu);
		s->st.batches++;
		s->st.committed += ok;
		s->st.failed += n - ok;
		publish(s, head, tail);
		s->inflight = false;
		pthread_cond_broadcast(&s->idle);
		pthread_mutex_unlock(&s->mu);

		/* Never blocks: the counter saturates only after 2^64-2 writes. */
		uint64_t one = 1;
		ssize_t w = write(s->efd, &one, sizeof one);
		(void)w;
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Loop thread: run the done handlers of committed operations, in order. */
static void deliver(struct sb_store *s)
{
	pthread_mutex_lock(&s->mu);
	struct sb_store_op *o = s->done;
	s->done = s->done_tail = NULL;
	pthread_mutex_unlock(&s->mu);

	while (o) {
		struct sb_store_op *next = o->next;
		sb_store_done_h *h = o->done;
		void *arg = o->arg;
		int err = o->err;
		free(o);
		/* Count it gone before its handler runs, so the handler may
		 * queue a follow-up even at the bound. */
		pthread_mutex_lock(&s->mu);
		s->outstanding--;
		pthread_mutex_unlock(&s->mu);
		if (h)
			h(err, arg);
		o = next;
	}
}

static void efd_h(int fd, unsigned events, void *arg)
{
	struct sb_store *s = arg;
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);
	(void)r; /* EAGAIN: another read took it; the list is what matters */
	deliver(s);
}

/* Wait (mu held) until nothing is pending or in flight. */
static void wait_idle_locked(struct sb_store *s)
{
	while (s->pending || s->inflight)
		pthread_cond_wait(&s->idle, &s->mu);
}

/* ------------------------------------------------------------ life */

static void set_err(char *err, size_t errcap, const char *msg)
{
	if (err && errcap)
		snprintf(err, errcap, "%s", msg);
}

static void free_list(struct sb_store_op *o)
{
	while (o) {
		struct sb_store_op *next = o->next;
		free(o);
		o = next;
	}
}

int sb_store_alloc(struct sb_store **sp, const struct sb_store_cfg *cfg, char *err,
		   size_t errcap)
{
	if (err && errcap)
		err[0] = '\0';
	if (!sp || !cfg || !cfg->loop) {
		set_err(err, errcap, "store: no loop");
		return EINVAL;
	}
	struct sb_store *s = calloc(1, sizeof *s);
	if (!s) {
		set_err(err, errcap, "store: out of memory");
		return ENOMEM;
	}
	s->loop = cfg->loop;
	s->be_ops = cfg->backend ? cfg->backend : &sb_store_backend_sqlite;
	s->max_queue = cfg->max_queue ? cfg->max_queue : SB_STORE_DEFAULT_MAX_QUEUE;
	s->max_batch = cfg->max_batch ? cfg->max_batch : SB_STORE_DEFAULT_MAX_BATCH;
	s->efd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->idle, NULL);

	int e = ENOMEM;
	s->batch = calloc(s->max_batch, sizeof *s->batch);
	if (!s->batch) {
		set_err(err, errcap, "store: out of memory");
		goto fail;
	}
	e = s->be_ops->open(&s->be, cfg, err, errcap);
	if (e)
		goto fail;

	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		e = errno;
		set_err(err, errcap, "store: eventfd failed");
		goto fail;
	}
	e = sb_loop_fd_add(s->loop, s->efd, SB_FD_READ, efd_h, s);
	if (e) {
		set_err(err, errcap, "store: cannot watch the eventfd on the loop");
		goto fail;
	}

	/* The writer takes no signal: the server receives them on its loop
	 * (signalfd), which needs them blocked in every thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&s->writer, NULL, writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		set_err(err, errcap, "store: cannot start the writer thread");
		sb_loop_fd_del(s->loop, s->efd);
		goto fail;
	}
	s->writer_started = true;
	*sp = s;
	return 0;
fail:
	if (s->efd >= 0)
		close(s->efd);
	if (s->be)
		s->be_ops->close(s->be);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->mu);
	free(s->batch);
	free(s);
	return e;
}

void sb_store_free(struct sb_store *s)
{
	if (!s)
		return;
	sb_loop_fd_del(s->loop, s->efd);
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	s->paused = false;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	free_list(s->pending);
	free_list(s->done);
	s->be_ops->close(s->be);
	close(s->efd);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->mu);
	free(s->batch);
	free(s);
}

void sb_store_flush(struct sb_store *s)
{
	pthread_mutex_lock(&s->mu);
	wait_idle_locked(s);
	pthread_mutex_unlock(&s->mu);
	deliver(s);
}

int sb_store_load(struct sb_store *s, int64_t now, const struct sb_store_loader *ld,
		  void *arg, struct sb_store_load_counts *counts)
{
	struct sb_store_load_counts c = { 0 };
	static const struct sb_store_loader none = { 0 };
	if (!ld)
		ld = &none;
	pthread_mutex_lock(&s->mu);
	wait_idle_locked(s);
	s->paused = true;
	pthread_mutex_unlock(&s->mu);

	int err = s->be_ops->load(s->be, now, ld, arg, &c);

	pthread_mutex_lock(&s->mu);
	s->paused = false;
	if (s->pending)
		pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	if (counts)
		*counts = c;
	return err;
}

void sb_store_get_stats(struct sb_store *s, struct sb_store_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	st->outstanding = s->outstanding;
	pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ queueing */

/* A copy of the strings of one record, laid out after the op. */
struct copier {
	char *at;
};

static struct sb_slice cp(struct copier *c, struct sb_slice v)
{
	if (!v.l)
		return sb_slice_from(c->at, 0); /* present, empty */
	memcpy(c->at, v.p, v.l);
	struct sb_slice r = sb_slice_from(c->at, v.l);
	c->at += v.l;
	return r;
}

static bool len_ok(struct sb_slice v, size_t max, bool need)
{
	if (v.l > max || (v.l && !v.p))
		return false;
	return !need || v.l > 0;
}

static bool hex_ok(struct sb_slice v, size_t want)
{
	if (v.l == 0)
		return true;
	if (v.l != want || !v.p)
		return false;
	for (size_t i = 0; i < v.l; i++) {
		char ch = v.p[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
	}
	return true;
}

static bool fwd_ok(enum sb_store_fwd k)
{
	return k >= SB_STORE_FWD_ALWAYS && k <= SB_STORE_FWD_DND;
}

/* Allocate an op with room for `bytes` of strings; EAGAIN at the bound. */
static int op_new(struct sb_store *s, struct sb_store_op **op, size_t bytes)
{
	pthread_mutex_lock(&s->mu);
	int err = s->stopping ? ESHUTDOWN : s->outstanding >= s->max_queue ? EAGAIN : 0;
	if (!err)
		s->outstanding++; /* reserve before allocating: the bound is exact */
	pthread_mutex_unlock(&s->mu);
	if (err)
		return err;
	*op = calloc(1, sizeof **op + bytes);
	if (!*op) {
		pthread_mutex_lock(&s->mu);
		s->outstanding--;
		pthread_mutex_unlock(&s->mu);
		return ENOMEM;
	}
	return 0;
}

static int submit(struct sb_store *s, struct sb_store_op *o, sb_store_done_h *done, void *arg)
{
	o->done = done;
	o->arg = arg;
	o->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->pending_tail)
		s->pending_tail->next = o;
	else
		s->pending = o;
	s->pending_tail = o;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int sb_store_put_user(struct sb_store *s, const struct sb_store_user *u,
		      sb_store_done_h *done, void *arg)
{
	if (!s || !u || !len_ok(u->name, SB_STORE_MAX_NAME, true) ||
	    !len_ok(u->realm, SB_STORE_MAX_REALM, false) ||
	    !hex_ok(u->ha1_md5, SB_STORE_HA1_MD5_LEN) ||
	    !hex_ok(u->ha1_sha256, SB_STORE_HA1_SHA256_LEN) ||
	    (!u->ha1_md5.l && !u->ha1_sha256.l))
		return EINVAL;
	struct sb_store_op *o;
	int err = op_new(s, &o, u->name.l + u->realm.l + u->ha1_md5.l + u->ha1_sha256.l);
	if (err)
		return err;
	struct copier c = { o->data };
	o->kind = SB_STORE_OP_PUT_USER;
	o->u.user.name = cp(&c, u->name);
	o->u.user.realm = cp(&c, u->realm);
	o->u.user.ha1_md5 = cp(&c, u->ha1_md5);
	o->u.user.ha1_sha256 = cp(&c, u->ha1_sha256);
	o->u.user.created = u->created ? u->created : (int64_t)time(NULL);
	return submit(s, o, done, arg);
}

int sb_store_del_user(struct sb_store *s, struct sb_slice name, struct sb_slice realm,
		      sb_store_done_h *done, void *arg)
{
	if (!s || !len_ok(name, SB_STORE_MAX_NAME, true) ||
	    !len_ok(realm, SB_STORE_MAX_REALM, false))
		return EINVAL;
	struct sb_store_op *o;
	int err = op_new(s, &o, name.l + realm.l);
	if (err)
		return err;
	struct copier c = { o->data };
	o->kind = SB_STORE_OP_DEL_USER;
	o->u.user.name = cp(&c, name);
	o->u.user.realm = cp(&c, realm);
	return submit(s, o, done, arg);
}

int sb_store_put_binding(struct sb_store *s, const struct sb_store_binding *b,
			 sb_store_done_h *done, void *arg)
{
	if (!s || !b || !len_ok(b->aor, SB_STORE_MAX_AOR, true) ||
	    !len_ok(b->contact, SB_STORE_MAX_CONTACT, true) ||
	    !len_ok(b->call_id, SB_STORE_MAX_CALL_ID, false) ||
	    !len_ok(b->source_proto, SB_STORE_MAX_SOURCE, false) ||
	    !len_ok(b->source_addr, SB_STORE_MAX_SOURCE, false) ||
	    !len_ok(b->source_conn, SB_STORE_MAX_SOURCE, false) || b->q1000 > 1000)
		return EINVAL;
	struct sb_store_op *o;
	int err = op_new(s, &o, b->aor.l + b->contact.l + b->call_id.l + b->source_proto.l +
				b->source_addr.l + b->source_conn.l);
	if (err)
		return err;
	struct copier c = { o->data };
	o->kind = SB_STORE_OP_PUT_BINDING;
	o->u.binding = *b;
	o->u.binding.aor = cp(&c, b->aor);
	o->u.binding.contact = cp(&c, b->contact);
	o->u.binding.call_id = cp(&c, b->call_id);
	o->u.binding.source_proto = cp(&c, b->source_proto);
	o->u.binding.source_addr = cp(&c, b->source_addr);
	o->u.binding.source_conn = cp(&c, b->source_conn);
	return submit(s, o, done, arg);
}

int sb_store_del_binding(struct sb_store *s, struct sb_slice aor, struct sb_slice contact,
			 sb_store_done_h *done, void *arg)
{
	if (!s || !len_ok(aor, SB_STORE_MAX_AOR, true) ||
	    !len_ok(contact, SB_STORE_MAX_CONTACT, true))
		return EINVAL;
	struct sb_store_op *o;
	int err = op_new(s, &o, aor.l + contact.l);
	if (err)
		return err;
	struct copier c = { o->data };
	o->kind = SB_STORE_OP_DEL_BINDING;
	o->u.binding.aor = cp(&c, aor);
	o->u.binding.contact = cp(&c, contact);
	return submit(s, o, done, arg);
}

int sb_store_del_aor(struct sb_store *s, struct sb_slice aor, sb_store_done_h *done,
		     void *arg)
{
	if (!s || !len_ok(aor, SB_STORE_MAX_AOR, true))
		return EINVAL;
	struct sb_store_op *o;
	int err = op_new(s, &o, aor.l);
	if (err)
		return err;
	struct copier c = { o->data };
	o->kind = SB_STORE_OP_DEL_AOR;
	o->u.binding.aor = cp(&c, aor);
	return submit(s, o, done, arg);
}

int sb_store_put_rule(struct sb_store *s, const struct sb_store_rule *r,
		      sb_store_done_h *done, void *arg)
{
	if (!s || !r || !len_ok(r->user, SB_STORE_MAX_NAME, true) || !fwd_ok(r->kind) ||
	    !len_ok(r->target, SB_STORE_MAX_TARGET, r->kind != SB_STORE_FWD_DND) ||
	    (r->kind == SB_STORE_FWD_DND && r->target.l) ||
	    (r->kind == SB_STORE_FWD_NOANSWER &&
	     (r->noanswer_s == 0 || r->noanswer_s > SB_STORE_MAX_NOANSWER_S)) ||
	    (r->kind != SB_STORE_FWD_NOANSWER && r->noanswer_s))
		return EINVAL;
	struct sb_store_op *o;
	int err = op_new(s, &o, r->user.l + r->target.l);
	if (err)
		return err;
	struct copier c = { o->data };
	o->kind = SB_STORE_OP_PUT_RULE;
	o->u.rule = *r;
	o->u.rule.user = cp(&c, r->user);
	o->u.rule.target = cp(&c, r->target);
	return submit(s, o, done, arg);
}

int sb_store_del_rule(struct sb_store *s, struct sb_slice user, enum sb_store_fwd kind,
		      sb_store_done_h *done, void *arg)
{
	if (!s || !len_ok(user, SB_STORE_MAX_NAME, true) || !fwd_ok(kind))
		return EINVAL;
	struct sb_store_op *o;
	int err = op_new(s, &o, user.l);
	if (err)
		return err;
	struct copier c = { o->data };
	o->kind = SB_STORE_OP_DEL_RULE;
	o->u.rule.user = cp(&c, user);
	o->u.rule.kind = kind;
	return submit(s, o, done, arg);
}

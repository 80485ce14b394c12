/* proxy/fwd: the users of our domains and their network call forwarding
 * (users.h; the Cisco 7960 appendix).
 *
 * With a user directory, a Request-URI in our domains names a user of ours
 * when its unescaped user part is in the directory; 480 when it has no
 * binding (RFC 3261 §16.5, §21.4.18).  A name that is not in the directory
 * is treated as without one (proxy.h): reached at its bindings when it has
 * some (a registrar that lets anyone register), 480 when it registered or
 * was reached at its bindings since the proxy started, 404 otherwise (480
 * too for a caller who did not authenticate, px_no_binding_status).  So
 * an empty directory changes nothing, and with authenticated REGISTER only
 * users have bindings.  When the target set has no room left for a user's
 * bindings, 500: that is not "no binding".
 *
 * For a call (an INVITE out of dialog) the called user's rules apply, in
 * this order:
 *  - DND: 486 Busy Here without ringing, unless a BUSY rule exists: then
 *    the call goes to that target;
 *  - ALWAYS: the target set is the rule's target, not the user's bindings;
 *  - UNAVAILABLE: no binding sends the call to the target instead of 480
 *    (bindings that found no room in the target set are not "no binding":
 *    500, see px_add_bindings);
 *  - BUSY: when the user's branches end with 486 or 600 as their best
 *    response, it does not go upstream: a new branch goes to the target
 *    (serial forking), and the user's bindings not yet tried (sequential
 *    forking after a 600) are left untried;
 *  - NOANSWER: noanswer_s seconds after the user's branches start, if no
 *    final response has been sent, they are cancelled (§9.1) and a branch
 *    goes to the target; what the cancelled branches answer (487) no
 *    longer counts, nor is it waited for, so the caller sees one call and
 *    one final response.  The delay is cut to fire before Timer C
 *    (noanswer_cap), which would otherwise cancel the ringing first.  After
 *    a 6xx (§16.7 step 5: no new branches) the rule does not apply: the
 *    6xx goes up once the other branches are done.
 * Whenever the last target fails, the caller gets the best final response
 * of the whole chain (§16.7 step 6): busy -> carol, carol no answer -> a
 * voicemail that fails gives the first user's 486.  A target in our domains
 * is resolved again (its user's bindings and rules); one elsewhere is
 * forwarded with itself as the Request-URI.  Every forwarded request
 * carries the contact (or foreign target) as its Request-URI (§16.6 step
 * 2).  At most SB_PROXY_MAX_FWD_HOPS rules are applied along one call, so
 * rules that forward in a circle end: past the bound a rule is ignored (the
 * user's own bindings ring; 480 without).  No rule applies once the caller's
 * server transaction is gone (a transport error): nobody would hear it.
 *
 * Rules are looked up again by user name when the call is already
 * ringing, so a rule changed meanwhile takes effect and a deleted user
 * stops forwarding. */
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

/* How much earlier than Timer C the no-answer rule fires at the latest. */
#define PX_NOANSWER_MARGIN_MS 1000u

static bool can_forward(const struct px_req *r)
{
	return r->rules && r->fwd_hops < SB_PROXY_MAX_FWD_HOPS;
}

/* The longest no-answer delay: below Timer C (§16.6 step 11), which starts
 * with each branch, after the rule's timer, and would cancel the ringing
 * branches before the rule moves the call on (the caller would get the
 * 408 of a timeout instead of the forward).  Timer C less a second; half
 * of it when it is that short. */
static sb_msec_t noanswer_cap(const struct sb_proxy *p)
{
	sb_msec_t c = p->cfg.timer_c_ms;
	return c > 2 * PX_NOANSWER_MARGIN_MS ? c - PX_NOANSWER_MARGIN_MS : c / 2;
}

static bool has_to_tag(struct sb_sip_msg *m)
{
	const struct sb_nameaddr *to;
	return sb_sip_msg_to(m, &to) == 0 && to->tag.p;
}

/* The user of ours u names (§19.1.4: the user part compared unescaped,
 * byte for byte), or NULL. */
static const struct sb_user *find_user(const struct sb_proxy *p, const struct sb_uri *u)
{
	char name[SB_USERS_MAX_NAME];
	size_t l;
	if (!u->user.p || sb_uri_unescape(u->user, name, sizeof name, &l) != 0 || l == 0)
		return NULL;
	return sb_users_find(p->cfg.users, sb_slice_from(name, l));
}

static const struct sb_user *group_user(const struct px_req *r)
{
	if (!r->fwd_user_len)
		return NULL;
	return sb_users_find(r->p->cfg.users, sb_slice_from(r->fwd_user, r->fwd_user_len));
}

/* A rule moves the call on: one more hop of the chain. */
static void forwarded(struct px_req *r, const struct sb_user *u, enum sb_store_fwd kind)
{
	struct sb_proxy *p = r->p;
	r->fwd_hops++;
	if (!r->fwd_counted) {
		r->fwd_counted = true;
		p->st.calls_forwarded++;
	}
	px_log(p, SB_LOG_INFO, "call for %s forwarded (%s) to %s", u->name, sb_store_fwd_name(kind),
	       u->rule[kind].target);
}

/* From here on the targets added ring one user, or one foreign target. */
static void group_begin(struct px_req *r)
{
	r->grp_br = r->nbr;
	free(r->fwd_user);
	r->fwd_user = NULL;
	r->fwd_user_len = 0;
	sb_timer_stop(r->p->cfg.loop, &r->noanswer);
}

static void noanswer_h(void *arg);

/* The group rings user u's bindings: its busy and no-answer rules may
 * apply later. */
static void group_user_set(struct px_req *r, const struct sb_user *u)
{
	if (!r->rules || u->name_len > SB_USERS_MAX_NAME ||
	    !(r->fwd_user = malloc(u->name_len + 1)))
		return;
	memcpy(r->fwd_user, u->name, u->name_len);
	r->fwd_user[u->name_len] = 0;
	r->fwd_user_len = u->name_len;
	const struct sb_user_rule *na = &u->rule[SB_STORE_FWD_NOANSWER];
	if (na->set && na->noanswer_s && can_forward(r)) {
		sb_msec_t ms = (sb_msec_t)na->noanswer_s * 1000u;
		if (ms > noanswer_cap(r->p))
			ms = noanswer_cap(r->p);
		(void)sb_timer_start(r->p->cfg.loop, &r->noanswer, ms, noanswer_h, r);
	}
}

/* Resolve uri (the Request-URI, or a forwarding target) into a new group
 * of targets, applying the rules of each user of ours along the chain.
 * *fail: 0, or the status that answers for this group (no target). */
static void resolve(struct px_req *r, struct sb_slice uri, unsigned *fail)
{
	struct sb_proxy *p = r->p;
	*fail = 0;
	group_begin(r);
	/* bounded: each turn returns or spends one of SB_PROXY_MAX_FWD_HOPS */
	for (;;) {
		struct sb_uri u;
		if (sb_uri_parse(&u, uri) != 0) {
			px_log(p, SB_LOG_WARN, "forwarding target %.*s does not parse", (int)uri.l,
			       uri.p);
			*fail = 500;
			return;
		}
		if (!sb_proxy_uri_in_domain(p, &u)) {
			/* §16.5: a URI elsewhere is its own target */
			if (!px_target_add(r, uri))
				*fail = uri.l < SB_LOC_MAX_CONTACT ? 500 : 414;
			return;
		}
		char aor[SB_LOC_MAX_AOR];
		size_t aorl;
		if (sb_location_aor_key(&u, aor, sizeof aor, &aorl) != 0) {
			*fail = 404;
			return;
		}
		const struct sb_user *usr = find_user(p, &u);
		bool full;
		if (!usr) {
			/* not in the directory: no rules, known by its bindings
			 * (proxy.h), remembered for when they are gone */
			if (px_add_bindings(r, aor, aorl, &full) > 0)
				px_known_add(p, aor, aorl);
			else
				*fail = full ? 500 : px_no_binding_status(r, aor, aorl);
			return;
		}
		enum sb_store_fwd kind = 0;
		if (r->rules && usr->rule[SB_STORE_FWD_DND].set) {
			/* do not disturb: busy at once, without ringing */
			if (!usr->rule[SB_STORE_FWD_BUSY].set || !can_forward(r)) {
				*fail = 486;
				return;
			}
			kind = SB_STORE_FWD_BUSY;
		} else if (usr->rule[SB_STORE_FWD_ALWAYS].set && can_forward(r)) {
			kind = SB_STORE_FWD_ALWAYS;
		} else {
			if (px_add_bindings(r, aor, aorl, &full) > 0) {
				group_user_set(r, usr);
				return;
			}
			if (full) {
				/* the user has bindings, but the target set is
				 * full (a long chain of users with many phones):
				 * not unavailable, and not reachable either */
				px_log(p, SB_LOG_WARN, "no room in the target set for %s", usr->name);
				*fail = 500;
				return;
			}
			if (!usr->rule[SB_STORE_FWD_UNAVAILABLE].set || !can_forward(r)) {
				*fail = 480;
				return;
			}
			kind = SB_STORE_FWD_UNAVAILABLE;
		}
		forwarded(r, usr, kind);
		uri = sb_slice_cstr(usr->rule[kind].target);
	}
}

void px_user_targets(struct px_req *r, const struct sb_uri *ru, unsigned *fail)
{
	(void)ru;
	struct sb_sip_msg *m = px_req_msg(r);
	if (!m) {
		*fail = 500;
		return;
	}
	/* rules are for calls: an INVITE out of dialog */
	r->rules = r->mid == SB_METHOD_INVITE && !has_to_tag(m);
	resolve(r, m->ruri, fail);
}

bool px_fwd_busy(struct px_req *r)
{
	/* no caller left to forward for (its server transaction is gone) */
	if (!r->st || r->final_sent || r->cancelled || !can_forward(r))
		return false;
	const struct sb_user *u = group_user(r);
	if (!u || !u->rule[SB_STORE_FWD_BUSY].set)
		return false;
	/* §16.7 step 6 over the user's branches only */
	unsigned best = 0;
	for (const struct px_branch *b = r->br; b; b = b->next) {
		if (b->idx >= r->grp_br && b->final && !b->superseded &&
		    px_better(b->status, best, true))
			best = b->status;
	}
	if (best != 486 && best != 600)
		return false;
	forwarded(r, u, SB_STORE_FWD_BUSY);
	/* §16.7 step 5 forbids new branches after a 6xx; the callee's own
	 * rule is the exception the service exists for.  Only for the rule's
	 * target: the user's bindings not yet tried (sequential forking) stay
	 * untried, the user said busy */
	r->no_new_branches = false;
	r->next_target = r->ntargets;
	unsigned fail;
	resolve(r, sb_slice_cstr(u->rule[SB_STORE_FWD_BUSY].target), &fail);
	if (fail)
		px_store_best(r, fail, NULL, 0);
	return true;
}

/* The no-answer rule's timer: the user's branches have rung long enough. */
static void noanswer_h(void *arg)
{
	struct px_req *r = arg;
	/* a 6xx came (§16.7 step 5: no new branches, its CANCELs are out):
	 * the 6xx is the answer, and it must not be lost; or the caller's
	 * server transaction is gone */
	if (!r->st || r->final_sent || r->cancelled || r->no_new_branches || !can_forward(r))
		return;
	const struct sb_user *u = group_user(r);
	if (!u || !u->rule[SB_STORE_FWD_NOANSWER].set)
		return;
	bool ringing = r->next_target < r->ntargets;
	for (const struct px_branch *b = r->br; b; b = b->next)
		ringing |= b->idx >= r->grp_br && px_branch_live(b);
	if (!ringing)
		return;
	forwarded(r, u, SB_STORE_FWD_NOANSWER);
	/* the user's branches give way: cancelled (§9.1: once a provisional
	 * response came), and whatever they answer now (487) is not the
	 * caller's; its targets not yet tried are not.  The final responses
	 * already in (earlier groups', the user's other phones') still
	 * count: the caller gets the best of the whole chain */
	for (struct px_branch *b = r->br; b; b = b->next) {
		if (b->idx >= r->grp_br) {
			b->superseded = true;
			px_branch_cancel(b);
		}
	}
	r->next_target = r->ntargets;
	unsigned fail;
	/* u stays valid: nothing here changes the directory */
	resolve(r, sb_slice_cstr(u->rule[SB_STORE_FWD_NOANSWER].target), &fail);
	if (fail)
		px_store_best(r, fail, NULL, 0);
	px_try_finish(r);
	px_req_settle(r);
}

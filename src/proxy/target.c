/* proxy/target: the target set of RFC 3261 §16.5 and how it is worked
 * through.  A Request-URI in our domains is looked up in the location
 * service (404 for an unknown user, 480 for a known one without bindings;
 * with a user directory, fwd.c decides, forwarding rules included); any
 * other is its own target.  A 3xx adds its Contacts when the proxy
 * recurses (§16.7 step 5).  Targets are started all at once (parallel
 * forking) or one after another, highest q first (sequential). */
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

struct px_target *px_target_add(struct px_req *r, struct sb_slice uri)
{
	if (r->ntargets >= SB_PROXY_MAX_TARGETS || uri.l >= SB_LOC_MAX_CONTACT)
		return NULL;
	/* the URI at its exact length, in the target's allocation */
	struct px_target *t = malloc(sizeof *t + uri.l);
	if (!t)
		return NULL;
	memset(t, 0, sizeof *t);
	memcpy(t->uri, uri.p, uri.l);
	t->len = uri.l;
	t->q1000 = 1000;
	struct px_target **at = &r->targets;
	while (*at)
		at = &(*at)->next;
	*at = t;
	r->ntargets++;
	return t;
}

struct px_target *px_target_nth(struct px_req *r, unsigned k)
{
	struct px_target *t = r->targets;
	while (k-- && t)
		t = t->next;
	return t;
}

/* §16.5: the target set. */
void px_target_set(struct px_req *r, const struct sb_uri *ru, unsigned *fail)
{
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = px_req_msg(r);
	*fail = 0;
	if (!m) {
		*fail = 500;
		return;
	}
	if (!ru) {
		*fail = 400;
		return;
	}
	/* foreign domains go to the Request-URI as it is; §16.5 makes no
	 * exception for requests inside a dialog: a UA that sends its BYE to
	 * the AOR (SIPp's uac does) reaches the bindings */
	if (!sb_proxy_uri_in_domain(p, ru)) {
		if (m->ruri.l >= SB_LOC_MAX_CONTACT)
			*fail = 414;
		else if (!px_target_add(r, m->ruri))
			*fail = 500;
		return;
	}
	if (p->cfg.users) {
		px_user_targets(r, ru, fail);
		return;
	}
	char aor[SB_LOC_MAX_AOR];
	size_t aorl;
	if (sb_location_aor_key(ru, aor, sizeof aor, &aorl) != 0) {
		*fail = 404;
		return;
	}
	bool full;
	if (px_add_bindings(r, aor, aorl, &full) == 0) {
		/* bindings that found no room are not "no bindings" */
		*fail = full ? 500 : px_no_binding_status(r, aor, aorl);
		return;
	}
	px_known_add(p, aor, aorl);
}

/* §16.5: no binding for aor.  480 for a known user; 404 tells that no
 * such user exists, and only callers who authenticated as ours learn it:
 * to others (calls in from elsewhere, with authentication on) an unknown
 * user is as unavailable as a known one without a phone, so the directory
 * cannot be enumerated from outside. */
unsigned px_no_binding_status(struct px_req *r, const char *aor, size_t aorl)
{
	const struct sb_proxy *p = r->p;
	bool hide = p->cfg.authn && p->cfg.auth_methods && !r->has_cred;
	return px_known_has(r->p, aor, aorl) || hide ? 480 : 404;
}

unsigned px_add_bindings(struct px_req *r, const char *aor, size_t aorl, bool *full)
{
	const struct sb_binding *bs[SB_PROXY_MAX_TARGETS];
	size_t n = sb_location_lookup(r->p->cfg.location, sb_slice_from(aor, aorl), bs,
				      SB_PROXY_MAX_TARGETS);
	unsigned added = 0;
	*full = false;
	if (n > SB_PROXY_MAX_TARGETS)
		n = SB_PROXY_MAX_TARGETS;
	for (size_t k = 0; k < n; k++) {
		if (bs[k]->contact.l >= SB_LOC_MAX_CONTACT)
			continue;
		struct px_target *t = px_target_add(r, bs[k]->contact);
		if (!t) {
			*full = true;
			break;
		}
		t->q1000 = bs[k]->q1000;
		t->has_dest = true;
		t->dest = bs[k]->source;
		added++;
	}
	/* sb_location_lookup gives highest q first: the sequential order */
	return added;
}

/* §16.7 step 5 with --recurse-on-3xx: the Contacts of a 3xx join the
 * target set.  Returns how many were added. */
unsigned px_add_contacts(struct px_req *r, struct sb_sip_msg *msg)
{
	struct sb_sip_values it;
	struct sb_slice v;
	unsigned added = 0;
	if (r->no_new_branches)
		return 0; /* §16.7 step 5: a 6xx came */
	sb_sip_values_init(&it, msg, SB_HDR_CONTACT);
	while (r->ntargets < SB_PROXY_MAX_TARGETS && sb_sip_values_next(&it, &v, NULL)) {
		struct sb_nameaddr na;
		if (sb_nameaddr_parse(&na, sb_slice_trim(v)) != 0 || na.star ||
		    na.uri_s.l >= SB_LOC_MAX_CONTACT)
			continue;
		/* a target already tried is not tried again (§16.5) */
		bool dup = false;
		for (const struct px_target *o = r->targets; o && !dup; o = o->next)
			dup = sb_slice_eq(sb_slice_from(o->uri, o->len), na.uri_s);
		if (dup)
			continue;
		struct px_target *t = px_target_add(r, na.uri_s);
		if (!t)
			break;
		if (sb_contact_q(&na, &t->q1000) != 0)
			t->q1000 = 1000;
		added++;
	}
	return added;
}

/* Start targets not yet tried: all of them (parallel), or the next one
 * when nothing live is pending (sequential: a branch a forwarding rule
 * superseded does not hold up the targets after it).  None once the
 * caller's server transaction is gone: nobody would hear the answer. */
void px_start_targets(struct px_req *r)
{
	struct sb_proxy *p = r->p;
	/* §16.7 step 5: after a 6xx "the proxy MUST NOT add any new branches" */
	while (r->next_target < r->ntargets && r->st && !r->final_sent && !r->cancelled &&
	       !r->no_new_branches) {
		if (p->cfg.fork == SB_FORK_SEQUENTIAL) {
			bool pending = false;
			for (const struct px_branch *b = r->br; b; b = b->next)
				pending |= px_branch_live(b);
			if (pending)
				return;
		}
		unsigned fail;
		struct px_target *tg = px_target_nth(r, r->next_target++);
		if (px_branch_start(r, tg, &fail) != 0) {
			px_log(p, SB_LOG_INFO, "cannot forward to %.*s: %u", (int)tg->len, tg->uri,
			       fail);
			px_store_best(r, fail, NULL, 0);
		}
	}
}

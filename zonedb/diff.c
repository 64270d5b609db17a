/*
 * diff.c -- differences between zone versions, and deriving a version from
 * another by a difference (the basis of IXFR in and out, RFC 1995).
 *
 * zone_apply() clones the base trie (sharing every node) and replaces only
 * the nodes the difference touches, plus any whose flags change because a
 * delegation or DNAME above them appeared or went away.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"
#include "zonedb/arena.h"
#include "zonedb/load.h"
#include "zonedb/node.h"

#define DIFF_CHUNK 65536

int zone_diff_add(struct zone_diff *d, bool add, const uint8_t *owner,
		  uint16_t type, uint32_t ttl, const uint8_t *rdata,
		  uint16_t rdlen)
{
	struct zone_change_rr **list = add ? &d->added : &d->removed;
	size_t *n = add ? &d->nadded : &d->nremoved;
	size_t *cap = add ? &d->cap_added : &d->cap_removed;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct zone_change_rr *grown = realloc(*list, ncap * sizeof(**list));
		if (grown == NULL)
			return ERR_NOMEM;
		*list = grown;
		*cap = ncap;
	}
	size_t olen = dname_len(owner);
	uint8_t *mem = arena_alloc(&d->chunks, olen + rdlen, DIFF_CHUNK);
	if (mem == NULL)
		return ERR_NOMEM;
	memcpy(mem, owner, olen);
	memcpy(mem + olen, rdata, rdlen);
	struct zone_change_rr *rr = &(*list)[(*n)++];
	rr->owner = mem;
	rr->type = type;
	rr->ttl = ttl;
	rr->rdlen = rdlen;
	rr->rdata = mem + olen;
	return 0;
}

void zone_diff_free(struct zone_diff *d)
{
	free(d->removed);
	free(d->added);
	arena_free(&d->chunks);
	memset(d, 0, sizeof(*d));
}

/* ---- computing a difference ---- */

static int add_set(struct zone_diff *d, bool add, const uint8_t *owner,
		   const struct zone_rrset *rs)
{
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata;
	while ((rdata = zone_rrset_next(rs, &pos, &len))) {
		int r = zone_diff_add(d, add, owner, rs->type, rs->ttl, rdata, len);
		if (r != 0)
			return r;
	}
	return 0;
}

static int set_order(const struct zone_rrset *a, const struct zone_rrset *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return (int)a->covered - (int)b->covered;
}

/* Both RRsets are in canonical order, so one merge finds the changes. */
static int diff_sets(struct zone_diff *d, const uint8_t *owner,
		     const struct zone_rrset *a, const struct zone_rrset *b)
{
	if (a->ttl != b->ttl) {
		int r = add_set(d, false, owner, a);
		return r ? r : add_set(d, true, owner, b);
	}
	size_t pa = 0, pb = 0;
	uint16_t la = 0, lb = 0;
	const uint8_t *ra = zone_rrset_next(a, &pa, &la);
	const uint8_t *rb = zone_rrset_next(b, &pb, &lb);
	while (ra || rb) {
		int c = !ra ? 1 : !rb ? -1 : rdata_cmp(a->type, ra, la, rb, lb);
		int r = 0;
		if (c < 0)
			r = zone_diff_add(d, false, owner, a->type, a->ttl, ra, la);
		else if (c > 0)
			r = zone_diff_add(d, true, owner, b->type, b->ttl, rb, lb);
		if (r != 0)
			return r;
		if (c <= 0)
			ra = zone_rrset_next(a, &pa, &la);
		if (c >= 0)
			rb = zone_rrset_next(b, &pb, &lb);
	}
	return 0;
}

static int diff_nodes(struct zone_diff *d, const struct zone_node *a,
		      const struct zone_node *b)
{
	uint16_t ia = 0, ib = 0;
	const uint8_t *owner = a ? a->owner : b->owner;
	uint16_t na = a ? a->nrrsets : 0, nb = b ? b->nrrsets : 0;
	while (ia < na || ib < nb) {
		int c = ia >= na ? 1 : ib >= nb ? -1
			: set_order(&a->rrsets[ia], &b->rrsets[ib]);
		int r;
		if (c < 0)
			r = add_set(d, false, owner, &a->rrsets[ia++]);
		else if (c > 0)
			r = add_set(d, true, owner, &b->rrsets[ib++]);
		else
			r = diff_sets(d, owner, &a->rrsets[ia++], &b->rrsets[ib++]);
		if (r != 0)
			return r;
	}
	return 0;
}

/* RFC 1995 §4: each list of a difference starts with the SOA. */
static void soa_first(struct zone_change_rr *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i].type != RRTYPE_SOA)
			continue;
		struct zone_change_rr soa = list[i];
		memmove(list + 1, list, i * sizeof(*list));
		list[0] = soa;
		return;
	}
}

/* Canonical order of two nodes: their keys' order. */
static int key_order(const struct zone_node *a, const struct zone_node *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(zone_node_key(a), zone_node_key(b), n);
	if (c != 0)
		return c;
	return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

int zone_diff_compute(const struct zone_version *old_version,
		      const struct zone_version *new_version,
		      struct zone_diff *out)
{
	memset(out, 0, sizeof(*out));
	/* Both versions walked side by side in canonical order; nodes they
	 * share are unchanged. Nothing is collected: the iterators are all
	 * the memory a reload's difference needs besides its result. */
	struct zone_iter *it = malloc(2 * sizeof(*it));
	if (it == NULL)
		return ERR_NOMEM;
	zone_iter_init(&it[0], old_version);
	zone_iter_init(&it[1], new_version);
	const struct zone_node *a = zone_iter_next(&it[0]);
	const struct zone_node *b = zone_iter_next(&it[1]);
	int r = 0;
	while (r == 0 && (a != NULL || b != NULL)) {
		if (a == b) {
			a = zone_iter_next(&it[0]);
			b = zone_iter_next(&it[1]);
			continue;
		}
		int c = a == NULL ? 1 : b == NULL ? -1 : key_order(a, b);
		if (c < 0) {
			r = diff_nodes(out, a, NULL);
			a = zone_iter_next(&it[0]);
		} else if (c > 0) {
			r = diff_nodes(out, NULL, b);
			b = zone_iter_next(&it[1]);
		} else {
			r = diff_nodes(out, a, b);
			a = zone_iter_next(&it[0]);
			b = zone_iter_next(&it[1]);
		}
	}
	free(it);
	if (r != 0) {
		zone_diff_free(out);
		return r;
	}
	soa_first(out->removed, out->nremoved);
	soa_first(out->added, out->nadded);
	return 0;
}

/* ---- applying a difference ---- */

struct apply_draft {
	struct node_draft draft;
	uint8_t owner[DNAME_MAXLEN];
	const struct zone_node *old;   /* node in the base, or NULL */
};

static const uint8_t *apply_key(const void *leaf, uint8_t buf[QP_MAXKEY],
				size_t *len)
{
	*len = node_key(((const struct apply_draft *)leaf)->owner, buf);
	return buf;
}

static void apply_noop(void *leaf)
{
	(void)leaf;
}

static void apply_free(void *leaf)
{
	struct apply_draft *a = leaf;
	node_draft_free(&a->draft);
	free(a);
}

static const struct qp_ops apply_ops = {
	.key = apply_key, .ref = apply_noop, .unref = apply_free,
};

struct apply_ctx {
	struct zone_version *v;
	struct qp_trie drafts;        /* owner -> struct apply_draft */
	uint8_t (*touched)[DNAME_MAXLEN]; /* owners to re-flag and check */
	size_t ntouched, cap;
	zone_log_fn log;
	void *arg;
	int errors;
	int result;
};

static void apply_error(struct apply_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void apply_error(struct apply_ctx *ctx, const char *fmt, ...)
{
	ctx->errors++;
	va_list ap;
	va_start(ap, fmt);
	zone_vlogf(ctx->log, ctx->arg, ZONE_LOG_ERROR, NULL, 0, fmt, ap);
	va_end(ap);
}

static struct apply_draft *draft_for(struct apply_ctx *ctx,
				     const uint8_t *owner)
{
	uint8_t lower[DNAME_MAXLEN], key[QP_MAXKEY];
	dname_copy_lower(lower, owner);
	size_t klen = node_key(lower, key);
	struct apply_draft *a = qp_get(&ctx->drafts, key, klen);
	if (a != NULL)
		return a;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	memcpy(a->owner, lower, dname_len(lower));
	a->old = qp_get(&ctx->v->tree, key, klen);
	if (a->old != NULL && node_thaw(a->old, &a->draft) != 0) {
		free(a);
		return NULL;
	}
	a->draft.owner = a->owner;
	if (qp_set(&ctx->drafts, a) != 0) {
		apply_free(a);
		return NULL;
	}
	return a;
}

static size_t node_rrs(const struct zone_node *n)
{
	size_t count = 0;
	for (uint16_t i = 0; n && i < n->nrrsets; i++)
		count += n->rrsets[i].count;
	return count;
}

static int count_leaf(void *leaf, void *arg)
{
	(void)leaf;
	size_t *n = arg;
	return ++*n > 1 ? 1 : 0;
}

static bool has_descendants(const struct zone_version *v, const uint8_t *owner)
{
	uint8_t key[QP_MAXKEY];
	size_t klen = node_key(owner, key), n = 0;
	qp_walk_prefix(&v->tree, key, klen, count_leaf, &n);
	return n > 1;
}

static int touch(struct apply_ctx *ctx, const struct zone_node *n)
{
	if (ctx->ntouched == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 64;
		uint8_t (*grown)[DNAME_MAXLEN] = realloc(ctx->touched, cap * sizeof(*grown));
		if (grown == NULL)
			return ERR_NOMEM;
		ctx->touched = grown;
		ctx->cap = cap;
	}
	memcpy(ctx->touched[ctx->ntouched++], n->owner, dname_len(n->owner));
	return 0;
}

/* Puts a node into the new tree; the tree takes the reference. */
static int put_node(struct apply_ctx *ctx, struct zone_node *n)
{
	if (n == NULL)
		return ERR_NOMEM;
	if (qp_set(&ctx->v->tree, n) != 0) {
		node_unref(n);
		return ERR_NOMEM;
	}
	return touch(ctx, n);
}

/* Adds empty non-terminals above a new node up to the first existing
 * ancestor. */
static int add_ancestors(struct apply_ctx *ctx, const uint8_t *owner)
{
	const uint8_t *p = owner;
	while (dname_labels(p) > ctx->v->apex_labels) {
		p = dname_parent(p);
		if (zone_get(ctx->v, p) != NULL)
			return 0;
		struct node_draft ent = { .owner = p };
		int r = put_node(ctx, node_freeze(&ent));
		if (r != 0)
			return r;
	}
	return 0;
}

/* Removes empty non-terminals above a removed node that no longer lead
 * anywhere. */
static int prune_ancestors(struct apply_ctx *ctx, const uint8_t *owner)
{
	uint8_t name[DNAME_MAXLEN];
	memcpy(name, owner, dname_len(owner));
	const uint8_t *p = name;
	while (dname_labels(p) > ctx->v->apex_labels) {
		p = dname_parent(p);
		const struct zone_node *n = zone_get(ctx->v, p);
		if (n == NULL || n->nrrsets > 0 || has_descendants(ctx->v, p))
			return 0;
		uint8_t key[QP_MAXKEY];
		size_t klen = node_key(p, key);
		if (qp_del(&ctx->v->tree, key, klen) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int store_draft(void *leaf, void *arg)
{
	struct apply_ctx *ctx = arg;
	struct apply_draft *a = leaf;
	int r = 0;
	bool empty = true;
	for (size_t i = 0; i < a->draft.nsets; i++)
		if (a->draft.sets[i].count > 0)
			empty = false;
	ctx->v->rr_count -= node_rrs(a->old);
	if (!empty || (a->old && has_descendants(ctx->v, a->owner))) {
		struct zone_node *n = node_freeze(&a->draft);
		ctx->v->rr_count += node_rrs(n);
		r = put_node(ctx, n);
		if (r == 0 && a->old == NULL)
			r = add_ancestors(ctx, a->owner);
	} else if (a->old != NULL) {
		uint8_t key[QP_MAXKEY];
		size_t klen = node_key(a->owner, key);
		if (qp_del(&ctx->v->tree, key, klen) != 0)
			r = ERR_NOMEM;
		else
			r = prune_ancestors(ctx, a->owner);
	}
	if (r != 0)
		ctx->result = r;
	return r;
}

/* Makes the NSEC3 tree hold exactly the NODE_NSEC3 node of `owner` in
 * the new tree, if any. */
static int sync_nsec3(struct zone_version *v, const uint8_t *owner)
{
	uint8_t key[QP_MAXKEY];
	size_t klen = node_key(owner, key);
	const struct zone_node *n = qp_get(&v->tree, key, klen);
	const struct zone_node *indexed = qp_get(&v->nsec3_tree, key, klen);
	if (n != NULL && (n->flags & NODE_NSEC3)) {
		if (indexed == n)
			return 0;
		node_ref(n);
		if (qp_set(&v->nsec3_tree, (void *)n) != 0) {
			node_unref(n);
			return ERR_NOMEM;
		}
		return 0;
	}
	if (indexed != NULL && qp_del(&v->nsec3_tree, key, klen) != 0)
		return ERR_NOMEM;
	return 0;
}

/* A node's flags from its own data and its ancestors' (whose flags must be
 * right already: nodes are re-flagged in canonical order). */
static uint16_t compute_flags(const struct zone_version *v,
			      const struct zone_node *n)
{
	int labels = dname_labels(n->owner);
	bool apex = labels == v->apex_labels;
	uint16_t flags = apex ? NODE_APEX : 0;
	if (dname_is_wildcard(n->owner))
		flags |= NODE_WILDCARD;
	if (labels == v->apex_labels + 1 && node_nsec3_only(n))
		flags |= NODE_NSEC3;
	for (int d = v->apex_labels; d < labels; d++) {
		const struct zone_node *anc =
			zone_get(v, dname_strip(n->owner, labels - d));
		if (anc && (anc->flags & NODE_CUT))
			return flags | NODE_BELOW_CUT;
		if (anc && (anc->flags & NODE_DNAME))
			return flags | NODE_BELOW_DNAME;
	}
	if (!apex && zone_node_rrset(n, RRTYPE_NS))
		flags |= NODE_CUT;
	else if (zone_node_rrset(n, RRTYPE_DNAME))
		flags |= NODE_DNAME;
	return flags;
}

static int reflag(struct apply_ctx *ctx, const struct zone_node *n)
{
	uint16_t flags = compute_flags(ctx->v, n);
	if (flags == n->flags)
		return 0;
	struct zone_node *copy = node_with_flags(n, flags);
	if (copy == NULL)
		return ERR_NOMEM;
	/* n may be freed once replaced. */
	bool nsec3 = (flags | n->flags) & NODE_NSEC3;
	if (qp_set(&ctx->v->tree, copy) != 0) {
		node_unref(copy);
		return ERR_NOMEM;
	}
	if (nsec3)
		return sync_nsec3(ctx->v, copy->owner);
	return 0;
}

static int reflag_leaf(void *leaf, void *arg)
{
	return reflag(arg, leaf);
}

static int owner_order(const void *a, const void *b)
{
	return dname_cmp(a, b);
}

/* Re-flags touched nodes; where a cut or DNAME appeared or went away, the
 * whole subtree below it. (Only then: the apex's NS, or a delegation whose
 * NS RRset changed, leave every descendant's flags as they were, and
 * walking the apex's subtree would cost the whole zone per IXFR.) */
static int reflag_touched(struct apply_ctx *ctx, const struct zone_version *base)
{
	if (ctx->ntouched == 0)
		return 0; /* only removals: qsort must not see a NULL array */
	qsort(ctx->touched, ctx->ntouched, sizeof(*ctx->touched), owner_order);
	for (size_t i = 0; i < ctx->ntouched; i++) {
		const uint8_t *owner = ctx->touched[i];
		const struct zone_node *n = zone_get(ctx->v, owner);
		if (n == NULL)
			continue;
		const struct zone_node *old = zone_get(base, owner);
		uint16_t redirect = NODE_CUT | NODE_DNAME;
		uint16_t had = old ? old->flags & redirect : 0;
		uint16_t has = compute_flags(ctx->v, n) & redirect;
		int r;
		if (had != has) {
			uint8_t key[QP_MAXKEY];
			size_t klen = node_key(owner, key);
			r = qp_walk_prefix(&ctx->v->tree, key, klen, reflag_leaf, ctx);
		} else {
			r = reflag(ctx, n);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

static int sync_nsec3_leaf(void *leaf, void *arg)
{
	struct apply_ctx *ctx = arg;
	return sync_nsec3(ctx->v, ((struct apply_draft *)leaf)->owner);
}

static void check_touched(struct apply_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ntouched; i++) {
		const struct zone_node *n = zone_get(ctx->v, ctx->touched[i]);
		if (n == NULL)
			continue;
		char name[DNAME_STRLEN];
		dname_to_str(name, sizeof(name), n->owner);
		if (!(n->flags & NODE_APEX) && zone_node_rrset(n, RRTYPE_SOA))
			apply_error(ctx, "%s: SOA record outside the zone apex", name);
		const struct zone_rrset *cname = zone_node_rrset(n, RRTYPE_CNAME);
		if (cname && cname->count > 1)
			apply_error(ctx, "%s: more than one CNAME record", name);
		for (uint16_t j = 0; cname && j < n->nrrsets; j++) {
			uint16_t t = n->rrsets[j].type;
			if (t != RRTYPE_CNAME && !rrtype_is_dnssec(t)) {
				char tname[16];
				apply_error(ctx, "%s: CNAME and other data (%s)",
					    name, rrtype_to_str(t, tname));
				break;
			}
		}
		const struct zone_rrset *dn = zone_node_rrset(n, RRTYPE_DNAME);
		if (dn && dn->count > 1)
			apply_error(ctx, "%s: more than one DNAME record", name);
	}
}

static int change_rr(struct apply_ctx *ctx, const struct zone_change_rr *rr,
		     bool add)
{
	char name[DNAME_STRLEN], tname[16];
	if (!dname_is_subdomain(rr->owner, ctx->v->apex_name)) {
		dname_to_str(name, sizeof(name), rr->owner);
		apply_error(ctx, "out of zone data: %s", name);
		return 0;
	}
	if (add && (rrtype_is_meta(rr->type) ||
		    rdata_check(rr->type, rr->rdata, rr->rdlen) != 0)) {
		dname_to_str(name, sizeof(name), rr->owner);
		apply_error(ctx, "%s %s: malformed or meta RR", name,
			    rrtype_to_str(rr->type, tname));
		return 0;
	}
	struct apply_draft *a = draft_for(ctx, rr->owner);
	if (a == NULL)
		return ERR_NOMEM;
	if (!add) {
		if (node_draft_remove(&a->draft, rr->type, rr->rdata, rr->rdlen) != 0) {
			dname_to_str(name, sizeof(name), rr->owner);
			apply_error(ctx, "%s %s: cannot delete an RR that does "
				    "not exist", name, rrtype_to_str(rr->type, tname));
		}
		return 0;
	}
	bool mismatch;
	int r = node_draft_add(&a->draft, rr->type, rr->ttl, rr->rdata,
			       rr->rdlen, &mismatch);
	if (r != 0)
		return r;
	if (mismatch) {
		/* The newest TTL wins for the whole RRset (RFC 2181 §5.2). */
		uint16_t covered = rr->type == RRTYPE_RRSIG
			? node_rrsig_covered(rr->rdata, rr->rdlen) : 0;
		node_draft_find(&a->draft, rr->type, covered)->ttl = rr->ttl;
	}
	return 0;
}

int zone_apply(const struct zone_version *base, const struct zone_diff *d,
	       zone_log_fn log, void *arg, struct zone_version **out)
{
	struct zone_version *v = malloc(sizeof(*v));
	if (v == NULL)
		return ERR_NOMEM;
	*v = *base;
	v->refs = 1;
	qp_clone(&v->tree, &base->tree);
	qp_clone(&v->nsec3_tree, &base->nsec3_tree);
	struct apply_ctx ctx = { .v = v, .log = log, .arg = arg };
	qp_init(&ctx.drafts, &apply_ops);

	int r = 0;
	for (size_t i = 0; r == 0 && i < d->nremoved; i++)
		r = change_rr(&ctx, &d->removed[i], false);
	for (size_t i = 0; r == 0 && i < d->nadded; i++)
		r = change_rr(&ctx, &d->added[i], true);
	if (r == 0 && ctx.errors == 0) {
		qp_walk_prefix(&ctx.drafts, NULL, 0, store_draft, &ctx);
		r = ctx.result;
	}
	if (r == 0 && ctx.errors == 0)
		r = reflag_touched(&ctx, base);
	/* NSEC3 owners are leaves one label below the apex: only the
	 * owners changed by the difference can gain or lose the flag. */
	if (r == 0 && ctx.errors == 0)
		r = qp_walk_prefix(&ctx.drafts, NULL, 0, sync_nsec3_leaf, &ctx);
	const struct zone_rrset *soa = NULL;
	if (r == 0 && ctx.errors == 0) {
		check_touched(&ctx);
		v->apex = zone_get(v, v->apex_name);
		soa = v->apex ? zone_node_rrset(v->apex, RRTYPE_SOA) : NULL;
		if (soa == NULL || soa->count != 1)
			apply_error(&ctx, "the result has %s SOA record at the apex",
				    soa ? "more than one" : "no");
		if (v->apex && zone_node_rrset(v->apex, RRTYPE_NS) == NULL)
			apply_error(&ctx, "the result has no NS records at the apex");
	}
	qp_clear(&ctx.drafts);
	free(ctx.touched);
	if (r == 0 && ctx.errors > 0)
		r = ERR_SEMANTIC;
	if (r != 0) {
		zone_version_release(v);
		return r;
	}
	v->serial = rdata_soa_field(soa->rdata + 2, SOA_SERIAL);
	v->node_count = qp_count(&v->tree);
	zone_version_index(v);
	*out = v;
	return 0;
}

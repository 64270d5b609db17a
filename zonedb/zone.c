/*
 * zone.c -- lookups in an immutable zone version.
 */
#include "zonedb/zone.h"

#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"
#include "zonedb/node.h"

const struct zone_rrset *zone_node_rrset(const struct zone_node *node,
					 uint16_t type)
{
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		if (node->rrsets[i].type == type)
			return &node->rrsets[i];
		if (node->rrsets[i].type > type)
			break;
	}
	return NULL;
}

const struct zone_rrset *zone_node_rrsig(const struct zone_node *node,
					 uint16_t covered)
{
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		const struct zone_rrset *rs = &node->rrsets[i];
		if (rs->type == RRTYPE_RRSIG && rs->covered == covered)
			return rs;
		if (rs->type > RRTYPE_RRSIG)
			break;
	}
	return NULL;
}

const uint8_t *zone_rrset_next(const struct zone_rrset *set, size_t *pos,
			       uint16_t *len)
{
	if (*pos >= set->size)
		return NULL;
	const uint8_t *p = set->rdata + *pos;
	*len = (uint16_t)(p[0] << 8 | p[1]);
	*pos += 2u + *len;
	return p + 2;
}

const struct zone_node *zone_get(const struct zone_version *v,
				 const uint8_t *name)
{
	uint8_t key[QP_MAXKEY];
	size_t len = node_key_fold(name, key);
	return qp_get(&v->tree, key, len);
}

void zone_key_init(struct zone_key *k, const uint8_t *name)
{
	int labels = 0;
	k->len = (uint16_t)node_key_ends(name, k->key, k->ends, &labels);
	k->labels = (uint8_t)labels;
}

/* The node of the ancestor of k's name with `labels` labels, or NULL.
 * Names of the zone are at or below the apex, which needs no search. */
static const struct zone_node *ancestor(const struct zone_version *v,
					const struct zone_key *k, int labels)
{
	if (labels == v->apex_labels)
		return v->apex;
	return qp_get(&v->tree, k->key, k->ends[labels]);
}

/* The topmost cut or DNAME on the way from the apex down to `depth`
 * labels of the name, or NULL. A DNAME redirects only names strictly
 * below its owner (RFC 6672 §2.3); a cut covers its own name too. */
static const struct zone_node *find_redirect(const struct zone_version *v,
					     const struct zone_key *k,
					     int depth,
					     enum zone_lookup_kind *kind)
{
	for (int d = v->apex_labels; d <= depth; d++) {
		const struct zone_node *n = ancestor(v, k, d);
		if (n == NULL)
			return NULL; /* cannot happen: ancestors exist */
		if (n->flags & NODE_CUT) {
			*kind = ZONE_DELEGATION;
			return n;
		}
		if ((n->flags & NODE_DNAME) && d < k->labels) {
			*kind = ZONE_DNAME;
			return n;
		}
	}
	return NULL;
}

/* Whole labels the name of k shares with a node, counted from the root. */
static int common_labels(const struct zone_key *k, const struct zone_node *n)
{
	const uint8_t *nkey = zone_node_key(n);
	size_t max = k->len < n->key_len ? k->len : n->key_len;
	size_t same = qp_common_prefix(k->key, nkey, max);
	int labels = 0;
	while (labels < k->labels && k->ends[labels + 1] <= same)
		labels++;
	return labels;
}

void zone_lookup(const struct zone_version *v, const uint8_t *qname,
		 struct zone_lookup *out)
{
	struct zone_key k;
	zone_key_init(&k, qname);
	zone_lookup_key(v, &k, out);
}

void zone_lookup_key(const struct zone_version *v, const struct zone_key *k,
		     struct zone_lookup *out)
{
	/* Most names asked for exist, and an exact match costs a third of
	 * the search for the greatest key <= the name, which finds the
	 * same node then. */
	const struct zone_node *prev = qp_get(&v->tree, k->key, k->len);
	bool found = prev != NULL; /* then no other node is the name */
	if (!found)
		prev = qp_find_le(&v->tree, k->key, k->len);
	if (prev == NULL)
		prev = v->apex; /* the name is at or below the apex */

	const struct zone_node *exact = NULL, *encloser;
	int encloser_labels;
	if (found && !(prev->flags & NODE_NSEC3)) {
		exact = encloser = prev;
		encloser_labels = k->labels;
	} else {
		/* Every ancestor of an existing name exists (empty non-
		 * terminals are nodes), and every existing ancestor of
		 * the name sorts between it and prev, so the closest
		 * encloser is their common ancestor. */
		encloser_labels = common_labels(k, prev);
		encloser = ancestor(v, k, encloser_labels);
		/* An NSEC3 owner is not a name of the zone (RFC 5155
		 * §7.2.9); its parent is the apex. */
		if (encloser == NULL || (encloser->flags & NODE_NSEC3) ||
		    encloser_labels < v->apex_labels) {
			encloser = v->apex;
			encloser_labels = v->apex_labels;
		}
	}
	out->previous = prev;
	out->encloser = encloser;

	uint16_t redirect = NODE_CUT | NODE_BELOW_CUT | NODE_BELOW_DNAME;
	if (!exact)
		redirect |= NODE_DNAME;
	if (encloser->flags & redirect) {
		enum zone_lookup_kind kind;
		const struct zone_node *n =
			find_redirect(v, k, encloser_labels, &kind);
		if (n != NULL) {
			out->kind = kind;
			out->node = n;
			return;
		}
	}
	if (exact) {
		out->kind = ZONE_FOUND;
		out->node = exact;
		return;
	}
	/* The source of synthesis, "*.<closest encloser>" (RFC 4592 §2.2.1):
	 * its key is the encloser's followed by the label "*". */
	uint8_t wild[QP_MAXKEY];
	size_t wlen = k->ends[encloser_labels];
	const struct zone_node *w = NULL;
	if (wlen + 2 <= sizeof(wild)) {
		memcpy(wild, k->key, wlen);
		wild[wlen] = '*';
		wild[wlen + 1] = 0;
		w = qp_get(&v->tree, wild, wlen + 2);
	}
	out->kind = w ? ZONE_WILDCARD : ZONE_NXDOMAIN;
	out->node = w;
}

/* The negative answers' TTL and SOA image; no image (the RR is then
 * written as it goes) when the apex has no single SOA. */
static void index_negative_soa(struct zone_version *v)
{
	v->negative_soa.len = 0;
	v->negative_ttl = 0;
	const struct zone_rrset *soa =
		v->apex ? zone_node_rrset(v->apex, RRTYPE_SOA) : NULL;
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata = soa ? zone_rrset_next(soa, &pos, &len) : NULL;
	if (rdata == NULL)
		return;
	uint32_t ttl = soa->ttl;
	uint32_t minimum = rdata_soa_field(rdata, SOA_MINIMUM);
	if (minimum < ttl)
		ttl = minimum;
	v->negative_ttl = ttl;
	if (zone_rrset_next(soa, &pos, &len) != NULL)
		return;
	msg_image_build(&v->negative_soa, v->apex->owner, RRTYPE_SOA,
			RRCLASS_IN, ttl, rdata, len);
}

void zone_version_index(struct zone_version *v)
{
	index_negative_soa(v);
	v->dnssec = zone_node_rrsig(v->apex, RRTYPE_SOA) != NULL;
	v->denial = ZONE_DENIAL_NONE;
	/* RFC 5155 §4: the NSEC3PARAM with flags 0 and a known hash
	 * algorithm names the chain to use. */
	const struct zone_rrset *param =
		zone_node_rrset(v->apex, RRTYPE_NSEC3PARAM);
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata;
	while (param && (rdata = zone_rrset_next(param, &pos, &len))) {
		struct nsec3_params p;
		if (nsec3_params_read(&p, rdata, len) == 0 && p.flags == 0 &&
		    p.algorithm == NSEC3_HASH_SHA1) {
			v->nsec3 = p;
			v->denial = ZONE_DENIAL_NSEC3;
			return;
		}
	}
	if (zone_node_rrset(v->apex, RRTYPE_NSEC) != NULL)
		v->denial = ZONE_DENIAL_NSEC;
}

/* Bound on the nodes passed by on the way back to an NSEC or a matching
 * NSEC3 (empty non-terminals, glue, another chain's NSEC3 owners). */
#define DENIAL_MAX_STEPS 4096

const struct zone_node *zone_nsec_before(const struct zone_version *v,
					 const struct zone_node *node)
{
	for (int i = 0; node != NULL && i < DENIAL_MAX_STEPS; i++) {
		if (zone_node_rrset(node, RRTYPE_NSEC) != NULL)
			return node;
		node = qp_find_lt(&v->tree, zone_node_key(node), node->key_len);
	}
	return NULL;
}

const struct zone_node *zone_nsec_find(const struct zone_version *v,
				       const uint8_t *name)
{
	uint8_t key[QP_MAXKEY];
	size_t len = node_key_fold(name, key);
	return zone_nsec_before(v, qp_find_le(&v->tree, key, len));
}

/* Whether a node has an NSEC3 RR of the version's chain. */
static bool in_chain(const struct zone_version *v, const struct zone_node *n)
{
	const struct zone_rrset *set = zone_node_rrset(n, RRTYPE_NSEC3);
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata;
	while (set && (rdata = zone_rrset_next(set, &pos, &len)))
		if (nsec3_params_match(&v->nsec3, rdata, len))
			return true;
	return false;
}

const struct zone_node *zone_nsec3_find(const struct zone_version *v,
					const uint8_t *name, bool *exact)
{
	*exact = false;
	if (v->denial != ZONE_DENIAL_NSEC3)
		return NULL;
	uint8_t owner[DNAME_MAXLEN], key[QP_MAXKEY];
	if (nsec3_owner(owner, &v->nsec3, name, v->apex_name) < 0)
		return NULL;
	size_t len = node_key(owner, key);
	const struct zone_node *n = qp_get(&v->nsec3_tree, key, len);
	if (n != NULL && in_chain(v, n)) {
		*exact = true;
		return n;
	}
	/* The covering one: the nearest smaller hash of the chain, or the
	 * largest hash when the name's hash is below every owner. */
	n = qp_find_lt(&v->nsec3_tree, key, len);
	for (int i = 0; i < DENIAL_MAX_STEPS; i++) {
		if (n == NULL)
			n = qp_last(&v->nsec3_tree);
		if (n == NULL || in_chain(v, n))
			return n;
		n = qp_find_lt(&v->nsec3_tree, zone_node_key(n), n->key_len);
	}
	return NULL;
}

struct walk_ctx {
	zone_node_fn fn;
	void *arg;
};

static int walk_leaf(void *leaf, void *arg)
{
	struct walk_ctx *ctx = arg;
	return ctx->fn(leaf, ctx->arg);
}

int zone_walk(const struct zone_version *v, zone_node_fn fn, void *arg)
{
	struct walk_ctx ctx = { fn, arg };
	return qp_walk_prefix(&v->tree, NULL, 0, walk_leaf, &ctx);
}

void zone_iter_init(struct zone_iter *it, const struct zone_version *v)
{
	qp_iter_init(&it->qp, &v->tree);
}

const struct zone_node *zone_iter_next(struct zone_iter *it)
{
	return qp_iter_next(&it->qp);
}

void zone_version_ref(struct zone_version *v)
{
	__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
}

void zone_version_release(struct zone_version *v)
{
	if (v == NULL)
		return;
	if (__atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	qp_clear(&v->tree);
	qp_clear(&v->nsec3_tree);
	free(v);
}

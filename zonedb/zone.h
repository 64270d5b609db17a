/*
 * zone.h -- an immutable version of one zone, and lookups in it.
 *
 * A zone_version is built once (zone_builder, or zone_apply of a diff to an
 * older version) and never changes afterwards, so any number of threads may
 * read it without locks. Versions derived from one another share every
 * unchanged node (copy-on-write qp-trie, see qp.h). Deriving versions is
 * done by one thread at a time; readers only need the version to stay
 * referenced (RCU or zone_version_ref()).
 */
#ifndef TANDEM_ZONEDB_ZONE_H
#define TANDEM_ZONEDB_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "dns/nsec3.h"
#include "zonedb/qp.h"

/* An RRset in wire form, ready to copy into a response. `rdata` holds
 * `count` entries, each a 2-octet big-endian length and that many octets
 * of uncompressed rdata (names with their case as loaded), in canonical
 * RR order (RFC 4034 §6.3), without duplicates. */
struct zone_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint16_t covered;     /* RRSIG sets: the type covered (one set per
				 covered type, each with its own TTL) */
	uint32_t size;        /* octets in rdata */
	const uint8_t *rdata;
};

/* Node flags. */
enum {
	NODE_APEX = 1 << 0,       /* the zone apex */
	NODE_CUT = 1 << 1,        /* NS here and not the apex: a delegation */
	NODE_DNAME = 1 << 2,      /* a DNAME RRset here */
	NODE_BELOW_CUT = 1 << 3,  /* a proper ancestor is a cut (glue or
				     occluded data) */
	NODE_BELOW_DNAME = 1 << 4,/* a proper ancestor has a DNAME (occluded) */
	NODE_WILDCARD = 1 << 5,   /* owner is a wildcard "*.<parent>" */
	NODE_NSEC3 = 1 << 6,      /* an NSEC3 owner: NSEC3 (and its RRSIGs)
				     only, one label below the apex. Not a
				     name of the zone (RFC 5155 §7.2.9):
				     lookups pass it by; it is reached
				     through zone_nsec3_find() */
};

/* How a version proves that names or types do not exist (RFC 4035 §3.1.3,
 * RFC 5155 §7.2). */
enum zone_denial {
	ZONE_DENIAL_NONE,   /* not signed, or signed without a chain */
	ZONE_DENIAL_NSEC,   /* NSEC at the apex */
	ZONE_DENIAL_NSEC3,  /* an NSEC3PARAM at the apex names the chain */
};

/* One owner name and its RRsets, sorted by type. An empty non-terminal is
 * a node with nrrsets == 0. Shared between versions; never modified. */
struct zone_node {
	uint32_t refs;            /* atomic: versions sharing this node */
	uint16_t flags;
	uint16_t nrrsets;
	uint16_t key_len;         /* the trie key follows the owner */
	uint8_t owner_len;
	uint32_t build_seq;       /* the builder's, while it builds */
	const uint8_t *owner;     /* lowercase wire form */
	const struct zone_rrset *rrsets;
};

struct zone_version {
	uint32_t refs;            /* atomic; see zone_version_ref() */
	uint8_t apex_name[256];   /* lowercase wire form */
	size_t apex_len;
	int apex_labels;
	uint32_t serial;
	size_t node_count;        /* nodes incl. empty non-terminals */
	size_t rr_count;          /* RRs in all RRsets */
	const struct zone_node *apex;
	struct qp_trie tree;      /* lowercase names -> struct zone_node */

	/* DNSSEC, derived from the apex by zone_version_index(). */
	bool dnssec;              /* the apex SOA is signed */
	enum zone_denial denial;
	struct nsec3_params nsec3; /* the chain's parameters (NSEC3 only) */
	struct qp_trie nsec3_tree; /* the NODE_NSEC3 nodes, also in tree */

	/* The apex SOA as a negative answer carries it, TTL = min(SOA TTL,
	 * MINIMUM) (RFC 2308 §3), compressed once per version. */
	uint32_t negative_ttl;
	struct msg_image negative_soa; /* len 0: none */
};

/* The RRset of `type` at `node`, or NULL. For RRSIG, the first of the
 * per-covered-type sets. */
const struct zone_rrset *zone_node_rrset(const struct zone_node *node,
					 uint16_t type);

/* The RRSIGs at `node` covering `covered`, or NULL. */
const struct zone_rrset *zone_node_rrsig(const struct zone_node *node,
					 uint16_t covered);

/* Steps through an RRset's rdata. Start with *pos = 0; returns a pointer to
 * the next rdata and sets *len, or NULL after the last one. */
const uint8_t *zone_rrset_next(const struct zone_rrset *set, size_t *pos,
			       uint16_t *len);

/* A name's trie key, made once per name looked up (in any case: the key
 * is of the lowercase name), with the key length of each of its
 * ancestors: the key of an ancestor is a prefix of the name's key. */
struct zone_key {
	uint8_t key[QP_MAXKEY];
	uint16_t len;
	uint8_t labels;                       /* the root has 0 */
	uint16_t ends[DNAME_MAXLABELS + 1];   /* ends[k]: key length of the
						 ancestor of k labels */
};

void zone_key_init(struct zone_key *k, const uint8_t *name);

/* The trie key stored in a node (after its owner). */
static inline const uint8_t *zone_node_key(const struct zone_node *n)
{
	return n->owner + n->owner_len;
}

/* Outcome of zone_lookup(). */
enum zone_lookup_kind {
	ZONE_FOUND,       /* node: the name itself (maybe an empty non-
			     terminal: nrrsets == 0) */
	ZONE_DELEGATION,  /* node: the topmost zone cut at or above the name
			     (qname == cut owner when DS is being asked) */
	ZONE_DNAME,       /* node: the topmost DNAME owner strictly above */
	ZONE_WILDCARD,    /* node: the wildcard "*.<encloser>" to expand */
	ZONE_NXDOMAIN,    /* no such name, no wildcard */
};

struct zone_lookup {
	enum zone_lookup_kind kind;
	const struct zone_node *node;
	const struct zone_node *encloser; /* closest encloser (RFC 4592) */
	const struct zone_node *previous; /* largest name <= qname in
					     canonical order */
};

/* Finds how `qname` (any case, must be at or below the apex) resolves in
 * version `v`: RFC 1034 §4.3.2 step 3 with RFC 4592 wildcards and RFC 6672
 * DNAME. Costs O(length of qname) trie steps, plus one step per label
 * between the apex and a cut or DNAME when there is one. */
void zone_lookup(const struct zone_version *v, const uint8_t *qname,
		 struct zone_lookup *out);

/* The same with the key of qname made already. */
void zone_lookup_key(const struct zone_version *v, const struct zone_key *k,
		     struct zone_lookup *out);

/* The node of exactly `name` (any case), or NULL. */
const struct zone_node *zone_get(const struct zone_version *v,
				 const uint8_t *name);

/* Sets a version's DNSSEC fields, negative_ttl and negative_soa from its
 * apex (after building or changing it). The NSEC3 tree is maintained by the builder and by
 * zone_apply(). */
void zone_version_index(struct zone_version *v);

/* The node whose NSEC RR matches or covers `name` (RFC 4035 §3.1.3):
 * the largest owner <= name in canonical order that has an NSEC RRset,
 * or NULL. */
const struct zone_node *zone_nsec_find(const struct zone_version *v,
				       const uint8_t *name);

/* The same, starting from a node (zone_lookup's `previous`). */
const struct zone_node *zone_nsec_before(const struct zone_version *v,
					 const struct zone_node *node);

/* The NSEC3 node matching `name` (*exact set) or else covering it (RFC
 * 5155 §1.3: the hash lies between its owner and its next hashed owner,
 * the last one wrapping around), using the version's chain; NULL when
 * the version has no NSEC3 chain. */
const struct zone_node *zone_nsec3_find(const struct zone_version *v,
					const uint8_t *name, bool *exact);

/* Calls fn on every node in canonical order (RFC 4034 §6.1); stops and
 * returns fn's value when non-zero. */
typedef int (*zone_node_fn)(const struct zone_node *node, void *arg);
int zone_walk(const struct zone_version *v, zone_node_fn fn, void *arg);

/* A resumable walk over a version's nodes in canonical order. */
struct zone_iter {
	struct qp_iter qp;
};

void zone_iter_init(struct zone_iter *it, const struct zone_version *v);

/* The next node, or NULL at the end. */
const struct zone_node *zone_iter_next(struct zone_iter *it);

/* Takes one more reference to a version (e.g. for a transfer that streams
 * it after a newer one is published). Thread-safe. */
void zone_version_ref(struct zone_version *v);

/* Drops one reference; frees the version and every node no other version
 * shares when none is left. Thread-safe (reference counts are atomic), but
 * the publisher must drop its own reference only after the RCU grace
 * period, when no reader can still reach the version. */
void zone_version_release(struct zone_version *v);

#endif

/*
 * node.h -- zone nodes: building, freezing and trie keys (zonedb-internal).
 *
 * A node_draft is the mutable form of a node used while building a
 * version; node_freeze() turns it into one immutable allocation.
 */
#ifndef TANDEM_ZONEDB_NODE_H
#define TANDEM_ZONEDB_NODE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zonedb/qp.h"
#include "zonedb/load.h"
#include "zonedb/zone.h"

struct node_rr {
	const uint8_t *rdata;
	uint16_t len;
};

struct node_set_draft {
	uint16_t type;
	uint16_t covered;         /* RRSIG: the type covered; else 0 */
	uint32_t ttl;
	size_t count, cap;
	struct node_rr *rrs;
};

struct node_draft {
	const uint8_t *owner;     /* lowercase wire form, outlives the draft */
	const uint8_t *key;       /* its trie key, when the builder keeps it */
	uint16_t key_len;
	uint16_t flags;
	size_t nsets, cap;
	struct node_set_draft *sets;
	const char *file;         /* where first seen, for messages */
	unsigned long line;
};

/* Writes the trie key of a lowercase name: labels from the root down, each
 * octet escaped so that 0x00 can end a label, which keeps canonical order
 * (RFC 4034 §6.1) equal to key order. Returns the key length. */
size_t node_key(const uint8_t *name, uint8_t key[QP_MAXKEY]);

/* Same for a name in any case. */
size_t node_key_fold(const uint8_t *name, uint8_t key[QP_MAXKEY]);

/* The same as node_key_fold, also giving the key length of every
 * ancestor (ends[k]: the one of k labels) and the number of labels. */
size_t node_key_ends(const uint8_t *name, uint8_t key[QP_MAXKEY],
		     uint16_t ends[DNAME_MAXLABELS + 1], int *nlabels);

/* The type covered by an RRSIG rdata (0 when too short). */
uint16_t node_rrsig_covered(const uint8_t *rdata, uint16_t len);

/* Adds an RR to a draft. *ttl_mismatch is set when the RRset already had
 * another TTL (the RR takes the RRset's TTL). ERR_NOMEM on failure. */
int node_draft_add(struct node_draft *d, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t len, bool *ttl_mismatch);

/* Removes an RR (canonical rdata equality). Returns 0 or ERR_NOTFOUND. */
int node_draft_remove(struct node_draft *d, uint16_t type,
		      const uint8_t *rdata, uint16_t len);

/* The set of type (and covered type, for RRSIG) in a draft, or NULL. */
struct node_set_draft *node_draft_find(struct node_draft *d, uint16_t type,
				       uint16_t covered);

/* Whether a draft or a node holds an NSEC3 RRset and nothing else but
 * RRSIGs: with its owner one label below the apex, an NSEC3 owner
 * (NODE_NSEC3). */
bool node_draft_nsec3_only(const struct node_draft *d);
bool node_nsec3_only(const struct zone_node *n);

/* Fills a draft from a frozen node; rdata points into the node. */
int node_thaw(const struct zone_node *n, struct node_draft *d);

/* Frees a draft's arrays (not the rdata or owner). */
void node_draft_free(struct node_draft *d);

/* Empties a draft, keeping its arrays for the next owner. */
void node_draft_clear(struct node_draft *d);

/* node_thaw into a draft that has arrays already (cleared first). */
int node_thaw_into(const struct zone_node *n, struct node_draft *d);

/* One immutable node from a draft (rdata sorted canonically, duplicates
 * dropped), with one reference. NULL on ENOMEM. */
struct zone_node *node_freeze(const struct node_draft *d);

/* The same node with other flags, with one reference. */
struct zone_node *node_with_flags(const struct zone_node *n, uint16_t flags);

void node_ref(const struct zone_node *n);
void node_unref(const struct zone_node *n);

/* Formats one message for a zone_log_fn (load.h); nothing when log is
 * NULL. Shared by the builder, the loader and zone_apply. */
void zone_logf(zone_log_fn log, void *arg, enum zone_log_level level,
	       const char *file, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void zone_vlogf(zone_log_fn log, void *arg, enum zone_log_level level,
		const char *file, unsigned long line, const char *fmt,
		va_list ap) __attribute__((format(printf, 6, 0)));

/* The qp-trie operations for a tree of zone nodes. */
extern const struct qp_ops node_qp_ops;

#endif

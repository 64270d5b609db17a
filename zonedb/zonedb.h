/*
 * zonedb.h -- the set of zones served, found by longest apex match.
 *
 * A zonedb is built by the main thread and then only read. Each entry
 * points to the zone's current version; the server publishes new versions
 * into entry->version with rcu_xchg_pointer()/rcu_assign_pointer() and
 * readers load it with rcu_dereference() inside a QSBR read side. zonedb
 * itself does no RCU: it only stores the pointer.
 */
#ifndef TANDEM_ZONEDB_ZONEDB_H
#define TANDEM_ZONEDB_ZONEDB_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"
#include "zonedb/qp.h"
#include "zonedb/zone.h"

struct zonedb_entry {
	uint8_t apex[DNAME_MAXLEN]; /* lowercase wire form */
	size_t apex_len;
	uint8_t key[QP_MAXKEY];     /* the apex's trie key */
	size_t key_len;
	char name[DNAME_STRLEN];    /* presentation form, for logs */
	struct zone_version *version; /* RCU-protected; NULL when not loaded */
	void *data;                 /* the owner's per-zone state */
};

struct zonedb {
	struct qp_trie apexes;      /* lowercase apex -> struct zonedb_entry */
	/* How many apexes have each label count: a query name's ancestors
	 * of a length no apex has are not looked up. */
	uint32_t at_labels[DNAME_MAXLABELS + 1];
};

/* An empty zonedb. */
void zonedb_init(struct zonedb *db);

/* Adds a zone with apex `apex` (any case) and no version. Returns the new
 * entry in *out, or ERR_EXISTS / ERR_NOMEM. */
int zonedb_add(struct zonedb *db, const uint8_t *apex,
	       struct zonedb_entry **out);

/* Removes and returns the entry for apex (the caller frees it with
 * zonedb_entry_free after the grace period), or NULL. */
struct zonedb_entry *zonedb_remove(struct zonedb *db, const uint8_t *apex);

/* The zone whose apex is the longest suffix of qname (any case), or NULL
 * when qname is in no zone served. */
struct zonedb_entry *zonedb_find(const struct zonedb *db,
				 const uint8_t *qname);

/* The same for the ancestor of k's name with `labels` labels (k.labels
 * for the name itself), with its key made already. */
struct zonedb_entry *zonedb_find_key(const struct zonedb *db,
				     const struct zone_key *k, int labels);

/* The zone with exactly this apex, or NULL. */
struct zonedb_entry *zonedb_get(const struct zonedb *db, const uint8_t *apex);

/* Calls fn for each entry in canonical order of apexes. */
typedef int (*zonedb_fn)(struct zonedb_entry *entry, void *arg);
int zonedb_foreach(const struct zonedb *db, zonedb_fn fn, void *arg);

/* Number of zones. */
size_t zonedb_count(const struct zonedb *db);

/* Frees the set and its entries (not the versions or entry->data). */
void zonedb_clear(struct zonedb *db);

/* Frees an entry removed with zonedb_remove (not its version). */
void zonedb_entry_free(struct zonedb_entry *entry);

#endif

/*
 * zonedb.c -- the set of zones served.
 */
#include "zonedb/zonedb.h"

#include <stdlib.h>
#include <string.h>

#include "dns/error.h"
#include "zonedb/node.h"

static const uint8_t *entry_key(const void *leaf, uint8_t buf[QP_MAXKEY],
				size_t *len)
{
	const struct zonedb_entry *e = leaf;
	(void)buf;
	*len = e->key_len;
	return e->key;
}

static void entry_noop(void *leaf)
{
	(void)leaf;
}

/* The zonedb owns its entries outright; qp_clear frees them. */
static const struct qp_ops entry_ops = {
	.key = entry_key, .ref = entry_noop, .unref = free,
};

void zonedb_init(struct zonedb *db)
{
	qp_init(&db->apexes, &entry_ops);
	memset(db->at_labels, 0, sizeof(db->at_labels));
}

int zonedb_add(struct zonedb *db, const uint8_t *apex,
	       struct zonedb_entry **out)
{
	if (zonedb_get(db, apex) != NULL)
		return ERR_EXISTS;
	struct zonedb_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return ERR_NOMEM;
	e->apex_len = dname_copy_lower(e->apex, apex);
	e->key_len = node_key(e->apex, e->key);
	dname_to_str(e->name, sizeof(e->name), e->apex);
	if (qp_set(&db->apexes, e) != 0) {
		free(e);
		return ERR_NOMEM;
	}
	db->at_labels[dname_labels(e->apex)]++;
	*out = e;
	return 0;
}

struct zonedb_entry *zonedb_get(const struct zonedb *db, const uint8_t *apex)
{
	uint8_t key[QP_MAXKEY];
	size_t klen = node_key_fold(apex, key);
	return qp_get(&db->apexes, key, klen);
}

struct zonedb_entry *zonedb_remove(struct zonedb *db, const uint8_t *apex)
{
	struct zonedb_entry *e = zonedb_get(db, apex);
	if (e == NULL)
		return NULL;
	/* Detach without freeing: swap in ops that keep the leaf. */
	static const struct qp_ops keep_ops = {
		.key = entry_key, .ref = entry_noop, .unref = entry_noop,
	};
	uint8_t key[QP_MAXKEY];
	size_t klen = node_key(e->apex, key);
	db->apexes.ops = &keep_ops;
	qp_del(&db->apexes, key, klen);
	db->apexes.ops = &entry_ops;
	db->at_labels[dname_labels(e->apex)]--;
	return e;
}

struct zonedb_entry *zonedb_find(const struct zonedb *db,
				 const uint8_t *qname)
{
	struct zone_key k;
	zone_key_init(&k, qname);
	return zonedb_find_key(db, &k, k.labels);
}

struct zonedb_entry *zonedb_find_key(const struct zonedb *db,
				     const struct zone_key *k, int labels)
{
	/* Longest match first: the name, then each parent, each one trie
	 * lookup of a prefix of the name's key. (A qp_find_le would need
	 * one lookup, but costs more than these few with few zones.) */
	for (int l = labels; l >= 0; l--) {
		if (db->at_labels[l] == 0)
			continue;
		struct zonedb_entry *e = qp_get(&db->apexes, k->key, k->ends[l]);
		if (e != NULL)
			return e;
	}
	return NULL;
}

struct foreach_ctx {
	zonedb_fn fn;
	void *arg;
};

static int foreach_leaf(void *leaf, void *arg)
{
	struct foreach_ctx *ctx = arg;
	return ctx->fn(leaf, ctx->arg);
}

int zonedb_foreach(const struct zonedb *db, zonedb_fn fn, void *arg)
{
	struct foreach_ctx ctx = { fn, arg };
	return qp_walk_prefix(&db->apexes, NULL, 0, foreach_leaf, &ctx);
}

size_t zonedb_count(const struct zonedb *db)
{
	return qp_count(&db->apexes);
}

void zonedb_clear(struct zonedb *db)
{
	qp_clear(&db->apexes);
	memset(db->at_labels, 0, sizeof(db->at_labels));
}

void zonedb_entry_free(struct zonedb_entry *entry)
{
	free(entry);
}

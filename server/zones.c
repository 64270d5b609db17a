/*
 * zones.c -- the zones of the config: loading, reloading, publishing.
 */
#include "server/zones.h"

#include <stdio.h>
#include <stdlib.h>

#define URCU_INLINE_SMALL_FUNCTIONS
#include <urcu-qsbr.h>

#include "dns/error.h"
#include "zonedb/load.h"

/* Where zone loading messages go: the server log, tagged with the zone. */
struct load_log {
	const struct logger *log;
	const char *zone;
	bool plain; /* tandemd -t: bare "file:line: message" on stderr */
};

static void zone_log(void *arg, enum zone_log_level level, const char *file,
		     unsigned long line, const char *msg)
{
	const struct load_log *ll = arg;
	if (ll->plain) {
		if (file != NULL && line > 0)
			fprintf(stderr, "%s:%lu: %s\n", file, line, msg);
		else if (file != NULL)
			fprintf(stderr, "%s: %s\n", file, msg);
		else
			fprintf(stderr, "zone %s: %s\n", ll->zone, msg);
		return;
	}
	enum log_level lvl =
	    level == ZONE_LOG_ERROR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING;
	if (file != NULL && line > 0)
		log_msg(ll->log, lvl, "zone %s: %s:%lu: %s", ll->zone, file,
			line, msg);
	else if (file != NULL)
		log_msg(ll->log, lvl, "zone %s: %s: %s", ll->zone, file, msg);
	else
		log_msg(ll->log, lvl, "zone %s: %s", ll->zone, msg);
}

/* Loads the file of one zone. Returns 0 with *out set, or an error
 * (already logged). */
static int load_one(const struct conf_zone *cz, const char *name,
		    const struct logger *log, bool plain,
		    struct zone_version **out)
{
	struct load_log ll = {.log = log, .zone = name, .plain = plain};
	return zone_load_file(cz->apex, cz->file, zone_log, &ll, out);
}

int zones_load(struct zonedb *db, const struct conf *conf,
	       const struct logger *log)
{
	int failed = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct conf_zone *cz = &conf->zones[i];
		struct zonedb_entry *e;
		int ret = zonedb_add(db, cz->apex, &e);
		if (ret == ERR_EXISTS)
			continue; /* conf_load rejects duplicates already */
		if (ret < 0)
			return ret;
		e->data = (void *)cz;
		struct zone_version *v;
		if (load_one(cz, e->name, log, false, &v) < 0) {
			log_error(log,
				  "zone %s: not loaded, answering "
				  "SERVFAIL",
				  e->name);
			failed++;
			continue;
		}
		rcu_assign_pointer(e->version, v);
		log_info(log, "zone %s: loaded, serial %u, %zu names", e->name,
			 v->serial, v->node_count);
	}
	return failed;
}

/* A version replaced by a reload, freed after the grace period. */
struct reload_ctx {
	const struct logger *log;
	struct zone_version **old;
	size_t nold;
	int failed;
};

static int reload_entry(struct zonedb_entry *e, void *arg)
{
	struct reload_ctx *rc = arg;
	const struct conf_zone *cz = e->data;
	struct zone_version *v;
	if (cz == NULL)
		return 0;
	if (load_one(cz, e->name, rc->log, false, &v) < 0) {
		log_error(rc->log,
			  "zone %s: reload failed, keeping the "
			  "version served",
			  e->name);
		rc->failed++;
		return 0;
	}
	struct zone_version *old = rcu_xchg_pointer(&e->version, v);
	if (old != NULL)
		rc->old[rc->nold++] = old;
	log_info(rc->log, "zone %s: reloaded, serial %u", e->name, v->serial);
	return 0;
}

int zones_reload(struct zonedb *db, const struct logger *log)
{
	struct reload_ctx rc = {.log = log};
	rc.old = calloc(zonedb_count(db) + 1, sizeof(*rc.old));
	if (rc.old == NULL)
		return ERR_NOMEM;
	zonedb_foreach(db, reload_entry, &rc);
	/* One grace period for all the zones: after it no worker can still
	 * hold a pointer to an old version. */
	if (rc.nold > 0)
		synchronize_rcu();
	for (size_t i = 0; i < rc.nold; i++)
		zone_version_release(rc.old[i]);
	free(rc.old);
	return rc.failed;
}

int zones_check(const struct conf *conf)
{
	int failed = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct conf_zone *cz = &conf->zones[i];
		struct zone_version *v;
		if (load_one(cz, cz->name, NULL, true, &v) < 0) {
			failed++;
			continue;
		}
		zone_version_release(v);
	}
	return failed;
}

static int release_entry(struct zonedb_entry *e, void *arg)
{
	struct zone_version *v = e->version;
	e->version = NULL;
	if (v != NULL)
		zone_version_release(v);
	return 0;
}

void zones_clear(struct zonedb *db)
{
	zonedb_foreach(db, release_entry, NULL);
	zonedb_clear(db);
}

/*
 * zones.h -- the zones of the config: loading, reloading, publishing, and
 * their replication (xfr/xfrd) on the main thread.
 *
 * The main thread owns the zonedb. Workers only read entry->version, with
 * rcu_dereference(); a new version is published with one atomic pointer
 * swap and the old one released after an RCU grace period, so a reload
 * never blocks a worker and a worker never sees a half-built zone. A zone
 * that fails to load is never published: the old version keeps serving,
 * and the error is kept for zonestatus.
 */
#ifndef TANDEM_SERVER_ZONES_H
#define TANDEM_SERVER_ZONES_H

#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "server/conf.h"
#include "server/log.h"
#include "xfr/xfrd.h"
#include "zonedb/zonedb.h"

struct event_base;

/* One zone served: entry->data points here. */
struct server_zone {
	const struct conf_zone *conf;
	struct zonedb_entry *entry;
	struct xfrd_zone *xfrd;
	struct zones *zones;
	struct stat file_stat;     /* primary: the file last loaded */
	bool file_seen;
	time_t loaded_at;          /* when the version served was published */
	char error[512];           /* last load error; "" when fine */
};

struct zones {
	struct zonedb db;
	struct server_zone *zones;
	size_t nzones;
	struct xfrd *xfrd;
	const struct conf *conf;
	const struct logger *log;
};

/* Adds every zone of the config to zs->db, loads the primary zones'
 * files (a zone that does not load is left without a version: SERVFAIL)
 * and prepares their replication on base. A zone also in `previous`
 * (reconfig; may be NULL) keeps the version it serves instead of being
 * loaded again. Returns the number of zones that failed to load, or
 * ERR_NOMEM. */
int zones_load(struct zones *zs, const struct conf *conf,
	       const struct logger *log, struct event_base *base,
	       const struct zones *previous);

/* Starts replication: NOTIFY for primaries, stored copies and refresh
 * timers for secondaries. tandemd calls it before the workers start, so
 * that a secondary's stored copy is served from the first query (its
 * timers and NOTIFYs run once the event loop does). */
void zones_start(struct zones *zs);

/* Reloads the primary zone named `name` (NULL: every one) from its file:
 * an unchanged file is a no-op; a changed one must load and have a higher
 * serial, else the old version keeps serving and the reason is kept.
 * Writes a one-line error per failed zone into err (may be NULL).
 * Returns the number of zones that failed, or ERR_NOTFOUND for an unknown
 * name. */
int zones_reload(struct zones *zs, const char *name, char *err, size_t errlen);

/* The zone with this name (presentation form), or NULL. */
struct server_zone *zones_find(struct zones *zs, const char *name);

/* Loads every zone file of the config without serving it (tandemd -t),
 * printing each problem as "file:line: message" to stderr. Returns the
 * number of zones with errors. */
int zones_check(const struct conf *conf);

/* Stops replication, releases every version and empties zs. Only once no
 * reader is left (workers stopped). */
void zones_clear(struct zones *zs);

#endif

/*
 * zones.h -- the zones of the config: loading, reloading, publishing.
 *
 * The main thread owns the zonedb. Workers only read entry->version, with
 * rcu_dereference(); a new version is published with one atomic pointer
 * swap and the old one released after an RCU grace period, so a reload
 * never blocks a worker and a worker never sees a half-built zone. A zone
 * that fails to load is never published: the old version keeps serving.
 */
#ifndef TANDEM_SERVER_ZONES_H
#define TANDEM_SERVER_ZONES_H

#include <stdbool.h>

#include "server/conf.h"
#include "server/log.h"
#include "zonedb/zonedb.h"

/* Adds every zone of the config to db and loads its file. A zone whose
 * file does not load is logged and left without a version (queries for
 * it get SERVFAIL). Returns the number of zones that failed to load, or
 * ERR_NOMEM. */
int zones_load(struct zonedb *db, const struct conf *conf,
	       const struct logger *log);

/* Reloads every zone file (SIGHUP) and publishes the versions that load;
 * waits for one grace period, then frees the versions replaced. Returns
 * the number of zones that failed to load. */
int zones_reload(struct zonedb *db, const struct logger *log);

/* Loads every zone file of the config without serving it (tandemd -t),
 * printing each problem as "file:line: message" to stderr. Returns the
 * number of zones with errors. */
int zones_check(const struct conf *conf);

/* Releases every version and empties db. Only once no reader is left
 * (workers stopped). */
void zones_clear(struct zonedb *db);

#endif

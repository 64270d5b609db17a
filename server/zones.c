/*
 * zones.c -- the zones of the config: loading, reloading, publishing.
 */
#include "server/zones.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URCU_INLINE_SMALL_FUNCTIONS
#include <urcu-qsbr.h>

#include "dns/error.h"
#include "dns/serial.h"
#include "zonedb/load.h"

/* Where zone loading messages go: the server log, tagged with the zone,
 * and the first error kept for zonestatus. */
struct load_log {
	const struct logger *log;
	const char *zone;
	bool plain; /* tandemd -t: bare "file:line: message" on stderr */
	char *first_error;
	size_t first_len;
};

static void zone_log(void *arg, enum zone_log_level level, const char *file,
		     unsigned long line, const char *msg)
{
	struct load_log *ll = arg;
	char text[1024];
	if (file != NULL && line > 0)
		snprintf(text, sizeof(text), "%s:%lu: %s", file, line, msg);
	else if (file != NULL)
		snprintf(text, sizeof(text), "%s: %s", file, msg);
	else
		snprintf(text, sizeof(text), "%s", msg);
	if (level == ZONE_LOG_ERROR && ll->first_error && ll->first_error[0] == '\0')
		snprintf(ll->first_error, ll->first_len, "%s", text);
	if (ll->plain) {
		if (file != NULL)
			fprintf(stderr, "%s\n", text);
		else
			fprintf(stderr, "zone %s: %s\n", ll->zone, msg);
		return;
	}
	log_msg(ll->log, level == ZONE_LOG_ERROR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING,
		"zone %s: %s", ll->zone, text);
}

/* ---- publishing (xfrd's callbacks) ---- */

static void publish(struct server_zone *sz, struct zone_version *v)
{
	struct zone_version *old = rcu_xchg_pointer(&sz->entry->version, v);
	sz->loaded_at = time(NULL);
	if (old != NULL) {
		/* After the grace period no worker can still see it. */
		synchronize_rcu();
		zone_version_release(old);
	}
}

static struct zone_version *op_current(void *arg, void *zone)
{
	struct server_zone *sz = zone;
	return sz->entry->version; /* the main thread is the only writer */
}

static void op_publish(void *arg, void *zone, struct zone_version *v)
{
	struct server_zone *sz = zone;
	publish(sz, v);
	if (v != NULL) {
		sz->error[0] = '\0';
		log_info(sz->zones->log, "zone %s: serving serial %u", sz->entry->name,
			 v->serial);
	} else {
		snprintf(sz->error, sizeof(sz->error), "expired");
	}
}

static void op_log(void *arg, enum xfrd_log_level level, const char *zone,
		   const char *msg)
{
	struct zones *zs = arg;
	enum log_level l = level == XFRD_LOG_ERROR ? LOG_LEVEL_ERROR
			   : level == XFRD_LOG_WARNING ? LOG_LEVEL_WARNING
						       : LOG_LEVEL_INFO;
	log_msg(zs->log, l, "zone %s: %s", zone, msg);
}

static const struct xfrd_ops xfrd_ops = { op_current, op_publish, op_log };

/* ---- loading ---- */

static int load_file(struct server_zone *sz, struct zone_version **out)
{
	struct load_log ll = { .log = sz->zones->log, .zone = sz->entry->name,
			       .first_error = sz->error,
			       .first_len = sizeof(sz->error) };
	sz->error[0] = '\0';
	int r = zone_load_file(sz->conf->apex, sz->conf->file, zone_log, &ll, out);
	if (r != 0 && sz->error[0] == '\0')
		snprintf(sz->error, sizeof(sz->error), "%s: %s", sz->conf->file,
			 error_str(r));
	return r;
}

int zones_load(struct zones *zs, const struct conf *conf,
	       const struct logger *log, struct event_base *base,
	       const struct zones *previous)
{
	memset(zs, 0, sizeof(*zs));
	zonedb_init(&zs->db);
	zs->conf = conf;
	zs->log = log;
	zs->zones = calloc(conf->nzones ? conf->nzones : 1, sizeof(*zs->zones));
	if (zs->zones == NULL)
		return ERR_NOMEM;
	if (base != NULL) {
		zs->xfrd = xfrd_new(base, &xfrd_ops, zs);
		if (zs->xfrd == NULL)
			return ERR_NOMEM;
	}
	int failed = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct conf_zone *cz = &conf->zones[i];
		struct server_zone *sz = &zs->zones[zs->nzones];
		int r = zonedb_add(&zs->db, cz->apex, &sz->entry);
		if (r == ERR_EXISTS)
			continue; /* conf_load rejects duplicates already */
		if (r < 0)
			return r;
		zs->nzones++;
		sz->conf = cz;
		sz->zones = zs;
		sz->entry->data = sz;
		if (zs->xfrd) {
			sz->xfrd = xfrd_zone_new(zs->xfrd, cz->apex, &cz->xfr, sz);
			if (sz->xfrd == NULL)
				return ERR_NOMEM;
		}
		struct zonedb_entry *pe =
			previous ? zonedb_get(&previous->db, cz->apex) : NULL;
		const struct server_zone *prev = pe ? pe->data : NULL;
		if (prev && prev->entry->version &&
		    prev->conf->xfr.secondary == cz->xfr.secondary &&
		    (cz->xfr.secondary || strcmp(prev->conf->file, cz->file) == 0)) {
			/* Reconfig: the zone stays as served. */
			zone_version_ref(prev->entry->version);
			rcu_assign_pointer(sz->entry->version, prev->entry->version);
			sz->file_stat = prev->file_stat;
			sz->file_seen = prev->file_seen;
			sz->loaded_at = prev->loaded_at;
			memcpy(sz->error, prev->error, sizeof(sz->error));
			continue;
		}
		if (cz->xfr.secondary)
			continue; /* its stored copy is xfrd's (zones_start) */
		struct zone_version *v;
		if (stat(cz->file, &sz->file_stat) == 0)
			sz->file_seen = true;
		if (load_file(sz, &v) < 0) {
			log_error(log, "zone %s: not loaded, answering SERVFAIL",
				  sz->entry->name);
			failed++;
			continue;
		}
		rcu_assign_pointer(sz->entry->version, v);
		sz->loaded_at = time(NULL);
		log_info(log, "zone %s: loaded, serial %u, %zu names", sz->entry->name,
			 v->serial, v->node_count);
	}
	/* Give the loader's temporary memory back to the system. */
	malloc_trim(0);
	return failed;
}

void zones_start(struct zones *zs)
{
	for (size_t i = 0; i < zs->nzones; i++)
		if (zs->zones[i].xfrd)
			xfrd_zone_start(zs->zones[i].xfrd);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reloads one primary zone. Returns 0 (published or unchanged) or -1
 * with sz->error set. */
static int reload_one(struct server_zone *sz)
{
	const struct logger *log = sz->zones->log;
	struct stat st;
	if (stat(sz->conf->file, &st) != 0) {
		snprintf(sz->error, sizeof(sz->error), "%s: %s", sz->conf->file,
			 strerror(errno));
		log_error(log, "zone %s: reload failed: %s", sz->entry->name, sz->error);
		return -1;
	}
	struct zone_version *old = sz->entry->version;
	if (old != NULL && sz->file_seen && same_file(&st, &sz->file_stat) &&
	    sz->error[0] == '\0')
		return 0; /* unchanged: nothing to parse */
	struct zone_version *v;
	if (load_file(sz, &v) < 0) {
		log_error(log, "zone %s: reload failed, still serving serial %u: %s",
			  sz->entry->name, old ? old->serial : 0, sz->error);
		return -1;
	}
	sz->file_stat = st;
	sz->file_seen = true;
	if (old != NULL) {
		struct zone_diff d;
		bool changed = true;
		if (zone_diff_compute(old, v, &d) == 0) {
			changed = d.nadded + d.nremoved > 0;
			zone_diff_free(&d);
		}
		if (!changed) {
			zone_version_release(v);
			return 0;
		}
		/* A change the secondaries would never fetch. */
		if (serial_cmp(v->serial, old->serial) <= 0) {
			snprintf(sz->error, sizeof(sz->error),
				 "%s: the zone changed but its serial %u is not "
				 "above %u; not loaded", sz->conf->file, v->serial,
				 old->serial);
			log_error(log, "zone %s: %s", sz->entry->name, sz->error);
			zone_version_release(v);
			return -1;
		}
	}
	zone_version_ref(v); /* kept over the publish for the journal */
	if (old)
		zone_version_ref(old);
	publish(sz, v);
	log_info(log, "zone %s: reloaded, serial %u", sz->entry->name, v->serial);
	if (sz->xfrd)
		xfrd_zone_changed(sz->xfrd, old, v);
	if (old)
		zone_version_release(old);
	zone_version_release(v);
	return 0;
}

struct server_zone *zones_find(struct zones *zs, const char *name)
{
	static const uint8_t root[1] = { 0 };
	uint8_t apex[DNAME_MAXLEN];
	if (dname_from_str(apex, name, strlen(name), root) < 0)
		return NULL;
	struct zonedb_entry *e = zonedb_get(&zs->db, apex);
	return e ? e->data : NULL;
}

int zones_reload(struct zones *zs, const char *name, char *err, size_t errlen)
{
	int failed = 0;
	size_t used = 0;
	if (err && errlen)
		err[0] = '\0';
	struct server_zone *only = NULL;
	if (name != NULL) {
		only = zones_find(zs, name);
		if (only == NULL)
			return ERR_NOTFOUND;
	}
	for (size_t i = 0; i < zs->nzones; i++) {
		struct server_zone *sz = &zs->zones[i];
		if ((only && sz != only) || sz->conf->xfr.secondary)
			continue;
		if (reload_one(sz) == 0)
			continue;
		failed++;
		if (err && used < errlen) {
			int n = snprintf(err + used, errlen - used, "%s%s: %s",
					 used ? "; " : "", sz->entry->name, sz->error);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	malloc_trim(0);
	return failed;
}

int zones_check(const struct conf *conf)
{
	int failed = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct conf_zone *cz = &conf->zones[i];
		if (cz->xfr.secondary)
			continue; /* nothing of it is on disk yet */
		struct load_log ll = { .zone = cz->name, .plain = true };
		struct zone_version *v;
		if (zone_load_file(cz->apex, cz->file, zone_log, &ll, &v) < 0) {
			failed++;
			continue;
		}
		zone_version_release(v);
	}
	return failed;
}

void zones_clear(struct zones *zs)
{
	for (size_t i = 0; i < zs->nzones; i++) {
		struct server_zone *sz = &zs->zones[i];
		xfrd_zone_free(sz->xfrd);
		struct zone_version *v = sz->entry->version;
		sz->entry->version = NULL;
		if (v != NULL)
			zone_version_release(v);
	}
	xfrd_free(zs->xfrd);
	zonedb_clear(&zs->db);
	free(zs->zones);
	memset(zs, 0, sizeof(*zs));
}

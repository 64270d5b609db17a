/*
 * load.h -- building zone versions from RRs, zone files and diffs.
 *
 * Errors and warnings go to a caller-supplied log function with the file
 * and line they concern (file NULL and line 0 when they concern no line,
 * e.g. an RR received by transfer). A version that fails to build is never
 * returned.
 */
#ifndef TANDEM_ZONEDB_LOAD_H
#define TANDEM_ZONEDB_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zonedb/zone.h"

struct arena_chunk;

enum zone_log_level { ZONE_LOG_ERROR, ZONE_LOG_WARNING };

typedef void (*zone_log_fn)(void *arg, enum zone_log_level level,
			    const char *file, unsigned long line,
			    const char *msg);

struct zone_builder;

/* A builder for a zone with this apex (any case). NULL on ENOMEM. */
struct zone_builder *zone_builder_new(const uint8_t *apex);

/* Adds one RR (class IN; rdata uncompressed). Out-of-zone owners are
 * rejected with ERR_OUTOFZONE (and logged); an exact duplicate is dropped;
 * a TTL differing from the RRset's is normalised to the first one seen with
 * a warning (as NSD and Knot do). file/line are used in messages. */
int zone_builder_add(struct zone_builder *b, const uint8_t *owner,
		     uint16_t type, uint32_t ttl, const uint8_t *rdata,
		     uint16_t rdlen, const char *file, unsigned long line,
		     zone_log_fn log, void *arg);

/* Runs the semantic checks (one SOA at the apex, NS at the apex, CNAME
 * beside other data, data below a cut kept only as glue) and turns the
 * builder into a version, freeing the builder either way. Returns 0 with
 * *out set, or ERR_SEMANTIC / ERR_NOSOA / ERR_NOMEM with every problem
 * logged. */
int zone_builder_finish(struct zone_builder *b, zone_log_fn log, void *arg,
			struct zone_version **out);

/* Frees a builder without building. */
void zone_builder_free(struct zone_builder *b);

/* Loads a zone file ($ORIGIN, $TTL, $INCLUDE, relative names, @, ( ),
 * RFC 3597 unknown types, escapes) for the zone `apex`. Returns 0 with
 * *out set, or a negative code with every error logged as file:line. */
int zone_load_file(const uint8_t *apex, const char *path, zone_log_fn log,
		   void *arg, struct zone_version **out);

/* zone_load_file() with every record read by ldns, none by the built-in
 * reader of the common types: the reference the tests compare it with. */
int zone_load_file_ldns(const uint8_t *apex, const char *path,
			zone_log_fn log, void *arg,
			struct zone_version **out);

/* Writes a version as a zone file in canonical order, every owner absolute,
 * one RR per line, so that zone_load_file() reads back the same version.
 * Returns 0 or ERR_IO. */
int zone_dump(const struct zone_version *v, FILE *out);

/* Writes a version to `path` atomically: a temporary file beside it,
 * fsync, rename over path, fsync of the directory. A crash at any moment
 * leaves either the old file or the new one. Returns 0, ERR_IO, ERR_NOMEM. */
int zone_dump_file(const struct zone_version *v, const char *path);

/* One RR of a difference. */
struct zone_change_rr {
	const uint8_t *owner;     /* wire form */
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* The difference between two versions of one zone: RRs to remove from the
 * old and to add to it to get the new (RFC 1995 order: SOA first in each
 * list). Storage is owned by the struct. */
struct zone_diff {
	struct zone_change_rr *removed, *added;
	size_t nremoved, nadded;
	size_t cap_removed, cap_added;
	struct arena_chunk *chunks; /* backing storage (arena.h) */
};

/* Computes old -> new. Returns 0 or ERR_NOMEM. */
int zone_diff_compute(const struct zone_version *old_version,
		      const struct zone_version *new_version,
		      struct zone_diff *out);

/* Appends one RR to a diff's removed or added list (copied). */
int zone_diff_add(struct zone_diff *d, bool add, const uint8_t *owner,
		  uint16_t type, uint32_t ttl, const uint8_t *rdata,
		  uint16_t rdlen);

/* Frees a diff's storage. */
void zone_diff_free(struct zone_diff *d);

/* Derives a new version from `base` by a diff (removals first, then
 * additions), sharing unchanged nodes. Strict: removing an RR that does not
 * exist, or any out-of-zone RR, is ERR_SEMANTIC (logged) and nothing is
 * built; adding an RR that exists already is a no-op. The result passes the
 * same semantic checks as a loaded zone. */
int zone_apply(const struct zone_version *base, const struct zone_diff *d,
	       zone_log_fn log, void *arg, struct zone_version **out);

#endif

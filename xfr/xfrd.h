/*
 * xfrd.h -- the replication engine: everything a zone does with other
 * servers, on the main thread's event loop.
 *
 * For a primary zone: journal each new version's difference (for IXFR
 * out) and NOTIFY the configured secondaries, with retries. For a
 * secondary zone: serve the stored copy at start-up, keep the SOA timers
 * (refresh, retry, expire; kept on disk so a restart cannot reset the
 * expiry clock), check the primaries' serial, transfer by IXFR with AXFR
 * fallback, verify, store the result atomically, publish it, and NOTIFY
 * downstream secondaries. NOTIFYs received by workers arrive here as
 * xfrd_zone_notified() calls.
 *
 * xfrd never touches the zonedb: it asks the server for the version
 * served and hands new versions over through struct xfrd_ops.
 */
#ifndef TANDEM_XFR_XFRD_H
#define TANDEM_XFR_XFRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/tsig.h"
#include "xfr/acl.h"
#include "zonedb/zone.h"

struct event_base;

/* How long a transfer in may take in all, by default: BIND's
 * max-transfer-time-in. A stalled primary is dropped much sooner, after
 * XFRD_IDLE_TIMEOUT without a byte. */
#define XFRD_DEFAULT_TRANSFER_TIME 7200
#define XFRD_IDLE_TIMEOUT 30

/* Another server: a primary to pull from or a secondary to notify. */
struct xfr_peer {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const struct tsig_key *key;  /* NULL: unsigned */
	char text[80];               /* "address@port", for logs */
};

/* A zone's replication settings, filled by the server from its config. */
struct xfr_settings {
	bool secondary;
	struct xfr_peer *primaries;  /* secondary: tried in order */
	size_t nprimaries;
	struct xfr_peer *notify;     /* secondaries to NOTIFY */
	size_t nnotify;
	struct acl_entry *allow_notify;
	size_t nallow_notify;
	struct acl_entry *allow_transfer;
	size_t nallow_transfer;
	char *zonefile;              /* secondary: the stored copy */
	char *journal;               /* journal path */
	char *timers;                /* secondary: timer state path */
	uint64_t journal_max_size;
	uint32_t refresh_min, refresh_max;
	uint32_t retry_min, retry_max;
	uint32_t expire_min, expire_max;
	size_t max_zone_rrs;         /* 0: no limit */
	unsigned transfer_timeout;   /* seconds for a whole transfer in,
					however steadily it progresses; 0:
					XFRD_DEFAULT_TRANSFER_TIME */
};

enum xfrd_log_level { XFRD_LOG_ERROR, XFRD_LOG_WARNING, XFRD_LOG_INFO };

struct xfrd_ops {
	/* The version now served for the zone, or NULL. Borrowed: valid
	 * until the next publish. */
	struct zone_version *(*current)(void *arg, void *zone);
	/* Serves v for the zone from now on (the reference passes to the
	 * server); NULL: the zone expired, answer SERVFAIL. */
	void (*publish)(void *arg, void *zone, struct zone_version *v);
	/* One log line about the zone. */
	void (*log)(void *arg, enum xfrd_log_level level, const char *zone,
		    const char *msg);
};

struct xfrd;
struct xfrd_zone;

/* The engine on `base`. NULL on ENOMEM. */
struct xfrd *xfrd_new(struct event_base *base, const struct xfrd_ops *ops,
		      void *arg);

/* Frees the engine (its zones must be freed first). */
void xfrd_free(struct xfrd *d);

/* A zone; settings are kept (not copied) and must outlive it; `zone` is
 * the server's handle passed back in ops. NULL on ENOMEM. */
struct xfrd_zone *xfrd_zone_new(struct xfrd *d, const uint8_t *apex,
				const struct xfr_settings *settings,
				void *zone);

/* Starts a zone's work. Primary: NOTIFY the secondaries (start-up).
 * Secondary: serve the stored copy if there is one (published through
 * ops at once, before any refresh), read the timers, schedule the next
 * refresh (at once when none is known) and the expiry. */
int xfrd_zone_start(struct xfrd_zone *z);

/* Stops everything the zone has in flight and frees it. */
void xfrd_zone_free(struct xfrd_zone *z);

/* Primary: the server published `new_version` in place of `old_version`
 * (after a reload). Journals the difference (when old is not NULL and the
 * serial went up) and sends NOTIFY. Returns 0 or the journal's error
 * (logged; the zone is served anyway, IXFR clients get AXFR). */
int xfrd_zone_changed(struct xfrd_zone *z,
		      const struct zone_version *old_version,
		      const struct zone_version *new_version);

/* Sends NOTIFY to every target now. */
void xfrd_zone_notify(struct xfrd_zone *z);

/* Secondary: check the primaries' serial now (coalesced with one already
 * under way). */
void xfrd_zone_refresh(struct xfrd_zone *z);

/* Secondary: a full AXFR now, whatever the serials. */
void xfrd_zone_retransfer(struct xfrd_zone *z);

/* Secondary: a NOTIFY for the zone arrived (the caller has checked
 * allow-notify and the signature). */
void xfrd_zone_notified(struct xfrd_zone *z, const char *from);

/* Writes "key: value" status lines (role, serial, primary last used, last
 * refresh, next refresh, expires-at, last error) into buf. */
void xfrd_zone_status(const struct xfrd_zone *z, char *buf, size_t len);

/* True when a secondary zone has expired (it answers SERVFAIL). */
bool xfrd_zone_expired(const struct xfrd_zone *z);

#endif

/*
 * answer.h -- answering one DNS query from the zones served.
 *
 * A pure function of its inputs: query octets in, response octets out,
 * given the zonedb and a few server settings. No I/O, no allocation, no
 * locks; zone versions are read with rcu_dereference(), so the caller must
 * be inside an RCU read-side section (a worker between quiescent states),
 * or own the zonedb outright (unit tests).
 *
 * Behaviour follows RFC 1034 §4.3.2 with the later refinements (RFC 2181,
 * 2308, 4592, 6672, 6891, 8482) and, where those leave a choice, what NSD
 * and Knot DNS do; answer.c cites the section next to each decision.
 */
#ifndef TANDEM_SERVER_ANSWER_H
#define TANDEM_SERVER_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/cookie.h"
#include "dns/msg.h"
#include "server/rrl.h"
#include "zonedb/zonedb.h"

/* Settings the answers depend on (filled from the config by server/). */
/* The first secret makes server cookies, every one is accepted (a secret
 * being rotated out is still listed after the new one). */
struct cookie_secrets {
	size_t n;
	uint8_t secret[][COOKIE_SECRET_LEN];
};

struct answer_conf {
	struct zonedb *zonedb;        /* RCU-protected: reload replaces it;
					 reconfig publishes a new
					 answer_conf whole (worker_live) */
	uint16_t edns_size;   /* our EDNS UDP payload size (RFC 6891) */
	const char *identity; /* id.server, hostname.bind; NULL: REFUSED */
	const char *version;  /* version.bind, version.server; NULL:
				 REFUSED */
	const uint8_t *nsid;  /* RFC 5001 NSID payload; NULL: none */
	size_t nsid_len;
	/* DNS Cookies (RFC 7873, RFC 9018); RCU-protected, like the rest of
	 * this block under reconfig (secret rotation); NULL: no cookies. */
	const struct cookie_secrets *cookies;
	bool cookie_require;  /* a UDP query without a valid server cookie
				 gets BADCOOKIE (RFC 7873 §5.2.3) */
	struct rrl_conf rrl;  /* response rate limiting; rate 0: off */
};

enum answer_transport {
	ANSWER_UDP,
	ANSWER_TCP,
};

/* CNAME and DNAME links followed inside one zone. RFC 1034 §4.3.2 step 3a
 * restarts with the canonical name until the data is found; NSD follows
 * long chains (Knot stops after 5), we follow up to 16 and stop at any
 * loop. */
#define ANSWER_MAX_CHAIN 16

/* Scratch space for one answer at a time (one per worker), kept out of
 * the per-query state so that nothing large is cleared per query: the
 * rdata of records read from the query, and the names DNAME rewrites
 * produce. */
struct answer_scratch {
	/* What the last response was, for rate limiting (rrl.h), when
	 * answer_conf.rrl.rate is set: its rrl_kind and the name it is
	 * about. */
	int rrl_kind;
	uint16_t rrl_qtype;
	uint8_t rrl_name[DNAME_MAXLEN];
	/* The QTYPE of the question the last call read (answer_query*,
	 * request_handle), for the counters; -1 when it read none. */
	int32_t qtype;
	struct zone_key key; /* of the name being looked up */
	uint8_t rdata[MSG_RDATA_MAX];
	uint8_t synth[ANSWER_MAX_CHAIN + 1][DNAME_MAXLEN];
};

/* Smallest output buffer answer_query accepts: a UDP reply may reach
 * max(512, edns_size) octets, a TCP reply MSG_MAXLEN. */
#define ANSWER_MIN_OUT MSG_UDPLEN

/* Answers the query in query[0..qlen) received over `transport`, writing
 * the response into out[0..outcap) (UDP replies are further limited to 512
 * octets, or to the EDNS size agreed with the client). Returns the response
 * length, or 0 when nothing must be sent (the packet is a response, or too
 * short to have a header, or outcap < ANSWER_MIN_OUT). */
size_t answer_query(const struct answer_conf *conf,
		    struct answer_scratch *scratch,
		    enum answer_transport transport, const uint8_t *query,
		    size_t qlen, uint8_t *out, size_t outcap);

/* The same for a query from `from` (whose address server cookies are
 * made for; NULL: no cookies), keeping `reserve` octets free at the end
 * of the size limit, for a TSIG the caller appends. */
size_t answer_query_reserve(const struct answer_conf *conf,
			    struct answer_scratch *scratch,
			    enum answer_transport transport,
			    const struct sockaddr *from, const uint8_t *query,
			    size_t qlen, uint8_t *out, size_t outcap,
			    size_t reserve);

#endif

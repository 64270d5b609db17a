/*
 * request.h -- the queries answered around answer_query(): TSIG-signed
 * requests (RFC 8945), NOTIFY (RFC 1996), and zone transfers out (AXFR,
 * RFC 5936; IXFR, RFC 1995), on a worker thread.
 */
#ifndef TANDEM_SERVER_REQUEST_H
#define TANDEM_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/tsig.h"
#include "server/answer.h"
#include "server/conf.h"
#include "server/log.h"
#include "xfr/xfrout.h"

/* What a worker needs to handle requests. Read-only while it runs. */
struct request_env {
	const struct answer_conf *answer;
	struct conf *conf;            /* keys; read under the RCU read
					 lock: reconfig publishes a new
					 env (worker_live) and frees this
					 one's config after a grace period */
	const struct logger *log;
	int notify_fd;                /* write end to the main thread */
};

/* A NOTIFY handed to the main thread through notify_fd: fixed size, well
 * under PIPE_BUF, so a write is atomic. */
struct request_notify {
	uint8_t apex[DNAME_MAXLEN];
	char from[64];
};

/* A transfer streamed on a TCP connection. */
struct request_xfr {
	struct xfrout out;
	struct tsig_ctx tsig;
	struct tsig_key key;  /* a copy: a reconfig may free the config's
				 keys while the transfer streams */
	bool signed_;
	uint64_t started;
	char zone[DNAME_STRLEN];
	char peer[64];
};

/* Handles one query: writes the response into out[0..outcap) and returns
 * its length (0: send nothing). For an AXFR/IXFR over TCP that is
 * accepted, returns 0 and sets *xfr (allocated) to stream with
 * request_xfr_next. */
size_t request_handle(const struct request_env *env,
		      struct answer_scratch *scratch,
		      enum answer_transport transport,
		      const struct sockaddr *from, const uint8_t *query,
		      size_t qlen, uint8_t *out, size_t outcap,
		      struct request_xfr **xfr);

/* Writes the next message of a transfer into out (65535 octets). Returns
 * 1 when more follow, 0 at the last one, <0 on error (stop; the
 * connection should be closed). */
int request_xfr_next(struct request_xfr *x, uint8_t *out, size_t *len);

/* Frees a transfer, logging how it went. */
void request_xfr_free(const struct request_env *env, struct request_xfr *x,
		      bool completed);

#endif

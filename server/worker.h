/*
 * worker.h -- query-answering threads: UDP and TCP on their own sockets.
 *
 * Each worker has, per listen address, its own UDP and TCP socket bound
 * with SO_REUSEPORT, so the kernel spreads queries over the workers and no
 * two workers ever share a socket, a buffer or a lock. A worker runs two
 * threads: one waits on its UDP sockets (epoll, no event library: see
 * worker.c), the other runs a libevent loop for TCP. UDP is read and
 * answered in batches (recvmmsg/sendmmsg) into buffers allocated once;
 * TCP follows RFC 7766
 * (length framing, partial reads and writes, pipelined queries answered in
 * order, an idle timeout, a cap on connections, on a message's size and
 * on a connection's whole life).
 *
 * Zone versions are read under liburcu QSBR: a worker is an RCU reader
 * that stays offline while it waits for events and comes online only
 * around the callbacks that answer queries (see worker.c), so a writer's
 * synchronize_rcu() never waits for an idle worker.
 */
#ifndef TANDEM_SERVER_WORKER_H
#define TANDEM_SERVER_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "server/answer.h"
#include "server/conf.h"
#include "server/log.h"
#include "server/request.h"

/* What a reconfig changes in running workers. The server makes a new one
 * from each config and publishes it with one pointer swap (RCU); a worker
 * takes the pointer at the start of each callback, so that whatever it
 * does in one callback follows one config -- never the rate of the new
 * one with the exempt list of the old, say. */
struct worker_live {
	struct answer_conf answer;
	struct request_env request;    /* request.answer == &answer */
	unsigned tcp_idle_timeout;     /* seconds */
	unsigned tcp_max_time;	       /* seconds a connection may last */
	unsigned tcp_max_message_size; /* octets of a client's message */
};

struct worker_settings {
	/* When set, *live (RCU-protected, replaced by reconfig) gives the
	 * answer, request and tcp_* settings below but tcp_max_clients, which
	 * are then not used; the server frees a replaced one only after a
	 * grace period. */
	struct worker_live *const *live;
	const struct answer_conf *answer; /* read-only while running */
	/* TSIG, NOTIFY and transfers (request.h); NULL: plain answers. */
	const struct request_env *request;
	const struct logger *log;
	unsigned tcp_idle_timeout;     /* seconds */
	unsigned tcp_max_time;	       /* seconds; 0: no limit */
	unsigned tcp_max_message_size; /* octets; 0: 65535 */
	unsigned tcp_max_clients;      /* for this worker; fixed */
};

/* Per-worker counters, read after the worker stopped. */
struct worker_stats {
	uint64_t udp_queries;
	uint64_t udp_dropped; /* not answered (malformed, responses) */
	uint64_t tcp_queries;
	uint64_t tcp_accepted;
	uint64_t tcp_refused; /* closed at once: connection cap */
	uint64_t tcp_timeouts; /* closed: idle (tcp-idle-timeout) */
	uint64_t tcp_overtime; /* closed: open too long (tcp-max-time) */
	uint64_t tcp_oversize; /* closed: message announced over
				  tcp-max-message-size */
	uint64_t rrl_dropped; /* rate limiting: not sent */
	uint64_t rrl_slipped; /* ... sent truncated instead */
	uint64_t responses;
	uint64_t rcode[16];   /* responses by rcode (header bits) */
	uint64_t qtype[256];  /* queries by QTYPE below 256 */
	uint64_t qtype_other; /* and above */
};

struct worker;

/* Creates worker `id`: its event base, epoll set, buffers and one UDP
 * and one TCP socket per listen address. A listen port of 0 is replaced in
 * listens[] by the port the kernel chose, so that later workers bind the
 * same one. Returns 0 with *out set, or ERR_IO (logged, with the address)
 * or ERR_NOMEM. */
int worker_create(unsigned id, const struct worker_settings *settings,
		  struct conf_listen *listens, size_t nlistens,
		  struct worker **out);

/* Starts the worker's threads. Returns 0 or ERR_NOMEM. */
int worker_start(struct worker *w);

/* Asks a running worker to stop and waits for its threads. Safe to call
 * from another thread; does nothing when it was not started. A stopped
 * worker is not started again. */
void worker_stop(struct worker *w);

/* Adds the worker's counters (both threads') to *sum. Read while the
 * worker runs, a counter may lag by a few queries (each is written by one
 * thread alone, read whole on x86-64). */
void worker_stats_add(struct worker_stats *sum, const struct worker *w);

/* Closes the sockets and connections and frees the worker (stopped). */
void worker_free(struct worker *w);

#endif

/*
 * rrl.h -- response rate limiting, as in BIND, NSD and Knot: identical
 * responses to one client prefix are counted in a token bucket; past the
 * rate, responses are dropped, every `slip`-th one sent truncated instead
 * (TC=1, no records) so that a real client behind a forged flood retries
 * over TCP and still gets its answer.
 *
 * One table per worker, no locks: a client's datagrams to one socket
 * reach one worker (SO_REUSEPORT hashes the addresses and ports), so
 * with N workers a source spraying ports may get up to N times the rate.
 */
#ifndef TANDEM_SERVER_RRL_H
#define TANDEM_SERVER_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What a response is, for telling identical responses apart: answers by
 * name and type, NXDOMAIN and referrals by the zone or cut they come
 * from (so random names do not each get a bucket), errors by rcode. */
enum rrl_kind {
	RRL_ANSWER,   /* data, or NODATA */
	RRL_NXDOMAIN,
	RRL_REFERRAL,
	RRL_ERROR,    /* REFUSED, FORMERR, SERVFAIL... */
	RRL_EXEMPT,   /* not limited (a valid DNS cookie, TCP...) */
};

struct rrl_netblock {
	uint8_t addr[16];
	uint8_t family_len; /* 4 or 16 */
	uint8_t prefix;     /* bits */
};

struct rrl_conf {
	unsigned rate;      /* responses per second per bucket; 0: off */
	unsigned slip;      /* every slip-th limited response goes out
			       truncated; 0: none, 1: all */
	unsigned ipv4_prefix, ipv6_prefix; /* client prefix lengths */
	const struct rrl_netblock *exempt; /* never limited */
	size_t nexempt;
};

enum rrl_action { RRL_SEND, RRL_DROP, RRL_SLIP };

struct rrl;

/* A table of 2^bits buckets (a random hash key each). NULL on ENOMEM. */
struct rrl *rrl_new(unsigned bits);
void rrl_free(struct rrl *t);

/* The fate of one response to `from` at time `now` (seconds). `name` is
 * the wire name the kind is about (may be NULL for errors). */
enum rrl_action rrl_account(struct rrl *t, const struct rrl_conf *c,
			    const struct sockaddr *from, enum rrl_kind kind,
			    const uint8_t *name, uint16_t qtype,
			    unsigned rcode, uint32_t now);

/* Whether an address is in one of the netblocks. */
bool rrl_exempt(const struct rrl_conf *c, const struct sockaddr *from);

/* Parses "ADDR[/PREFIX]" (IPv4 or IPv6). Returns 0 or ERR_SYNTAX. */
int rrl_netblock_parse(struct rrl_netblock *nb, const char *text);

/* Cuts a response down to its header and question, with TC set and no
 * records: what a slipped response is. Returns the new length (0 when
 * the response has no readable question). */
size_t rrl_truncate(uint8_t *resp, size_t len);

#endif

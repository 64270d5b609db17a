/*
 * request.c -- TSIG, NOTIFY and zone transfers out, around answer_query().
 */
#include "server/request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define URCU_INLINE_SMALL_FUNCTIONS
#include <urcu-qsbr.h>
#include <sodium.h>

#include "dns/error.h"
#include "dns/rdata.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/serial.h"
#include "server/zones.h"
#include "xfr/acl.h"
#include "xfr/journal.h"
#include "xfr/notify.h"

/* The query with its TSIG removed, as answer_query must see it. */
static __thread uint8_t stripped[MSG_MAXLEN];

static void peer_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, len, "%s#%u", host, port);
}

/* A response of header and question only, with rcode. */
static size_t simple_response(const uint8_t *q, size_t ql, uint8_t *out,
			      size_t cap, unsigned rcode, size_t reserve)
{
	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, q, ql);
	if (msg_read_header(&r, &h) != 0)
		return 0;
	struct msg_writer w;
	if (msg_writer_init(&w, out, cap, MSG_UDPLEN - reserve) != 0)
		return 0;
	uint16_t flags = msg_flags_set_opcode(MSG_FLAG_QR, msg_flags_opcode(h.flags)) |
			 (h.flags & MSG_FLAG_RD);
	msg_write_header(&w, h.id, msg_flags_set_rcode(flags, rcode));
	struct msg_question qq;
	if (h.count[0] == 1 && msg_read_question(&r, &qq) == 0)
		msg_write_question(&w, qq.name, qq.type, qq.rrclass);
	return msg_writer_len(&w);
}

/* Signs a response when the request was signed. Returns the length, or 0
 * when the signature does not fit (then nothing is sent). */
static size_t sign(struct tsig_ctx *ctx, uint8_t *out, size_t len, size_t cap,
		   uint16_t error)
{
	if (ctx == NULL || len == 0)
		return len;
	uint8_t other[6];
	uint64_t now = (uint64_t)time(NULL);
	uint16_t other_len = 0;
	if (error == RCODE_BADTIME) {
		/* RFC 8945 §5.2.3: the server's time in Other Data. */
		for (int i = 5; i >= 0; i--)
			other[5 - i] = (uint8_t)(now >> (8 * i));
		other_len = 6;
	}
	if (tsig_sign(ctx, out, &len, cap, now, TSIG_DEFAULT_FUDGE, error,
		      other, other_len) != 0)
		return 0;
	return len;
}

static const struct server_zone *zone_of(const struct request_env *env,
					 const uint8_t *apex,
					 struct zonedb_entry **entry)
{
	*entry = zonedb_get(rcu_dereference(env->answer->zonedb), apex);
	return *entry ? (*entry)->data : NULL;
}

static size_t handle_notify(const struct request_env *env,
			    const struct sockaddr *from, const uint8_t *q,
			    size_t ql, const struct tsig_key *key,
			    struct tsig_ctx *ctx, uint8_t *out, size_t cap)
{
	size_t reserve = key ? tsig_space(key) : 0;
	struct notify_in n;
	char peer[64];
	peer_text(from, peer, sizeof(peer));
	if (notify_parse(q, ql, &n) != 0)
		return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_FORMERR, reserve), cap, 0);
	struct zonedb_entry *e;
	const struct server_zone *sz = zone_of(env, n.apex, &e);
	char zname[DNAME_STRLEN];
	dname_to_str(zname, sizeof(zname), n.apex);
	unsigned rcode = RCODE_NOERROR;
	if (sz == NULL) {
		rcode = RCODE_NOTAUTH; /* not a zone of ours */
	} else if (!sz->conf->xfr.secondary ||
		   !acl_allows(sz->conf->xfr.allow_notify, sz->conf->xfr.nallow_notify,
			       from, key)) {
		log_warning(env->log, "zone %s: NOTIFY from %s%s%s refused "
			    "(allow-notify)", zname, peer, key ? " key " : "",
			    key ? "(signed)" : "");
		rcode = RCODE_REFUSED;
	} else {
		struct request_notify rn;
		memset(&rn, 0, sizeof(rn));
		memcpy(rn.apex, e->apex, e->apex_len);
		snprintf(rn.from, sizeof(rn.from), "%s", peer);
		/* A full pipe drops the NOTIFY: the primary retries. */
		if (write(env->notify_fd, &rn, sizeof(rn)) != sizeof(rn))
			log_warning(env->log, "zone %s: NOTIFY from %s dropped: %s",
				    zname, peer, strerror(errno));
	}
	size_t len = 0;
	if (notify_answer(&n, out, cap, &len, rcode, ctx, (uint64_t)time(NULL)) != 0)
		return 0;
	return len;
}

/* The client's serial from the IXFR query's authority SOA (RFC 1995 §3). */
static int ixfr_client_serial(const uint8_t *q, size_t ql, uint32_t *serial)
{
	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, q, ql);
	if (msg_read_header(&r, &h) != 0 || h.count[0] != 1)
		return ERR_MALFORMED;
	struct msg_question qq;
	if (msg_read_question(&r, &qq) != 0)
		return ERR_MALFORMED;
	for (unsigned i = 0; i < h.count[1]; i++)
		if (msg_skip_rr(&r) != 0)
			return ERR_MALFORMED;
	static __thread uint8_t rdata[MSG_RDATA_MAX];
	for (unsigned i = 0; i < h.count[2]; i++) {
		struct msg_rr rr;
		if (msg_read_rr(&r, &rr, rdata, sizeof(rdata)) != 0)
			return ERR_MALFORMED;
		if (rr.type == RRTYPE_SOA && dname_equal(rr.owner, qq.name)) {
			*serial = rdata_soa_field(rdata, SOA_SERIAL);
			return 0;
		}
	}
	return ERR_NOTFOUND;
}

/* Reads the journal's differences from `from` up to `to`; NULL when the
 * journal does not cover them (the caller sends the whole zone). */
static struct zone_diff *journal_chain(const char *path, uint32_t from,
				       uint32_t to, size_t *n)
{
	struct journal *j;
	if (path == NULL || journal_open_readonly(path, &j) != 0)
		return NULL;
	size_t start;
	struct zone_diff *diffs = NULL;
	if (journal_find(j, from, &start) != 0 ||
	    j->entries[j->count - 1].to != to)
		goto out;
	*n = j->count - start;
	diffs = calloc(*n, sizeof(*diffs));
	for (size_t i = 0; diffs && i < *n; i++) {
		if (journal_read(j, start + i, &diffs[i]) != 0) {
			for (size_t k = 0; k < i; k++)
				zone_diff_free(&diffs[k]);
			free(diffs);
			diffs = NULL;
		}
	}
out:
	journal_close(j);
	return diffs;
}

static size_t handle_xfr(const struct request_env *env,
			 enum answer_transport transport,
			 const struct sockaddr *from, const uint8_t *q, size_t ql,
			 const struct msg_question *qq, const struct tsig_key *key,
			 struct tsig_ctx *ctx, uint8_t *out, size_t cap,
			 struct request_xfr **xfr)
{
	size_t reserve = key ? tsig_space(key) : 0;
	char peer[64], zname[DNAME_STRLEN];
	peer_text(from, peer, sizeof(peer));
	dname_to_str(zname, sizeof(zname), qq->name);
	const char *kind = qq->type == RRTYPE_AXFR ? "AXFR" : "IXFR";
	struct zonedb_entry *e;
	const struct server_zone *sz = zone_of(env, qq->name, &e);
	if (sz == NULL)
		return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_NOTAUTH, reserve), cap, 0);
	if (!acl_allows(sz->conf->xfr.allow_transfer, sz->conf->xfr.nallow_transfer,
			from, key)) {
		log_warning(env->log, "zone %s: %s to %s refused (%s)", e->name,
			    kind, peer, key ? "key not allowed" : "unsigned, or no allow-transfer");
		return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_REFUSED, reserve), cap, 0);
	}
	if (qq->type == RRTYPE_AXFR && transport == ANSWER_UDP)
		return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_NOTIMP, reserve), cap, 0);
	struct zone_version *v = rcu_dereference(e->version);
	if (v == NULL)
		return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_SERVFAIL, reserve), cap, 0);

	struct request_xfr *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_SERVFAIL, reserve), cap, 0);
	snprintf(x->zone, sizeof(x->zone), "%s", e->name);
	snprintf(x->peer, sizeof(x->peer), "%s", peer);
	uint16_t id = (uint16_t)(q[0] << 8 | q[1]);
	uint16_t qflags = (uint16_t)(q[2] << 8 | q[3]);
	int r = 0;
	if (qq->type == RRTYPE_IXFR) {
		uint32_t serial;
		if (ixfr_client_serial(q, ql, &serial) != 0) {
			free(x);
			return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_FORMERR, reserve), cap, 0);
		}
		size_t n = 0;
		struct zone_diff *diffs = NULL;
		if (serial_cmp(serial, v->serial) < 0)
			diffs = journal_chain(sz->conf->xfr.journal, serial, v->serial, &n);
		if (serial_cmp(serial, v->serial) >= 0) {
			r = xfrout_ixfr_init(&x->out, v, id, qflags, qq->name, NULL, 0);
			kind = "IXFR (up to date)";
		} else if (diffs != NULL) {
			r = xfrout_ixfr_init(&x->out, v, id, qflags, qq->name, diffs, n);
		} else {
			/* RFC 1995 §4: not in the journal: the whole zone. */
			r = xfrout_axfr_init(&x->out, v, id, qflags, qq->name, RRTYPE_IXFR);
			kind = "IXFR (AXFR-style)";
		}
	} else {
		r = xfrout_axfr_init(&x->out, v, id, qflags, qq->name, RRTYPE_AXFR);
	}
	if (r != 0) {
		free(x);
		return sign(ctx, out, simple_response(q, ql, out, cap, RCODE_SERVFAIL, reserve), cap, 0);
	}
	if (ctx != NULL) {
		x->tsig = *ctx; /* the transfer takes over the context */
		x->key = *ctx->key;
		x->tsig.key = &x->key;
		x->signed_ = true;
		ctx->mac = NULL;
	}
	x->started = (uint64_t)time(NULL);
	log_info(env->log, "zone %s: %s to %s%s started, serial %u", e->name, kind,
		 peer, x->signed_ ? " (signed)" : "", v->serial);
	if (transport == ANSWER_TCP) {
		*xfr = x;
		return 0;
	}
	/* IXFR over UDP: the answer if it fits in one message, else the
	 * SOA alone, which sends the client to TCP (RFC 1995 §2). */
	uint8_t request_mac[TSIG_MAX_MAC];
	size_t request_mac_len = x->signed_ ? x->tsig.prior_len : 0;
	memcpy(request_mac, x->tsig.prior_mac, request_mac_len);
	size_t len = 0;
	r = xfrout_next(&x->out, out, MSG_UDPLEN, &len, x->signed_ ? &x->tsig : NULL,
			(uint64_t)time(NULL));
	if (r != 0) {
		xfrout_free(&x->out);
		r = xfrout_ixfr_init(&x->out, v, id, qflags, qq->name, NULL, 0);
		if (x->signed_) {
			/* The first try was signed: sign again over the
			 * request's MAC. */
			const struct tsig_key *k = x->tsig.key;
			tsig_ctx_free(&x->tsig);
			if (tsig_ctx_init(&x->tsig, k, request_mac, request_mac_len) != 0)
				r = ERR_NOMEM;
		}
		len = 0;
		if (r == 0)
			r = xfrout_next(&x->out, out, MSG_UDPLEN, &len,
					x->signed_ ? &x->tsig : NULL, (uint64_t)time(NULL));
		if (r != 0)
			len = 0;
	}
	request_xfr_free(env, x, true);
	return len;
}

/* Whether a message is a plain query, which needs no TSIG, transfer or
 * NOTIFY handling: opcode QUERY, one question of a type other than AXFR
 * and IXFR, nothing in the answer and authority sections and at most one
 * additional record, an OPT (owner the root). Reads the few octets that
 * tell; anything else takes the long way. Most queries are plain. */
static bool plain_query(const uint8_t *q, size_t ql)
{
	if (msg_flags_opcode((uint16_t)(q[2] << 8 | q[3])) != OPCODE_QUERY ||
	    q[4] != 0 || q[5] != 1 || q[6] != 0 || q[7] != 0 || q[8] != 0 ||
	    q[9] != 0 || q[10] != 0 || q[11] > 1)
		return false;
	size_t pos = MSG_HDRLEN;
	while (pos < ql && q[pos] != 0) {
		if (q[pos] & 0xC0)
			return false;
		pos += q[pos] + 1u;
	}
	if (pos + 5 > ql)
		return false;
	uint16_t qtype = (uint16_t)(q[pos + 1] << 8 | q[pos + 2]);
	if (qtype == RRTYPE_AXFR || qtype == RRTYPE_IXFR)
		return false;
	pos += 5;
	if (q[11] == 0)
		return true;
	return pos + 3 <= ql && q[pos] == 0 &&
	       (uint16_t)(q[pos + 1] << 8 | q[pos + 2]) == RRTYPE_OPT;
}

size_t request_handle(const struct request_env *env,
		      struct answer_scratch *scratch,
		      enum answer_transport transport,
		      const struct sockaddr *from, const uint8_t *query,
		      size_t qlen, uint8_t *out, size_t outcap,
		      struct request_xfr **xfr)
{
	*xfr = NULL;
	scratch->qtype = -1;
	if (qlen < MSG_HDRLEN || (query[2] & 0x80) || plain_query(query, qlen))
		return answer_query_reserve(env->answer, scratch, transport, from,
					    query, qlen, out, outcap, 0);
	struct tsig_rr trr;
	int tr = tsig_find(query, qlen, &trr);
	if (tr == ERR_MALFORMED)
		return simple_response(query, qlen, out, outcap, RCODE_FORMERR, 0);
	const struct tsig_key *key = NULL;
	struct tsig_ctx ctx_store, *ctx = NULL;
	const uint8_t *q = query;
	size_t ql = qlen;
	if (tr == 0) {
		char peer[64];
		peer_text(from, peer, sizeof(peer));
		key = conf_find_key(rcu_dereference(env->conf), trr.key_name);
		int v = ERR_BADKEY;
		if (key != NULL && tsig_ctx_init(&ctx_store, key, NULL, 0) == 0) {
			ctx = &ctx_store;
			v = tsig_verify(ctx, query, qlen, &trr, (uint64_t)time(NULL));
		}
		if (v != 0) {
			/* RFC 8945 §5.2: NOTAUTH; BADKEY and BADSIG unsigned,
			 * BADTIME signed with our time. */
			char kname[DNAME_STRLEN];
			dname_to_str(kname, sizeof(kname), trr.key_name);
			uint16_t error = v == ERR_BADTIME ? RCODE_BADTIME
					 : v == ERR_BADSIG ? RCODE_BADSIG
							   : RCODE_BADKEY;
			memcpy(stripped, query, trr.offset);
			uint16_t ar = (uint16_t)((stripped[10] << 8 | stripped[11]) - 1);
			stripped[10] = (uint8_t)(ar >> 8);
			stripped[11] = (uint8_t)ar;
			/* Name the zone (the question) and the peer. */
			char qname[DNAME_STRLEN] = "?", tname[16] = "?";
			struct msg_reader qr;
			struct msg_header qh;
			struct msg_question qq;
			msg_reader_init(&qr, stripped, trr.offset);
			if (msg_read_header(&qr, &qh) == 0 && qh.count[0] == 1 &&
			    msg_read_question(&qr, &qq) == 0) {
				dname_to_str(qname, sizeof(qname), qq.name);
				rrtype_to_str(qq.type, tname);
				scratch->qtype = qq.type;
			}
			log_warning(env->log, "%s %s from %s refused: TSIG key %s: %s",
				    qname, tname, peer, kname, error_str(v));
			size_t len = simple_response(stripped, trr.offset, out, outcap,
						     RCODE_NOTAUTH, 0);
			if (v == ERR_BADTIME && len > 0)
				len = sign(ctx, out, len, outcap, RCODE_BADTIME);
			else if (len > 0 && tsig_append_unsigned(out, &len, outcap,
								 &trr, error) != 0)
				len = 0;
			if (ctx)
				tsig_ctx_free(ctx);
			return len;
		}
		memcpy(stripped, query, trr.offset);
		uint16_t arcount = (uint16_t)(stripped[10] << 8 | stripped[11]) - 1;
		stripped[10] = (uint8_t)(arcount >> 8);
		stripped[11] = (uint8_t)arcount;
		q = stripped;
		ql = trr.offset;
	}

	size_t len = 0;
	unsigned opcode = msg_flags_opcode((uint16_t)(q[2] << 8 | q[3]));
	struct msg_reader r;
	struct msg_header h;
	struct msg_question qq;
	msg_reader_init(&r, q, ql);
	bool have_q = msg_read_header(&r, &h) == 0 && h.count[0] == 1 &&
		      msg_read_question(&r, &qq) == 0;
	if (have_q)
		scratch->qtype = qq.type;
	if (opcode == OPCODE_NOTIFY) {
		len = handle_notify(env, from, q, ql, key, ctx, out, outcap);
	} else if (opcode == OPCODE_QUERY && have_q &&
		   (qq.type == RRTYPE_AXFR || qq.type == RRTYPE_IXFR) &&
		   qq.rrclass == RRCLASS_IN) {
		len = handle_xfr(env, transport, from, q, ql, &qq, key, ctx, out,
				 outcap, xfr);
	} else {
		len = answer_query_reserve(env->answer, scratch, transport, from,
					   q, ql, out, outcap,
					   key ? tsig_space(key) : 0);
		len = sign(ctx, out, len, outcap, 0);
	}
	if (ctx != NULL)
		tsig_ctx_free(ctx);
	return len;
}

int request_xfr_next(struct request_xfr *x, uint8_t *out, size_t *len)
{
	return xfrout_next(&x->out, out, XFROUT_MESSAGE_SIZE, len,
			   x->signed_ ? &x->tsig : NULL, (uint64_t)time(NULL));
}

void request_xfr_free(const struct request_env *env, struct request_xfr *x,
		      bool completed)
{
	if (x == NULL)
		return;
	uint64_t took = (uint64_t)time(NULL) - x->started;
	if (completed)
		log_info(env->log, "zone %s: transfer to %s done: %zu messages, "
			 "%zu RRs, %llu s", x->zone, x->peer, x->out.messages,
			 x->out.rrs, (unsigned long long)took);
	else
		log_warning(env->log, "zone %s: transfer to %s abandoned after "
			    "%zu messages", x->zone, x->peer, x->out.messages);
	xfrout_free(&x->out);
	if (x->signed_)
		tsig_ctx_free(&x->tsig);
	sodium_memzero(&x->key, sizeof(x->key));
	free(x);
}

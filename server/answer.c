/*
 * answer.c -- answering one DNS query from the zones served.
 *
 * The shape is Knot's: parse and check the query, then a small state
 * machine resolves the name inside one zone (solve_name, one step per CNAME
 * or DNAME link), then the authority and additional sections are filled.
 * Where NSD and Knot differ, tests/system/test_differential.py records the
 * choice and its reason; the comments below name the RFC sections.
 */
#include "server/answer.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/rrtype.h"
#include "server/addr.h"

/* RRsets whose targets get additional-section processing. */
#define ANSWER_MAX_ADDITIONAL 8
/* Target nodes remembered so that their addresses are added once. */
#define ANSWER_MAX_TARGETS 64
/* NSEC and NSEC3 owners remembered so that each proof goes in once: at
 * most three per negative answer and one per wildcard link of a chain. */
#define ANSWER_MAX_PROOFS (ANSWER_MAX_CHAIN + 4)

/* An OPT RR without options: root owner, type, class, TTL, rdlength. */
#define OPT_FIXED_SIZE 11
/* One EDNS option header: code and length. */
#define OPT_OPTION_HEADER 4
/* A COOKIE option in a response: client cookie and a server cookie. */
#define COOKIE_OPTION_MAX (OPT_OPTION_HEADER + COOKIE_CLIENT_LEN + \
			   COOKIE_SERVER_MAX)
/* An Extended DNS Error option without text (RFC 8914 §2). */
#define EDE_OPTION_SIZE	      (OPT_OPTION_HEADER + 2)
#define EDE_NOT_AUTHORITATIVE 20

struct additional_source {
	const struct zone_rrset *set;
	const uint8_t *cut; /* referral: the delegation point, whose NS
			       RRset this is (glue is wanted), else NULL */
};

struct answer {
	/* Cleared for each query (up to `w`). */
	const struct answer_conf *conf;
	struct answer_scratch *scratch;
	enum answer_transport transport;
	bool have_edns;
	bool nsid_asked;
	size_t limit;	/* the response's size limit */
	uint16_t flags; /* response flags, rcode excluded */
	unsigned rcode;
	int ede; /* RFC 8914 info code to send, or -1 */
	bool truncated;
	const struct sockaddr *from; /* the client, for cookies; or NULL */
	int cookie; /* the query's COOKIE option: a cookie_kind + 1, or 0 */
	bool cookie_out; /* a COOKIE option goes into the response */
	bool cookie_valid; /* the client sent a valid server cookie */
	const uint8_t *cut; /* a referral's delegation point */
	const struct zone_version *zone;
	bool dnssec; /* DO set and the zone signed: RRSIGs and proofs */
	int nproofs;
	int nvisited;
	int nsynth; /* DNAME results in scratch->synth */
	int nadditional;

	/* Not cleared (several KB): each is written before it is read, or
	 * read only below its count. */
	struct msg_writer w;
	struct msg_mark after_question;
	struct msg_header qh;
	struct msg_question q;
	struct msg_edns edns; /* when have_edns; options live in scratch */
	uint8_t cookie_client[COOKIE_CLIENT_LEN];
	uint8_t cookie_server[COOKIE_SERVER_MAX]; /* the one to send */
	size_t cookie_server_len;
	struct zone_lookup lk; /* the last lookup of the chain */
	const struct zone_node *proofs[ANSWER_MAX_PROOFS];
	const uint8_t *visited[ANSWER_MAX_CHAIN + 1]; /* names looked up */
	struct additional_source additional[ANSWER_MAX_ADDITIONAL];
};

/* ---- writing ---------------------------------------------------------- */

/* Truncates the response. RFC 2181 §9 forbids sending part of an RRset;
 * NSD and Knot then send no records at all, only the question (and OPT),
 * and so do we: the client retries over TCP with nothing to misread. */
static void set_truncated(struct answer *a)
{
	msg_writer_rollback(&a->w, &a->after_question);
	a->flags |= MSG_FLAG_TC;
	a->truncated = true;
}

/* Writes every RR of `set` under `owner`, or nothing. Returns 0 or
 * ERR_SPACE. */
static int put_rrset(struct answer *a, enum msg_section section,
		     const uint8_t *owner, const struct zone_rrset *set,
		     uint32_t ttl)
{
	struct msg_mark mark;
	msg_writer_mark(&a->w, &mark);
	size_t pos = 0;
	uint16_t len;
	const uint8_t *rdata;
	while ((rdata = zone_rrset_next(set, &pos, &len)) != NULL) {
		int ret = msg_write_rr(&a->w, section, owner, set->type,
				       RRCLASS_IN, ttl, rdata, len);
		if (ret < 0) {
			msg_writer_rollback(&a->w, &mark);
			return ERR_SPACE;
		}
	}
	return 0;
}

/* Writes an RRset into the answer or authority section, where it is
 * required: when it does not fit the response is truncated. Returns
 * false then. */
static bool put_required(struct answer *a, enum msg_section section,
			 const uint8_t *owner, const struct zone_rrset *set,
			 uint32_t ttl)
{
	if (put_rrset(a, section, owner, set, ttl) == 0)
		return true;
	set_truncated(a);
	return false;
}

/* Writes an RRset and, when DNSSEC is on, the RRSIGs covering it at
 * `node`: both, or the response is truncated (RFC 4035 §3.1.1: an RRset
 * goes into the answer or authority section with its signatures). Returns
 * false when truncated. */
static bool put_signed(struct answer *a, enum msg_section section,
		       const uint8_t *owner, const struct zone_node *node,
		       const struct zone_rrset *set, uint32_t ttl)
{
	if (!put_required(a, section, owner, set, ttl))
		return false;
	if (!a->dnssec || set->type == RRTYPE_RRSIG)
		return true;
	const struct zone_rrset *sig = zone_node_rrsig(node, set->type);
	return sig == NULL || put_required(a, section, owner, sig, sig->ttl);
}

/* Remembers an RRset for additional-section processing (RFC 1034 §3.7:
 * A and AAAA of the names in NS, MX, SRV; RFC 9460 §4.2 for SVCB and
 * HTTPS, as Knot does). */
static void want_additional(struct answer *a, const struct zone_rrset *set,
			    const uint8_t *cut)
{
	switch (set->type) {
	case RRTYPE_NS:
	case RRTYPE_MX:
	case RRTYPE_SRV:
	case RRTYPE_SVCB:
	case RRTYPE_HTTPS:
		break;
	default:
		return;
	}
	if (a->nadditional < ANSWER_MAX_ADDITIONAL) {
		struct additional_source *s = &a->additional[a->nadditional++];
		s->set = set;
		s->cut = cut;
	}
}

/* The negative-caching SOA (RFC 2308 §3): the apex SOA with TTL =
 * min(SOA TTL, SOA MINIMUM), in the authority section. */
static void put_negative_soa(struct answer *a)
{
	const struct zone_version *v = a->zone;
	const struct zone_rrset *soa = zone_node_rrset(v->apex, RRTYPE_SOA);
	if (soa == NULL)
		return; /* a loaded zone always has one */
	uint32_t ttl = v->negative_ttl;
	/* Right after the question (most negative answers) the version's
	 * image of it, the same octets; after a CNAME chain it is written
	 * as it goes. */
	int rc = msg_write_image(&a->w, MSG_AUTHORITY, &v->negative_soa);
	if (rc == ERR_SPACE) {
		set_truncated(a);
		return;
	}
	if (rc != 0 &&
	    !put_required(a, MSG_AUTHORITY, v->apex->owner, soa, ttl))
		return;
	if (!a->dnssec)
		return;
	/* Its RRSIGs with the same TTL, as Knot sends them: they are cached
	 * as long as the SOA (RFC 4035 §2.2 wants the TTLs equal). */
	const struct zone_rrset *sig = zone_node_rrsig(v->apex, RRTYPE_SOA);
	if (sig != NULL)
		put_required(a, MSG_AUTHORITY, v->apex->owner, sig, ttl);
}

/* ---- denial of existence (RFC 4035 §3.1.3, RFC 5155 §7.2) -------------- */

/* Records the NSEC or NSEC3 RRset of `node` as a proof for the
 * authority section, once per response; put_proofs() writes them after
 * the answer section is complete. */
static void put_proof(struct answer *a, const struct zone_node *node)
{
	if (node == NULL)
		return;
	for (int i = 0; i < a->nproofs; i++)
		if (a->proofs[i] == node)
			return;
	if (a->nproofs < ANSWER_MAX_PROOFS)
		a->proofs[a->nproofs++] = node;
}

/* Writes the recorded proofs with their RRSIGs (RFC 4035 §3.1.3). */
static void put_proofs(struct answer *a)
{
	uint16_t type = a->zone->denial == ZONE_DENIAL_NSEC3 ? RRTYPE_NSEC3
							     : RRTYPE_NSEC;
	for (int i = 0; i < a->nproofs && !a->truncated; i++) {
		const struct zone_node *node = a->proofs[i];
		const struct zone_rrset *set = zone_node_rrset(node, type);
		if (set != NULL)
			put_signed(a, MSG_AUTHORITY, node->owner, node, set,
				   set->ttl);
	}
}

/* The NSEC3 matching `name`, or NULL. */
static const struct zone_node *nsec3_match(const struct answer *a,
					   const uint8_t *name)
{
	bool exact;
	const struct zone_node *n = zone_nsec3_find(a->zone, name, &exact);
	return exact ? n : NULL;
}

/* The NSEC3 covering `name` (or matching it, which a proof never asks
 * for when the zone is consistent). */
static const struct zone_node *nsec3_cover(const struct answer *a,
					   const uint8_t *name)
{
	bool exact;
	return zone_nsec3_find(a->zone, name, &exact);
}

/* The closest (provable) encloser proof of RFC 5155 §7.2.1 for `name`,
 * starting at the ancestor `from`: the NSEC3 matching the closest
 * ancestor that has one (going up past names left out of an opt-out
 * chain), and the NSEC3 covering the next closer name. Returns the
 * encloser's label count. */
static int put_encloser_proof(struct answer *a, const uint8_t *name,
			      const uint8_t *from)
{
	int labels = dname_labels(name);
	int ce = dname_labels(from);
	const struct zone_node *match = NULL;
	for (; ce >= a->zone->apex_labels; ce--) {
		match = nsec3_match(a, dname_strip(name, labels - ce));
		if (match != NULL)
			break;
	}
	if (match == NULL)
		return a->zone->apex_labels; /* broken chain: nothing proves */
	put_proof(a, match);
	if (ce < labels)
		put_proof(a, nsec3_cover(a, dname_strip(name, labels - ce - 1)));
	return ce;
}

/* "*." followed by the `labels` last labels of name. */
static const uint8_t *wildcard_at(uint8_t out[DNAME_MAXLEN],
				  const uint8_t *name, int labels)
{
	int n = dname_labels(name);
	if (dname_wildcard_of(out, dname_strip(name, n - labels)) < 0)
		return NULL;
	return out;
}

/* NXDOMAIN: no such name, no wildcard to expand (RFC 4035 §3.1.3.2, RFC
 * 5155 §7.2.2). */
static void put_nxdomain_proof(struct answer *a, const uint8_t *sname)
{
	const struct zone_lookup *lk = &a->lk;
	uint8_t wild[DNAME_MAXLEN];
	if (a->zone->denial == ZONE_DENIAL_NSEC) {
		put_proof(a, zone_nsec_before(a->zone, lk->previous));
		if (wildcard_at(wild, lk->encloser->owner,
				dname_labels(lk->encloser->owner)))
			put_proof(a, zone_nsec_find(a->zone, wild));
	} else if (a->zone->denial == ZONE_DENIAL_NSEC3) {
		int ce = put_encloser_proof(a, sname, lk->encloser->owner);
		if (wildcard_at(wild, sname, ce))
			put_proof(a, nsec3_cover(a, wild));
	}
}

/* NODATA for `sname`: the name exists (or a wildcard covers it, or it is
 * a delegation asked for DS), the type does not (RFC 4035 §3.1.3.1,
 * §3.1.3.4, §3.1.4.1; RFC 5155 §7.2.3-7.2.5). */
static void put_nodata_proof(struct answer *a, const uint8_t *sname)
{
	const struct zone_lookup *lk = &a->lk;
	const struct zone_version *v = a->zone;
	bool wildcard = lk->kind == ZONE_WILDCARD;
	if (v->denial == ZONE_DENIAL_NSEC) {
		if (wildcard || zone_node_rrset(lk->node, RRTYPE_NSEC) == NULL)
			/* The NSEC covering the name: no exact match, or
			 * an empty non-terminal between two owners. */
			put_proof(a, zone_nsec_before(v, lk->previous));
		if (wildcard || zone_node_rrset(lk->node, RRTYPE_NSEC))
			put_proof(a, lk->node);
		return;
	}
	if (v->denial != ZONE_DENIAL_NSEC3)
		return;
	if (wildcard) {
		int ce = put_encloser_proof(a, sname, lk->encloser->owner);
		uint8_t wild[DNAME_MAXLEN];
		if (wildcard_at(wild, sname, ce))
			put_proof(a, nsec3_match(a, wild));
		return;
	}
	const struct zone_node *match = nsec3_match(a, sname);
	if (match != NULL)
		put_proof(a, match);
	else /* Left out of an opt-out chain (§7.2.4, erratum 3441). */
		put_encloser_proof(a, sname, sname);
}

/* A wildcard answer proves that the name itself does not exist (RFC 4035
 * §3.1.3.3, RFC 5155 §7.2.6): the NSEC covering it, or the NSEC3
 * covering the next closer name. */
static void put_wildcard_proof(struct answer *a, const uint8_t *sname)
{
	const struct zone_lookup *lk = &a->lk;
	if (a->zone->denial == ZONE_DENIAL_NSEC) {
		/* Also when the answer is the wildcard's own NSEC, asked
		 * for by type (NSD does; Knot leaves it out): it is the
		 * authority section that carries the proof. */
		put_proof(a, zone_nsec_before(a->zone, lk->previous));
	} else if (a->zone->denial == ZONE_DENIAL_NSEC3) {
		int labels = dname_labels(sname);
		int ce = dname_labels(lk->encloser->owner);
		put_proof(a, nsec3_cover(a, dname_strip(sname,
							labels - ce - 1)));
	}
}

/* A referral to a signed child carries the DS RRset, to an unsigned one
 * the proof that there is none (RFC 4035 §3.1.4; RFC 5155 §7.2.7). */
static void put_referral_ds(struct answer *a, const struct zone_node *cut)
{
	const struct zone_rrset *ds = zone_node_rrset(cut, RRTYPE_DS);
	if (ds != NULL) {
		put_signed(a, MSG_AUTHORITY, cut->owner, cut, ds, ds->ttl);
		return;
	}
	if (a->zone->denial == ZONE_DENIAL_NSEC) {
		put_proof(a, cut);
	} else if (a->zone->denial == ZONE_DENIAL_NSEC3) {
		const struct zone_node *match = nsec3_match(a, cut->owner);
		if (match != NULL)
			put_proof(a, match);
		else
			put_encloser_proof(a, cut->owner, cut->owner);
	}
}

/* ---- resolving a name inside the zone ---------------------------------- */

enum step {
	STEP_DONE,   /* answer complete (or truncated) */
	STEP_FOLLOW, /* restart with *next (CNAME or DNAME target) */
	STEP_NODATA, /* the name exists, the type does not */
	STEP_NXDOMAIN,
	STEP_REFERRAL, /* node is a zone cut to refer to */
};

/* The rdata of the first RR of a set (CNAME and DNAME sets hold one). */
static const uint8_t *first_rdata(const struct zone_rrset *set)
{
	size_t pos = 0;
	uint16_t len;
	return zone_rrset_next(set, &pos, &len);
}

/* Answers qtype RRSIG. Like ANY (RFC 8482 §4.1), and as Knot does, with
 * one RRset: the signatures of the lowest type at the node (RRSIGs are
 * stored by covered type, in order). */
static enum step answer_rrsigs(struct answer *a, const struct zone_node *node,
			       const uint8_t *sname)
{
	const struct zone_rrset *sig = zone_node_rrset(node, RRTYPE_RRSIG);
	if (sig == NULL)
		return STEP_NODATA;
	put_required(a, MSG_ANSWER, sname, sig, sig->ttl);
	return STEP_DONE;
}

/* The RRset answering ANY: RFC 8482 §4.1 lets one RRset be enough. Like
 * Knot, the one with the lowest type (RRsets are sorted by type), but
 * never RRSIG or NSEC, which come with the data when DO is set (Knot
 * would answer a name holding only TLSA with its signatures alone; NSD
 * answers the TLSA). */
static const struct zone_rrset *any_rrset(const struct zone_node *node)
{
	for (uint16_t i = 0; i < node->nrrsets; i++) {
		uint16_t type = node->rrsets[i].type;
		if (type != RRTYPE_RRSIG && type != RRTYPE_NSEC)
			return &node->rrsets[i];
	}
	return node->nrrsets > 0 ? &node->rrsets[0] : NULL;
}

/* Answers from an existing node (exact match, or the wildcard that
 * synthesizes `sname`, RFC 4592 §3.3.1): owner in the answer is `sname`,
 * with the query's case. */
static enum step answer_node(struct answer *a, const struct zone_node *node,
			     const uint8_t *sname, const uint8_t **next)
{
	uint16_t qtype = a->q.type;
	bool wildcard = a->lk.kind == ZONE_WILDCARD;

	/* RFC 1034 §4.3.2 step 3a: a CNAME is followed unless it is what was
	 * asked; RRSIG and NSEC may live beside a CNAME (RFC 2181 §10.1.1,
	 * RFC 4035 §2.5), so they are looked for at the owner itself. ANY
	 * gets one RRset of the node (below), here the CNAME. */
	const struct zone_rrset *cname = zone_node_rrset(node, RRTYPE_CNAME);
	if (cname != NULL && qtype != RRTYPE_CNAME && qtype != RRTYPE_ANY &&
	    qtype != RRTYPE_RRSIG && qtype != RRTYPE_NSEC) {
		if (!put_signed(a, MSG_ANSWER, sname, node, cname, cname->ttl))
			return STEP_DONE;
		if (wildcard && a->dnssec)
			put_wildcard_proof(a, sname);
		*next = first_rdata(cname);
		return STEP_FOLLOW;
	}

	if (qtype == RRTYPE_RRSIG) {
		enum step st = answer_rrsigs(a, node, sname);
		if (st == STEP_DONE && wildcard && a->dnssec)
			put_wildcard_proof(a, sname);
		return st;
	}
	const struct zone_rrset *set = NULL;
	if (qtype == RRTYPE_ANY)
		set = any_rrset(node);
	else
		set = zone_node_rrset(node, qtype);
	if (set == NULL)
		return STEP_NODATA;
	if (!put_signed(a, MSG_ANSWER, sname, node, set, set->ttl))
		return STEP_DONE;
	if (wildcard && a->dnssec)
		put_wildcard_proof(a, sname);
	want_additional(a, set, NULL);
	return STEP_DONE;
}

/* DNAME substitution (RFC 6672 §3.2): the DNAME RRset, then a CNAME from
 * `sname` to the rewritten name with the DNAME's TTL, then follow it. */
static enum step answer_dname(struct answer *a, const struct zone_node *node,
			      const uint8_t *sname, const uint8_t **next)
{
	const struct zone_rrset *dname = zone_node_rrset(node, RRTYPE_DNAME);
	if (dname == NULL)
		return STEP_NXDOMAIN; /* zone_lookup promised one */
	if (!put_signed(a, MSG_ANSWER, node->owner, node, dname, dname->ttl))
		return STEP_DONE;

	/* The labels taken from sname are lowercased, as NSD and Knot
	 * write them (the owner keeps the query's case). */
	uint8_t lower[DNAME_MAXLEN];
	dname_copy_lower(lower, sname);
	uint8_t *target = a->scratch->synth[a->nsynth];
	int len = dname_replace_suffix(target, lower, node->owner,
				       first_rdata(dname));
	if (len < 0) {
		/* RFC 6672 §2.2: the result would exceed 255 octets. */
		a->rcode = RCODE_YXDOMAIN;
		return STEP_DONE;
	}
	int ret = msg_write_rr(&a->w, MSG_ANSWER, sname, RRTYPE_CNAME,
			       RRCLASS_IN, dname->ttl, target, (size_t)len);
	if (ret < 0) {
		set_truncated(a);
		return STEP_DONE;
	}
	a->nsynth++;
	/* The synthesized CNAME is the answer to a CNAME query (as NSD and
	 * Knot do: nothing more is looked up). */
	if (a->q.type == RRTYPE_CNAME)
		return STEP_DONE;
	*next = target;
	return STEP_FOLLOW;
}

/* One step of RFC 1034 §4.3.2 step 3 for `sname` in the zone. */
static enum step solve_name(struct answer *a, const uint8_t *sname,
			    const uint8_t **next, const struct zone_node **cut)
{
	struct zone_lookup *lk = &a->lk;
	/* find_zone() made the key of the query name already. */
	if (sname != a->q.name)
		zone_key_init(&a->scratch->key, sname);
	zone_lookup_key(a->zone, &a->scratch->key, lk);
	switch (lk->kind) {
	case ZONE_FOUND:
	case ZONE_WILDCARD:
		return answer_node(a, lk->node, sname, next);
	case ZONE_DELEGATION:
		/* RFC 4035 §3.1.4.1: DS lives on the parent side of the cut
		 * and is answered authoritatively from here. */
		if (a->q.type == RRTYPE_DS &&
		    dname_equal(sname, lk->node->owner)) {
			const struct zone_rrset *ds =
			    zone_node_rrset(lk->node, RRTYPE_DS);
			if (ds == NULL)
				return STEP_NODATA;
			put_signed(a, MSG_ANSWER, sname, lk->node, ds, ds->ttl);
			return STEP_DONE;
		}
		*cut = lk->node;
		return STEP_REFERRAL;
	case ZONE_DNAME:
		return answer_dname(a, lk->node, sname, next);
	case ZONE_NXDOMAIN:
	default:
		return STEP_NXDOMAIN;
	}
}

static bool visited(const struct answer *a, const uint8_t *name)
{
	for (int i = 0; i < a->nvisited; i++)
		if (dname_equal(a->visited[i], name))
			return true;
	return false;
}

/* A referral (RFC 1034 §4.3.2 step 3b): the cut's NS RRset in the
 * authority section, its addresses (glue) in the additional section. */
static void put_referral(struct answer *a, const struct zone_node *cut)
{
	const struct zone_rrset *ns = zone_node_rrset(cut, RRTYPE_NS);
	if (ns == NULL)
		return;
	/* The NS RRset of a cut is not signed (RFC 4035 §2.2). */
	if (!put_required(a, MSG_AUTHORITY, cut->owner, ns, ns->ttl))
		return;
	if (a->dnssec)
		put_referral_ds(a, cut);
	want_additional(a, ns, cut->owner);
}

/* Resolves the query name in a->zone, following CNAME and DNAME links
 * while they stay in the zone. */
static void answer_from_zone(struct answer *a)
{
	const uint8_t *sname = a->q.name;
	const uint8_t *apex = a->zone->apex_name;
	bool authoritative = true;

	for (int step = 0;; step++) {
		const uint8_t *next = NULL;
		const struct zone_node *cut = NULL;
		a->visited[a->nvisited++] = sname;
		enum step st = solve_name(a, sname, &next, &cut);
		switch (st) {
		case STEP_FOLLOW:
			/* Stop where the chain leaves the zone (like Knot:
			 * the resolver asks the zone of the target itself,
			 * RFC 2181 §5.4.1 would have it discard the rest),
			 * at a loop, or at the bound. No SOA then. */
			if (!dname_is_subdomain(next, apex) ||
			    visited(a, next) || step + 1 > ANSWER_MAX_CHAIN)
				goto done;
			sname = next;
			continue;
		case STEP_REFERRAL:
			/* RFC 1034 §4.3.2: AA only when the first step is
			 * ours; a CNAME into a delegation keeps it. */
			if (step == 0)
				authoritative = false;
			a->cut = cut->owner;
			put_referral(a, cut);
			goto done;
		case STEP_NODATA:
			put_negative_soa(a);
			if (a->dnssec)
				put_nodata_proof(a, sname);
			goto done;
		case STEP_NXDOMAIN:
			/* RFC 6604 §3: the rcode of the last step. */
			a->rcode = RCODE_NXDOMAIN;
			put_negative_soa(a);
			if (a->dnssec)
				put_nxdomain_proof(a, sname);
			goto done;
		case STEP_DONE:
		default:
			goto done;
		}
	}
done:
	put_proofs(a);
	if (authoritative)
		a->flags |= MSG_FLAG_AA;
}

/* ---- additional section ----------------------------------------------- */

/* The target name in rdata that gets additional processing, or NULL. */
static const uint8_t *rdata_target(uint16_t type, const uint8_t *rdata,
				   uint16_t len)
{
	size_t skip;
	switch (type) {
	case RRTYPE_NS:
		skip = 0;
		break;
	case RRTYPE_MX:
		skip = 2;
		break;
	case RRTYPE_SRV:
		skip = 6;
		break;
	case RRTYPE_SVCB:
	case RRTYPE_HTTPS:
		skip = 2;
		break;
	default:
		return NULL;
	}
	if (len <= skip)
		return NULL;
	/* "." names no host: SRV 0 0 0 . (RFC 2782), MX 0 . (RFC 7505).
	 * For SVCB/HTTPS it stands for the owner in ServiceMode (RFC 9460
	 * §2.5.2), whose addresses Knot does not add either. */
	const uint8_t *name = rdata + skip;
	return name[0] == 0 ? NULL : name;
}

static bool target_seen(const uint8_t **done, int ndone, const uint8_t *name)
{
	for (int i = 0; i < ndone; i++)
		if (dname_equal(done[i], name))
			return true;
	return false;
}

/* The node that holds the data of an additional-section target: the name
 * itself (glue included), or the wildcard that synthesizes it (RFC 4592
 * §3.3.1, as NSD and Knot do). */
static const struct zone_node *target_node(const struct answer *a,
					   const uint8_t *target)
{
	const struct zone_node *node = zone_get(a->zone, target);
	if (node != NULL)
		return node;
	struct zone_lookup lk;
	zone_lookup(a->zone, target, &lk);
	return lk.kind == ZONE_WILDCARD ? lk.node : NULL;
}

/* Writes one additional-section RRset, and its RRSIGs when DNSSEC is on
 * and they fit: RFC 4035 §3.1.1 lets the RRset stay without them there
 * (without TC), as Knot keeps it. Returns 0 or ERR_SPACE. */
static int put_additional(struct answer *a, const uint8_t *owner,
			  const struct zone_node *node,
			  const struct zone_rrset *set)
{
	if (put_rrset(a, MSG_ADDITIONAL, owner, set, set->ttl) < 0)
		return ERR_SPACE;
	const struct zone_rrset *sig =
		a->dnssec ? zone_node_rrsig(node, set->type) : NULL;
	if (sig != NULL)
		put_rrset(a, MSG_ADDITIONAL, owner, sig, sig->ttl);
	return 0;
}

/* Adds the A and AAAA RRsets of in-zone targets, and for SVCB and HTTPS
 * the target's own RRset of that type (RFC 9460 §4.1, as Knot does). The
 * additional section is optional (RFC 2181 §9): an RRset that does not fit
 * is left out and the next ones are still tried, as Knot does -- except
 * the glue of a referral for name servers below the cut, without which
 * the delegation cannot be followed: when it does not all fit, TC is set
 * (RFC 9471 §3; Knot does this, NSD does not). */
static void answer_additional(struct answer *a)
{
	const uint8_t *done[ANSWER_MAX_TARGETS];
	int ndone = 0;

	for (int i = 0; i < a->nadditional; i++) {
		const struct additional_source *src = &a->additional[i];
		const uint16_t types[] = {RRTYPE_A, RRTYPE_AAAA,
					  src->set->type};
		size_t ntypes = src->set->type == RRTYPE_SVCB ||
					src->set->type == RRTYPE_HTTPS
				    ? 3
				    : 2;
		size_t pos = 0;
		uint16_t len;
		const uint8_t *rdata;
		while ((rdata = zone_rrset_next(src->set, &pos, &len))) {
			const uint8_t *target =
			    rdata_target(src->set->type, rdata, len);
			if (target == NULL ||
			    !dname_is_subdomain(target, a->zone->apex_name) ||
			    target_seen(done, ndone, target))
				continue;
			const struct zone_node *node = target_node(a, target);
			if (node == NULL)
				continue;
			/* Data below a cut or a DNAME is not ours to give,
			 * except as glue in a referral. */
			if (src->cut == NULL &&
			    (node->flags &
			     (NODE_CUT | NODE_BELOW_CUT | NODE_BELOW_DNAME)))
				continue;
			if (ndone < ANSWER_MAX_TARGETS)
				done[ndone++] = target;
			for (size_t t = 0; t < ntypes; t++) {
				const struct zone_rrset *set =
				    zone_node_rrset(node, types[t]);
				if (set == NULL)
					continue;
				if (put_additional(a, target, node, set) == 0)
					continue;
				if (src->cut != NULL &&
				    dname_is_subdomain(target, src->cut))
					a->flags |= MSG_FLAG_TC;
			}
		}
	}
}

/* ---- CHAOS ------------------------------------------------------------ */

/* Server identification in class CH (the BIND convention, RFC 4892 §2):
 * TXT id.server and hostname.bind give the identity, version.bind and
 * version.server the version; anything else is REFUSED. Not
 * authoritative, TTL 0, as NSD and Knot answer. */
static void answer_chaos(struct answer *a)
{
	static const uint8_t id_server[] = "\2id\6server";
	static const uint8_t hostname_bind[] = "\10hostname\4bind";
	static const uint8_t version_bind[] = "\7version\4bind";
	static const uint8_t version_server[] = "\7version\6server";
	const char *text = NULL;

	if (a->q.type == RRTYPE_TXT) {
		if (dname_equal(a->q.name, id_server) ||
		    dname_equal(a->q.name, hostname_bind))
			text = a->conf->identity;
		else if (dname_equal(a->q.name, version_bind) ||
			 dname_equal(a->q.name, version_server))
			text = a->conf->version;
	}
	if (text == NULL) {
		a->rcode = RCODE_REFUSED;
		return;
	}
	uint8_t rdata[256];
	size_t len = strlen(text);
	if (len > 255)
		len = 255;
	rdata[0] = (uint8_t)len;
	memcpy(rdata + 1, text, len);
	if (msg_write_rr(&a->w, MSG_ANSWER, a->q.name, RRTYPE_TXT, RRCLASS_CH,
			 0, rdata, len + 1) < 0)
		set_truncated(a);
}

/* ---- class IN --------------------------------------------------------- */

/* The zone to answer from: the longest apex match of the query name, but
 * for DS that of its parent first (RFC 4035 §3.1.4.1: DS is the parent's
 * data, so a DS query at the apex of a served child zone goes to the
 * served parent, as Knot does). */
static const struct zonedb_entry *find_zone(const struct answer *a)
{
	const struct zonedb *db = rcu_dereference(a->conf->zonedb);
	if (db == NULL)
		return NULL;
	struct zone_key *k = &a->scratch->key;
	zone_key_init(k, a->q.name);
	if (a->q.type == RRTYPE_DS && k->labels > 0) {
		const struct zonedb_entry *e =
		    zonedb_find_key(db, k, k->labels - 1);
		if (e != NULL)
			return e;
	}
	return zonedb_find_key(db, k, k->labels);
}

static void answer_internet(struct answer *a)
{
	uint16_t qtype = a->q.type;

	/* Zone transfers belong to xfr/ (later); over UDP AXFR is not a
	 * thing (RFC 5936 §4.2), IXFR is refused like a TCP one. */
	if (qtype == RRTYPE_AXFR && a->transport == ANSWER_UDP) {
		a->rcode = RCODE_NOTIMP;
		return;
	}
	if (qtype == RRTYPE_AXFR || qtype == RRTYPE_IXFR) {
		a->rcode = RCODE_REFUSED;
		return;
	}

	const struct zonedb_entry *entry = find_zone(a);
	if (entry == NULL) {
		/* Not ours: RFC 8906 §3.1.3.1 REFUSED (no AA), with the
		 * Extended DNS Error "Not Authoritative" (RFC 8914 §4.21)
		 * that NSD and Knot both attach. */
		a->rcode = RCODE_REFUSED;
		a->ede = EDE_NOT_AUTHORITATIVE;
		return;
	}
	const struct zone_version *v = rcu_dereference(entry->version);
	if (v == NULL) {
		/* Configured but not loaded: not an answer we can give. */
		a->rcode = RCODE_SERVFAIL;
		return;
	}
	a->zone = v;
	a->dnssec = v->dnssec && a->have_edns && a->edns.dnssec_ok;
	answer_from_zone(a);
	if (!a->truncated)
		answer_additional(a);

	/* RFC 6895 §3.2: a QCLASS * answer covers only the classes we
	 * have, so it cannot be authoritative (as NSD answers). */
	if (a->q.rrclass == RRCLASS_ANY)
		a->flags &= (uint16_t)~MSG_FLAG_AA;
}

/* ---- the query -------------------------------------------------------- */

/* Keeps the query's COOKIE option (RFC 7873 §4): the client cookie, and
 * the server cookie it sends back, if any. Two COOKIE options are as
 * malformed as a wrong length. */
static void read_cookie(struct answer *a)
{
	size_t pos = 0;
	uint16_t code, len;
	const uint8_t *data;
	while (msg_edns_next_option(&a->edns, &pos, &code, &data, &len) > 0) {
		if (code != EDNS_OPT_COOKIE)
			continue;
		if (a->cookie != 0) {
			a->cookie = 1 + COOKIE_MALFORMED;
			return;
		}
		a->cookie = 1 + (int)cookie_kind(len);
		if (a->cookie == 1 + COOKIE_MALFORMED)
			return;
		memcpy(a->cookie_client, data, COOKIE_CLIENT_LEN);
		a->cookie_server_len = len - COOKIE_CLIENT_LEN;
		memcpy(a->cookie_server, data + COOKIE_CLIENT_LEN,
		       a->cookie_server_len);
	}
}

/* Decides the COOKIE option of the response (RFC 7873 §5.2.3-5.2.5): the
 * client's server cookie when it is ours and fresh, else a new one.
 * Returns false when the query must get BADCOOKIE (cookie-require, UDP,
 * no valid server cookie: the client retries with the new one). */
static bool settle_cookie(struct answer *a)
{
	const struct answer_conf *conf = a->conf;
	const struct cookie_secrets *cs = rcu_dereference(conf->cookies);
	const uint8_t *addr;
	size_t addr_len;
	if (a->cookie == 0 || cs == NULL || cs->n == 0 || a->from == NULL ||
	    (addr_len = addr_octets(a->from, &addr)) == 0)
		return true;
	uint32_t now = (uint32_t)time(NULL);
	enum cookie_verdict v = COOKIE_INVALID;
	if (a->cookie == 1 + COOKIE_WITH_SERVER)
		v = cookie_check(a->cookie_server, a->cookie_server_len,
				 a->cookie_client,
				 (const uint8_t (*)[COOKIE_SECRET_LEN])cs->secret,
				 cs->n, now, addr, addr_len);
	a->cookie_out = true;
	a->cookie_valid = v != COOKIE_INVALID;
	if (v != COOKIE_VALID) {
		cookie_make(a->cookie_server, a->cookie_client, cs->secret[0],
			    now, addr, addr_len);
		a->cookie_server_len = COOKIE_SERVER_LEN;
	}
	return !(conf->cookie_require && a->transport == ANSWER_UDP &&
		 v == COOKIE_INVALID);
}

/* Reads what follows the question: skips the answer and authority
 * sections and looks for the OPT RR in the additional one. Returns 0 or
 * ERR_MALFORMED (FORMERR). */
static int read_records(struct answer *a, struct msg_reader *r)
{
	for (int s = MSG_ANSWER; s <= MSG_AUTHORITY; s++) {
		for (unsigned i = 0; i < a->qh.count[s]; i++)
			if (msg_skip_rr(r) < 0)
				return ERR_MALFORMED;
	}
	for (unsigned i = 0; i < a->qh.count[MSG_ADDITIONAL]; i++) {
		struct msg_rr rr;
		if (msg_read_rr(r, &rr, a->scratch->rdata,
				sizeof(a->scratch->rdata)) < 0)
			return ERR_MALFORMED;
		if (rr.type != RRTYPE_OPT)
			continue; /* TSIG: later; others are ignored */
		/* RFC 6891 §6.1.1: more than one OPT is a FORMERR. */
		if (a->have_edns) {
			a->have_edns = false;
			return ERR_MALFORMED;
		}
		if (msg_edns_parse(&rr, a->scratch->rdata, &a->edns) < 0)
			return ERR_MALFORMED;
		a->have_edns = true;
		const uint8_t *data;
		uint16_t len;
		/* RFC 5001 §2.1: an NSID option in the query asks for ours;
		 * its payload is ignored. Other options are ignored too
		 * (RFC 6891 §6.1.2). */
		a->nsid_asked = msg_edns_find_option(&a->edns, EDNS_OPT_NSID,
						     &data, &len) == 0;
		read_cookie(a);
		a->edns.options = NULL;
		a->edns.options_len = 0;
	}
	return 0;
}

/* The size limit of the response (RFC 6891 §6.2.3, §6.2.5; RFC 1035
 * §4.2.1; RFC 7766 §8). */
static size_t response_limit(const struct answer *a)
{
	if (a->transport == ANSWER_TCP)
		return MSG_MAXLEN;
	if (!a->have_edns)
		return MSG_UDPLEN;
	size_t size = a->edns.udp_size;
	if (size > a->conf->edns_size)
		size = a->conf->edns_size;
	if (size < MSG_UDPLEN)
		size = MSG_UDPLEN;
	return size;
}

/* Octets our OPT RR takes. */
static size_t opt_size(const struct answer *a)
{
	if (!a->have_edns)
		return 0;
	size_t size = OPT_FIXED_SIZE;
	if (a->nsid_asked && a->conf->nsid != NULL && a->conf->nsid_len > 0)
		size += OPT_OPTION_HEADER + a->conf->nsid_len;
	if (a->cookie_out)
		size += OPT_OPTION_HEADER + COOKIE_CLIENT_LEN +
			a->cookie_server_len;
	return size;
}

/* Tells rate limiting what the response is (rrl.h): an answer or NODATA
 * by the query name and type, NXDOMAIN by its zone, a referral by its
 * cut, errors by rcode alone; not limited when the client proved its
 * address with a valid server cookie (RFC 7873 §5.3, as BIND does). */
static void classify(struct answer *a)
{
	struct answer_scratch *s = a->scratch;
	const uint8_t *name = NULL;
	if (a->cookie_valid) {
		s->rrl_kind = RRL_EXEMPT;
	} else if (a->rcode == RCODE_NXDOMAIN && a->zone != NULL) {
		s->rrl_kind = RRL_NXDOMAIN;
		name = a->zone->apex_name;
	} else if (a->rcode == RCODE_NOERROR && a->cut != NULL) {
		s->rrl_kind = RRL_REFERRAL;
		name = a->cut;
	} else if (a->rcode == RCODE_NOERROR && a->zone != NULL) {
		s->rrl_kind = RRL_ANSWER;
		name = a->q.name;
	} else {
		s->rrl_kind = RRL_ERROR;
	}
	s->rrl_qtype = s->rrl_kind == RRL_ANSWER ? a->q.type : 0;
	if (name != NULL)
		dname_copy_lower(s->rrl_name, name);
	else
		s->rrl_name[0] = 0;
}

/* Puts the rcode and flags in the header, appends the OPT RR. Returns
 * the response length. */
static size_t finish(struct answer *a)
{
	if (a->conf->rrl.rate != 0)
		classify(a);
	uint16_t flags = msg_flags_set_rcode(a->flags, a->rcode);
	msg_writer_set_flags(&a->w, flags);
	if (a->have_edns) {
		/* The room was kept free, so this cannot fail. */
		msg_writer_set_limit(&a->w, a->limit);
		struct msg_edns opt = {
		    .udp_size = a->conf->edns_size,
		    .ext_rcode = msg_rcode_ext(a->rcode),
		    .version = 0,
		    /* RFC 3225 §3: DO is copied into the response. */
		    .dnssec_ok = a->edns.dnssec_ok,
		};
		uint8_t options[EDE_OPTION_SIZE + COOKIE_OPTION_MAX];
		size_t n = 0;
		if (a->ede >= 0) {
			options[n++] = 0;
			options[n++] = EDNS_OPT_EDE;
			options[n++] = 0;
			options[n++] = 2;
			options[n++] = (uint8_t)(a->ede >> 8);
			options[n++] = (uint8_t)a->ede;
		}
		if (a->cookie_out) {
			size_t len = COOKIE_CLIENT_LEN + a->cookie_server_len;
			options[n++] = 0;
			options[n++] = EDNS_OPT_COOKIE;
			options[n++] = 0;
			options[n++] = (uint8_t)len;
			memcpy(options + n, a->cookie_client, COOKIE_CLIENT_LEN);
			memcpy(options + n + COOKIE_CLIENT_LEN, a->cookie_server,
			       a->cookie_server_len);
			n += len;
		}
		if (n > 0) {
			opt.options = options;
			opt.options_len = (uint16_t)n;
		}
		const uint8_t *nsid = NULL;
		if (a->nsid_asked && a->conf->nsid_len > 0)
			nsid = a->conf->nsid;
		if (msg_write_opt(&a->w, &opt, nsid,
				  nsid ? a->conf->nsid_len : 0) < 0) {
			/* Only a record-free error answer carries EDE, so
			 * this cannot happen; keep the OPT at least. */
			opt.options = NULL;
			opt.options_len = 0;
			msg_write_opt(&a->w, &opt, NULL, 0);
		}
	}
	return msg_writer_len(&a->w);
}

/* A FORMERR without question (the question could not be read, or there
 * is not exactly one): header only, as NSD sends. */
static size_t formerr_header_only(struct answer *a, uint8_t *out,
				  size_t outcap)
{
	a->rcode = RCODE_FORMERR;
	a->have_edns = false;
	a->limit = MSG_UDPLEN;
	msg_writer_init(&a->w, out, outcap, a->limit);
	msg_write_header(&a->w, a->qh.id, a->flags);
	return finish(a);
}

size_t answer_query(const struct answer_conf *conf,
		    struct answer_scratch *scratch,
		    enum answer_transport transport, const uint8_t *query,
		    size_t qlen, uint8_t *out, size_t outcap)
{
	return answer_query_reserve(conf, scratch, transport, NULL, query,
				    qlen, out, outcap, 0);
}

/* RFC 7873 §5.4: a query with no question and a COOKIE option asks for
 * a server cookie: NOERROR with the cookie, no question. Anything else
 * without exactly one question is a FORMERR (RFC 9619). */
static size_t no_question(struct answer *a, struct msg_reader *r,
			  uint8_t *out, size_t outcap)
{
	if (a->qh.count[MSG_QUESTION] == 0 && read_records(a, r) == 0 &&
	    a->have_edns && a->edns.version == 0 &&
	    (a->cookie == 1 + COOKIE_CLIENT_ONLY ||
	     a->cookie == 1 + COOKIE_WITH_SERVER)) {
		settle_cookie(a);
		if (a->cookie_out) {
			a->limit = MSG_UDPLEN;
			msg_writer_init(&a->w, out, outcap, a->limit);
			msg_write_header(&a->w, a->qh.id, a->flags);
			return finish(a);
		}
	}
	a->cookie_out = false;
	return formerr_header_only(a, out, outcap);
}

size_t answer_query_reserve(const struct answer_conf *conf,
			    struct answer_scratch *scratch,
			    enum answer_transport transport,
			    const struct sockaddr *from, const uint8_t *query,
			    size_t qlen, uint8_t *out, size_t outcap,
			    size_t reserve)
{
	scratch->qtype = -1;
	if (outcap < ANSWER_MIN_OUT || qlen < MSG_HDRLEN)
		return 0;

	struct answer ans;
	memset(&ans, 0, offsetof(struct answer, w));
	struct answer *a = &ans;
	a->conf = conf;
	a->scratch = scratch;
	a->transport = transport;
	a->from = from;
	a->ede = -1;
	struct msg_reader r;
	msg_reader_init(&r, query, qlen);
	if (msg_read_header(&r, &a->qh) < 0)
		return 0;
	/* A response is never answered (RFC 1035 §4.1.1; answering would
	 * let two servers loop). */
	if (a->qh.flags & MSG_FLAG_QR)
		return 0;

	/* RD is copied (RFC 1035 §4.1.1); RA is never set, we do not
	 * recurse. CD is copied as RFC 4035 §3.1.6 says a security-aware
	 * name server must (NSD and Knot leave it clear); AD is never set,
	 * an authoritative server does not validate (RFC 6840 §5.7 lets it
	 * mirror AD from a query only after validating). Z stays clear. */
	unsigned opcode = msg_flags_opcode(a->qh.flags);
	a->flags = msg_flags_set_opcode(MSG_FLAG_QR, opcode) |
		   (a->qh.flags & (MSG_FLAG_RD | MSG_FLAG_CD));
	if (a->qh.count[MSG_QUESTION] != 1)
		return no_question(a, &r, out, outcap);
	if (msg_read_question(&r, &a->q) < 0)
		return formerr_header_only(a, out, outcap);
	scratch->qtype = a->q.type;
	int records = read_records(a, &r);
	/* Before the size limit is set: the cookie takes room in the OPT. */
	bool cookie_ok = records < 0 || a->cookie == 1 + COOKIE_MALFORMED ||
			 settle_cookie(a);

	a->limit = response_limit(a);
	if (reserve + opt_size(a) + MSG_UDPLEN / 2 < a->limit)
		a->limit -= reserve; /* room for the caller's TSIG */
	msg_writer_init(&a->w, out, outcap, a->limit - opt_size(a));
	msg_write_header(&a->w, a->qh.id, a->flags);
	if (msg_write_question(&a->w, a->q.name, a->q.type, a->q.rrclass) < 0)
		return formerr_header_only(a, out, outcap); /* 512 > 271: never */
	msg_writer_mark(&a->w, &a->after_question);

	if (records < 0) {
		a->rcode = RCODE_FORMERR;
		return finish(a);
	}
	/* RFC 6891 §6.1.3: we speak EDNS version 0 only. */
	if (a->have_edns && a->edns.version > 0) {
		a->rcode = RCODE_BADVERS;
		return finish(a);
	}
	/* RFC 7873 §5.2.2: a COOKIE option of a wrong length is a FORMERR. */
	if (a->cookie == 1 + COOKIE_MALFORMED) {
		a->rcode = RCODE_FORMERR;
		return finish(a);
	}
	if (!cookie_ok) {
		a->rcode = RCODE_BADCOOKIE;
		return finish(a);
	}
	if (opcode != OPCODE_QUERY) {
		a->rcode = RCODE_NOTIMP;
		return finish(a);
	}
	/* A query carries no answer or authority records; IXFR carries
	 * the client's SOA in the authority section (RFC 1995 §3). */
	if (a->qh.count[MSG_ANSWER] != 0 ||
	    (a->qh.count[MSG_AUTHORITY] != 0 && a->q.type != RRTYPE_IXFR)) {
		a->rcode = RCODE_FORMERR;
		return finish(a);
	}

	switch (a->q.rrclass) {
	case RRCLASS_IN:
	case RRCLASS_ANY:
		answer_internet(a);
		break;
	case RRCLASS_CH:
		answer_chaos(a);
		break;
	default:
		/* No zone of that class: REFUSED, the question echoed. */
		a->rcode = RCODE_REFUSED;
		break;
	}
	return finish(a);
}

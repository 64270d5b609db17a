/*
 * fuzz_tsig.c -- TSIG verification (dns/tsig.h): a signed request, then
 * a signed response stream, as a primary and a secondary check them.
 *
 * Input: one octet of mode, then messages as a TCP stream carries them
 * (2-octet length, message; fuzz_util.h).
 *   mode bit 0  the key is the one the first message's TSIG names (its
 *               key name and algorithm, when tandem knows the algorithm),
 *               else xfr.example. hmac-sha256; the secret is always
 *               octets 1..32, so that both lead to a MAC check
 * The first message is verified as a request (tsig_find, tsig_verify
 * with a fresh context); the others as the response stream to it: one
 * context seeded with the request's MAC, RFC 8945 §5.3.1's rules for
 * unsigned messages in between. The time is 1700000000.
 * Invariants, besides the sanitizers: what tsig_find returns lies inside
 * the message; a request body signed again with tsig_sign verifies with
 * tsig_verify, and an unsigned error TSIG (tsig_append_unsigned) is found
 * again by tsig_find -- when the body reads the same without the TSIG:
 * labels reached through a pointer may run on past the name that points
 * (dns/msg.c accepts this, as Knot does), and then into the TSIG.
 */
#include "dns/error.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "tests/fuzz/fuzz_util.h"

#define FUZZ_TIME 1700000000
#define FUZZ_SECRET "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

static struct tsig_key fixed_key;
static uint8_t buf[MSG_MAXLEN + 512];
static bool verbose; /* FUZZ_VERBOSE set: say how each input ends */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_SETUP(tsig_key_init(&fixed_key, "xfr.example.", "hmac-sha256",
				 FUZZ_SECRET) == 0);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	return 0;
}

static void check_found(const uint8_t *msg, size_t len,
			const struct tsig_rr *rr)
{
	FUZZ_CHECK(rr->offset >= MSG_HDRLEN && rr->offset < len,
		   "TSIG offset %zu of %zu", rr->offset, len);
	FUZZ_CHECK(rr->mac >= msg && rr->mac + rr->mac_len <= msg + len,
		   "MAC outside the message");
	FUZZ_CHECK(rr->other + rr->other_len == msg + len,
		   "other data does not end the message");
	FUZZ_CHECK(dname_check(rr->key_name, DNAME_MAXLEN) > 0 &&
		       dname_check(rr->alg_name, DNAME_MAXLEN) > 0,
		   "key or algorithm name invalid");
}

/* The key the TSIG RR names, with the fixed secret; false when tandem
 * does not know its algorithm. */
static bool key_of(const struct tsig_rr *rr, struct tsig_key *key)
{
	*key = fixed_key;
	for (int alg = TSIG_HMAC_MD5; alg <= TSIG_HMAC_SHA512; alg++) {
		if (dname_equal(rr->alg_name,
				tsig_algorithm_dname((enum tsig_algorithm)alg))) {
			dname_copy_lower(key->name, rr->key_name);
			key->algorithm = (enum tsig_algorithm)alg;
			return true;
		}
	}
	return false;
}

/* Whether msg[0..len), a message without its TSIG, reads to its end on
 * its own: none of its names runs on into the octets after it. */
static bool body_stands_alone(const uint8_t *msg, size_t len)
{
	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, msg, len);
	if (msg_read_header(&r, &h) != 0)
		return false;
	for (unsigned i = 0; i < h.count[0]; i++) {
		struct msg_question q;
		if (msg_read_question(&r, &q) != 0)
			return false;
	}
	unsigned total = (unsigned)h.count[1] + h.count[2] + h.count[3];
	for (unsigned i = 0; i < total; i++) {
		if (msg_skip_rr(&r) != 0)
			return false;
	}
	return msg_reader_remaining(&r) == 0;
}

/* The request's body, signed again as a response would be, verifies; an
 * unsigned error TSIG on it is found. */
static void check_resign(const uint8_t *msg, const struct tsig_rr *rr,
			 const struct tsig_key *key)
{
	size_t len = rr->offset;
	memcpy(buf, msg, len);
	uint16_t arcount = (uint16_t)(buf[10] << 8 | buf[11]);
	FUZZ_CHECK(arcount > 0, "TSIG found with ARCOUNT 0");
	arcount--;
	buf[10] = (uint8_t)(arcount >> 8);
	buf[11] = (uint8_t)arcount;
	size_t body = len;
	if (!body_stands_alone(buf, body))
		return;

	struct tsig_ctx signer, checker;
	FUZZ_SETUP(tsig_ctx_init(&signer, key, rr->mac, rr->mac_len) == 0);
	FUZZ_SETUP(tsig_ctx_init(&checker, key, rr->mac, rr->mac_len) == 0);
	int r = tsig_sign(&signer, buf, &len, sizeof(buf), FUZZ_TIME,
			  TSIG_DEFAULT_FUDGE, 0, NULL, 0);
	if (r == 0) {
		struct tsig_rr again;
		r = tsig_find(buf, len, &again);
		FUZZ_CHECK(r == 0, "our own TSIG not found: %d", r);
		check_found(buf, len, &again);
		r = tsig_verify(&checker, buf, len, &again, FUZZ_TIME);
		FUZZ_CHECK(r == 0, "our own signature does not verify: %d", r);
	} else {
		FUZZ_CHECK(r == ERR_SPACE, "tsig_sign: %d", r);
	}
	tsig_ctx_free(&signer);
	tsig_ctx_free(&checker);

	len = body; /* and ARCOUNT without the TSIG tsig_sign added */
	buf[10] = (uint8_t)(arcount >> 8);
	buf[11] = (uint8_t)arcount;
	r = tsig_append_unsigned(buf, &len, sizeof(buf), rr, 16 /* BADSIG */);
	if (r == 0) {
		struct tsig_rr err;
		r = tsig_find(buf, len, &err);
		FUZZ_CHECK(r == 0 && err.mac_len == 0 && err.error == 16,
			   "unsigned error TSIG not found back: %d", r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	struct fuzz_stream s = {.data = data + 1, .size = size - 1};
	const uint8_t *msg;
	size_t len;
	if (!fuzz_stream_next(&s, &msg, &len))
		return 0;

	/* The request. */
	uint8_t *req = fuzz_dup(msg, len);
	struct tsig_rr rr;
	int r = tsig_find(req, len, &rr);
	FUZZ_CHECK(r == 0 || r == ERR_NOTFOUND || r == ERR_MALFORMED,
		   "tsig_find: %d", r);
	if (r != 0) {
		free(req);
		return 0;
	}
	check_found(req, len, &rr);
	struct tsig_key key = fixed_key;
	if (mode & 1)
		(void)key_of(&rr, &key);
	struct tsig_ctx server;
	FUZZ_SETUP(tsig_ctx_init(&server, &key, NULL, 0) == 0);
	r = tsig_verify(&server, req, len, &rr, FUZZ_TIME);
	tsig_ctx_free(&server);
	if (verbose)
		fprintf(stderr, "tsig: request %d\n", r);
	FUZZ_CHECK(r == 0 || r == ERR_BADKEY || r == ERR_BADSIG ||
		       r == ERR_BADTIME || r == ERR_MALFORMED,
		   "tsig_verify: %d", r);
	if (rr.mac_len <= TSIG_MAX_MAC)
		check_resign(req, &rr, &key);

	/* The response stream, over the request's MAC. */
	struct tsig_ctx client;
	if (rr.mac_len > TSIG_MAX_MAC ||
	    tsig_ctx_init(&client, &key, rr.mac, rr.mac_len) != 0) {
		free(req);
		return 0;
	}
	free(req);
	while (fuzz_stream_next(&s, &msg, &len)) {
		uint8_t *m = fuzz_dup(msg, len);
		struct tsig_rr mrr;
		r = tsig_find(m, len, &mrr);
		if (r == 0) {
			check_found(m, len, &mrr);
			r = tsig_verify(&client, m, len, &mrr, FUZZ_TIME);
		} else if (r == ERR_NOTFOUND) {
			r = tsig_verify(&client, m, len, NULL, FUZZ_TIME);
		}
		free(m);
		if (verbose)
			fprintf(stderr, "tsig: response %d\n", r);
		if (r != 0 && r != ERR_BADTIME)
			break;
	}
	(void)tsig_ctx_pending(&client);
	tsig_ctx_free(&client);
	return 0;
}

/*
 * fuzz_xfrin.c -- an incoming zone transfer (xfr/xfrin.h): the response
 * messages of an AXFR or IXFR of example.com., checked and assembled, and
 * the result built or applied to the version we have.
 *
 * Input: one octet of mode, then the response messages as a TCP stream
 * carries them (2-octet length, message; fuzz_util.h).
 *   mode bit 0  IXFR from our serial (tests/data/example.com.zone's,
 *               2024010101), else AXFR
 *   mode bit 1  TSIG: every message is checked with key xfr.example.
 *               (hmac-sha256, secret octets 1..32), over a request whose
 *               MAC was FUZZ_REQUEST_MAC (so that seeds can be signed
 *               without knowing our request)
 *   mode bit 2  at most 40 RRs (max-zone-size)
 * The request ID is 0x4242 and the time 1700000000. Messages are fed
 * while xfrin_message asks for more; a complete transfer goes through
 * xfrin_finish against the base version. Invariants, besides the
 * sanitizers: xfrin_message returns only what xfrin.h lists, with an error
 * message on failure; a finished full transfer has the first SOA's serial,
 * an incremental one ends at it, an up-to-date one yields no version.
 */
#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/serial.h"
#include "dns/tsig.h"
#include "tests/fuzz/fuzz_util.h"
#include "xfr/xfrin.h"
#include "zonedb/load.h"

#define FUZZ_ID 0x4242
#define FUZZ_TIME 1700000000
#define FUZZ_SECRET "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
/* The MAC of the request the responses answer: 32 octets 0xA5. */
#define FUZZ_REQUEST_MAC_OCTET 0xA5

static struct zone_version *base;
static struct tsig_key key;
static uint8_t request_mac[32];
static bool verbose; /* FUZZ_VERBOSE set: say how each input ends */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	base = fuzz_load_zone("example.com.",
			      FUZZ_DATA_DIR "/example.com.zone");
	FUZZ_SETUP(tsig_key_init(&key, "xfr.example.", "hmac-sha256",
				 FUZZ_SECRET) == 0);
	memset(request_mac, FUZZ_REQUEST_MAC_OCTET, sizeof(request_mac));
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	return 0;
}

static bool listed_error(int r)
{
	return r == ERR_REFUSED || r == ERR_BADSIG || r == ERR_BADKEY ||
	       r == ERR_BADTIME || r == ERR_MALFORMED || r == ERR_OUTOFZONE ||
	       r == ERR_SEMANTIC || r == ERR_LIMIT || r == ERR_NOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	uint16_t qtype = mode & 1 ? RRTYPE_IXFR : RRTYPE_AXFR;
	struct tsig_ctx ctx, *tsig = NULL;
	if (mode & 2) {
		FUZZ_SETUP(tsig_ctx_init(&ctx, &key, request_mac,
					 sizeof(request_mac)) == 0);
		tsig = &ctx;
	}
	struct xfrin x;
	FUZZ_SETUP(xfrin_init(&x, base->apex_name, qtype, base->serial, FUZZ_ID,
			      tsig, mode & 4 ? 40 : 0) == 0);

	struct fuzz_stream s = {.data = data + 1, .size = size - 1};
	const uint8_t *msg;
	size_t len;
	int r = XFRIN_MORE;
	while (r == XFRIN_MORE && fuzz_stream_next(&s, &msg, &len)) {
		uint8_t *copy = fuzz_dup(msg, len);
		r = xfrin_message(&x, copy, len, FUZZ_TIME);
		free(copy);
		FUZZ_CHECK(r == XFRIN_MORE || r == XFRIN_DONE || listed_error(r),
			   "xfrin_message returned %d", r);
		if (r < 0)
			FUZZ_CHECK(x.error[0] != '\0', "error %d without a reason",
				   r);
	}

	if (r == XFRIN_DONE) {
		struct zone_version *v = NULL;
		r = xfrin_finish(&x, base, fuzz_zone_log, NULL, &v);
		if (r == 0) {
			switch (x.kind) {
			case XFRIN_UPTODATE:
				FUZZ_CHECK(v == NULL, "up to date, yet a version");
				break;
			case XFRIN_FULL:
			case XFRIN_INCREMENTAL:
				FUZZ_CHECK(v != NULL && v->serial == x.new_serial,
					   "transfer to serial %u built "
					   "serial %u",
					   x.new_serial, v ? v->serial : 0);
				FUZZ_CHECK(dname_equal(v->apex_name,
						       base->apex_name),
					   "another apex");
				break;
			default:
				FUZZ_CHECK(false, "done without a kind");
			}
			if (v != NULL)
				zone_version_release(v);
		} else {
			FUZZ_CHECK(v == NULL && x.error[0] != '\0',
				   "xfrin_finish %d", r);
		}
	}
	if (verbose)
		fprintf(stderr, "xfrin: mode %u, %zu messages, %zu RRs, kind %d, "
			"result %d %s\n", mode, x.messages, x.rrs, (int)x.kind, r,
			x.error);
	xfrin_free(&x);
	if (tsig != NULL)
		tsig_ctx_free(tsig);
	return 0;
}

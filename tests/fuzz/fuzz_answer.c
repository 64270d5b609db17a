/*
 * fuzz_answer.c -- a query through the whole answer path: parse, zone
 * lookup, response (server/answer.h), as a worker runs it.
 *
 * The input is one query. The zones served are tests/data's
 * example.com.zone (unsigned, wildcards, CNAME, DNAME, delegations,
 * escapes), child.example.com (a child zone served beside its parent), a
 * zone configured but not loaded (SERVFAIL), and example. signed with
 * NSEC3 or with NSEC. The query's ID, which the answer only echoes, picks
 * the rest of the setting, so that one corpus covers them all:
 *   bit 0     transport: 0 UDP, 1 TCP
 *   bits 1-2  output buffer: 512, 1232, 4096 or 65535 octets
 *   bit 3     keep room for a TSIG (answer_query_reserve)
 *   bit 4     example. signed with NSEC instead of NSEC3
 *   bit 5     identity and version hidden (CH queries REFUSED), no NSID
 *   bit 6     DNS Cookies on (two secrets; the client is 192.0.2.1)
 *   bit 7     and required over UDP (BADCOOKIE without a valid one)
 * Response rate limiting stays off: it is the worker's business.
 * Invariants, besides the sanitizers: the response fits the buffer and,
 * over UDP, max(512, our EDNS size) (512 without OPT); it is a response
 * with the query's ID; and it reads back whole with msg_reader.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "dns/error.h"
#include "dns/msg.h"
#include "dns/rrtype.h"
#include "dns/tsig.h"
#include "server/answer.h"
#include "tests/fuzz/fuzz_util.h"
#include "zonedb/zonedb.h"

static const char child_zone[] =
    "$ORIGIN child.example.com.\n"
    "$TTL 1800\n"
    "@ IN SOA ns1 hostmaster 7 3600 600 604800 900\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.110\n"
    "* TXT \"child wildcard\"\n";

#define EDNS_SIZE 1232

static struct zonedb db_nsec3, db_nsec;
static struct answer_scratch *scratch;
static uint8_t *out;
static uint8_t rdata[MSG_RDATA_MAX];
static const uint8_t nsid[] = "fuzz-ns1";
static struct cookie_secrets *cookies; /* two secrets */
static struct sockaddr_in client;      /* 192.0.2.1 port 5353 */

static void add(struct zonedb *db, const char *origin,
		struct zone_version *v)
{
	uint8_t apex[DNAME_MAXLEN];
	struct zonedb_entry *e;
	fuzz_name(apex, origin);
	FUZZ_SETUP(zonedb_add(db, apex, &e) == 0);
	if (v != NULL)
		zone_version_ref(v);
	rcu_assign_pointer(e->version, v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/tandem-fuzz-child-XXXXXX";
	int fd = mkstemp(path);
	FUZZ_SETUP(fd >= 0);
	FUZZ_SETUP(write(fd, child_zone, strlen(child_zone)) ==
		   (ssize_t)strlen(child_zone));
	close(fd);
	struct zone_version *child = fuzz_load_zone("child.example.com.", path);
	unlink(path);
	struct zone_version *com = fuzz_load_zone(
	    "example.com.", FUZZ_DATA_DIR "/example.com.zone");
	struct zone_version *nsec3 =
	    fuzz_load_zone("example.", FUZZ_DATA_DIR "/signed-nsec3.zone");
	struct zone_version *nsec =
	    fuzz_load_zone("example.", FUZZ_DATA_DIR "/signed-nsec.zone");

	zonedb_init(&db_nsec3);
	zonedb_init(&db_nsec);
	struct zonedb *dbs[2] = {&db_nsec3, &db_nsec};
	for (int i = 0; i < 2; i++) {
		add(dbs[i], "example.com.", com);
		add(dbs[i], "child.example.com.", child);
		add(dbs[i], "broken.example.com.", NULL);
		add(dbs[i], "example.", i == 0 ? nsec3 : nsec);
	}
	zone_version_release(com);
	zone_version_release(child);
	zone_version_release(nsec3);
	zone_version_release(nsec);

	cookies = malloc(sizeof(*cookies) + 2 * COOKIE_SECRET_LEN);
	FUZZ_SETUP(cookies != NULL);
	cookies->n = 2;
	for (int i = 0; i < COOKIE_SECRET_LEN; i++) {
		cookies->secret[0][i] = (uint8_t)(i + 1);
		cookies->secret[1][i] = (uint8_t)(0xF0 - i);
	}
	client.sin_family = AF_INET;
	client.sin_port = htons(5353);
	FUZZ_SETUP(inet_pton(AF_INET, "192.0.2.1", &client.sin_addr) == 1);
	/* Workers read zone versions in a QSBR read-side section. */
	rcu_register_thread();
	scratch = malloc(sizeof(*scratch));
	FUZZ_SETUP(scratch != NULL);
	return 0;
}

/* The response reads back whole; returns whether it has an OPT RR. */
static bool check_response(const uint8_t *resp, size_t len, uint16_t id)
{
	struct msg_reader r;
	struct msg_header h;
	msg_reader_init(&r, resp, len);
	FUZZ_CHECK(msg_read_header(&r, &h) == 0, "response without header");
	FUZZ_CHECK(h.id == id, "response ID %u, query ID %u", h.id, id);
	FUZZ_CHECK(h.flags & MSG_FLAG_QR, "response without QR");
	FUZZ_CHECK(h.count[MSG_QUESTION] <= 1, "%u questions",
		   h.count[MSG_QUESTION]);
	for (unsigned i = 0; i < h.count[MSG_QUESTION]; i++) {
		struct msg_question q;
		int ret = msg_read_question(&r, &q);
		FUZZ_CHECK(ret == 0, "response question unreadable: %d", ret);
	}
	bool opt = false;
	for (int s = MSG_ANSWER; s <= MSG_ADDITIONAL; s++) {
		for (unsigned i = 0; i < h.count[s]; i++) {
			struct msg_rr rr;
			int ret = msg_read_rr(&r, &rr, rdata, sizeof(rdata));
			FUZZ_CHECK(ret == 0,
				   "response RR %u of section %d unreadable: %d",
				   i, s, ret);
			if (rr.type == RRTYPE_OPT) {
				FUZZ_CHECK(s == MSG_ADDITIONAL && !opt,
					   "misplaced or second OPT");
				struct msg_edns edns;
				FUZZ_CHECK(msg_edns_parse(&rr, rdata, &edns) == 0,
					   "our OPT does not parse");
				opt = true;
			}
		}
	}
	FUZZ_CHECK(msg_reader_remaining(&r) == 0,
		   "%zu octets after the last RR", msg_reader_remaining(&r));
	return opt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = {512, 1232, 4096, MSG_MAXLEN};
	uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	enum answer_transport transport = id & 1 ? ANSWER_TCP : ANSWER_UDP;
	size_t cap = caps[(id >> 1) & 3];
	size_t reserve = id & 8 ? 100 : 0;
	struct answer_conf conf = {
	    .zonedb = id & 16 ? &db_nsec : &db_nsec3,
	    .edns_size = EDNS_SIZE,
	    .identity = id & 32 ? NULL : "ns1.fuzz.example",
	    .version = id & 32 ? NULL : "tandem-fuzz",
	    .nsid = id & 32 ? NULL : nsid,
	    .nsid_len = id & 32 ? 0 : sizeof(nsid) - 1,
	};
	if (id & 64) {
		conf.cookies = cookies;
		conf.cookie_require = (id & 128) != 0;
	}
	/* Exact-size copies: ASan sees a read or write one octet past. */
	uint8_t *query = fuzz_dup(data, size);
	out = malloc(cap);
	FUZZ_SETUP(out != NULL);

	rcu_thread_online();
	size_t len = answer_query_reserve(&conf, scratch, transport,
					  (const struct sockaddr *)&client,
					  query, size, out, cap, reserve);
	rcu_thread_offline();

	FUZZ_CHECK(len <= cap, "response of %zu octets in a %zu buffer", len,
		   cap);
	if (len > 0) {
		bool opt = check_response(out, len, id);
		if (transport == ANSWER_UDP) {
			size_t max = opt ? EDNS_SIZE : MSG_UDPLEN;
			FUZZ_CHECK(len <= max,
				   "UDP response of %zu octets, limit %zu", len,
				   max);
		}
	}
	free(out);
	free(query);
	return 0;
}

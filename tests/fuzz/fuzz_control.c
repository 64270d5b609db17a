/*
 * fuzz_control.c -- the control-line parser: what server/control.c does
 * with the octets a control client sends, up to the handler and back.
 *
 * control.c keeps the parser static (split_args, client_answer,
 * client_read_request) and its only entry point, control_open, listens on
 * a UNIX socket. So that no socket is opened and control.c stays as it
 * is, this file compiles control.c into itself and plays the part of the
 * event loop: a client is made as accept_cb makes one, but on one end of
 * an in-memory bufferevent pair, and the input is handed to it as
 * client_read_cb and client_event_cb would, in reads of at most the
 * watermark (CONTROL_MAX_REQUEST + 2 octets), then end of file. The loop
 * never runs, so timers never fire.
 *
 * The handler is a stand-in for tandemd's on_control (server/main.c is a
 * program, not a library): it echoes every argument, looks zone names up
 * in a zonedb as zones_find does, returns reasons with line breaks, and
 * closes the control from inside the handler on "stop".
 * Invariants, besides the sanitizers: every request gets an answer whose
 * lines end in LF, hold no CR, and whose last line, and only that one, is
 * "ok" or "error: ...".
 */
#include "server/control.c"

#include <event2/bufferevent.h>

#include "dns/dname.h"
#include "tests/fuzz/fuzz_util.h"
#include "zonedb/zonedb.h"

static struct event_base *fuzz_base;
static struct zonedb fuzz_db;
static bool fuzz_closed; /* the handler closed the control */
static bool answered_ok; /* the last answer checked ended in "ok" */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_base = event_base_new();
	FUZZ_SETUP(fuzz_base != NULL);
	zonedb_init(&fuzz_db);
	const char *zones[] = {"example.com.", "example.net.",
			       "sp\\032ace.example."};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		uint8_t apex[DNAME_MAXLEN];
		struct zonedb_entry *e;
		fuzz_name(apex, zones[i]);
		FUZZ_SETUP(zonedb_add(&fuzz_db, apex, &e) == 0);
	}
	/* The harness itself works: a plain request is answered "ok" (a
	 * client set up short of what accept_cb does would refuse it, and
	 * the fuzzer would explore nothing but the refusal). */
	static const char ping[] = "status\n";
	answered_ok = false;
	LLVMFuzzerTestOneInput((const uint8_t *)ping, sizeof(ping) - 1);
	FUZZ_SETUP(answered_ok);
	return 0;
}

static const char *handler(void *arg, int argc, char **argv,
			   struct control_reply *r)
{
	struct control *c = arg;
	FUZZ_CHECK(argc > 0 && argv[argc] == NULL, "argv not terminated");
	for (int i = 0; i < argc; i++)
		control_printf(r, "arg %d: %s", i, argv[i]);
	const char *cmd = argv[0];
	if (strcmp(cmd, "status") == 0) {
		control_printf(r, "version: tandem %s", "fuzz");
		control_printf(r, "zones: %zu", zonedb_count(&fuzz_db));
		return NULL;
	}
	if (strcmp(cmd, "zonestatus") == 0 || strcmp(cmd, "reload") == 0 ||
	    strcmp(cmd, "notify") == 0 || strcmp(cmd, "refresh") == 0 ||
	    strcmp(cmd, "retransfer") == 0) {
		if (argc < 2)
			return control_error(r, "%s needs a zone name", cmd);
		static const uint8_t root[1] = {0};
		uint8_t apex[DNAME_MAXLEN];
		struct zonedb_entry *e = NULL;
		if (dname_from_str(apex, argv[1], strlen(argv[1]), root) >= 0)
			e = zonedb_get(&fuzz_db, apex);
		if (e == NULL)
			return control_error(r, "no zone %s", argv[1]);
		control_printf(r, "zone: %s", e->name);
		return NULL;
	}
	if (strcmp(cmd, "stats") == 0)
		return argc > 1 && strcmp(argv[1], "reset") != 0
			   ? "stats takes 'reset'\nor nothing"
			   : NULL;
	if (strcmp(cmd, "stop") == 0) {
		control_close(c);
		fuzz_closed = true;
		return NULL;
	}
	return control_error(r, "unknown command '%s'", cmd);
}

/* The answer: lines ending in LF, no CR, the last one and only it "ok"
 * or "error: ...". */
static void check_answer(struct evbuffer *out)
{
	size_t len = evbuffer_get_length(out);
	FUZZ_CHECK(len > 0, "no answer");
	char *text = malloc(len + 1);
	FUZZ_SETUP(text != NULL);
	/* The output's front is frozen except while the bufferevent writes
	 * it out itself. */
	evbuffer_unfreeze(out, 1);
	FUZZ_SETUP(evbuffer_copyout(out, text, len) == (ssize_t)len);
	evbuffer_freeze(out, 1);
	text[len] = '\0';
	FUZZ_CHECK(text[len - 1] == '\n', "answer not ended by LF");
	FUZZ_CHECK(memchr(text, '\r', len) == NULL, "CR in the answer");
	FUZZ_CHECK(strlen(text) == len, "NUL in the answer");
	char *line = text;
	while (*line != '\0') {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		bool last = nl[1] == '\0';
		bool final = strcmp(line, "ok") == 0 ||
			     strncmp(line, "error: ", 7) == 0;
		FUZZ_CHECK(final == last, "line '%s' %s", line,
			   last ? "ends the answer" : "forges an end");
		answered_ok = last && strcmp(line, "ok") == 0;
		line = nl + 1;
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control *c = calloc(1, sizeof(*c));
	FUZZ_SETUP(c != NULL);
	c->base = fuzz_base;
	c->handler = handler;
	c->arg = c;
	control_set_timeout(c, CONTROL_TIMEOUT * 1000);
	control_set_limits(c, CONTROL_MAX_REQUEST, CONTROL_MAX_CLIENTS);
	fuzz_closed = false;

	/* As accept_cb, with a bufferevent pair instead of a socket. */
	struct bufferevent *pair[2];
	FUZZ_SETUP(bufferevent_pair_new(fuzz_base, 0, pair) == 0);
	struct control_client *cl = calloc(1, sizeof(*cl));
	FUZZ_SETUP(cl != NULL);
	cl->ctl = c;
	cl->max_request = c->max_request;
	cl->bev = pair[0];
	cl->deadline = evtimer_new(fuzz_base, client_timeout_cb, cl);
	FUZZ_SETUP(cl->deadline != NULL);
	c->clients = cl;
	c->nclients++;
	client_arm(cl);

	/* The reads, then the end of file, as the callbacks would. */
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	size_t pos = 0;
	bool gone = false; /* the client (or the whole control) was freed */
	while (!gone && pos < size) {
		size_t room = CONTROL_MAX_REQUEST + 2 - evbuffer_get_length(in);
		size_t n = size - pos < room ? size - pos : room;
		/* A bufferevent keeps the end of its input frozen except
		 * while it reads into it itself. */
		evbuffer_unfreeze(in, 0);
		FUZZ_SETUP(evbuffer_add(in, data + pos, n) == 0);
		evbuffer_freeze(in, 0);
		pos += n;
		if (cl->state != CLIENT_READING) {
			evbuffer_drain(in, evbuffer_get_length(in));
			continue;
		}
		client_read_request(cl, false);
		gone = fuzz_closed || c->clients == NULL;
		if (!gone && cl->state == CLIENT_READING &&
		    evbuffer_get_length(in) >= CONTROL_MAX_REQUEST + 2)
			FUZZ_CHECK(false, "a full buffer neither answered "
					  "nor refused");
	}
	if (!gone && cl->state == CLIENT_READING) {
		cl->peer_eof = true;
		client_read_request(cl, true);
		gone = fuzz_closed || c->clients == NULL;
		FUZZ_CHECK(gone || cl->state != CLIENT_READING,
			   "end of file, yet still reading");
		FUZZ_CHECK(!gone || fuzz_closed || size == 0,
			   "a client that asked was dropped unanswered");
	}
	if (!gone)
		check_answer(bufferevent_get_output(cl->bev));
	if (!fuzz_closed)
		control_free(c);
	bufferevent_free(pair[1]);
	/* bufferevent_free finishes in a deferred callback: let the loop
	 * run it, now that no client and no timer is left. */
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	return 0;
}

/*
 * fuzz_conf.c -- the config parser (server/conf.h) on any text.
 *
 * The input is a tandemd.conf, parsed from memory with conf_parse as
 * conf_load does after reading the file; "/nonexistent/tandemd.conf"
 * anchors relative paths, so nothing on disk is read. Invariants, besides
 * the sanitizers: every error has a message; a config that parses has at
 * least one listen address and one worker, every key can be found by its
 * name, every zone has a name and an apex, and conf_free leaves nothing
 * (LeakSanitizer).
 */
#include "dns/error.h"
#include "server/conf.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

struct errors {
	unsigned count;
};

static void on_error(void *arg, const char *file, unsigned long line,
		     const char *msg)
{
	struct errors *e = arg;
	FUZZ_CHECK(msg != NULL && msg[0] != '\0' && file != NULL,
		   "an error without a message");
	e->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = (char *)fuzz_dup(data, size);
	struct conf c;
	struct errors e = {0};
	int r = conf_parse("/nonexistent/tandemd.conf", text, size, &c,
			   on_error, &e);
	FUZZ_CHECK(r == 0 || r == ERR_SYNTAX || r == ERR_NOMEM,
		   "conf_parse: %d", r);
	if (r == ERR_SYNTAX)
		FUZZ_CHECK(e.count > 0, "ERR_SYNTAX without an error reported");
	if (r == 0) {
		FUZZ_CHECK(e.count == 0, "success with %u errors", e.count);
		FUZZ_CHECK(c.nlistens > 0 && c.workers >= 1 &&
			       c.workers <= CONF_MAX_WORKERS,
			   "%zu listens, %u workers", c.nlistens, c.workers);
		for (size_t i = 0; i < c.nkeys; i++)
			FUZZ_CHECK(conf_find_key(&c, c.keys[i].key.name) != NULL,
				   "key %zu not found by its name", i);
		for (size_t i = 0; i < c.nzones; i++)
			FUZZ_CHECK(c.zones[i].name != NULL &&
				       dname_check(c.zones[i].apex,
						   DNAME_MAXLEN) > 0,
				   "zone %zu without a name", i);
	}
	conf_free(&c);
	free(text);
	return 0;
}

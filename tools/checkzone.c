/*
 * tandem-checkzone -- load a zone file as tandemd would and report.
 *
 *   tandem-checkzone [-p] [-v] ORIGIN FILE
 *
 * Exit 0 with a one-line summary for a good zone (with -p, the zone in
 * canonical form instead; with -v, also load time and memory); exit 1 with
 * `file:line: message` lines for a bad one; exit 2 for bad usage.
 */
#include <stdbool.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "zonedb/load.h"

static void print_log(void *arg, enum zone_log_level level, const char *file,
		      unsigned long line, const char *msg)
{
	(void)arg;
	const char *prefix = level == ZONE_LOG_WARNING ? "warning: " : "";
	if (file != NULL && line > 0)
		fprintf(stderr, "%s:%lu: %s%s\n", file, line, prefix, msg);
	else if (file != NULL)
		fprintf(stderr, "%s: %s%s\n", file, prefix, msg);
	else
		fprintf(stderr, "%s%s\n", prefix, msg);
}

static void usage(void)
{
	fprintf(stderr, "usage: tandem-checkzone [-p] [-v] ORIGIN FILE\n");
}

/* Prints the VmRSS and VmHWM lines of /proc/self/status. */
static void print_memory(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0 || strncmp(line, "VmHWM:", 6) == 0)
			fputs(line, stdout);
	if (f)
		fclose(f);
}

/* One line on how the zone is signed, when it is. */
static void print_dnssec(const struct zone_version *v)
{
	if (!v->dnssec)
		return;
	if (v->denial == ZONE_DENIAL_NSEC3) {
		char salt[2 * sizeof(v->nsec3.salt) + 1] = "-";
		for (unsigned i = 0; i < v->nsec3.salt_len; i++)
			snprintf(salt + 2 * i, 3, "%02x", v->nsec3.salt[i]);
		printf("dnssec: signed, NSEC3 (iterations %u, salt %s), "
		       "%zu NSEC3 owners\n",
		       v->nsec3.iterations, salt, qp_count(&v->nsec3_tree));
	} else {
		printf("dnssec: signed, %s\n",
		       v->denial == ZONE_DENIAL_NSEC ? "NSEC" : "no NSEC chain");
	}
}

int main(int argc, char **argv)
{
	bool print = false, verbose = false;
	int opt;
	while ((opt = getopt(argc, argv, "pvV")) != -1) {
		switch (opt) {
		case 'p':
			print = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("tandem-checkzone %s\n", TANDEM_VERSION);
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage();
		return 2;
	}
	const char *origin = argv[optind], *file = argv[optind + 1];
	uint8_t apex[DNAME_MAXLEN];
	size_t olen = strlen(origin);
	/* The origin is absolute whether or not it ends in a dot. */
	uint8_t root[1] = { 0 };
	if (dname_from_str(apex, origin, olen, root) < 0) {
		fprintf(stderr, "tandem-checkzone: bad origin '%s'\n", origin);
		return 2;
	}
	struct zone_version *v = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = zone_load_file(apex, file, print_log, NULL, &v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r != 0) {
		fprintf(stderr, "%s: zone %s not loaded: %s\n", file, origin,
			error_str(r));
		return 1;
	}
	if (print) {
		r = zone_dump(v, stdout);
		if (r != 0)
			fprintf(stderr, "tandem-checkzone: %s\n", error_str(r));
	} else {
		char name[DNAME_STRLEN];
		dname_to_str(name, sizeof(name), v->apex_name);
		printf("zone %s: serial %u, %zu names, %zu RRs\n", name,
		       v->serial, v->node_count, v->rr_count);
		print_dnssec(v);
		if (verbose) {
			printf("load time: %.3f s\n",
			       (double)(t1.tv_sec - t0.tv_sec) +
				       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
			printf("trie nodes: %zu bytes\n", qp_memory(&v->tree));
			/* Give the loader's freed memory back, so VmRSS is
			 * what the loaded zone costs. */
			malloc_trim(0);
			print_memory();
		}
	}
	zone_version_release(v);
	return r == 0 ? 0 : 1;
}

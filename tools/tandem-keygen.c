/*
 * tandem-keygen -- print a TSIG key clause with a fresh secret.
 *
 *   tandem-keygen NAME [ALGORITHM]
 *
 * ALGORITHM is hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256 (default),
 * hmac-sha384 or hmac-sha512. The secret is as long as the HMAC's output
 * (RFC 8945 §6: shorter keys weaken it, longer ones add nothing), from
 * libsodium's CSPRNG, in standard base64. Exit 0 with the clause on stdout,
 * 1 for a bad name or algorithm, 2 for bad usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dns/dname.h"
#include "dns/error.h"
#include "dns/tsig.h"

static void usage(void)
{
	fprintf(stderr, "usage: tandem-keygen NAME [ALGORITHM]\n"
			"algorithms: hmac-md5, hmac-sha1, hmac-sha224, "
			"hmac-sha256 (default), hmac-sha384, hmac-sha512\n");
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "hV")) != -1) {
		switch (opt) {
		case 'V':
			printf("tandem-keygen %s\n", TANDEM_VERSION);
			return 0;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		usage();
		return 2;
	}
	const char *name = argv[optind];
	const char *alg_name =
	    argc - optind == 2 ? argv[optind + 1] : "hmac-sha256";

	/* Key names are absolute whether or not they end in a dot, as in the
	 * config file. */
	static const uint8_t root[1] = {0};
	uint8_t wire[DNAME_MAXLEN];
	int rc = dname_from_str(wire, name, strlen(name), root);
	if (rc < 0) {
		fprintf(stderr, "tandem-keygen: bad key name '%s': %s\n", name,
			error_str(rc));
		return 1;
	}
	/* The config reader ends an unquoted value at '#' and trims blanks;
	 * a quoted value cannot hold '"'. */
	bool quote = strpbrk(name, "# \t") != NULL;
	if (quote && strchr(name, '"') != NULL) {
		fprintf(stderr,
			"tandem-keygen: key name '%s' cannot be written in a "
			"config file (write '\"' as \\034)\n",
			name);
		return 1;
	}
	enum tsig_algorithm alg;
	if (tsig_algorithm_from_str(alg_name, &alg) != 0) {
		fprintf(stderr,
			"tandem-keygen: unknown algorithm '%s' (hmac-md5, "
			"hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, "
			"hmac-sha512)\n",
			alg_name);
		return 1;
	}

	if (sodium_init() < 0) {
		fprintf(stderr, "tandem-keygen: libsodium failed to start\n");
		return 1;
	}
	uint8_t secret[TSIG_MAX_MAC];
	size_t secret_len = tsig_mac_len(alg);
	char b64[sodium_base64_ENCODED_LEN(TSIG_MAX_MAC,
					   sodium_base64_VARIANT_ORIGINAL)];
	randombytes_buf(secret, secret_len);
	sodium_bin2base64(b64, sizeof(b64), secret, secret_len,
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(secret, sizeof(secret));

	printf("key:\n"
	       "    name: %s%s%s\n"
	       "    algorithm: %s\n"
	       "    secret: \"%s\"\n",
	       quote ? "\"" : "", name, quote ? "\"" : "",
	       tsig_algorithm_str(alg), b64);
	sodium_memzero(b64, sizeof(b64));
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("tandem-keygen: stdout");
		return 1;
	}
	return 0;
}

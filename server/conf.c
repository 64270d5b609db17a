/*
 * conf.c -- the tandemd configuration file.
 */
#include "server/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "dns/error.h"

#define CONF_MAX_LINE 4096
#define CONF_MAX_FILE (16 * 1024 * 1024)

enum clause { CLAUSE_NONE, CLAUSE_SERVER, CLAUSE_ZONE, CLAUSE_KEY };

/* Parser state for one file. */
struct parser {
	struct conf *conf;
	const struct conf *running; /* reconfig: the config in use */
	const char *file;
	unsigned long line;
	char *dir; /* directory of the config file */
	enum clause clause;
	struct conf_zone *zone; /* the open zone clause, or NULL */
	struct conf_key *key;   /* the open key clause, or NULL */
	char *key_alg, *key_secret;
	bool listen_set;
	bool identity_set;
	bool version_set;
	uint64_t seen; /* server keys given, bit per key of server_keys */
	int errors;
	bool nomem;
	conf_error_fn err;
	void *arg;
};

static void report(struct parser *p, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct parser *p, unsigned long line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->err)
		p->err(p->arg, p->file, line, msg);
}

static char *dup_str(struct parser *p, const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		p->nomem = true;
	return d;
}

/* An absolute path for `value`: as is when it starts with '/', else joined
 * to the config file's directory. */
static char *resolve_path(struct parser *p, const char *value)
{
	if (value[0] == '/' || p->dir == NULL)
		return dup_str(p, value);
	size_t len = strlen(p->dir) + 1 + strlen(value) + 1;
	char *out = malloc(len);
	if (out == NULL) {
		p->nomem = true;
		return NULL;
	}
	snprintf(out, len, "%s/%s", p->dir, value);
	return out;
}

/* Parses a decimal unsigned integer in [min, max]. */
static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	if (*s < '0' || *s > '9')
		return ERR_SYNTAX;
	errno = 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return ERR_SYNTAX;
	*out = v;
	return 0;
}

int conf_parse_listen(const char *str, uint16_t default_port,
		      struct conf_listen *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *at = strrchr(str, '@');
	size_t hostlen = at ? (size_t)(at - str) : strlen(str);
	if (hostlen == 0 || hostlen >= sizeof(host))
		return ERR_SYNTAX;
	memcpy(host, str, hostlen);
	host[hostlen] = '\0';

	unsigned long port = default_port;
	if (at != NULL && parse_uint(at + 1, 0, 65535, &port) != 0)
		return ERR_SYNTAX;

	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->addrlen = sizeof(*sin6);
	} else {
		return ERR_SYNTAX;
	}
	snprintf(out->text, sizeof(out->text), "%s@%lu", host, port);
	return 0;
}

/* ---- server clause ---------------------------------------------------- */

typedef void (*key_fn)(struct parser *p, const char *key, const char *value);

static void key_listen(struct parser *p, const char *key, const char *value)
{
	struct conf *c = p->conf;
	struct conf_listen l;
	if (conf_parse_listen(value, CONF_DEFAULT_PORT, &l) != 0) {
		report(p, p->line,
		       "bad listen address '%s' (expected address[@port])",
		       value);
		return;
	}
	struct conf_listen *n =
	    realloc(c->listens, (c->nlistens + 1) * sizeof(*n));
	if (n == NULL) {
		p->nomem = true;
		return;
	}
	c->listens = n;
	c->listens[c->nlistens++] = l;
	p->listen_set = true;
}

static void key_workers(struct parser *p, const char *key, const char *value)
{
	unsigned long v;
	if (parse_uint(value, 1, CONF_MAX_WORKERS, &v) != 0) {
		report(p, p->line, "bad %s '%s' (expected 1 to %d)", key, value,
		       CONF_MAX_WORKERS);
		return;
	}
	p->conf->workers = (unsigned)v;
}

/* identity and version: a TXT string, or "hide" (or "") to refuse. */
static void set_txt(struct parser *p, const char *key, const char *value,
		    char **slot)
{
	free(*slot);
	*slot = NULL;
	if (strcmp(value, "hide") == 0 || value[0] == '\0')
		return;
	if (strlen(value) > CONF_MAX_TXT) {
		report(p, p->line, "%s longer than %d characters", key,
		       CONF_MAX_TXT);
		return;
	}
	*slot = dup_str(p, value);
}

static void key_identity(struct parser *p, const char *key, const char *value)
{
	p->identity_set = true;
	set_txt(p, key, value, &p->conf->identity);
}

static void key_version(struct parser *p, const char *key, const char *value)
{
	p->version_set = true;
	set_txt(p, key, value, &p->conf->version);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* nsid: "0x" and hex digits, or a string taken as is (as Knot does). */
static void key_nsid(struct parser *p, const char *key, const char *value)
{
	struct conf *c = p->conf;
	size_t len = strlen(value);
	c->nsid_len = 0;
	if (len > 2 && value[0] == '0' &&
	    (value[1] == 'x' || value[1] == 'X')) {
		const char *hex = value + 2;
		size_t hexlen = len - 2;
		if (hexlen % 2 != 0 || hexlen / 2 > CONF_MAX_NSID) {
			report(p, p->line, "bad nsid '%s'", value);
			return;
		}
		for (size_t i = 0; i < hexlen / 2; i++) {
			int hi = hex_value(hex[2 * i]);
			int lo = hex_value(hex[2 * i + 1]);
			if (hi < 0 || lo < 0) {
				report(p, p->line, "bad nsid '%s'", value);
				return;
			}
			c->nsid[i] = (uint8_t)(hi << 4 | lo);
		}
		c->nsid_len = hexlen / 2;
		return;
	}
	if (len > CONF_MAX_NSID) {
		report(p, p->line, "nsid longer than %d octets", CONF_MAX_NSID);
		return;
	}
	memcpy(c->nsid, value, len);
	c->nsid_len = len;
}

static void key_edns_size(struct parser *p, const char *key, const char *value)
{
	unsigned long v;
	/* RFC 6891 §6.2.5: values below 512 are treated as 512. We accept
	 * 512 to 4096, the range NSD and Knot document. */
	if (parse_uint(value, 512, 4096, &v) != 0) {
		report(p, p->line, "bad %s '%s' (expected 512 to 4096)", key,
		       value);
		return;
	}
	p->conf->edns_buffer_size = (uint16_t)v;
}

static void key_tcp_idle(struct parser *p, const char *key, const char *value)
{
	unsigned long v;
	if (parse_uint(value, 1, 3600, &v) != 0) {
		report(p, p->line, "bad %s '%s' (expected 1 to 3600 seconds)",
		       key, value);
		return;
	}
	p->conf->tcp_idle_timeout = (unsigned)v;
}

static void key_tcp_max(struct parser *p, const char *key, const char *value)
{
	unsigned long v;
	if (parse_uint(value, 1, 1000000, &v) != 0) {
		report(p, p->line, "bad %s '%s' (expected 1 to 1000000)", key,
		       value);
		return;
	}
	p->conf->tcp_max_clients = (unsigned)v;
}

/* A number of `unit` in [min, max] into *field, or "bad KEY 'VALUE'
 * (expected MIN to MAX UNIT)". */
static void set_number(struct parser *p, const char *key, const char *value,
		       unsigned long min, unsigned long max, const char *unit,
		       unsigned *field)
{
	unsigned long v;
	if (parse_uint(value, min, max, &v) != 0) {
		report(p, p->line, "bad %s '%s' (expected %lu to %lu%s%s)", key,
		       value, min, max, unit[0] ? " " : "", unit);
		return;
	}
	*field = (unsigned)v;
}

/* NSD's tcp-count: each worker holds this many, whatever their number. */
static void key_tcp_max_per_worker(struct parser *p, const char *key,
				   const char *value)
{
	set_number(p, key, value, 1, 1000000, "",
		   &p->conf->tcp_max_clients_per_worker);
}

static void key_tcp_max_time(struct parser *p, const char *key,
			     const char *value)
{
	set_number(p, key, value, 1, 604800, "seconds", &p->conf->tcp_max_time);
}

/* RFC 1035 §4.2.2: a length prefix says at most 65535; a server only
 * needs what its queries, NOTIFYs and transfer requests take (a few
 * hundred octets, more with TSIG and EDNS padding), and 512 is what any
 * DNS server must accept. */
static void key_tcp_max_message(struct parser *p, const char *key,
				const char *value)
{
	set_number(p, key, value, 512, 65535, "octets",
		   &p->conf->tcp_max_message_size);
}

/* A cookie secret: 16 octets as 32 hex digits (RFC 9018 §4.4: the
 * servers of a set share it, so that each accepts the others' cookies).
 * Repeatable: the first makes cookies, the others are still accepted,
 * which is how a secret is rotated. */
static void key_cookie_secret(struct parser *p, const char *key,
			      const char *value)
{
	struct conf *c = p->conf;
	uint8_t secret[COOKIE_SECRET_LEN];
	size_t n = 0;
	if (strlen(value) != 2 * COOKIE_SECRET_LEN ||
	    sodium_hex2bin(secret, sizeof(secret), value, strlen(value), NULL,
			   &n, NULL) != 0 ||
	    n != COOKIE_SECRET_LEN) {
		report(p, p->line, "bad %s (expected %d hex digits)", key,
		       2 * COOKIE_SECRET_LEN);
		return;
	}
	uint8_t (*grown)[COOKIE_SECRET_LEN] =
		realloc(c->cookie_secrets,
			(c->ncookie_secrets + 1) * sizeof(*grown));
	if (grown == NULL) {
		p->nomem = true;
		return;
	}
	c->cookie_secrets = grown;
	memcpy(grown[c->ncookie_secrets++], secret, COOKIE_SECRET_LEN);
	sodium_memzero(secret, sizeof(secret));
}

static void key_cookie_require(struct parser *p, const char *key,
			       const char *value)
{
	if (strcmp(value, "yes") == 0)
		p->conf->cookie_require = true;
	else if (strcmp(value, "no") == 0)
		p->conf->cookie_require = false;
	else
		report(p, p->line, "bad %s '%s' (expected yes or no)", key, value);
}

/* rrl-rate, rrl-slip, rrl-ipv4-prefix, rrl-ipv6-prefix. */
static void key_rrl_number(struct parser *p, const char *key, const char *value)
{
	struct conf *c = p->conf;
	unsigned long v;
	unsigned *field = NULL;
	unsigned long min = 0, max = 0;
	if (strcmp(key, "rrl-rate") == 0) {
		field = &c->rrl_rate, max = 1000000;
	} else if (strcmp(key, "rrl-slip") == 0) {
		field = &c->rrl_slip, max = 100;
	} else if (strcmp(key, "rrl-ipv4-prefix") == 0) {
		field = &c->rrl_ipv4_prefix, min = 8, max = 32;
	} else {
		field = &c->rrl_ipv6_prefix, min = 16, max = 128;
	}
	if (parse_uint(value, min, max, &v) != 0) {
		report(p, p->line, "bad %s '%s' (expected %lu to %lu)", key,
		       value, min, max);
		return;
	}
	*field = (unsigned)v;
}

static void key_rrl_exempt(struct parser *p, const char *key, const char *value)
{
	struct conf *c = p->conf;
	struct rrl_netblock nb;
	if (rrl_netblock_parse(&nb, value) != 0) {
		report(p, p->line, "bad %s '%s' (expected ADDRESS[/PREFIX])", key,
		       value);
		return;
	}
	struct rrl_netblock *grown =
		realloc(c->rrl_exempt, (c->nrrl_exempt + 1) * sizeof(*grown));
	if (grown == NULL) {
		p->nomem = true;
		return;
	}
	c->rrl_exempt = grown;
	grown[c->nrrl_exempt++] = nb;
}

static void key_log_level(struct parser *p, const char *key, const char *value)
{
	if (log_level_from_str(value, &p->conf->log_level) != 0)
		report(p, p->line,
		       "bad %s '%s' (expected error, warning, info or debug)",
		       key, value);
}

static void key_storage(struct parser *p, const char *key, const char *value)
{
	free(p->conf->storage);
	p->conf->storage = resolve_path(p, value);
	p->conf->storage_line = p->line;
}

static void key_pidfile(struct parser *p, const char *key, const char *value)
{
	free(p->conf->pidfile);
	p->conf->pidfile = resolve_path(p, value);
}

static void key_control(struct parser *p, const char *key, const char *value)
{
	free(p->conf->control);
	p->conf->control = resolve_path(p, value);
}

static void key_control_mode(struct parser *p, const char *key,
			     const char *value)
{
	char *end;
	errno = 0;
	unsigned long mode = strtoul(value, &end, 8);
	if (errno != 0 || *end != '\0' || value[0] == '\0' || mode > 0777) {
		report(p, p->line, "bad %s '%s': an octal mode such as 0600",
		       key, value);
		return;
	}
	p->conf->control_mode = (unsigned)mode;
}

static void key_control_timeout(struct parser *p, const char *key,
				const char *value)
{
	set_number(p, key, value, 1, 3600, "seconds",
		   &p->conf->control_timeout);
}

/* The longest command line is a reload or zonestatus with a zone name
 * of 255 octets written with \DDD escapes: about 1,030 characters. */
static void key_control_max_request(struct parser *p, const char *key,
				    const char *value)
{
	set_number(p, key, value, 256, 65536, "octets",
		   &p->conf->control_max_request);
}

static void key_control_max_clients(struct parser *p, const char *key,
				    const char *value)
{
	set_number(p, key, value, 1, 1024, "", &p->conf->control_max_clients);
}

/* user: NAME[:GROUP], looked up once every clause is read (resolve_user). */
static void key_user(struct parser *p, const char *key, const char *value)
{
	p->conf->user.text = dup_str(p, value);
	p->conf->user.line = p->line;
}

/* chroot: DIR; "" (as NSD) means none. Checked in resolve_chroot. */
static void key_chroot(struct parser *p, const char *key, const char *value)
{
	p->conf->chroot_line = p->line;
	if (value[0] != '\0')
		p->conf->chroot = resolve_path(p, value);
}

struct key_def {
	const char *name;
	key_fn fn;
	bool repeatable;
};

static const struct key_def server_keys[] = {
    {"listen", key_listen, true},
    {"workers", key_workers, false},
    {"identity", key_identity, false},
    {"version", key_version, false},
    {"nsid", key_nsid, false},
    {"edns-buffer-size", key_edns_size, false},
    {"tcp-idle-timeout", key_tcp_idle, false},
    {"tcp-max-clients", key_tcp_max, false},
    {"tcp-max-clients-per-worker", key_tcp_max_per_worker, false},
    {"tcp-max-time", key_tcp_max_time, false},
    {"tcp-max-message-size", key_tcp_max_message, false},
    {"log-level", key_log_level, false},
    {"storage", key_storage, false},
    {"pidfile", key_pidfile, false},
    {"control", key_control, false},
    {"control-mode", key_control_mode, false},
    {"control-timeout", key_control_timeout, false},
    {"control-max-request", key_control_max_request, false},
    {"control-max-clients", key_control_max_clients, false},
    {"user", key_user, false},
    {"chroot", key_chroot, false},
    {"cookie-secret", key_cookie_secret, true},
    {"cookie-require", key_cookie_require, false},
    {"rrl-rate", key_rrl_number, false},
    {"rrl-slip", key_rrl_number, false},
    {"rrl-ipv4-prefix", key_rrl_number, false},
    {"rrl-ipv6-prefix", key_rrl_number, false},
    {"rrl-exempt", key_rrl_exempt, true},
    {NULL, NULL, false},
};
_Static_assert(sizeof(server_keys) / sizeof(server_keys[0]) <= 64,
	       "struct parser's seen has a bit per server key");

/* ---- zone clause ------------------------------------------------------ */

static void zone_name(struct parser *p, const char *key, const char *value)
{
	struct conf_zone *z = p->zone;
	if (z->name != NULL) {
		report(p, p->line, "duplicate 'name' in zone clause");
		return;
	}
	/* Zone names are absolute whether or not the trailing dot is given:
	 * parse relative to the root. */
	static const uint8_t root[1] = {0};
	int len = dname_from_str(z->apex, value, strlen(value), root);
	if (len < 0) {
		report(p, p->line, "bad zone name '%s': %s", value,
		       error_str(len));
		return;
	}
	z->name = dup_str(p, value);
}

static void zone_file(struct parser *p, const char *key, const char *value)
{
	struct conf_zone *z = p->zone;
	if (z->file != NULL) {
		report(p, p->line, "duplicate 'file' in zone clause");
		return;
	}
	z->file = resolve_path(p, value);
	z->file_line = p->line;
}

/* Splits "WHERE [key NAME]" into WHERE and the key name (NULL when no
 * key is given; "NONE" is kept and means unsigned). Returns false on a
 * malformed value (reported). */
static bool split_key(struct parser *p, const char *value, char *where,
		      size_t wlen, struct conf_keyref *ref)
{
	char buf[CONF_MAX_LINE];
	snprintf(buf, sizeof(buf), "%s", value);
	char *save = NULL;
	char *first = strtok_r(buf, " \t", &save);
	char *kw = strtok_r(NULL, " \t", &save);
	char *name = strtok_r(NULL, " \t", &save);
	char *extra = strtok_r(NULL, " \t", &save);
	if (first == NULL || (kw && strcmp(kw, "key") != 0) || (kw && !name) ||
	    extra) {
		report(p, p->line, "expected 'ADDRESS [key NAME|NONE]', got '%s'",
		       value);
		return false;
	}
	snprintf(where, wlen, "%s", first);
	ref->line = p->line;
	ref->name = name ? dup_str(p, name) : NULL;
	return true;
}

/* Appends to a zone's peer list (primary:, notify:). */
static void zone_peer(struct parser *p, const char *key, const char *value,
		      struct xfr_peer **list, size_t *n,
		      struct conf_keyref **refs)
{
	char where[128];
	struct conf_keyref ref;
	if (!split_key(p, value, where, sizeof(where), &ref))
		return;
	struct conf_listen l;
	if (conf_parse_listen(where, CONF_DEFAULT_PORT, &l) != 0) {
		report(p, p->line, "bad address in %s: '%s'", key, where);
		free(ref.name);
		return;
	}
	struct xfr_peer *np = realloc(*list, (*n + 1) * sizeof(*np));
	struct conf_keyref *nr = realloc(*refs, (*n + 1) * sizeof(*nr));
	if (np)
		*list = np;
	if (nr)
		*refs = nr;
	if (np == NULL || nr == NULL) {
		p->nomem = true;
		free(ref.name);
		return;
	}
	struct xfr_peer *peer = &np[*n];
	memset(peer, 0, sizeof(*peer));
	peer->addr = l.addr;
	peer->addrlen = l.addrlen;
	snprintf(peer->text, sizeof(peer->text), "%s", l.text);
	nr[*n] = ref;
	(*n)++;
}

/* Appends to a zone's ACL (allow-notify:, allow-transfer:). */
static void zone_acl(struct parser *p, const char *key, const char *value,
		     struct acl_entry **list, size_t *n,
		     struct conf_keyref **refs)
{
	char where[128];
	struct conf_keyref ref;
	if (!split_key(p, value, where, sizeof(where), &ref))
		return;
	struct acl_entry e;
	if (acl_parse(where, &e) != 0) {
		report(p, p->line, "bad address or prefix in %s: '%s'", key, where);
		free(ref.name);
		return;
	}
	struct acl_entry *ne = realloc(*list, (*n + 1) * sizeof(*ne));
	struct conf_keyref *nr = realloc(*refs, (*n + 1) * sizeof(*nr));
	if (ne)
		*list = ne;
	if (nr)
		*refs = nr;
	if (ne == NULL || nr == NULL) {
		p->nomem = true;
		free(ref.name);
		return;
	}
	ne[*n] = e;
	nr[*n] = ref;
	(*n)++;
}

static void zone_primary(struct parser *p, const char *key, const char *value)
{
	struct conf_zone *z = p->zone;
	zone_peer(p, key, value, &z->xfr.primaries, &z->xfr.nprimaries,
		  &z->primary_keys);
}

static void zone_notify(struct parser *p, const char *key, const char *value)
{
	struct conf_zone *z = p->zone;
	zone_peer(p, key, value, &z->xfr.notify, &z->xfr.nnotify,
		  &z->notify_keys);
}

static void zone_allow_notify(struct parser *p, const char *key,
			      const char *value)
{
	struct conf_zone *z = p->zone;
	zone_acl(p, key, value, &z->xfr.allow_notify, &z->xfr.nallow_notify,
		 &z->allow_notify_keys);
}

static void zone_allow_transfer(struct parser *p, const char *key,
				const char *value)
{
	struct conf_zone *z = p->zone;
	zone_acl(p, key, value, &z->xfr.allow_transfer,
		 &z->xfr.nallow_transfer, &z->allow_transfer_keys);
}

/* A size with an optional K, M or G suffix (powers of 1024). */
static void zone_journal_size(struct parser *p, const char *key,
			      const char *value)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	unsigned long long mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1ull << 10;
	else if (*end == 'm' || *end == 'M')
		mult = 1ull << 20;
	else if (*end == 'g' || *end == 'G')
		mult = 1ull << 30;
	if (mult > 1)
		end++;
	if (errno != 0 || value[0] < '0' || value[0] > '9' || *end != '\0' ||
	    v > (1ull << 40) / mult) {
		report(p, p->line, "bad %s '%s': a size such as 64M", key, value);
		return;
	}
	p->zone->xfr.journal_max_size = v * mult;
}

/* refresh-min: and the other SOA timer clamps, in seconds. */
static void zone_timer(struct parser *p, const char *key, const char *value)
{
	unsigned long v;
	if (parse_uint(value, 1, 0x7fffffff, &v) != 0) {
		report(p, p->line, "bad %s '%s': seconds, at least 1", key, value);
		return;
	}
	struct xfr_settings *x = &p->zone->xfr;
	uint32_t *fields[] = { &x->refresh_min, &x->refresh_max, &x->retry_min,
			       &x->retry_max, &x->expire_min, &x->expire_max };
	const char *names[] = { "refresh-min", "refresh-max", "retry-min",
				"retry-max", "expire-min", "expire-max" };
	for (size_t i = 0; i < 6; i++)
		if (strcmp(key, names[i]) == 0)
			*fields[i] = (uint32_t)v;
}

static void zone_max_size(struct parser *p, const char *key, const char *value)
{
	unsigned long v;
	if (parse_uint(value, 1, ULONG_MAX, &v) != 0) {
		report(p, p->line, "bad %s '%s': a number of RRs", key, value);
		return;
	}
	p->zone->xfr.max_zone_rrs = v;
}

/* BIND's max-transfer-time-in, but in seconds as every tandem timer. */
static void zone_max_transfer_time(struct parser *p, const char *key,
				   const char *value)
{
	set_number(p, key, value, 1, 2419200, "seconds",
		   &p->zone->xfr.transfer_timeout);
}

static const struct key_def zone_keys[] = {
    {"name", zone_name, false},
    {"file", zone_file, false},
    {"primary", zone_primary, true},
    {"notify", zone_notify, true},
    {"allow-notify", zone_allow_notify, true},
    {"allow-transfer", zone_allow_transfer, true},
    {"journal-max-size", zone_journal_size, false},
    {"refresh-min", zone_timer, false},
    {"refresh-max", zone_timer, false},
    {"retry-min", zone_timer, false},
    {"retry-max", zone_timer, false},
    {"expire-min", zone_timer, false},
    {"expire-max", zone_timer, false},
    {"max-zone-size", zone_max_size, false},
    {"max-transfer-time-in", zone_max_transfer_time, false},
    {NULL, NULL, false},
};

/* ---- key clause ------------------------------------------------------- */

static void key_name(struct parser *p, const char *key, const char *value)
{
	if (p->key->name != NULL) {
		report(p, p->line, "duplicate 'name' in key clause");
		return;
	}
	p->key->name = dup_str(p, value);
}

static void key_algorithm(struct parser *p, const char *key, const char *value)
{
	enum tsig_algorithm alg;
	if (tsig_algorithm_from_str(value, &alg) != 0) {
		report(p, p->line, "unknown algorithm '%s' (hmac-md5, hmac-sha1, "
		       "hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)", value);
		return;
	}
	free(p->key_alg);
	p->key_alg = dup_str(p, value);
}

static void key_secret(struct parser *p, const char *key, const char *value)
{
	free(p->key_secret);
	p->key_secret = dup_str(p, value);
}

static const struct key_def key_keys[] = {
    {"name", key_name, false},
    {"algorithm", key_algorithm, false},
    {"secret", key_secret, false},
    {NULL, NULL, false},
};

/* Checks the key clause that just ended. */
static void close_key(struct parser *p)
{
	struct conf_key *k = p->key;
	if (k == NULL)
		return;
	p->key = NULL;
	struct conf *c = p->conf;
	const char *alg = p->key_alg ? p->key_alg : "hmac-sha256";
	int r;
	if (k->name == NULL) {
		report(p, k->line, "key clause without 'name'");
		goto drop;
	}
	if (p->key_secret == NULL) {
		report(p, k->line, "key '%s' has no 'secret'", k->name);
		goto drop;
	}
	r = tsig_key_init(&k->key, k->name, alg, p->key_secret);
	if (r != 0) {
		report(p, k->line, "key '%s': %s", k->name,
		       r == ERR_LIMIT ? "secret too long"
				      : "bad name or secret (base64 expected)");
		goto drop;
	}
	for (size_t i = 0; i + 1 < c->nkeys; i++) {
		if (dname_equal(c->keys[i].key.name, k->key.name)) {
			report(p, k->line, "duplicate key '%s' (first at %s:%lu)",
			       k->name, c->keys[i].conf_file, c->keys[i].line);
			goto drop;
		}
	}
	goto out;
drop:
	free(k->name);
	free(k->conf_file);
	c->nkeys--;
out:
	free(p->key_alg);
	free(p->key_secret);
	p->key_alg = p->key_secret = NULL;
}

static void open_key(struct parser *p)
{
	struct conf *c = p->conf;
	struct conf_key *n = realloc(c->keys, (c->nkeys + 1) * sizeof(*n));
	if (n == NULL) {
		p->nomem = true;
		return;
	}
	c->keys = n;
	p->key = &c->keys[c->nkeys++];
	memset(p->key, 0, sizeof(*p->key));
	p->key->line = p->line;
	p->key->conf_file = dup_str(p, p->file);
}

unsigned conf_tcp_clients_per_worker(const struct conf *c)
{
	if (c->tcp_max_clients_per_worker > 0)
		return c->tcp_max_clients_per_worker;
	unsigned n = c->workers ? c->workers : 1;
	return (c->tcp_max_clients + n - 1) / n;
}

const struct tsig_key *conf_find_key(const struct conf *c, const uint8_t *name)
{
	for (size_t i = 0; i < c->nkeys; i++)
		if (dname_equal(c->keys[i].key.name, name))
			return &c->keys[i].key;
	return NULL;
}

/* Resolves one key reference: NULL for none or "NONE". */
static bool resolve_ref(struct parser *p, const struct conf_zone *z,
			const struct conf_keyref *ref,
			const struct tsig_key **out)
{
	*out = NULL;
	if (ref->name == NULL || strcmp(ref->name, "NONE") == 0)
		return true;
	static const uint8_t root[1] = {0};
	uint8_t name[DNAME_MAXLEN];
	if (dname_from_str(name, ref->name, strlen(ref->name), root) < 0 ||
	    (*out = conf_find_key(p->conf, name)) == NULL) {
		p->errors++;
		if (p->err) {
			char msg[512];
			snprintf(msg, sizeof(msg), "zone '%s': no key named '%s'",
				 z->name, ref->name);
			p->err(p->arg, z->conf_file, ref->line, msg);
		}
		return false;
	}
	return true;
}

/* ---- user: and chroot: ------------------------------------------------ */

/* Rewrites an absolute path in place without "." or ".." components and
 * without repeated slashes. Under a chroot this matters: "/jail/x/../y"
 * names /jail/y outside, but its part "/x/../y" inside the chroot needs a
 * directory x there, and "/jail/../etc" is not under /jail at all. */
static void normalize_path(char *path)
{
	if (path == NULL || path[0] != '/')
		return;
	size_t w = 0; /* length written */
	const char *in = path;
	for (;;) {
		while (*in == '/')
			in++;
		if (*in == '\0')
			break;
		size_t n = strcspn(in, "/");
		if (n == 1 && in[0] == '.') {
			/* nothing */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (w > 0 && path[w - 1] != '/')
				w--;
			if (w > 0)
				w--; /* and its slash */
		} else {
			/* w is at most the offset of the slash before `in`. */
			path[w++] = '/';
			memmove(path + w, in, n);
			w += n;
		}
		in += n;
	}
	if (w == 0)
		path[w++] = '/';
	path[w] = '\0';
}

/* getpwnam_r and friends say "not found" with 0 and a NULL result, or
 * with one of these. */
static bool not_found(int r)
{
	return r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM;
}

/* The user's supplementary groups (as initgroups would set them) into u,
 * refusing a membership in gid 0. */
static void user_groups(struct parser *p, struct conf_user *u)
{
	int n = 32;
	for (int tries = 0; tries < 4; tries++) {
		gid_t *list = realloc(u->groups, (size_t)n * sizeof(*list));
		if (list == NULL) {
			p->nomem = true;
			return;
		}
		u->groups = list;
		int want = n;
		if (getgrouplist(u->name, u->gid, list, &want) >= 0) {
			u->ngroups = (size_t)want;
			for (size_t i = 0; i < u->ngroups; i++)
				if (list[i] == 0)
					report(
					    p, u->line,
					    "user '%s' is a member of "
					    "group root (gid 0) in the group "
					    "database: tandemd would keep "
					    "root's group",
					    u->name);
			return;
		}
		n = want > n ? want : 2 * n;
		if (n > 65536)
			break;
	}
	report(p, u->line, "cannot list the groups of user '%s'", u->name);
}

/* Looks up user: NAME[:GROUP] (names or numeric ids). The ids tandemd
 * switches to are never root's. */
static void resolve_user(struct parser *p)
{
	struct conf_user *u = &p->conf->user;
	char buf[CONF_MAX_LINE];
	snprintf(buf, sizeof(buf), "%s", u->text);
	char *group = strchr(buf, ':');
	if (group != NULL)
		*group++ = '\0';
	if (buf[0] == '\0' ||
	    (group != NULL && (group[0] == '\0' || strchr(group, ':')))) {
		report(p, u->line, "bad user '%s': expected NAME or NAME:GROUP",
		       u->text);
		return;
	}
	char dbbuf[16384];
	unsigned long id;
	bool numeric = parse_uint(buf, 0, UINT32_MAX - 1, &id) == 0;
	struct passwd pwd, *pw = NULL;
	int r = numeric ? getpwuid_r((uid_t)id, &pwd, dbbuf, sizeof(dbbuf), &pw)
			: getpwnam_r(buf, &pwd, dbbuf, sizeof(dbbuf), &pw);
	if (pw == NULL && !not_found(r)) {
		report(p, u->line, "cannot look up user '%s': %s", buf,
		       strerror(r));
		return;
	}
	if (pw == NULL && !numeric) {
		report(p, u->line, "unknown user '%s'", buf);
		return;
	}
	u->uid = numeric ? (uid_t)id : pw->pw_uid;
	if (pw != NULL)
		u->gid = pw->pw_gid;
	if (pw != NULL && (u->name = dup_str(p, pw->pw_name)) == NULL)
		return;
	if (group != NULL) {
		struct group grp, *gr = NULL;
		bool gnum = parse_uint(group, 0, UINT32_MAX - 1, &id) == 0;
		r = gnum
			? getgrgid_r((gid_t)id, &grp, dbbuf, sizeof(dbbuf), &gr)
			: getgrnam_r(group, &grp, dbbuf, sizeof(dbbuf), &gr);
		if (gr == NULL && !not_found(r)) {
			report(p, u->line, "cannot look up group '%s': %s",
			       group, strerror(r));
			return;
		}
		if (gr == NULL && !gnum) {
			report(p, u->line, "unknown group '%s'", group);
			return;
		}
		u->gid = gnum ? (gid_t)id : gr->gr_gid;
	} else if (pw == NULL) {
		report(p, u->line,
		       "user %s has no passwd entry: give its group "
		       "too (user: %s:GROUP)",
		       buf, buf);
		return;
	}
	if (u->uid == 0) {
		report(p, u->line,
		       "user '%s' is root (uid 0): name an "
		       "unprivileged user, or leave 'user:' out to run as root",
		       u->text);
		return;
	}
	if (u->gid == 0) {
		report(p, u->line,
		       "user '%s': the group is root (gid 0): name "
		       "an unprivileged group",
		       u->text);
		return;
	}
	if (u->name != NULL)
		user_groups(p, u);
}

/* chroot: must be a directory; "/" is the same as none. */
static void resolve_chroot(struct parser *p)
{
	struct conf *c = p->conf;
	struct stat st;
	if (stat(c->chroot, &st) != 0) {
		report(p, c->chroot_line, "chroot %s: %s", c->chroot,
		       strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		report(p, c->chroot_line, "chroot %s: not a directory",
		       c->chroot);
		return;
	}
	c->chroot_real = realpath(c->chroot, NULL);
	if (c->chroot_real == NULL)
		report(p, c->chroot_line, "chroot %s: %s", c->chroot,
		       strerror(errno));
}

/* reconfig: user: and chroot: stay what the server started with (it has
 * switched to them already); the lookups are copied, not made again. */
static void keep_running_identity(struct parser *p)
{
	struct conf *c = p->conf;
	const struct conf *r = p->running;
	const char *ru = r->user.text, *cu = c->user.text;
	if ((ru == NULL) != (cu == NULL) || (ru && strcmp(ru, cu) != 0)) {
		report(p, c->user.line,
		       "user: %s, but tandemd runs as %s: "
		       "changing it needs a restart",
		       cu ? cu : "removed", ru ? ru : "it was started");
	} else if (ru != NULL) {
		struct conf_user *u = &c->user;
		u->uid = r->user.uid;
		u->gid = r->user.gid;
		u->name = r->user.name ? dup_str(p, r->user.name) : NULL;
		if (r->user.ngroups > 0) {
			u->groups = malloc(r->user.ngroups * sizeof(gid_t));
			if (u->groups == NULL) {
				p->nomem = true;
				return;
			}
			memcpy(u->groups, r->user.groups,
			       r->user.ngroups * sizeof(gid_t));
			u->ngroups = r->user.ngroups;
		}
	}
	const char *rc = r->chroot, *cc = c->chroot;
	if ((rc == NULL) != (cc == NULL) || (rc && strcmp(rc, cc) != 0)) {
		report(p, c->chroot_line,
		       "chroot: %s, but tandemd runs in %s: "
		       "changing it needs a restart",
		       cc ? cc : "removed", rc ? rc : "no chroot");
	} else if (r->chroot_real != NULL) {
		c->chroot_real = dup_str(p, r->chroot_real);
	}
}

/* user: and chroot:, before the storage paths are derived. */
static void finish_identity(struct parser *p)
{
	struct conf *c = p->conf;
	normalize_path(c->chroot);
	if (c->chroot != NULL && strcmp(c->chroot, "/") == 0) {
		free(c->chroot);
		c->chroot = NULL;
	}
	if (p->running != NULL) {
		keep_running_identity(p);
	} else {
		if (c->user.text != NULL)
			resolve_user(p);
		if (c->chroot != NULL)
			resolve_chroot(p);
	}
	if (c->chroot == NULL)
		return;
	/* Their part under the chroot must mean the same inside it. */
	normalize_path(c->storage);
	normalize_path(c->pidfile);
	normalize_path(c->control);
	for (size_t i = 0; i < c->nzones; i++)
		normalize_path(c->zones[i].file);
}

/* Everything tandemd opens after the chroot must be under it: zone files
 * (reload), storage (transfers, journals). The pidfile and the control
 * socket are created before and may be elsewhere. */
static void finish_chroot(struct parser *p)
{
	struct conf *c = p->conf;
	if (c->chroot == NULL)
		return;
	if (c->storage != NULL && conf_chroot_path(c, c->storage) == NULL)
		report(p, c->storage_line,
		       "storage %s is outside the chroot %s", c->storage,
		       c->chroot);
	for (size_t i = 0; i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];
		if (z->file_line != 0 && z->file != NULL &&
		    conf_chroot_path(c, z->file) == NULL) {
			p->errors++;
			if (p->err) {
				char msg[512];
				snprintf(msg, sizeof(msg),
					 "zone '%s': file %s is "
					 "outside the chroot %s",
					 z->name, z->file, c->chroot);
				p->err(p->arg, z->conf_file, z->file_line, msg);
			}
		}
	}
	if (p->running != NULL && p->running->chrooted && p->errors == 0)
		conf_enter_chroot(c);
}

/* How far `path` goes under `dir`: strlen(dir), or 0 when not under it. */
static size_t under_dir(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	if (strncmp(path, dir, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return 0;
	return n;
}

const char *conf_chroot_path(const struct conf *c, const char *path)
{
	if (c->chroot == NULL || c->chrooted)
		return path;
	size_t n = under_dir(c->chroot, path);
	if (n == 0 && c->chroot_real != NULL)
		n = under_dir(c->chroot_real, path);
	if (n == 0)
		return NULL;
	return path[n] != '\0' ? path + n : "/";
}

/* One path made as seen from inside the chroot; one outside it is left
 * alone, or dropped when `drop`. */
static void enter_path(const struct conf *c, char **slot, bool drop)
{
	if (*slot == NULL)
		return;
	const char *in = conf_chroot_path(c, *slot);
	if (in == NULL) {
		if (drop) {
			free(*slot);
			*slot = NULL;
		}
		return;
	}
	memmove(*slot, in, strlen(in) + 1);
}

void conf_enter_chroot(struct conf *c)
{
	if (c->chroot == NULL || c->chrooted)
		return;
	enter_path(c, &c->storage, false);
	enter_path(c, &c->pidfile, true);
	enter_path(c, &c->control, true);
	for (size_t i = 0; i < c->nzones; i++) {
		struct conf_zone *z = &c->zones[i];
		/* xfr.zonefile is z->file itself: rewritten with it. */
		enter_path(c, &z->file, false);
		enter_path(c, &z->xfr.journal, false);
		enter_path(c, &z->xfr.timers, false);
	}
	c->chrooted = true;
}

/* Once every clause is read: key references, storage paths, defaults. */
static void finish_zones(struct parser *p)
{
	struct conf *c = p->conf;
	for (size_t i = 0; i < c->nzones; i++) {
		struct conf_zone *z = &c->zones[i];
		struct xfr_settings *x = &z->xfr;
		for (size_t k = 0; k < x->nprimaries; k++)
			resolve_ref(p, z, &z->primary_keys[k], &x->primaries[k].key);
		for (size_t k = 0; k < x->nnotify; k++)
			resolve_ref(p, z, &z->notify_keys[k], &x->notify[k].key);
		for (size_t k = 0; k < x->nallow_notify; k++)
			resolve_ref(p, z, &z->allow_notify_keys[k],
				    &x->allow_notify[k].key);
		for (size_t k = 0; k < x->nallow_transfer; k++)
			resolve_ref(p, z, &z->allow_transfer_keys[k],
				    &x->allow_transfer[k].key);
		x->secondary = x->nprimaries > 0;
		if (x->journal_max_size == 0)
			x->journal_max_size = CONF_DEFAULT_JOURNAL_MAX;
		if (x->transfer_timeout == 0)
			x->transfer_timeout = XFRD_DEFAULT_TRANSFER_TIME;
		/* Defaults of the SOA timer clamps (NSD-like; a config may go
		 * down to 1 s). */
		if (!x->refresh_min) x->refresh_min = 60;
		if (!x->refresh_max) x->refresh_max = 86400;
		if (!x->retry_min) x->retry_min = 60;
		if (!x->retry_max) x->retry_max = 3600;
		if (!x->expire_min) x->expire_min = 3600;
		if (!x->expire_max) x->expire_max = 2419200;
		if (x->refresh_min > x->refresh_max || x->retry_min > x->retry_max ||
		    x->expire_min > x->expire_max)
			report(p, z->line, "zone '%s': a timer's -min is above its -max",
			       z->name);
		if (x->allow_notify && !x->secondary)
			report(p, z->line, "zone '%s': allow-notify without primary",
			       z->name);
		/* Files in storage: the secondary's copy (unless file: says
		 * where), the journal, the timers. */
		char name[DNAME_STRLEN];
		dname_to_str(name, sizeof(name), z->apex);
		size_t nlen = strlen(name);
		if (nlen > 1 && name[nlen - 1] == '.')
			name[nlen - 1] = '\0';
		if (c->storage != NULL) {
			size_t len = strlen(c->storage) + nlen + 16;
			x->journal = malloc(len);
			x->timers = malloc(len);
			if (x->journal == NULL || x->timers == NULL) {
				p->nomem = true;
				return;
			}
			snprintf(x->journal, len, "%s/%s.journal", c->storage, name);
			snprintf(x->timers, len, "%s/%s.timers", c->storage, name);
			if (z->file == NULL && x->secondary) {
				z->file = malloc(len);
				if (z->file == NULL) {
					p->nomem = true;
					return;
				}
				snprintf(z->file, len, "%s/%s.zone", c->storage, name);
			}
		} else if (x->secondary) {
			report(p, z->line, "secondary zone '%s' needs 'storage:' in "
			       "the server clause (for its timers and journal)",
			       z->name);
		}
		if (x->secondary)
			x->zonefile = z->file;
	}
	if (c->control == NULL && c->storage != NULL) {
		size_t len = strlen(c->storage) + 16;
		c->control = malloc(len);
		if (c->control == NULL) {
			p->nomem = true;
			return;
		}
		snprintf(c->control, len, "%s/tandemd.ctl", c->storage);
	}
	if (c->control_mode == 0)
		c->control_mode = 0600;
}

static void free_refs(struct conf_keyref *refs, size_t n)
{
	for (size_t i = 0; refs && i < n; i++)
		free(refs[i].name);
	free(refs);
}

static void conf_zone_free(struct conf_zone *z)
{
	free(z->name);
	free(z->file);
	free(z->conf_file);
	free_refs(z->primary_keys, z->xfr.nprimaries);
	free_refs(z->notify_keys, z->xfr.nnotify);
	free_refs(z->allow_notify_keys, z->xfr.nallow_notify);
	free_refs(z->allow_transfer_keys, z->xfr.nallow_transfer);
	free(z->xfr.primaries);
	free(z->xfr.notify);
	free(z->xfr.allow_notify);
	free(z->xfr.allow_transfer);
	free(z->xfr.journal);
	free(z->xfr.timers);
	memset(z, 0, sizeof(*z));
}

/* Checks the zone clause that just ended. */
static void close_zone(struct parser *p)
{
	struct conf_zone *z = p->zone;
	if (z == NULL)
		return;
	p->zone = NULL;
	struct conf *c = p->conf;
	if (z->name == NULL) {
		report(p, z->line, "zone clause without 'name'");
		goto drop;
	}
	if (z->file == NULL && z->xfr.nprimaries == 0) {
		report(p, z->line, "zone '%s' has no 'file' (and no 'primary')",
		       z->name);
		goto drop;
	}
	for (size_t i = 0; i + 1 < c->nzones; i++) {
		if (dname_equal(c->zones[i].apex, z->apex)) {
			report(p, z->line,
			       "duplicate zone '%s' (first at %s:%lu)", z->name,
			       c->zones[i].conf_file, c->zones[i].line);
			goto drop;
		}
	}
	return;
drop:
	conf_zone_free(z);
	c->nzones--;
}

static void open_zone(struct parser *p)
{
	struct conf *c = p->conf;
	struct conf_zone *n = realloc(c->zones, (c->nzones + 1) * sizeof(*n));
	if (n == NULL) {
		p->nomem = true;
		return;
	}
	c->zones = n;
	p->zone = &c->zones[c->nzones++];
	memset(p->zone, 0, sizeof(*p->zone));
	p->zone->line = p->line;
	p->zone->conf_file = dup_str(p, p->file);
}

/* ---- lines ------------------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void handle_clause(struct parser *p, const char *name)
{
	close_zone(p);
	close_key(p);
	if (strcmp(name, "server") == 0) {
		p->clause = CLAUSE_SERVER;
	} else if (strcmp(name, "zone") == 0) {
		p->clause = CLAUSE_ZONE;
		open_zone(p);
	} else if (strcmp(name, "key") == 0) {
		p->clause = CLAUSE_KEY;
		open_key(p);
	} else {
		p->clause = CLAUSE_NONE;
		report(p, p->line, "unknown clause '%s:'", name);
	}
}

static void handle_key(struct parser *p, const char *key, const char *value)
{
	const struct key_def *defs;
	const char *clause_name;
	switch (p->clause) {
	case CLAUSE_SERVER:
		defs = server_keys;
		clause_name = "server";
		break;
	case CLAUSE_ZONE:
		defs = zone_keys;
		clause_name = "zone";
		break;
	case CLAUSE_KEY:
		defs = key_keys;
		clause_name = "key";
		break;
	default:
		report(p, p->line, "'%s' outside of a clause", key);
		return;
	}
	for (size_t i = 0; defs[i].name != NULL; i++) {
		if (strcmp(defs[i].name, key) != 0)
			continue;
		if (p->clause == CLAUSE_SERVER && !defs[i].repeatable) {
			if (p->seen & (1ull << i)) {
				report(p, p->line, "duplicate '%s'", key);
				return;
			}
			p->seen |= 1ull << i;
		}
		if ((p->clause == CLAUSE_ZONE && p->zone == NULL) ||
		    (p->clause == CLAUSE_KEY && p->key == NULL))
			return; /* allocation of the clause failed */
		defs[i].fn(p, key, value);
		return;
	}
	report(p, p->line, "unknown key '%s' in %s clause", key, clause_name);
}

/* Splits one line (NUL-terminated, no newline) into key and value. */
static void parse_line(struct parser *p, char *s)
{
	while (is_space(*s))
		s++;
	if (*s == '\0' || *s == '#')
		return;
	char *key = s;
	while (is_key_char(*s))
		s++;
	if (s == key || *s != ':') {
		report(p, p->line, "expected 'key: value' or 'clause:'");
		return;
	}
	*s++ = '\0';
	while (is_space(*s))
		s++;

	char *value = s;
	bool quoted = false;
	if (*s == '"') {
		quoted = true;
		value = ++s;
		while (*s != '\0' && *s != '"')
			s++;
		if (*s != '"') {
			report(p, p->line, "unterminated quoted value");
			return;
		}
		*s++ = '\0';
		while (is_space(*s))
			s++;
		if (*s != '\0' && *s != '#') {
			report(p, p->line,
			       "unexpected text after quoted value");
			return;
		}
	} else {
		while (*s != '\0' && *s != '#')
			s++;
		while (s > value && is_space(s[-1]))
			s--;
		*s = '\0';
	}

	if (!quoted && value[0] == '\0')
		handle_clause(p, key);
	else
		handle_key(p, key, value);
}

/* ---- defaults --------------------------------------------------------- */

static void set_defaults(struct parser *p)
{
	struct conf *c = p->conf;
	if (c->workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
		if (n > CONF_MAX_WORKERS)
			n = CONF_MAX_WORKERS;
		c->workers = (unsigned)n;
	}
	if (!p->identity_set) {
		char host[256] = "";
		if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "tandem");
		c->identity = dup_str(p, host);
	}
	if (!p->version_set)
		c->version = dup_str(p, "tandem " TANDEM_VERSION);
	if (!p->listen_set) {
		c->listens = calloc(2, sizeof(*c->listens));
		if (c->listens == NULL) {
			p->nomem = true;
			return;
		}
		conf_parse_listen("0.0.0.0", CONF_DEFAULT_PORT, &c->listens[0]);
		conf_parse_listen("::", CONF_DEFAULT_PORT, &c->listens[1]);
		c->nlistens = 2;
	}
}

static void init_conf(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->edns_buffer_size = CONF_DEFAULT_EDNS_SIZE;
	c->tcp_idle_timeout = CONF_DEFAULT_TCP_IDLE;
	c->tcp_max_clients = CONF_DEFAULT_TCP_MAX;
	c->tcp_max_time = CONF_DEFAULT_TCP_MAX_TIME;
	c->tcp_max_message_size = CONF_DEFAULT_TCP_MAX_MSG;
	c->control_timeout = CONTROL_TIMEOUT;
	c->control_max_request = CONTROL_MAX_REQUEST;
	c->control_max_clients = CONTROL_MAX_CLIENTS;
	/* Rate limiting is off unless rrl-rate is set; its other defaults
	 * are BIND's and Knot's. */
	c->rrl_slip = 2;
	c->rrl_ipv4_prefix = 24;
	c->rrl_ipv6_prefix = 56;
	c->log_level = LOG_LEVEL_INFO;
}

/* The directory of `path`, absolute when it exists. */
static char *config_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return NULL;
	char *real = realpath(dir, NULL);
	if (real != NULL) {
		free(dir);
		return real;
	}
	return dir;
}

/* Parses config text: `path` names it in messages; relative paths are
 * relative to `dir` (NULL: the directory of path); `running` is the config
 * in use for a reconfig, else NULL. */
static int parse_text(const char *path, const char *dir,
		      const struct conf *running, const char *text, size_t len,
		      struct conf *out, conf_error_fn err, void *arg)
{
	init_conf(out);
	struct parser p = {
	    .conf = out,
	    .running = running,
	    .file = path,
	    .err = err,
	    .arg = arg,
	};
	out->path = strdup(path);
	p.dir = dir ? strdup(dir) : config_dir(path);
	out->dir = p.dir ? strdup(p.dir) : NULL;
	if (out->path == NULL || p.dir == NULL || out->dir == NULL) {
		free(p.dir);
		return ERR_NOMEM;
	}

	char line[CONF_MAX_LINE];
	size_t pos = 0;
	while (pos < len && !p.nomem) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t linelen = end - pos;
		p.line++;
		if (linelen >= sizeof(line)) {
			report(&p, p.line, "line longer than %d characters",
			       CONF_MAX_LINE - 1);
		} else if (memchr(text + pos, '\0', linelen) != NULL) {
			report(&p, p.line, "NUL character in line");
		} else {
			memcpy(line, text + pos, linelen);
			line[linelen] = '\0';
			parse_line(&p, line);
		}
		pos = end + 1;
	}
	close_zone(&p);
	close_key(&p);
	if (!p.nomem)
		finish_identity(&p);
	if (!p.nomem)
		finish_zones(&p);
	if (!p.nomem)
		finish_chroot(&p);
	if (!p.nomem)
		set_defaults(&p);
	free(p.dir);
	if (p.nomem) {
		if (err)
			err(arg, path, 0, "out of memory");
		return ERR_NOMEM;
	}
	return p.errors ? ERR_SYNTAX : 0;
}

int conf_parse(const char *path, const char *text, size_t len, struct conf *out,
	       conf_error_fn err, void *arg)
{
	return parse_text(path, NULL, NULL, text, len, out, err, arg);
}

/* Reads the config file named `path` in messages, opened as open_path
 * (the same file, absolute or inside the chroot when `inner`), into a
 * fresh buffer *text of *len bytes. Returns 0, ERR_IO, ERR_LIMIT or
 * ERR_NOMEM. */
static int read_text(const char *path, const char *open_path, bool inner,
		     char **text, size_t *len, conf_error_fn err, void *arg)
{
	*text = NULL;
	*len = 0;
	FILE *f = fopen(open_path, "r");
	if (f == NULL) {
		if (err) {
			char msg[PATH_MAX + 300];
			if (inner)
				snprintf(msg, sizeof(msg),
					 "cannot open (as %s "
					 "inside the chroot): %s",
					 open_path, strerror(errno));
			else
				snprintf(msg, sizeof(msg), "cannot open: %s",
					 strerror(errno));
			err(arg, path, 0, msg);
		}
		return ERR_IO;
	}
	size_t cap = 0;
	int ret = 0;
	for (;;) {
		if (*len == cap) {
			if (cap >= CONF_MAX_FILE) {
				if (err)
					err(arg, path, 0, "file too large");
				ret = ERR_LIMIT;
				break;
			}
			size_t ncap = cap ? cap * 2 : 8192;
			char *n = realloc(*text, ncap);
			if (n == NULL) {
				ret = ERR_NOMEM;
				break;
			}
			*text = n;
			cap = ncap;
		}
		size_t r = fread(*text + *len, 1, cap - *len, f);
		*len += r;
		if (r == 0) {
			if (ferror(f)) {
				if (err)
					err(arg, path, 0, "read error");
				ret = ERR_IO;
			}
			break;
		}
	}
	fclose(f);
	if (ret != 0) {
		free(*text);
		*text = NULL;
	}
	return ret;
}

int conf_load(const char *path, struct conf *out, conf_error_fn err, void *arg)
{
	init_conf(out);
	char *text;
	size_t len;
	int ret = read_text(path, path, false, &text, &len, err, arg);
	if (ret == 0)
		ret = conf_parse(path, text ? text : "", len, out, err, arg);
	free(text);
	return ret;
}

int conf_reload(const struct conf *running, struct conf *out, conf_error_fn err,
		void *arg)
{
	init_conf(out);
	/* The file as it was found at start-up, whatever the working
	 * directory is now (a chroot changes it to its root). */
	const char *base = strrchr(running->path, '/');
	base = base ? base + 1 : running->path;
	size_t alen = strlen(running->dir) + 1 + strlen(base) + 1;
	char *abs = malloc(alen);
	if (abs == NULL)
		return ERR_NOMEM;
	snprintf(abs, alen, "%s%s%s", running->dir,
		 strcmp(running->dir, "/") == 0 ? "" : "/", base);
	const char *inner = NULL;
	if (running->chrooted) {
		const struct conf outer = {.chroot = running->chroot,
					   .chroot_real = running->chroot_real};
		inner = conf_chroot_path(&outer, abs);
		if (inner == NULL) {
			if (err) {
				char msg[PATH_MAX + 300];
				snprintf(
				    msg, sizeof(msg),
				    "the config file %s is "
				    "outside the chroot %s: reconfig cannot "
				    "read it (restart tandemd instead)",
				    abs, running->chroot);
				err(arg, running->path, 0, msg);
			}
			free(abs);
			return ERR_IO;
		}
	}
	char *text;
	size_t len;
	int ret = read_text(running->path, inner ? inner : abs, inner != NULL,
			    &text, &len, err, arg);
	free(abs);
	if (ret == 0)
		ret = parse_text(running->path, running->dir, running,
				 text ? text : "", len, out, err, arg);
	free(text);
	return ret;
}

void conf_free(struct conf *c)
{
	free(c->path);
	free(c->listens);
	free(c->identity);
	free(c->version);
	free(c->storage);
	free(c->pidfile);
	free(c->control);
	free(c->user.text);
	free(c->user.name);
	free(c->user.groups);
	free(c->chroot);
	free(c->chroot_real);
	free(c->dir);
	if (c->cookie_secrets != NULL)
		sodium_memzero(c->cookie_secrets,
			       c->ncookie_secrets * sizeof(*c->cookie_secrets));
	free(c->cookie_secrets);
	free(c->rrl_exempt);
	for (size_t i = 0; i < c->nzones; i++)
		conf_zone_free(&c->zones[i]);
	free(c->zones);
	for (size_t i = 0; i < c->nkeys; i++) {
		free(c->keys[i].name);
		free(c->keys[i].conf_file);
		sodium_memzero(&c->keys[i].key, sizeof(c->keys[i].key));
	}
	free(c->keys);
	memset(c, 0, sizeof(*c));
}

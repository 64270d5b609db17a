/*
 * conf.h -- the tandemd configuration file.
 *
 * NSD-like clauses: a line "server:" or "zone:" opens a clause, the lines
 * after it are "key: value" pairs of that clause, one per line. '#' starts
 * a comment outside double quotes; a value may be quoted to keep spaces or
 * '#'. Relative paths are relative to the directory of the config file.
 * Every error is reported as "file:line: message" through a callback and
 * parsing goes on, so one run shows all the errors of a file.
 *
 * These structs are server-private: nothing below server/ reads them.
 */
#ifndef TANDEM_SERVER_CONF_H
#define TANDEM_SERVER_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "dns/dname.h"
#include "dns/tsig.h"
#include "dns/cookie.h"
#include "server/control.h"
#include "server/log.h"
#include "server/rrl.h"
#include "xfr/xfrd.h"

#define CONF_DEFAULT_PORT      53
#define CONF_DEFAULT_EDNS_SIZE 1232
#define CONF_DEFAULT_TCP_IDLE  10
#define CONF_DEFAULT_TCP_MAX   1000
/* A TCP connection, however busy, ends after this long: BIND's
 * max-transfer-time-out, so that a 1 GB transfer out may average down to
 * 140 KB/s, but a client reading one window at a time cannot keep its
 * slot (and the zone version it streams) for ever. */
#define CONF_DEFAULT_TCP_MAX_TIME 7200
#define CONF_DEFAULT_TCP_MAX_MSG  65535 /* what a length prefix can say */
#define CONF_MAX_WORKERS       256
#define CONF_MAX_NSID	       128
#define CONF_MAX_TXT	       255 /* one <character-string> (RFC 1035 §3.3) */

/* One listen address. */
struct conf_listen {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, with port */
	socklen_t addrlen;
	char text[64]; /* "address@port", for logs */
};

/* One key clause (RFC 8945 shared secret). */
struct conf_key {
	struct tsig_key key;
	char *name;                 /* as written */
	char *conf_file;
	unsigned long line;
};

/* A reference to a key by name, resolved once every clause is read. */
struct conf_keyref {
	char *name;                 /* NULL or "NONE": unsigned */
	unsigned long line;
};

#define CONF_DEFAULT_JOURNAL_MAX (64u << 20)

/* One zone clause. */
struct conf_zone {
	char *name;		    /* presentation form as written */
	uint8_t apex[DNAME_MAXLEN]; /* wire form */
	char *file;		    /* absolute or config-relative path,
				       resolved; for a secondary, where the
				       transferred copy is kept */
	char *conf_file;	    /* where the clause is, for messages */
	unsigned long line;
	/* Replication (xfr/): the lists point into the zone's own arrays;
	 * key pointers point into conf->keys. A zone with primaries is a
	 * secondary. */
	struct xfr_settings xfr;
	struct conf_keyref *primary_keys, *notify_keys;
	struct conf_keyref *allow_notify_keys, *allow_transfer_keys;
	unsigned long file_line; /* of 'file:'; 0 when not given */
};

/* server: user: -- whom tandemd runs as once it has bound its sockets
 * (see main.c). Looked up when the config is read, so that the user and
 * group databases are not needed after a chroot. */
struct conf_user {
	char *text;    /* "NAME" or "NAME:GROUP" as written; NULL: unset */
	char *name;    /* the passwd name, or NULL for a uid without one */
	uid_t uid;     /* never 0 */
	gid_t gid;     /* never 0 */
	gid_t *groups; /* supplementary groups: the user's in the group
			  database (initgroups), none without a name */
	size_t ngroups;
	unsigned long line;
};

struct conf {
	char *path; /* the config file as given */
	struct conf_listen *listens;
	size_t nlistens;
	unsigned workers; /* >= 1 after conf_load */
	char *identity;	  /* NULL: 'hide' (CH queries REFUSED) */
	char *version;	  /* NULL: 'hide' */
	uint8_t nsid[CONF_MAX_NSID];
	size_t nsid_len; /* 0: no NSID option is sent */
	uint16_t edns_buffer_size;
	unsigned tcp_idle_timeout; /* seconds */
	unsigned tcp_max_clients;  /* for the whole server */
	unsigned tcp_max_clients_per_worker; /* 0: tcp_max_clients split
						 over the workers */
	unsigned tcp_max_time;	       /* seconds a TCP connection may last */
	unsigned tcp_max_message_size; /* octets of a client's TCP message */
	/* DNS Cookies (RFC 7873): the first secret makes server cookies,
	 * all are accepted; none configured: one made at random at start. */
	uint8_t (*cookie_secrets)[COOKIE_SECRET_LEN];
	size_t ncookie_secrets;
	bool cookie_require;
	/* Response rate limiting (rrl.h); rrl_rate 0: off. */
	unsigned rrl_rate, rrl_slip, rrl_ipv4_prefix, rrl_ipv6_prefix;
	struct rrl_netblock *rrl_exempt;
	size_t nrrl_exempt;
	enum log_level log_level;
	char *storage; /* NULL when unset */
	char *pidfile; /* NULL when unset */
	char *control; /* control socket path; NULL: none */
	unsigned control_mode;
	unsigned control_timeout;     /* seconds (control.h) */
	unsigned control_max_request; /* octets of a request line */
	unsigned control_max_clients; /* connected at once */
	struct conf_user user;
	char *chroot;	   /* absolute, without '.' or '..'; NULL: none */
	char *chroot_real; /* the same resolved by realpath() */
	bool chrooted;	   /* conf_enter_chroot made its paths inner */
	char *dir;	   /* the config file's directory, resolved */
	unsigned long storage_line, chroot_line;
	struct conf_key *keys;
	size_t nkeys;
	struct conf_zone *zones;
	size_t nzones;
};

/* Receives one error: file, line (0 when the error concerns no line) and
 * the message. */
typedef void (*conf_error_fn)(void *arg, const char *file, unsigned long line,
			      const char *msg);

/* Reads the config file at `path` into *out (which the caller then owns and
 * frees with conf_free, even on failure). Unset keys take their defaults
 * (workers: number of online CPUs, identity: the host name, version:
 * "tandem <version>", listen: 0.0.0.0@53 and ::@53). Returns 0, ERR_IO when
 * the file cannot be read, ERR_SYNTAX after reporting every error, or
 * ERR_NOMEM. */
int conf_load(const char *path, struct conf *out, conf_error_fn err, void *arg);

/* Same for config text in memory; `path` names it in messages and anchors
 * relative paths. */
int conf_parse(const char *path, const char *text, size_t len, struct conf *out,
	       conf_error_fn err, void *arg);

/* Re-reads the config file of a running server (reconfig) into *out,
 * which the caller frees with conf_free. The file is the one `running`
 * was read from, opened inside running's chroot when it has one, and its
 * relative paths are resolved as they were at start-up. user: and chroot:
 * must be as in `running` (changing them needs a restart; they are not
 * looked up again, the databases may be out of reach), and every path is
 * made as seen from inside the chroot (conf_enter_chroot). Returns as
 * conf_load; a config file outside the chroot is ERR_IO. */
int conf_reload(const struct conf *running, struct conf *out, conf_error_fn err,
		void *arg);

/* `path` as seen from inside c's chroot: a pointer into path (or "/"),
 * NULL when it is outside the chroot. Without a chroot, or once
 * conf_enter_chroot ran, path itself. */
const char *conf_chroot_path(const struct conf *c, const char *path);

/* Once the process is chrooted: rewrites every path of *c in place to its
 * view from inside the chroot (conf_load has refused zone files and storage
 * outside it); a pidfile or control socket outside it becomes NULL. Does
 * nothing the second time, or without a chroot. */
void conf_enter_chroot(struct conf *c);

/* Frees everything conf_load allocated and zeroes *c. */
void conf_free(struct conf *c);

/* The key named `name` (any case), or NULL. */
const struct tsig_key *conf_find_key(const struct conf *c, const uint8_t *name);

/* The TCP connections each worker may hold: tcp-max-clients-per-worker
 * when set, else tcp-max-clients split over the workers (rounded up). */
unsigned conf_tcp_clients_per_worker(const struct conf *c);

/* Parses "address[@port]" (IPv4 or IPv6) into *out. Returns 0 or
 * ERR_SYNTAX. */
int conf_parse_listen(const char *str, uint16_t default_port,
		      struct conf_listen *out);

#endif

/*
 * tandemctl -- send one command to tandemd's control socket.
 *
 *   tandemctl [-c CONFIG | -s SOCKET] [-t SECONDS] COMMAND [ARGS...]
 *
 * Prints the answer's lines on stdout, except a final "error: ..." line,
 * which goes to stderr. Exit 0 on "ok", 1 on "error: ...", 2 when the
 * daemon cannot be reached, the answer does not end in ok or error, or it
 * takes longer than the timeout (default 30 s, 300 s for reload and
 * reconfig; 0 waits forever); 2 also for bad usage.
 *
 * The socket is SOCKET, or the one CONFIG names (default
 * /etc/tandem/tandemd.conf): the control: key of the server: clause, else
 * tandemd.ctl in the storage: directory, else /run/tandem/tandemd.ctl
 * (also when the default config does not exist). Relative paths are
 * relative to the config file's directory.
 * The config is read by the small reader below, not by tandemd's parser:
 * the client stays a thin program that only needs those two keys.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/control.h"

#define DEFAULT_CONFIG	"/etc/tandem/tandemd.conf"
#define DEFAULT_SOCKET	"/run/tandem/tandemd.ctl"
#define SOCKET_NAME	"tandemd.ctl"
#define DEFAULT_TIMEOUT 30
#define LONG_TIMEOUT	300 /* reload and reconfig may parse big zones */

static void usage(void)
{
	fprintf(stderr,
		"usage: tandemctl [-c CONFIG | -s SOCKET] [-t SECONDS] "
		"COMMAND [ARGS...]\n"
		"commands: status, reload [ZONE], reconfig, zonestatus [ZONE], "
		"notify ZONE,\n"
		"          refresh ZONE, retransfer ZONE, stats [reset], "
		"log-reopen, stop\n");
}

/* ---- finding the socket in the config file ---------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Splits a config line in place as tandemd does: "key: value" with an
 * optional double-quoted value and '#' comments outside quotes; a clause
 * opens with "name:" and nothing after it. Returns false for blank,
 * comment and malformed lines (the daemon reports those). */
static bool split_line(char *s, char **key, char **value, bool *clause)
{
	while (is_space(*s))
		s++;
	*key = s;
	while (is_key_char(*s))
		s++;
	if (s == *key || *s != ':')
		return false;
	*s++ = '\0';
	while (is_space(*s))
		s++;
	*value = s;
	if (*s == '"') {
		*value = ++s;
		while (*s != '\0' && *s != '"')
			s++;
		if (*s != '"')
			return false;
		*s = '\0';
		*clause = false;
		return true;
	}
	while (*s != '\0' && *s != '#')
		s++;
	while (s > *value && is_space(s[-1]))
		s--;
	*s = '\0';
	*clause = **value == '\0';
	return true;
}

/* The directory of the config file, absolute when it exists. */
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

/* dir/value, or value when it is absolute; with suffix appended. */
static char *join_path(const char *dir, const char *value, const char *suffix)
{
	char *out = NULL;
	int n;
	if (value[0] == '/')
		n = asprintf(&out, "%s%s", value, suffix);
	else
		n = asprintf(&out, "%s/%s%s", dir, value, suffix);
	return n < 0 ? NULL : out;
}

/* Reads the socket path out of the config file. Returns it (malloc'd), or
 * NULL with errno set when the file cannot be read. */
static char *socket_from_config(const char *conf_path)
{
	FILE *f = fopen(conf_path, "r");
	if (f == NULL)
		return NULL;
	char *control = NULL, *storage = NULL;
	char *line = NULL;
	size_t cap = 0;
	bool in_server = false;
	while (getline(&line, &cap, f) != -1) {
		char *key, *value;
		bool clause;
		if (!split_line(line, &key, &value, &clause))
			continue;
		if (clause) {
			in_server = strcmp(key, "server") == 0;
			continue;
		}
		if (!in_server)
			continue;
		char **slot = strcmp(key, "control") == 0   ? &control
			      : strcmp(key, "storage") == 0 ? &storage
							    : NULL;
		if (slot != NULL) {
			free(*slot);
			*slot = strdup(value);
		}
	}
	int err = ferror(f) ? errno : 0;
	free(line);
	fclose(f);
	char *dir = config_dir(conf_path);
	char *out = NULL;
	if (err != 0 || dir == NULL)
		;
	else if (control != NULL && control[0] != '\0')
		out = join_path(dir, control, "");
	else if (storage != NULL && storage[0] != '\0')
		out = join_path(dir, storage, "/" SOCKET_NAME);
	else
		out = strdup(DEFAULT_SOCKET);
	free(dir);
	free(control);
	free(storage);
	errno = err != 0 ? err : ENOMEM;
	return out;
}

/* ---- the request ------------------------------------------------------ */

/* Whether the server would split or unquote arg: it must go in quotes. */
static bool needs_quotes(const char *arg)
{
	return arg[0] == '\0' || strpbrk(arg, " \t\"") != NULL;
}

/* The request line: arguments joined by spaces, an argument with blanks
 * or quotes in double quotes (with \" and \\ inside). Returns NULL for an
 * argument with a line break, which the protocol cannot carry. */
static char *build_request(int argc, char **argv, size_t *len)
{
	size_t cap = 2;
	for (int i = 0; i < argc; i++)
		cap += 2 * strlen(argv[i]) + 3;
	char *req = malloc(cap);
	if (req == NULL)
		return NULL;
	char *p = req;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strpbrk(a, "\r\n") != NULL) {
			free(req);
			return NULL;
		}
		if (i > 0)
			*p++ = ' ';
		if (!needs_quotes(a)) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '"';
		for (; *a != '\0'; a++) {
			if (*a == '"' || *a == '\\')
				*p++ = '\\';
			*p++ = *a;
		}
		*p++ = '"';
	}
	*p++ = '\n';
	*p = '\0';
	*len = (size_t)(p - req);
	return req;
}

/* ---- talking to the daemon -------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to the socket; the wait for a busy daemon's backlog is bounded
 * by the send timeout. Returns the descriptor or -1 with errno set. */
static int connect_socket(const char *path, unsigned timeout)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = timeout};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reading the answer: every line is printed when the next one arrives, so
 * that the last one can go where it belongs. */
struct answer {
	char *buf; /* received, not yet split into lines */
	size_t len, cap;
	char *last; /* the last complete line, not yet printed */
};

static void answer_line(struct answer *a, char *line)
{
	if (a->last != NULL) {
		puts(a->last);
		free(a->last);
	}
	a->last = strdup(line);
}

/* Splits off complete lines. Returns false when out of memory. */
static bool answer_split(struct answer *a)
{
	size_t start = 0;
	for (size_t i = 0; i < a->len; i++) {
		if (a->buf[i] != '\n')
			continue;
		a->buf[i] = '\0';
		answer_line(a, a->buf + start);
		if (a->last == NULL)
			return false;
		start = i + 1;
	}
	memmove(a->buf, a->buf + start, a->len - start);
	a->len -= start;
	return true;
}

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_UNREACHABLE = 2,
};

/* Reads the answer until the daemon closes, and prints it. Returns the
 * exit code. */
static int read_answer(int fd, const char *path, unsigned timeout)
{
	struct answer a = {0};
	long deadline = timeout ? now_ms() + (long)timeout * 1000 : 0;
	int rc = EXIT_UNREACHABLE;
	const char *why = NULL;
	for (;;) {
		int wait = -1;
		if (deadline != 0) {
			long left = deadline - now_ms();
			if (left <= 0) {
				why = "no complete answer in time";
				goto out;
			}
			wait = left > INT_MAX ? INT_MAX : (int)left;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, wait);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			continue; /* the deadline check says so */
		if (a.cap - a.len < 4096) {
			size_t ncap = a.cap ? a.cap * 2 : 8192;
			char *n = realloc(a.buf, ncap);
			if (n == NULL) {
				why = "out of memory";
				goto out;
			}
			a.buf = n;
			a.cap = ncap;
		}
		ssize_t n = recv(fd, a.buf + a.len, a.cap - a.len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		/* A reset after the answer (we sent something the daemon
		 * did not read) ends it like a close does. */
		if (n <= 0)
			break;
		a.len += (size_t)n;
		if (!answer_split(&a)) {
			why = "out of memory";
			goto out;
		}
	}
	if (a.len > 0) {
		/* A last line without its newline still counts. */
		a.buf[a.len] = '\0';
		answer_line(&a, a.buf);
	}
	if (a.last != NULL && strcmp(a.last, "ok") == 0) {
		rc = EXIT_OK;
	} else if (a.last != NULL && strncmp(a.last, "error:", 6) == 0) {
		fflush(stdout);
		fprintf(stderr, "%s\n", a.last);
		rc = EXIT_ERROR;
	} else {
		why = "answer ended without ok or error";
	}
out:
	if (rc == EXIT_UNREACHABLE) {
		if (a.last != NULL)
			puts(a.last);
		fflush(stdout);
		fprintf(stderr, "tandemctl: %s: %s\n", path, why);
	}
	free(a.last);
	free(a.buf);
	return rc;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *socket_path = NULL;
	long timeout = -1;
	int opt;
	/* '+': options end at the command, whose arguments may look like
	 * options. */
	while ((opt = getopt(argc, argv, "+c:s:t:hV")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 't': {
			char *end;
			errno = 0;
			timeout = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    timeout < 0 || timeout > 86400) {
				fprintf(stderr,
					"tandemctl: bad timeout '%s' "
					"(0 to 86400 seconds)\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'V':
			printf("tandemctl %s\n", TANDEM_VERSION);
			return 0;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc || (conf_path != NULL && socket_path != NULL)) {
		usage();
		return 2;
	}
	const char *command = argv[optind];
	if (timeout < 0)
		timeout = strcmp(command, "reload") == 0 ||
				  strcmp(command, "reconfig") == 0
			      ? LONG_TIMEOUT
			      : DEFAULT_TIMEOUT;

	size_t len = 0;
	char *request = build_request(argc - optind, argv + optind, &len);
	if (request == NULL) {
		fprintf(stderr,
			"tandemctl: an argument contains a line break\n");
		return 2;
	}
	if (len - 1 > CONTROL_MAX_REQUEST) {
		fprintf(stderr, "tandemctl: request longer than %d bytes\n",
			CONTROL_MAX_REQUEST);
		free(request);
		return 2;
	}

	char *found = NULL;
	if (socket_path == NULL) {
		/* Without -c, a missing default config means the default
		 * socket. */
		bool implicit = conf_path == NULL;
		if (implicit)
			conf_path = DEFAULT_CONFIG;
		found = socket_from_config(conf_path);
		if (found == NULL && implicit && errno == ENOENT)
			found = strdup(DEFAULT_SOCKET);
		if (found == NULL) {
			fprintf(stderr, "tandemctl: cannot read %s: %s\n",
				conf_path, strerror(errno));
			free(request);
			return 2;
		}
		socket_path = found;
	}

	int rc = EXIT_UNREACHABLE;
	int fd = connect_socket(socket_path, (unsigned)timeout);
	if (fd < 0) {
		fprintf(stderr, "tandemctl: cannot connect to %s: %s\n",
			socket_path, strerror(errno));
		goto out;
	}
	if (!send_all(fd, request, len)) {
		fprintf(stderr, "tandemctl: cannot send to %s: %s\n",
			socket_path, strerror(errno));
		goto out;
	}
	shutdown(fd, SHUT_WR);
	rc = read_answer(fd, socket_path, (unsigned)timeout);
out:
	if (fd >= 0)
		close(fd);
	free(found);
	free(request);
	return rc;
}

/*
 * control.c -- the control socket on the main thread's event loop.
 *
 * Each client is a bufferevent with one deadline timer and goes through
 * three states: READING (until a full line, CONTROL_TIMEOUT from accept),
 * WRITING (the answer is queued; the client has another timeout to take
 * it) and DRAINING (answer sent and our side shut down; whatever the client
 * still sends is read and discarded until it closes). The last state exists
 * because closing a UNIX socket with unread data in its receive queue ends
 * the peer's reading with ECONNRESET instead of a clean end of file: a
 * client that sent more than its one line could not tell a whole answer
 * from a cut one.
 *
 * Handlers run synchronously; nothing a client does (silence, a flood, an
 * unread answer) can hold the loop beyond its own timer.
 *
 * At most max_clients clients are served at once. The next ones are
 * accepted all the same and go straight to WRITING with the answer "error:
 * too many control clients": closing them at once would make a client that
 * has not sent its line yet fail on a broken pipe instead of reading why.
 * Up to max_clients more are refused that way; past that, a connection is
 * closed as soon as it is accepted, so a flood holds no more than twice
 * max_clients descriptors.
 */
#include "server/control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dns/error.h"

#define CONTROL_BACKLOG 128

/* After accept() fails for lack of descriptors, wait this long before
 * accepting again rather than spinning on the pending connection. */
#define CONTROL_ACCEPT_RETRY_MS 500

struct control_reply {
	struct evbuffer *out; /* the client's output buffer */
	char *error;	      /* from control_error, or NULL */
};

enum client_state { CLIENT_READING, CLIENT_WRITING, CLIENT_DRAINING };

struct control_client {
	struct control *ctl;
	struct bufferevent *bev;
	struct event *deadline;
	size_t max_request; /* as when it was accepted */
	bool refused;	    /* one too many: answered an error at once */
	enum client_state state;
	bool peer_eof; /* the client shut down its sending side */
	struct control_client *prev, *next;
};

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *accept_retry;
	char *path;
	dev_t dev; /* of the socket we bound, to unlink only our own */
	ino_t ino;
	control_handler handler;
	void *arg;
	struct timeval timeout;
	size_t max_request;
	unsigned max_clients;
	unsigned nclients; /* served */
	unsigned nrefused; /* told there are too many */
	struct control_client *clients;
	bool in_handler;    /* a handler is running */
	bool close_pending; /* control_close was called from a handler */
};

/* ---- replies ---------------------------------------------------------- */

/* Formats into a fresh string with CR and LF turned into spaces, so that
 * nothing a handler prints can end the answer early or forge its last
 * line. Returns NULL when out of memory. */
static char *format_line(const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		return NULL;
	char *s = malloc((size_t)len + 1);
	if (s == NULL)
		return NULL;
	vsnprintf(s, (size_t)len + 1, fmt, ap);
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

void control_printf(struct control_reply *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = format_line(fmt, ap);
	va_end(ap);
	if (line == NULL)
		return; /* the final line still says ok or error */
	evbuffer_add_printf(r->out, "%s\n", line);
	free(line);
}

const char *control_error(struct control_reply *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *reason = format_line(fmt, ap);
	va_end(ap);
	if (reason == NULL)
		return "out of memory";
	free(r->error);
	r->error = reason;
	return reason;
}

/* ---- clients ---------------------------------------------------------- */

static void client_free(struct control_client *cl)
{
	struct control *c = cl->ctl;
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	if (cl->refused)
		c->nrefused--;
	else
		c->nclients--;
	event_free(cl->deadline);
	bufferevent_free(cl->bev);
	free(cl);
}

static void client_arm(struct control_client *cl)
{
	evtimer_add(cl->deadline, &cl->ctl->timeout);
}

/* Appends the final "error: <reason>" line; a line break in a handler's
 * static reason must not end the answer early either. */
static void add_error(struct evbuffer *out, const char *reason)
{
	evbuffer_add(out, "error: ", 7);
	while (*reason != '\0') {
		size_t n = strcspn(reason, "\r\n");
		evbuffer_add(out, reason, n);
		reason += n;
		if (*reason != '\0') {
			evbuffer_add(out, " ", 1);
			reason++;
		}
	}
	evbuffer_add(out, "\n", 1);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Splits a request line in place into arguments separated by blanks.
 * Double quotes group blanks into an argument (and may start or end in
 * the middle of one, as in a shell); inside them \" and \\ stand for " and
 * \, and any other backslash is kept, so that escaped domain names pass
 * through untouched. argv must have room for strlen(line) / 2 + 2
 * pointers. Returns argc, or -1 for an unterminated quote. */
static int split_args(char *line, char **argv)
{
	int argc = 0;
	char *in = line, *out = line;
	for (;;) {
		while (is_blank(*in))
			in++;
		if (*in == '\0')
			break;
		argv[argc++] = out;
		bool quoted = false;
		while (*in != '\0' && (quoted || !is_blank(*in))) {
			if (*in == '"') {
				quoted = !quoted;
				in++;
				continue;
			}
			if (quoted && *in == '\\' &&
			    (in[1] == '"' || in[1] == '\\'))
				in++;
			*out++ = *in++;
		}
		if (quoted)
			return -1;
		/* out <= in: terminating the argument may overwrite the
		 * blank at in, so look at it first. */
		bool end = *in == '\0';
		*out++ = '\0';
		if (end)
			break;
		in++;
	}
	argv[argc] = NULL;
	return argc;
}

static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_write_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void control_free(struct control *c);

/* Runs the request in line (len bytes, NUL-terminated) and queues the
 * answer. When the handler closed the control, everything is gone after. */
static void client_answer(struct control_client *cl, char *line, size_t len)
{
	struct control *c = cl->ctl;
	struct control_reply reply = {
	    .out = bufferevent_get_output(cl->bev),
	};
	const char *reason = NULL;
	char **argv = NULL;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (strlen(line) != len) {
		reason = "NUL character in request";
	} else if ((argv = malloc((len / 2 + 2) * sizeof(*argv))) == NULL) {
		reason = "out of memory";
	} else {
		int argc = split_args(line, argv);
		if (argc < 0) {
			reason = "unterminated quote";
		} else if (argc == 0) {
			reason = "empty request";
		} else {
			c->in_handler = true;
			reason = c->handler(c->arg, argc, argv, &reply);
			c->in_handler = false;
		}
	}
	if (reason == NULL)
		evbuffer_add(reply.out, "ok\n", 3);
	else
		add_error(reply.out, reason);
	free(reply.error);
	free(argv);

	cl->state = CLIENT_WRITING;
	if (c->close_pending) {
		control_free(c);
		return;
	}
	client_arm(cl);
}

static void client_refuse(struct control_client *cl, const char *reason)
{
	add_error(bufferevent_get_output(cl->bev), reason);
	cl->state = CLIENT_WRITING;
	client_arm(cl);
}

/* Whether the first len bytes of the input, less a final CR, are more than
 * a request may be. */
static bool over_limit(struct evbuffer *in, size_t len, size_t max)
{
	if (len <= max)
		return false;
	if (len > max + 1)
		return true;
	unsigned char last = 0;
	struct evbuffer_ptr at;
	evbuffer_ptr_set(in, &at, len - 1, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(in, &at, &last, 1);
	return last != '\r';
}

/* Takes the request out of the input, a full line or at EOF whatever was
 * received, and answers it; or refuses it, or frees a client that closed
 * without asking. */
static void client_read_request(struct control_client *cl, bool at_eof)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	size_t eol_len = 0;
	struct evbuffer_ptr eol =
	    evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	size_t len = eol.pos >= 0 ? (size_t)eol.pos : evbuffer_get_length(in);
	if (over_limit(in, len, cl->max_request)) {
		evbuffer_drain(in, evbuffer_get_length(in));
		client_refuse(cl, "request too long");
		return;
	}
	if (eol.pos < 0 && !at_eof)
		return; /* wait for the rest of the line */
	if (eol.pos < 0 && len == 0) {
		client_free(cl); /* closed without asking */
		return;
	}
	char *line = malloc(len + 1);
	if (line == NULL) {
		evbuffer_drain(in, evbuffer_get_length(in));
		client_refuse(cl, "out of memory");
		return;
	}
	evbuffer_remove(in, line, len);
	line[len] = '\0';
	/* Anything after the line is not a request: discard it. */
	evbuffer_drain(in, evbuffer_get_length(in));
	client_answer(cl, line, len);
	free(line);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;
	if (cl->state != CLIENT_READING) {
		evbuffer_drain(bufferevent_get_input(bev),
			       evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	client_read_request(cl, false);
}

/* The answer has left our buffer: shut our side down so the client sees
 * the end, then wait for its close (or the deadline). */
static void client_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;
	if (cl->state != CLIENT_WRITING)
		return;
	if (cl->peer_eof) {
		client_free(cl);
		return;
	}
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	cl->state = CLIENT_DRAINING;
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_client *cl = arg;
	if (what & BEV_EVENT_ERROR) {
		client_free(cl);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	cl->peer_eof = true;
	switch (cl->state) {
	case CLIENT_READING:
		client_read_request(cl, true);
		break;
	case CLIENT_WRITING:
		break; /* finish the answer; client_write_cb frees */
	case CLIENT_DRAINING:
		client_free(cl);
		break;
	}
}

static void client_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	client_free(arg);
}

/* ---- listening -------------------------------------------------------- */

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
		      struct sockaddr *addr, int addrlen, void *arg)
{
	struct control *c = arg;
	bool busy = c->nclients >= c->max_clients;
	if (busy && c->nrefused >= c->max_clients) {
		close(fd); /* a flood: see the top of this file */
		return;
	}
	struct control_client *cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->max_request = c->max_request;
	cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cl->bev == NULL) {
		close(fd);
		free(cl);
		return;
	}
	cl->deadline = evtimer_new(c->base, client_timeout_cb, cl);
	if (cl->deadline == NULL) {
		bufferevent_free(cl->bev);
		free(cl);
		return;
	}
	cl->next = c->clients;
	if (cl->next != NULL)
		cl->next->prev = cl;
	c->clients = cl;
	cl->refused = busy;
	if (busy)
		c->nrefused++;
	else
		c->nclients++;
	/* Stop reading once more than a request (and its CR LF) is buffered;
	 * client_read_request refuses it then. */
	bufferevent_setwatermark(cl->bev, EV_READ, 0, cl->max_request + 2);
	bufferevent_setcb(cl->bev, client_read_cb, client_write_cb,
			  client_event_cb, cl);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	if (busy)
		client_refuse(cl, "too many control clients");
	else
		client_arm(cl);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	evconnlistener_enable(c->listener);
}

/* accept() failed: out of descriptors, most likely. The connection stays
 * pending, so pause instead of being woken for it again at once. */
static void accept_error_cb(struct evconnlistener *listener, void *arg)
{
	struct control *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	evconnlistener_disable(listener);
	struct timeval tv = {0, CONTROL_ACCEPT_RETRY_MS * 1000};
	evtimer_add(c->accept_retry, &tv);
}

/* What is at path: 0 when nothing (or a stale socket, now removed),
 * ERR_EXISTS when a daemon accepts connections there, ERR_IO otherwise
 * (errno EEXIST for something that is not a socket). */
static int clear_path(const struct sockaddr_un *sun)
{
	struct stat st;
	if (lstat(sun->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : ERR_IO;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return ERR_IO;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ERR_IO;
	int rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int err = errno;
	close(fd);
	/* EAGAIN: alive, its backlog is just full. */
	if (rc == 0 || err == EAGAIN)
		return ERR_EXISTS;
	if (err == ENOENT)
		return 0; /* went away meanwhile */
	if (err != ECONNREFUSED) {
		errno = err;
		return ERR_IO;
	}
	if (unlink(sun->sun_path) != 0 && errno != ENOENT)
		return ERR_IO;
	return 0;
}

/* Binds and listens on a new socket at sun's path with the given mode.
 * Returns the descriptor or ERR_IO. */
static int bind_socket(const struct sockaddr_un *sun, mode_t mode)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ERR_IO;
	/* The socket file takes its mode from the umask at bind: never let it
	 * exist, even for a moment, with more permissions than asked. umask is
	 * per process; this runs on the main thread, which alone creates
	 * files. */
	mode_t old = umask(0777 & ~mode);
	int rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int err = errno;
	umask(old);
	if (rc != 0)
		goto fail;
	if (chmod(sun->sun_path, mode & 07777) != 0 ||
	    listen(fd, CONTROL_BACKLOG) != 0) {
		err = errno;
		unlink(sun->sun_path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	errno = err;
	return ERR_IO;
}

int control_open(struct event_base *base, const char *path, mode_t mode,
		 control_handler handler, void *arg, struct control **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	if (plen == 0 || plen >= sizeof(sun.sun_path)) {
		errno = plen == 0 ? ENOENT : ENAMETOOLONG;
		return ERR_IO;
	}
	memcpy(sun.sun_path, path, plen + 1);

	int rc = clear_path(&sun);
	if (rc < 0)
		return rc;

	struct control *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		errno = ENOMEM;
		return ERR_IO;
	}
	c->base = base;
	c->handler = handler;
	c->arg = arg;
	control_set_timeout(c, CONTROL_TIMEOUT * 1000);
	control_set_limits(c, CONTROL_MAX_REQUEST, CONTROL_MAX_CLIENTS);

	int fd = bind_socket(&sun, mode);
	if (fd < 0) {
		int err = errno;
		free(c->path);
		free(c);
		errno = err;
		return ERR_IO;
	}
	struct stat st;
	if (stat(path, &st) == 0) {
		c->dev = st.st_dev;
		c->ino = st.st_ino;
	}
	c->accept_retry = evtimer_new(base, accept_retry_cb, c);
	c->listener = evconnlistener_new(
	    base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    -1, fd);
	if (c->accept_retry == NULL || c->listener == NULL) {
		if (c->listener == NULL)
			close(fd);
		unlink(path);
		control_free(c);
		errno = ENOMEM;
		return ERR_IO;
	}
	evconnlistener_set_error_cb(c->listener, accept_error_cb);
	*out = c;
	return 0;
}

void control_set_timeout(struct control *c, unsigned timeout_ms)
{
	c->timeout.tv_sec = timeout_ms / 1000;
	c->timeout.tv_usec = (timeout_ms % 1000) * 1000;
}

void control_set_limits(struct control *c, size_t max_request,
			unsigned max_clients)
{
	c->max_request = max_request;
	c->max_clients = max_clients;
}

/* Frees everything. Answers already queued are written if the socket takes
 * them at once: a "stop" should still say ok. */
static void control_free(struct control *c)
{
	while (c->clients != NULL) {
		struct control_client *cl = c->clients;
		if (cl->state == CLIENT_WRITING) {
			struct evbuffer *outbuf =
			    bufferevent_get_output(cl->bev);
			/* The bufferevent keeps the front of its output
			 * frozen except while it writes itself. */
			evbuffer_unfreeze(outbuf, 1);
			evbuffer_write(outbuf, bufferevent_getfd(cl->bev));
		}
		client_free(cl);
	}
	if (c->listener != NULL) {
		struct stat st;
		if (stat(c->path, &st) == 0 && st.st_dev == c->dev &&
		    st.st_ino == c->ino)
			unlink(c->path);
		evconnlistener_free(c->listener);
	}
	if (c->accept_retry != NULL)
		event_free(c->accept_retry);
	free(c->path);
	free(c);
}

void control_close(struct control *c)
{
	if (c == NULL)
		return;
	if (c->in_handler) {
		c->close_pending = true;
		return;
	}
	control_free(c);
}

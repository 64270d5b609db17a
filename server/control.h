/*
 * control.h -- the control socket: a UNIX stream socket on the main
 * thread's event loop.
 *
 * Protocol: the client sends one request line ("command [args]\n"); the
 * server answers with lines, the last of which is "ok" or
 * "error: <reason>", then closes the connection. Several clients may be
 * connected at once, up to a limit (the next ones are told so at once); a
 * client that is silent or slow is dropped after a timeout, and a request
 * longer than the limit is refused, so no client can block the daemon.
 */
#ifndef TANDEM_SERVER_CONTROL_H
#define TANDEM_SERVER_CONTROL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;

/* Defaults of the limits (control_set_timeout, control_set_limits). */
#define CONTROL_MAX_REQUEST 4096  /* octets of a request line */
#define CONTROL_TIMEOUT 10        /* seconds for a client to send its line
				     and take the answer */
#define CONTROL_MAX_CLIENTS 32    /* connected at once */

/* Where a command writes its answer. */
struct control_reply;

/* Appends one line (without the newline) to the answer. */
void control_printf(struct control_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Runs one request. argv[0] is the command; the handler writes its lines
 * with control_printf and returns NULL for "ok" or the reason for
 * "error: <reason>" (a static or reply-lifetime string; see
 * control_error). */
typedef const char *(*control_handler)(void *arg, int argc, char **argv,
				       struct control_reply *r);

/* Formats an error reason that lives as long as the reply. */
const char *control_error(struct control_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct control;

/* Creates the socket at path (replacing a stale one; refusing when a live
 * daemon answers there) with the given mode, and serves it on base.
 * Returns 0 with *out set, or ERR_IO (errno set; the caller logs the
 * path) or ERR_EXISTS (another daemon is listening there). */
int control_open(struct event_base *base, const char *path, mode_t mode,
		 control_handler handler, void *arg, struct control **out);

/* (The process must ignore SIGPIPE: a client may go away mid-answer.) */

/* Closes the socket, drops the clients (answers already produced are sent
 * if the socket takes them at once, never waiting) and unlinks the path if
 * it is still our socket. May be called from a handler: the close then
 * happens once the handler returns and its answer has been queued. */
void control_close(struct control *c);

/* Sets how long, in milliseconds, a client accepted from now on has to send
 * its line, and then to take its answer (default CONTROL_TIMEOUT s). */
void control_set_timeout(struct control *c, unsigned timeout_ms);

/* Sets, for clients accepted from now on, the longest request line in
 * octets (default CONTROL_MAX_REQUEST; longer is answered "error: request
 * too long") and how many clients may be connected at once (default
 * CONTROL_MAX_CLIENTS; the next ones are answered "error: too many control
 * clients" at once, whatever they ask). */
void control_set_limits(struct control *c, size_t max_request,
			unsigned max_clients);

#endif

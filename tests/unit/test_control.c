/*
 * test_control.c -- the control socket: requests and answers, quoting,
 * limits, timeouts, many clients, the socket's mode, stale and live
 * sockets at the path.
 *
 * The server runs on an event_base in this thread; clients are plain
 * sockets, and the loop is driven in small non-blocking steps between
 * their reads, each exchange bounded in time.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns/error.h"
#include "server/control.h"

#define EXCHANGE_MS 10000

static char dir[64];
static char path[100];
static struct event_base *base;
static struct control *ctl;
static int handled; /* requests that reached the handler */

/* Commands of the test handler:
 *   echo ARGS...  one line per argument
 *   fail WHY      error: failed: WHY (after a line "partial")
 *   static        error: static reason
 *   big N         N lines of 100 characters
 *   nl            a line with a newline inside
 *   close         closes the control from inside the handler */
static const char *handler(void *arg, int argc, char **argv,
			   struct control_reply *r)
{
	handled++;
	if (strcmp(argv[0], "echo") == 0) {
		for (int i = 1; i < argc; i++)
			control_printf(r, "%s", argv[i]);
		return NULL;
	}
	if (strcmp(argv[0], "fail") == 0) {
		control_printf(r, "partial");
		return control_error(r, "failed: %s", argc > 1 ? argv[1] : "");
	}
	if (strcmp(argv[0], "static") == 0)
		return "static reason";
	if (strcmp(argv[0], "big") == 0) {
		long n = argc > 1 ? atol(argv[1]) : 0;
		for (long i = 0; i < n; i++)
			control_printf(r, "%099ld", i);
		return NULL;
	}
	if (strcmp(argv[0], "nl") == 0) {
		control_printf(r, "one\ntwo");
		return control_error(r, "three\nok");
	}
	if (strcmp(argv[0], "close") == 0) {
		struct control **self = arg;
		control_close(*self);
		*self = NULL;
		return NULL;
	}
	return control_error(r, "unknown command '%s'", argv[0]);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/tandem-control-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	handled = 0;
	ctl = NULL;
}

static void teardown(void)
{
	control_close(ctl);
	ctl = NULL;
	event_base_free(base);
	unlink(path);
	rmdir(dir);
}

/* The handler's argument is &ctl, for the "close" command. */
static void open_control(mode_t mode)
{
	ck_assert_int_eq(control_open(base, path, mode, handler, &ctl, &ctl),
			 0);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_client(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			event_base_loop(base, EVLOOP_NONBLOCK);
			continue;
		}
		ck_assert_int_gt(n, 0);
		data += n;
		len -= (size_t)n;
	}
}

/* One client's view of an exchange. */
struct client {
	int fd;
	char *got;
	size_t len;
	bool eof;
};

static void client_start(struct client *c, const char *request)
{
	c->fd = connect_client();
	c->got = NULL;
	c->len = 0;
	c->eof = false;
	if (request != NULL)
		send_all(c->fd, request, strlen(request));
}

/* Reads what is there; true when the server closed the connection. */
static bool client_poll(struct client *c)
{
	char buf[65536];
	while (!c->eof) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			c->eof = true; /* EOF or reset: the server is done */
			break;
		}
		c->got = realloc(c->got, c->len + (size_t)n + 1);
		memcpy(c->got + c->len, buf, (size_t)n);
		c->len += (size_t)n;
		c->got[c->len] = '\0';
	}
	return c->eof;
}

static void client_end(struct client *c)
{
	close(c->fd);
	free(c->got);
}

/* Drives the loop until every client saw the end of its answer, or ms. */
static void run_until_eof(struct client *cs, int n, int ms)
{
	long deadline = now_ms() + ms;
	for (;;) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		bool all = true;
		for (int i = 0; i < n; i++)
			all = client_poll(&cs[i]) && all;
		if (all || now_ms() > deadline)
			return;
		struct pollfd pfd = {.fd = cs[0].fd, .events = POLLIN};
		poll(&pfd, 1, 2);
	}
}

/* Drives the loop for ms milliseconds. */
static void run_for(int ms)
{
	long deadline = now_ms() + ms;
	while (now_ms() < deadline) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 2);
	}
}

/* Sends one request and returns the whole answer (caller frees). */
static char *ask(const char *request)
{
	struct client c;
	client_start(&c, request);
	run_until_eof(&c, 1, EXCHANGE_MS);
	ck_assert_msg(c.eof, "no end of answer for '%s'", request);
	char *got = c.got ? c.got : strdup("");
	close(c.fd);
	return got;
}

#define ck_assert_answer(request, expected)                                    \
	do {                                                                   \
		char *got_ = ask(request);                                     \
		ck_assert_str_eq(got_, expected);                              \
		free(got_);                                                    \
	} while (0)

START_TEST(command_lines_and_ok)
{
	open_control(0600);
	ck_assert_answer("echo a b c\n", "a\nb\nc\nok\n");
	ck_assert_answer("echo\n", "ok\n");
	ck_assert_answer("  echo \t x  \r\n", "x\nok\n");
	/* EOF without a newline: what came is the request. */
	struct client c;
	client_start(&c, "echo eof");
	shutdown(c.fd, SHUT_WR);
	run_until_eof(&c, 1, EXCHANGE_MS);
	ck_assert(c.eof);
	ck_assert_str_eq(c.got, "eof\nok\n");
	client_end(&c);
	/* Closed without a request: no answer, no call. */
	int before = handled;
	client_start(&c, NULL);
	shutdown(c.fd, SHUT_WR);
	run_until_eof(&c, 1, EXCHANGE_MS);
	ck_assert(c.eof);
	ck_assert_uint_eq(c.len, 0);
	ck_assert_int_eq(handled, before);
	client_end(&c);
	/* Anything after the line is ignored, and the answer still arrives
	 * whole. */
	ck_assert_answer("echo one\necho two\nmore", "one\nok\n");
}
END_TEST

START_TEST(error_reasons)
{
	open_control(0600);
	ck_assert_answer("fail why\n", "partial\nerror: failed: why\n");
	ck_assert_answer("static\n", "error: static reason\n");
	ck_assert_answer("nope x\n", "error: unknown command 'nope'\n");
	ck_assert_answer("\n", "error: empty request\n");
	ck_assert_answer(" \t \n", "error: empty request\n");
	ck_assert_answer("echo \"abc\n", "error: unterminated quote\n");
	/* A newline inside a line or reason cannot end the answer early. */
	ck_assert_answer("nl\n", "one two\nerror: three ok\n");
	/* A NUL inside the request. */
	char *got = NULL;
	struct client c;
	client_start(&c, NULL);
	send_all(c.fd, "echo a\0b\n", 9);
	run_until_eof(&c, 1, EXCHANGE_MS);
	got = c.got;
	ck_assert_str_eq(got, "error: NUL character in request\n");
	client_end(&c);
}
END_TEST

START_TEST(quoted_arguments)
{
	open_control(0600);
	ck_assert_answer("echo \"a b\" c \"\" \"q\\\"x\" d\"e f\"g\n",
			 "a b\nc\n\nq\"x\nde fg\nok\n");
	/* Backslashes outside quotes, and other than \" and \\ inside, are
	 * kept: escaped domain names pass through. */
	ck_assert_answer("echo a\\.b.example. \"c\\032d\" \"e\\\\f\"\n",
			 "a\\.b.example.\nc\\032d\ne\\f\nok\n");
	ck_assert_answer("echo \"\t\"\n", "\t\nok\n");
}
END_TEST

START_TEST(request_limit)
{
	open_control(0600);
	/* Exactly the limit is fine, also with CR LF. */
	char *line = malloc(CONTROL_MAX_REQUEST + 8);
	memset(line, 'x', CONTROL_MAX_REQUEST + 8);
	memcpy(line, "echo ", 5);
	strcpy(line + CONTROL_MAX_REQUEST, "\n");
	char *got = ask(line);
	ck_assert_uint_eq(strlen(got), CONTROL_MAX_REQUEST - 5 + 1 + 3);
	ck_assert_str_eq(got + CONTROL_MAX_REQUEST - 5, "\nok\n");
	free(got);
	strcpy(line + CONTROL_MAX_REQUEST, "\r\n");
	got = ask(line);
	ck_assert_str_eq(got + CONTROL_MAX_REQUEST - 5, "\nok\n");
	free(got);
	/* One more is too long. */
	memset(line + CONTROL_MAX_REQUEST, 'x', 1);
	strcpy(line + CONTROL_MAX_REQUEST + 1, "\n");
	ck_assert_answer(line, "error: request too long\n");
	free(line);

	/* 64 KiB without a newline: refused as soon as the limit is passed,
	 * the rest is drained and the answer still arrives. */
	int before = handled;
	size_t big = 64 * 1024;
	char *flood = malloc(big + 1);
	memset(flood, 'y', big);
	flood[big] = '\0';
	ck_assert_answer(flood, "error: request too long\n");
	free(flood);
	ck_assert_int_eq(handled, before);
	/* Too long at EOF as well. */
	struct client c;
	char *partial = malloc(CONTROL_MAX_REQUEST + 2);
	memset(partial, 'z', CONTROL_MAX_REQUEST + 1);
	partial[CONTROL_MAX_REQUEST + 1] = '\0';
	client_start(&c, partial);
	shutdown(c.fd, SHUT_WR);
	run_until_eof(&c, 1, EXCHANGE_MS);
	ck_assert_str_eq(c.got, "error: request too long\n");
	client_end(&c);
	free(partial);
}
END_TEST

/* Whether the server closed its end of fd (data may still be queued). */
static bool hung_up(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP));
}

START_TEST(silent_client_dropped)
{
	open_control(0600);
	control_set_timeout(ctl, 1000);
	long start = now_ms();
	struct client silent, partial, served;
	client_start(&silent, NULL);
	client_start(&partial, "echo half");
	run_for(50);
	/* Another client is answered while those two hang around. */
	client_start(&served, "echo served\n");
	run_until_eof(&served, 1, EXCHANGE_MS);
	ck_assert_str_eq(served.got, "served\nok\n");
	ck_assert(!client_poll(&silent));
	ck_assert(!client_poll(&partial));

	struct client both[2] = {silent, partial};
	run_until_eof(both, 2, EXCHANGE_MS);
	long took = now_ms() - start;
	ck_assert(both[0].eof && both[1].eof);
	ck_assert_uint_eq(both[0].len, 0);
	ck_assert_uint_eq(both[1].len, 0);
	ck_assert_int_ge(took, 990);
	ck_assert_int_lt(took, 8000);
	ck_assert_int_eq(handled, 1);
	client_end(&both[0]);
	client_end(&both[1]);
	client_end(&served);
}
END_TEST

START_TEST(unread_answer_dropped)
{
	open_control(0600);
	control_set_timeout(ctl, 1000);
	/* 2 MB of answer that is never read: far more than a socket holds. */
	struct client hog, served;
	client_start(&hog, "big 20000\n");
	run_for(50);
	/* The hog's deadline runs from when its answer was queued. */
	long start = now_ms();
	client_start(&served, "echo meanwhile\n");
	run_until_eof(&served, 1, EXCHANGE_MS);
	ck_assert_str_eq(served.got, "meanwhile\nok\n");
	ck_assert(!hung_up(hog.fd));

	long deadline = start + 8000;
	while (!hung_up(hog.fd) && now_ms() < deadline) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		poll(NULL, 0, 2);
	}
	ck_assert(hung_up(hog.fd));
	/* What reached the socket can still be read, then the end. */
	run_until_eof(&hog, 1, EXCHANGE_MS);
	ck_assert(hog.eof);
	ck_assert_uint_gt(hog.len, 0);
	ck_assert_uint_lt(hog.len, 20000 * 100);
	client_end(&hog);
	client_end(&served);
}
END_TEST

START_TEST(many_clients)
{
	open_control(0600);
	enum { N = 20 };
	struct client cs[N];
	char req[64];
	for (int i = 0; i < N; i++) {
		snprintf(req, sizeof(req), "echo client-%d \"#%d\"\n", i, i);
		client_start(&cs[i], req);
	}
	run_until_eof(cs, N, EXCHANGE_MS);
	char want[64];
	for (int i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "client-%d\n#%d\nok\n", i, i);
		ck_assert(cs[i].eof);
		ck_assert_str_eq(cs[i].got, want);
		client_end(&cs[i]);
	}
	ck_assert_int_eq(handled, N);

	/* Half of them still connected when the control is closed. */
	for (int i = 0; i < N; i++)
		client_start(&cs[i], i % 2 ? "echo x\n" : "ec");
	run_for(20);
	control_close(ctl);
	ctl = NULL;
	for (int i = 0; i < N; i++) {
		client_poll(&cs[i]);
		client_end(&cs[i]);
	}
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(socket_mode)
{
	mode_t before = umask(022);
	open_control(0600);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	control_close(ctl);
	ctl = NULL;
	ck_assert_int_eq(access(path, F_OK), -1);

	/* Wider than the umask allows: chmod gives exactly the mode. */
	umask(027);
	open_control(0666);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0666);
	ck_assert_uint_eq(umask(before), 027);
	ck_assert_answer("echo mode\n", "mode\nok\n");
}
END_TEST

START_TEST(stale_socket_replaced)
{
	/* A socket file nobody listens on, as a crashed daemon leaves. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ck_assert_int_eq(access(path, F_OK), 0);
	open_control(0600);
	ck_assert_answer("echo fresh\n", "fresh\nok\n");
}
END_TEST

START_TEST(live_socket_refused)
{
	open_control(0600);
	struct stat before, after;
	ck_assert_int_eq(stat(path, &before), 0);
	struct control *second = NULL;
	ck_assert_int_eq(control_open(base, path, 0600, handler, NULL, &second),
			 ERR_EXISTS);
	ck_assert_ptr_null(second);
	/* The first one still owns the path and answers. */
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);
	ck_assert_answer("echo still\n", "still\nok\n");
}
END_TEST

START_TEST(bad_paths)
{
	/* Something that is not a socket is left alone. */
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("precious\n", f);
	fclose(f);
	struct control *c = NULL;
	errno = 0;
	ck_assert_int_eq(control_open(base, path, 0600, handler, NULL, &c),
			 ERR_IO);
	ck_assert_int_eq(errno, EEXIST);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(path);

	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	errno = 0;
	ck_assert_int_eq(control_open(base, longpath, 0600, handler, NULL, &c),
			 ERR_IO);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	char nodir[160];
	snprintf(nodir, sizeof(nodir), "%s/missing/ctl", dir);
	errno = 0;
	ck_assert_int_eq(control_open(base, nodir, 0600, handler, NULL, &c),
			 ERR_IO);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(close_from_handler)
{
	open_control(0600);
	ck_assert_answer("close\n", "ok\n");
	ck_assert_ptr_null(ctl);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/* Another daemon took over the path: closing ours leaves theirs. */
START_TEST(close_keeps_foreign_socket)
{
	open_control(0600);
	ck_assert_int_eq(unlink(path), 0);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	control_close(ctl);
	ctl = NULL;
	ck_assert_int_eq(access(path, F_OK), 0);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, command_lines_and_ok);
	tcase_add_test(tc, error_reasons);
	tcase_add_test(tc, quoted_arguments);
	tcase_add_test(tc, request_limit);
	tcase_add_test(tc, silent_client_dropped);
	tcase_add_test(tc, unread_answer_dropped);
	tcase_add_test(tc, many_clients);
	tcase_add_test(tc, socket_mode);
	tcase_add_test(tc, stale_socket_replaced);
	tcase_add_test(tc, live_socket_refused);
	tcase_add_test(tc, bad_paths);
	tcase_add_test(tc, close_from_handler);
	tcase_add_test(tc, close_keeps_foreign_socket);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/*
 * worker.c -- query-answering threads: UDP and TCP on their own sockets.
 *
 * Two threads per worker. The TCP one runs a libevent loop: connections
 * need timers, write readiness and per-connection state. The UDP one needs
 * none of that and waits in epoll_wait() itself: libevent's dispatch (its
 * active queue, callbacks and bookkeeping) cost some 450 instructions per
 * wake-up, more than an eighth of answering a query when queries arrive
 * one at a time. Knot splits its workers the same way (udp-workers,
 * tcp-workers). The two threads share nothing but the sockets' ports and
 * the stop pipe; each has its own scratch space and counters.
 *
 * RCU (liburcu QSBR). A QSBR reader must report a quiescent state
 * regularly, or a writer's synchronize_rcu() waits for it. Both threads
 * spend most of their life blocked in epoll_wait(); a quiescent state
 * reported "once per loop turn" would leave them online -- and the writer
 * stuck -- for as long as no packet arrives. So a thread is offline (an
 * extended quiescent state) whenever it is not answering: it goes online
 * to answer a UDP batch or to run a TCP callback and offline after, which
 * also reports a quiescent state after each. Zone data is never kept
 * across them. The cost is two memory barriers per batch, not per query.
 * The settings a reconfig changes (struct worker_live) are read the same
 * way: their pointer is taken on going online and never kept past it.
 */
#include "server/worker.h"
#include "server/request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define URCU_INLINE_SMALL_FUNCTIONS
#include <urcu-qsbr.h>

#include "dns/error.h"

#define UDP_BATCH    64	  /* datagrams per recvmmsg/sendmmsg */
#define UDP_ROUNDS   8	  /* batches per socket before looking at the others */
#define UDP_EVENTS   8	  /* epoll events taken per wait */
#define UDP_IN_SIZE  4096 /* largest query read over UDP */
#define UDP_OUT_SIZE 4096 /* >= the largest edns-buffer-size */

#define TCP_BACKLOG    256
#define TCP_ACCEPTS    32    /* accepts per callback */
#define TCP_READS      4     /* reads per callback before yielding */
#define TCP_IN_INITIAL 4096  /* input buffer; grows for a larger message */
#define TCP_OUT_KEEP   16384 /* output buffers kept between connections */
/* Answering stops while this much output waits for the client, so a
 * client that pipelines queries without reading cannot make us buffer
 * without bound (RFC 7766 §6.2.1.1 lets us pace it). */
#define TCP_OUT_HIGH 65536

union pktinfo_cmsg {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr align;
};

struct udp_socket {
	int fd;
	bool wildcard; /* bound to 0.0.0.0 or ::: reply from the
			  address the query was sent to */
};

struct tcp_listener {
	struct worker *w;
	int fd;
	struct event *ev;
	struct event *pause_ev; /* out of descriptors: accept again later */
};

struct tcp_conn {
	struct worker *w;
	int fd;	  /* -1 when the slot is free */
	struct sockaddr_storage peer;
	struct request_xfr *xfr; /* a transfer being streamed, or NULL */
	bool eof; /* the client closed its side */
	struct event *read_ev, *write_ev, *idle_ev;
	struct event *max_time_ev; /* the end of its life (tcp-max-time) */
	uint8_t *in; /* unprocessed input */
	size_t in_len, in_cap;
	uint8_t *out; /* output not yet accepted by the kernel */
	size_t out_off, out_len, out_cap;
	struct tcp_conn *next_free;
};

/* The UDP thread of a worker: one epoll set of its UDP sockets and the
 * stop pipe, buffers for one batch in and out. */
struct udp_thread {
	struct worker *w;
	pthread_t thread;
	bool started;
	int epfd;

	/* As in struct worker, taken by udp_enter. */
	const struct answer_conf *answer;
	const struct request_env *request;

	struct answer_scratch *scratch;
	struct rrl *rrl;  /* response rate limiting buckets */
	uint8_t *udp_in;  /* UDP_BATCH * UDP_IN_SIZE */
	uint8_t *udp_out; /* UDP_BATCH * UDP_OUT_SIZE */
	struct mmsghdr in_msgs[UDP_BATCH];
	struct mmsghdr out_msgs[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	struct sockaddr_storage addrs[UDP_BATCH];
	union pktinfo_cmsg in_cmsg[UDP_BATCH];
	union pktinfo_cmsg out_cmsg[UDP_BATCH];
	/* in_msgs are set up for a socket of this kind (with or without
	 * pktinfo), and the first in_used of them were filled since. */
	int in_wildcard;
	int in_used;

	struct worker_stats stats;
};

struct worker {
	unsigned id;
	struct worker_settings s;
	pthread_t thread; /* TCP */
	bool started;
	struct event_base *base;
	int stop_pipe[2]; /* written once to stop both threads */
	struct event *stop_ev;

	struct udp_thread ut;
	struct udp_socket *udp;
	size_t nudp;
	struct tcp_listener *tcp;
	size_t ntcp;
	struct tcp_conn *conns;
	size_t nconns; /* open connections */
	struct tcp_conn *free_conns;

	/* The settings in force for TCP, from *s.live (or s itself) as taken
	 * by worker_enter: the pointers are valid until worker_leave. */
	const struct answer_conf *answer;
	const struct request_env *request;
	struct timeval idle;
	struct timeval max_time; /* tv_sec 0: no limit */
	size_t max_message;

	struct answer_scratch *scratch;
	uint8_t *tcp_out;     /* 2 + MSG_MAXLEN: one framed answer */
	time_t emfile_logged; /* last "out of descriptors" warning */

	struct worker_stats stats; /* TCP */
};

/* ---- settings --------------------------------------------------------- */

static void take_live(struct worker *w, const struct worker_live *lv)
{
	w->answer = &lv->answer;
	w->request = &lv->request;
	w->idle.tv_sec = lv->tcp_idle_timeout;
	w->max_time.tv_sec = lv->tcp_max_time;
	w->max_message = lv->tcp_max_message_size;
}

/* Goes online (see the top of this file) and takes the settings in force:
 * a reconfig's replaced worker_live is freed only once every worker has
 * been offline since, so it stays valid until worker_leave. */
static void worker_enter(struct worker *w)
{
	rcu_thread_online();
	if (w->s.live != NULL)
		take_live(w, rcu_dereference(*w->s.live));
}

static void worker_leave(struct worker *w)
{
	(void)w;
	rcu_thread_offline();
}

/* The same for the UDP thread. */
static void udp_enter(struct udp_thread *t)
{
	rcu_thread_online();
	if (t->w->s.live != NULL) {
		const struct worker_live *lv = rcu_dereference(*t->w->s.live);
		t->answer = &lv->answer;
		t->request = &lv->request;
	}
}

static void udp_leave(struct udp_thread *t)
{
	(void)t;
	rcu_thread_offline();
}

/* ---- sockets ---------------------------------------------------------- */

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

static uint16_t listen_port(const struct conf_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

static void set_listen_port(struct conf_listen *l, uint16_t port)
{
	if (l->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&l->addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&l->addr)->sin6_port = htons(port);
	char *at = strrchr(l->text, '@');
	if (at != NULL)
		snprintf(at + 1, sizeof(l->text) - (size_t)(at + 1 - l->text),
			 "%u", port);
}

/* A non-blocking socket of `type` bound to l with SO_REUSEPORT (every
 * worker binds its own). Returns the fd, or -1 with errno set. */
static int bind_socket(const struct conf_listen *l, int type)
{
	int fd =
	    socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		goto fail;
	if (l->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	if (type == SOCK_DGRAM && is_wildcard(&l->addr)) {
		if (l->addr.ss_family == AF_INET &&
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0)
			goto fail;
		if (l->addr.ss_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
			       sizeof(on)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) < 0)
		goto fail;
	return fd;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* The port a socket got (for listen ports given as 0). */
static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---- UDP -------------------------------------------------------------- */

/* Fills the control message of a reply so that it leaves from the address
 * the query was sent to (wildcard sockets only). Returns its length. */
static size_t reply_pktinfo(const struct msghdr *in, union pktinfo_cmsg *out)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)in, c)) {
		memset(out, 0, sizeof(*out));
		struct cmsghdr *o = &out->align;
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

/* The three system calls of the UDP loop, made without the C library's
 * wrappers: those make each one a thread-cancellation point, which costs
 * two calls (some 30 instructions) around every system call to turn
 * asynchronous cancellation on and off. No thread here is ever
 * cancelled. Same results and errno as the wrappers. */
static int sys_recvmmsg(int fd, struct mmsghdr *msgs, unsigned n)
{
	return (int)syscall(SYS_recvmmsg, fd, msgs, n, 0, NULL);
}

static int sys_sendmmsg(int fd, struct mmsghdr *msgs, unsigned n)
{
	return (int)syscall(SYS_sendmmsg, fd, msgs, n, 0);
}

static int sys_epoll_wait(int epfd, struct epoll_event *evs, int n)
{
	return (int)syscall(SYS_epoll_wait, epfd, evs, n, -1);
}

/* Sets up every receive header for a socket with (wildcard) or without
 * pktinfo. */
static void udp_setup(struct udp_thread *t, int wildcard)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		struct msghdr *h = &t->in_msgs[i].msg_hdr;
		t->in_iov[i].iov_base = t->udp_in + (size_t)i * UDP_IN_SIZE;
		t->in_iov[i].iov_len = UDP_IN_SIZE;
		h->msg_name = &t->addrs[i];
		h->msg_namelen = sizeof(t->addrs[i]);
		h->msg_iov = &t->in_iov[i];
		h->msg_iovlen = 1;
		h->msg_control = wildcard ? t->in_cmsg[i].buf : NULL;
		h->msg_controllen = wildcard ? sizeof(t->in_cmsg[i]) : 0;
		h->msg_flags = 0;
	}
}

/* Reads up to UDP_BATCH datagrams. Returns how many (0 when none). Of the
 * headers the last read filled, the kernel changed only the address and
 * control lengths (and msg_flags, which it does not read): only those are
 * set again. */
static int udp_receive(struct udp_thread *t, struct udp_socket *us)
{
	int wildcard = us->wildcard ? 1 : 0;
	if (t->in_wildcard != wildcard) {
		udp_setup(t, wildcard);
		t->in_wildcard = wildcard;
	} else {
		for (int i = 0; i < t->in_used; i++) {
			struct msghdr *h = &t->in_msgs[i].msg_hdr;
			h->msg_namelen = sizeof(t->addrs[i]);
			if (wildcard)
				h->msg_controllen = sizeof(t->in_cmsg[i]);
		}
	}
	t->in_used = 0;
	for (int tries = 0; tries < 4; tries++) {
		int n = sys_recvmmsg(us->fd, t->in_msgs, UDP_BATCH);
		if (n >= 0) {
			t->in_used = n;
			return n;
		}
		if (errno != EINTR)
			return 0; /* EAGAIN, or an error for a datagram */
	}
	return 0;
}

/* Sends the n replies prepared in out_msgs. What the kernel does not take
 * (socket buffer full) is dropped: UDP clients retry. */
static void udp_send(struct udp_socket *us, struct mmsghdr *msgs, int n)
{
	int off = 0;
	for (int tries = 0; off < n && tries <= n; tries++) {
		int sent =
		    sys_sendmmsg(us->fd, msgs + off, (unsigned)(n - off));
		if (sent > 0) {
			off += sent;
		} else if (sent < 0 && errno == EINTR) {
			continue;
		} else if (sent < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			return;
		} else {
			off++; /* this datagram cannot be sent: skip it */
		}
	}
}

/* Counts a query's type (as answering read it: scratch->qtype) and, when
 * one is sent, its response's rcode. */
static void count(struct worker_stats *st, const struct answer_scratch *s,
		  const uint8_t *resp, size_t rlen)
{
	if (s->qtype >= 256)
		st->qtype_other++;
	else if (s->qtype >= 0)
		st->qtype[s->qtype]++;
	if (rlen >= MSG_HDRLEN) {
		st->responses++;
		st->rcode[resp[3] & 0x0f]++;
	}
}

/* Response rate limiting (rrl.h) of one UDP response. Returns its new
 * length: 0 when it is dropped, the truncated length when it slips. */
static size_t rate_limit(struct udp_thread *t, const void *from, uint8_t *out,
			 size_t len)
{
	const struct answer_scratch *s = t->scratch;
	enum rrl_action act = rrl_account(
		t->rrl, &t->answer->rrl, from, (enum rrl_kind)s->rrl_kind,
		s->rrl_name, s->rrl_qtype, out[3] & 0x0f, (uint32_t)time(NULL));
	if (act == RRL_SEND)
		return len;
	if (act == RRL_SLIP) {
		size_t cut = rrl_truncate(out, len);
		if (cut > 0) {
			t->stats.rrl_slipped++;
			return cut;
		}
	}
	t->stats.rrl_dropped++;
	return 0;
}

static void udp_answer_batch(struct udp_thread *t, struct udp_socket *us, int n)
{
	int nout = 0;
	for (int i = 0; i < n; i++) {
		struct msghdr *in = &t->in_msgs[i].msg_hdr;
		t->stats.udp_queries++;
		if (in->msg_flags & MSG_TRUNC) {
			t->stats.udp_dropped++; /* larger than any query */
			continue;
		}
		uint8_t *out = t->udp_out + (size_t)i * UDP_OUT_SIZE;
		size_t len;
		/* Responses answer_query does not make (NOTIFY, TSIG errors)
		 * count as errors for rate limiting. */
		t->scratch->rrl_kind = RRL_ERROR;
		t->scratch->rrl_qtype = 0;
		t->scratch->rrl_name[0] = 0;
		if (t->request != NULL) {
			struct request_xfr *none;
			len = request_handle(t->request, t->scratch, ANSWER_UDP,
					     in->msg_name, t->in_iov[i].iov_base,
					     t->in_msgs[i].msg_len, out,
					     UDP_OUT_SIZE, &none);
		} else {
			len = answer_query(t->answer, t->scratch, ANSWER_UDP,
					   t->in_iov[i].iov_base,
					   t->in_msgs[i].msg_len, out,
					   UDP_OUT_SIZE);
		}
		count(&t->stats, t->scratch, out, len);
		if (len == 0) {
			t->stats.udp_dropped++;
			continue;
		}
		if (t->answer->rrl.rate != 0) {
			len = rate_limit(t, in->msg_name, out, len);
			if (len == 0)
				continue;
		}
		struct msghdr *h = &t->out_msgs[nout].msg_hdr;
		memset(h, 0, sizeof(*h));
		t->out_iov[nout].iov_base = out;
		t->out_iov[nout].iov_len = len;
		h->msg_name = in->msg_name;
		h->msg_namelen = in->msg_namelen;
		h->msg_iov = &t->out_iov[nout];
		h->msg_iovlen = 1;
		if (us->wildcard) {
			size_t clen = reply_pktinfo(in, &t->out_cmsg[nout]);
			if (clen > 0) {
				h->msg_control = t->out_cmsg[nout].buf;
				h->msg_controllen = clen;
			}
		}
		nout++;
	}
	if (nout > 0)
		udp_send(us, t->out_msgs, nout);
}

/* Answers what waits on one socket, up to UDP_ROUNDS batches. */
static void udp_read(struct udp_thread *t, struct udp_socket *us)
{
	udp_enter(t);
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n = udp_receive(t, us);
		if (n <= 0)
			break;
		udp_answer_batch(t, us, n);
		if (n < UDP_BATCH)
			break;
	}
	udp_leave(t);
}

/* The UDP thread: a socket's epoll data is its udp_socket, the stop
 * pipe's is NULL. The sockets are level-triggered: what one read leaves
 * (more than UDP_ROUNDS batches) is reported again by the next wait. */
static void *udp_main(void *arg)
{
	struct udp_thread *t = arg;
	rcu_register_thread();
	rcu_thread_offline(); /* see the top of this file */
	for (;;) {
		struct epoll_event evs[UDP_EVENTS];
		int n = sys_epoll_wait(t->epfd, evs, UDP_EVENTS);
		if (n < 0 && errno != EINTR) {
			log_error(t->w->s.log, "worker %u: epoll_wait: %s",
				  t->w->id, strerror(errno));
			break;
		}
		bool stop = false;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				stop = true;
			else
				udp_read(t, evs[i].data.ptr);
		}
		if (stop)
			break;
	}
	rcu_unregister_thread();
	return NULL;
}

/* ---- TCP -------------------------------------------------------------- */

/* Every function here runs between worker_enter and worker_leave. */

static void tcp_close(struct tcp_conn *c)
{
	struct worker *w = c->w;
	if (c->xfr != NULL) {
		request_xfr_free(w->request, c->xfr, false);
		c->xfr = NULL;
	}
	event_del(c->read_ev);
	event_del(c->write_ev);
	event_del(c->idle_ev);
	event_del(c->max_time_ev);
	close(c->fd);
	c->fd = -1;
	c->eof = false;
	c->in_len = 0;
	c->out_off = c->out_len = 0;
	/* Keep ordinary buffers for the next connection of this slot. */
	if (c->in_cap > TCP_IN_INITIAL) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	if (c->out_cap > TCP_OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	c->next_free = w->free_conns;
	w->free_conns = c;
	w->nconns--;
}

static size_t out_pending(const struct tcp_conn *c)
{
	return c->out_len - c->out_off;
}

/* Queues what the kernel did not take. Returns false on ENOMEM. */
static bool tcp_queue(struct tcp_conn *c, const uint8_t *data, size_t len)
{
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		uint8_t *n = realloc(c->out, cap);
		if (n == NULL)
			return false;
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return true;
}

/* Sends one framed answer, or queues it behind earlier output. Returns
 * false when the connection had to be closed. */
static bool tcp_send(struct tcp_conn *c, const uint8_t *data, size_t len)
{
	size_t sent = 0;
	if (out_pending(c) == 0) {
		for (int tries = 0; tries < 4; tries++) {
			ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
			if (n >= 0) {
				sent = (size_t)n;
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			tcp_close(c);
			return false;
		}
	}
	if (sent < len && !tcp_queue(c, data + sent, len - sent)) {
		tcp_close(c);
		return false;
	}
	return true;
}

static void tcp_touch(struct tcp_conn *c)
{
	event_add(c->idle_ev, &c->w->idle);
}

/* Streams the transfer in progress while the output has room (the write
 * watermark: a slow client holds back only its own transfer). Returns
 * false when the connection was closed. */
static bool tcp_stream(struct tcp_conn *c)
{
	struct worker *w = c->w;
	/* A bounded number of messages per turn of the loop, so that the
	 * other clients of this worker are served in between. */
	for (int n = 0; n < 16 && c->xfr != NULL && out_pending(c) < TCP_OUT_HIGH;
	     n++) {
		size_t len = 0;
		int r = request_xfr_next(c->xfr, w->tcp_out + 2, &len);
		if (r < 0) {
			tcp_close(c);
			return false;
		}
		w->tcp_out[0] = (uint8_t)(len >> 8);
		w->tcp_out[1] = (uint8_t)len;
		if (r == 0) {
			request_xfr_free(w->request, c->xfr, true);
			c->xfr = NULL;
		}
		if (!tcp_send(c, w->tcp_out, len + 2))
			return false;
		/* A transfer making progress is not idle (RFC 7766 §6.2.3
		 * is about silent connections). */
		tcp_touch(c);
	}
	return true;
}

/* Closes the connection when the length prefix at `pos` of the input
 * announces more than tcp-max-message-size, before any buffer grows for
 * the message. Returns true when it did. */
static bool tcp_oversize(struct tcp_conn *c, size_t pos)
{
	struct worker *w = c->w;
	if (c->in_len - pos < 2)
		return false;
	size_t mlen = (size_t)c->in[pos] << 8 | c->in[pos + 1];
	if (mlen <= w->max_message)
		return false;
	w->stats.tcp_oversize++;
	tcp_close(c);
	return true;
}

/* Answers the complete queries in the input buffer, in order (RFC 7766
 * §6.2.1.1), until output backs up. Then listens for what is needed next:
 * writability while output waits, else more input. Returns false when the
 * connection was closed. */
static bool tcp_process(struct tcp_conn *c)
{
	struct worker *w = c->w;
	size_t pos = 0;
	if (!tcp_stream(c))
		return false;
	while (c->xfr == NULL && out_pending(c) < TCP_OUT_HIGH &&
	       c->in_len - pos >= 2) {
		if (tcp_oversize(c, pos))
			return false;
		size_t mlen = (size_t)c->in[pos] << 8 | c->in[pos + 1];
		if (c->in_len - pos - 2 < mlen)
			break;
		const uint8_t *query = c->in + pos + 2;
		pos += 2 + mlen;
		w->stats.tcp_queries++;
		size_t len;
		if (w->request != NULL) {
			len = request_handle(w->request, w->scratch, ANSWER_TCP,
					     (struct sockaddr *)&c->peer, query,
					     mlen, w->tcp_out + 2, MSG_MAXLEN,
					     &c->xfr);
			if (c->xfr != NULL) {
				if (!tcp_stream(c))
					return false;
				continue;
			}
		} else {
			len = answer_query(w->answer, w->scratch, ANSWER_TCP,
					   query, mlen, w->tcp_out + 2,
					   MSG_MAXLEN);
		}
		count(&w->stats, w->scratch, w->tcp_out + 2, len);
		if (len == 0)
			continue; /* dropped (a response, or no header) */
		w->tcp_out[0] = (uint8_t)(len >> 8);
		w->tcp_out[1] = (uint8_t)len;
		if (!tcp_send(c, w->tcp_out, len + 2))
			return false;
	}
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
		tcp_touch(c);
	}

	if (out_pending(c) > 0 || c->xfr != NULL) {
		event_del(c->read_ev);
		event_add(c->write_ev, NULL);
		return true;
	}
	event_del(c->write_ev);
	if (c->eof) {
		/* Everything asked before the client's FIN is answered. */
		tcp_close(c);
		return false;
	}
	event_add(c->read_ev, NULL);
	return true;
}

/* Room to read into: at least the rest of the message being received
 * (whose prefix tcp_oversize has passed). Returns the free space (0 on
 * ENOMEM or while complete messages wait). */
static size_t tcp_in_space(struct tcp_conn *c)
{
	size_t need = TCP_IN_INITIAL;
	if (c->in_len >= 2) {
		size_t mlen = (size_t)c->in[0] << 8 | c->in[1];
		if (2 + mlen > need)
			need = 2 + mlen;
	}
	if (need > c->in_cap) {
		uint8_t *n = realloc(c->in, need);
		if (n == NULL)
			return 0;
		c->in = n;
		c->in_cap = need;
	}
	return c->in_cap - c->in_len;
}

static void tcp_read(struct tcp_conn *c)
{
	for (int round = 0; round < TCP_READS; round++) {
		/* (tcp_process checks each prefix too, but not while output
		 * or a transfer holds it back.) */
		if (tcp_oversize(c, 0))
			return;
		size_t space = tcp_in_space(c);
		if (space == 0) {
			tcp_close(c);
			return;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, space, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			tcp_close(c);
			return;
		}
		if (n == 0)
			c->eof = true;
		c->in_len += (size_t)n;
		/* Not tcp_touch: only a whole message counts as activity, so
		 * a client trickling one octet at a time still times out
		 * (tcp_process touches per message). */
		if (!tcp_process(c))
			return;
		if (c->eof || out_pending(c) > 0 || (size_t)n < space)
			return;
	}
}

static void tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	worker_enter(w);
	tcp_read(c);
	worker_leave(w);
}

static void tcp_write(struct tcp_conn *c)
{
	while (out_pending(c) > 0) {
		ssize_t n = send(c->fd, c->out + c->out_off, out_pending(c),
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			tcp_close(c);
			return;
		}
		c->out_off += (size_t)n;
		tcp_touch(c);
	}
	c->out_off = c->out_len = 0;
	/* Output drained: answer what was left waiting, then read on. */
	tcp_process(c);
}

static void tcp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	worker_enter(w);
	tcp_write(c);
	worker_leave(w);
}

/* RFC 7766 §6.2.3: a connection idle for tcp-idle-timeout is closed. */
static void tcp_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	worker_enter(w);
	w->stats.tcp_timeouts++;
	tcp_close(c);
	worker_leave(w);
}

/* tcp-max-time: a connection is closed after this long however busy it
 * is. The idle timeout is re-armed by every bit of progress, so without
 * this a client reading a transfer a few octets at a time would keep
 * its slot, and the zone version it streams, for ever (RFC 7766 §6.2.3
 * lets a server close any connection to save its resources). */
static void tcp_max_time_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	worker_enter(w);
	w->stats.tcp_overtime++;
	if (c->xfr != NULL)
		log_warning(w->s.log,
			    "zone %s: transfer to %s cut: the "
			    "connection reached tcp-max-time (%lld s)",
			    c->xfr->zone, c->xfr->peer,
			    (long long)w->max_time.tv_sec);
	tcp_close(c);
	worker_leave(w);
}

static void tcp_open(struct worker *w, struct tcp_conn *c, int fd)
{
	int on = 1;
	/* Answers are written whole; do not let Nagle hold them back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->fd = fd;
	c->eof = false;
	event_assign(c->read_ev, w->base, fd, EV_READ | EV_PERSIST, tcp_read_cb,
		     c);
	event_assign(c->write_ev, w->base, fd, EV_WRITE | EV_PERSIST,
		     tcp_write_cb, c);
	event_assign(c->idle_ev, w->base, -1, 0, tcp_idle_cb, c);
	event_assign(c->max_time_ev, w->base, -1, 0, tcp_max_time_cb, c);
	event_add(c->read_ev, NULL);
	tcp_touch(c);
	if (w->max_time.tv_sec > 0)
		event_add(c->max_time_ev, &w->max_time);
	w->nconns++;
	w->stats.tcp_accepted++;
}

/* Out of file descriptors, the pending connection stays in the backlog
 * and the listener would fire again at once: stop accepting for a
 * moment, and say so at most once a minute. */
#define ACCEPT_PAUSE_MS 100
#define ACCEPT_LOG_EVERY 60

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_listener *l = arg;
	event_add(l->ev, NULL);
}

static void accept_pause(struct tcp_listener *l)
{
	struct worker *w = l->w;
	int err = errno;
	time_t now = time(NULL);
	w->stats.tcp_refused++;
	if (now - w->emfile_logged >= ACCEPT_LOG_EVERY) {
		w->emfile_logged = now;
		log_warning(w->s.log, "worker %u: accept: %s; TCP paused "
			    "(tcp-max-clients above the descriptor limit?)",
			    w->id, strerror(err));
	}
	struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
	event_del(l->ev);
	event_add(l->pause_ev, &pause);
}

static void tcp_accept(struct tcp_listener *l)
{
	struct worker *w = l->w;
	for (int i = 0; i < TCP_ACCEPTS; i++) {
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof(peer);
		int cfd = accept4(l->fd, (struct sockaddr *)&peer, &peerlen,
				  SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				accept_pause(l);
			return;
		}
		struct tcp_conn *c = w->free_conns;
		if (c == NULL) {
			/* At the cap: close at once rather than leave the
			 * client waiting in the backlog. */
			close(cfd);
			w->stats.tcp_refused++;
			continue;
		}
		w->free_conns = c->next_free;
		c->peer = peer;
		tcp_open(w, c, cfd);
	}
}

static void tcp_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_listener *l = arg;
	worker_enter(l->w);
	tcp_accept(l);
	worker_leave(l->w);
}

/* ---- the thread ------------------------------------------------------- */

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	rcu_register_thread();
	/* Offline while waiting for events; see the top of this file. */
	rcu_thread_offline();
	event_base_dispatch(w->base);
	rcu_unregister_thread();
	return NULL;
}

/* ---- life cycle ------------------------------------------------------- */

/* Binds the UDP and the TCP socket of one listen address. A port of 0
 * asks the kernel for one free for both; it is then written back into
 * l so that the other workers bind the same port. Returns 0 or -1 with
 * errno set; *which says which protocol failed. */
static int bind_pair(struct conf_listen *l, int *ufd, int *tfd,
		     const char **which)
{
	bool any_port = listen_port(l) == 0;
	for (int attempt = 0; attempt < 32; attempt++) {
		*which = "UDP";
		*ufd = bind_socket(l, SOCK_DGRAM);
		if (*ufd < 0)
			return -1;
		struct conf_listen both = *l;
		if (any_port)
			set_listen_port(&both, bound_port(*ufd));
		*which = "TCP";
		*tfd = bind_socket(&both, SOCK_STREAM);
		if (*tfd >= 0) {
			*l = both;
			return 0;
		}
		int saved = errno;
		close(*ufd);
		errno = saved;
		/* The port the kernel gave for UDP is taken for TCP: ask
		 * again. */
		if (!any_port || errno != EADDRINUSE)
			return -1;
	}
	return -1;
}

static int add_sockets(struct worker *w, struct conf_listen *listens,
		       size_t nlistens)
{
	w->udp = calloc(nlistens, sizeof(*w->udp));
	w->tcp = calloc(nlistens, sizeof(*w->tcp));
	if (w->udp == NULL || w->tcp == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < nlistens; i++) {
		struct conf_listen *l = &listens[i];
		int ufd, tfd;
		const char *which;
		if (bind_pair(l, &ufd, &tfd, &which) < 0) {
			log_error(w->s.log, "cannot listen on %s (%s): %s",
				  l->text, which, strerror(errno));
			return ERR_IO;
		}
		struct udp_socket *us = &w->udp[w->nudp++];
		us->fd = ufd;
		us->wildcard = is_wildcard(&l->addr);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = us};
		if (epoll_ctl(w->ut.epfd, EPOLL_CTL_ADD, ufd, &ev) < 0) {
			log_error(w->s.log, "cannot listen on %s (UDP): %s",
				  l->text, strerror(errno));
			return ERR_IO;
		}
		struct tcp_listener *tl = &w->tcp[w->ntcp++];
		tl->w = w;
		tl->fd = tfd;
		tl->ev = event_new(w->base, tfd, EV_READ | EV_PERSIST,
				   tcp_accept_cb, tl);
		tl->pause_ev = evtimer_new(w->base, accept_resume_cb, tl);
		if (tl->ev == NULL || tl->pause_ev == NULL ||
		    event_add(tl->ev, NULL) < 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int add_connections(struct worker *w)
{
	size_t n = w->s.tcp_max_clients;
	w->conns = calloc(n, sizeof(*w->conns));
	if (w->conns == NULL)
		return ERR_NOMEM;
	for (size_t i = n; i-- > 0;) {
		struct tcp_conn *c = &w->conns[i];
		c->w = w;
		c->fd = -1;
		c->read_ev = event_new(w->base, -1, 0, NULL, NULL);
		c->write_ev = event_new(w->base, -1, 0, NULL, NULL);
		c->idle_ev = event_new(w->base, -1, 0, NULL, NULL);
		c->max_time_ev = event_new(w->base, -1, 0, NULL, NULL);
		if (!c->read_ev || !c->write_ev || !c->idle_ev ||
		    !c->max_time_ev)
			return ERR_NOMEM;
		c->next_free = w->free_conns;
		w->free_conns = c;
	}
	return 0;
}

/* The settings in force from the main thread, while the worker's thread
 * does not run (creation, freeing): the current worker_live, which the
 * server keeps until the workers are freed, or the fixed ones. */
static void worker_settle(struct worker *w)
{
	if (w->s.live != NULL) {
		take_live(w, *w->s.live);
		w->ut.answer = w->answer;
		w->ut.request = w->request;
		return;
	}
	w->ut.answer = w->s.answer;
	w->ut.request = w->s.request;
	w->answer = w->s.answer;
	w->request = w->s.request;
	w->idle.tv_sec = w->s.tcp_idle_timeout;
	w->max_time.tv_sec = w->s.tcp_max_time;
	w->max_message =
	    w->s.tcp_max_message_size ? w->s.tcp_max_message_size : MSG_MAXLEN;
}

int worker_create(unsigned id, const struct worker_settings *settings,
		  struct conf_listen *listens, size_t nlistens,
		  struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return ERR_NOMEM;
	w->id = id;
	w->s = *settings;
	w->ut.w = w;
	w->ut.epfd = -1;
	w->ut.in_wildcard = -1; /* receive headers not set up yet */
	if (w->s.tcp_max_clients == 0)
		w->s.tcp_max_clients = 1;
	w->stop_pipe[0] = w->stop_pipe[1] = -1;
	worker_settle(w);
	int ret = ERR_NOMEM;

	/* No locks: this base is only ever touched by its own thread (the
	 * stop request comes through a pipe). No time cache: libevent would
	 * read the clock on every wake-up, for every UDP batch, and nothing
	 * here reads the cached time; a timer added reads the clock itself. */
	struct event_config *cfg = event_config_new();
	if (cfg == NULL)
		goto fail;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		goto fail;

	struct udp_thread *t = &w->ut;
	w->scratch = malloc(sizeof(*w->scratch));
	t->scratch = malloc(sizeof(*t->scratch));
	/* 2^15 buckets, 512 KB: made even while rate limiting is off, as a
	 * reconfig may turn it on. */
	t->rrl = rrl_new(15);
	t->udp_in = malloc((size_t)UDP_BATCH * UDP_IN_SIZE);
	t->udp_out = malloc((size_t)UDP_BATCH * UDP_OUT_SIZE);
	w->tcp_out = malloc(2 + MSG_MAXLEN);
	if (!w->scratch || !t->scratch || !t->rrl || !t->udp_in ||
	    !t->udp_out || !w->tcp_out)
		goto fail;

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0 || pipe2(w->stop_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		log_error(w->s.log, "worker %u: %s", id, strerror(errno));
		ret = ERR_IO;
		goto fail;
	}
	/* Neither thread reads the pipe: one octet keeps it readable for
	 * both. */
	w->stop_ev = event_new(w->base, w->stop_pipe[0], EV_READ, stop_cb, w);
	if (w->stop_ev == NULL || event_add(w->stop_ev, NULL) < 0)
		goto fail;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, w->stop_pipe[0], &ev) < 0) {
		log_error(w->s.log, "worker %u: %s", id, strerror(errno));
		ret = ERR_IO;
		goto fail;
	}

	ret = add_sockets(w, listens, nlistens);
	if (ret < 0)
		goto fail;
	ret = add_connections(w);
	if (ret < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	worker_free(w);
	return ret;
}

int worker_start(struct worker *w)
{
	if (pthread_create(&w->ut.thread, NULL, udp_main, &w->ut) != 0)
		return ERR_NOMEM;
	w->ut.started = true;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		worker_stop(w);
		return ERR_NOMEM;
	}
	w->started = true;
	return 0;
}

void worker_stop(struct worker *w)
{
	if (!w->started && !w->ut.started)
		return;
	ssize_t n;
	do {
		n = write(w->stop_pipe[1], "x", 1);
	} while (n < 0 && errno == EINTR);
	if (w->ut.started)
		pthread_join(w->ut.thread, NULL);
	if (w->started)
		pthread_join(w->thread, NULL);
	w->ut.started = false;
	w->started = false;
}

static void stats_add(struct worker_stats *sum, const struct worker_stats *st)
{
	sum->udp_queries += st->udp_queries;
	sum->udp_dropped += st->udp_dropped;
	sum->tcp_queries += st->tcp_queries;
	sum->tcp_accepted += st->tcp_accepted;
	sum->tcp_refused += st->tcp_refused;
	sum->tcp_timeouts += st->tcp_timeouts;
	sum->tcp_overtime += st->tcp_overtime;
	sum->tcp_oversize += st->tcp_oversize;
	sum->rrl_dropped += st->rrl_dropped;
	sum->rrl_slipped += st->rrl_slipped;
	sum->responses += st->responses;
	for (int k = 0; k < 16; k++)
		sum->rcode[k] += st->rcode[k];
	for (int k = 0; k < 256; k++)
		sum->qtype[k] += st->qtype[k];
	sum->qtype_other += st->qtype_other;
}

void worker_stats_add(struct worker_stats *sum, const struct worker *w)
{
	stats_add(sum, &w->ut.stats);
	stats_add(sum, &w->stats);
}

void worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w);
	worker_settle(w);
	if (w->conns != NULL) {
		for (size_t i = 0; i < w->s.tcp_max_clients; i++) {
			struct tcp_conn *c = &w->conns[i];
			if (c->fd >= 0)
				tcp_close(c);
			if (c->read_ev)
				event_free(c->read_ev);
			if (c->write_ev)
				event_free(c->write_ev);
			if (c->idle_ev)
				event_free(c->idle_ev);
			if (c->max_time_ev)
				event_free(c->max_time_ev);
			free(c->in);
			free(c->out);
		}
		free(w->conns);
	}
	for (size_t i = 0; i < w->nudp; i++)
		close(w->udp[i].fd);
	for (size_t i = 0; i < w->ntcp; i++) {
		if (w->tcp[i].ev)
			event_free(w->tcp[i].ev);
		if (w->tcp[i].pause_ev)
			event_free(w->tcp[i].pause_ev);
		close(w->tcp[i].fd);
	}
	free(w->udp);
	free(w->tcp);
	if (w->stop_ev)
		event_free(w->stop_ev);
	if (w->stop_pipe[0] >= 0)
		close(w->stop_pipe[0]);
	if (w->stop_pipe[1] >= 0)
		close(w->stop_pipe[1]);
	if (w->base)
		event_base_free(w->base);
	if (w->ut.epfd >= 0)
		close(w->ut.epfd);
	free(w->scratch);
	free(w->ut.scratch);
	rrl_free(w->ut.rrl);
	free(w->ut.udp_in);
	free(w->ut.udp_out);
	free(w->tcp_out);
	free(w);
}

/*
 * conn: the connection table and the life of one connection, on the
 * worker's own loop. What it leaves to others: building requests
 * (request.c, told through conn_request_* and the table's gone callback),
 * answering them (dispatch.c refuses a request over the cap or with a NUL
 * byte; the router and the handlers answer the rest), owning the TLS
 * context and the evhttp (worker.c).
 *
 * Catching a connection. evhttp has no accept hook in libevent 2.1, so a
 * connection is caught at the one place it shows itself, the bufferevent
 * callback (bevcb), which runs inside evhttp's accept handler just before
 * evhttp builds its evhttp_connection around our bufferevent. There we
 * count the connection, take a reference on the bufferevent and activate
 * the connection's timer; its first run (still within the same loop pass,
 * before any byte can be read) "attaches": it finds the evhttp_connection
 * (the bufferevent's callback argument), registers our close callback on
 * it, enters it in the table and starts the request deadline. If evhttp
 * dropped the connection in between, the bufferevent's callbacks are
 * gone, which we see and count.
 *
 * Request deadline. evhttp's own timeout is an inactivity timer, so a
 * client sending a byte a second could hold a connection for ever. Each
 * connection has a timer that runs from the first byte of a request (from
 * accept, for the first request, so the TLS handshake counts) until evhttp
 * has the request whole; if it fires, the connection is closed. Between
 * requests the same timer runs --idle-timeout from the end of the last
 * reply, and is not reset by bytes that do not complete a TLS record:
 * evhttp's own timeout (also --idle-timeout) counts raw socket reads, so a
 * client trickling one TLS record a byte at a time would reset it for
 * ever. The timers use common timeout queues, so arming and disarming is
 * O(1).
 *
 * Connection cap. The process-wide open-connection count of the table's
 * listener is an atomic, touched at accept and close only. A connection
 * accepted above the cap (--max-connections for the public listener)
 * gets 503 on its first request and is closed.
 *
 * Message framing (framing.h). evhttp in libevent 2.1 decides a
 * request's length loosely: the first of several Content-Length fields
 * wins, "+5" passes, a Transfer-Encoding other than chunked is ignored
 * in favour of Content-Length, a chunk size may be "0x5", end in a bare
 * LF or be followed by anything after a space, and trailer fields join
 * the headers. Each is a smuggling shape behind a proxy that reads the
 * request otherwise, so every request's framing is checked before evhttp
 * reads any of its content:
 *   - the head, from evhttp's header callback, which runs when the field
 *     lines are parsed and before the body is looked at. libevent 2.1 has
 *     no way to set it on the requests evhttp creates, so this file
 *     defines evhttp_request_new(): libevent calls it for each request
 *     of a connection (the binary exports the symbol, see meson.build);
 *     ours calls libevent's and sets the callback. The callback is one
 *     pass over the parsed fields (evkeyvalq keeps every repeated one).
 *     On a fault it removes the Content-Length and Transfer-Encoding
 *     fields, so that evhttp reads no content and hands the request
 *     straight to the dispatcher, which answers 400 and closes the
 *     connection (conn_framing());
 *   - a chunked body, octet by octet: what is already buffered when the
 *     head is checked, then each read as it arrives (conn_input(), which
 *     runs when bytes are added to the input buffer, before evhttp's read
 *     callback sees them). A fault in what came with the head is answered
 *     as above; one found later is answered at once, through the table's
 *     `refuse` callback (the dispatcher: 400, connection closed), before
 *     evhttp parses the bad octets. The check stops when the body ends
 *     (what follows is the next request), and when evhttp stops reading
 *     it (evhttp unsets its read callback once it answers, e.g. 413 for a
 *     body over --max-body).
 * A request whose head was never checked (a build that does not export
 * evhttp_request_new) keeps FRAMING_UNCHECKED, which the dispatcher
 * refuses: the check fails closed. conn_table_init() also stops start-up
 * when the symbol is not the binary's.
 *
 * Invariants: a struct conn is in its table from attach until evhttp
 * closes the connection (conn_closed), and is freed exactly once, by
 * conn_free(), which gives back its place in the open-connection count.
 * `current` is set only between conn_request_started() and
 * conn_request_finished(). `chunked` is set only while evhttp reads the
 * chunked body of the request being read and the body's check has found
 * neither its end nor a fault; `framing` is the verdict on the request
 * being read or handled (FRAMING_UNCHECKED until its head is checked).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "conn.h"
#include "framing.h"
#include "log.h"
#include "tls.h"
#include "util.h"

enum conn_state {
	CONN_NEW = 0,		/* accepted, not yet attached */
	CONN_READING,		/* a request is arriving; deadline armed */
	CONN_HANDLING,		/* request whole; a handler has it */
	CONN_IDLE,		/* keep-alive, between requests */
};

struct conn {
	struct conn_table		*table;
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;
	struct evbuffer_cb_entry	*input_cb;
	struct event			 timer;
	enum conn_state			 state;
	bool				 over_cap;
	bool				 broken;	/* no TLS: close at once */
	bool				 saw_nul;	/* a NUL byte arrived */
	enum framing_verdict		 framing;	/* of this request */
	struct evhttp_request		*chunked;	/* its chunked body */
	struct framing_chunks		 chunks;
	struct request			*current;
	struct conn			*next;		/* table chain */
};

/*
 * The tables of the worker running on this thread, for the header
 * callback, which is given only the request: one per listener the worker
 * serves (the public one; on worker 0 the management one too). A table is
 * added at its first accept, so before any of its requests.
 */
#define THREAD_TABLES_MAX	2
static _Thread_local struct conn_table	*thread_tables[THREAD_TABLES_MAX];

/* Remember t as one of this thread's tables. */
static void
thread_table_add(struct conn_table *t)
{
	size_t	 i;

	for (i = 0; i < THREAD_TABLES_MAX; i++) {
		if (thread_tables[i] == t)
			return;
		if (thread_tables[i] == NULL) {
			thread_tables[i] = t;
			return;
		}
	}
	fatalx(1, "conn: more than %d listeners on one worker",
	    THREAD_TABLES_MAX);
}

/* The connection of evcon in one of this thread's tables, or NULL. */
static struct conn *
thread_conn_find(struct evhttp_connection *evcon)
{
	struct conn	*c;
	size_t		 i;

	for (i = 0; i < THREAD_TABLES_MAX && thread_tables[i] != NULL; i++)
		if ((c = conn_find(thread_tables[i], evcon)) != NULL)
			return c;
	return NULL;
}

/* ---- evcon -> conn (per worker, so no lock) ---- */

static size_t
map_slot(const struct conn_table *m, const void *key)
{
	uintptr_t	 h = (uintptr_t)key;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return (size_t)h & (m->nbuckets - 1);
}

static void
map_grow(struct conn_table *m)
{
	struct conn	**old = m->buckets;
	size_t		  oldn = m->nbuckets, i;

	m->nbuckets = oldn ? oldn * 2 : 256;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	for (i = 0; i < oldn; i++) {
		struct conn	*c = old[i], *next;

		for (; c != NULL; c = next) {
			size_t	 s = map_slot(m, c->evcon);

			next = c->next;
			c->next = m->buckets[s];
			m->buckets[s] = c;
		}
	}
	free(old);
}

static void
map_insert(struct conn_table *m, struct conn *c)
{
	size_t	 s;

	if (m->count + 1 > m->nbuckets)
		map_grow(m);
	s = map_slot(m, c->evcon);
	c->next = m->buckets[s];
	m->buckets[s] = c;
	m->count++;
}

static void
map_remove(struct conn_table *m, struct conn *c)
{
	struct conn	**pp;

	if (m->nbuckets == 0)
		return;
	for (pp = &m->buckets[map_slot(m, c->evcon)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			m->count--;
			return;
		}
	}
}

struct conn *
conn_find(struct conn_table *t, struct evhttp_connection *evcon)
{
	struct conn	*c;

	if (t->nbuckets == 0)
		return NULL;
	for (c = t->buckets[map_slot(t, evcon)]; c != NULL; c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

/* ---- connection life cycle ---- */

static void
conn_free(struct conn *c)
{
	event_del(&c->timer);
	atomic_fetch_sub_explicit(c->table->open_conns, 1,
	    memory_order_relaxed);
	free(c);
}

static void
conn_arm_deadline(struct conn *c)
{
	c->state = CONN_READING;
	event_add(&c->timer, c->table->deadline_tv);
}

/* evhttp is freeing the connection (any reason). */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	(void)evcon;
	map_remove(c->table, c);
	if (c->input_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev),
		    c->input_cb);
	if (c->current != NULL) {
		struct request	*req = c->current;

		c->current = NULL;
		c->table->gone(req);
	}
	conn_free(c);
}

/*
 * Feed the chunked body of the request being read to its check, from
 * offset `from` of the input buffer to the buffer's end. Stops checking
 * (unsets c->chunked) when the body ended or on a fault; returns the
 * fault, or FRAMING_OK.
 */
static enum framing_verdict
conn_check_chunks(struct conn *c, size_t from)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 ptr;
	struct evbuffer_iovec	 vec[8];
	enum framing_verdict	 v;
	size_t			 off = from, used;
	int			 n, i;

	do {
		if (evbuffer_ptr_set(in, &ptr, off, EVBUFFER_PTR_SET) != 0)
			break;
		/* Our input buffer's memory: the feed may rewrite an octet
		   (framing.h) that evhttp has not parsed yet. */
		n = evbuffer_peek(in, -1, &ptr, vec, (int)nitems(vec));
		for (i = 0; i < n && i < (int)nitems(vec); i++) {
			v = framing_chunks_feed(&c->chunks, vec[i].iov_base,
			    vec[i].iov_len, &used);
			if (v != FRAMING_OK ||
			    framing_chunks_done(&c->chunks)) {
				c->chunked = NULL;
				return v;
			}
			off += vec[i].iov_len;
		}
	} while (n >= (int)nitems(vec));
	return FRAMING_OK;
}

/*
 * Bytes arrived: the start of a request starts its deadline, and a
 * chunked body being read is checked before evhttp's read callback
 * parses them (see the top of this file). They are also searched for
 * NUL, which no request of ours may carry (RFC 9110 5.5 lets a recipient
 * refuse it in a field value; no body we read may hold a raw one) and
 * which evhttp would silently cut a header value at, so that
 * "Authorization: Bearer <token>\0junk" would pass as the token alone.
 */
static void
conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn		*c = arg;
	struct evbuffer_ptr	 from, hit;
	size_t			 len;

	if (info->n_added == 0)
		return;
	if (c->state == CONN_IDLE)
		conn_arm_deadline(c);
	len = evbuffer_get_length(buf);
	if (len < info->n_added)
		return;
	if (c->chunked != NULL) {
		struct evhttp_request	*ev = c->chunked;
		bufferevent_data_cb	 readcb = NULL;

		bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
		if (readcb == NULL) {
			/* evhttp answered the request (413): not reading. */
			c->chunked = NULL;
		} else if ((c->framing = conn_check_chunks(c,
		    len - info->n_added)) != FRAMING_OK) {
			/* Before evhttp parses the octets; c stays (the
			   reply is written later). */
			c->table->refuse(ev, c->table->refuse_arg);
			return;
		}
	}
	if (c->saw_nul || evbuffer_ptr_set(buf, &from, len - info->n_added,
	    EVBUFFER_PTR_SET) != 0)
		return;
	hit = evbuffer_search(buf, "", 1, &from);
	if (hit.pos != -1)
		c->saw_nul = true;
}

/* evhttp reads content for these methods only (http.c,
   evhttp_method_may_have_body). */
static bool
content_read(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_POST:
	case EVHTTP_REQ_PUT:
	case EVHTTP_REQ_DELETE:
	case EVHTTP_REQ_OPTIONS:
	case EVHTTP_REQ_CONNECT:
	case EVHTTP_REQ_PATCH:
		return true;
	default:
		return false;
	}
}

/* One pass over the fields evhttp parsed (every repeated one kept). */
static enum framing_verdict
head_framing(struct evhttp_request *ev, struct framing_head *head)
{
	struct evkeyval		*f;

	framing_head_init(head);
	TAILQ_FOREACH(f, evhttp_request_get_input_headers(ev), next)
		framing_head_field(head, f->key, f->value);
	return framing_head_finish(head, ev->major, ev->minor,
	    content_read(evhttp_request_get_command(ev)));
}

enum framing_verdict
conn_head_framing(struct evhttp_request *ev)
{
	struct framing_head	 head;

	return head_framing(ev, &head);
}

/*
 * evhttp's header callback: the field lines of ev are parsed, its content
 * not yet looked at. Checks the head's framing; a chunked body starts its
 * own check with what is already buffered. On a fault, the framing fields
 * go, so that evhttp reads no content and dispatches ev at once (the
 * dispatcher refuses it). Returning -1 makes evhttp close the connection
 * without an answer: only for a connection that is not ours.
 */
static int
conn_headers_done(struct evhttp_request *ev, void *arg)
{
	struct evkeyvalq	*fields = evhttp_request_get_input_headers(ev);
	struct framing_head	 head;
	struct conn		*c;

	(void)arg;
	if ((c = thread_conn_find(evhttp_request_get_connection(ev))) ==
	    NULL)
		return -1;
	c->framing = head_framing(ev, &head);
	c->chunked = NULL;
	if (c->framing == FRAMING_OK && head.chunked) {
		framing_chunks_init(&c->chunks);
		c->chunked = ev;
		/* The input buffer now starts with the body. */
		c->framing = conn_check_chunks(c, 0);
	}
	if (c->framing != FRAMING_OK) {
		c->chunked = NULL;
		while (evhttp_remove_header(fields, "Content-Length") == 0)
			continue;
		while (evhttp_remove_header(fields, "Transfer-Encoding") == 0)
			continue;
		/* Debian's libevent 2.1.12 decides chunked before this
		   callback, from the field just removed. */
		ev->chunked = 0;
	}
	return 0;
}

/* libevent's own evhttp_request_new(), found once. */
typedef struct evhttp_request *(*request_new_fn)(
    void (*)(struct evhttp_request *, void *), void *);
static request_new_fn		 libevent_request_new;
static pthread_once_t		 libevent_request_new_once = PTHREAD_ONCE_INIT;

static void
find_libevent_request_new(void)
{
	void	*sym = dlsym(RTLD_NEXT, "evhttp_request_new");

	memcpy(&libevent_request_new, &sym, sizeof(sym));
}

/*
 * Replaces libevent's evhttp_request_new() (see the top of this file):
 * evhttp creates every incoming request with it. tokend makes no HTTP
 * request of its own, so every request made here is an incoming one.
 */
struct evhttp_request *
evhttp_request_new(void (*cb)(struct evhttp_request *, void *), void *arg)
{
	struct evhttp_request	*ev;

	pthread_once(&libevent_request_new_once, find_libevent_request_new);
	if (libevent_request_new == NULL)
		return NULL;
	if ((ev = libevent_request_new(cb, arg)) != NULL)
		evhttp_request_set_header_cb(ev, conn_headers_done);
	return ev;
}

static void
conn_attach(struct conn *c)
{
	void	*cbarg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	if (cbarg == NULL) {
		/* evhttp gave up on it already; our reference is the last. */
		bufferevent_decref(c->bev);
		conn_free(c);
		return;
	}
	c->evcon = cbarg;
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	map_insert(c->table, c);
	bufferevent_decref(c->bev);
	if (c->broken) {
		evhttp_connection_free(c->evcon);	/* frees c */
		return;
	}
	c->input_cb = evbuffer_add_cb(bufferevent_get_input(c->bev),
	    conn_input, c);
	conn_arm_deadline(c);
}

static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_NEW) {
		conn_attach(c);
		return;
	}
	if (c->state == CONN_IDLE) {
		log_debug("event=idle_timeout worker=%d", c->table->worker_id);
		evhttp_connection_free(c->evcon);	/* frees c */
		return;
	}
	if (c->state != CONN_READING)
		return;
	if (log_enabled(LOG_LEVEL_INFO)) {
		char		*addr = NULL;
		ev_uint16_t	 port = 0;

		evhttp_connection_get_peer(c->evcon, &addr, &port);
		log_info("event=request_timeout client=%s worker=%d",
		    addr != NULL ? addr : "-", c->table->worker_id);
	}
	evhttp_connection_free(c->evcon);	/* conn_closed frees c */
}

/* evhttp wants a bufferevent for a connection it has just accepted. */
static struct bufferevent *
conn_new_bufferevent(struct event_base *base, void *arg)
{
	struct conn_table	*t = arg;
	struct bufferevent	*bev = NULL;
	struct conn		*c;
	int			 n;

	thread_table_add(t);
	c = xcalloc(1, sizeof(*c));
	c->table = t;
	c->framing = FRAMING_UNCHECKED;
	n = atomic_fetch_add_explicit(t->open_conns, 1,
	    memory_order_relaxed) + 1;
	c->over_cap = n > t->max_connections;
	if (t->ssl_ctx != NULL &&
	    (bev = tls_bufferevent_new(base, t->ssl_ctx)) == NULL)
		c->broken = true;
	if (bev == NULL)
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* evhttp will make its own plain one; we close it at once. */
		log_error("event=accept_error err=\"no bufferevent\"");
		free(c);
		atomic_fetch_sub_explicit(t->open_conns, 1,
		    memory_order_relaxed);
		return NULL;
	}
	c->bev = bev;
	bufferevent_incref(bev);
	event_assign(&c->timer, base, -1, 0, conn_timer, c);
	event_active(&c->timer, EV_TIMEOUT, 1);
	return bev;
}

void
conn_request_started(struct conn *c, struct request *req)
{
	event_del(&c->timer);
	c->state = CONN_HANDLING;
	c->current = req;
	c->chunked = NULL;
}

void
conn_request_finished(struct conn *c)
{
	c->current = NULL;
	c->framing = FRAMING_UNCHECKED;		/* the next request's */
	c->chunked = NULL;
	/* A pipelined request may already be waiting in the buffer. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		conn_arm_deadline(c);
	} else {
		c->state = CONN_IDLE;
		event_add(&c->timer, c->table->idle_tv);
	}
}

SSL *
conn_ssl(const struct conn *c)
{
	/* NULL for a plain socket bufferevent. */
	return bufferevent_openssl_get_ssl(c->bev);
}

bool
conn_over_cap(const struct conn *c)
{
	return c->over_cap;
}

bool
conn_saw_nul(const struct conn *c)
{
	return c->saw_nul;
}

enum framing_verdict
conn_framing(const struct conn *c)
{
	return c->framing;
}

/* ---- set-up and tear-down ---- */

void
conn_table_init(struct conn_table *t, struct evhttp *http,
    struct event_base *base, const struct conn_limits *limits, int worker_id,
    atomic_int *open_conns, SSL_CTX *ssl_ctx)
{
	struct timeval	 deadline = { .tv_sec = limits->request_timeout };
	struct timeval	 idle = { .tv_sec = limits->idle_timeout };
	request_new_fn	 fn = evhttp_request_new;
	void		*ours = NULL;

	/* libevent's calls must reach our evhttp_request_new() (the top of
	   this file): the binary exports it. */
	memcpy(&ours, &fn, sizeof(ours));
	if (dlsym(RTLD_DEFAULT, "evhttp_request_new") != ours)
		fatalx(1, "evhttp_request_new is not the binary's (link with "
		    "-Wl,--export-dynamic-symbol=evhttp_request_new): "
		    "request framing cannot be checked");
	memset(t, 0, sizeof(*t));
	t->worker_id = worker_id;
	t->max_connections = limits->max_connections;
	t->open_conns = open_conns;
	t->deadline_tv = event_base_init_common_timeout(base, &deadline);
	t->idle_tv = event_base_init_common_timeout(base, &idle);
	t->ssl_ctx = ssl_ctx;
	evhttp_set_bevcb(http, conn_new_bufferevent, t);
}

void
conn_table_finish(struct conn_table *t)
{
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

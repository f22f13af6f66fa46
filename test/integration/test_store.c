/*
 * test_store: the store module against a real redis-server.
 *
 *   test_store --redis-port PORT --redis-pid PID [--verbose]
 *
 * The harness (run.py) starts redis-server and passes its port and pid.
 * Each scenario creates its own stores, drives the event loop with
 * event_base_loop() and timers, and checks what the callers of store.h are
 * promised: every callback exactly once, deadlines kept, refusals
 * immediate, recovery after an outage, once-per-outage log lines, and no
 * leak (run under ASan/LSan).
 *
 * The Redis is shared with the rest of the suite, so the test touches only
 * keys under "tokend-test:" in db 9, kills only its own connections (by
 * CLIENT ID), and always undoes SIGSTOP and requirepass, even on a
 * watchdog abort.
 *
 * Prints one line per scenario and ends with "N passed, M failed"; exits 1
 * if any failed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define DB		9
#define DB_STR		"9"
#define TIMEOUT_MS	500		/* --redis-timeout for every store */
#define SCENARIO_LIMIT	30		/* seconds, watchdog per scenario */
#define TEST_PASSWORD	"tokend-test-pw"

enum action {
	ACT_NONE = 0,
	ACT_SEND,		/* try another command from the callback */
	ACT_SEND_CLOSE,		/* ... then store_close() */
	ACT_FREE,		/* store_free() from the callback */
};

/* What one callback saw. */
struct res {
	int			 calls;
	enum store_status	 status;
	int			 type;
	bool			 is_error;
	long long		 integer;
	size_t			 len;
	char			 str[160];
	uint64_t		 at;
	enum store_state	 state_at_cb;
	/* reentrancy */
	struct store		*s;
	enum action		 action;
	int			 send_rc;
	struct res		*extra;
};

static struct event_base	*base;
static int			 redis_port;
static pid_t			 redis_pid;
static volatile sig_atomic_t	 redis_stopped;
static volatile sig_atomic_t	 password_set;
static char			 reset_req[256];	/* prebuilt, for the
							   signal handler */
static size_t			 reset_len;
static char			 fail_msg[256];

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		snprintf(fail_msg, sizeof(fail_msg), "line %d: %s",	\
		    __LINE__, #cond);					\
		goto out;						\
	}								\
} while (0)

static void
record_cb(enum store_status status, const struct redisReply *r, void *arg)
{
	struct res	*res = arg;

	res->calls++;
	res->status = status;
	res->at = now_usec();
	if (res->s != NULL)
		res->state_at_cb = store_get_state(res->s);
	if (r != NULL) {
		res->type = r->type;
		res->is_error = r->type == REDIS_REPLY_ERROR;
		res->integer = r->integer;
		res->len = r->len;
		if (r->str != NULL)
			snprintf(res->str, sizeof(res->str), "%.*s",
			    (int)r->len, r->str);
	}
	switch (res->action) {
	case ACT_SEND:
	case ACT_SEND_CLOSE: {
		const char	*argv[] = { "PING" };

		res->send_rc = store_command_argv(res->s, record_cb,
		    res->extra, 1, argv, NULL);
		if (res->action == ACT_SEND_CLOSE)
			store_close(res->s);
		break;
	}
	case ACT_FREE:
		store_free(res->s);
		break;
	case ACT_NONE:
		break;
	}
}

/* Queue a NULL-terminated list of arguments. */
static int
send_cmd(struct store *s, struct res *res, ...)
{
	const char	*argv[8];
	const char	*a;
	va_list		 ap;
	int		 argc = 0;

	va_start(ap, res);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 8)
		argv[argc++] = a;
	va_end(ap);
	return store_command_argv(s, record_cb, res, argc, argv, NULL);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/*
 * Run the loop until pred(arg) holds or limit_ms passes. A 5 ms tick makes
 * each EVLOOP_ONCE pass return so the predicate is checked.
 */
static bool
wait_until(bool (*pred)(const void *), const void *arg, int limit_ms)
{
	struct timeval	 tv = { 0, 5000 };
	struct event	*tick;
	uint64_t	 end = now_usec() + (uint64_t)limit_ms * 1000;
	bool		 ok;

	tick = evtimer_new(base, tick_cb, NULL);
	while (!(ok = pred != NULL && pred(arg)) && now_usec() < end) {
		evtimer_add(tick, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(tick);
	return ok;
}

static void
pump(int ms)
{
	wait_until(NULL, NULL, ms);
}

static bool
pred_up(const void *arg)
{
	return store_is_up(arg);
}

static bool
pred_called(const void *arg)
{
	const struct res	*res = arg;

	return res->calls > 0;
}

struct many {
	const struct res	*res;
	int			 n;
};

static bool
pred_all_called(const void *arg)
{
	const struct many	*m = arg;
	int			 i;

	for (i = 0; i < m->n; i++)
		if (m->res[i].calls == 0)
			return false;
	return true;
}

static bool
all_called(const struct res *res, int n, int limit_ms)
{
	struct many	 m = { res, n };

	return wait_until(pred_all_called, &m, limit_ms);
}

static int
ms_since(uint64_t t0)
{
	return (int)((now_usec() - t0) / 1000);
}

/* A config for 127.0.0.1:redis_port with optional credentials. */
static int
make_config(struct config *cfg, const char *userinfo, int port)
{
	char	 url[256], err[256];

	memset(cfg, 0, sizeof(*cfg));
	snprintf(url, sizeof(url), "redis://%s%s127.0.0.1:%d/%d",
	    userinfo != NULL ? userinfo : "", userinfo != NULL ? "@" : "",
	    port, DB);
	if (redis_url_parse(url, &cfg->redis, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "test_store: %s: %s\n", url, err);
		return -1;
	}
	cfg->redis_timeout_ms = TIMEOUT_MS;
	return 0;
}

/* Encode argv as a RESP array. */
static size_t
resp(char *dst, size_t dstlen, int argc, const char **argv)
{
	size_t	 o;
	int	 i;

	o = (size_t)snprintf(dst, dstlen, "*%d\r\n", argc);
	for (i = 0; i < argc && o < dstlen; i++)
		o += (size_t)snprintf(dst + o, dstlen - o, "$%zu\r\n%s\r\n",
		    strlen(argv[i]), argv[i]);
	return o < dstlen ? o : dstlen - 1;
}

/*
 * A blocking side channel to Redis (test code only; the store never
 * blocks). Only async-signal-safe calls, so the watchdog can use it.
 * Reads until `lines` CRLFs arrived, or 2 s passed.
 */
static int
raw_exchange(const char *req, size_t len, char *out, size_t outlen,
    int lines)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 2, 0 };
	ssize_t			 n;
	size_t			 got = 0;
	int			 fd, seen = 0, i;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)redis_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, req, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	while (seen < lines && got + 1 < outlen &&
	    (n = read(fd, out + got, outlen - 1 - got)) > 0) {
		for (i = 0; i < n; i++)
			if (out[got + (size_t)i] == '\n')
				seen++;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fd);
	return seen >= lines ? 0 : -1;
}

/* Undo what a failed run might leave behind. Async-signal-safe. */
static void
restore_redis(void)
{
	char	 buf[256];

	if (redis_stopped) {
		kill(redis_pid, SIGCONT);
		redis_stopped = 0;
	}
	if (password_set) {
		(void)raw_exchange(reset_req, reset_len, buf, sizeof(buf), 2);
		password_set = 0;
	}
}

static void
watchdog(int sig)
{
	static const char	 msg[] =
	    "FAIL watchdog: scenario exceeded its time limit\n";

	(void)sig;
	restore_redis();
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void
redis_stop(void)
{
	redis_stopped = 1;
	kill(redis_pid, SIGSTOP);
}

static void
redis_cont(void)
{
	kill(redis_pid, SIGCONT);
	redis_stopped = 0;
}

/* Log capture: point fd 2 at a file for a while. */
struct capture {
	int	 fd;
	int	 saved;
};

static int
capture_start(struct capture *c)
{
	char	 path[] = "/tmp/test_store.XXXXXX";

	fflush(stderr);
	if ((c->fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	c->saved = dup(STDERR_FILENO);
	dup2(c->fd, STDERR_FILENO);
	return 0;
}

/* Restore stderr, read what was logged, and echo it. */
static void
capture_stop(struct capture *c, char *buf, size_t len)
{
	ssize_t	 n;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	lseek(c->fd, 0, SEEK_SET);
	n = read(c->fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(c->fd);
	fputs(buf, stderr);
}

static int
count_str(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* 1: connect, then PING / SET / GET, a Redis error reply, binary args. */
static bool
s_roundtrip(char *detail, size_t dlen)
{
	struct config	 cfg;
	struct store	*s = NULL;
	struct res	 r[6];
	const char	*argv[3] = { "SET", "tokend-test:bin", "a\0b" };
	const size_t	 lens[3] = { 3, 15, 3 };
	uint64_t	 t0;
	bool		 ok = false;
	int		 up_ms;

	memset(r, 0, sizeof(r));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	t0 = now_usec();
	s = store_new(base, &cfg, 1);
	CHECK(!store_is_up(s));
	CHECK(send_cmd(s, &r[0], "PING", NULL) == -1);
	CHECK(wait_until(pred_up, s, 3000));
	up_ms = ms_since(t0);
	CHECK(strcmp(store_reason(s), "connected") == 0);

	CHECK(send_cmd(s, &r[0], "PING", NULL) == 0);
	CHECK(r[0].calls == 0);		/* never synchronously */
	CHECK(send_cmd(s, &r[1], "SET", "tokend-test:k", "v1", NULL) == 0);
	CHECK(send_cmd(s, &r[2], "GET", "tokend-test:k", NULL) == 0);
	CHECK(send_cmd(s, &r[3], "INCR", "tokend-test:k", NULL) == 0);
	CHECK(store_command_argv(s, record_cb, &r[4], 3, argv, lens) == 0);
	CHECK(send_cmd(s, &r[5], "STRLEN", "tokend-test:bin", NULL) == 0);
	CHECK(all_called(r, 6, 2000));
	CHECK(r[0].status == STORE_OK && strcmp(r[0].str, "PONG") == 0);
	CHECK(r[1].status == STORE_OK && strcmp(r[1].str, "OK") == 0);
	CHECK(r[2].type == REDIS_REPLY_STRING && strcmp(r[2].str, "v1") == 0);
	/* A Redis error is still STORE_OK, with an error reply. */
	CHECK(r[3].status == STORE_OK && r[3].type == REDIS_REPLY_ERROR);
	CHECK(r[3].is_error && !r[1].is_error);
	CHECK(r[4].status == STORE_OK);
	CHECK(r[5].type == REDIS_REPLY_INTEGER && r[5].integer == 3);
	pump(50);
	for (int i = 0; i < 6; i++)
		CHECK(r[i].calls == 1);
	snprintf(detail, dlen, "up in %d ms", up_ms);
	ok = true;
out:
	store_free(s);
	redis_url_finish(&cfg.redis);
	return ok;
}

/* 2: 200 commands pipelined; each callback once, in order. */
static bool
s_pipeline(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct store		*s = NULL;
	struct res		*r = NULL, del;
	struct store_stats	 st;
	uint64_t		 t0;
	bool			 ok = false;
	int			 i, n = 200;

	memset(&del, 0, sizeof(del));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	r = xcalloc((size_t)n, sizeof(*r));
	s = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, s, 3000));
	CHECK(send_cmd(s, &del, "DEL", "tokend-test:ctr", NULL) == 0);
	t0 = now_usec();
	for (i = 0; i < n; i++)
		CHECK(send_cmd(s, &r[i], "INCR", "tokend-test:ctr", NULL) == 0);
	CHECK(all_called(r, n, 3000));
	snprintf(detail, dlen, "200 replies in %d ms", ms_since(t0));
	pump(50);
	CHECK(del.calls == 1);
	for (i = 0; i < n; i++) {
		CHECK(r[i].calls == 1);
		CHECK(r[i].status == STORE_OK);
		CHECK(r[i].integer == i + 1);
	}
	store_get_stats(s, &st);
	CHECK(st.commands == (uint64_t)n + 1 && st.timeouts == 0);
	ok = true;
out:
	store_free(s);
	free(r);
	redis_url_finish(&cfg.redis);
	return ok;
}

/*
 * 3: SIGSTOPped Redis, two stores of a two-worker process. The first
 * deadline answers STORE_ERR_TIMEOUT, the commands behind it fail at once
 * with STORE_ERR_DOWN, new commands are refused, handshakes to the stopped
 * Redis time out; after SIGCONT both are up again. One store_down and one
 * store_up line for the whole outage.
 */
static bool
s_sigstop(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct store		*a = NULL, *b = NULL, *c = NULL, *d = NULL;
	struct res		 ra[5], rb, rb2, rp, rd[2];
	struct store_stats	 st;
	struct capture		 cap;
	char			 logbuf[16384];
	uint64_t		 t0, t1;
	bool			 ok = false, capturing = false;
	int			 i, late_ms = 0, refuse_us, rec_us, n_timeout;

	memset(ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	memset(&rb2, 0, sizeof(rb2));
	memset(&rp, 0, sizeof(rp));
	memset(rd, 0, sizeof(rd));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	a = store_new(base, &cfg, 2);
	b = store_new(base, &cfg, 2);
	d = store_new(base, &cfg, 2);
	CHECK(wait_until(pred_up, a, 3000) && wait_until(pred_up, b, 3000) &&
	    wait_until(pred_up, d, 3000));
	CHECK(capture_start(&cap) == 0);
	capturing = true;

	redis_stop();
	t0 = now_usec();
	for (i = 0; i < 5; i++)
		CHECK(send_cmd(a, &ra[i], "GET", "tokend-test:k", NULL) == 0);
	/* d frees itself from the deadline path (TIMEOUT or DOWN cb). */
	rd[0].s = d;
	rd[0].action = ACT_FREE;
	CHECK(send_cmd(d, &rd[0], "GET", "tokend-test:k", NULL) == 0);
	CHECK(send_cmd(d, &rd[1], "GET", "tokend-test:k", NULL) == 0);
	rb.s = b;
	rb.action = ACT_SEND;
	rb.extra = &rb2;
	CHECK(send_cmd(b, &rb, "GET", "tokend-test:k", NULL) == 0);
	CHECK(all_called(ra, 5, TIMEOUT_MS + 1000));
	CHECK(wait_until(pred_called, &rb, 1000));
	CHECK(all_called(rd, 2, 1000));
	d = NULL;
	CHECK(rd[0].status != STORE_OK && rd[1].status != STORE_OK);
	for (i = 0; i < 5; i++) {
		int	 ms = (int)((ra[i].at - t0) / 1000);

		if (ms > late_ms)
			late_ms = ms;
	}
	CHECK(late_ms <= TIMEOUT_MS + 100);
	/*
	 * The five deadlines are equal (libevent's coarse monotonic clock),
	 * so any one of them may fire first; it answers TIMEOUT, the link
	 * drops, and the other four get DOWN at once.
	 */
	for (i = 0, n_timeout = 0; i < 5; i++) {
		CHECK(ra[i].status == STORE_ERR_TIMEOUT ||
		    ra[i].status == STORE_ERR_DOWN);
		if (ra[i].status == STORE_ERR_TIMEOUT)
			n_timeout++;
	}
	CHECK(n_timeout == 1);
	CHECK(rb.status == STORE_ERR_TIMEOUT);
	CHECK(rb.send_rc == -1);	/* refused from inside the callback */
	store_get_stats(a, &st);
	CHECK(st.timeouts == 1);
	CHECK(!store_is_up(a) && !store_is_up(b));

	t1 = now_usec();
	CHECK(send_cmd(a, &rp, "PING", NULL) == -1);
	refuse_us = (int)(now_usec() - t1);
	CHECK(refuse_us < 1000);

	/* A store created now connects but its handshake never answers. */
	c = store_new(base, &cfg, 2);
	pump(1700);
	CHECK(!store_is_up(a) && !store_is_up(b) && !store_is_up(c));
	CHECK(strstr(store_reason(a), "timed out") != NULL);
	/* Free c mid-handshake: its link is connected, nothing answered. */
	store_free(c);
	c = NULL;

	redis_cont();
	t1 = now_usec();
	CHECK(wait_until(pred_up, a, 3000) && wait_until(pred_up, b, 3000));
	rec_us = (int)(now_usec() - t1);
	CHECK(send_cmd(a, &rp, "PING", NULL) == 0);
	CHECK(wait_until(pred_called, &rp, 1000) && rp.status == STORE_OK);
	CHECK(rb2.calls == 0);
	pump(50);

	capture_stop(&cap, logbuf, sizeof(logbuf));
	capturing = false;
	CHECK(count_str(logbuf, "event=store_down") == 1);
	CHECK(count_str(logbuf, "event=store_down err=\"command timed out\"")
	    == 1);
	CHECK(count_str(logbuf, "event=store_up") == 1);
	snprintf(detail, dlen, "timeout answered at %d ms (limit %d), "
	    "refused in %d us, up again %.1f ms after SIGCONT",
	    late_ms, TIMEOUT_MS + 100, refuse_us, rec_us / 1000.0);
	ok = true;
out:
	if (capturing)
		capture_stop(&cap, logbuf, sizeof(logbuf));
	if (redis_stopped)
		redis_cont();
	store_free(a);
	store_free(b);
	store_free(c);
	store_free(d);
	redis_url_finish(&cfg.redis);
	return ok;
}

/* Ask a store for its connection's CLIENT ID. */
static long long
client_id(struct store *s)
{
	struct res	 r;

	memset(&r, 0, sizeof(r));
	if (send_cmd(s, &r, "CLIENT", "ID", NULL) == -1 ||
	    !wait_until(pred_called, &r, 1000) || r.status != STORE_OK)
		return -1;
	return r.integer;
}

/* Kill one connection by id through another store; 1 when it was found. */
static long long
client_kill(struct store *via, long long id)
{
	struct res	 r;
	char		 idbuf[32];

	memset(&r, 0, sizeof(r));
	snprintf(idbuf, sizeof(idbuf), "%lld", id);
	if (send_cmd(via, &r, "CLIENT", "KILL", "ID", idbuf, NULL) == -1 ||
	    !wait_until(pred_called, &r, 1000) || r.status != STORE_OK)
		return -1;
	return r.integer;
}

/*
 * 4: the server drops links (CLIENT KILL, sent through store k). Store a
 * has a command pending: it gets DOWN, with the state already down, and a
 * reconnects. Store e has one pending too, whose callback frees e (inside
 * hiredis's teardown). Store f is idle: only the disconnect callback tells
 * it, and it reconnects as well.
 */
static bool
s_client_kill(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct store		*a = NULL, *e = NULL, *f = NULL, *k = NULL;
	struct res		 ra, re, re2;
	struct store_stats	 st;
	long long		 ida, ide, idf;
	uint64_t		 t0;
	bool			 ok = false;
	int			 down_ms;

	memset(&ra, 0, sizeof(ra));
	memset(&re, 0, sizeof(re));
	memset(&re2, 0, sizeof(re2));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	a = store_new(base, &cfg, 1);
	e = store_new(base, &cfg, 1);
	f = store_new(base, &cfg, 1);
	k = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, a, 3000) && wait_until(pred_up, e, 3000) &&
	    wait_until(pred_up, f, 3000) && wait_until(pred_up, k, 3000));
	CHECK((ida = client_id(a)) > 0);
	CHECK((ide = client_id(e)) > 0);
	CHECK((idf = client_id(f)) > 0);

	ra.s = a;
	CHECK(send_cmd(a, &ra, "BLPOP", "tokend-test:none", "5", NULL) == 0);
	re.s = e;
	re.action = ACT_FREE;
	CHECK(send_cmd(e, &re, "BLPOP", "tokend-test:none", "5", NULL) == 0);
	CHECK(send_cmd(e, &re2, "PING", NULL) == 0);
	pump(20);

	t0 = now_usec();
	CHECK(client_kill(k, ida) == 1);
	CHECK(wait_until(pred_called, &ra, 1000));
	down_ms = ms_since(t0);
	CHECK(ra.status == STORE_ERR_DOWN);
	CHECK(ra.state_at_cb != STORE_UP);	/* state set before the cb */
	CHECK(strstr(store_reason(a), "connection lost") != NULL);

	CHECK(client_kill(k, ide) == 1);
	CHECK(wait_until(pred_called, &re, 1000));
	e = NULL;				/* freed by re's callback */
	CHECK(wait_until(pred_called, &re2, 1000));
	CHECK(re.status == STORE_ERR_DOWN && re2.status == STORE_ERR_DOWN);

	CHECK(client_kill(k, idf) == 1);
	pump(20);
	CHECK(!store_is_up(f));
	CHECK(strstr(store_reason(f), "connection lost") != NULL);

	CHECK(wait_until(pred_up, a, 3000) && wait_until(pred_up, f, 3000));
	store_get_stats(a, &st);
	CHECK(st.reconnects == 1 && st.timeouts == 0);
	CHECK(client_id(a) > ida && client_id(f) > idf);
	pump(20);
	CHECK(ra.calls == 1 && re.calls == 1 && re2.calls == 1);
	snprintf(detail, dlen, "pending failed %d ms after the kill, "
	    "up again %d ms after it", down_ms, ms_since(t0));
	ok = true;
out:
	store_free(a);
	store_free(e);
	store_free(f);
	store_free(k);
	redis_url_finish(&cfg.redis);
	return ok;
}

/* A port nothing listens on (bound, then released). */
static int
closed_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * 5: store_free with commands pending (each gets DOWN once, from inside
 * store_free), while connecting, and while waiting to retry a refused
 * connect. LSan checks the leaks at exit.
 */
static bool
s_free_pending(char *detail, size_t dlen)
{
	struct config	 cfg, bad;
	struct store	*s = NULL;
	struct res	 r[50];
	char		 err[128];
	bool		 ok = false;
	int		 i, port;

	memset(r, 0, sizeof(r));
	memset(&bad, 0, sizeof(bad));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	s = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, s, 3000));
	for (i = 0; i < 50; i++)
		CHECK(send_cmd(s, &r[i], "PING", NULL) == 0);
	store_free(s);
	s = NULL;
	for (i = 0; i < 50; i++)
		CHECK(r[i].calls == 1 && r[i].status == STORE_ERR_DOWN);
	pump(30);
	for (i = 0; i < 50; i++)
		CHECK(r[i].calls == 1);

	/* Freed while the connect is in flight. */
	s = store_new(base, &cfg, 1);
	CHECK(store_get_state(s) == STORE_CONNECTING);
	store_free(s);
	s = NULL;

	/* Freed while waiting to retry. */
	CHECK((port = closed_port()) > 0);
	CHECK(make_config(&bad, NULL, port) == 0);
	s = store_new(base, &bad, 1);
	pump(400);
	CHECK(!store_is_up(s));
	CHECK(strcmp(store_reason(s), "connect: Connection refused") == 0);
	snprintf(detail, dlen, "50 pending got DOWN inside store_free; "
	    "refused port: reason \"%s\"", store_reason(s));
	store_free(s);
	s = NULL;

	/* A unix socket that is not there fails inside redisAsyncConnect. */
	redis_url_finish(&bad.redis);
	CHECK(redis_url_parse("unix:///nonexistent/tokend-test.sock",
	    &bad.redis, err, sizeof(err)) == 0);
	bad.redis_timeout_ms = TIMEOUT_MS;
	s = store_new(base, &bad, 1);
	CHECK(store_get_state(s) == STORE_DISCONNECTED);
	CHECK(strstr(store_reason(s), "No such file") != NULL);
	pump(150);
	CHECK(!store_is_up(s));
	store_free(s);
	s = NULL;
	ok = true;
out:
	store_free(s);
	redis_url_finish(&cfg.redis);
	redis_url_finish(&bad.redis);
	return ok;
}

/*
 * 6: a wrong password never comes up and says why; the right one (with a
 * user name, so AUTH takes two arguments) does. requirepass is set through
 * a side channel and always reset.
 */
static bool
s_auth(char *detail, size_t dlen)
{
	const char	*set[] = { "CONFIG", "SET", "requirepass",
			    TEST_PASSWORD };
	struct config	 wrong, right;
	struct store	*w = NULL, *g = NULL;
	struct res	 r;
	char		 req[256], buf[256];
	bool		 ok = false;

	memset(&r, 0, sizeof(r));
	memset(&wrong, 0, sizeof(wrong));
	memset(&right, 0, sizeof(right));
	CHECK(make_config(&wrong, ":wrong-pw", redis_port) == 0);
	CHECK(make_config(&right, "default:" TEST_PASSWORD, redis_port) == 0);
	password_set = 1;
	CHECK(raw_exchange(req, resp(req, sizeof(req), 4, set), buf,
	    sizeof(buf), 1) == 0);
	CHECK(strncmp(buf, "+OK", 3) == 0);

	w = store_new(base, &wrong, 1);
	g = store_new(base, &right, 1);
	CHECK(wait_until(pred_up, g, 3000));
	CHECK(send_cmd(g, &r, "PING", NULL) == 0);
	CHECK(wait_until(pred_called, &r, 1000) && r.status == STORE_OK);
	pump(500);
	CHECK(!store_is_up(w));
	CHECK(strncmp(store_reason(w), "auth: ", 6) == 0);
	CHECK(strstr(store_reason(w), "wrong-pw") == NULL);
	snprintf(detail, dlen, "wrong password: \"%s\"", store_reason(w));
	ok = true;
out:
	store_free(w);
	store_free(g);
	if (password_set) {
		if (raw_exchange(reset_req, reset_len, buf, sizeof(buf),
		    2) == -1 || strstr(buf, "+OK\r\n+OK") == NULL) {
			fprintf(stderr, "test_store: cannot reset "
			    "requirepass: %s\n", buf);
			ok = false;
		} else
			password_set = 0;
	}
	redis_url_finish(&wrong.redis);
	redis_url_finish(&right.redis);
	return ok;
}

/*
 * 7: reentrancy. A reply callback sends another command and closes the
 * store; another frees its store. The rest get DOWN once each, commands
 * from inside DOWN callbacks are refused.
 */
static bool
s_reentrant(char *detail, size_t dlen)
{
	struct config	 cfg;
	struct store	*a = NULL, *b = NULL;
	struct res	 ra[20], extra[20], rb[20];
	bool		 ok = false;
	int		 i;

	memset(ra, 0, sizeof(ra));
	memset(extra, 0, sizeof(extra));
	memset(rb, 0, sizeof(rb));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	a = store_new(base, &cfg, 1);
	b = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, a, 3000) && wait_until(pred_up, b, 3000));

	for (i = 0; i < 20; i++) {
		ra[i].s = a;
		ra[i].action = i == 0 ? ACT_SEND_CLOSE : ACT_SEND;
		ra[i].extra = &extra[i];
		CHECK(send_cmd(a, &ra[i], "PING", NULL) == 0);
	}
	CHECK(all_called(ra, 20, 2000));
	pump(30);
	CHECK(ra[0].status == STORE_OK && ra[0].send_rc == 0);
	CHECK(extra[0].calls == 1 && extra[0].status == STORE_ERR_DOWN);
	for (i = 1; i < 20; i++) {
		CHECK(ra[i].calls == 1 && ra[i].status == STORE_ERR_DOWN);
		CHECK(ra[i].send_rc == -1 && extra[i].calls == 0);
	}
	CHECK(store_get_state(a) == STORE_CLOSED);
	CHECK(strcmp(store_reason(a), "closed") == 0);

	for (i = 0; i < 20; i++) {
		rb[i].s = b;
		rb[i].action = i == 0 ? ACT_FREE : ACT_NONE;
		CHECK(send_cmd(b, &rb[i], "PING", NULL) == 0);
	}
	CHECK(all_called(rb, 20, 2000));
	b = NULL;			/* freed by rb[0]'s callback */
	pump(30);
	CHECK(rb[0].status == STORE_OK);
	for (i = 1; i < 20; i++)
		CHECK(rb[i].calls == 1 && rb[i].status == STORE_ERR_DOWN);
	snprintf(detail, dlen, "close and free from inside reply callbacks");
	ok = true;
out:
	store_free(a);
	store_free(b);
	redis_url_finish(&cfg.redis);
	return ok;
}

/* ---- subscriber stores ---- */

#define CHANNEL		"tokend-test:events"
#define MSG_MAX		16

/* What a subscriber's callbacks saw. */
struct sub_rec {
	/* state callback */
	int			 ups;
	int			 downs;
	enum store_state	 last;
	uint64_t		 up_at;
	uint64_t		 down_at;
	struct store		*publish_via;	/* on UP: PUBLISH "on-up" */
	struct res		 pub_res;
	int			 pub_rc;
	bool			 free_on_up;
	/* messages */
	int			 n;
	char			 msg[MSG_MAX][64];
	size_t			 len[MSG_MAX];
	struct store		*self;
	bool			 free_on_msg;
	bool			 freed;
};

static void
sub_state(struct store *s, enum store_state st, void *arg)
{
	struct sub_rec	*r = arg;

	r->last = st;
	if (st == STORE_UP) {
		r->ups++;
		r->up_at = now_usec();
		if (r->publish_via != NULL) {
			memset(&r->pub_res, 0, sizeof(r->pub_res));
			r->pub_rc = send_cmd(r->publish_via, &r->pub_res,
			    "PUBLISH", CHANNEL, "on-up", NULL);
		}
		if (r->free_on_up) {
			store_free(s);
			r->freed = true;
		}
	} else {
		r->downs++;
		r->down_at = now_usec();
	}
}

static void
sub_msg(const char *msg, size_t len, void *arg)
{
	struct sub_rec	*r = arg;

	if (r->n < MSG_MAX) {
		memcpy(r->msg[r->n], msg, len < 63 ? len : 63);
		r->len[r->n] = len;
	}
	r->n++;
	if (r->free_on_msg && !r->freed) {
		store_free(r->self);
		r->freed = true;
	}
}

static struct store *
sub_new(const struct config *cfg, struct sub_rec *r)
{
	struct store	*s;

	s = store_new_subscriber(base, cfg, 1, CHANNEL, sub_msg, r);
	r->self = s;
	store_set_state_cb(s, sub_state, r);
	return s;
}

static bool
pred_ups(const void *arg)
{
	const struct sub_rec	*r = arg;

	return r->ups > 0 && r->last == STORE_UP;
}

static bool
pred_down(const void *arg)
{
	const struct sub_rec	*r = arg;

	return r->downs > 0;
}

struct want_msgs {
	const struct sub_rec	*r;
	int			 n;
};

static bool
pred_msgs(const void *arg)
{
	const struct want_msgs	*w = arg;

	return w->r->n >= w->n;
}

static bool
wait_msgs(const struct sub_rec *r, int n, int limit_ms)
{
	struct want_msgs	 w = { r, n };

	return wait_until(pred_msgs, &w, limit_ms);
}

/* PUBLISH msg on CHANNEL through s and wait for the reply: receivers. */
static long long
publish(struct store *s, const char *msg, size_t len)
{
	const char	*argv[3] = { "PUBLISH", CHANNEL, msg };
	size_t		 lens[3] = { 7, sizeof(CHANNEL) - 1, len };
	struct res	 r;

	memset(&r, 0, sizeof(r));
	if (store_command_argv(s, record_cb, &r, 3, argv, lens) == -1 ||
	    !wait_until(pred_called, &r, 1000) || r.status != STORE_OK)
		return -1;
	return r.integer;
}

/* CLIENT LIST's whole text (record_cb keeps only 160 bytes). */
struct text_res {
	int		 calls;
	char		 text[16384];
};

static void
text_cb(enum store_status status, const struct redisReply *r, void *arg)
{
	struct text_res	*t = arg;

	t->calls++;
	t->text[0] = '\0';
	if (status == STORE_OK && r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(t->text, sizeof(t->text), "%.*s", (int)r->len, r->str);
}

static bool
pred_text(const void *arg)
{
	const struct text_res	*t = arg;

	return t->calls > 0;
}

/*
 * The ids of the pub/sub connections in our db (the suite's tokend
 * instances subscribe too, in db 0): CLIENT LIST TYPE pubsub through s.
 */
static int
pubsub_ids(struct store *s, long long *ids, int max)
{
	const char	*argv[4] = { "CLIENT", "LIST", "TYPE", "pubsub" };
	struct text_res	*t = xcalloc(1, sizeof(*t));
	char		*line, *save = NULL;
	int		 n = -1;

	if (store_command_argv(s, text_cb, t, 4, argv, NULL) == -1 ||
	    !wait_until(pred_text, t, 1000))
		goto out;
	n = 0;
	for (line = strtok_r(t->text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, " db=" DB_STR " ") == NULL ||
		    strncmp(line, "id=", 3) != 0)
			continue;
		if (n < max)
			ids[n] = strtoll(line + 3, NULL, 10);
		n++;
	}
out:
	free(t);
	return n;
}

/*
 * 8: a subscriber is up only once subscribed (a PUBLISH from its UP
 * callback reaches it), gets every message in order, binary payloads too,
 * refuses commands, and its probes keep it up without a flap.
 */
static bool
s_sub_messages(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct store		*pub = NULL, *sub = NULL;
	struct sub_rec		 r;
	struct res		 rp;
	struct store_stats	 st;
	uint64_t		 t0;
	bool			 ok = false;
	int			 up_ms;

	memset(&r, 0, sizeof(r));
	memset(&rp, 0, sizeof(rp));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	pub = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, pub, 3000));
	t0 = now_usec();
	r.publish_via = pub;
	sub = sub_new(&cfg, &r);
	CHECK(store_get_state(sub) == STORE_CONNECTING);
	CHECK(wait_until(pred_ups, &r, 3000));
	up_ms = ms_since(t0);
	CHECK(r.ups == 1 && r.downs == 0 && store_is_up(sub));
	CHECK(strcmp(store_reason(sub), "connected") == 0);
	CHECK(r.pub_rc == 0);
	CHECK(wait_until(pred_called, &r.pub_res, 1000));
	/* Published from the UP callback: it was subscribed by then. */
	CHECK(r.pub_res.status == STORE_OK && r.pub_res.integer == 1);
	CHECK(wait_msgs(&r, 1, 1000));
	CHECK(r.len[0] == 5 && memcmp(r.msg[0], "on-up", 5) == 0);
	/* No commands on a subscriber. */
	CHECK(send_cmd(sub, &rp, "PING", NULL) == -1);

	CHECK(publish(pub, "one", 3) == 1);
	CHECK(publish(pub, "a\0b", 3) == 1);
	CHECK(publish(pub, "", 0) == 1);
	CHECK(wait_msgs(&r, 4, 1000));
	CHECK(r.len[1] == 3 && memcmp(r.msg[1], "one", 3) == 0);
	CHECK(r.len[2] == 3 && memcmp(r.msg[2], "a\0b", 3) == 0);
	CHECK(r.len[3] == 0);

	/* Probes (every second) do not disturb it. */
	pump(2600);
	CHECK(r.ups == 1 && r.downs == 0 && store_is_up(sub));
	CHECK(publish(pub, "two", 3) == 1);
	CHECK(wait_msgs(&r, 5, 1000));
	CHECK(r.n == 5 && memcmp(r.msg[4], "two", 3) == 0);
	store_get_stats(sub, &st);
	CHECK(st.timeouts == 0 && st.reconnects == 0 && st.commands == 0);
	/* store_free() is no state change to report. */
	store_free(sub);
	sub = NULL;
	CHECK(r.downs == 0);
	pump(100);			/* Redis sees the close */
	CHECK(publish(pub, "none", 4) == 0);
	snprintf(detail, dlen, "subscribed in %d ms; 5 messages in order",
	    up_ms);
	ok = true;
out:
	store_free(sub);
	store_free(pub);
	redis_url_finish(&cfg.redis);
	return ok;
}

/*
 * 9: CLIENT KILL of a subscriber: DOWN, then a new link, subscribed again
 * (UP), and messages flow. A command store reports its own DOWN / UP
 * through its state callback too, until the callback is cleared.
 */
static bool
s_sub_kill(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct store		*pub = NULL, *sub = NULL, *k = NULL;
	struct sub_rec		 r, rc;
	struct store_stats	 st;
	long long		 ids[4], pid;
	uint64_t		 t0;
	bool			 ok = false;
	int			 back_ms;

	memset(&r, 0, sizeof(r));
	memset(&rc, 0, sizeof(rc));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	pub = store_new(base, &cfg, 1);
	store_set_state_cb(pub, sub_state, &rc);
	k = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, pub, 3000) && wait_until(pred_up, k, 3000));
	CHECK(rc.ups == 1 && rc.downs == 0);
	sub = sub_new(&cfg, &r);
	CHECK(wait_until(pred_ups, &r, 3000));
	CHECK(pubsub_ids(k, ids, 4) == 1);

	t0 = now_usec();
	r.publish_via = pub;
	CHECK(client_kill(k, ids[0]) == 1);
	CHECK(wait_until(pred_down, &r, 1000));
	CHECK(wait_until(pred_ups, &r, 3000) && r.ups == 2);
	back_ms = ms_since(t0);
	CHECK(r.downs == 1);
	CHECK(wait_until(pred_called, &r.pub_res, 1000));
	CHECK(r.pub_res.integer == 1);
	CHECK(publish(pub, "after", 5) == 1);
	CHECK(wait_msgs(&r, 2, 1000));
	CHECK(memcmp(r.msg[1], "after", 5) == 0);
	store_get_stats(sub, &st);
	CHECK(st.reconnects == 1);
	CHECK(pubsub_ids(k, ids, 4) == 1);

	/* The command store's state callback. */
	CHECK((pid = client_id(pub)) > 0);
	CHECK(client_kill(k, pid) == 1);
	CHECK(wait_until(pred_down, &rc, 1000));
	CHECK(rc.downs == 1);
	CHECK(wait_until(pred_ups, &rc, 3000) && rc.ups == 2);
	/* Cleared: it runs no more. */
	store_set_state_cb(pub, NULL, NULL);
	CHECK((pid = client_id(pub)) > 0);
	CHECK(client_kill(k, pid) == 1);
	pump(20);
	CHECK(wait_until(pred_up, pub, 3000));
	CHECK(rc.downs == 1 && rc.ups == 2);
	snprintf(detail, dlen, "resubscribed %d ms after the kill", back_ms);
	ok = true;
out:
	store_free(sub);
	store_free(pub);
	store_free(k);
	redis_url_finish(&cfg.redis);
	return ok;
}

/*
 * 10: a SIGSTOPped Redis is noticed by the subscriber's probe (nothing is
 * published meanwhile) within a second plus the deadline; after SIGCONT
 * it subscribes again. A subscriber logs no store_down / store_up line.
 */
static bool
s_sub_sigstop(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct store		*pub = NULL, *sub = NULL;
	struct sub_rec		 r;
	struct store_stats	 st;
	struct capture		 cap;
	char			 logbuf[16384];
	uint64_t		 t0;
	bool			 ok = false, capturing = false;
	int			 down_ms, up_ms;

	memset(&r, 0, sizeof(r));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	pub = store_new(base, &cfg, 1);
	sub = sub_new(&cfg, &r);
	CHECK(wait_until(pred_up, pub, 3000) && wait_until(pred_ups, &r, 3000));
	CHECK(capture_start(&cap) == 0);
	capturing = true;

	redis_stop();
	t0 = now_usec();
	CHECK(wait_until(pred_down, &r, 1000 + TIMEOUT_MS + 1000));
	down_ms = ms_since(t0);
	CHECK(down_ms <= 1000 + TIMEOUT_MS + 200);
	CHECK(!store_is_up(sub));
	CHECK(strstr(store_reason(sub), "probe timed out") != NULL);
	store_get_stats(sub, &st);
	CHECK(st.timeouts == 1);
	pump(1200);			/* reconnects time out meanwhile */
	CHECK(!store_is_up(sub) && r.ups == 1);

	redis_cont();
	t0 = now_usec();
	CHECK(wait_until(pred_ups, &r, 6000) && r.ups == 2);
	up_ms = ms_since(t0);
	CHECK(publish(pub, "back", 4) == 1);
	CHECK(wait_msgs(&r, 1, 1000));
	pump(50);

	capture_stop(&cap, logbuf, sizeof(logbuf));
	capturing = false;
	CHECK(count_str(logbuf, "event=store_down") == 0);
	CHECK(count_str(logbuf, "event=store_up") == 0);
	snprintf(detail, dlen, "stall noticed after %d ms, subscribed again "
	    "%d ms after SIGCONT", down_ms, up_ms);
	ok = true;
out:
	if (capturing)
		capture_stop(&cap, logbuf, sizeof(logbuf));
	if (redis_stopped)
		redis_cont();
	store_free(sub);
	store_free(pub);
	redis_url_finish(&cfg.redis);
	return ok;
}

/*
 * 11: freeing subscribers from their own callbacks (a message, the UP
 * callback), while connecting, and while waiting to retry. ASan / LSan
 * judge.
 */
static bool
s_sub_free(char *detail, size_t dlen)
{
	struct config		 cfg, bad;
	struct store		*pub = NULL, *a = NULL, *b = NULL, *c = NULL;
	struct sub_rec		 ra, rb, rc;
	const char		*argv[3] = { "PUBLISH", CHANNEL, "m" };
	struct res		 p1, p2;
	bool			 ok = false;
	int			 port;

	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	memset(&rc, 0, sizeof(rc));
	memset(&p1, 0, sizeof(p1));
	memset(&p2, 0, sizeof(p2));
	memset(&bad, 0, sizeof(bad));
	if (make_config(&cfg, NULL, redis_port) == -1)
		return false;
	pub = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, pub, 3000));

	/* Freed by its first message; the second is not delivered. */
	ra.free_on_msg = true;
	a = sub_new(&cfg, &ra);
	CHECK(wait_until(pred_ups, &ra, 3000));
	CHECK(store_command_argv(pub, record_cb, &p1, 3, argv, NULL) == 0);
	CHECK(store_command_argv(pub, record_cb, &p2, 3, argv, NULL) == 0);
	CHECK(wait_msgs(&ra, 1, 1000));
	a = NULL;
	pump(100);
	CHECK(ra.n == 1 && ra.freed);

	/* Freed by its UP callback. */
	rb.free_on_up = true;
	b = sub_new(&cfg, &rb);
	CHECK(wait_until(pred_ups, &rb, 3000) && rb.freed);
	b = NULL;
	pump(50);

	/* Freed while connecting, and while waiting to retry. */
	c = sub_new(&cfg, &rc);
	store_free(c);
	c = NULL;
	CHECK((port = closed_port()) > 0);
	CHECK(make_config(&bad, NULL, port) == 0);
	c = sub_new(&bad, &rc);
	pump(300);
	CHECK(!store_is_up(c) && rc.ups == 0 && rc.downs == 0);
	CHECK(strcmp(store_reason(c), "connect: Connection refused") == 0);
	store_free(c);
	c = NULL;
	snprintf(detail, dlen, "freed from a message, from UP, connecting, "
	    "retrying");
	ok = true;
out:
	if (ra.freed)
		a = NULL;
	if (rb.freed)
		b = NULL;
	store_free(a);
	store_free(b);
	store_free(c);
	store_free(pub);
	redis_url_finish(&cfg.redis);
	redis_url_finish(&bad.redis);
	return ok;
}

/* Leave the shared Redis as we found it. */
static void
cleanup_keys(void)
{
	const char	*sel[] = { "SELECT", DB_STR };
	const char	*del[] = { "DEL", "tokend-test:k", "tokend-test:ctr",
			    "tokend-test:bin" };
	char		 req[256], buf[64];
	size_t		 len;

	len = resp(req, sizeof(req), 2, sel);
	len += resp(req + len, sizeof(req) - len, 4, del);
	(void)raw_exchange(req, len, buf, sizeof(buf), 2);
}

static void
usage(void)
{
	fprintf(stderr, "usage: test_store --redis-port PORT --redis-pid PID "
	    "[--verbose]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "redis-port", required_argument, NULL, 'p' },
		{ "redis-pid", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char	*name;
		bool		(*fn)(char *, size_t);
	} scenarios[] = {
		{ "connect and round-trip", s_roundtrip },
		{ "200 pipelined commands", s_pipeline },
		{ "SIGSTOP: deadline, refusal, recovery", s_sigstop },
		{ "CLIENT KILL: pending DOWN, reconnect", s_client_kill },
		{ "store_free with commands pending", s_free_pending },
		{ "wrong password", s_auth },
		{ "close/free from inside callbacks", s_reentrant },
		{ "subscriber: messages, state callback", s_sub_messages },
		{ "subscriber: CLIENT KILL, resubscribe", s_sub_kill },
		{ "subscriber: SIGSTOP noticed by the probe", s_sub_sigstop },
		{ "subscriber: free from callbacks", s_sub_free },
	};
	const char	*reset[] = { "CONFIG", "SET", "requirepass", "" };
	const char	*auth[] = { "AUTH", TEST_PASSWORD };
	char		 detail[512];
	size_t		 i;
	int		 ch, passed = 0, failed = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			redis_port = atoi(optarg);
			break;
		case 'P':
			redis_pid = (pid_t)atoi(optarg);
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		default:
			usage();
		}
	}
	if (redis_port <= 0 || redis_port > 65535 || redis_pid <= 1)
		usage();

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	atexit(restore_redis);		/* e.g. fatalx() mid-scenario */
	reset_len = resp(reset_req, sizeof(reset_req), 2, auth);
	reset_len += resp(reset_req + reset_len, sizeof(reset_req) - reset_len,
	    4, reset);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "test_store: event_base_new failed\n");
		return 1;
	}

	for (i = 0; i < nitems(scenarios); i++) {
		bool	 ok;

		detail[0] = fail_msg[0] = '\0';
		alarm(SCENARIO_LIMIT);
		ok = scenarios[i].fn(detail, sizeof(detail));
		alarm(0);
		printf("%s %zu %s: %s\n", ok ? "ok  " : "FAIL", i + 1,
		    scenarios[i].name, ok ? detail : fail_msg);
		fflush(stdout);
		if (ok)
			passed++;
		else
			failed++;
	}
	restore_redis();
	cleanup_keys();
	event_base_free(base);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

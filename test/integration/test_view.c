/*
 * test_view: the per-worker view (view.c) against a real redis-server.
 *
 *   test_view --redis-port PORT --redis-pid PID [--verbose]
 *
 * The harness (run.py) starts redis-server and passes its port and pid.
 * Each scenario seeds client records and revocations directly (HSET, SADD,
 * SET, PUBLISH through a store of its own, as scripts/tokend-client and
 * /oauth/revoke write them), then runs two views on one event base, each
 * over its own command store: two tokend instances sharing the store. It
 * checks what verification relies on: both views fill at start, a
 * revocation or a client change published at one reaches both within
 * 1 s, a removed client disappears, a change written while their
 * subscriptions were down is picked up by the re-read after they
 * reconnect, a stalled Redis makes them not current (fail closed) within
 * about 2 s, and --verify-grace keeps the last state for its time. For
 * issuing: each view holds the whole decoded record (secret hash, scopes,
 * audience, ttl, claims, flags), replaced on "client ID" (a rotated secret,
 * a disable); and the brute-force locks of P locked (read at start, added
 * by "lock ADDR UNTIL", over on time) in each instance's brute-force
 * table (limiter.h). For one instance's workers: a record the issuing
 * path read from Redis goes into that worker's view at once
 * (view_learn_client), and its generation is vouched for to the sibling
 * views for VIEW_VOUCH_US from the read, not longer. And the revocation
 * script (db_revoke()) as two instances run it: a client's live
 * revocations counted exactly, up to its cap.
 *
 * The Redis is shared with the rest of the suite, so the test uses db 10
 * and keys under "tokend-test-view:", kills only connections of its own db
 * (by CLIENT ID), and always undoes SIGSTOP, even on a watchdog abort.
 *
 * Prints one line per scenario and ends with "N passed, M failed"; exits 1
 * if any failed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include <json-c/json.h>

#include "client_record.h"
#include "config.h"
#include "db.h"
#include "limiter.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "util.h"
#include "view.h"

#define DB		10
#define DB_STR		"10"
#define P		"tokend-test-view:"
#define TIMEOUT_MS	500		/* --redis-timeout */
#define SCENARIO_LIMIT	40		/* seconds, watchdog per scenario */

static struct event_base	*base;
static int			 redis_port;
static pid_t			 redis_pid;
static volatile sig_atomic_t	 redis_stopped;
static char			 fail_msg[256];
static struct store		*seed;		/* for writes and kills */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		snprintf(fail_msg, sizeof(fail_msg), "line %d: %s",	\
		    __LINE__, #cond);					\
		goto out;						\
	}								\
} while (0)

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until pred(arg) holds or limit_ms passes (5 ms ticks). */
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

static double
ms_since(uint64_t t0)
{
	return (double)(now_usec() - t0) / 1000.0;
}

static bool
pred_up(const void *arg)
{
	return store_is_up(arg);
}

static void
watchdog(int sig)
{
	static const char	 msg[] =
	    "FAIL watchdog: scenario exceeded its time limit\n";

	(void)sig;
	if (redis_stopped)
		kill(redis_pid, SIGCONT);
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void
restore_redis(void)
{
	if (redis_stopped) {
		kill(redis_pid, SIGCONT);
		redis_stopped = 0;
	}
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

static int
make_config(struct config *cfg, int grace)
{
	char	 url[128], err[256];

	memset(cfg, 0, sizeof(*cfg));
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/%d", redis_port, DB);
	if (redis_url_parse(url, &cfg->redis, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "test_view: %s: %s\n", url, err);
		return -1;
	}
	cfg->redis_timeout_ms = TIMEOUT_MS;
	cfg->prefix = xstrdup(P);
	cfg->verify_grace = grace;
	cfg->leeway = 30;
	cfg->auth_fail_window = 60;	/* the longest a lock lasts */
	return 0;
}

static void
config_done(struct config *cfg)
{
	redis_url_finish(&cfg->redis);
	free(cfg->prefix);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- writing through the seed store ---- */

struct reply {
	int			 calls;
	enum store_status	 status;
	int			 type;
	long long		 integer;
	char			 str[16384];
};

static void
reply_cb(enum store_status status, const struct redisReply *r, void *arg)
{
	struct reply	*rep = arg;

	rep->calls++;
	rep->status = status;
	rep->str[0] = '\0';
	if (r != NULL) {
		rep->type = r->type;
		rep->integer = r->integer;
		if (r->str != NULL)
			snprintf(rep->str, sizeof(rep->str), "%.*s",
			    (int)r->len, r->str);
	}
}

static bool
pred_replied(const void *arg)
{
	const struct reply	*rep = arg;

	return rep->calls > 0;
}

/*
 * One command (a NULL-terminated argument list) through the seed store,
 * waited for. Returns the reply (static; overwritten by the next call) or
 * NULL when it failed or Redis answered an error.
 */
static const struct reply *
cmd(const char *first, ...)
{
	static struct reply	 rep;
	const char		*argv[32];
	va_list			 ap;
	int			 argc = 0;

	argv[argc++] = first;
	va_start(ap, first);
	while (argc < 32 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	memset(&rep, 0, sizeof(rep));
	if (store_command_argv(seed, reply_cb, &rep, argc, argv, NULL) == -1 ||
	    !wait_until(pred_replied, &rep, 2000) || rep.status != STORE_OK ||
	    rep.type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "test_view: %s failed: %s\n", first, rep.str);
		return NULL;
	}
	return &rep;
}

static bool
seed_client(const char *id, const char *revoked_before)
{
	char	 key[128];

	snprintf(key, sizeof(key), P "client:%s", id);
	return cmd("HSET", key, "secret", "hmac-sha256:00:00", "scopes",
	    "read write", "revoked_before", revoked_before, NULL) != NULL &&
	    cmd("SADD", P "clients", id, NULL) != NULL;
}

/* P revoked:JTI = exp, expiring at exp (as /oauth/revoke writes it). */
static bool
seed_revoked(const char *jti, long long exp)
{
	char	 key[300], v[32];

	snprintf(key, sizeof(key), P "revoked:%s", jti);
	snprintf(v, sizeof(v), "%lld", exp);
	return cmd("SET", key, v, "EXAT", v, NULL) != NULL;
}

static bool
publish(const char *msg)
{
	return cmd("PUBLISH", P "events", msg, NULL) != NULL;
}

static void
flush_db(void)
{
	(void)cmd("FLUSHDB", NULL);
}

/* The ids of our db's pub/sub connections (tokend instances use db 0). */
static int
pubsub_ids(long long *ids, int max)
{
	const struct reply	*rep;
	char			*text, *line, *save = NULL;
	int			 n = 0;

	if ((rep = cmd("CLIENT", "LIST", "TYPE", "pubsub", NULL)) == NULL)
		return -1;
	text = xstrdup(rep->str);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "id=", 3) != 0 ||
		    strstr(line, " db=" DB_STR " ") == NULL)
			continue;
		if (n < max)
			ids[n] = strtoll(line + 3, NULL, 10);
		n++;
	}
	free(text);
	return n;
}

/* ---- instances ---- */

struct inst {
	struct store	*cmd;
	struct view	*view;
	struct limiter	*limiter;	/* the instance's brute-force table */
};

static void
inst_start(struct inst *in, const struct config *cfg)
{
	in->cmd = store_new(base, cfg, 1);
	in->view = view_new(base, cfg, in->cmd, 1);
	in->limiter = limiter_new(1024);
	view_set_limiter(in->view, in->limiter);
}

static void
inst_stop(struct inst *in)
{
	view_free(in->view);
	store_free(in->cmd);
	limiter_free(in->limiter);
	in->view = NULL;
	in->cmd = NULL;
	in->limiter = NULL;
}

/* Milliseconds left on addr's lock in in's table. */
static int64_t
lock_left(const struct inst *in, const char *addr)
{
	return limiter_lock_left(in->limiter, addr, view_now_ms());
}

static bool
pred_current(const void *arg)
{
	const struct inst	*in = arg;

	return view_in_sync_or_grace(in[0].view, time(NULL)) &&
	    (in[1].view == NULL ||
	    view_in_sync_or_grace(in[1].view, time(NULL)));
}

static bool
pred_not_current(const void *arg)
{
	const struct inst	*in = arg;

	return !view_in_sync_or_grace(in[0].view, time(NULL)) &&
	    (in[1].view == NULL ||
	    !view_in_sync_or_grace(in[1].view, time(NULL)));
}

/* Both current, each with at least min_syncs completed. */
struct want_syncs {
	const struct inst	*in;
	uint64_t		 min;
};

static bool
pred_synced(const void *arg)
{
	const struct want_syncs	*w = arg;
	struct view_stats	 a, b;

	view_get_stats(w->in[0].view, &a);
	view_get_stats(w->in[1].view, &b);
	return a.current && b.current && a.syncs >= w->min &&
	    b.syncs >= w->min;
}

struct want_jti {
	const struct inst	*in;
	const char		*jti;
};

static bool
pred_revoked(const void *arg)
{
	const struct want_jti	*w = arg;
	time_t			 now = time(NULL);

	return view_jti_revoked(w->in[0].view, w->jti, now) &&
	    view_jti_revoked(w->in[1].view, w->jti, now);
}

struct want_client {
	const struct inst	*in;
	const char		*id;
	bool			 present;
	int64_t			 revoked_before;
};

static bool
pred_client(const void *arg)
{
	const struct want_client	*w = arg;
	int				 i;

	for (i = 0; i < 2; i++) {
		const struct client_record	*rec;

		rec = view_client(w->in[i].view, w->id);
		if ((rec != NULL) != w->present)
			return false;
		if (rec != NULL && rec->revoked_before != w->revoked_before)
			return false;
	}
	return true;
}

/* Seed two clients, a member without a hash, two revocations. */
static bool
seed_base(void)
{
	long long	 now = (long long)time(NULL);

	flush_db();
	return seed_client("a", "0") && seed_client("b", "100") &&
	    cmd("SADD", P "clients", "ghost", NULL) != NULL &&
	    seed_revoked("j1", now + 600) && seed_revoked("j2", now + 600) &&
	    cmd("SET", P "revoked:bad", "not-a-number", NULL) != NULL;
}

/* ---- scenarios ---- */

/*
 * 1: two views fill at start: the clients (not the member without a
 * record), the revocations; both current, one sync each.
 */
static bool
s_sync(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct view_stats	 st;
	uint64_t		 t0;
	time_t			 now;
	bool			 ok = false;
	double			 ms;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	t0 = now_usec();
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(!view_in_sync_or_grace(in[0].view, time(NULL)));
	CHECK(wait_until(pred_current, in, 3000));
	ms = ms_since(t0);
	now = time(NULL);
	for (int i = 0; i < 2; i++) {
		const struct client_record	*rec;

		CHECK(strcmp(view_reason(in[i].view), "current") == 0);
		CHECK((rec = view_client(in[i].view, "a")) != NULL);
		CHECK(strcmp(rec->id, "a") == 0 && rec->revoked_before == 0);
		CHECK((rec = view_client(in[i].view, "b")) != NULL);
		CHECK(rec->revoked_before == 100);
		CHECK(view_client(in[i].view, "ghost") == NULL);
		CHECK(view_client(in[i].view, "nobody") == NULL);
		CHECK(view_jti_revoked(in[i].view, "j1", now));
		CHECK(view_jti_revoked(in[i].view, "j2", now));
		CHECK(!view_jti_revoked(in[i].view, "j3", now));
		CHECK(!view_jti_revoked(in[i].view, "bad", now));
		view_get_stats(in[i].view, &st);
		CHECK(st.clients == 2 && st.revoked == 2 && st.syncs == 1);
		CHECK(st.current && st.last_sync >= (int64_t)now - 5);
	}
	snprintf(detail, dlen, "both current %.1f ms after start", ms);
	ok = true;
out:
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

/*
 * 2: "revoke JTI EXP" published once reaches both views within 1 s; a
 * local view_add_revocation() holds at once; a revocation lasts until
 * exp + leeway; junk messages change nothing.
 */
static bool
s_revoke(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct want_jti		 w = { in, "j9" };
	struct view_stats	 st;
	char			 msg[128];
	long long		 exp;
	uint64_t		 t0;
	time_t			 now;
	bool			 ok = false;
	double			 ms;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(wait_until(pred_current, in, 3000));

	exp = (long long)time(NULL) + 300;
	CHECK(seed_revoked("j9", exp));
	snprintf(msg, sizeof(msg), "revoke j9 %lld", exp);
	t0 = now_usec();
	CHECK(publish(msg));
	CHECK(wait_until(pred_revoked, &w, 1000));
	ms = ms_since(t0);

	/* This instance revoked it: at once, here only (no publish). */
	view_add_revocation(in[0].view, "local-1", exp);
	now = time(NULL);
	CHECK(view_jti_revoked(in[0].view, "local-1", now));
	CHECK(!view_jti_revoked(in[1].view, "local-1", now));
	/* Until exp + leeway, not after. */
	CHECK(view_jti_revoked(in[0].view, "j9", (time_t)exp + 30));
	CHECK(!view_jti_revoked(in[0].view, "j9", (time_t)exp + 31));
	/* Already irrelevant: not kept. */
	view_add_revocation(in[0].view, "old", (int64_t)now - 31);
	view_add_revocation(in[0].view, "", exp);
	CHECK(!view_jti_revoked(in[0].view, "old", now));

	CHECK(publish("revoke"));
	CHECK(publish("revoke j10"));
	CHECK(publish("revoke j11 soon"));
	CHECK(publish("client "));
	CHECK(publish("client bad/id"));
	CHECK(publish("hello"));
	CHECK(publish("revoke j12 99999999999"));
	w.jti = "j12";
	CHECK(wait_until(pred_revoked, &w, 1000));
	CHECK(!view_jti_revoked(in[1].view, "j10", now));
	CHECK(!view_jti_revoked(in[1].view, "j11", now));
	CHECK(pred_current(in));
	view_get_stats(in[1].view, &st);
	CHECK(st.revoked == 4 && st.clients == 2);
	snprintf(detail, dlen, "published revocation at both in %.1f ms", ms);
	ok = true;
out:
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

/*
 * 3: a client disabled (revoked_before set, "client a" published) and a
 * client removed (DEL + SREM + publish) show at both within 1 s; a client
 * added shows up too.
 */
static bool
s_client_events(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct want_client	 w = { in, "a", true, 1700000000 };
	struct view_stats	 st;
	uint64_t		 t0;
	bool			 ok = false;
	double			 ms_dis, ms_rm, ms_add;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(wait_until(pred_current, in, 3000));

	CHECK(cmd("HSET", P "client:a", "disabled", "1", "revoked_before",
	    "1700000000", NULL) != NULL);
	t0 = now_usec();
	CHECK(publish("client a"));
	CHECK(wait_until(pred_client, &w, 1000));
	ms_dis = ms_since(t0);
	CHECK(view_client(in[0].view, "a")->disabled);

	CHECK(cmd("DEL", P "client:b", NULL) != NULL);
	CHECK(cmd("SREM", P "clients", "b", NULL) != NULL);
	t0 = now_usec();
	CHECK(publish("client b"));
	w.id = "b";
	w.present = false;
	CHECK(wait_until(pred_client, &w, 1000));
	ms_rm = ms_since(t0);

	CHECK(seed_client("c", "5"));
	t0 = now_usec();
	CHECK(publish("client c"));
	w.id = "c";
	w.present = true;
	w.revoked_before = 5;
	CHECK(wait_until(pred_client, &w, 1000));
	ms_add = ms_since(t0);

	/* A record that no longer decodes is no client. */
	CHECK(cmd("HDEL", P "client:c", "secret", NULL) != NULL);
	CHECK(publish("client c"));
	w.present = false;
	CHECK(wait_until(pred_client, &w, 1000));
	CHECK(pred_current(in));
	view_get_stats(in[0].view, &st);
	CHECK(st.clients == 1);
	snprintf(detail, dlen, "disable %.1f ms, removal %.1f ms, "
	    "addition %.1f ms", ms_dis, ms_rm, ms_add);
	ok = true;
out:
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

/*
 * 4: both subscriptions killed; while they are down a revocation and a
 * client are written without any PUBLISH, and a client removed. The
 * re-read after they subscribe again has all three.
 */
static bool
s_resync(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct want_syncs	 ws = { in, 2 };
	long long		 ids[8];
	char			 idbuf[32];
	uint64_t		 t0;
	time_t			 now;
	bool			 ok = false;
	int			 i, n;
	double			 ms;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(wait_until(pred_current, in, 3000));
	CHECK((n = pubsub_ids(ids, 8)) == 2);

	t0 = now_usec();
	for (i = 0; i < n; i++) {
		snprintf(idbuf, sizeof(idbuf), "%lld", ids[i]);
		CHECK(cmd("CLIENT", "KILL", "ID", idbuf, NULL) != NULL);
	}
	/* Written while no view listens (reconnects wait >= 80 ms). */
	CHECK(seed_revoked("missed", (long long)time(NULL) + 600));
	CHECK(seed_client("new", "0"));
	CHECK(cmd("DEL", P "client:a", NULL) != NULL);
	CHECK(ms_since(t0) < 80);
	CHECK(wait_until(pred_synced, &ws, 3000));
	ms = ms_since(t0);
	now = time(NULL);
	for (i = 0; i < 2; i++) {
		CHECK(view_jti_revoked(in[i].view, "missed", now));
		CHECK(view_client(in[i].view, "new") != NULL);
		CHECK(view_client(in[i].view, "a") == NULL);
		CHECK(view_client(in[i].view, "b") != NULL);
		CHECK(view_jti_revoked(in[i].view, "j1", now));
	}
	snprintf(detail, dlen, "re-read complete %.1f ms after the kill", ms);
	ok = true;
out:
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

/*
 * 5: a SIGSTOPped Redis: both views stop being current within about 2 s
 * (the subscriber's probe: 1 s + the deadline), nothing published; after
 * SIGCONT both re-read and are current again.
 */
static bool
s_sigstop(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct want_syncs	 ws = { in, 2 };
	uint64_t		 t0;
	bool			 ok = false;
	double			 down_ms, up_ms;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(wait_until(pred_current, in, 3000));

	redis_stop();
	t0 = now_usec();
	CHECK(wait_until(pred_not_current, in, 3000));
	down_ms = ms_since(t0);
	CHECK(down_ms <= 2200);
	CHECK(strcmp(view_reason(in[0].view), "store unreachable") == 0);
	/* What it knew is still there, but it is not trusted. */
	CHECK(view_client(in[0].view, "a") != NULL);
	pump(500);
	CHECK(pred_not_current(in));

	redis_cont();
	t0 = now_usec();
	CHECK(wait_until(pred_synced, &ws, 8000));
	up_ms = ms_since(t0);
	snprintf(detail, dlen, "not current %.1f ms after SIGSTOP, current "
	    "again %.1f ms after SIGCONT", down_ms, up_ms);
	ok = true;
out:
	if (redis_stopped)
		redis_cont();
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

static bool
pred_lost(const void *arg)
{
	const struct inst	*in = arg;

	return strcmp(view_reason(in->view), "current") != 0;
}

/*
 * 6: --verify-grace 2: after the loss the view stays current (on what it
 * knew) for 2 s (whole seconds: 2 to 3 s), then not; after SIGCONT,
 * current again.
 */
static bool
s_grace(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	uint64_t		 t0;
	bool			 ok = false;
	double			 kept_ms;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 2) == -1)
		return false;
	CHECK(seed_base());
	inst_start(&in[0], &cfg);
	CHECK(wait_until(pred_current, in, 3000));

	redis_stop();
	CHECK(wait_until(pred_lost, in, 3000));
	t0 = now_usec();
	CHECK(view_in_sync_or_grace(in[0].view, time(NULL)));
	pump(1500);
	CHECK(view_in_sync_or_grace(in[0].view, time(NULL)));
	CHECK(view_jti_revoked(in[0].view, "j1", time(NULL)));
	CHECK(wait_until(pred_not_current, in, 2500));
	kept_ms = ms_since(t0);
	CHECK(kept_ms >= 1900 && kept_ms <= 3300);

	redis_cont();
	CHECK(wait_until(pred_current, in, 8000));
	CHECK(strcmp(view_reason(in[0].view), "current") == 0);
	snprintf(detail, dlen, "kept current %.1f ms after the loss", kept_ms);
	ok = true;
out:
	if (redis_stopped)
		redis_cont();
	inst_stop(&in[0]);
	config_done(&cfg);
	return ok;
}

/*
 * 7: views freed at every stage (connecting, syncing, with re-reads in
 * flight, current) while their command stores live on; and a view whose
 * command store is closed first. ASan / LSan judge.
 */
static bool
s_free(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct store		*c = NULL;
	struct view		*v = NULL;
	bool			 ok = false;
	int			 i;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	c = store_new(base, &cfg, 1);
	CHECK(wait_until(pred_up, c, 3000));
	for (i = 0; i < 30; i++) {
		v = view_new(base, &cfg, c, 1);
		pump(i);
		if (i % 3 == 0)
			CHECK(publish("client a"));
		view_free(v);
		v = NULL;
	}
	pump(50);
	/* The store still works for its other users. */
	CHECK(store_is_up(c));

	/* The command store closed under a view (the worker's shutdown). */
	inst_start(&in[0], &cfg);
	CHECK(wait_until(pred_current, in, 3000));
	view_close(in[0].view);
	CHECK(!view_in_sync_or_grace(in[0].view, time(NULL)));
	CHECK(strcmp(view_reason(in[0].view), "closed") == 0);
	store_close(in[0].cmd);
	snprintf(detail, dlen, "30 views freed mid-flight");
	ok = true;
out:
	view_free(v);
	store_free(c);
	inst_stop(&in[0]);
	config_done(&cfg);
	return ok;
}

/* Client "c" with every field set; secret hash h. */
static bool
seed_full_client(const char *h)
{
	return cmd("HSET", P "client:c", "secret", h, "scopes", "read write",
	    "audience", "urn:api", "ttl", "900", "claims",
	    "{\"tenant\":\"x\"}", "disabled", "0", "revoked_before", "0",
	    "introspect", "1", "created_at", "1700000000", "updated_at",
	    "1700000001", NULL) != NULL &&
	    cmd("SADD", P "clients", "c", NULL) != NULL;
}

struct want_hash {
	const struct inst	*in;
	const char		*id;
	const char		*hash;		/* NULL: no record */
	bool			 disabled;
};

static bool
pred_hash(const void *arg)
{
	const struct want_hash	*w = arg;
	int			 i;

	for (i = 0; i < 2; i++) {
		const struct client_record	*rec;

		rec = view_client(w->in[i].view, w->id);
		if (w->hash == NULL) {
			if (rec != NULL)
				return false;
			continue;
		}
		if (rec == NULL || strcmp(rec->secret_hash, w->hash) != 0 ||
		    rec->disabled != w->disabled)
			return false;
	}
	return true;
}

struct want_lock {
	struct inst		*in;
	const char		*addr;
};

static bool
pred_locked(const void *arg)
{
	const struct want_lock	*w = arg;

	return lock_left(&w->in[0], w->addr) > 0 &&
	    lock_left(&w->in[1], w->addr) > 0;
}

/* Locked in in[0]'s table (the one both views share). */
static bool
pred_locked_first(const void *arg)
{
	const struct want_lock	*w = arg;

	return lock_left(&w->in[0], w->addr) > 0;
}

/*
 * 8: for issuing: the whole record in both views, a rotated secret and a
 * disable (published) replace it within 1 s at both, a removal drops it;
 * locks from P locked at start (not the one already over) and from "lock
 * ADDR UNTIL" within 1 s, in each instance's table; junk lock messages
 * ignored; a lock ends on time.
 */
static bool
s_issuing(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct want_hash	 wh = { in, "c", NULL, false };
	struct want_lock	 wl = { in, "10.0.0.3" };
	struct view_stats	 st;
	struct json_object	*v;
	char			 h1[SECRET_HASH_SIZE], h2[SECRET_HASH_SIZE];
	char			 msg[128], until[32], past[32];
	int64_t			 now_ms, left;
	uint64_t		 t0;
	bool			 ok = false;
	double			 ms_rotate, ms_lock;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	CHECK(secret_hash_new("first-secret-first-secret-first-s", 33, h1,
	    sizeof(h1)) == 0);
	CHECK(secret_hash_new("second-secret-second-secret-secon", 33, h2,
	    sizeof(h2)) == 0);
	CHECK(seed_full_client(h1));
	now_ms = view_now_ms();
	snprintf(until, sizeof(until), "%lld", (long long)now_ms + 20000);
	snprintf(past, sizeof(past), "%lld", (long long)now_ms - 1000);
	CHECK(cmd("ZADD", P "locked", until, "10.0.0.1", past, "10.0.0.2",
	    NULL) != NULL);
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(wait_until(pred_current, in, 3000));
	for (int i = 0; i < 2; i++) {
		const struct client_record	*rec;

		CHECK(view_in_sync(in[i].view));
		CHECK((rec = view_client(in[i].view, "c")) != NULL);
		CHECK(strcmp(rec->secret_hash, h1) == 0);
		CHECK(secret_hash_check(rec->secret_hash,
		    "first-secret-first-secret-first-s", 33));
		CHECK(scope_contains(&rec->scopes, "read") &&
		    scope_contains(&rec->scopes, "write") &&
		    !scope_contains(&rec->scopes, "admin"));
		CHECK(rec->audience != NULL &&
		    strcmp(rec->audience, "urn:api") == 0);
		CHECK(rec->ttl == 900 && !rec->disabled && rec->introspect);
		CHECK(rec->created_at == 1700000000 &&
		    rec->updated_at == 1700000001);
		CHECK(rec->claims != NULL &&
		    json_object_object_get_ex(rec->claims, "tenant", &v) &&
		    strcmp(json_object_get_string(v), "x") == 0);
		left = lock_left(&in[i], "10.0.0.1");
		CHECK(left > 15000 && left <= 20000);
		CHECK(lock_left(&in[i], "10.0.0.2") == 0);
		CHECK(lock_left(&in[i], "10.9.9.9") == 0);
		view_get_stats(in[i].view, &st);
		CHECK(st.clients == 3 && st.locked == 1);
	}

	/* rotate: a new hash, published: both within 1 s. */
	CHECK(cmd("HSET", P "client:c", "secret", h2, NULL) != NULL);
	t0 = now_usec();
	CHECK(publish("client c"));
	wh.hash = h2;
	CHECK(wait_until(pred_hash, &wh, 1000));
	ms_rotate = ms_since(t0);
	CHECK(!secret_hash_check(view_client(in[1].view, "c")->secret_hash,
	    "first-secret-first-secret-first-s", 33));
	/* disable */
	CHECK(cmd("HSET", P "client:c", "disabled", "1", NULL) != NULL);
	CHECK(publish("client c"));
	wh.disabled = true;
	CHECK(wait_until(pred_hash, &wh, 1000));
	/* remove */
	CHECK(cmd("DEL", P "client:c", NULL) != NULL);
	CHECK(cmd("SREM", P "clients", "c", NULL) != NULL);
	CHECK(publish("client c"));
	wh.hash = NULL;
	CHECK(wait_until(pred_hash, &wh, 1000));

	/* A lock published once reaches both. */
	snprintf(msg, sizeof(msg), "lock 10.0.0.3 %lld",
	    (long long)view_now_ms() + 3000);
	t0 = now_usec();
	CHECK(publish(msg));
	CHECK(wait_until(pred_locked, &wl, 1000));
	ms_lock = ms_since(t0);
	left = lock_left(&in[0], "10.0.0.3");
	CHECK(left > 1500 && left <= 3000);
	/* Junk: ignored; a lock already over: ignored. */
	CHECK(publish("lock"));
	CHECK(publish("lock 10.0.0.5"));
	CHECK(publish("lock 10.0.0.5 soon"));
	CHECK(publish("lock  12345678901234"));
	snprintf(msg, sizeof(msg), "lock 10.0.0.6 %lld",
	    (long long)view_now_ms() - 10);
	CHECK(publish(msg));
	/* Short: over after 400 ms. */
	snprintf(msg, sizeof(msg), "lock 10.0.0.4 %lld",
	    (long long)view_now_ms() + 300);
	CHECK(publish(msg));
	wl.addr = "10.0.0.4";
	CHECK(wait_until(pred_locked, &wl, 1000));
	pump(400);
	CHECK(lock_left(&in[0], "10.0.0.4") == 0);
	CHECK(lock_left(&in[1], "10.0.0.4") == 0);
	CHECK(lock_left(&in[1], "10.0.0.5") == 0);
	CHECK(lock_left(&in[1], "10.0.0.6") == 0);
	/* 10.0.0.1 (from P locked) and 10.0.0.3. */
	view_get_stats(in[1].view, &st);
	CHECK(st.locked == 2 && pred_current(in));
	/* An absurd end (a bogus message, a clock behind Redis's): kept
	   --auth-fail-window at most, the longest a counter lives. */
	CHECK(publish("lock 10.0.0.9 9000000000000000000"));
	wl.addr = "10.0.0.9";
	CHECK(wait_until(pred_locked, &wl, 1000));
	left = lock_left(&in[1], "10.0.0.9");
	CHECK(left > cfg.auth_fail_window * 1000LL - 5000 &&
	    left <= cfg.auth_fail_window * 1000LL);
	/* Two views sharing one table (two workers of one process): a
	   message both hear is one lock. */
	view_set_limiter(in[1].view, in[0].limiter);
	snprintf(msg, sizeof(msg), "lock 10.0.0.8 %lld",
	    (long long)view_now_ms() + 5000);
	CHECK(publish(msg));
	wl.addr = "10.0.0.8";
	CHECK(wait_until(pred_locked_first, &wl, 1000));
	CHECK(lock_left(&in[0], "10.0.0.8") > 4000);
	CHECK(lock_left(&in[1], "10.0.0.8") == 0);
	view_set_limiter(in[1].view, in[1].limiter);
	snprintf(detail, dlen, "rotated secret at both in %.1f ms, lock in "
	    "%.1f ms", ms_rotate, ms_lock);
	ok = true;
out:
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

/* ---- revocations counted per client (db_revoke against Redis) ---- */

struct revocation {
	int			 calls;
	enum db_status		 status;
	bool			 refused;
	long long		 count;
	struct db_op		 op;
};

static void
revocation_cb(const struct db_revocation *res, void *arg)
{
	struct revocation	*r = arg;

	r->calls++;
	r->status = res->status;
	r->refused = res->refused;
	r->count = res->count;
}

static bool
pred_revocation(const void *arg)
{
	return ((const struct revocation *)arg)->calls > 0;
}

/* Revoke jti of client id (exp, leeway 30, cap max) at in, waited for. */
static bool
revoke_one(struct inst *in, struct revocation *r, const char *id,
    const char *jti, long long exp, int max)
{
	memset(r, 0, sizeof(*r));
	return db_revoke(in->cmd, &r->op, P, id, jti, exp, 30, max,
	    revocation_cb, r) == 0 && wait_until(pred_revocation, r, 2000) &&
	    r->calls == 1 && r->status == DB_OK;
}

static long long
zcard(const char *id)
{
	char			 key[200];
	const struct reply	*rep;

	snprintf(key, sizeof(key), P "revocations:%s", id);
	rep = cmd("ZCARD", key, NULL);
	return rep != NULL && rep->type == REDIS_REPLY_INTEGER ?
	    rep->integer : -1;
}

#define PARALLEL	20

struct want_all {
	const struct revocation	*r;
	int			 n;
};

static bool
pred_all(const void *arg)
{
	const struct want_all	*w = arg;
	int			 i;

	for (i = 0; i < w->n; i++)
		if (w->r[i].calls == 0)
			return false;
	return true;
}

/*
 * 9: the revocation script against Redis, as two instances run it: a
 * client's live revocations counted up to the cap (then refused, nothing
 * written: no P revoked:JTI, no message), a jti counted once whichever
 * instance revokes it again, another client's count apart, revocations
 * whose time has come no longer counted, 20 revocations queued at once on
 * two links never past the cap; and the views' revocation bytes grow with
 * what they hold.
 */
static bool
s_revocation_count(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct revocation	 r, par[PARALLEL];
	struct want_all		 wa = { par, PARALLEL };
	struct want_jti		 w = { in, "c-1" };
	struct view_stats	 st0, st1;
	const struct reply	*rep;
	long long		 now, exp, ttl;
	char			 jti[32];
	int			 i, written = 0, refused = 0;
	bool			 ok = false;

	memset(in, 0, sizeof(in));
	if (make_config(&cfg, 0) == -1)
		return false;
	flush_db();
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(wait_until(pred_current, in, 3000));
	view_get_stats(in[1].view, &st0);
	CHECK(st0.revoked == 0 && st0.revoked_bytes > 0);
	now = (long long)time(NULL);
	exp = now + 600;

	/* Up to the cap of 3, at either instance. */
	CHECK(revoke_one(&in[0], &r, "c", "c-1", exp, 3));
	CHECK(!r.refused && r.count == 1);
	CHECK(revoke_one(&in[1], &r, "c", "c-2", exp, 3));
	CHECK(!r.refused && r.count == 2);
	CHECK(revoke_one(&in[0], &r, "c", "c-3", exp, 3));
	CHECK(!r.refused && r.count == 3);
	/* Published: at both views. */
	CHECK(wait_until(pred_revoked, &w, 1000));
	w.jti = "c-3";
	CHECK(wait_until(pred_revoked, &w, 1000));
	/* Again, at the other instance: counted once, not refused. */
	CHECK(revoke_one(&in[1], &r, "c", "c-1", exp, 3));
	CHECK(!r.refused && r.count == 3);
	/* A fourth: refused, nothing written. */
	CHECK(revoke_one(&in[1], &r, "c", "c-4", exp, 3));
	CHECK(r.refused && r.count == 3);
	CHECK((rep = cmd("EXISTS", P "revoked:c-4", NULL)) != NULL &&
	    rep->integer == 0);
	CHECK(zcard("c") == 3);
	/* A larger cap lets it through (the cap is the caller's). */
	CHECK(revoke_one(&in[0], &r, "c", "c-4", exp, 4));
	CHECK(!r.refused && r.count == 4);
	/* The set expires with its latest revocation: exp + leeway. */
	CHECK((rep = cmd("TTL", P "revocations:c", NULL)) != NULL);
	ttl = rep->integer;
	CHECK(ttl > 600 + 30 - 5 && ttl <= 600 + 30);
	CHECK((rep = cmd("TTL", P "revoked:c-4", NULL)) != NULL &&
	    rep->integer > 600 + 30 - 5 && rep->integer <= 600 + 30);
	/* Another client counts apart. */
	CHECK(revoke_one(&in[0], &r, "other", "o-1", exp, 1));
	CHECK(!r.refused && r.count == 1);

	/*
	 * Revocations whose time has come stop counting: d-old (exp 40 s
	 * ago: until 10 s ago) is dropped before the next one is counted.
	 */
	CHECK(revoke_one(&in[0], &r, "d", "d-old", now - 40, 1));
	CHECK(!r.refused);
	CHECK(cmd("ZADD", P "revocations:d", "GT", "1", "d-stale",
	    NULL) != NULL);
	CHECK(revoke_one(&in[1], &r, "d", "d-new", exp, 1));
	CHECK(!r.refused && r.count == 1);
	CHECK(revoke_one(&in[0], &r, "d", "d-next", exp, 1));
	CHECK(r.refused && r.count == 1);
	/* The set's expiry only ever moves later. */
	CHECK(revoke_one(&in[0], &r, "c", "c-5", now + 100, 10));
	CHECK((rep = cmd("TTL", P "revocations:c", NULL)) != NULL &&
	    rep->integer >= ttl - 3);

	/* 20 at once on two links, cap 5: exactly 5 written. */
	memset(par, 0, sizeof(par));
	for (i = 0; i < PARALLEL; i++) {
		snprintf(jti, sizeof(jti), "e-%d", i);
		CHECK(db_revoke(in[i % 2].cmd, &par[i].op, P, "e", jti, exp, 30,
		    5, revocation_cb, &par[i]) == 0);
	}
	CHECK(wait_until(pred_all, &wa, 3000));
	for (i = 0; i < PARALLEL; i++) {
		CHECK(par[i].calls == 1 && par[i].status == DB_OK);
		if (par[i].refused)
			refused++;
		else
			written++;
		CHECK(par[i].count >= 1 && par[i].count <= 5);
	}
	CHECK(written == 5 && refused == PARALLEL - 5 && zcard("e") == 5);

	/* The views hold what was written, and their bytes grew with it. */
	pump(200);
	view_get_stats(in[1].view, &st1);
	CHECK(st1.revoked >= 10);
	CHECK(st1.revoked_bytes >= st0.revoked_bytes + st1.revoked * 64);
	snprintf(detail, dlen, "capped, once per jti, expired dropped; "
	    "%zu revocations in a view: %zu bytes", st1.revoked,
	    st1.revoked_bytes);
	ok = true;
out:
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

/* What learn_cb got: the record put into in->view, or why not. */
struct learned {
	struct inst			*in;
	uint64_t			 sent_us;
	int				 calls;
	const struct client_record	*rec;
	struct db_op			 op;
};

static void
learn_cb(const struct db_record *res, void *arg)
{
	struct learned		*l = arg;
	struct client_record	*rec;

	l->calls++;
	if (res->status == DB_OK && (rec = db_record_decode(res)) != NULL)
		l->rec = view_learn_client(l->in->view, rec, res, l->sent_us);
}

static bool
pred_learned(const void *arg)
{
	const struct learned	*l = arg;

	return l->calls > 0;
}

struct want_gen {
	const struct inst	*in;
	const char		*id;
	const char		*gen;
};

static bool
pred_gen(const void *arg)
{
	const struct want_gen	*w = arg;
	int			 i;

	for (i = 0; i < 2; i++) {
		const struct client_record	*rec;

		rec = view_client(w->in[i].view, w->id);
		if (rec == NULL || strcmp(rec->generation, w->gen) != 0)
			return false;
	}
	return true;
}

#define GEN1	"1111111111111111.0000000000000001"
#define GEN2	"1111111111111111.0000000000000002"

/*
 * 9: generations. Both views hold the record's generation; a new one
 * written (not yet published) and read by "worker" 0 as client_auth.c
 * reads it is in view 0 at once, view 1 still has the old one; issuing
 * from it vouches for it to the siblings for VIEW_VOUCH_US from the read
 * (not for another client or generation, not after); the message then
 * brings it to view 1 as well. A record read longer ago vouches for
 * nothing.
 */
static bool
s_generations(char *detail, size_t dlen)
{
	struct config		 cfg;
	struct inst		 in[2];
	struct learned		 l;
	struct want_gen		 wg = { in, "g", GEN1 };
	uint64_t		 now;
	bool			 ok = false;

	memset(in, 0, sizeof(in));
	memset(&l, 0, sizeof(l));
	if (make_config(&cfg, 0) == -1)
		return false;
	CHECK(seed_base());
	CHECK(cmd("HSET", P "client:g", "secret", "hmac-sha256:00:00",
	    "generation", GEN1, NULL) != NULL);
	CHECK(cmd("SADD", P "clients", "g", NULL) != NULL);
	inst_start(&in[0], &cfg);
	inst_start(&in[1], &cfg);
	CHECK(wait_until(pred_current, in, 3000));
	CHECK(wait_until(pred_gen, &wg, 1000));
	CHECK(!view_gen_vouched("g", GEN1, now_usec()));

	/* A disable + enable, written but not published yet. */
	CHECK(cmd("HSET", P "client:g", "generation", GEN2, NULL) != NULL);
	l.in = &in[0];
	l.sent_us = now_usec();
	CHECK(db_client_get(in[0].cmd, &l.op, P, "g", learn_cb, &l) == 0);
	CHECK(wait_until(pred_learned, &l, 1000));
	CHECK(l.rec != NULL && l.rec == view_client(in[0].view, "g"));
	CHECK(strcmp(l.rec->generation, GEN2) == 0);
	CHECK(strcmp(view_client(in[1].view, "g")->generation, GEN1) == 0);
	CHECK(!view_gen_vouched("g", GEN2, now_usec()));
	now = now_usec();
	view_client_issuing(in[0].view, l.rec, now);
	CHECK(view_gen_vouched("g", GEN2, now));
	CHECK(view_gen_vouched("g", GEN2, l.sent_us + VIEW_VOUCH_US));
	CHECK(!view_gen_vouched("g", GEN2, l.sent_us + VIEW_VOUCH_US + 1));
	CHECK(!view_gen_vouched("g", GEN1, now));
	CHECK(!view_gen_vouched("a", GEN2, now));
	CHECK(!view_gen_vouched("g", "", now));

	/* The message: view 1 too. */
	CHECK(publish("client g"));
	wg.gen = GEN2;
	CHECK(wait_until(pred_gen, &wg, 1000));
	/* Read long ago: issuing from it vouches for nothing new. */
	pump((VIEW_VOUCH_US / 1000) + 50);
	now = now_usec();
	view_client_issuing(in[1].view, view_client(in[1].view, "g"), now);
	CHECK(!view_gen_vouched("g", GEN2, now));
	snprintf(detail, dlen, "learned, vouched for %d ms",
	    VIEW_VOUCH_US / 1000);
	ok = true;
out:
	inst_stop(&in[0]);
	inst_stop(&in[1]);
	config_done(&cfg);
	return ok;
}

static void
usage(void)
{
	fprintf(stderr, "usage: test_view --redis-port PORT --redis-pid PID "
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
		{ "two views fill at start", s_sync },
		{ "a published revocation reaches both", s_revoke },
		{ "client disabled, removed, added", s_client_events },
		{ "re-read after the subscriptions were killed", s_resync },
		{ "SIGSTOP: fail closed, then current again", s_sigstop },
		{ "verify_grace=2", s_grace },
		{ "free at every stage", s_free },
		{ "records and locks for issuing", s_issuing },
		{ "revocations counted per client", s_revocation_count },
		{ "generations: learned, vouched for", s_generations },
	};
	struct config	 cfg;
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
	atexit(restore_redis);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "test_view: event_base_new failed\n");
		return 1;
	}
	if (make_config(&cfg, 0) == -1)
		return 1;
	seed = store_new(base, &cfg, 1);
	if (!wait_until(pred_up, seed, 5000)) {
		fprintf(stderr, "test_view: redis unreachable: %s\n",
		    store_reason(seed));
		return 1;
	}

	for (i = 0; i < nitems(scenarios); i++) {
		bool	 ok;

		detail[0] = fail_msg[0] = '\0';
		alarm(SCENARIO_LIMIT);
		/* The seed store may have been dropped by a SIGSTOP. */
		(void)wait_until(pred_up, seed, 5000);
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
	(void)wait_until(pred_up, seed, 5000);
	flush_db();
	store_free(seed);
	config_done(&cfg);
	event_base_free(base);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

/*
 * test_db: the data module (db.c) without a Redis: the argv of every
 * command, and the decoding of every reply into its result, edge cases
 * included (wrong types, short arrays, huge numbers, foreign keys, bad
 * messages).
 *
 * The store is faked at link time: this file defines the three store
 * functions db.c calls (store_command_argv, store_wait_replica,
 * store_is_sentinel), so the linker takes these instead of store.o from
 * tokend_core. The fake records the last command queued and its
 * callback; answer() runs that callback with a redisReply built by hand,
 * as hiredis would, and frees the reply after, as hiredis does.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "client_record.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "test.h"

#define P		"tokend:"
#define HASH		"hmac-sha256:000102030405060708090a0b0c0d0e0f:" \
			"5bc2b981340ce75043a2abb4bfa14c282d4104122bb01da8" \
			"9fd1199c416c2c3a"
#define ARGV_MAX	16

/* ---- the fake store ---- */

static struct {
	bool		 refuse;	/* store_command_argv() says no */
	bool		 refuse_wait;	/* store_wait_replica() says no */
	bool		 sentinel;
	int		 queued;
	int		 waits;
	int		 argc;
	char		*argv[ARGV_MAX];
	store_cb	 cb;
	void		*arg;
} fake;

static struct store	*const dummy = (struct store *)&fake;

static void
fake_forget(void)
{
	int	 i;

	for (i = 0; i < fake.argc; i++)
		free(fake.argv[i]);
	fake.argc = 0;
}

int
store_command_argv(struct store *s, store_cb cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	int	 i;

	if (s != dummy || fake.refuse)
		return -1;
	fake_forget();
	for (i = 0; i < argc && i < ARGV_MAX; i++)
		fake.argv[i] = argvlen != NULL ?
		    xstrndup(argv[i], argvlen[i]) : xstrdup(argv[i]);
	fake.argc = argc;
	fake.cb = cb;
	fake.arg = arg;
	fake.queued++;
	return 0;
}

int
store_wait_replica(struct store *s, store_cb cb, void *arg)
{
	if (s != dummy)
		return -1;
	fake.waits++;
	if (fake.refuse_wait)
		return -1;
	fake_forget();
	fake.argv[0] = xstrdup("WAIT");
	fake.argc = 1;
	fake.cb = cb;
	fake.arg = arg;
	return 0;
}

bool
store_is_sentinel(const struct store *s)
{
	(void)s;
	return fake.sentinel;
}

static void
fake_reset(void)
{
	fake_forget();
	memset(&fake, 0, sizeof(fake));
}

/* Whether the command queued last is exactly the given arguments. */
static bool
sent(int argc, ...)
{
	va_list		 ap;
	const char	*a;
	int		 i;
	bool		 ok = fake.argc == argc;

	va_start(ap, argc);
	for (i = 0; i < argc; i++) {
		a = va_arg(ap, const char *);
		/* NULL: any argument (a script) */
		if (ok && a != NULL && strcmp(fake.argv[i], a) != 0)
			ok = false;
	}
	va_end(ap);
	return ok;
}

/* ---- replies built by hand ---- */

static redisReply *
reply_new(int type)
{
	redisReply	*r = xcalloc(1, sizeof(*r));

	r->type = type;
	return r;
}

static redisReply *
rstr_len(int type, const char *s, size_t len)
{
	redisReply	*r = reply_new(type);

	r->str = xmalloc(len + 1);
	memcpy(r->str, s, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static redisReply *
rstr(const char *s)
{
	return rstr_len(REDIS_REPLY_STRING, s, strlen(s));
}

static redisReply *
rerr(const char *s)
{
	return rstr_len(REDIS_REPLY_ERROR, s, strlen(s));
}

static redisReply *
rnum(long long v)
{
	redisReply	*r = reply_new(REDIS_REPLY_INTEGER);

	r->integer = v;
	return r;
}

static redisReply *
rnil(void)
{
	return reply_new(REDIS_REPLY_NIL);
}

/* An array of n elements, taken over. */
static redisReply *
rarr(size_t n, ...)
{
	redisReply	*r = reply_new(REDIS_REPLY_ARRAY);
	va_list		 ap;
	size_t		 i;

	r->elements = n;
	r->element = xcalloc(n + 1, sizeof(*r->element));
	va_start(ap, n);
	for (i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void
reply_free(redisReply *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->elements; i++)
		reply_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

/* Run the callback of the command queued last, then free r. */
static void
answer(enum store_status st, redisReply *r)
{
	store_cb	 cb = fake.cb;

	fake.cb = NULL;
	if (cb != NULL)
		cb(st, r, fake.arg);
	reply_free(r);
}

/* ---- what the callbacks saw ---- */

static struct {
	int			 calls;
	enum db_status		 status;
	char			 why[160];
	/* records */
	bool			 locked;
	int64_t			 window_ms;
	long long		 lookup_fails;
	struct client_record	*rec;
	struct client_record	*rec2;
	/* failure counts */
	long long		 fails_ip, fails_client;
	/* revocations */
	bool			 refused;
	long long		 revocations;
	int64_t			 locked_until;
	int64_t			 fail_window_ms;
	/* lists: ids, jtis, addresses */
	size_t			 n;
	size_t			 count;
	char			*names[16];
	int64_t			 values[16];
	char			 cursor[DB_CURSOR_MAX];
	bool			 get_page;	/* db_revoked_get from scan */
	int			 get_rc;
} seen;

static void
seen_reset(void)
{
	size_t	 i;

	client_record_free(seen.rec);
	client_record_free(seen.rec2);
	for (i = 0; i < seen.count; i++)
		free(seen.names[i]);
	memset(&seen, 0, sizeof(seen));
}

static void
seen_status(enum db_status status, const char *why)
{
	seen.calls++;
	seen.status = status;
	snprintf(seen.why, sizeof(seen.why), "%s", why != NULL ? why : "");
}

static void
seen_name(const char *s, size_t len, int64_t value)
{
	if (seen.count < nitems(seen.names)) {
		seen.names[seen.count] = xstrndup(s, len);
		seen.values[seen.count] = value;
		seen.count++;
	}
}

static void
on_status(enum db_status status, void *arg)
{
	(void)arg;
	seen_status(status, NULL);
}

static void
on_revocation(const struct db_revocation *res, void *arg)
{
	(void)arg;
	seen_status(res->status, res->why);
	seen.refused = res->refused;
	seen.revocations = res->count;
}

static void
on_record(const struct db_record *res, void *arg)
{
	(void)arg;
	seen_status(res->status, res->why);
	seen.locked = res->locked;
	seen.window_ms = res->window_ms;
	seen.lookup_fails = res->fails_ip;
	/* Twice: each call a record of its own. */
	seen.rec = db_record_decode(res);
	seen.rec2 = db_record_decode(res);
}

static void
on_authfail(const struct db_authfail *res, void *arg)
{
	(void)arg;
	seen_status(res->status, res->why);
	seen.fails_ip = res->fails_ip;
	seen.fails_client = res->fails_client;
	seen.locked_until = res->locked_until;
	seen.fail_window_ms = res->window_ms;
}

static void
on_members(const struct db_members *res, void *arg)
{
	const char	*id;
	size_t		 len, pos = 0;

	(void)arg;
	seen_status(res->status, res->why);
	seen.n = res->n;
	while (db_members_next(res, &pos, &id, &len))
		seen_name(id, len, 0);
}

static struct db_op	 get_op;

static void
on_revoked(const struct db_revoked *res, void *arg)
{
	size_t	 i;

	(void)arg;
	seen_status(res->status, res->why);
	seen.n = res->n;
	for (i = 0; i < res->n; i++)
		seen_name(res->jtis[i], strlen(res->jtis[i]), res->exps[i]);
}

static void
on_scan(const struct db_scan *page, void *arg)
{
	(void)arg;
	seen_status(page->status, page->why);
	seen.n = page->n;
	memcpy(seen.cursor, page->cursor, sizeof(seen.cursor));
	if (seen.get_page && page->status == DB_OK && page->n > 0)
		seen.get_rc = db_revoked_get(dummy, &get_op, page, on_revoked,
		    NULL);
}

static void
on_locks(const struct db_locks *res, void *arg)
{
	char	 addr[DB_ADDR_MAX + 1];
	int64_t	 until;
	size_t	 pos = 0;

	(void)arg;
	seen_status(res->status, res->why);
	while (db_locks_next(res, &pos, addr, &until))
		seen_name(addr, strlen(addr), until);
}

/* A client record's HGETALL reply: secret and scopes. */
static redisReply *
record_reply(void)
{
	return rarr(4, rstr("secret"), rstr(HASH), rstr("scopes"),
	    rstr("read write"));
}

/* ---- tests ---- */

static void
test_db_refused(void)
{
	struct db_op	 op;
	struct db_scan	 page;

	fake_reset();
	seen_reset();
	fake.refuse = true;
	TEST_ASSERT(db_ping(dummy, on_status, NULL) == -1);
	TEST_ASSERT(db_client_get(dummy, &op, P, "a", on_record, NULL) == -1);
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "a", "10.0.0.1", 5,
	    on_record, NULL) == -1);
	TEST_ASSERT(db_authfail_count(dummy, &op, P, "10.0.0.1", "a", 60, 5,
	    on_authfail, NULL) == -1);
	TEST_ASSERT(db_revoke(dummy, &op, P, "a", "j", 1, 0, 5, on_revocation,
	    NULL) == -1);
	TEST_ASSERT(db_members_get(dummy, &op, P, on_members, NULL) == -1);
	TEST_ASSERT(db_revoked_scan(dummy, &op, P, "0", on_scan, NULL) == -1);
	TEST_ASSERT(db_locks_get(dummy, &op, P, 1, on_locks, NULL) == -1);
	/* A page's MGET refused: the jtis it copied are freed (ASan). */
	memset(&page, 0, sizeof(page));
	{
		redisReply	*keys = rarr(1, rstr(P "revoked:j1"));

		page.status = DB_OK;
		page.n = 1;
		page.reply = keys;
		page.prefix = P;
		TEST_ASSERT(db_revoked_get(dummy, &op, &page, on_revoked,
		    NULL) == -1);
		reply_free(keys);
	}
	TEST_ASSERT(seen.calls == 0);
	fake_reset();
}

static void
test_db_ping(void)
{
	fake_reset();
	seen_reset();
	TEST_ASSERT(db_ping(dummy, on_status, NULL) == 0);
	TEST_ASSERT(sent(1, "PING"));
	answer(STORE_OK, rstr_len(REDIS_REPLY_STATUS, "PONG", 4));
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_OK);

	TEST_ASSERT(db_ping(dummy, on_status, NULL) == 0);
	answer(STORE_OK, rerr("LOADING Redis is loading"));
	TEST_ASSERT(seen.calls == 2 && seen.status == DB_ERR_REDIS);
	TEST_ASSERT(db_ping(dummy, on_status, NULL) == 0);
	answer(STORE_ERR_TIMEOUT, NULL);
	TEST_ASSERT(seen.calls == 3 && seen.status == DB_ERR_TIMEOUT);
	TEST_ASSERT(db_ping(dummy, on_status, NULL) == 0);
	answer(STORE_ERR_DOWN, NULL);
	TEST_ASSERT(seen.calls == 4 && seen.status == DB_ERR_DOWN);
	fake_reset();
}

static void
test_db_client_get(void)
{
	struct db_op	 op;
	char		 longid[400];

	fake_reset();
	seen_reset();
	TEST_ASSERT(db_client_get(dummy, &op, P, "svc-1", on_record,
	    NULL) == 0);
	TEST_ASSERT(sent(2, "HGETALL", P "client:svc-1"));
	answer(STORE_OK, record_reply());
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_OK && !seen.locked);
	TEST_ASSERT(seen.rec != NULL && seen.rec2 != NULL &&
	    seen.rec != seen.rec2);
	TEST_ASSERT(strcmp(seen.rec->id, "svc-1") == 0);
	TEST_ASSERT(strcmp(seen.rec->secret_hash, HASH) == 0);
	TEST_ASSERT(seen.rec->scopes.n == 2);

	/* A key longer than the stack buffer. */
	seen_reset();
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	TEST_ASSERT(db_client_get(dummy, &op, P, longid, on_record,
	    NULL) == 0);
	TEST_ASSERT(strlen(fake.argv[1]) == strlen(P "client:") +
	    strlen(longid));
	TEST_ASSERT(strncmp(fake.argv[1], P "client:xxx", 13) == 0);
	answer(STORE_OK, rarr(0));
	TEST_ASSERT(seen.status == DB_OK && seen.rec == NULL);
	fake_reset();
}

/* A record reply of the wrong shape is no record (logged), never a crash. */
static void
test_db_record_shapes(void)
{
	struct db_op	 op;
	redisReply	*many;
	char		 err[300];
	size_t		 i;

	fake_reset();
	seen_reset();
#define EXPECT_NO_RECORD(reply) do {					\
	seen_reset();							\
	TEST_ASSERT(db_client_get(dummy, &op, P, "a", on_record,	\
	    NULL) == 0);						\
	answer(STORE_OK, (reply));					\
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_OK);		\
	TEST_ASSERT(seen.rec == NULL && seen.rec2 == NULL);		\
} while (0)
	EXPECT_NO_RECORD(rarr(0));				/* missing */
	EXPECT_NO_RECORD(rarr(1, rstr("secret")));		/* odd */
	EXPECT_NO_RECORD(rarr(2, rstr("secret"), rnum(1)));	/* type */
	EXPECT_NO_RECORD(rarr(2, rnil(), rstr(HASH)));
	EXPECT_NO_RECORD(rnum(0));				/* no array */
	EXPECT_NO_RECORD(rnil());
	EXPECT_NO_RECORD(rstr("secret"));
	EXPECT_NO_RECORD(rarr(2, rstr("scopes"), rstr("read")));
	EXPECT_NO_RECORD(rarr(2, rstr("secret"), rstr("")));
	/* More than 32 pairs. */
	many = reply_new(REDIS_REPLY_ARRAY);
	many->elements = 66;
	many->element = xcalloc(66, sizeof(*many->element));
	many->element[0] = rstr("secret");
	many->element[1] = rstr(HASH);
	for (i = 2; i < 66; i += 2) {
		char	 f[16];

		snprintf(f, sizeof(f), "x%zu", i);
		many->element[i] = rstr(f);
		many->element[i + 1] = rstr("1");
	}
	EXPECT_NO_RECORD(many);
#undef EXPECT_NO_RECORD

	/* Errors: the status says so, and there is nothing to decode. */
	seen_reset();
	TEST_ASSERT(db_client_get(dummy, &op, P, "a", on_record, NULL) == 0);
	answer(STORE_OK, rerr("WRONGTYPE Operation against a key"));
	TEST_ASSERT(seen.status == DB_ERR_REDIS && seen.rec == NULL);
	TEST_ASSERT(strcmp(seen.why,
	    "redis error: WRONGTYPE Operation against a key") == 0);
	/* A long error: 100 bytes of it. */
	seen_reset();
	memset(err, 'E', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	TEST_ASSERT(db_client_get(dummy, &op, P, "a", on_record, NULL) == 0);
	answer(STORE_OK, rerr(err));
	TEST_ASSERT(seen.status == DB_ERR_REDIS);
	TEST_ASSERT(strlen(seen.why) == strlen("redis error: ") + 100);
	seen_reset();
	TEST_ASSERT(db_client_get(dummy, &op, P, "a", on_record, NULL) == 0);
	answer(STORE_ERR_TIMEOUT, NULL);
	TEST_ASSERT(seen.status == DB_ERR_TIMEOUT && seen.rec == NULL);
	TEST_ASSERT(strcmp(seen.why, "command timed out") == 0);
	seen_reset();
	TEST_ASSERT(db_client_get(dummy, &op, P, "a", on_record, NULL) == 0);
	answer(STORE_ERR_DOWN, NULL);
	TEST_ASSERT(seen.status == DB_ERR_DOWN && seen.rec == NULL);
	TEST_ASSERT(strcmp(seen.why, "store unreachable") == 0);
	seen_reset();
	fake_reset();
}

static void
test_db_client_lookup(void)
{
	struct db_op	 op;

	fake_reset();
	seen_reset();
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "svc-1", "10.1.2.3", 5,
	    on_record, NULL) == 0);
	TEST_ASSERT(sent(6, "EVAL", NULL, "2", P "client:svc-1",
	    P "authfail:ip:10.1.2.3", "5"));
	TEST_ASSERT(strstr(fake.argv[1], "HGETALL") != NULL);
	answer(STORE_OK, rarr(3, record_reply(), rnum(3), rnum(41000)));
	TEST_ASSERT(seen.status == DB_OK && !seen.locked);
	TEST_ASSERT(seen.lookup_fails == 3 && seen.window_ms == 41000);
	TEST_ASSERT(seen.rec != NULL && strcmp(seen.rec->id, "svc-1") == 0);

	/* Over the limit: no record, the counter's PTTL. */
	seen_reset();
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "svc-1", "10.1.2.3", 5,
	    on_record, NULL) == 0);
	answer(STORE_OK, rarr(3, rnum(0), rnum(7), rnum(1500)));
	TEST_ASSERT(seen.status == DB_OK && seen.locked &&
	    seen.lookup_fails == 7 && seen.window_ms == 1500 &&
	    seen.rec == NULL);
	seen_reset();
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "svc-1", "10.1.2.3", 5,
	    on_record, NULL) == 0);
	answer(STORE_OK, rarr(3, rnum(0), rnum(LLONG_MAX), rnum(LLONG_MAX)));
	TEST_ASSERT(seen.locked && seen.window_ms == LLONG_MAX);
	seen_reset();
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "svc-1", "10.1.2.3", 5,
	    on_record, NULL) == 0);
	answer(STORE_OK, rarr(3, rnum(0), rnum(5), rnum(-1)));
	TEST_ASSERT(seen.locked && seen.window_ms == -1);

	/* Unknown client: an empty record. */
	seen_reset();
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "svc-1", "10.1.2.3", 5,
	    on_record, NULL) == 0);
	answer(STORE_OK, rarr(3, rarr(0), rnum(0), rnum(-2)));
	TEST_ASSERT(seen.status == DB_OK && !seen.locked && seen.rec == NULL);
	TEST_ASSERT(seen.lookup_fails == 0 && seen.window_ms == -2);

#define EXPECT_BAD(reply) do {						\
	seen_reset();							\
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "a", "10.1.2.3", 5,	\
	    on_record, NULL) == 0);					\
	answer(STORE_OK, (reply));					\
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_ERR_REPLY);	\
	TEST_ASSERT(!seen.locked && seen.rec == NULL);			\
} while (0)
	EXPECT_BAD(rarr(2, record_reply(), rnum(1)));
	EXPECT_BAD(rarr(4, record_reply(), rnum(1), rnum(0), rnum(0)));
	EXPECT_BAD(rarr(3, record_reply(), rstr("1"), rnum(0)));
	EXPECT_BAD(rarr(3, rnum(0), rnum(1), rnil()));
	EXPECT_BAD(rarr(0));
	EXPECT_BAD(rnum(1));
	EXPECT_BAD(rnil());
#undef EXPECT_BAD
	seen_reset();
	TEST_ASSERT(db_client_lookup(dummy, &op, P, "a", "10.1.2.3", 5,
	    on_record, NULL) == 0);
	answer(STORE_OK, rerr("NOSCRIPT"));
	TEST_ASSERT(seen.status == DB_ERR_REDIS);
	seen_reset();
	fake_reset();
}

static void
test_db_authfail(void)
{
	struct db_op	 op;

	fake_reset();
	seen_reset();
	TEST_ASSERT(db_authfail_count(dummy, &op, P, "10.1.2.3", "svc-1", 60,
	    5, on_authfail, NULL) == 0);
	TEST_ASSERT(sent(10, "EVAL", NULL, "4", P "authfail:ip:10.1.2.3",
	    P "locked", P "events", P "authfail:client:svc-1", "60", "5",
	    "10.1.2.3"));
	TEST_ASSERT(strstr(fake.argv[1], "'lock %s %.0f'") != NULL);
	answer(STORE_OK, rarr(4, rnum(3), rnum(4), rnum(0), rnum(58000)));
	TEST_ASSERT(seen.status == DB_OK && seen.fails_ip == 3 &&
	    seen.fails_client == 4 && seen.locked_until == 0 &&
	    seen.fail_window_ms == 58000);

	/*
	 * No client counter for what is not a valid client id (a blank, a
	 * byte outside the alphabet, too long, empty, none): three keys,
	 * only the address's.
	 */
	{
		static const char *const bad[] = { "a b", "caf\xc3\xa9",
		    "a/b", "", NULL };
		char	 longid[CLIENT_ID_MAX + 2];
		size_t	 k;

		memset(longid, 'x', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = '\0';
		for (k = 0; k <= nitems(bad); k++) {
			const char *id = k < nitems(bad) ? bad[k] : longid;

			seen_reset();
			TEST_ASSERT(db_authfail_count(dummy, &op, P,
			    "2001:db8::/64", id, 60, 5, on_authfail,
			    NULL) == 0);
			TEST_ASSERT(sent(9, "EVAL", NULL, "3",
			    P "authfail:ip:2001:db8::/64", P "locked",
			    P "events", "60", "5", "2001:db8::/64"));
			answer(STORE_OK, rarr(4, rnum(1), rnum(-1), rnum(0),
			    rnum(60000)));
			TEST_ASSERT(seen.status == DB_OK &&
			    seen.fails_ip == 1 && seen.fails_client == -1);
		}
		/* The longest valid id still gets one. */
		longid[CLIENT_ID_MAX] = '\0';
		TEST_ASSERT(db_authfail_count(dummy, &op, P, "10.1.2.3",
		    longid, 60, 5, on_authfail, NULL) == 0);
		TEST_ASSERT(fake.argc == 10 && strcmp(fake.argv[2], "4") == 0);
		answer(STORE_OK, rarr(4, rnum(1), rnum(1), rnum(0),
		    rnum(60000)));
	}

	seen_reset();
	TEST_ASSERT(db_authfail_count(dummy, &op, P, "10.1.2.3", "svc-1", 60,
	    5, on_authfail, NULL) == 0);
	answer(STORE_OK, rarr(4, rnum(5), rnum(9), rnum(1700000000123LL),
	    rnum(59000)));
	TEST_ASSERT(seen.fails_ip == 5 && seen.locked_until == 1700000000123LL);

	/* Huge counts pass through; a negative end is no lock. */
	seen_reset();
	TEST_ASSERT(db_authfail_count(dummy, &op, P, "10.1.2.3", "svc-1", 60,
	    5, on_authfail, NULL) == 0);
	answer(STORE_OK, rarr(4, rnum(LLONG_MAX), rnum(LLONG_MAX), rnum(-5),
	    rnum(-1)));
	TEST_ASSERT(seen.status == DB_OK && seen.fails_ip == LLONG_MAX &&
	    seen.fails_client == LLONG_MAX && seen.locked_until == 0);

#define EXPECT_BAD(st, reply, want) do {				\
	seen_reset();							\
	TEST_ASSERT(db_authfail_count(dummy, &op, P, "10.1.2.3", "a",	\
	    60, 5, on_authfail, NULL) == 0);				\
	answer((st), (reply));						\
	TEST_ASSERT(seen.calls == 1 && seen.status == (want));		\
	TEST_ASSERT(seen.fails_ip == -1 && seen.fails_client == -1 &&	\
	    seen.locked_until == 0);					\
} while (0)
	EXPECT_BAD(STORE_OK, rarr(2, rnum(1), rnum(1)), DB_ERR_REPLY);
	EXPECT_BAD(STORE_OK, rarr(3, rnum(1), rnum(1), rnum(0)),
	    DB_ERR_REPLY);
	EXPECT_BAD(STORE_OK, rarr(4, rnum(1), rstr("1"), rnum(0), rnum(1)),
	    DB_ERR_REPLY);
	EXPECT_BAD(STORE_OK, rarr(4, rnum(1), rnum(1), rnil(), rnum(1)),
	    DB_ERR_REPLY);
	EXPECT_BAD(STORE_OK, rarr(4, rnum(1), rnum(1), rnum(0), rnil()),
	    DB_ERR_REPLY);
	EXPECT_BAD(STORE_OK, rarr(5, rnum(1), rnum(1), rnum(0), rnum(1),
	    rnum(1)), DB_ERR_REPLY);
	EXPECT_BAD(STORE_OK, rnum(1), DB_ERR_REPLY);
	EXPECT_BAD(STORE_OK, rerr("ERR"), DB_ERR_REDIS);
	EXPECT_BAD(STORE_ERR_TIMEOUT, NULL, DB_ERR_TIMEOUT);
	EXPECT_BAD(STORE_ERR_DOWN, NULL, DB_ERR_DOWN);
#undef EXPECT_BAD
	seen_reset();
	fake_reset();
}

/* A revocation script's answer: {written, count}. */
static redisReply *
revoke_reply(long long written, long long count)
{
	return rarr(2, rnum(written), rnum(count));
}

static void
test_db_revoke(void)
{
	struct db_op	 op;
	char		 jti[DB_JTI_MAX + 2], id[CLIENT_ID_MAX + 1];

	fake_reset();
	seen_reset();
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1700000000, 60, 3,
	    on_revocation, NULL) == 0);
	TEST_ASSERT(sent(11, "EVAL", NULL, "3", P "revoked:J1", P "events",
	    P "revocations:c1", "1700000000", "1700000060",
	    "revoke J1 1700000000", "J1", "3"));
	answer(STORE_OK, revoke_reply(1, 1));
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_OK &&
	    !seen.refused && seen.revocations == 1 && fake.waits == 0);

	/* The cap: refused, with the count; nothing more to wait for. */
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J4", 1700000000, 60, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, revoke_reply(0, 3));
	TEST_ASSERT(seen.calls == 2 && seen.status == DB_OK &&
	    seen.refused && seen.revocations == 3);

	/* Answers of another shape. */
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rnum(1));		/* the old script's answer */
	TEST_ASSERT(seen.calls == 3 && seen.status == DB_ERR_REPLY &&
	    strcmp(seen.why, "unexpected revocation reply") == 0);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rarr(1, rnum(1)));
	TEST_ASSERT(seen.calls == 4 && seen.status == DB_ERR_REPLY);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rarr(3, rnum(1), rnum(1), rnum(1)));
	TEST_ASSERT(seen.calls == 5 && seen.status == DB_ERR_REPLY);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rarr(2, rnum(2), rnum(1)));
	TEST_ASSERT(seen.calls == 6 && seen.status == DB_ERR_REPLY);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rarr(2, rnum(1), rnum(-1)));
	TEST_ASSERT(seen.calls == 7 && seen.status == DB_ERR_REPLY);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rarr(2, rstr("1"), rnum(1)));
	TEST_ASSERT(seen.calls == 8 && seen.status == DB_ERR_REPLY);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rarr(2, rnum(1), rnil()));
	TEST_ASSERT(seen.calls == 9 && seen.status == DB_ERR_REPLY);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J1", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rarr(0));
	TEST_ASSERT(seen.calls == 10 && seen.status == DB_ERR_REPLY);

	/* A far exp: kept until the end of year 9999, no overflow. */
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J2", INT64_MAX, 60, 3,
	    on_revocation, NULL) == 0);
	TEST_ASSERT(strcmp(fake.argv[7], "253402300799") == 0);
	TEST_ASSERT(strcmp(fake.argv[6], "9223372036854775807") == 0);
	answer(STORE_OK, rerr("ERR invalid expire time"));
	TEST_ASSERT(seen.calls == 11 && seen.status == DB_ERR_REDIS &&
	    !seen.refused && seen.revocations == 0);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J2", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_ERR_DOWN, NULL);
	TEST_ASSERT(seen.calls == 12 && seen.status == DB_ERR_DOWN);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J2", 1, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_ERR_TIMEOUT, NULL);
	TEST_ASSERT(seen.calls == 13 && seen.status == DB_ERR_TIMEOUT);

	/* Sentinel mode: 200 only once a replica has it. */
	fake.sentinel = true;
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J3", 5, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, revoke_reply(1, 2));
	TEST_ASSERT(seen.calls == 13 && fake.waits == 1 && sent(1, "WAIT"));
	answer(STORE_OK, rnum(1));
	TEST_ASSERT(seen.calls == 14 && seen.status == DB_OK &&
	    !seen.refused && seen.revocations == 2);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J3", 5, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, revoke_reply(1, 2));
	answer(STORE_OK, rnum(0));
	TEST_ASSERT(seen.calls == 15 && seen.status == DB_ERR_REPLICA);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J3", 5, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, revoke_reply(1, 2));
	answer(STORE_ERR_TIMEOUT, NULL);
	TEST_ASSERT(seen.calls == 16 && seen.status == DB_ERR_REPLICA);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J3", 5, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, revoke_reply(1, 2));
	answer(STORE_OK, rerr("NOREPLICAS"));
	TEST_ASSERT(seen.calls == 17 && seen.status == DB_ERR_REPLICA);
	/* The write failed: no WAIT. */
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J3", 5, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, rerr("READONLY You can't write against a replica"));
	TEST_ASSERT(seen.calls == 18 && seen.status == DB_ERR_REDIS &&
	    fake.waits == 4);
	/* Refused: nothing written, nothing to wait for. */
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J5", 5, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, revoke_reply(0, 3));
	TEST_ASSERT(seen.calls == 19 && seen.status == DB_OK &&
	    seen.refused && seen.revocations == 3 && fake.waits == 4);
	/* The WAIT refused: down. */
	fake.refuse_wait = true;
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J3", 5, 0, 3,
	    on_revocation, NULL) == 0);
	answer(STORE_OK, revoke_reply(1, 1));
	TEST_ASSERT(seen.calls == 20 && seen.status == DB_ERR_DOWN);
	fake.sentinel = false;
	fake.refuse_wait = false;

	/* A cap below 1 is refused; 1 is the smallest. */
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J6", 5, 0, 0,
	    on_revocation, NULL) == -1);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J6", 5, 0, -1,
	    on_revocation, NULL) == -1);
	TEST_ASSERT(db_revoke(dummy, &op, P, "c1", "J6", 5, 0, 1,
	    on_revocation, NULL) == 0);
	TEST_ASSERT(strcmp(fake.argv[10], "1") == 0);
	answer(STORE_ERR_DOWN, NULL);

	/* The longest client id and jti: the key and the message fit. */
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	memset(jti, 'j', sizeof(jti) - 1);
	jti[sizeof(jti) - 1] = '\0';
	TEST_ASSERT(db_revoke(dummy, &op, P, id, jti, 5, 0, 3, on_revocation,
	    NULL) == -1);
	jti[DB_JTI_MAX] = '\0';
	TEST_ASSERT(db_revoke(dummy, &op, P, id, jti, 5, 0, 3, on_revocation,
	    NULL) == 0);
	TEST_ASSERT(strlen(fake.argv[8]) == strlen("revoke  5") + DB_JTI_MAX);
	TEST_ASSERT(strlen(fake.argv[5]) ==
	    strlen(P "revocations:") + CLIENT_ID_MAX);
	TEST_ASSERT(strcmp(fake.argv[9], jti) == 0);
	answer(STORE_ERR_DOWN, NULL);
	TEST_ASSERT(seen.calls == 22);
	seen_reset();
	fake_reset();
}

static void
on_jti(const struct db_once *res, void *arg)
{
	(void)arg;
	seen_status(res->status, res->why);
	seen.refused = !res->fresh;
}

/* private_key_jwt: SET P jti:ID/JTI 1 NX EX TTL; OK fresh, nil a replay. */
static void
test_db_jti(void)
{
	struct db_op	 op;
	char		 longjti[DB_ASSERTION_JTI_MAX + 2];
	redisReply	*ok;

	fake_reset();
	seen_reset();
	TEST_ASSERT(db_jti_use(dummy, &op, P, "svc-1", "j/1", 330, on_jti,
	    NULL) == 0);
	TEST_ASSERT(sent(6, "SET", P "jti:svc-1/j/1", "1", "NX", "EX", "330"));
	ok = rstr_len(REDIS_REPLY_STATUS, "OK", 2);
	answer(STORE_OK, ok);
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_OK && !seen.refused);

	seen_reset();
	TEST_ASSERT(db_jti_use(dummy, &op, P, "svc-1", "j", 1, on_jti,
	    NULL) == 0);
	answer(STORE_OK, rnil());
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_OK && seen.refused);

	seen_reset();
	TEST_ASSERT(db_jti_use(dummy, &op, P, "svc-1", "j", 1, on_jti,
	    NULL) == 0);
	answer(STORE_OK, rnum(1));
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_ERR_REPLY);
	seen_reset();
	TEST_ASSERT(db_jti_use(dummy, &op, P, "svc-1", "j", 1, on_jti,
	    NULL) == 0);
	answer(STORE_OK, rerr("ERR x"));
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_ERR_REDIS);
	seen_reset();
	TEST_ASSERT(db_jti_use(dummy, &op, P, "svc-1", "j", 1, on_jti,
	    NULL) == 0);
	answer(STORE_ERR_TIMEOUT, NULL);
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_ERR_TIMEOUT);

	/* refused at once: a jti too long, no ttl */
	memset(longjti, 'x', sizeof(longjti) - 1);
	longjti[sizeof(longjti) - 1] = '\0';
	TEST_ASSERT(db_jti_use(dummy, &op, P, "svc-1", longjti, 1, on_jti,
	    NULL) == -1);
	TEST_ASSERT(db_jti_use(dummy, &op, P, "svc-1", "j", 0, on_jti,
	    NULL) == -1);
	fake_reset();
}

static void
test_db_members(void)
{
	struct db_op	 op;

	fake_reset();
	seen_reset();
	TEST_ASSERT(db_members_get(dummy, &op, P, on_members, NULL) == 0);
	TEST_ASSERT(sent(2, "SMEMBERS", P "clients"));
	answer(STORE_OK, rarr(6, rstr("svc-1"), rstr("bad id"), rnum(5),
	    rstr(""), rnil(), rstr("svc-2")));
	TEST_ASSERT(seen.status == DB_OK && seen.n == 6 && seen.count == 2);
	TEST_ASSERT(strcmp(seen.names[0], "svc-1") == 0 &&
	    strcmp(seen.names[1], "svc-2") == 0);

	seen_reset();
	TEST_ASSERT(db_members_get(dummy, &op, P, on_members, NULL) == 0);
	answer(STORE_OK, rarr(0));
	TEST_ASSERT(seen.status == DB_OK && seen.n == 0 && seen.count == 0);
	seen_reset();
	TEST_ASSERT(db_members_get(dummy, &op, P, on_members, NULL) == 0);
	answer(STORE_OK, rstr("svc-1"));
	TEST_ASSERT(seen.status == DB_ERR_REPLY && seen.count == 0);
	TEST_ASSERT(strcmp(seen.why, "unexpected SMEMBERS reply") == 0);
	seen_reset();
	TEST_ASSERT(db_members_get(dummy, &op, P, on_members, NULL) == 0);
	answer(STORE_OK, rerr("ERR"));
	TEST_ASSERT(seen.status == DB_ERR_REDIS && seen.count == 0);
	seen_reset();
	fake_reset();
}

static void
test_db_revoked_pages(void)
{
	struct db_op	 op;
	const char	*pfx = "t*k[";

	fake_reset();
	seen_reset();
	/* MATCH escapes the prefix's glob characters. */
	TEST_ASSERT(db_revoked_scan(dummy, &op, pfx, "0", on_scan,
	    NULL) == 0);
	TEST_ASSERT(sent(6, "SCAN", "0", "MATCH", "t\\*k\\[revoked:*",
	    "COUNT", "1000"));
	/* Only our keys with a valid jti make the page. */
	seen.get_page = true;
	answer(STORE_OK, rarr(2, rstr("17"), rarr(7, rstr("t*k[revoked:j1"),
	    rstr("other:revoked:j2"), rstr("t*k[revoked:"),
	    rstr("t*k[revoked:bad jti"), rnum(4), rstr("t*k[revokedX:j9"),
	    rstr("t*k[revoked:j3"))));
	TEST_ASSERT(seen.status == DB_OK && strcmp(seen.cursor, "17") == 0);
	TEST_ASSERT(seen.n == 2 && seen.get_rc == 0);
	TEST_ASSERT(sent(3, "MGET", "t*k[revoked:j1", "t*k[revoked:j3"));
	/* j3 expired since: gone from the result. */
	seen_reset();
	answer(STORE_OK, rarr(2, rstr("1700000000"), rnil()));
	TEST_ASSERT(seen.status == DB_OK && seen.n == 1 && seen.count == 1);
	TEST_ASSERT(strcmp(seen.names[0], "j1") == 0 &&
	    seen.values[0] == 1700000000);

	/* Values that are not decimal int64s are left out (logged). */
	seen_reset();
	TEST_ASSERT(db_revoked_scan(dummy, &op, P, "17", on_scan, NULL) == 0);
	seen.get_page = true;
	answer(STORE_OK, rarr(2, rstr("0"), rarr(4, rstr(P "revoked:a"),
	    rstr(P "revoked:b"), rstr(P "revoked:c"), rstr(P "revoked:d"))));
	TEST_ASSERT(seen.n == 4 && strcmp(seen.cursor, "0") == 0);
	seen_reset();
	answer(STORE_OK, rarr(4, rstr("x1"), rstr("99999999999999999999"),
	    rstr("-7"), rstr("")));
	TEST_ASSERT(seen.status == DB_OK && seen.n == 1 && seen.count == 1);
	TEST_ASSERT(strcmp(seen.names[0], "c") == 0 && seen.values[0] == -7);

	/* An MGET answer of another length. */
	seen_reset();
	TEST_ASSERT(db_revoked_scan(dummy, &op, P, "0", on_scan, NULL) == 0);
	seen.get_page = true;
	answer(STORE_OK, rarr(2, rstr("0"), rarr(2, rstr(P "revoked:a"),
	    rstr(P "revoked:b"))));
	seen_reset();
	answer(STORE_OK, rarr(1, rstr("1")));
	TEST_ASSERT(seen.status == DB_ERR_REPLY && seen.n == 0);
	TEST_ASSERT(strcmp(seen.why, "unexpected MGET reply") == 0);
	seen_reset();
	TEST_ASSERT(db_revoked_scan(dummy, &op, P, "0", on_scan, NULL) == 0);
	seen.get_page = true;
	answer(STORE_OK, rarr(2, rstr("0"), rarr(1, rstr(P "revoked:a"))));
	seen_reset();
	answer(STORE_ERR_TIMEOUT, NULL);
	TEST_ASSERT(seen.status == DB_ERR_TIMEOUT && seen.n == 0);

	/* An empty page. */
	seen_reset();
	TEST_ASSERT(db_revoked_scan(dummy, &op, P, "0", on_scan, NULL) == 0);
	answer(STORE_OK, rarr(2, rstr("0"), rarr(0)));
	TEST_ASSERT(seen.status == DB_OK && seen.n == 0);

#define EXPECT_BAD(reply) do {						\
	seen_reset();							\
	TEST_ASSERT(db_revoked_scan(dummy, &op, P, "0", on_scan,	\
	    NULL) == 0);						\
	answer(STORE_OK, (reply));					\
	TEST_ASSERT(seen.calls == 1 && seen.status == DB_ERR_REPLY);	\
	TEST_ASSERT(strcmp(seen.why, "unexpected SCAN reply") == 0);	\
} while (0)
	EXPECT_BAD(rarr(1, rstr("0")));
	EXPECT_BAD(rarr(3, rstr("0"), rarr(0), rarr(0)));
	EXPECT_BAD(rarr(2, rnum(0), rarr(0)));
	EXPECT_BAD(rarr(2, rstr("0"), rstr("k")));
	EXPECT_BAD(rarr(2, rstr("1234567890123456789012345678901"
	    "2"), rarr(0)));
	EXPECT_BAD(rstr("0"));
#undef EXPECT_BAD
	/* The longest cursor that fits. */
	seen_reset();
	TEST_ASSERT(db_revoked_scan(dummy, &op, P, "0", on_scan, NULL) == 0);
	answer(STORE_OK, rarr(2, rstr("1234567890123456789012345678901"),
	    rarr(0)));
	TEST_ASSERT(seen.status == DB_OK &&
	    strcmp(seen.cursor, "1234567890123456789012345678901") == 0);
	seen_reset();
	fake_reset();
}

static void
test_db_locks(void)
{
	struct db_op	 op;
	char		 addr[DB_ADDR_MAX + 2];

	fake_reset();
	seen_reset();
	TEST_ASSERT(db_locks_get(dummy, &op, P, 1700000000123LL, on_locks,
	    NULL) == 0);
	TEST_ASSERT(sent(5, "ZRANGEBYSCORE", P "locked", "(1700000000123",
	    "+inf", "WITHSCORES"));
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	answer(STORE_OK, rarr(18,
	    rstr("10.0.0.1"), rstr("1700000005000"),
	    rstr("bad addr"), rstr("1700000005000"),
	    rstr("10.0.0.2"), rstr("soon"),
	    rstr("10.0.0.3"), rstr("1e300"),
	    rstr("10.0.0.4"), rstr("-5"),
	    rnum(3), rstr("1700000005000"),
	    rstr("10.0.0.5"), rnum(1700000005000LL),
	    rstr(addr), rstr("1700000005000"),
	    rstr("::1"), rstr("1700000006000.5")));
	TEST_ASSERT(seen.status == DB_OK && seen.count == 2);
	TEST_ASSERT(strcmp(seen.names[0], "10.0.0.1") == 0 &&
	    seen.values[0] == 1700000005000LL);
	TEST_ASSERT(strcmp(seen.names[1], "::1") == 0 &&
	    seen.values[1] == 1700000006000LL);

	seen_reset();
	TEST_ASSERT(db_locks_get(dummy, &op, P, 1, on_locks, NULL) == 0);
	answer(STORE_OK, rarr(3, rstr("10.0.0.1"), rstr("5"), rstr("x")));
	TEST_ASSERT(seen.status == DB_ERR_REPLY && seen.count == 0);
	TEST_ASSERT(strcmp(seen.why, "unexpected ZRANGEBYSCORE reply") == 0);
	seen_reset();
	TEST_ASSERT(db_locks_get(dummy, &op, P, 1, on_locks, NULL) == 0);
	answer(STORE_OK, rnum(0));
	TEST_ASSERT(seen.status == DB_ERR_REPLY);
	seen_reset();
	TEST_ASSERT(db_locks_get(dummy, &op, P, 1, on_locks, NULL) == 0);
	answer(STORE_ERR_DOWN, NULL);
	TEST_ASSERT(seen.status == DB_ERR_DOWN && seen.count == 0);
	seen_reset();
	fake_reset();
}

static enum db_event_kind
parse(const char *msg, struct db_event *ev)
{
	return db_event_parse(msg, strlen(msg), ev);
}

static void
test_db_events(void)
{
	struct db_event	 ev;
	char		 msg[400];

	TEST_ASSERT(parse("client svc-1", &ev) == DB_EVENT_CLIENT &&
	    strcmp(ev.name, "svc-1") == 0);
	TEST_ASSERT(parse("revoke j1 1700000000", &ev) == DB_EVENT_REVOKE &&
	    strcmp(ev.name, "j1") == 0 && ev.value == 1700000000);
	TEST_ASSERT(parse("lock 10.0.0.1 1700000000123", &ev) ==
	    DB_EVENT_LOCK && strcmp(ev.name, "10.0.0.1") == 0 &&
	    ev.value == 1700000000123LL);
	TEST_ASSERT(parse("revoke j1 -1", &ev) == DB_EVENT_REVOKE &&
	    ev.value == -1);

	TEST_ASSERT(parse("client ", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("client bad id", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("client", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("revoke j1", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("revoke  1", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("revoke j1 ", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("revoke j1 12x", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("revoke j1 1 2", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("revoke j1 99999999999999999999", &ev) ==
	    DB_EVENT_NONE);
	TEST_ASSERT(parse("revoke j1 +5", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("lock 10.0.0.1", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("lock  5", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("Lock 10.0.0.1 5", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("unlock 10.0.0.1 5", &ev) == DB_EVENT_NONE);
	TEST_ASSERT(parse("", &ev) == DB_EVENT_NONE);
	/* Binary: a NUL cuts nothing short. */
	TEST_ASSERT(db_event_parse("client a\0b", 10, &ev) == DB_EVENT_NONE);

	/* The longest jti and address, and one byte more. */
	snprintf(msg, sizeof(msg), "revoke %0*d 1", DB_JTI_MAX, 0);
	TEST_ASSERT(parse(msg, &ev) == DB_EVENT_REVOKE &&
	    strlen(ev.name) == DB_JTI_MAX);
	snprintf(msg, sizeof(msg), "revoke %0*d 1", DB_JTI_MAX + 1, 0);
	TEST_ASSERT(parse(msg, &ev) == DB_EVENT_NONE);
	snprintf(msg, sizeof(msg), "lock %0*d 1", DB_ADDR_MAX, 0);
	TEST_ASSERT(parse(msg, &ev) == DB_EVENT_LOCK &&
	    strlen(ev.name) == DB_ADDR_MAX);
	snprintf(msg, sizeof(msg), "lock %0*d 1", DB_ADDR_MAX + 1, 0);
	TEST_ASSERT(parse(msg, &ev) == DB_EVENT_NONE);
	snprintf(msg, sizeof(msg), "client %0*d", CLIENT_ID_MAX, 0);
	TEST_ASSERT(parse(msg, &ev) == DB_EVENT_CLIENT &&
	    strlen(ev.name) == CLIENT_ID_MAX);
	snprintf(msg, sizeof(msg), "client %0*d", CLIENT_ID_MAX + 1, 0);
	TEST_ASSERT(parse(msg, &ev) == DB_EVENT_NONE);
}

static void
test_db_values(void)
{
	char	*channel;

	TEST_ASSERT(db_jti_is_valid("a", 1));
	TEST_ASSERT(!db_jti_is_valid("", 0));
	TEST_ASSERT(!db_jti_is_valid("a b", 3));
	TEST_ASSERT(!db_jti_is_valid("a\x7f", 2));
	TEST_ASSERT(!db_jti_is_valid("a\x80", 2));
	TEST_ASSERT(!db_jti_is_valid("a\tb", 3));
	TEST_ASSERT(db_addr_is_valid("::ffff:10.0.0.1", 15));
	TEST_ASSERT(!db_addr_is_valid("10.0.0.1 ", 9));
	channel = db_events_channel(P);
	TEST_ASSERT(strcmp(channel, P "events") == 0);
	free(channel);
}

int
main(void)
{
	/* The decoders log what they drop; keep the output to failures. */
	log_set_level(LOG_LEVEL_ERROR);
	test_run(test_db_refused);
	test_run(test_db_ping);
	test_run(test_db_client_get);
	test_run(test_db_record_shapes);
	test_run(test_db_client_lookup);
	test_run(test_db_authfail);
	test_run(test_db_revoke);
	test_run(test_db_jti);
	test_run(test_db_members);
	test_run(test_db_revoked_pages);
	test_run(test_db_locks);
	test_run(test_db_events);
	test_run(test_db_values);
	fake_reset();
	seen_reset();
	return test_summary();
}

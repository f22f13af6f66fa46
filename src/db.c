/*
 * db: tokend's data in Redis (include/db.h has the key layout and the
 * calling convention). Each command function builds its keys from the
 * prefix, queues its argv on the store with one of the store callbacks
 * below, and that callback turns the reply into the typed result the
 * caller's callback gets.
 *
 * What it leaves to others: when to read or write (the view's re-read,
 * client_auth's and authfail's decisions, the handlers), and what a result
 * means for an answer; the link itself (connect, deadlines, reconnects) is
 * store.c's. It keeps no state of its own.
 *
 * Invariants:
 * - Every store callback here calls the caller's callback exactly once
 *   (the store runs it exactly once), and reads the caller's struct db_op
 *   only before that call: the caller may free or reuse it from inside.
 *   What db allocated for a command (an MGET's jtis, a PING's record) it
 *   frees after that call.
 * - A reply is read only inside the store callback that got it (hiredis
 *   frees it after); results point into it and say so.
 * - Keys are built on the stack when they fit KEY_INLINE bytes (under a
 *   --prefix of at most 64 bytes, every key of a valid client id or
 *   address, and of a jti as long as /oauth/revoke stores, does), else on
 *   the heap, and are freed once the command is queued: hiredis copies the
 *   command at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "client_record.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* Key names below the prefix, and the messages on P events. */
#define KEY_CLIENT		"client:"	/* + id */
#define KEY_CLIENTS		"clients"
#define KEY_REVOKED		"revoked:"	/* + jti */
#define KEY_JTI			"jti:"		/* + id "/" jti */
#define KEY_REVOCATIONS		"revocations:"	/* + client id */
#define KEY_LOCKED		"locked"
#define KEY_AUTHFAIL_IP		"authfail:ip:"	/* + address */
#define KEY_AUTHFAIL_CLIENT	"authfail:client:" /* + id */
#define KEY_EVENTS		"events"
#define KEY_DPOP		"dpop:"		/* + jkt ":" jti */
#define EVENT_CLIENT		"client "	/* + id */
#define EVENT_REVOKE		"revoke "	/* + "JTI EXP" */
#define EVENT_LOCK		"lock "		/* + "ADDR UNTIL" */

#define SCAN_COUNT		"1000"
#define RECORD_MAX_FIELDS	32
#define REVOKE_UNTIL_MAX	253402300799LL	/* 9999-12-31T23:59:59Z */
#define KEY_INLINE		256
#define WHY_MAX			128

_Static_assert(CLIENT_ID_MAX <= DB_JTI_MAX && DB_ADDR_MAX <= DB_JTI_MAX,
    "a db_event's name holds an id, a jti or an address");

/*
 * The lookup while the view is not in sync, with the limit on: KEYS[1]
 * the client record, KEYS[2] the address counter, ARGV[1] the limit.
 * Returns {record, count, pttl}, or {0, count, pttl} without reading the
 * record when count >= limit (pttl: the counter's, < 0 without one).
 */
static const char lookup_script[] =
    "local n = tonumber(redis.call('GET', KEYS[2])) or 0 "
    "local t = redis.call('PTTL', KEYS[2]) "
    "if n >= tonumber(ARGV[1]) then return {0, n, t} end "
    "return {redis.call('HGETALL', KEYS[1]), n, t}";

/*
 * A failure: INCR the address counter (KEYS[1]) and, when there is one
 * (a valid client id), the client counter (KEYS[4]), giving each the
 * window (ARGV[1]) as expiry on its first increment (or if it somehow has
 * none). When the address count has reached the limit (ARGV[2]), the
 * address (ARGV[3]) is locked until its counter expires: added to
 * P locked (KEYS[2], scored by that time in unix ms, after trimming locks
 * that are over; the set expires with its last lock) and announced on
 * P events (KEYS[3]) as "lock ADDR UNTIL" (EVENT_LOCK), for every
 * instance. Returns {ip count, client count or -1, UNTIL or 0, the
 * address counter's PTTL}.
 */
static const char fail_script[] =
    "local function count(k) "
    "local n = redis.call('INCR', k) "
    "if n == 1 or redis.call('TTL', k) < 0 then "
    "redis.call('EXPIRE', k, ARGV[1]) end "
    "return n end "
    "local r = {count(KEYS[1]), -1, 0, 0} "
    "if KEYS[4] then r[2] = count(KEYS[4]) end "
    "local pttl = redis.call('PTTL', KEYS[1]) "
    "r[4] = pttl "
    "if r[1] >= tonumber(ARGV[2]) and pttl > 0 then "
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "r[3] = now + pttl "
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) "
    "redis.call('ZADD', KEYS[2], r[3], ARGV[3]) "
    "if redis.call('PTTL', KEYS[2]) < pttl then "
    "redis.call('PEXPIRE', KEYS[2], pttl) end "
    "redis.call('PUBLISH', KEYS[3], "
    "string.format('lock %s %.0f', ARGV[3], r[3])) end "
    "return r";

/*
 * A revocation, counted against its client's cap. One script, so that the
 * count, the entry and the message go together, and revocations running
 * in parallel (at any instance) are decided one after the other.
 * KEYS[1] P revoked:JTI, KEYS[2] P events, KEYS[3] P revocations:ID;
 * ARGV[1] the token's exp, ARGV[2] UNTIL (unix s: exp + leeway),
 * ARGV[3] "revoke JTI EXP", ARGV[4] the jti, ARGV[5] the cap.
 * First the members of KEYS[3] whose UNTIL has come (Redis's clock, the
 * one that expires P revoked:JTI) are dropped. When the others fill the
 * cap and jti is not one of them: {0, count}, nothing written. Else ZADD
 * jti (its score only ever raised; a jti that is a member already is not
 * counted again: ZADD answers how many it added), move the set's expiry
 * to UNTIL if that is later, SET KEYS[1] to exp expiring at UNTIL,
 * PUBLISH ARGV[3] on KEYS[2]: {1, count with this one}.
 */
static const char revoke_script[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) "
    "local n = redis.call('ZCARD', KEYS[3]) "
    "if n >= tonumber(ARGV[5]) and "
    "not redis.call('ZSCORE', KEYS[3], ARGV[4]) then return {0, n} end "
    "n = n + redis.call('ZADD', KEYS[3], 'GT', ARGV[2], ARGV[4]) "
    "local pttl = redis.call('PTTL', KEYS[3]) "
    "local now_ms = now * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "if pttl < 0 or now_ms + pttl < tonumber(ARGV[2]) * 1000 then "
    "redis.call('EXPIREAT', KEYS[3], ARGV[2]) end "
    "redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2]) "
    "redis.call('PUBLISH', KEYS[2], ARGV[3]) "
    "return {1, n}";

/* ---- keys ---- */

struct key {
	char	*s;
	char	 buf[KEY_INLINE];
};

/* P + name + rest, in k. */
static const char *
key_make(struct key *k, const char *prefix, const char *name,
    const char *rest)
{
	size_t	 pl = strlen(prefix), nl = strlen(name), rl = strlen(rest);

	k->s = pl + nl + rl < sizeof(k->buf) ? k->buf :
	    xmalloc(pl + nl + rl + 1);
	memcpy(k->s, prefix, pl);
	memcpy(k->s + pl, name, nl);
	memcpy(k->s + pl + nl, rest, rl + 1);
	return k->s;
}

/* prefix + name, with prefix's glob characters escaped for MATCH. */
static const char *
key_glob(struct key *k, const char *prefix, const char *name)
{
	size_t	 pl = strlen(prefix), nl = strlen(name), o = 0, i;

	k->s = 2 * pl + nl < sizeof(k->buf) ? k->buf :
	    xmalloc(2 * pl + nl + 1);
	for (i = 0; i < pl; i++) {
		if (strchr("*?[]\\", prefix[i]) != NULL)
			k->s[o++] = '\\';
		k->s[o++] = prefix[i];
	}
	memcpy(k->s + o, name, nl + 1);
	return k->s;
}

static void
key_free(struct key *k)
{
	if (k->s != k->buf)
		free(k->s);
}

/* ---- values ---- */

bool
db_jti_is_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > DB_JTI_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

bool
db_addr_is_valid(const char *s, size_t len)
{
	return len <= DB_ADDR_MAX && db_jti_is_valid(s, len);
}

/* A decimal int64, all of s[0..len). */
static bool
parse_int64(const char *s, size_t len, int64_t *out)
{
	char		 buf[24], *end;
	long long	 v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9'))
		return false;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* ---- answers ---- */

/*
 * How the store says a command ended, as a db_status and, unless DB_OK,
 * why (in buf for a Redis error). A non-error reply is DB_OK here; its
 * shape is each caller's to check.
 */
static enum db_status
answer_status(enum store_status st, const redisReply *r, char *buf,
    size_t len, const char **why)
{
	*why = NULL;
	if (st == STORE_ERR_TIMEOUT) {
		*why = "command timed out";
		return DB_ERR_TIMEOUT;
	}
	if (st != STORE_OK || r == NULL) {
		*why = "store unreachable";
		return DB_ERR_DOWN;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(buf, len, "redis error: %.*s",
		    r->len > 100 ? 100 : (int)r->len, r->str != NULL ?
		    r->str : "");
		*why = buf;
		return DB_ERR_REDIS;
	}
	return DB_OK;
}

static bool
is_type(const redisReply *r, int type)
{
	return r != NULL && r->type == type;
}

/* ---- PING ---- */

struct ping {
	db_status_cb	 cb;
	void		*arg;
};

static void
ping_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct ping	 p = *(struct ping *)arg;
	char		 buf[WHY_MAX];
	const char	*why;

	free(arg);
	p.cb(answer_status(st, r, buf, sizeof(buf), &why), p.arg);
}

int
db_ping(struct store *s, db_status_cb cb, void *arg)
{
	static const char	*argv[] = { "PING" };
	struct ping		*p = xmalloc(sizeof(*p));

	p->cb = cb;
	p->arg = arg;
	if (store_command_argv(s, ping_answer, p, 1, argv, NULL) == -1) {
		free(p);
		return -1;
	}
	return 0;
}

/* ---- client records ---- */

static void
record_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op		*op = arg;
	struct db_record	 res;
	char			 buf[WHY_MAX];

	memset(&res, 0, sizeof(res));
	res.id = op->id;
	if ((res.status = answer_status(st, r, buf, sizeof(buf),
	    &res.why)) == DB_OK)
		res.reply = r;
	op->cb.record(&res, op->arg);
}

int
db_client_get(struct store *s, struct db_op *op, const char *prefix,
    const char *id, db_record_cb cb, void *arg)
{
	struct key	 key;
	const char	*argv[2];
	int		 rc;

	op->cb.record = cb;
	op->arg = arg;
	op->id = id;
	argv[0] = "HGETALL";
	argv[1] = key_make(&key, prefix, KEY_CLIENT, id);
	rc = store_command_argv(s, record_answer, op, 2, argv, NULL);
	key_free(&key);
	return rc;
}

static void
lookup_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op		*op = arg;
	struct db_record	 res;
	char			 buf[WHY_MAX];

	memset(&res, 0, sizeof(res));
	res.id = op->id;
	res.status = answer_status(st, r, buf, sizeof(buf), &res.why);
	if (res.status != DB_OK)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0] == NULL ||
	    !is_type(r->element[1], REDIS_REPLY_INTEGER) ||
	    !is_type(r->element[2], REDIS_REPLY_INTEGER)) {
		res.status = DB_ERR_REPLY;
		res.why = "unexpected lookup reply";
		goto out;
	}
	res.fails_ip = r->element[1]->integer;
	res.window_ms = r->element[2]->integer;
	if (r->element[0]->type == REDIS_REPLY_INTEGER)
		res.locked = true;	/* over the limit: no record read */
	else
		res.reply = r->element[0];
out:
	op->cb.record(&res, op->arg);
}

int
db_client_lookup(struct store *s, struct db_op *op, const char *prefix,
    const char *id, const char *addr, int limit, db_record_cb cb, void *arg)
{
	struct key	 key, ipkey;
	const char	*argv[6];
	char		 lim[16];
	int		 rc;

	op->cb.record = cb;
	op->arg = arg;
	op->id = id;
	snprintf(lim, sizeof(lim), "%d", limit);
	argv[0] = "EVAL";
	argv[1] = lookup_script;
	argv[2] = "2";
	argv[3] = key_make(&key, prefix, KEY_CLIENT, id);
	argv[4] = key_make(&ipkey, prefix, KEY_AUTHFAIL_IP, addr);
	argv[5] = lim;
	rc = store_command_argv(s, lookup_answer, op, 6, argv, NULL);
	key_free(&key);
	key_free(&ipkey);
	return rc;
}

/*
 * Split an HGETALL reply into at most max field/value pairs. Returns the
 * number of pairs (0 for a missing key), or SIZE_MAX when the reply is not
 * an array of string pairs or has more than max.
 */
static size_t
reply_pairs(const redisReply *r, const char **fields, size_t *flens,
    const char **values, size_t *vlens, size_t max)
{
	size_t	 i, n;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
		return SIZE_MAX;
	n = r->elements / 2;
	if (n > max)
		return SIZE_MAX;
	for (i = 0; i < n; i++) {
		const redisReply	*f = r->element[2 * i];
		const redisReply	*v = r->element[2 * i + 1];

		if (!is_type(f, REDIS_REPLY_STRING) ||
		    !is_type(v, REDIS_REPLY_STRING))
			return SIZE_MAX;
		fields[i] = f->str;
		flens[i] = f->len;
		values[i] = v->str;
		vlens[i] = v->len;
	}
	return n;
}

struct client_record *
db_record_decode(const struct db_record *res)
{
	const char		*fields[RECORD_MAX_FIELDS];
	const char		*values[RECORD_MAX_FIELDS];
	size_t			 flens[RECORD_MAX_FIELDS];
	size_t			 vlens[RECORD_MAX_FIELDS];
	struct client_record	*rec = NULL;
	char			 err[128];
	size_t			 n;

	if (res->status != DB_OK || res->reply == NULL)
		return NULL;
	n = reply_pairs(res->reply, fields, flens, values, vlens,
	    RECORD_MAX_FIELDS);
	if (n == 0)
		return NULL;
	if (n == SIZE_MAX) {
		log_warnx("event=client_record_invalid client_id=%.150s "
		    "err=\"unexpected reply\"", res->id);
		return NULL;
	}
	if (client_record_decode(res->id, n, fields, flens, values, vlens,
	    &rec, err, sizeof(err)) != 0) {
		log_warnx("event=client_record_invalid client_id=%.150s "
		    "err=%s", res->id, err);
		return NULL;
	}
	return rec;
}

/* ---- failed authentications ---- */

static void
authfail_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op		*op = arg;
	struct db_authfail	 res;
	char			 buf[WHY_MAX];

	memset(&res, 0, sizeof(res));
	res.fails_ip = res.fails_client = -1;
	res.status = answer_status(st, r, buf, sizeof(buf), &res.why);
	if (res.status != DB_OK)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
	    !is_type(r->element[0], REDIS_REPLY_INTEGER) ||
	    !is_type(r->element[1], REDIS_REPLY_INTEGER) ||
	    !is_type(r->element[2], REDIS_REPLY_INTEGER) ||
	    !is_type(r->element[3], REDIS_REPLY_INTEGER)) {
		res.status = DB_ERR_REPLY;
		res.why = "unexpected failure count reply";
		goto out;
	}
	res.fails_ip = r->element[0]->integer;
	res.fails_client = r->element[1]->integer < 0 ? -1 :
	    r->element[1]->integer;
	if (r->element[2]->integer > 0)
		res.locked_until = r->element[2]->integer;
	res.window_ms = r->element[3]->integer;
out:
	op->cb.authfail(&res, op->arg);
}

int
db_authfail_count(struct store *s, struct db_op *op, const char *prefix,
    const char *addr, const char *client_id, int window_s, int limit,
    db_authfail_cb cb, void *arg)
{
	struct key	 ipkey, clkey, lockkey, chan;
	const char	*argv[11];
	char		 window[16], lim[16];
	/* No counter for what no client can be called: the attacker's
	   string would become a key (client_record.h has the one rule). */
	bool		 by_client = client_id != NULL &&
			    client_record_is_valid_id(client_id,
			    strlen(client_id));
	int		 rc;

	op->cb.authfail = cb;
	op->arg = arg;
	snprintf(window, sizeof(window), "%d", window_s);
	snprintf(lim, sizeof(lim), "%d", limit);
	argv[0] = "EVAL";
	argv[1] = fail_script;
	argv[2] = by_client ? "4" : "3";
	argv[3] = key_make(&ipkey, prefix, KEY_AUTHFAIL_IP, addr);
	argv[4] = key_make(&lockkey, prefix, KEY_LOCKED, "");
	argv[5] = key_make(&chan, prefix, KEY_EVENTS, "");
	argv[6] = key_make(&clkey, prefix, KEY_AUTHFAIL_CLIENT,
	    by_client ? client_id : "");
	argv[by_client ? 7 : 6] = window;
	argv[by_client ? 8 : 7] = lim;
	argv[by_client ? 9 : 8] = addr;
	rc = store_command_argv(s, authfail_answer, op, by_client ? 10 : 9,
	    argv, NULL);
	key_free(&ipkey);
	key_free(&clkey);
	key_free(&lockkey);
	key_free(&chan);
	return rc;
}

/* ---- revocations ---- */

/* The end of a revocation: its result, count and refusal from op. */
static void
revoke_end(struct db_op *op, enum db_status status, const char *why)
{
	struct db_revocation	 res;

	memset(&res, 0, sizeof(res));
	res.status = status;
	res.why = why;
	if (status == DB_OK) {
		res.refused = op->refused;
		res.count = (long long)op->n;
	}
	op->cb.revocation(&res, op->arg);
}

/* Sentinel mode: the answer to WAIT 1 after the revocation. */
static void
revoke_replicated(enum store_status st, const struct redisReply *r,
    void *arg)
{
	struct db_op	*op = arg;
	bool		 ok;

	ok = st == STORE_OK && is_type(r, REDIS_REPLY_INTEGER) &&
	    r->integer >= 1;
	revoke_end(op, ok ? DB_OK : DB_ERR_REPLICA, ok ? NULL :
	    "no replica acknowledged the write");
}

static void
revoke_written(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op	*op = arg;
	enum db_status	 status;
	char		 buf[WHY_MAX];
	const char	*why;

	status = answer_status(st, r, buf, sizeof(buf), &why);
	if (status != DB_OK)
		goto out;
	/* {1, count}: written; {0, count}: the cap, nothing written. */
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !is_type(r->element[0], REDIS_REPLY_INTEGER) ||
	    !is_type(r->element[1], REDIS_REPLY_INTEGER) ||
	    (r->element[0]->integer != 0 && r->element[0]->integer != 1) ||
	    r->element[1]->integer < 0) {
		status = DB_ERR_REPLY;
		why = "unexpected revocation reply";
		goto out;
	}
	op->refused = r->element[0]->integer == 0;
	op->n = (size_t)r->element[1]->integer;
	if (!op->refused && store_is_sentinel(op->store)) {
		/*
		 * Unless a replica has it, a failover could lose it. WAIT
		 * answers for the link's earlier writes, this one included.
		 */
		if (store_wait_replica(op->store, revoke_replicated, op) == 0)
			return;
		status = DB_ERR_DOWN;
		why = "store unreachable";
	}
out:
	revoke_end(op, status, why);
}

int
db_revoke(struct store *s, struct db_op *op, const char *prefix,
    const char *client_id, const char *jti, int64_t exp, int leeway,
    int max, db_revocation_cb cb, void *arg)
{
	struct key	 key, chan, count;
	const char	*argv[11];
	char		 exps[32], until[32], maxs[16];
	char		 msg[sizeof(EVENT_REVOKE) + DB_JTI_MAX + 32];
	int		 rc;

	if (strlen(jti) > DB_JTI_MAX || max < 1)
		return -1;
	op->cb.revocation = cb;
	op->arg = arg;
	op->store = s;
	op->refused = false;
	op->n = 0;
	snprintf(exps, sizeof(exps), "%lld", (long long)exp);
	snprintf(until, sizeof(until), "%lld", exp > REVOKE_UNTIL_MAX - leeway ?
	    (long long)REVOKE_UNTIL_MAX : (long long)exp + leeway);
	snprintf(maxs, sizeof(maxs), "%d", max);
	snprintf(msg, sizeof(msg), EVENT_REVOKE "%s %s", jti, exps);
	argv[0] = "EVAL";
	argv[1] = revoke_script;
	argv[2] = "3";
	argv[3] = key_make(&key, prefix, KEY_REVOKED, jti);
	argv[4] = key_make(&chan, prefix, KEY_EVENTS, "");
	argv[5] = key_make(&count, prefix, KEY_REVOCATIONS, client_id);
	argv[6] = exps;
	argv[7] = until;
	argv[8] = msg;
	argv[9] = jti;
	argv[10] = maxs;
	rc = store_command_argv(s, revoke_written, op, 11, argv, NULL);
	key_free(&key);
	key_free(&chan);
	key_free(&count);
	return rc;
}

/* ---- single use: assertion and DPoP proof jtis ---- */

/* SET NX: +OK when set (the first use), a nil reply when the key was there */
static void
once_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op	*op = arg;
	struct db_once	 res;
	char		 buf[WHY_MAX];

	memset(&res, 0, sizeof(res));
	res.status = answer_status(st, r, buf, sizeof(buf), &res.why);
	if (res.status == DB_OK) {
		if (is_type(r, REDIS_REPLY_STATUS) && r->len == 2 &&
		    memcmp(r->str, "OK", 2) == 0)
			res.fresh = true;
		else if (!is_type(r, REDIS_REPLY_NIL)) {
			res.status = DB_ERR_REPLY;
			res.why = "unexpected answer to SET NX";
		}
	}
	op->cb.once(&res, op->arg);
}

/* SET P KIND REST 1 NX EX ttl_s, answered by once_answer() */
static int
set_once(struct store *s, struct db_op *op, const char *prefix,
    const char *kind, const char *rest, int64_t ttl_s, db_once_cb cb,
    void *arg)
{
	struct key	 key;
	const char	*argv[6];
	char		 ttl[32];
	int		 rc;

	op->cb.once = cb;
	op->arg = arg;
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
	argv[0] = "SET";
	argv[1] = key_make(&key, prefix, kind, rest);
	argv[2] = "1";
	argv[3] = "NX";
	argv[4] = "EX";
	argv[5] = ttl;
	rc = store_command_argv(s, once_answer, op, 6, argv, NULL);
	key_free(&key);
	return rc;
}

int
db_jti_use(struct store *s, struct db_op *op, const char *prefix,
    const char *client_id, const char *jti, int64_t ttl_s, db_once_cb cb,
    void *arg)
{
	char		 rest[DB_ASSERTION_ID_MAX + 1 + DB_ASSERTION_JTI_MAX + 1];
	size_t		 il = strlen(client_id), jl = strlen(jti);

	if (il > DB_ASSERTION_ID_MAX || jl > DB_ASSERTION_JTI_MAX ||
	    ttl_s <= 0)
		return -1;
	memcpy(rest, client_id, il);
	rest[il] = '/';
	memcpy(rest + il + 1, jti, jl + 1);
	return set_once(s, op, prefix, KEY_JTI, rest, ttl_s, cb, arg);
}

int
db_dpop_jti_use(struct store *s, struct db_op *op, const char *prefix,
    const char *jkt, const char *jti, int ttl_s, db_once_cb cb, void *arg)
{
	char		 rest[64 + DB_JTI_MAX + 2];

	if (jti[0] == '\0' || strlen(jti) > DB_JTI_MAX || strlen(jkt) > 64 ||
	    ttl_s < 1)
		return -1;
	snprintf(rest, sizeof(rest), "%s:%s", jkt, jti);
	return set_once(s, op, prefix, KEY_DPOP, rest, ttl_s, cb, arg);
}

/* ---- the view's full re-read ---- */

static void
members_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op		*op = arg;
	struct db_members	 res;
	char			 buf[WHY_MAX];

	memset(&res, 0, sizeof(res));
	res.status = answer_status(st, r, buf, sizeof(buf), &res.why);
	if (res.status == DB_OK && r->type != REDIS_REPLY_ARRAY) {
		res.status = DB_ERR_REPLY;
		res.why = "unexpected SMEMBERS reply";
	} else if (res.status == DB_OK) {
		res.n = r->elements;
		res.reply = r;
	}
	op->cb.members(&res, op->arg);
}

int
db_members_get(struct store *s, struct db_op *op, const char *prefix,
    db_members_cb cb, void *arg)
{
	struct key	 key;
	const char	*argv[2];
	int		 rc;

	op->cb.members = cb;
	op->arg = arg;
	argv[0] = "SMEMBERS";
	argv[1] = key_make(&key, prefix, KEY_CLIENTS, "");
	rc = store_command_argv(s, members_answer, op, 2, argv, NULL);
	key_free(&key);
	return rc;
}

bool
db_members_next(const struct db_members *res, size_t *pos, const char **id,
    size_t *len)
{
	const redisReply	*r = res->reply;

	if (res->status != DB_OK || r == NULL)
		return false;
	while (*pos < r->elements) {
		const redisReply	*e = r->element[(*pos)++];

		/* An id no client could have names no client. */
		if (is_type(e, REDIS_REPLY_STRING) &&
		    client_record_is_valid_id(e->str, e->len)) {
			*id = e->str;
			*len = e->len;
			return true;
		}
	}
	return false;
}

/* The jti of k when it is P revoked:JTI (MATCH is a glob), else NULL. */
static const char *
revoked_jti(const redisReply *k, const char *prefix, size_t pl,
    size_t *jlen)
{
	const size_t	 rl = sizeof(KEY_REVOKED) - 1;

	if (!is_type(k, REDIS_REPLY_STRING) || k->len <= pl + rl ||
	    memcmp(k->str, prefix, pl) != 0 ||
	    memcmp(k->str + pl, KEY_REVOKED, rl) != 0 ||
	    !db_jti_is_valid(k->str + pl + rl, k->len - pl - rl))
		return NULL;
	*jlen = k->len - pl - rl;
	return k->str + pl + rl;
}

static void
scan_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op		*op = arg;
	struct db_scan		 res;
	const redisReply	*keys;
	char			 buf[WHY_MAX];
	size_t			 i, pl, jlen;

	memset(&res, 0, sizeof(res));
	res.status = answer_status(st, r, buf, sizeof(buf), &res.why);
	if (res.status != DB_OK)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !is_type(r->element[0], REDIS_REPLY_STRING) ||
	    r->element[0]->len >= sizeof(res.cursor) ||
	    !is_type(r->element[1], REDIS_REPLY_ARRAY)) {
		res.status = DB_ERR_REPLY;
		res.why = "unexpected SCAN reply";
		goto out;
	}
	memcpy(res.cursor, r->element[0]->str, r->element[0]->len);
	res.cursor[r->element[0]->len] = '\0';
	keys = r->element[1];
	pl = strlen(op->prefix);
	for (i = 0; i < keys->elements; i++)
		if (revoked_jti(keys->element[i], op->prefix, pl, &jlen) !=
		    NULL)
			res.n++;
	res.reply = keys;
	res.prefix = op->prefix;
out:
	op->cb.scan(&res, op->arg);
}

int
db_revoked_scan(struct store *s, struct db_op *op, const char *prefix,
    const char *cursor, db_scan_cb cb, void *arg)
{
	struct key	 match;
	const char	*argv[6];
	int		 rc;

	op->cb.scan = cb;
	op->arg = arg;
	op->prefix = prefix;
	argv[0] = "SCAN";
	argv[1] = cursor;
	argv[2] = "MATCH";
	argv[3] = key_glob(&match, prefix, KEY_REVOKED "*");
	argv[4] = "COUNT";
	argv[5] = SCAN_COUNT;
	rc = store_command_argv(s, scan_answer, op, 6, argv, NULL);
	key_free(&match);
	return rc;
}

static void
revoked_free(char **jtis, int64_t *exps, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(jtis[i]);
	free(jtis);
	free(exps);
}

static void
revoked_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op		*op = arg;
	char			**jtis = op->jtis, *t;
	int64_t			*exps = op->exps;
	size_t			 n = op->n, i;
	struct db_revoked	 res;
	char			 buf[WHY_MAX];

	memset(&res, 0, sizeof(res));
	res.status = answer_status(st, r, buf, sizeof(buf), &res.why);
	if (res.status == DB_OK && (r->type != REDIS_REPLY_ARRAY ||
	    r->elements != n)) {
		res.status = DB_ERR_REPLY;
		res.why = "unexpected MGET reply";
	}
	for (i = 0; res.status == DB_OK && i < n; i++) {
		const redisReply	*e = r->element[i];

		/* Gone since the SCAN (expired): nothing to keep. */
		if (!is_type(e, REDIS_REPLY_STRING))
			continue;
		if (!parse_int64(e->str, e->len, &exps[res.n])) {
			log_warnx("event=revocation_invalid jti=%.64s",
			    jtis[i]);
			continue;
		}
		/* Keep the good ones first; all are freed below. */
		t = jtis[res.n];
		jtis[res.n] = jtis[i];
		jtis[i] = t;
		res.n++;
	}
	res.jtis = (const char *const *)jtis;
	res.exps = exps;
	op->cb.revoked(&res, op->arg);
	revoked_free(jtis, exps, n);
}

int
db_revoked_get(struct store *s, struct db_op *op, const struct db_scan *page,
    db_revoked_cb cb, void *arg)
{
	const redisReply	*keys = page->reply;
	const char		**argv, *jti;
	size_t			 pl = strlen(page->prefix), i, n = 0, jlen;
	int			 rc;

	op->cb.revoked = cb;
	op->arg = arg;
	op->jtis = xcalloc(page->n + 1, sizeof(*op->jtis));
	op->exps = xcalloc(page->n + 1, sizeof(*op->exps));
	argv = xcalloc(page->n + 1, sizeof(*argv));
	argv[0] = "MGET";
	for (i = 0; i < keys->elements && n < page->n; i++) {
		if ((jti = revoked_jti(keys->element[i], page->prefix, pl,
		    &jlen)) == NULL)
			continue;
		/* hiredis copies the command at once: argv may point here. */
		argv[1 + n] = keys->element[i]->str;
		op->jtis[n++] = xstrndup(jti, jlen);
	}
	op->n = n;
	rc = store_command_argv(s, revoked_answer, op, 1 + (int)n, argv, NULL);
	free(argv);
	if (rc == -1)
		revoked_free(op->jtis, op->exps, n);
	return rc;
}

static void
locks_answer(enum store_status st, const struct redisReply *r, void *arg)
{
	struct db_op	*op = arg;
	struct db_locks	 res;
	char		 buf[WHY_MAX];

	memset(&res, 0, sizeof(res));
	res.status = answer_status(st, r, buf, sizeof(buf), &res.why);
	if (res.status == DB_OK && (r->type != REDIS_REPLY_ARRAY ||
	    r->elements % 2 != 0)) {
		res.status = DB_ERR_REPLY;
		res.why = "unexpected ZRANGEBYSCORE reply";
	} else if (res.status == DB_OK)
		res.reply = r;
	op->cb.locks(&res, op->arg);
}

int
db_locks_get(struct store *s, struct db_op *op, const char *prefix,
    int64_t now_ms, db_locks_cb cb, void *arg)
{
	struct key	 key;
	const char	*argv[5];
	char		 min[32];
	int		 rc;

	op->cb.locks = cb;
	op->arg = arg;
	snprintf(min, sizeof(min), "(%" PRId64, now_ms);
	argv[0] = "ZRANGEBYSCORE";
	argv[1] = key_make(&key, prefix, KEY_LOCKED, "");
	argv[2] = min;
	argv[3] = "+inf";
	argv[4] = "WITHSCORES";
	rc = store_command_argv(s, locks_answer, op, 5, argv, NULL);
	key_free(&key);
	return rc;
}

/* WITHSCORES: member, score, member, score, ... */
bool
db_locks_next(const struct db_locks *res, size_t *pos,
    char addr[DB_ADDR_MAX + 1], int64_t *until_ms)
{
	const redisReply	*r = res->reply;

	if (res->status != DB_OK || r == NULL)
		return false;
	while (*pos + 1 < r->elements) {
		const redisReply	*m = r->element[*pos];
		const redisReply	*sc = r->element[*pos + 1];
		char			 buf[32], *end;
		double			 d;

		*pos += 2;
		if (!is_type(m, REDIS_REPLY_STRING) ||
		    !is_type(sc, REDIS_REPLY_STRING) ||
		    !db_addr_is_valid(m->str, m->len) ||
		    sc->len >= sizeof(buf))
			continue;
		memcpy(buf, sc->str, sc->len);
		buf[sc->len] = '\0';
		d = strtod(buf, &end);
		if (*end != '\0' || !(d > 0 && d < 9e15))
			continue;
		memcpy(addr, m->str, m->len);
		addr[m->len] = '\0';
		*until_ms = (int64_t)d;
		return true;
	}
	return false;
}

/* ---- P events ---- */

/* "NAME NUMBER" in s[0..len), NAME valid by ok(): into ev. */
static bool
name_number(const char *s, size_t len, bool (*ok)(const char *, size_t),
    struct db_event *ev)
{
	const char	*sp = memchr(s, ' ', len);
	size_t		 nlen;

	if (sp == NULL || (nlen = (size_t)(sp - s)) == 0 || !ok(s, nlen) ||
	    !parse_int64(sp + 1, len - nlen - 1, &ev->value))
		return false;
	memcpy(ev->name, s, nlen);
	ev->name[nlen] = '\0';
	return true;
}

enum db_event_kind
db_event_parse(const char *msg, size_t len, struct db_event *ev)
{
	const size_t	 clen = sizeof(EVENT_CLIENT) - 1;
	const size_t	 rlen = sizeof(EVENT_REVOKE) - 1;
	const size_t	 llen = sizeof(EVENT_LOCK) - 1;

	ev->kind = DB_EVENT_NONE;
	if (len > clen && memcmp(msg, EVENT_CLIENT, clen) == 0) {
		if (client_record_is_valid_id(msg + clen, len - clen)) {
			memcpy(ev->name, msg + clen, len - clen);
			ev->name[len - clen] = '\0';
			ev->kind = DB_EVENT_CLIENT;
		}
	} else if (len > rlen && memcmp(msg, EVENT_REVOKE, rlen) == 0) {
		if (name_number(msg + rlen, len - rlen, db_jti_is_valid, ev))
			ev->kind = DB_EVENT_REVOKE;
	} else if (len > llen && memcmp(msg, EVENT_LOCK, llen) == 0) {
		if (name_number(msg + llen, len - llen, db_addr_is_valid, ev))
			ev->kind = DB_EVENT_LOCK;
	}
	return ev->kind;
}

char *
db_events_channel(const char *prefix)
{
	struct key	 k;
	char		*s;

	key_make(&k, prefix, KEY_EVENTS, "");
	s = xstrdup(k.s);
	key_free(&k);
	return s;
}

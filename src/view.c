/*
 * view: the worker's in-memory copy of the client records and revocations
 * (see include/view.h for what it promises). It reads Redis only through
 * the store module: the worker's command store for reads, and a
 * subscriber store of its own for P events. It leaves writing (revoking,
 * publishing) to the handlers and knows nothing of HTTP.
 *
 * Full re-read ("sync"). Started whenever the subscriber comes up, so
 * that nothing published before the subscription can be missed: SMEMBERS
 * P clients; HGETALL each member, SYNC_WINDOW at a time (each command
 * has its own deadline, so a burst of thousands could outrun it); then
 * SCAN P revoked:* COUNT 1000 with one MGET per batch until the cursor is
 * 0; then ZRANGEBYSCORE P locked (now +inf WITHSCORES for the locked
 * addresses. All of it goes into new maps, swapped in at the end. Any failure
 * abandons the sync and retries it after a backoff (sooner when the
 * command store comes back up).
 *
 * Messages during a sync are applied to both the live maps and the sync's
 * new ones. Re-reads of a record ("client ID") and the sync's reads all
 * go through the one command link, so their replies come back in the
 * order Redis executed them, and applying them in arrival order leaves
 * the newest read in place.
 *
 * Invariants:
 * - v->trusted (view_in_sync()): a sync completed since the subscriber
 *   last came up, and no re-read has failed since. v->lost_at is when it
 *   last became false (0 while true or before the first sync).
 * - Every command in flight has a struct op in v->ops. Sync ops carry the
 *   generation they belong to; v->gen changes whenever a sync starts or is
 *   abandoned, so the replies of an abandoned one are dropped. view_free()
 *   orphans the ops (op->v = NULL); their callbacks then only free them,
 *   whenever the command store runs them.
 * - The view never closes or frees the command store, and calls into the
 *   subscriber only from view_new / view_close / view_free.
 */
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "client_record.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "strmap.h"
#include "util.h"
#include "view.h"

#define SYNC_WINDOW		64	/* HGETALLs in flight during a sync */
#define SCAN_COUNT		"1000"
#define RETRY_MIN_MS		100
#define RETRY_MAX_MS		2000
#define PRUNE_INTERVAL_S	30
#define RECORD_MAX_FIELDS	32

enum op_kind {
	OP_MEMBERS,		/* sync: SMEMBERS P clients */
	OP_RECORD,		/* sync: HGETALL P client:ID */
	OP_SCAN,		/* sync: SCAN cursor MATCH P revoked:* */
	OP_MGET,		/* sync: MGET of one SCAN batch */
	OP_LOCKS,		/* sync: ZRANGEBYSCORE P locked */
	OP_REFRESH,		/* "client ID": HGETALL P client:ID */
};

/* One command in flight on the command store. */
struct op {
	struct view		*v;		/* NULL: the view is gone */
	LIST_ENTRY(op)		 entry;
	enum op_kind		 kind;
	uint64_t		 gen;		/* sync ops */
	char			*id;		/* OP_RECORD, OP_REFRESH */
	char		       **jtis;		/* OP_MGET */
	size_t			 njtis;
};

struct sync {
	uint64_t		 t0;		/* now_usec() at start */
	struct strmap		*clients;
	struct strmap		*revoked;
	struct strmap		*locked;
	char		       **ids;		/* SMEMBERS */
	size_t			 nids;
	size_t			 next_id;	/* next HGETALL to send */
	int			 inflight;	/* HGETALLs out */
	char			 cursor[32];	/* SCAN */
};

struct view {
	struct event_base	*base;
	const struct config	*cfg;
	struct store		*cmd;		/* borrowed */
	struct store		*sub;		/* ours */
	char			*client_prefix;	/* P client: */
	char			*clients_key;	/* P clients */
	char			*revoked_key;	/* P revoked: */
	size_t			 revoked_plen;	/* its length */
	char			*revoked_match;	/* the same as a glob, + "*" */
	char			*locked_key;	/* P locked */

	struct strmap		*clients;	/* id -> client_record */
	struct strmap		*revoked;	/* jti -> int64_t exp */
	struct strmap		*locked;	/* addr -> int64_t until, ms */
	struct view_lock_share	*share;		/* borrowed, or NULL */
	uint64_t		 share_seen;	/* its epoch last looked at */

	bool			 trusted;
	bool			 ever_synced;
	bool			 closed;
	time_t			 lost_at;

	struct sync		*sync;		/* in progress, or NULL */
	uint64_t		 gen;
	struct event		*retry_ev;	/* next sync attempt */
	int			 retry_ms;
	struct event		*prune_ev;

	LIST_HEAD(, op)		 ops;

	int64_t			 last_sync;
	uint64_t		 syncs;
	struct metrics_shard	*metrics;	/* the worker's, or NULL */
};

/*
 * Process-wide: a view problem (lost trust, failed sync) is logged at
 * warn once until some view syncs again, not once per worker or retry.
 */
static _Atomic bool	 problem_reported;

static void	 sync_start(struct view *);

/* Tell the worker's metrics what the view holds now. */
static void
publish(const struct view *v)
{
	metrics_view(v->metrics, strmap_count(v->clients),
	    strmap_count(v->revoked), v->last_sync, v->trusted);
}

static char *
concat(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);
	char	*s = xmalloc(la + lb + 1);

	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* prefix + suffix, with prefix's glob characters escaped for MATCH. */
static char *
glob_escaped(const char *prefix, const char *suffix)
{
	size_t	 lp = strlen(prefix), ls = strlen(suffix), o = 0, i;
	char	*s = xmalloc(2 * lp + ls + 1);

	for (i = 0; i < lp; i++) {
		if (strchr("*?[]\\", prefix[i]) != NULL)
			s[o++] = '\\';
		s[o++] = prefix[i];
	}
	memcpy(s + o, suffix, ls + 1);
	return s;
}

static void
report_problem(const char *event, const char *what)
{
	if (!atomic_exchange(&problem_reported, true))
		log_warnx("event=%s reason=%.150s", event, what);
	else
		log_debug("event=%s reason=%.150s", event, what);
}

/* ---- the maps ---- */

static void
record_free(void *p)
{
	client_record_free(p);
}

/* Set or replace id's record in m (taking rec), or remove it (rec NULL). */
static void
clients_set(struct strmap *m, const char *id, struct client_record *rec)
{
	if (rec != NULL)
		client_record_free(strmap_put(m, id, rec, NULL));
	else
		client_record_free(strmap_remove(m, id));
}

static bool
revocation_matters(const struct view *v, int64_t exp, time_t now)
{
	return exp >= (int64_t)now - v->cfg->leeway;
}

static void
revoked_add(const struct view *v, struct strmap *m, const char *jti,
    int64_t exp, time_t now)
{
	int64_t	*box;

	if (!revocation_matters(v, exp, now))
		return;
	if ((box = strmap_get(m, jti)) != NULL) {
		if (exp > *box)
			*box = exp;
		return;
	}
	box = xmalloc(sizeof(*box));
	*box = exp;
	strmap_put(m, jti, box, NULL);
}

static bool
valid_jti(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > VIEW_JTI_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

int64_t
view_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A source address as client_auth keys it: printable, no blank. */
static bool
valid_addr(const char *s, size_t len)
{
	return len <= VIEW_ADDR_MAX && valid_jti(s, len);
}

static void	lock_add(struct view *, const char *, int64_t, bool);

/*
 * Lock addr until until_ms in m, or extend its lock; never shorten. An end
 * further than VIEW_LOCK_MAX_MS away (no counter lives that long: a bogus
 * message, a corrupt P locked) is cut to that.
 */
static void
locked_add(struct strmap *m, const char *addr, int64_t until_ms,
    int64_t now_ms)
{
	int64_t	*box;

	if (until_ms <= now_ms)
		return;
	if (until_ms - now_ms > VIEW_LOCK_MAX_MS)
		until_ms = now_ms + VIEW_LOCK_MAX_MS;
	if ((box = strmap_get(m, addr)) != NULL) {
		if (until_ms > *box)
			*box = until_ms;
		return;
	}
	box = xmalloc(sizeof(*box));
	*box = until_ms;
	strmap_put(m, addr, box, NULL);
}

/* A decimal int64, all of s[0..len). */
static bool
parse_int64(const char *s, size_t len, int64_t *out)
{
	char	 buf[24], *end;
	long long v;

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

/*
 * The record in an HGETALL reply, or NULL for a missing key or a record
 * that does not decode (logged: for verification it is no client).
 */
struct client_record *
view_decode_record(const char *id, const struct redisReply *reply)
{
	struct store_pair	 pairs[RECORD_MAX_FIELDS];
	const char		*fields[RECORD_MAX_FIELDS];
	const char		*values[RECORD_MAX_FIELDS];
	size_t			 flens[RECORD_MAX_FIELDS];
	size_t			 vlens[RECORD_MAX_FIELDS];
	struct client_record	*rec = NULL;
	char			 err[128];
	size_t			 n, i;

	n = store_reply_pairs(reply, pairs, RECORD_MAX_FIELDS);
	if (n == 0)
		return NULL;
	if (n == SIZE_MAX) {
		log_warnx("event=client_record_invalid client_id=%.150s "
		    "err=\"unexpected reply\"", id);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		fields[i] = pairs[i].field;
		flens[i] = pairs[i].field_len;
		values[i] = pairs[i].value;
		vlens[i] = pairs[i].value_len;
	}
	if (client_record_decode(id, n, fields, flens, values, vlens, &rec,
	    err, sizeof(err)) != 0) {
		log_warnx("event=client_record_invalid client_id=%.150s "
		    "err=%s", id, err);
		return NULL;
	}
	return rec;
}

/* ---- commands ---- */

static void
op_free(struct op *op)
{
	size_t	 i;

	for (i = 0; i < op->njtis; i++)
		free(op->jtis[i]);
	free(op->jtis);
	free(op->id);
	free(op);
}

static void	 op_cb(enum store_status, const struct redisReply *, void *);

static struct op *
op_new(struct view *v, enum op_kind kind)
{
	struct op	*op = xcalloc(1, sizeof(*op));

	op->v = v;
	op->kind = kind;
	op->gen = v->gen;
	return op;
}

/* Queue op's command; on refusal op is freed and -1 returned. */
static int
op_send(struct view *v, struct op *op, int argc, const char **argv,
    const size_t *lens)
{
	if (store_command_argv(v->cmd, op_cb, op, argc, argv, lens) == -1) {
		op_free(op);
		return -1;
	}
	LIST_INSERT_HEAD(&v->ops, op, entry);
	return 0;
}

static int
send_hgetall(struct view *v, enum op_kind kind, const char *id)
{
	const char	*argv[2];
	struct op	*op;
	char		*key;
	int		 rc;

	op = op_new(v, kind);
	op->id = xstrdup(id);
	key = concat(v->client_prefix, id);
	argv[0] = "HGETALL";
	argv[1] = key;
	rc = op_send(v, op, 2, argv, NULL);
	free(key);
	return rc;
}

/* ---- trust ---- */

static void
trust_lost(struct view *v, const char *why)
{
	if (!v->trusted)
		return;
	v->trusted = false;
	v->lost_at = time(NULL);
	publish(v);
	report_problem("view_stale", why);
}

static void
sync_abandon(struct view *v)
{
	struct sync	*s = v->sync;
	size_t		 i;

	v->gen++;
	if (s == NULL)
		return;
	v->sync = NULL;
	strmap_free(s->clients, record_free);
	strmap_free(s->revoked, free);
	strmap_free(s->locked, free);
	for (i = 0; i < s->nids; i++)
		free(s->ids[i]);
	free(s->ids);
	free(s);
}

static void
retry_later(struct view *v)
{
	struct timeval	 tv;

	tv.tv_sec = v->retry_ms / 1000;
	tv.tv_usec = (v->retry_ms % 1000) * 1000;
	evtimer_add(v->retry_ev, &tv);
	v->retry_ms = v->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    v->retry_ms * 2;
}

static void
sync_failed(struct view *v, const char *why)
{
	char	 buf[160];

	snprintf(buf, sizeof(buf), "sync: %s", why);
	sync_abandon(v);
	report_problem("view_sync_failed", buf);
	if (!v->closed && store_is_up(v->sub))
		retry_later(v);
}

static void
sync_done(struct view *v)
{
	struct sync	*s = v->sync;
	uint64_t	 ms = (now_usec() - s->t0) / 1000;

	strmap_free(v->clients, record_free);
	strmap_free(v->revoked, free);
	strmap_free(v->locked, free);
	v->clients = s->clients;
	v->revoked = s->revoked;
	v->locked = s->locked;
	s->clients = s->revoked = s->locked = NULL;
	sync_abandon(v);

	v->trusted = true;
	v->ever_synced = true;
	v->lost_at = 0;
	v->last_sync = (int64_t)time(NULL);
	v->syncs++;
	v->retry_ms = RETRY_MIN_MS;
	atomic_store(&problem_reported, false);
	publish(v);
	log_info("event=view_synced clients=%zu revoked=%zu locked=%zu ms=%"
	    PRIu64, strmap_count(v->clients), strmap_count(v->revoked),
	    strmap_count(v->locked), ms);
}

/* The last step of a sync: the addresses locked from now on. */
static void
locks_send(struct view *v)
{
	const char	*argv[5];
	char		 min[32];

	snprintf(min, sizeof(min), "(%" PRId64, view_now_ms());
	argv[0] = "ZRANGEBYSCORE";
	argv[1] = v->locked_key;
	argv[2] = min;
	argv[3] = "+inf";
	argv[4] = "WITHSCORES";
	if (op_send(v, op_new(v, OP_LOCKS), 5, argv, NULL) == -1)
		sync_failed(v, "store unreachable");
}

static void
scan_send(struct view *v)
{
	const char	*argv[6];

	argv[0] = "SCAN";
	argv[1] = v->sync->cursor;
	argv[2] = "MATCH";
	argv[3] = v->revoked_match;
	argv[4] = "COUNT";
	argv[5] = SCAN_COUNT;
	if (op_send(v, op_new(v, OP_SCAN), 6, argv, NULL) == -1)
		sync_failed(v, "store unreachable");
}

/* Keep SYNC_WINDOW HGETALLs out; after the last, start the SCAN. */
static void
sync_pump(struct view *v)
{
	struct sync	*s = v->sync;

	while (s->inflight < SYNC_WINDOW && s->next_id < s->nids) {
		if (send_hgetall(v, OP_RECORD, s->ids[s->next_id]) == -1) {
			sync_failed(v, "store unreachable");
			return;
		}
		s->next_id++;
		s->inflight++;
	}
	if (s->inflight == 0 && s->next_id == s->nids) {
		snprintf(s->cursor, sizeof(s->cursor), "0");
		scan_send(v);
	}
}

static void
sync_start(struct view *v)
{
	const char	*argv[2];
	struct sync	*s;

	if (v->closed || !store_is_up(v->sub))
		return;
	evtimer_del(v->retry_ev);
	sync_abandon(v);
	/* Not a failure yet: on_cmd_state() starts us when it is up. */
	if (!store_is_up(v->cmd)) {
		retry_later(v);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->t0 = now_usec();
	s->clients = strmap_new();
	s->revoked = strmap_new();
	s->locked = strmap_new();
	v->sync = s;
	argv[0] = "SMEMBERS";
	argv[1] = v->clients_key;
	if (op_send(v, op_new(v, OP_MEMBERS), 2, argv, NULL) == -1)
		sync_failed(v, "store unreachable");
}

static void
on_members(struct view *v, const struct redisReply *r)
{
	struct sync	*s = v->sync;
	size_t		 i;

	if (r->type != REDIS_REPLY_ARRAY) {
		sync_failed(v, "unexpected SMEMBERS reply");
		return;
	}
	s->ids = xcalloc(r->elements + 1, sizeof(*s->ids));
	for (i = 0; i < r->elements; i++) {
		const redisReply	*e = r->element[i];

		/* An id no client could have names no client. */
		if (e->type != REDIS_REPLY_STRING ||
		    !client_record_is_valid_id(e->str, e->len))
			continue;
		s->ids[s->nids++] = xstrndup(e->str, e->len);
	}
	sync_pump(v);
}

static void
on_record(struct view *v, struct op *op, const struct redisReply *r)
{
	v->sync->inflight--;
	clients_set(v->sync->clients, op->id, view_decode_record(op->id, r));
	sync_pump(v);
}

static void
on_scan(struct view *v, const struct redisReply *r)
{
	struct sync		*s = v->sync;
	const redisReply	*keys;
	const char		**argv = NULL;
	struct op		*op;
	size_t			 i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= sizeof(s->cursor) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		sync_failed(v, "unexpected SCAN reply");
		return;
	}
	memcpy(s->cursor, r->element[0]->str, r->element[0]->len);
	s->cursor[r->element[0]->len] = '\0';
	keys = r->element[1];

	op = op_new(v, OP_MGET);
	op->jtis = xcalloc(keys->elements + 1, sizeof(*op->jtis));
	argv = xcalloc(keys->elements + 1, sizeof(*argv));
	argv[0] = "MGET";
	for (i = 0; i < keys->elements; i++) {
		const redisReply	*k = keys->element[i];

		/* MATCH is a glob; keep exactly our prefix. */
		if (k->type != REDIS_REPLY_STRING ||
		    k->len <= v->revoked_plen ||
		    memcmp(k->str, v->revoked_key, v->revoked_plen) != 0 ||
		    !valid_jti(k->str + v->revoked_plen,
		    k->len - v->revoked_plen))
			continue;
		/* hiredis copies the command at once: argv may point here. */
		argv[1 + op->njtis] = k->str;
		op->jtis[op->njtis++] = xstrndup(k->str + v->revoked_plen,
		    k->len - v->revoked_plen);
	}
	if (op->njtis == 0) {
		op_free(op);
		if (strcmp(s->cursor, "0") == 0)
			locks_send(v);
		else
			scan_send(v);
	} else if (op_send(v, op, 1 + (int)op->njtis, argv, NULL) == -1)
		sync_failed(v, "store unreachable");
	free(argv);
}

static void
on_mget(struct view *v, struct op *op, const struct redisReply *r)
{
	struct sync	*s = v->sync;
	time_t		 now = time(NULL);
	int64_t		 exp;
	size_t		 i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != op->njtis) {
		sync_failed(v, "unexpected MGET reply");
		return;
	}
	for (i = 0; i < op->njtis; i++) {
		const redisReply	*e = r->element[i];

		/* Gone since the SCAN (expired): nothing to keep. */
		if (e->type != REDIS_REPLY_STRING)
			continue;
		if (!parse_int64(e->str, e->len, &exp)) {
			log_warnx("event=revocation_invalid jti=%.64s",
			    op->jtis[i]);
			continue;
		}
		revoked_add(v, s->revoked, op->jtis[i], exp, now);
	}
	if (strcmp(s->cursor, "0") == 0)
		locks_send(v);
	else
		scan_send(v);
}

/* ZRANGEBYSCORE ... WITHSCORES: member, score, member, score, ... */
static void
on_locks(struct view *v, const struct redisReply *r)
{
	int64_t		 now_ms = view_now_ms();
	size_t		 i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
		sync_failed(v, "unexpected ZRANGEBYSCORE reply");
		return;
	}
	for (i = 0; i < r->elements; i += 2) {
		const redisReply	*m = r->element[i];
		const redisReply	*sc = r->element[i + 1];
		char			 buf[32], *end, addr[VIEW_ADDR_MAX + 1];
		double			 d;

		if (m->type != REDIS_REPLY_STRING ||
		    sc->type != REDIS_REPLY_STRING ||
		    !valid_addr(m->str, m->len) || sc->len >= sizeof(buf))
			continue;
		memcpy(buf, sc->str, sc->len);
		buf[sc->len] = '\0';
		d = strtod(buf, &end);
		if (*end != '\0' || !(d > 0 && d < 9e15))
			continue;
		memcpy(addr, m->str, m->len);
		addr[m->len] = '\0';
		locked_add(v->sync->locked, addr, (int64_t)d, now_ms);
	}
	sync_done(v);
}

/* A "client ID" re-read came back. */
static void
on_refresh(struct view *v, struct op *op, enum store_status status,
    const struct redisReply *r)
{
	struct client_record	*rec;

	if (status != STORE_OK || store_reply_is_error(r)) {
		/* The record may have changed and we cannot tell. */
		trust_lost(v, "client record re-read failed");
		sync_abandon(v);
		if (store_is_up(v->sub) && !evtimer_pending(v->retry_ev, NULL))
			retry_later(v);
		return;
	}
	rec = view_decode_record(op->id, r);
	if (v->sync != NULL) {
		struct client_record	*copy = NULL;

		/* Both maps own their records: decode it twice. */
		if (rec != NULL)
			copy = view_decode_record(op->id, r);
		clients_set(v->sync->clients, op->id, copy);
	}
	clients_set(v->clients, op->id, rec);
}

static void
op_cb(enum store_status status, const struct redisReply *r, void *arg)
{
	struct op	*op = arg;
	struct view	*v = op->v;

	if (v == NULL)
		goto out;		/* the view is gone */
	LIST_REMOVE(op, entry);
	if (v->closed)
		goto out;
	if (op->kind == OP_REFRESH) {
		on_refresh(v, op, status, r);
		goto out;
	}
	if (op->gen != v->gen || v->sync == NULL)
		goto out;		/* an abandoned sync */
	if (status != STORE_OK) {
		sync_failed(v, status == STORE_ERR_TIMEOUT ?
		    "command timed out" : "store unreachable");
		goto out;
	}
	if (store_reply_is_error(r)) {
		char	 buf[128];

		snprintf(buf, sizeof(buf), "redis error: %.*s",
		    r->len > 100 ? 100 : (int)r->len, r->str);
		sync_failed(v, buf);
		goto out;
	}
	switch (op->kind) {
	case OP_MEMBERS:
		on_members(v, r);
		break;
	case OP_RECORD:
		on_record(v, op, r);
		break;
	case OP_SCAN:
		on_scan(v, r);
		break;
	case OP_MGET:
		on_mget(v, op, r);
		break;
	case OP_LOCKS:
		on_locks(v, r);
		break;
	case OP_REFRESH:
		break;
	}
out:
	if (v != NULL)
		publish(v);
	op_free(op);
}

/* ---- events from the stores ---- */

static void
on_message(const char *msg, size_t len, void *arg)
{
	struct view	*v = arg;
	const size_t	 clen = sizeof(CLIENT_RECORD_EVENT) - 1;
	const size_t	 rlen = sizeof(VIEW_EVENT_REVOKE) - 1;
	const size_t	 llen = sizeof(VIEW_EVENT_LOCK) - 1;
	char		 buf[VIEW_JTI_MAX + 1];

	if (v->closed)
		return;
	if (len > clen && memcmp(msg, CLIENT_RECORD_EVENT, clen) == 0 &&
	    client_record_is_valid_id(msg + clen, len - clen)) {
		char	*id = xstrndup(msg + clen, len - clen);

		if (send_hgetall(v, OP_REFRESH, id) == -1) {
			trust_lost(v, "client record re-read failed");
			sync_abandon(v);
			if (!evtimer_pending(v->retry_ev, NULL))
				retry_later(v);
		}
		free(id);
		return;
	}
	if (len > rlen && memcmp(msg, VIEW_EVENT_REVOKE, rlen) == 0) {
		const char	*jti = msg + rlen, *sp;
		size_t		 rest = len - rlen, jlen;
		int64_t		 exp;

		sp = memchr(jti, ' ', rest);
		if (sp != NULL && (jlen = (size_t)(sp - jti)) > 0 &&
		    valid_jti(jti, jlen) &&
		    parse_int64(sp + 1, rest - jlen - 1, &exp)) {
			memcpy(buf, jti, jlen);
			buf[jlen] = '\0';
			view_add_revocation(v, buf, exp);
			return;
		}
	}
	if (len > llen && memcmp(msg, VIEW_EVENT_LOCK, llen) == 0) {
		const char	*addr = msg + llen, *sp;
		size_t		 rest = len - llen, alen;
		int64_t		 until;

		sp = memchr(addr, ' ', rest);
		if (sp != NULL && (alen = (size_t)(sp - addr)) > 0 &&
		    valid_addr(addr, alen) &&
		    parse_int64(sp + 1, rest - alen - 1, &until)) {
			memcpy(buf, addr, alen);
			buf[alen] = '\0';
			lock_add(v, buf, until, false);
			return;
		}
	}
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char	 m[80];

		snprintf(m, sizeof(m), "%.*s", len > 64 ? 64 : (int)len, msg);
		log_debug("event=view_message_ignored msg=%s", m);
	}
}

static void
on_sub_state(struct store *sub, enum store_state state, void *arg)
{
	struct view	*v = arg;

	(void)sub;
	if (v->closed)
		return;
	if (state == STORE_UP) {
		/* Whatever was published while we were away: re-read all. */
		v->retry_ms = RETRY_MIN_MS;
		sync_start(v);
		return;
	}
	trust_lost(v, "store unreachable");
	sync_abandon(v);
	evtimer_del(v->retry_ev);
}

static void
on_cmd_state(struct store *cmd, enum store_state state, void *arg)
{
	struct view	*v = arg;

	(void)cmd;
	/* A sync waiting for the command store need not wait longer. */
	if (state == STORE_UP && !v->closed && !v->trusted &&
	    v->sync == NULL && store_is_up(v->sub))
		sync_start(v);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct view	*v = arg;

	(void)fd;
	(void)what;
	if (v->sync == NULL)
		sync_start(v);
}

static void
prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct view	*v = arg;
	struct timeval	 tv = { PRUNE_INTERVAL_S, 0 };
	time_t		 now = time(NULL);
	int64_t		 now_ms = view_now_ms();
	const char	*key;
	void		*value;
	size_t		 pos = 0;

	(void)fd;
	(void)what;
	while (strmap_next(v->revoked, &pos, &key, &value))
		if (!revocation_matters(v, *(int64_t *)value, now))
			free(strmap_remove_at(v->revoked, pos));
	pos = 0;
	while (strmap_next(v->locked, &pos, &key, &value))
		if (*(int64_t *)value <= now_ms)
			free(strmap_remove_at(v->locked, pos));
	publish(v);
	evtimer_add(v->prune_ev, &tv);
}

/* ---- API ---- */

struct view *
view_new(struct event_base *base, const struct config *cfg,
    struct store *cmd, int n_workers)
{
	struct view	*v;
	struct timeval	 tv = { PRUNE_INTERVAL_S, 0 };
	char		*p;

	v = xcalloc(1, sizeof(*v));
	v->base = base;
	v->cfg = cfg;
	v->cmd = cmd;
	v->client_prefix = concat(cfg->prefix, CLIENT_RECORD_KEY);
	v->clients_key = concat(cfg->prefix, CLIENT_RECORD_SET);
	v->revoked_key = concat(cfg->prefix, CLIENT_RECORD_REVOKED);
	v->revoked_plen = strlen(v->revoked_key);
	v->revoked_match = glob_escaped(cfg->prefix, CLIENT_RECORD_REVOKED "*");
	v->locked_key = concat(cfg->prefix, VIEW_LOCKED_KEY);
	v->clients = strmap_new();
	v->revoked = strmap_new();
	v->locked = strmap_new();
	v->retry_ms = RETRY_MIN_MS;
	LIST_INIT(&v->ops);
	v->retry_ev = evtimer_new(base, retry_cb, v);
	v->prune_ev = evtimer_new(base, prune_cb, v);
	if (v->retry_ev == NULL || v->prune_ev == NULL)
		fatalx(1, "view: out of memory");
	evtimer_add(v->prune_ev, &tv);

	p = concat(cfg->prefix, CLIENT_RECORD_CHANNEL);
	v->sub = store_new_subscriber(base, cfg, n_workers, p, on_message, v);
	free(p);
	store_set_state_cb(v->sub, on_sub_state, v);
	store_set_state_cb(cmd, on_cmd_state, v);
	return v;
}

void
view_close(struct view *v)
{
	if (v == NULL || v->closed)
		return;
	v->closed = true;
	v->trusted = false;
	publish(v);
	sync_abandon(v);
	evtimer_del(v->retry_ev);
	evtimer_del(v->prune_ev);
	store_set_state_cb(v->cmd, NULL, NULL);
	store_set_state_cb(v->sub, NULL, NULL);
	store_close(v->sub);
}

void
view_free(struct view *v)
{
	struct op	*op;

	if (v == NULL)
		return;
	view_close(v);
	while ((op = LIST_FIRST(&v->ops)) != NULL) {
		LIST_REMOVE(op, entry);
		op->v = NULL;		/* its callback frees it */
	}
	store_free(v->sub);
	event_free(v->retry_ev);
	event_free(v->prune_ev);
	strmap_free(v->clients, record_free);
	strmap_free(v->revoked, free);
	strmap_free(v->locked, free);
	free(v->client_prefix);
	free(v->clients_key);
	free(v->revoked_key);
	free(v->revoked_match);
	free(v->locked_key);
	free(v);
}

bool
view_in_sync_or_grace(const struct view *v, time_t now)
{
	if (v->closed)
		return false;
	if (v->trusted)
		return true;
	/* --verify-grace: the last known state, for a while. */
	return v->ever_synced && v->lost_at != 0 &&
	    v->cfg->verify_grace > 0 &&
	    now - v->lost_at <= (time_t)v->cfg->verify_grace;
}

bool
view_in_sync(const struct view *v)
{
	return !v->closed && v->trusted;
}

const char *
view_reason(const struct view *v)
{
	if (v->closed)
		return "closed";
	if (v->trusted)
		return "current";
	if (store_is_up(v->sub))
		return "syncing";
	if (!v->ever_synced && strcmp(store_reason(v->sub), "connecting") == 0)
		return "connecting";
	return "store unreachable";
}

const struct client_record *
view_client(const struct view *v, const char *id)
{
	return strmap_get(v->clients, id);
}

bool
view_jti_revoked(const struct view *v, const char *jti, time_t now)
{
	const int64_t	*exp = strmap_get(v->revoked, jti);

	return exp != NULL && revocation_matters(v, *exp, now);
}

void
view_add_revocation(struct view *v, const char *jti, int64_t exp)
{
	time_t	 now = time(NULL);

	if (!valid_jti(jti, strlen(jti)))
		return;
	revoked_add(v, v->revoked, jti, exp, now);
	if (v->sync != NULL)
		revoked_add(v, v->sync->revoked, jti, exp, now);
	publish(v);
}

void
view_set_metrics(struct view *v, struct metrics_shard *m)
{
	v->metrics = m;
	publish(v);
}

void
view_set_lock_share(struct view *v, struct view_lock_share *share)
{
	v->share = share;
	v->share_seen = share != NULL ?
	    atomic_load_explicit(&share->epoch, memory_order_acquire) : 0;
}

/* Copy the locks siblings added since the last look into our table. */
static void
share_pull(struct view *v)
{
	struct view_lock_share	*sh = v->share;
	uint64_t		 e, i;
	int64_t			 now_ms;

	if (sh == NULL || atomic_load_explicit(&sh->epoch,
	    memory_order_acquire) == v->share_seen)
		return;
	now_ms = view_now_ms();
	pthread_mutex_lock(&sh->mu);
	e = atomic_load_explicit(&sh->epoch, memory_order_relaxed);
	i = e - v->share_seen > VIEW_LOCK_SHARE_SLOTS ?
	    e - VIEW_LOCK_SHARE_SLOTS : v->share_seen;
	for (; i < e; i++) {
		locked_add(v->locked, sh->ring[i % VIEW_LOCK_SHARE_SLOTS].addr,
		    sh->ring[i % VIEW_LOCK_SHARE_SLOTS].until_ms, now_ms);
		if (v->sync != NULL)
			locked_add(v->sync->locked,
			    sh->ring[i % VIEW_LOCK_SHARE_SLOTS].addr,
			    sh->ring[i % VIEW_LOCK_SHARE_SLOTS].until_ms, now_ms);
	}
	v->share_seen = e;
	pthread_mutex_unlock(&sh->mu);
}

int64_t
view_lock_remaining(struct view *v, const char *addr)
{
	int64_t		*until;
	int64_t		 now_ms;

	share_pull(v);
	if ((until = strmap_get(v->locked, addr)) == NULL)
		return 0;
	now_ms = view_now_ms();
	if (*until > now_ms)
		return *until - now_ms;
	free(strmap_remove(v->locked, addr));
	return 0;
}

/* Lock addr until until_ms here; with share, in the sibling views too. */
static void
lock_add(struct view *v, const char *addr, int64_t until_ms, bool share)
{
	int64_t	 now_ms = view_now_ms();

	if (!valid_addr(addr, strlen(addr)))
		return;
	locked_add(v->locked, addr, until_ms, now_ms);
	if (v->sync != NULL)
		locked_add(v->sync->locked, addr, until_ms, now_ms);
	if (share && v->share != NULL && until_ms > now_ms) {
		struct view_lock_share	*sh = v->share;
		uint64_t		 e;

		pthread_mutex_lock(&sh->mu);
		e = atomic_load_explicit(&sh->epoch, memory_order_relaxed);
		snprintf(sh->ring[e % VIEW_LOCK_SHARE_SLOTS].addr,
		    sizeof(sh->ring[0].addr), "%s", addr);
		sh->ring[e % VIEW_LOCK_SHARE_SLOTS].until_ms = until_ms;
		atomic_store_explicit(&sh->epoch, e + 1, memory_order_release);
		pthread_mutex_unlock(&sh->mu);
	}
}

void
view_add_lock(struct view *v, const char *addr, int64_t until_ms)
{
	lock_add(v, addr, until_ms, true);
}

void
view_get_stats(const struct view *v, struct view_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->clients = strmap_count(v->clients);
	st->revoked = strmap_count(v->revoked);
	st->locked = strmap_count(v->locked);
	st->last_sync = v->last_sync;
	st->syncs = v->syncs;
	st->current = view_in_sync_or_grace(v, time(NULL));
}

/*
 * view: the worker's in-memory copy of the client records, revocations
 * and brute-force locks (see include/view.h for what it promises). It
 * reads Redis only through db.c, which sends the commands and decodes the
 * replies, over the worker's command store, and through a subscriber store
 * of its own for P events (db_event_parse() decodes the messages). It
 * leaves writing (revoking, counting failures, locking) to the handlers
 * and authfail.c, and knows nothing of HTTP.
 *
 * Full re-read ("sync"). Started whenever the subscriber comes up, so
 * that nothing published before the subscription can be missed: the
 * members of P clients (db_members_get); each member's record
 * (db_client_get), SYNC_WINDOW at a time (each command has its own
 * deadline, so a burst of thousands could outrun it); then the pages of
 * P revoked:* (db_revoked_scan) with the revocations of each
 * (db_revoked_get) until the cursor is 0; then the locks of P locked that
 * have not ended (db_locks_get). The records and revocations go into new
 * maps, swapped in at the end; the locks go straight into the process's
 * brute-force table (limiter.h), where a lock is only ever extended. Any
 * failure abandons the sync and retries it after a backoff (sooner when
 * the command store comes back up).
 *
 * Messages during a sync are applied to both the live maps and the sync's
 * new ones. Re-reads of a record ("client ID") and the sync's reads all
 * go through the one command link, so their replies come back in the
 * order Redis executed them, and applying them in arrival order leaves
 * the newest read in place.
 *
 * Locks are not the view's own: "lock" messages and P locked are written
 * into the brute-force table the view is given (view_set_limiter()),
 * which the workers of a process share; the process's table,
 * view_process_limiter(), is defined here.
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

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "client_record.h"
#include "config.h"
#include "db.h"
#include "limiter.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "strmap.h"
#include "util.h"
#include "view.h"

#define SYNC_WINDOW		64	/* record reads in flight in a sync */
#define RETRY_MIN_MS		100
#define RETRY_MAX_MS		2000
#define PRUNE_INTERVAL_S	30

enum op_kind {
	OP_MEMBERS,		/* sync: db_members_get */
	OP_RECORD,		/* sync: db_client_get */
	OP_SCAN,		/* sync: db_revoked_scan */
	OP_REVOKED,		/* sync: db_revoked_get of one page */
	OP_LOCKS,		/* sync: db_locks_get */
	OP_REFRESH,		/* "client ID": db_client_get */
};

/* One command in flight on the command store. */
struct op {
	struct view		*v;		/* NULL: the view is gone */
	LIST_ENTRY(op)		 entry;
	enum op_kind		 kind;
	uint64_t		 gen;		/* sync ops */
	char			*id;		/* OP_RECORD, OP_REFRESH */
	uint64_t		 sent_us;	/* OP_RECORD, OP_REFRESH:
						   now_usec() when sent */
	struct db_op		 db;
};

struct sync {
	uint64_t		 t0;		/* now_usec() at start */
	struct strmap		*clients;
	struct strmap		*revoked;
	char		       **ids;		/* the members of P clients */
	size_t			 nids;
	size_t			 next_id;	/* next record to read */
	int			 inflight;	/* record reads out */
	char			 cursor[DB_CURSOR_MAX];	/* the next page */
};

struct view {
	struct event_base	*base;
	const struct config	*cfg;
	struct store		*cmd;		/* borrowed */
	struct store		*sub;		/* ours */

	struct strmap		*clients;	/* id -> client_record */
	struct strmap		*revoked;	/* jti -> int64_t exp */
	struct limiter		*limiter;	/* borrowed, or NULL */

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

/*
 * The heap the revocations take: the map (its table, the jti copies) and
 * the boxed exp of each entry; during a re-read the sync's map as well,
 * which holds them a second time until it replaces the live one.
 */
static size_t
revoked_bytes(const struct view *v)
{
	size_t	 bytes = strmap_memory(v->revoked, sizeof(int64_t));

	if (v->sync != NULL)
		bytes += strmap_memory(v->sync->revoked, sizeof(int64_t));
	return bytes;
}

/* Tell the worker's metrics what the view holds now. */
static void
publish(const struct view *v)
{
	metrics_view(v->metrics, strmap_count(v->clients),
	    strmap_count(v->revoked), revoked_bytes(v), v->last_sync,
	    v->trusted);
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

int64_t
view_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Lock addr until until_ms in the brute-force table (extended, never
 * shortened). UNTIL comes from Redis's clock; a lock ends when its
 * counter expires, at most --auth-fail-window after it was set, so an end
 * further away than that (a clock behind Redis's, a bogus message) is cut
 * to it.
 */
static void
lock_add(struct view *v, const char *addr, int64_t until_ms)
{
	int64_t	 now_ms = view_now_ms();
	int64_t	 max_ms = (int64_t)v->cfg->auth_fail_window * 1000;

	if (v->limiter == NULL || !db_addr_is_valid(addr, strlen(addr)))
		return;
	if (until_ms - now_ms > max_ms)
		until_ms = now_ms + max_ms;
	limiter_lock(v->limiter, addr, until_ms, now_ms);
}

/* Locks in the brute-force table now (0 without one). */
static size_t
locks_count(const struct view *v)
{
	struct limiter_stats	 st;

	if (v->limiter == NULL)
		return 0;
	limiter_get_stats(v->limiter, view_now_ms(), &st);
	return st.locked;
}

/* The record of a read sent at sent_us, or NULL (db_record_decode). */
static struct client_record *
record_decode(const struct db_record *res, uint64_t sent_us)
{
	struct client_record	*rec = db_record_decode(res);

	if (rec != NULL)
		rec->read_us = sent_us;
	return rec;
}

/*
 * Put id's record as read by res (sent at sent_us) into the live map,
 * taking rec (decoded from res; NULL: none), and into a sync's map, which
 * owns a copy of its own. Replies on the command store come back in the
 * order Redis ran the commands, so the newest read wins. Returns the live
 * map's record.
 */
static struct client_record *
record_apply(struct view *v, const char *id, struct client_record *rec,
    const struct db_record *res, uint64_t sent_us)
{
	if (v->sync != NULL)
		clients_set(v->sync->clients, id, rec != NULL ?
		    record_decode(res, sent_us) : NULL);
	clients_set(v->clients, id, rec);
	return rec;
}

/* ---- commands ---- */

static void
op_free(struct op *op)
{
	free(op->id);
	free(op);
}

static void	 record_cb(const struct db_record *, void *);

static struct op *
op_new(struct view *v, enum op_kind kind)
{
	struct op	*op = xcalloc(1, sizeof(*op));

	op->v = v;
	op->kind = kind;
	op->gen = v->gen;
	return op;
}

/*
 * rc is what the db call that queued op's command returned: on 0 op is
 * tracked until its callback; on refusal (-1) it is freed.
 */
static int
op_sent(struct view *v, struct op *op, int rc)
{
	if (rc == -1) {
		op_free(op);
		return -1;
	}
	LIST_INSERT_HEAD(&v->ops, op, entry);
	return 0;
}

/* op's command came back: off the list. Its view, or NULL when gone. */
static struct view *
op_back(struct op *op)
{
	if (op->v != NULL)
		LIST_REMOVE(op, entry);
	return op->v;
}

/* The end of every op callback. */
static void
op_end(struct view *v, struct op *op)
{
	if (v != NULL)
		publish(v);
	op_free(op);
}

/* Read client id's record (OP_RECORD or OP_REFRESH). */
static int
send_record(struct view *v, enum op_kind kind, const char *id)
{
	struct op	*op;

	op = op_new(v, kind);
	op->id = xstrdup(id);
	op->sent_us = now_usec();
	return op_sent(v, op, db_client_get(v->cmd, &op->db, v->cfg->prefix,
	    op->id, record_cb, op));
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
	v->clients = s->clients;
	v->revoked = s->revoked;
	s->clients = s->revoked = NULL;
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
	    locks_count(v), ms);
}

static void	 members_cb(const struct db_members *, void *);
static void	 scan_cb(const struct db_scan *, void *);
static void	 revoked_cb(const struct db_revoked *, void *);
static void	 locks_cb(const struct db_locks *, void *);

/* The last step of a sync: the addresses locked from now on. */
static void
locks_send(struct view *v)
{
	struct op	*op = op_new(v, OP_LOCKS);

	if (op_sent(v, op, db_locks_get(v->cmd, &op->db, v->cfg->prefix,
	    view_now_ms(), locks_cb, op)) == -1)
		sync_failed(v, "store unreachable");
}

static void
scan_send(struct view *v)
{
	struct op	*op = op_new(v, OP_SCAN);

	if (op_sent(v, op, db_revoked_scan(v->cmd, &op->db, v->cfg->prefix,
	    v->sync->cursor, scan_cb, op)) == -1)
		sync_failed(v, "store unreachable");
}

/* After a page of revocations: the next one, or the locks after the last. */
static void
next_page(struct view *v)
{
	if (strcmp(v->sync->cursor, "0") == 0)
		locks_send(v);
	else
		scan_send(v);
}

/* Keep SYNC_WINDOW record reads out; after the last, start the SCAN. */
static void
sync_pump(struct view *v)
{
	struct sync	*s = v->sync;

	while (s->inflight < SYNC_WINDOW && s->next_id < s->nids) {
		if (send_record(v, OP_RECORD, s->ids[s->next_id]) == -1) {
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
	struct sync	*s;
	struct op	*op;

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
	v->sync = s;
	op = op_new(v, OP_MEMBERS);
	if (op_sent(v, op, db_members_get(v->cmd, &op->db, v->cfg->prefix,
	    members_cb, op)) == -1)
		sync_failed(v, "store unreachable");
}

/*
 * Whether the answer to a sync op still counts: not when the view is gone
 * or closed or the op's sync was abandoned. A failed one ends the sync.
 */
static bool
sync_answer(struct view *v, const struct op *op, enum db_status status,
    const char *why)
{
	if (v == NULL || v->closed || op->gen != v->gen || v->sync == NULL)
		return false;
	if (status != DB_OK) {
		sync_failed(v, why);
		return false;
	}
	return true;
}

static void
members_cb(const struct db_members *res, void *arg)
{
	struct op	*op = arg;
	struct view	*v = op_back(op);
	struct sync	*s;
	const char	*id;
	size_t		 pos = 0, len;

	if (sync_answer(v, op, res->status, res->why)) {
		s = v->sync;
		s->ids = xcalloc(res->n + 1, sizeof(*s->ids));
		while (db_members_next(res, &pos, &id, &len))
			s->ids[s->nids++] = xstrndup(id, len);
		sync_pump(v);
	}
	op_end(v, op);
}

static void
scan_cb(const struct db_scan *page, void *arg)
{
	struct op	*op = arg;
	struct view	*v = op_back(op);
	struct op	*get;

	if (sync_answer(v, op, page->status, page->why)) {
		memcpy(v->sync->cursor, page->cursor, sizeof(v->sync->cursor));
		if (page->n == 0)
			next_page(v);
		else {
			get = op_new(v, OP_REVOKED);
			if (op_sent(v, get, db_revoked_get(v->cmd, &get->db,
			    page, revoked_cb, get)) == -1)
				sync_failed(v, "store unreachable");
		}
	}
	op_end(v, op);
}

static void
revoked_cb(const struct db_revoked *res, void *arg)
{
	struct op	*op = arg;
	struct view	*v = op_back(op);
	time_t		 now = time(NULL);
	size_t		 i;

	if (sync_answer(v, op, res->status, res->why)) {
		for (i = 0; i < res->n; i++)
			revoked_add(v, v->sync->revoked, res->jtis[i],
			    res->exps[i], now);
		next_page(v);
	}
	op_end(v, op);
}

static void
locks_cb(const struct db_locks *res, void *arg)
{
	struct op	*op = arg;
	struct view	*v = op_back(op);
	int64_t		 until;
	char		 addr[DB_ADDR_MAX + 1];
	size_t		 pos = 0;

	if (sync_answer(v, op, res->status, res->why)) {
		while (db_locks_next(res, &pos, addr, &until))
			lock_add(v, addr, until);
		sync_done(v);
	}
	op_end(v, op);
}

/* A "client ID" re-read came back. */
static void
on_refresh(struct view *v, struct op *op, const struct db_record *res)
{
	struct client_record	*rec;

	if (res->status != DB_OK) {
		/* The record may have changed and we cannot tell. */
		trust_lost(v, "client record re-read failed");
		sync_abandon(v);
		if (store_is_up(v->sub) && !evtimer_pending(v->retry_ev, NULL))
			retry_later(v);
		return;
	}
	rec = record_decode(res, op->sent_us);
	record_apply(v, op->id, rec, res, op->sent_us);
}

static void
record_cb(const struct db_record *res, void *arg)
{
	struct op	*op = arg;
	struct view	*v = op_back(op);

	if (op->kind == OP_REFRESH) {
		if (v != NULL && !v->closed)
			on_refresh(v, op, res);
	} else if (sync_answer(v, op, res->status, res->why)) {
		v->sync->inflight--;
		clients_set(v->sync->clients, op->id, record_decode(res,
		    op->sent_us));
		sync_pump(v);
	}
	op_end(v, op);
}

/* ---- events from the stores ---- */

static void
on_message(const char *msg, size_t len, void *arg)
{
	struct view	*v = arg;
	struct db_event	 ev;

	if (v->closed)
		return;
	switch (db_event_parse(msg, len, &ev)) {
	case DB_EVENT_CLIENT:
		if (send_record(v, OP_REFRESH, ev.name) == -1) {
			trust_lost(v, "client record re-read failed");
			sync_abandon(v);
			if (!evtimer_pending(v->retry_ev, NULL))
				retry_later(v);
		}
		return;
	case DB_EVENT_REVOKE:
		view_add_revocation(v, ev.name, ev.value);
		return;
	case DB_EVENT_LOCK:
		lock_add(v, ev.name, ev.value);
		return;
	case DB_EVENT_NONE:
		break;
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
	if (v->limiter != NULL)
		limiter_prune(v->limiter, now_ms);
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
	v->clients = strmap_new();
	v->revoked = strmap_new();
	v->retry_ms = RETRY_MIN_MS;
	LIST_INIT(&v->ops);
	v->retry_ev = evtimer_new(base, retry_cb, v);
	v->prune_ev = evtimer_new(base, prune_cb, v);
	if (v->retry_ev == NULL || v->prune_ev == NULL)
		fatalx(1, "view: out of memory");
	evtimer_add(v->prune_ev, &tv);

	p = db_events_channel(cfg->prefix);
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

	if (!db_jti_is_valid(jti, strlen(jti)))
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

/* The brute-force table of this process, shared by its workers' views. */
static struct limiter	*process_limiter;
static pthread_once_t	 process_limiter_once = PTHREAD_ONCE_INIT;

static void
process_limiter_init(void)
{
	process_limiter = limiter_new(LIMITER_MAX_ENTRIES);
}

struct limiter *
view_process_limiter(void)
{
	pthread_once(&process_limiter_once, process_limiter_init);
	return process_limiter;
}

void
view_set_limiter(struct view *v, struct limiter *l)
{
	v->limiter = l;
}

struct limiter *
view_limiter(const struct view *v)
{
	return v->limiter;
}

void
view_get_stats(const struct view *v, struct view_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->clients = strmap_count(v->clients);
	st->revoked = strmap_count(v->revoked);
	st->revoked_bytes = revoked_bytes(v);
	st->locked = locks_count(v);
	st->last_sync = v->last_sync;
	st->syncs = v->syncs;
	st->current = view_in_sync_or_grace(v, time(NULL));
}

/*
 * ---- generations vouched for to the sibling views ----
 *
 * A worker that issues from a record read a moment ago (a change its view
 * applied, or a record client_auth.c read from Redis) may be ahead of its
 * siblings, whose reads of the same change are still on their way. The
 * worker notes (id, generation, when the read was sent) here, and a
 * sibling whose own record disagrees with a token accepts that token's
 * generation for VIEW_VOUCH_US after that read was sent. The read saw the
 * generation current, so whatever change replaced it came later: a token
 * of a generation replaced since is thus accepted here at most
 * VIEW_VOUCH_US after the change (the contract allows one second), and
 * never again afterwards. A generation leaves the table after
 * VIEW_VOUCH_US or when VIEW_VOUCH_SLOTS newer notes took its slot; a
 * sibling then answers from its own record, as it always does.
 *
 * The verification path reads one atomic (the newest note's time) and
 * takes the mutex only when a note is recent and the token disagrees
 * with the view's record.
 */
#define VIEW_VOUCH_SLOTS	64

static struct {
	pthread_mutex_t		 mu;
	_Atomic uint64_t	 newest_us;	/* the latest sent_us noted */
	uint64_t		 next;
	struct {
		char		 id[CLIENT_ID_MAX + 1];
		char		 gen[CLIENT_GEN_LEN + 1];
		uint64_t	 sent_us;
	}			 ring[VIEW_VOUCH_SLOTS];
} vouches = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Whether a read sent at sent_us still vouches at now_us (another
   thread's clock reading may be a little later than ours). */
static bool
vouch_recent(uint64_t sent_us, uint64_t now_us)
{
	return sent_us >= now_us || now_us - sent_us <= VIEW_VOUCH_US;
}

static void
vouch_note(const char *id, const char *gen, uint64_t sent_us)
{
	size_t	 i;

	pthread_mutex_lock(&vouches.mu);
	i = vouches.next++ % VIEW_VOUCH_SLOTS;
	snprintf(vouches.ring[i].id, sizeof(vouches.ring[i].id), "%s", id);
	snprintf(vouches.ring[i].gen, sizeof(vouches.ring[i].gen), "%s", gen);
	vouches.ring[i].sent_us = sent_us;
	if (sent_us > atomic_load_explicit(&vouches.newest_us,
	    memory_order_relaxed))
		atomic_store_explicit(&vouches.newest_us, sent_us,
		    memory_order_release);
	pthread_mutex_unlock(&vouches.mu);
}

const struct client_record *
view_learn_client(struct view *v, struct client_record *rec,
    const struct db_record *res, uint64_t sent_us)
{
	rec->read_us = sent_us;
	rec->vouched = false;
	return record_apply(v, rec->id, rec, res, sent_us);
}

void
view_client_issuing(struct view *v, const struct client_record *rec,
    uint64_t now_us)
{
	struct client_record	*mine;

	/* The common case, a record read long ago: no lookup, no lock. */
	if (rec->vouched || rec->generation[0] == '\0' ||
	    !vouch_recent(rec->read_us, now_us))
		return;
	if ((mine = strmap_get(v->clients, rec->id)) != rec)
		return;		/* not the view's record: nothing to note */
	mine->vouched = true;
	vouch_note(mine->id, mine->generation, mine->read_us);
}

bool
view_gen_vouched(const char *id, const char *gen, uint64_t now_us)
{
	bool	 found = false;
	size_t	 i;

	if (!vouch_recent(atomic_load_explicit(&vouches.newest_us,
	    memory_order_acquire), now_us))
		return false;
	pthread_mutex_lock(&vouches.mu);
	for (i = 0; i < VIEW_VOUCH_SLOTS && !found; i++)
		found = vouches.ring[i].sent_us != 0 &&
		    vouch_recent(vouches.ring[i].sent_us, now_us) &&
		    strcmp(vouches.ring[i].gen, gen) == 0 &&
		    strcmp(vouches.ring[i].id, id) == 0;
	pthread_mutex_unlock(&vouches.mu);
	return found;
}

/*
 * db: tokend's data in Redis. Every key name, every Lua script and the
 * argv of every command tokend sends are here, and every reply is turned
 * here into a domain result (a client record, a failure count and lock, a
 * revocation stored, the pages of a full re-read, ...). It sits above the
 * Redis link (store.h), which carries commands and knows nothing of what
 * they mean, and below its users (client_auth, authfail, the view, the
 * handlers), which never see a Redis reply: of tokend's modules only the
 * link (store.c, and Sentinel discovery beside it) and db.c include
 * hiredis.
 *
 * The layout (P = the key prefix, --prefix, default "tokend:"):
 *
 *	P client:ID	HASH, one per client; its fields: client_record.h
 *	P clients	SET of every client id
 *	P revoked:JTI	STRING, the token's exp (decimal unix seconds),
 *			expiring --leeway seconds after it, when the token
 *			could no longer pass anyway
 *	P revocations:ID
 *			ZSET, the live revocations of client ID: each jti
 *			scored by the unix second at which its P revoked:JTI
 *			expires; the writer drops members whose time has
 *			come before it counts (--max-revocations-per-client),
 *			and the set expires with its last member
 *	P locked	ZSET of sources locked out by the brute-force
 *			limit (authfail.h), scored by the unix time in
 *			milliseconds when the lock ends; members whose
 *			score has passed are stale (the writer trims them;
 *			the set expires with its last lock)
 *	P authfail:ip:ADDR
 *			STRING, failed client authentications from source
 *			ADDR (an IPv4 address or an IPv6 network,
 *			client_addr_prefix()) in the current window;
 *			expires --auth-fail-window seconds after the first
 *	P authfail:client:ID
 *			STRING, the same per client id, for valid ids only
 *			(client_record_is_valid_id(); logged, never used to
 *			lock)
 *	P jti:ID/JTI	STRING "1": the jti of a private_key_jwt assertion
 *			of client ID, seen once (ids hold no '/'); expires
 *			when the assertion could no longer pass (its exp +
 *			--leeway, by the clock of the instance that set it)
 *	P dpop:JKT:JTI	STRING "1": a DPoP proof's jti, used once at the
 *			token endpoint by the key of thumbprint JKT;
 *			expires when no proof could carry it any more
 *			(--dpop-max-age plus twice --leeway)
 *	P events	pub/sub channel. Messages: "client ID" after every
 *			change of a client (scripts/tokend-client),
 *			"revoke JTI EXP" after a revocation, "lock ADDR
 *			UNTIL" (UNTIL in unix milliseconds) after a lock.
 *			A writer sets the key before it publishes.
 *
 * Calling convention. A command function queues one command on a store
 * (the worker's command store) and returns 0, and its callback runs
 * exactly once, later, from the store's callback; or it returns -1 at
 * once (the store is not up, or an argument is refused where a function
 * says so), and the callback never runs. Most take a struct db_op:
 * storage the caller provides (usually a member of its own per-operation
 * struct) so that a command costs no allocation here. It must stay in
 * place from a call that returned 0 until its callback starts; db does
 * not touch it after that, so the callback may free or reuse it. Every
 * result is borrowed: valid only during the callback.
 *
 * Not thread safe: a store, and everything queued on it, belongs to one
 * worker's loop.
 */
#ifndef TOKEND_DB_H
#define TOKEND_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client_record;
struct store;

#define DB_JTI_MAX	256	/* bytes of a jti: P revoked:JTI, "revoke" */
#define DB_ADDR_MAX	63	/* bytes of an ADDR: P locked, "lock" */
#define DB_CURSOR_MAX	32	/* bytes of a SCAN cursor, NUL included */

/* How a command ended. */
enum db_status {
	DB_OK = 0,
	DB_ERR_TIMEOUT,		/* no answer within --redis-timeout */
	DB_ERR_DOWN,		/* the link failed or was closed */
	DB_ERR_REDIS,		/* Redis answered with an error */
	DB_ERR_REPLY,		/* an answer of an unexpected shape */
	DB_ERR_REPLICA,		/* db_revoke(): written, but no replica
				   acknowledged it in time */
};

/* db_ping(). */
typedef void (*db_status_cb)(enum db_status status, void *arg);

/*
 * Every result below starts with the status and, unless it is DB_OK, why:
 * a short text for logs ("command timed out", "store unreachable",
 * "redis error: ..." with at most 100 bytes of Redis's message,
 * "unexpected SCAN reply", ...).
 */

/* A client record read: db_client_get(), db_client_lookup(). */
struct db_record {
	enum db_status	 status;
	const char	*why;
	/*
	 * db_client_lookup() only: the address counter (fails_ip) and what
	 * is left of its window (window_ms, its PTTL; <= 0 when it has
	 * none); locked: it was at the limit, so the record was not read.
	 */
	bool		 locked;
	long long	 fails_ip;
	int64_t		 window_ms;
	/* Private to db.c: use db_record_decode(). */
	const char	*id;
	const void	*reply;
};
typedef void (*db_record_cb)(const struct db_record *, void *arg);

/* A failure counted: db_authfail_count(). */
struct db_authfail {
	enum db_status	 status;
	const char	*why;
	long long	 fails_ip;	/* DB_OK: the address counter */
	long long	 fails_client;	/* DB_OK: the client counter; -1:
					   none (not a valid id) */
	int64_t		 locked_until;	/* > 0: this failure locked the
					   address until then (unix ms) */
	int64_t		 window_ms;	/* DB_OK: the address counter's
					   PTTL (<= 0: none) */
};
typedef void (*db_authfail_cb)(const struct db_authfail *, void *arg);

/* A revocation: db_revoke(). */
struct db_revocation {
	enum db_status	 status;
	const char	*why;
	/*
	 * DB_OK: refused is true when the client already held the most
	 * live revocations it may and this jti was not one of them: nothing
	 * was written. count is the client's live revocations after the
	 * call (this one included when it was written).
	 */
	bool		 refused;
	long long	 count;
};
typedef void (*db_revocation_cb)(const struct db_revocation *, void *arg);

/* The client ids of P clients: db_members_get(). */
struct db_members {
	enum db_status	 status;
	const char	*why;
	size_t		 n;		/* at least db_members_next()'s */
	const void	*reply;		/* private */
};
typedef void (*db_members_cb)(const struct db_members *, void *arg);

/* One SCAN page of P revoked:*: db_revoked_scan(). */
struct db_scan {
	enum db_status	 status;
	const char	*why;
	char		 cursor[DB_CURSOR_MAX];	/* the next; "0": done */
	size_t		 n;		/* revocation keys in this page */
	const void	*reply;		/* private */
	const char	*prefix;	/* private */
};
typedef void (*db_scan_cb)(const struct db_scan *, void *arg);

/* The revocations of one page: db_revoked_get(). */
struct db_revoked {
	enum db_status		 status;
	const char		*why;
	size_t			 n;
	const char *const	*jtis;	/* valid jtis (NUL-terminated) */
	const int64_t		*exps;	/* the token's exp of each */
};
typedef void (*db_revoked_cb)(const struct db_revoked *, void *arg);

/* The locks of P locked: db_locks_get(). */
struct db_locks {
	enum db_status	 status;
	const char	*why;
	const void	*reply;		/* private */
};
typedef void (*db_locks_cb)(const struct db_locks *, void *arg);

/*
 * A single use claimed (an assertion's jti: db_jti_use(); a DPoP proof's:
 * db_dpop_jti_use()).
 */
struct db_once {
	enum db_status	 status;
	const char	*why;
	bool		 fresh;		/* DB_OK: first use; false: a replay */
};
typedef void (*db_once_cb)(const struct db_once *, void *arg);

/*
 * Storage for one command in flight (see the calling convention above).
 * The caller only provides it; the members are db.c's.
 */
struct db_op {
	union {
		db_status_cb	 status;
		db_record_cb	 record;
		db_authfail_cb	 authfail;
		db_revocation_cb revocation;
		db_members_cb	 members;
		db_scan_cb	 scan;
		db_revoked_cb	 revoked;
		db_locks_cb	 locks;
		db_once_cb	 once;
	}			 cb;
	void			*arg;
	struct store		*store;
	const char		*prefix;
	const char		*id;
	char			**jtis;
	int64_t			*exps;
	size_t			 n;
	bool			 refused;
};

/*
 * PING: cb gets DB_OK when Redis answered, DB_ERR_REDIS when it answered
 * with an error, DB_ERR_TIMEOUT or DB_ERR_DOWN. Unlike the others this
 * allocates its own small record (for /readyz, not on the request path).
 */
int		 db_ping(struct store *, db_status_cb cb, void *arg);

/*
 * HGETALL P client:ID. id is borrowed until the callback (it names the
 * client in the log line of a record that does not decode). The result
 * is DB_OK for any answer that is not an error; db_record_decode() says
 * whether it is a record.
 */
int		 db_client_get(struct store *, struct db_op *,
		    const char *prefix, const char *id, db_record_cb cb,
		    void *arg);

/*
 * One script, one round trip, for a lookup that must also honour the
 * brute-force limit: the count of P authfail:ip:ADDR and its PTTL; when
 * the count has reached limit, the result is locked (no record read);
 * else the record, as db_client_get(). A script answer of another shape
 * is DB_ERR_REPLY.
 */
int		 db_client_lookup(struct store *, struct db_op *,
		    const char *prefix, const char *id, const char *addr,
		    int limit, db_record_cb cb, void *arg);

/*
 * The client record of a DB_OK result that is not locked, or NULL for a
 * missing key and for a reply that does not decode (logged as
 * event=client_record_invalid). May be called more than once, each call
 * a new record; the caller owns it: client_record_free().
 */
struct client_record *db_record_decode(const struct db_record *);

/*
 * Count one failed authentication of client_id from addr: INCR
 * P authfail:ip:ADDR and, when client_id is a valid client id
 * (client_record_is_valid_id(); NULL is none), P authfail:client:ID, each
 * expiring window_s after its first increment; when the address count
 * reaches limit, lock the address until its counter expires (P locked)
 * and publish "lock ADDR UNTIL" on P events, all in one script. The
 * result has the address counter's new value and PTTL. Both strings are
 * only read during the call.
 */
int		 db_authfail_count(struct store *, struct db_op *,
		    const char *prefix, const char *addr,
		    const char *client_id, int window_s, int limit,
		    db_authfail_cb cb, void *arg);

/*
 * Mark jti of client_id's assertion as used: SET P jti:ID/JTI 1 NX EX
 * ttl_s, one command (a relative expiry: Redis's clock does not matter).
 * fresh is true when the key was set (the first use), false when it was
 * there (a replay). Strings are read during the call only; a jti longer
 * than DB_ASSERTION_JTI_MAX bytes, an id longer than DB_ASSERTION_ID_MAX,
 * and ttl_s <= 0 are refused (-1).
 */
#define DB_ASSERTION_JTI_MAX	128
#define DB_ASSERTION_ID_MAX	128
int		 db_jti_use(struct store *, struct db_op *, const char *prefix,
		    const char *client_id, const char *jti, int64_t ttl_s,
		    db_once_cb cb, void *arg);

/*
 * Revoke jti, a token of client_id expiring at exp, unless the client
 * already holds max live revocations (max >= 1), in one script: drop the
 * members of P revocations:ID whose time has come; unless jti is a member
 * already (a revocation is counted once), refuse when max are left; else
 * add it, scored by exp + leeway (at the end of year 9999 at the latest:
 * Redis refuses expiry times past about year 292 million), SET P
 * revoked:JTI to exp, expiring at the same time, and publish "revoke JTI
 * EXP" on P events. The count is exact across instances: Redis runs one
 * script at a time. When the store follows a master through Redis
 * Sentinel, DB_OK for a written revocation also means that a replica has
 * it (WAIT 1 after it, store_wait_replica()), and any other answer to the
 * WAIT is DB_ERR_REPLICA; a refusal waits for nothing. An answer of
 * another shape is DB_ERR_REPLY. client_id and jti are read during the
 * call only; a jti longer than DB_JTI_MAX bytes, and max < 1, are refused
 * (-1).
 */
int		 db_revoke(struct store *, struct db_op *, const char *prefix,
		    const char *client_id, const char *jti, int64_t exp,
		    int leeway, int max, db_revocation_cb cb, void *arg);

/*
 * SET P dpop:JKT:JTI 1 NX EX ttl_s: the result is fresh the first time
 * within ttl_s seconds, on every instance that shares the store, and not
 * fresh for a replay. An answer other than OK or nil is DB_ERR_REPLY.
 * jkt and jti are read during the call only; a jti longer than
 * DB_JTI_MAX bytes, an empty one and ttl_s < 1 are refused (-1).
 */
int		 db_dpop_jti_use(struct store *, struct db_op *,
		    const char *prefix, const char *jkt, const char *jti,
		    int ttl_s, db_once_cb cb, void *arg);

/* SMEMBERS P clients. Not an array: DB_ERR_REPLY. */
int		 db_members_get(struct store *, struct db_op *,
		    const char *prefix, db_members_cb cb, void *arg);

/*
 * The next valid client id of a DB_OK members result, from *pos (start
 * at 0): borrowed, not NUL-terminated, *len bytes. Members that no client
 * could have as id are skipped. False after the last.
 */
bool		 db_members_next(const struct db_members *, size_t *pos,
		    const char **id, size_t *len);

/*
 * SCAN cursor MATCH P revoked:* COUNT 1000. A result whose cursor does
 * not fit DB_CURSOR_MAX, or of another shape, is DB_ERR_REPLY. n counts
 * the keys of the page that are P revoked: and a valid jti (MATCH is a
 * glob, so other keys may come back). prefix is borrowed until the
 * callback has returned (the configuration's outlives it).
 */
int		 db_revoked_scan(struct store *, struct db_op *,
		    const char *prefix, const char *cursor, db_scan_cb cb,
		    void *arg);

/*
 * MGET the n revocation keys of page (a DB_OK db_revoked_scan() result
 * with n > 0, from inside its callback). The result holds the jtis whose
 * key still exists and holds a decimal exp; a value that does not parse
 * is logged (event=revocation_invalid) and left out. An answer with
 * another number of values is DB_ERR_REPLY.
 */
int		 db_revoked_get(struct store *, struct db_op *,
		    const struct db_scan *page, db_revoked_cb cb, void *arg);

/*
 * ZRANGEBYSCORE P locked with the exclusive minimum now_ms, to +inf,
 * WITHSCORES: the locks that end after now_ms. An answer that is not
 * member/score pairs is DB_ERR_REPLY.
 */
int		 db_locks_get(struct store *, struct db_op *,
		    const char *prefix, int64_t now_ms, db_locks_cb cb,
		    void *arg);

/*
 * The next lock of a DB_OK locks result, from *pos (start at 0): the
 * address, copied into addr, and its end (unix ms). Pairs with an invalid
 * address or a score that is not a positive number below 9e15 are
 * skipped. False after the last.
 */
bool		 db_locks_next(const struct db_locks *, size_t *pos,
		    char addr[DB_ADDR_MAX + 1], int64_t *until_ms);

/* A message on P events, decoded by db_event_parse(). */
enum db_event_kind {
	DB_EVENT_NONE = 0,	/* anything else: ignore it */
	DB_EVENT_CLIENT,	/* "client ID": name is the client id */
	DB_EVENT_REVOKE,	/* "revoke JTI EXP": name, value = exp */
	DB_EVENT_LOCK,		/* "lock ADDR UNTIL": name, value = UNTIL */
};

struct db_event {
	enum db_event_kind	 kind;
	char			 name[DB_JTI_MAX + 1];	/* NUL-terminated */
	int64_t			 value;
};

/*
 * Decode one message (len bytes, not NUL-terminated). A message whose id,
 * jti or address is not valid, or whose number does not parse, is
 * DB_EVENT_NONE. Returns ev->kind.
 */
enum db_event_kind db_event_parse(const char *msg, size_t len,
		    struct db_event *ev);

/* "P events", the channel name for a subscriber store. Owned: free(). */
char		*db_events_channel(const char *prefix);

/* A jti as P revoked:JTI holds it: 1..DB_JTI_MAX printable ASCII bytes,
   no blank. */
bool		 db_jti_is_valid(const char *s, size_t len);

/* A source address as P locked holds it: as a jti, at most DB_ADDR_MAX
   bytes. */
bool		 db_addr_is_valid(const char *s, size_t len);

#endif

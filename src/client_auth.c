/*
 * client_auth: extract client credentials from a request and verify them
 * against the client record: the worker's view (view.h) first, Redis when
 * the view cannot say yes. Every secret check goes through the
 * brute-force limit (authfail.h): the process's table admits it, or
 * refuses it (429, no check), or holds it for a moment (a failure of the
 * same source is being counted in Redis). The Redis commands and their
 * replies are db.c's.
 *
 * Success path: the view is in sync, the table admits the source and the
 * view has the client, enabled, and the secret matches its hash (the
 * check runs inside the admission): the callback runs at once, with no
 * Redis command and no allocation. While the view is not in sync (its
 * first read after start, a re-read after a reconnect), the record and
 * the source's counter are read from Redis in one script
 * (db_client_lookup), the counter goes into the table, and the check is
 * admitted by the table once the record is at hand; without Redis, 503.
 *
 * Uniform failure path: every other case (no record in the view, a wrong
 * secret, a disabled client) is the source's pending failure from the
 * moment the view's check said no; the record is then read with one
 * HGETALL (db_client_get: a client added or rotated a moment ago is
 * thereby found before the view hears of it) and the secret checked
 * again; without a record a dummy record is decoded and the dummy hash
 * checked. So an unknown client, a disabled one and a wrong secret each
 * cost two hash checks, one HGETALL, one decode and the failure count
 * (authfail_count), and the time taken does not tell them apart. Redis
 * answers an unknown key with an empty array as fast as a known one. If
 * the second check says yes after all, the pending failure is cancelled.
 * Credentials that can name no client (malformed, incomplete, a method
 * the endpoint does not take: client_auth_refused()) take this path too,
 * with a check of the same kind that always says no (a dummy hash, or a
 * decoy key for an assertion).
 *
 * Held attempts: a source with a pending failure gets no check until
 * Redis has counted it (so that no instance has more than one wrong
 * secret checked that the others cannot know of); its attempts wait on a
 * timer, asking the table again each time (after HOLD_MIN_MS, doubling
 * to HOLD_MAX_MS), and answer 503 when the failure ahead of them has been
 * pending for more than twice --redis-timeout (its read and its count)
 * and HOLD_SLACK_MS, so that Redis is late, or when they have waited
 * --request-timeout in all.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "assertion.h"
#include "authfail.h"
#include "client_addr.h"
#include "client_auth.h"
#include "client_cert.h"
#include "client_record.h"
#include "config.h"
#include "conn.h"
#include "db.h"
#include "jwk.h"
#include "limiter.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "record_rules.h"
#include "reply.h"
#include "request.h"
#include "secret.h"
#include "store.h"
#include "strmap.h"
#include "util.h"
#include "view.h"
#include "worker.h"

_Static_assert(CLIENT_CERT_THUMBPRINT_LEN == CLIENT_THUMBPRINT_LEN,
    "a record's thumbprints are client_cert.c's");
_Static_assert(sizeof(((struct request *)0)->cnf_x5t) ==
    CLIENT_CERT_THUMBPRINT_LEN + 1, "cnf_x5t holds one thumbprint");

#define HOLD_MIN_MS	1	/* a held attempt asks the table again */
#define HOLD_MAX_MS	16
#define HOLD_SLACK_MS	1000	/* on a late count, past its deadlines */

enum client_creds_result
client_auth_extract(const struct request *req, const struct params *params,
    struct client_creds *creds)
{
	return client_creds_extract(request_header(req, "Authorization"),
	    params, creds);
}

/*
 * The client certificate a request presents (CREDS_VIA_TLS only): from a
 * trusted proxy its X-Client-Cert header (and nothing else), from anyone
 * else the TLS connection's. Owned references.
 */
struct request_cert {
	X509			*cert;		/* NULL: none, or refused */
	STACK_OF(X509)		*chain;		/* intermediates or NULL */
	const char		*problem;	/* why cert is NULL, for logs */
};

static void
request_cert_get(const struct request *req, struct request_cert *rc)
{
	const struct config		*cfg = req->worker->cfg;
	const char			*h;
	SSL				*ssl;
	STACK_OF(X509)			*chain;
	enum client_cert_result		 r;

	memset(rc, 0, sizeof(*rc));
	rc->problem = "no_certificate";
	if (client_addr_trusted(req->peer, cfg->trusted_proxies,
	    cfg->n_trusted_proxies)) {
		if (request_header_count(req, "X-Client-Cert") > 1) {
			rc->problem = "certificate_header_repeated";
			return;
		}
		if ((h = request_header(req, "X-Client-Cert")) == NULL)
			return;
		r = client_cert_from_header(h, strlen(h), &rc->cert);
		if (r != CLIENT_CERT_OK && r != CLIENT_CERT_NONE)
			rc->problem = r == CLIENT_CERT_TOO_LONG ?
			    "certificate_header_too_long" :
			    "certificate_header_malformed";
		return;
	}
	if (req->conn == NULL || (ssl = conn_ssl(req->conn)) == NULL ||
	    (rc->cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return;
	if ((chain = SSL_get_peer_cert_chain(ssl)) != NULL)
		rc->chain = X509_chain_up_ref(chain);
}

static void
request_cert_finish(struct request_cert *rc)
{
	X509_free(rc->cert);
	if (rc->chain != NULL)
		sk_X509_pop_free(rc->chain, X509_free);
	memset(rc, 0, sizeof(*rc));
}

struct auth_op {
	struct request		*req;
	struct client_creds	 creds;
	client_auth_cb		 cb;
	void			*arg;
	const char		*reason;	/* of a failure */
	char			 source[AUTHFAIL_SOURCE_MAX];
	bool			 pending;	/* holds the source's pending
						   failure (authfail_check) */
	bool			 lookup;	/* db_client_lookup in flight */
	struct event		*hold;		/* a held attempt's timer */
	uint64_t		 hold_until;	/* now_usec() */
	int			 hold_ms;	/* the next wait */
	uint64_t		 sent_us;	/* now_usec() at the read */
	/* private_key_jwt: the verdict, and the jti to mark used */
	enum assertion_verdict	 verdict;
	struct assertion_info	 info;
	const struct client_record *checked;	/* compared, never read */
	struct db_op		 db;
	struct authfail_op	 fail;
	struct request_cert	 cert;		/* CREDS_VIA_TLS: owned */
};

/* A key client's JWK Set of one P-256 key, for decode_dummy_record(). */
static const char	 dummy_record_jwks[] = "{\"keys\":[{\"kty\":\"EC\","
    "\"crv\":\"P-256\",\"kid\":\"k1\","
    "\"x\":\"v4xDRLpGZK7P92SMLH_qYi9JbFDOsSEsfUP0QhTsVGw\","
    "\"y\":\"_itNTztv6-G9guzrohafp_MwXEnbCvD5IoYInv3eczc\"}]}";

/*
 * Without a record, decode this one instead (and throw it away), so that
 * an unknown client costs what a known one does: the timing of a failure
 * must not tell whether the client_id exists. With keys, decode only a
 * JWK Set, as a private_key_jwt client's record holds one: for an
 * assertion against a record without keys (none, or another method's).
 */
static void
decode_dummy_record(bool keys)
{
	static const char *const fields[] = {
		"secret", "scopes", "audience", "ttl", "claims", "disabled",
		"revoked_before", "introspect", "created_at", "updated_at",
		"generation",
	};
	const char		*values[nitems(fields)];
	size_t			 flens[nitems(fields)], vlens[nitems(fields)];
	struct client_record	*rec = NULL;
	size_t			 i;

	values[0] = secret_dummy_hash();
	values[1] = "read write";
	values[2] = "";
	values[3] = "0";
	values[4] = "{}";
	values[5] = "0";
	values[6] = "0";
	values[7] = "0";
	values[8] = "1700000000";
	values[9] = "1700000000";
	values[10] = "5f0c2a9e7d41b3c8.9a1e6f0b2c7d4e35";
	for (i = 0; i < nitems(fields); i++) {
		flens[i] = strlen(fields[i]);
		vlens[i] = strlen(values[i]);
	}
	struct json_object	*jwks = NULL;
	struct jwk_set		*set = NULL;

	if (keys) {
		/* as client_record's decode_jwks() does */
		(void)record_rules_jwk_set(dummy_record_jwks,
		    sizeof(dummy_record_jwks) - 1, &jwks, &set, NULL, 0);
		json_object_put(jwks);
		jwk_set_free(set);
		return;
	}
	if (client_record_decode("-", nitems(fields), fields, flens, values,
	    vlens, &rec, NULL, 0) == 0)
		client_record_free(rec);
}

/*
 * The check the table admits: one hash check, one assertion check or one
 * certificate check on every path, whatever the record says.
 */
struct secret_check {
	const struct client_record	*rec;	/* NULL: none */
	const struct client_creds	*creds;
	const struct request_cert	*cert;	/* CREDS_VIA_TLS, else NULL */
	struct request			*req;
	/* private_key_jwt */
	enum assertion_verdict		 verdict;
	struct assertion_info		*info;
	bool				 wrong_method;
};

/* The assertion rules of this server, now. */
static void
rules_for(const struct request *req, const char *client_id,
    struct assertion_rules *r, char *endpoint, size_t len)
{
	const struct config	*cfg = req->worker->cfg;
	size_t			 n = strlen(cfg->issuer);

	if (n > 0 && cfg->issuer[n - 1] == '/')
		n--;
	snprintf(endpoint, len, "%.*s/oauth/token", (int)n, cfg->issuer);
	r->client_id = client_id;
	r->issuer = cfg->issuer;
	r->token_endpoint = endpoint;
	r->now = time(NULL);
	r->max_age = cfg->assertion_max_age;
	r->leeway = cfg->leeway;
}

static bool
assertion_check_run(struct secret_check *c)
{
	const struct client_record	*rec = c->rec;
	struct assertion_rules		 r;
	char				 endpoint[1024];
	bool				 method;

	method = rec != NULL &&
	    rec->auth_method == AUTH_METHOD_PRIVATE_KEY_JWT &&
	    rec->jwk_keys != NULL;
	rules_for(c->req, c->creds->id, &r, endpoint, sizeof(endpoint));
	c->verdict = assertion_check_decoyed(method ? rec->jwk_keys : NULL,
	    assertion_decoys(), c->creds->assertion, c->creds->assertion_len, &r,
	    c->info);
	c->wrong_method = rec != NULL && !method;
	return c->verdict == ASSERTION_OK && method && !rec->disabled;
}

static bool
is_tls_method(const struct client_record *rec)
{
	return rec != NULL && (rec->auth_method == AUTH_METHOD_TLS ||
	    rec->auth_method == AUTH_METHOD_SELF_SIGNED_TLS);
}

/*
 * tls_client_auth without --tls-client-ca: refused, and said once per
 * client id (up to NO_CA_LOGGED_MAX ids) for the process's lifetime.
 */
#define NO_CA_LOGGED_MAX	4096

static pthread_mutex_t	 no_ca_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strmap	*no_ca_logged;	/* client id -> NULL */

static void
log_no_ca(const char *client_id)
{
	bool	 first = false;

	pthread_mutex_lock(&no_ca_lock);
	if (no_ca_logged == NULL)
		no_ca_logged = strmap_new();
	if (strmap_count(no_ca_logged) < NO_CA_LOGGED_MAX &&
	    !strmap_has(no_ca_logged, client_id)) {
		strmap_put(no_ca_logged, client_id, NULL, NULL);
		first = true;
	}
	pthread_mutex_unlock(&no_ca_lock);
	if (first)
		log_warnx("event=tls_client_ca_missing client_id=%s msg=\"a "
		    "tls_client_auth client is refused: no --tls-client-ca\"",
		    client_id);
}

/*
 * RFC 8705 2: the client sent its client_id and no secret, and the
 * certificate it presents is the record's: for tls_client_auth it chains
 * to the client CA store, now within its validity, and carries the
 * record's subject or SAN; for self_signed_tls_client_auth its
 * thumbprint is one of the record's.
 */
static bool
cert_check_run(const struct secret_check *c)
{
	const struct client_record	*rec = c->rec;
	X509_STORE			*ca;
	bool				 ok;

	if (c->creds->via != CREDS_VIA_TLS || c->cert == NULL ||
	    c->cert->cert == NULL)
		return false;
	if (rec->auth_method == AUTH_METHOD_SELF_SIGNED_TLS)
		return client_cert_thumbprint_match(c->cert->cert,
		    rec->tls_thumbprints, rec->n_tls_thumbprints);
	if ((ca = client_cert_ca_get()) == NULL) {
		log_no_ca(rec->id);
		return false;
	}
	ok = client_cert_pki_match(c->cert->cert, c->cert->chain, ca,
	    time(NULL), rec->tls_subject, rec->tls_san);
	X509_STORE_free(ca);
	return ok;
}

/*
 * Credentials that authenticate nobody (client_auth_refused()): the cost
 * of the check they stand for, and no.
 */
static bool
refused_check_run(struct secret_check *c)
{
	struct assertion_rules	 r;
	char			 endpoint[1024];

	if (c->creds->assertion != NULL) {
		rules_for(c->req, c->creds->id, &r, endpoint,
		    sizeof(endpoint));
		c->verdict = assertion_check_decoyed(NULL, assertion_decoys(),
		    c->creds->assertion, c->creds->assertion_len, &r, c->info);
	} else
		(void)secret_key_check(NULL, c->creds->secret,
		    c->creds->secret_len);
	return false;
}

static bool
secret_check_run(void *arg)
{
	struct secret_check		*c = arg;
	const struct client_record	*rec = c->rec;
	bool				 match, method;

	if (c->creds->refused != NULL)
		return refused_check_run(c);
	if (c->creds->assertion != NULL)
		return assertion_check_run(c);
	/*
	 * RFC 7591 token_endpoint_auth_method: client_secret_basic also
	 * accepts the body, client_secret_post only the body, the mutual-TLS
	 * methods only a certificate (RFC 8705 2: client_id alone in the
	 * body).
	 */
	if (is_tls_method(rec)) {
		/* a secret sent anyway costs its hash check, as everywhere */
		if (c->creds->secret != NULL)
			(void)secret_key_check(NULL, c->creds->secret,
			    c->creds->secret_len);
		c->wrong_method = c->creds->via != CREDS_VIA_TLS;
		return !c->wrong_method && cert_check_run(c) &&
		    !rec->disabled;
	}
	method = rec != NULL &&
	    (rec->auth_method == AUTH_METHOD_SECRET_BASIC ||
	    rec->auth_method == AUTH_METHOD_SECRET_POST) &&
	    (c->creds->via == CREDS_VIA_POST ||
	    (c->creds->via == CREDS_VIA_BASIC &&
	    rec->auth_method == AUTH_METHOD_SECRET_BASIC));
	c->wrong_method = rec != NULL && !method;
	match = secret_key_check(method ? rec->secret_key : NULL,
	    c->creds->secret, c->creds->secret_len);
	return match && method && !rec->disabled;
}

static void
check_init(struct secret_check *c, const struct client_record *rec,
    const struct client_creds *creds, struct request *req,
    struct assertion_info *info, const struct request_cert *cert)
{
	memset(c, 0, sizeof(*c));
	c->rec = rec;
	c->creds = creds;
	c->req = req;
	c->info = info;
	c->cert = cert;
}

static const char *
failure_reason(const struct client_record *rec, bool wrong_method,
    bool assertion, enum assertion_verdict v,
    const struct request_cert *cert)
{
	if (rec == NULL)
		return "unknown_client";
	if (rec->disabled)
		return "disabled";
	if (wrong_method)
		return "wrong_method";
	if (assertion)
		return v == ASSERTION_OK ? "replayed_jti" :
		    assertion_verdict_name(v);
	if (is_tls_method(rec))
		return cert == NULL || cert->cert == NULL ?
		    (cert != NULL ? cert->problem : "not_certificate_auth") :
		    "wrong_certificate";
	return "wrong_secret";
}

/*
 * A client that proved itself with a certificate gets tokens bound to it
 * (RFC 8705 3): the thumbprint goes to req->cnf_x5t.
 */
static void
bind_cert(struct request *req, const struct client_record *rec,
    const struct request_cert *cert)
{
	req->cnf_x5t[0] = '\0';
	if (is_tls_method(rec) && cert != NULL && cert->cert != NULL &&
	    client_cert_thumbprint(cert->cert, req->cnf_x5t) == -1)
		req->cnf_x5t[0] = '\0';
}

static void
count_outcome(struct request *req, enum client_auth_result result,
    const struct client_record *rec)
{
	if (result == CLIENT_AUTH_OK)
		view_client_issuing(req->worker->view, rec, now_usec());
	else if (result == CLIENT_AUTH_INVALID)
		metrics_auth_failure(&req->worker->metrics);
	else if (result == CLIENT_AUTH_LIMITED)
		metrics_auth_rate_limited(&req->worker->metrics);
}

/*
 * Answer: cb with rec borrowed; then op is freed and req released. A
 * pending failure op still holds is counted in the table (the request
 * ends without Redis having counted it).
 */
static void
auth_done(struct auth_op *op, enum client_auth_result result,
    const struct client_record *rec)
{
	struct request	*req = op->req;

	if (op->pending)
		authfail_uncounted(req, op->source);
	count_outcome(req, result, rec);
	client_creds_finish(&op->creds);
	if (op->hold != NULL)
		event_free(op->hold);
	if (result == CLIENT_AUTH_OK)
		bind_cert(req, rec, &op->cert);
	op->cb(req, result, rec, op->arg);
	request_cert_finish(&op->cert);
	free(op);
	request_release(req);
}

/* Answer at once, from inside client_auth_verify(): no op was needed. */
static void
answer_now(struct request *req, struct client_creds *creds,
    struct request_cert *cert, client_auth_cb cb, void *arg,
    enum client_auth_result result, const struct client_record *rec)
{
	count_outcome(req, result, rec);
	client_creds_finish(creds);
	if (result == CLIENT_AUTH_OK)
		bind_cert(req, rec, cert);
	request_hold(req);
	cb(req, result, rec, arg);
	request_cert_finish(cert);
	request_release(req);
}

/* The failure is counted (or needed no count): answer it. */
static void
auth_counted(void *arg)
{
	auth_done(arg, CLIENT_AUTH_INVALID, NULL);
}

/* A wrong secret checked: count it (the table's pending failure). */
static void
auth_failed(struct auth_op *op, const struct client_record *rec,
    bool wrong_method)
{
	op->reason = op->creds.refused != NULL ? op->creds.refused :
	    failure_reason(rec, wrong_method, op->creds.assertion != NULL,
	    op->verdict, op->creds.via == CREDS_VIA_TLS ? &op->cert : NULL);
	op->pending = false;	/* authfail_count() resolves it */
	/* an invalid presented id is logged; db.c counts only valid ones */
	authfail_count(&op->fail, op->req, op->source,
	    op->creds.shown_id != NULL ? op->creds.shown_id : op->creds.id,
	    op->reason, auth_counted, op);
}

static int	 attempt(struct auth_op *op);

static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_op	*op = arg;

	(void)fd;
	(void)what;
	if (attempt(op) == -1)
		auth_done(op, CLIENT_AUTH_UNAVAILABLE, NULL);
}

/*
 * The table holds op's source while a failure from it, waited_ms old, is
 * being counted: ask again a moment later. Give up with 503 when that
 * count is late (Redis is), after --request-timeout in all, or once the
 * client is gone or the worker drains.
 */
static void
hold(struct auth_op *op, int64_t waited_ms)
{
	struct request		*req = op->req;
	const struct config	*cfg = req->worker->cfg;
	struct timeval		 tv;

	if (op->hold == NULL) {
		op->hold = evtimer_new(req->worker->base, hold_cb, op);
		op->hold_until = now_usec() +
		    (uint64_t)cfg->request_timeout * 1000000;
		op->hold_ms = HOLD_MIN_MS;
	}
	tv.tv_sec = 0;
	tv.tv_usec = op->hold_ms * 1000;
	if (op->hold_ms < HOLD_MAX_MS)
		op->hold_ms *= 2;
	if (op->hold == NULL || req->gone || req->worker->draining ||
	    waited_ms > 2 * (int64_t)cfg->redis_timeout_ms + HOLD_SLACK_MS ||
	    now_usec() >= op->hold_until || evtimer_add(op->hold, &tv) == -1)
		auth_done(op, CLIENT_AUTH_UNAVAILABLE, NULL);
}

/*
 * Success on a record read from Redis (rec, taken): the view gets this
 * read, the newest, before anything is issued from it, so that this
 * worker verifies what it issues by the same record and generation.
 */
static void	 use_jti(struct auth_op *, const struct client_record *);

static void
learned(struct auth_op *op, const struct db_record *res,
    struct client_record *rec)
{
	const struct client_record	*vrec;

	vrec = view_learn_client(op->req->worker->view, rec, res, op->sent_us);
	if (op->creds.assertion != NULL)
		use_jti(op, vrec);
	else
		auth_done(op, CLIENT_AUTH_OK, vrec);
}

/*
 * The store's answer on a valid assertion's jti: the first use succeeds,
 * a replay is a failure counted like a wrong secret. The record is the
 * view's again (the one checked may have been replaced meanwhile: then
 * the new one is checked too).
 */
static void
jti_used(const struct db_once *res, void *arg)
{
	struct auth_op			*op = arg;
	struct request			*req = op->req;
	const struct client_record	*rec;
	struct secret_check		 c;
	struct assertion_info		 info;

	if (res->status != DB_OK) {
		auth_done(op, CLIENT_AUTH_UNAVAILABLE, NULL);
		return;
	}
	if (!res->fresh) {
		op->reason = "replayed_jti";
		authfail_count(&op->fail, req, op->source, op->creds.id,
		    op->reason, auth_counted, op);
		return;
	}
	rec = view_client(req->worker->view, op->creds.id);
	if (rec != NULL && rec != op->checked) {
		check_init(&c, rec, &op->creds, req, &info, NULL);
		if (!assertion_check_run(&c))
			rec = NULL;
	}
	if (rec == NULL || rec->disabled)
		auth_done(op, CLIENT_AUTH_INVALID, NULL);
	else
		auth_done(op, CLIENT_AUTH_OK, rec);
}

/*
 * A valid assertion from rec (the view's): mark its jti used, in one
 * command, before answering. Without the store: 503.
 */
static void
use_jti(struct auth_op *op, const struct client_record *rec)
{
	struct request		*req = op->req;
	const struct config	*cfg = req->worker->cfg;

	int64_t			 ttl;

	/* until the assertion could no longer pass here: exp + leeway */
	ttl = op->info.exp + cfg->leeway - (int64_t)time(NULL);
	op->checked = rec;
	if (db_jti_use(req->worker->store, &op->db, cfg->prefix, op->creds.id,
	    op->info.jti, ttl > 0 ? ttl : 1, jti_used, op) == -1)
		auth_done(op, CLIENT_AUTH_UNAVAILABLE, NULL);
}

/*
 * The record read from Redis: after the view's check said no (op->pending:
 * db_client_get), or while the view was not in sync (db_client_lookup, or
 * db_client_get with the limit off).
 */
static void
auth_looked_up(const struct db_record *res, void *arg)
{
	struct auth_op		*op = arg;
	struct request		*req = op->req;
	struct client_record	*rec;
	struct secret_check	 c;
	int64_t			 waited = 0;
	bool			 lookup = op->lookup;

	op->lookup = false;
	if (res->status != DB_OK) {
		auth_done(op, CLIENT_AUTH_UNAVAILABLE, NULL);
		return;
	}
	if (lookup) {
		/* Every instance's count of the source, for the table. */
		authfail_observe(req, op->source, res->fails_ip,
		    res->window_ms);
		if (res->locked) {
			/* Over the limit: no record, no secret check. */
			req->retry_after = authfail_retry_after(
			    req->worker->cfg, res->window_ms);
			auth_done(op, CLIENT_AUTH_LIMITED, NULL);
			return;
		}
	}
	if ((rec = db_record_decode(res)) == NULL)
		decode_dummy_record(false);
	/* an assertion against a record without keys: decode some too */
	if (op->creds.assertion != NULL && (rec == NULL ||
	    rec->jwk_keys == NULL))
		decode_dummy_record(true);
	check_init(&c, rec, &op->creds, req, &op->info, &op->cert);
	if (op->pending) {
		/* The second look: already admitted, the failure ours. */
		if (secret_check_run(&c)) {
			authfail_cancel(req, op->source);
			op->pending = false;
			learned(op, res, rec);
			return;
		}
		op->verdict = c.verdict;
		auth_failed(op, rec, c.wrong_method);
		client_record_free(rec);
		return;
	}
	switch (authfail_check(req, op->source, secret_check_run, &c,
	    &waited)) {
	case LIMITER_PASSED:
		learned(op, res, rec);
		return;
	case LIMITER_FAILED:
		op->verdict = c.verdict;
		auth_failed(op, rec, c.wrong_method);
		break;
	case LIMITER_LOCKED:
		auth_done(op, CLIENT_AUTH_LIMITED, NULL);
		break;
	case LIMITER_WAIT:
		/* Start over (a new read) once the table lets us. */
		hold(op, waited);
		break;
	}
	client_record_free(rec);
}

/*
 * Read the record from Redis for op: with the source's counter while the
 * view is not in sync and the limit is on. -1 when the store refused (op
 * untouched).
 */
static int
read_record(struct auth_op *op, bool in_sync)
{
	struct request		*req = op->req;
	const struct config	*cfg = req->worker->cfg;
	int			 rc;

	op->lookup = !in_sync && cfg->auth_fail_limit > 0;
	op->sent_us = now_usec();
	if (op->lookup)
		rc = db_client_lookup(req->worker->store, &op->db, cfg->prefix,
		    op->creds.id, op->source, cfg->auth_fail_limit,
		    auth_looked_up, op);
	else
		rc = db_client_get(req->worker->store, &op->db, cfg->prefix,
		    op->creds.id, auth_looked_up, op);
	if (rc == -1)
		op->lookup = false;
	return rc;
}

/*
 * One try at a held op: the same decisions as client_auth_verify(). 0
 * when op is answered or waits again (a timer, a store callback); -1 when
 * the store is not up or refused (op not answered: the caller answers
 * 503).
 */
static int
attempt(struct auth_op *op)
{
	struct request		*req = op->req;
	struct worker		*w = req->worker;
	struct secret_check	 c;
	enum limiter_result	 res;
	int64_t			 waited = 0;
	bool			 in_sync = view_in_sync(w->view);

	if (!store_is_up(w->store))
		return -1;
	if (in_sync) {
		check_init(&c, view_client(w->view, op->creds.id),
		    &op->creds, req, &op->info, &op->cert);
		res = authfail_check(req, op->source, secret_check_run, &c,
		    &waited);
		if (res == LIMITER_PASSED) {
			if (op->creds.assertion != NULL)
				use_jti(op, c.rec);
			else
				auth_done(op, CLIENT_AUTH_OK, c.rec);
			return 0;
		}
	} else
		res = authfail_peek(req, op->source, &waited);
	switch (res) {
	case LIMITER_LOCKED:
		auth_done(op, CLIENT_AUTH_LIMITED, NULL);
		return 0;
	case LIMITER_WAIT:
		hold(op, waited);
		return 0;
	case LIMITER_FAILED:
		op->pending = true;
		break;
	case LIMITER_PASSED:
		break;
	}
	return read_record(op, in_sync);
}

int
client_auth_verify(struct request *req, struct client_creds *creds,
    client_auth_cb cb, void *arg)
{
	struct worker		*w = req->worker;
	struct auth_op		*op;
	struct secret_check	 c;
	struct request_cert	 cert;
	struct assertion_info	 info;
	char			 source[AUTHFAIL_SOURCE_MAX];
	enum limiter_result	 res;
	int64_t			 waited = 0;
	bool			 in_sync = view_in_sync(w->view);
	bool			 passed = false;

	/* Failures are counted in Redis: without it, 503. */
	if (!store_is_up(w->store))
		return -1;
	authfail_source(req, source);
	memset(&cert, 0, sizeof(cert));
	if (creds->via == CREDS_VIA_TLS)
		request_cert_get(req, &cert);
	/*
	 * The view's record, in sync: a match on an enabled client, admitted
	 * by the table, is answered at once, with no Redis command. A view
	 * that is not in sync (the first read after start, or a re-read
	 * after a reconnect, not finished) may lack a change (a rotated
	 * secret, a disable): everything is read from Redis, the record and
	 * the source's counter in one round trip, and checked then.
	 */
	if (in_sync) {
		check_init(&c, view_client(w->view, creds->id), creds, req,
		    &info, &cert);
		res = authfail_check(req, source, secret_check_run, &c,
		    &waited);
		if (res == LIMITER_PASSED && creds->assertion == NULL) {
			answer_now(req, creds, &cert, cb, arg, CLIENT_AUTH_OK,
			    c.rec);
			return 0;
		}
		/* a valid assertion still needs its jti marked used */
		passed = res == LIMITER_PASSED;
	} else
		res = authfail_peek(req, source, &waited);
	if (res == LIMITER_LOCKED) {
		/* Over the limit: no record, no secret check. */
		answer_now(req, creds, &cert, cb, arg, CLIENT_AUTH_LIMITED,
		    NULL);
		return 0;
	}

	op = xcalloc(1, sizeof(*op));
	op->req = req;
	op->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	op->cert = cert;		/* taken over */
	op->cb = cb;
	op->arg = arg;
	memcpy(op->source, source, sizeof(op->source));
	request_hold(req);
	if (passed) {
		op->info = info;
		use_jti(op, c.rec);
		return 0;
	}
	if (res == LIMITER_WAIT) {
		hold(op, waited);
		return 0;
	}
	/*
	 * Anything but a match (no record, a wrong secret, disabled) is the
	 * source's pending failure: the record is read from Redis and the
	 * secret checked again, so that every failure costs the same, and a
	 * change the view has not heard of yet (a new client, a rotated
	 * secret) counts as soon as Redis has it.
	 */
	op->pending = res == LIMITER_FAILED;
	if (read_record(op, in_sync) == -1) {
		if (op->pending)
			authfail_uncounted(req, op->source);
		/* The credentials back: the caller's cleanup frees them. */
		*creds = op->creds;
		request_cert_finish(&op->cert);
		free(op);
		request_release(req);
		return -1;
	}
	return 0;
}

void
client_auth_reply_limited(struct request *req, int flags)
{
	char	 ra[16], desc[160], source[AUTHFAIL_SOURCE_MAX];

	authfail_source(req, source);
	snprintf(ra, sizeof(ra), "%d", req->retry_after);
	snprintf(desc, sizeof(desc), "too many failed client "
	    "authentications from %s; retry after %d s", source,
	    req->retry_after);
	reply_header(req, "Retry-After", ra);
	reply_error(req, 429, "too_many_requests", desc, flags);
}

void
client_auth_reply_invalid(struct request *req, int flags)
{
	reply_header(req, "WWW-Authenticate", "Basic realm=\"tokend\"");
	reply_error(req, 401, "invalid_client", "client authentication failed",
	    flags);
}

/*
 * RFC 8705 2: a client_id in the body, no secret, no assertion and no
 * Authorization header: the client's certificate is to prove it (the record says
 * whether it may). 0 with creds set (CREDS_VIA_TLS), or -1.
 */
static int
tls_creds(const struct request *req, const struct params *p,
    struct client_creds *creds)
{
	const char	*id = params_get(p, "client_id");
	const char	*secret = params_get(p, "client_secret");

	if (request_header(req, "Authorization") != NULL || id == NULL ||
	    id[0] == '\0' || (secret != NULL && secret[0] != '\0') ||
	    params_get(p, "client_assertion") != NULL ||
	    params_get(p, "client_assertion_type") != NULL ||
	    !params_is_vschar(id, strlen(id)))
		return -1;
	memset(creds, 0, sizeof(*creds));
	creds->id = xstrdup(id);
	creds->via = CREDS_VIA_TLS;
	return 0;
}

int
client_auth_form(struct request *req, struct params *p,
    struct client_creds *creds, int flags)
{
	const char		*body;
	size_t			 len;
	enum params_result	 pr;

	memset(creds, 0, sizeof(*creds));
	if (!request_content_type_is(req,
	    "application/x-www-form-urlencoded")) {
		reply_error(req, 400, "invalid_request", "the body must be "
		    "application/x-www-form-urlencoded", flags);
		return -1;
	}
	body = request_body(req, &len);
	if ((pr = params_parse_form(p, body != NULL ? body : "", len)) !=
	    PARAMS_OK) {
		reply_error(req, 400, "invalid_request",
		    pr == PARAMS_DUPLICATE ? "a parameter is repeated" :
		    "malformed form body", flags);
		return -1;
	}
	switch (client_auth_extract(req, p, creds)) {
	case CREDS_OK:
		return 0;
	case CREDS_BOTH:
		reply_error(req, 400, "invalid_request", "use one client "
		    "authentication method, not two", flags);
		return -1;
	case CREDS_INCOMPLETE:
		if (tls_creds(req, p, creds) == 0)
			return 0;
		/* FALLTHROUGH */
	case CREDS_MALFORMED:
		/* a failed authentication: counted like a wrong secret */
		client_auth_refused(p, "credentials", creds);
		return 0;
	case CREDS_NONE:
		break;
	}
	/* no credentials at all: nothing was tried, nothing is counted */
	client_auth_log_failure(req, params_get(p, "client_id"),
	    "credentials");
	client_auth_reply_invalid(req, flags);
	return -1;
}

void
client_auth_refused(const struct params *p, const char *reason,
    struct client_creds *creds)
{
	const char	*id = p != NULL ? params_get(p, "client_id") : NULL;
	const char	*jws = p != NULL ? params_get(p, "client_assertion") :
			    NULL;
	size_t		 len = jws != NULL ? strlen(jws) : 0;

	client_creds_finish(creds);
	creds->refused = reason;
	if (id != NULL && client_record_is_valid_id(id, strlen(id)))
		creds->id = xstrdup(id);
	else {
		creds->id = xstrdup("");
		/* the log escapes it; never longer than a long id */
		if (id != NULL && id[0] != '\0')
			creds->shown_id = xstrndup(id, CLIENT_CREDS_ID_MAX);
	}
	if (len > 0 && len <= ASSERTION_MAX_LEN) {
		creds->via = CREDS_VIA_ASSERTION;
		creds->assertion = xstrndup(jws, len);
		creds->assertion_len = len;
	} else {
		creds->via = CREDS_VIA_POST;
		creds->secret = xstrdup("");
		creds->secret_len = 0;
	}
}

void
client_auth_log_failure(const struct request *req, const char *client_id,
    const char *reason)
{
	metrics_auth_failure(&req->worker->metrics);
	authfail_log(req, client_id, reason, -1, -1);
}

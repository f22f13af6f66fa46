/*
 * handler_verify: GET|POST /verify, the original service's verifying call
 * and the hook of gateways (nginx auth_request, Traefik forwardAuth, Envoy
 * ext_authz).
 *
 * The token comes from "Authorization: Bearer <token>" (or a bare token in
 * that header, as the original service took it), or from `token` in a
 * form or JSON body; more than one way at once is invalid_request
 * (RFC 6750 2). ?scope=a+b lists scopes the token must all carry;
 * ?aud=X (repeatable) names audiences the token's aud must all contain.
 *   200 {"valid":true,"claims":{...}} + X-Token-Client-Id, X-Token-Scope,
 *       X-Token-Sub, X-Token-Aud (the audiences, space-separated)
 *       and, for a certificate-bound token, X-Token-Cnf-X5t
 *   401 invalid_token, reason binding_mismatch, for a certificate-bound
 *       token (cnf.x5t#S256, RFC 8705 3) without that certificate: the
 *       one X-Client-Cert (URL-encoded PEM) of a --trusted-proxies peer
 *       must have that thumbprint; from anyone else the header is ignored
 *   401 invalid_token, reason audience_mismatch, when an ?aud is not in
 *       the token's aud
 *   401 {"valid":false,"error":"invalid_token","error_description":...}
 *       + WWW-Authenticate: Bearer error="invalid_token" (RFC 6750 3);
 *       no token at all: the challenge carries no error (RFC 6750 3.1)
 *   403 insufficient_scope, the challenge naming the scope required
 *   400 invalid_request (two tokens, two Authorization headers, a
 *       malformed body or scope)
 *   503 temporarily_unavailable when the view of the store is not current
 *
 * DPoP-bound tokens (cnf.jkt, RFC 9449 7): "Authorization: DPoP <token>"
 * and one DPoP proof whose key's thumbprint is jkt, whose ath is the
 * token's hash, and whose htm and htu are the request the gateway decides
 * on: X-Forwarded-Method, X-Forwarded-Proto, X-Forwarded-Host and
 * X-Forwarded-Uri (all four, each once) when the peer is in
 * --trusted-proxies, else this request itself (its method, "https://" +
 * its Host + "/verify", with --plain-http too: plain HTTP is for running
 * behind a TLS proxy, and the URL a client signs is the proxy's https
 * one). The jti is used once within its window by every worker
 * (dpop_seen.h).
 *   401 invalid_token (binding_mismatch): a bound token as Bearer, or a
 *       token that is not bound with the DPoP scheme
 *   401 WWW-Authenticate: DPoP error="invalid_dpop_proof": no proof, more
 *       than one, a proof that fails (dpop_proof_invalid), of another key
 *       (binding_mismatch), or replayed (dpop_replay)
 *   200 as above, with X-Token-Cnf-Jkt
 * Only the proof costs a signature check: the token's own verification is
 * cached as any token's (tcache.h).
 * Every answer carries Cache-Control: no-store.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "client_cert.h"
#include "dpop.h"
#include "dpop_seen.h"
#include "handler.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "scope.h"
#include "token.h"
#include "verify.h"
#include "worker.h"

#define VERIFY_FLAGS	REPLY_NO_STORE
/* X-Token-Aud's room: more than a record's audiences (4096 bytes) */
#define VERIFY_AUD_HEADER_MAX	8192
/* ?aud parameters a request may give (PARAMS_MAX bounds the query) */
#define VERIFY_AUD_MAX		16

static void
verify_error(struct request *req, int status, const char *error,
    const char *description, const char *challenge)
{
	struct json_object	*obj = json_object_new_object();

	json_object_object_add(obj, "valid", json_object_new_boolean(0));
	json_object_object_add(obj, "error", json_object_new_string(error));
	if (description != NULL)
		json_object_object_add(obj, "error_description",
		    json_object_new_string(description));
	if (challenge != NULL)
		reply_header(req, "WWW-Authenticate", challenge);
	if (status == 503)
		reply_header(req, "Retry-After", "1");
	reply_json(req, status, obj, VERIFY_FLAGS);
}

/* The challenge of a DPoP-scheme answer (RFC 9449 7.1). */
#define DPOP_CHALLENGE(error) \
	"DPoP error=\"" error "\", algs=\"" DPOP_ALGS "\""

/*
 * The token of the Authorization header: "Bearer <token>" or
 * "DPoP <token>" (*dpop set; schemes in any case) or the bare token. *len
 * is its length. NULL when the header is absent or uses another scheme (a
 * space inside).
 */
static const char *
header_token(const struct request *req, size_t *len, bool *dpop)
{
	const char	*h = request_header(req, "Authorization");
	const char	*t;

	*dpop = false;
	if (h == NULL)
		return NULL;
	if (strncasecmp(h, "Bearer", 6) == 0 && (h[6] == ' ' || h[6] == '\t'))
		h += 7;
	else if (strncasecmp(h, "DPoP", 4) == 0 &&
	    (h[4] == ' ' || h[4] == '\t')) {
		h += 5;
		*dpop = true;
	}
	while (*h == ' ' || *h == '\t')
		h++;
	t = h;
	*len = strlen(t);
	while (*len > 0 && (t[*len - 1] == ' ' || t[*len - 1] == '\t'))
		(*len)--;
	if (*len == 0 || memchr(t, ' ', *len) != NULL)
		return NULL;
	return t;
}

/* The body's parameters; -1 (answered) when the body is unreadable. */
static int
body_params(struct request *req, struct params *p)
{
	const char	*body;
	size_t		 len;
	enum params_result r;

	if (strcmp(req->method, "POST") != 0)
		return 0;
	if ((body = request_body(req, &len)) == NULL)
		return 0;
	if (request_content_type_is(req, "application/json"))
		r = params_parse_json(p, body, len);
	else if (request_content_type_is(req,
	    "application/x-www-form-urlencoded"))
		r = params_parse_form(p, body, len);
	else
		return 0;	/* a body we do not read, e.g. a proxied one */
	if (r != PARAMS_OK) {
		verify_error(req, 400, "invalid_request", "malformed body",
		    "Bearer error=\"invalid_request\"");
		return -1;
	}
	return 0;
}

/*
 * The method and URL the proof must name (see the top): the gateway's
 * X-Forwarded-* from a trusted peer, else this request. htu is
 * normalised. Returns 0, or -1 when they cannot be told (a trusted peer
 * that sent some of the four but not all, or one twice, a scheme other
 * than http or https, no Host, a host with a path, query or fragment in
 * it, a URL that does not normalise).
 */
static int
proof_target(const struct request *req, const char **htm,
    char htu[DPOP_HTU_MAX + 1])
{
	const char		*m, *proto, *host, *uri;
	char			 url[DPOP_HTU_MAX + 1];
	int			 n;

	m = request_header(req, "X-Forwarded-Method");
	proto = request_header(req, "X-Forwarded-Proto");
	host = request_header(req, "X-Forwarded-Host");
	uri = request_header(req, "X-Forwarded-Uri");
	if ((m != NULL || proto != NULL || host != NULL || uri != NULL) &&
	    request_peer_trusted(req)) {
		/*
		 * Each once: a gateway that adds its own after a client's
		 * (rather than replacing it) sends two, and the first would
		 * be the client's.
		 */
		if (m == NULL || proto == NULL || host == NULL || uri == NULL ||
		    uri[0] != '/' ||
		    request_header_count(req, "X-Forwarded-Method") != 1 ||
		    request_header_count(req, "X-Forwarded-Proto") != 1 ||
		    request_header_count(req, "X-Forwarded-Host") != 1 ||
		    request_header_count(req, "X-Forwarded-Uri") != 1)
			return -1;
		if (strcasecmp(proto, "https") != 0 &&
		    strcasecmp(proto, "http") != 0)
			return -1;
		*htm = m;
	} else {
		if ((host = request_header(req, "Host")) == NULL)
			return -1;
		*htm = req->method;
		proto = "https";
		uri = "/verify";
	}
	/*
	 * The host is a host (and port): with a "/", "?" or "#" in it the
	 * URL would end where it says, and a proof made for another URL
	 * would pass.
	 */
	if (strpbrk(host, "/?#") != NULL)
		return -1;
	n = snprintf(url, sizeof(url), "%s://%s%s", proto, host, uri);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -1;
	return dpop_htu_normalize(url, (size_t)n, htu);
}

/*
 * The binding of a token that verified: 0 when the way it was presented
 * fits its cnf, else -1 with req answered and the failure counted.
 */
static int
check_binding(struct request *req, const char *token, size_t len,
    const struct token_claims *c, bool dpop_scheme)
{
	const struct config	*cfg = req->worker->cfg;
	struct dpop_expect	 e;
	struct dpop_proof	 proof;
	enum dpop_verdict	 v;
	const char		*h, *reason, *detail, *jkt;
	char			 htu[DPOP_HTU_MAX + 1];
	char			 ath[DPOP_B64_SHA256_LEN + 1], desc[128];
	size_t			 n;
	bool			 bad;

	if ((jkt = token_claims_cnf_jkt(c, &bad)) == NULL && !bad &&
	    !dpop_scheme)
		return 0;
	memset(&proof, 0, sizeof(proof));
	memset(&e, 0, sizeof(e));
	detail = "-";
	if (jkt == NULL || !dpop_scheme) {
		reason = VERIFY_REASON_BINDING;
		detail = bad ? "a malformed cnf" : dpop_scheme ?
		    "not a DPoP-bound token" :
		    "a DPoP-bound token needs the DPoP scheme";
		goto refuse_token;
	}
	reason = VERIFY_REASON_DPOP_PROOF_INVALID;
	if ((n = request_header_count(req, "DPoP")) != 1) {
		detail = n == 0 ? "missing" : "several";
		goto refuse_proof;
	}
	h = request_header(req, "DPoP");
	if (proof_target(req, &e.htm, htu) == -1) {
		detail = "no_target";
		goto refuse_proof;
	}
	if (dpop_ath(token, len, ath) == -1) {
		reply_error(req, 500, "server_error", NULL, VERIFY_FLAGS);
		return -1;
	}
	e.htu = htu;
	e.ath = ath;
	e.now = time(NULL);
	e.max_age = cfg->dpop_max_age;
	e.leeway = cfg->leeway;
	if ((v = dpop_proof_check(h, strlen(h), &e, &proof)) != DPOP_OK) {
		detail = dpop_verdict_name(v);
		goto refuse_proof;
	}
	/* constant time is not needed: a thumbprint is public */
	if (strcmp(proof.jkt, jkt) != 0) {
		reason = VERIFY_REASON_BINDING;
		detail = "key_mismatch";
		goto refuse_proof;
	}
	switch (dpop_seen_use(dpop_seen_process(), proof.jkt, proof.jti,
	    (int64_t)e.now, (int64_t)proof.iat + cfg->dpop_max_age +
	    cfg->leeway + 1)) {
	case DPOP_SEEN_FRESH:
		return 0;
	case DPOP_SEEN_REPLAY:
		reason = VERIFY_REASON_DPOP_REPLAY;
		detail = "replay";
		break;
	case DPOP_SEEN_FULL:
		log_warnx("event=dpop_seen_full request_id=%s",
		    req->request_id);
		detail = "table_full";
		break;
	}
refuse_proof:
	metrics_verify_failure(&req->worker->metrics, reason);
	log_info("event=verify_failed reason=%s detail=%s jti=%.64s "
	    "proof_jti=%.64s client=%s request_id=%s", reason, detail,
	    c->jti, proof.jti[0] != '\0' ? proof.jti : "-", req->client,
	    req->request_id);
	snprintf(desc, sizeof(desc), "DPoP proof rejected: %s", detail);
	verify_error(req, 401, "invalid_dpop_proof", desc,
	    DPOP_CHALLENGE("invalid_dpop_proof"));
	return -1;
refuse_token:
	metrics_verify_failure(&req->worker->metrics, reason);
	log_info("event=verify_failed reason=%s detail=%s jti=%.64s "
	    "client=%s request_id=%s", reason, detail, c->jti, req->client,
	    req->request_id);
	snprintf(desc, sizeof(desc), "token rejected: %s", detail);
	verify_error(req, 401, "invalid_token", desc, dpop_scheme ?
	    DPOP_CHALLENGE("invalid_token") :
	    "Bearer error=\"invalid_token\"");
	return -1;
}

static void
add_identity_headers(struct request *req, const struct token_claims *c)
{
	char	 aud[VERIFY_AUD_HEADER_MAX];

	reply_header(req, "X-Token-Client-Id", c->client_id);
	reply_header(req, "X-Token-Sub", c->sub);
	reply_header(req, "X-Token-Scope", c->scope != NULL ? c->scope : "");
	/* an aud too long for a header is left out, never cut */
	if (token_claims_aud_join(c, aud, sizeof(aud)) > 0)
		reply_header(req, "X-Token-Aud", aud);
}

/*
 * Whether the certificate the gateway presents for this request has the
 * thumbprint x5t (RFC 8705 3): exactly one X-Client-Cert, from a peer in
 * --trusted-proxies (from anyone else the header is ignored, so there is
 * no certificate), that decodes to one certificate.
 */
static bool
cert_binding_holds(const struct request *req, const char *x5t)
{
	const char	*val;
	X509		*cert = NULL;
	char		 tp[CLIENT_CERT_THUMBPRINT_LEN + 1];
	bool		 ok = false;

	if (!request_peer_trusted(req) ||
	    request_header_count(req, "X-Client-Cert") != 1 ||
	    (val = request_header(req, "X-Client-Cert")) == NULL ||
	    client_cert_from_header(val, strlen(val), &cert) !=
	    CLIENT_CERT_OK)
		return false;
	if (client_cert_thumbprint(cert, tp) == 0 &&
	    strlen(x5t) == strlen(tp) &&
	    CRYPTO_memcmp(x5t, tp, strlen(tp)) == 0)
		ok = true;
	X509_free(cert);
	return ok;
}

/* Whether the token's aud contains every one of the n wanted. */
static bool
aud_matches(const struct token_claims *c, const char *const *want,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!token_claims_has_aud(c, want[i]))
			return false;
	return true;
}

/*
 * A token that verified but fails a check of this request (reason one of
 * verify_request_reasons): counted, logged by jti, answered 401.
 */
static void
reject(struct request *req, const struct verify_outcome *v,
    const char *reason)
{
	char	 desc[128];

	metrics_verify_failure(&req->worker->metrics, reason);
	log_info("event=verify_failed reason=%s jti=%.64s client=%s "
	    "request_id=%s", reason, v->claims->jti, req->client,
	    req->request_id);
	snprintf(desc, sizeof(desc), "token rejected: %s", reason);
	verify_error(req, 401, "invalid_token", desc,
	    "Bearer error=\"invalid_token\"");
}

void
handler_verify(struct request *req)
{
	static const char *const repeatable[] = { "aud", NULL };
	struct params		 p, query;
	struct scope_set	 need, have;
	struct verify_outcome	 v;
	const char		*token, *body_token, *qs, *scope_q;
	const char		*aud[VERIFY_AUD_MAX], *x5t, *jkt;
	char			 desc[128], challenge[SCOPE_MAX_LEN + 64];
	bool			 want_scope, dpop_scheme, bad_cnf;
	size_t			 len = 0, i, n_aud;

	params_init(&p);
	params_init(&query);
	params_allow_repeat(&query, repeatable);
	scope_set_init(&need);
	scope_set_init(&have);
	memset(&v, 0, sizeof(v));

	/*
	 * A query that cannot be read must not pass as "no scope required":
	 * it is refused, as is a repeated scope parameter.
	 */
	if ((qs = request_query(req)) != NULL &&
	    params_parse_form(&query, qs, strlen(qs)) != PARAMS_OK) {
		verify_error(req, 400, "invalid_request", "malformed query",
		    NULL);
		goto out;
	}
	scope_q = params_get(&query, "scope");
	want_scope = scope_q != NULL && scope_q[0] != '\0';
	if (want_scope && scope_parse(scope_q, strlen(scope_q), SCOPE_DEDUP,
	    &need) != SCOPE_OK) {
		verify_error(req, 400, "invalid_request",
		    "malformed scope parameter", NULL);
		goto out;
	}
	/* an empty ?aud= names nothing (RFC 6749 3.1), as ?scope= */
	n_aud = 0;
	for (i = 0; i < query.count; i++) {
		if (strcmp(query.items[i].name, "aud") != 0 ||
		    query.items[i].value[0] == '\0')
			continue;
		if (n_aud == VERIFY_AUD_MAX) {
			verify_error(req, 400, "invalid_request",
			    "too many aud parameters", NULL);
			goto out;
		}
		aud[n_aud++] = query.items[i].value;
	}
	if (body_params(req, &p) == -1)
		goto out;
	/*
	 * One Authorization header: with two, the token checked here and the
	 * one the service behind a gateway reads could differ.
	 */
	if (request_header_count(req, "Authorization") > 1) {
		verify_error(req, 400, "invalid_request",
		    "more than one Authorization header",
		    "Bearer error=\"invalid_request\"");
		goto out;
	}
	token = header_token(req, &len, &dpop_scheme);
	body_token = params_get(&p, "token");
	if (body_token != NULL && body_token[0] == '\0')
		body_token = NULL;
	if (token != NULL && body_token != NULL) {
		verify_error(req, 400, "invalid_request", "more than one token",
		    "Bearer error=\"invalid_request\"");
		goto out;
	}
	if (token == NULL && body_token != NULL) {
		token = body_token;
		len = strlen(token);
	}
	if (token == NULL) {
		verify_error(req, 401, "invalid_token", "no token",
		    "Bearer realm=\"tokend\"");
		goto out;
	}

	verify_token(req->worker, token, len, time(NULL), &v);
	if (v.result != VERIFY_OK)
		metrics_verify_failure(&req->worker->metrics,
		    verify_reason(&v));
	if (v.result == VERIFY_UNAVAILABLE) {
		verify_error(req, 503, "temporarily_unavailable",
		    "the revocation state cannot be read", NULL);
		goto out;
	}
	if (v.result != VERIFY_OK) {
		/*
		 * client= is the source address, as in the access and
		 * auth_failed lines: the peer's, or the last X-Forwarded-For
		 * hop a --trusted-proxies gateway added.
		 */
		log_info("event=verify_failed reason=%s jti=%.64s client=%s "
		    "request_id=%s", verify_reason(&v), v.claims != NULL ?
		    v.claims->jti : "-", req->client, req->request_id);
		snprintf(desc, sizeof(desc), "token rejected: %s",
		    verify_reason(&v));
		verify_error(req, 401, "invalid_token", desc, dpop_scheme ?
		    DPOP_CHALLENGE("invalid_token") :
		    "Bearer error=\"invalid_token\"");
		goto out;
	}
	x5t = token_claims_cnf_x5t(v.claims, &bad_cnf);
	if (bad_cnf || (x5t != NULL && !cert_binding_holds(req, x5t))) {
		reject(req, &v, VERIFY_REASON_BINDING);
		goto out;
	}
	if (check_binding(req, token, len, v.claims, dpop_scheme) == -1)
		goto out;
	if (!aud_matches(v.claims, aud, n_aud)) {
		reject(req, &v, VERIFY_REASON_AUDIENCE);
		goto out;
	}
	if (want_scope) {
		const char	*s = v.claims->scope != NULL ? v.claims->scope :
		    "";

		if (scope_parse(s, strlen(s), SCOPE_DEDUP, &have) != SCOPE_OK ||
		    !scope_is_subset(&need, &have)) {
			size_t	 o;

			o = (size_t)snprintf(challenge, sizeof(challenge),
			    "Bearer error=\"insufficient_scope\", scope=\"");
			for (i = 0; i < need.n && o < sizeof(challenge); i++)
				o += (size_t)snprintf(challenge + o,
				    sizeof(challenge) - o, "%s%s",
				    i > 0 ? " " : "", need.v[i]);
			if (o < sizeof(challenge))
				snprintf(challenge + o, sizeof(challenge) - o,
				    "\"");
			verify_error(req, 403, "insufficient_scope",
			    "the token lacks a required scope", challenge);
			goto out;
		}
	}
	{
		struct jsonw	 w;

		jsonw_init(&w, 1024);
		jsonw_lit(&w, "{\"valid\":true,\"claims\":");
		reply_put_json(&w, v.claims->payload);
		jsonw_raw(&w, "}", 1);
		add_identity_headers(req, v.claims);
		if (x5t != NULL)
			reply_header(req, "X-Token-Cnf-X5t", x5t);
		if ((jkt = token_claims_cnf_jkt(v.claims, &bad_cnf)) != NULL)
			reply_header(req, "X-Token-Cnf-Jkt", jkt);
		reply_raw_json(req, 200, w.buf, w.len, VERIFY_FLAGS);
		jsonw_free(&w);
	}
out:
	verify_outcome_finish(&v);
	scope_set_finish(&have);
	scope_set_finish(&need);
	params_finish(&query);
	params_finish(&p);
}

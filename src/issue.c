/*
 * issue: the token an authenticated client gets: RFC 9068 claims from the
 * configuration and the client record, signed with the current signing
 * key. The scope granted is the requested one when it is a subset of the
 * client's allowed scopes, else the request fails with invalid_scope; no
 * scope parameter means all of the allowed ones. The audience is the
 * requested resources (RFC 8707), each one of the record's audiences,
 * else the request fails with invalid_target; none requested means the
 * record's first audience, or --default-audience.
 *
 * The clock is the caller's (now): nothing here reads the time, so a test
 * can issue at a fixed moment.
 */
#include <stdlib.h>
#include <string.h>

#include "client_record.h"
#include "config.h"
#include "issue.h"
#include "keys.h"
#include "scope.h"

enum issue_result
issue_audience(const struct client_record *rec,
    const char *const *resources, size_t n_resources, const char **out,
    size_t *n_out)
{
	size_t	 i, j, n = 0;

	*n_out = 0;
	for (i = 0; i < n_resources; i++) {
		/* RFC 6749 3.1: a parameter without a value is omitted */
		if (resources[i][0] == '\0')
			continue;
		/* byte for byte: the resource server compares aud so */
		for (j = 0; j < rec->n_audiences; j++)
			if (strcmp(resources[i], rec->audiences[j]) == 0)
				break;
		if (j == rec->n_audiences)
			return ISSUE_INVALID_TARGET;
		for (j = 0; j < n; j++)
			if (strcmp(out[j], resources[i]) == 0)
				break;
		if (j == n)
			out[n++] = resources[i];
	}
	*n_out = n;
	return ISSUE_OK;
}

enum issue_result
issue_token(const struct config *cfg, const struct keyset *keys,
    const struct client_record *rec, const char *requested,
    const char *const *resources, size_t n_resources, time_t now,
    struct issued *out)
{
	return issue_token_bound(cfg, keys, rec, requested, resources,
	    n_resources, now, NULL, NULL, out);
}

enum issue_result
issue_token_bound(const struct config *cfg, const struct keyset *keys,
    const struct client_record *rec, const char *requested,
    const char *const *resources, size_t n_resources, time_t now,
    const char *cnf_x5t, const char *cnf_jkt, struct issued *out)
{
	struct token_params	 tp;
	struct scope_set	 want;
	const char		*aud[ISSUE_RESOURCES_MAX];
	size_t			 n_aud = 0;
	enum issue_result	 r = ISSUE_ERROR;

	memset(out, 0, sizeof(*out));
	scope_set_init(&want);
	if (n_resources > ISSUE_RESOURCES_MAX ||
	    issue_audience(rec, resources, n_resources, aud, &n_aud) !=
	    ISSUE_OK) {
		r = ISSUE_INVALID_TARGET;
		goto out;
	}
	if (requested != NULL) {
		if (scope_parse(requested, strlen(requested), SCOPE_DEDUP,
		    &want) != SCOPE_OK || !scope_is_subset(&want,
		    &rec->scopes)) {
			r = ISSUE_INVALID_SCOPE;
			goto out;
		}
		out->scope = want.n > 0 ? scope_join(&want) : NULL;
	} else {
		out->scope = rec->scopes.n > 0 ? scope_join(&rec->scopes) :
		    NULL;
	}
	memset(&tp, 0, sizeof(tp));
	tp.issuer = cfg->issuer;
	tp.typ = cfg->token_typ == TOKEN_TYP_JWT ? "JWT" : "at+jwt";
	tp.client_id = rec->id;
	/* the record's generation, "" for a record without one: the token
	   is verified against the same record (verify.h) */
	tp.client_gen = rec->generation;
	tp.audience = n_aud > 0 ? aud[0] : rec->audience != NULL ?
	    rec->audience : cfg->default_audience;
	tp.audiences = aud;
	tp.n_audiences = n_aud;
	tp.iat = now;
	tp.ttl = rec->ttl > 0 ? rec->ttl : cfg->token_ttl;
	tp.scope = out->scope;
	tp.extra_claims = rec->claims;
	tp.cnf_x5t = cnf_x5t;
	tp.cnf_jkt = cnf_jkt;
	if (token_issue(keyset_signing_key(keys), &tp, &out->jws,
	    out->jti) != 0)
		goto out;
	/*
	 * Never a token that verification would refuse as too large: long
	 * audiences asked for together can push it past the cap; fewer
	 * resources at a time fit.
	 */
	if (n_aud >= 2 && strlen(out->jws) > TOKEN_MAX_LEN) {
		r = ISSUE_INVALID_TARGET;
		goto out;
	}
	out->expires_in = tp.ttl;
	r = ISSUE_OK;
out:
	scope_set_finish(&want);
	if (r != ISSUE_OK)
		issued_finish(out);
	return r;
}

void
issued_finish(struct issued *t)
{
	free(t->jws);
	free(t->scope);
	memset(t, 0, sizeof(*t));
}

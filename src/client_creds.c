/*
 * client_creds: find a request's client credentials in its Authorization
 * header value and its parsed body (see include/client_creds.h).
 *
 * Leaves to others: reading the header and parsing the body (request.c,
 * params.c), checking the secret and answering (client_auth.c).
 *
 * Invariants: one authentication method per request (RFC 6749 2.3); the
 * secret is wiped before it is freed, on every path; on anything but
 * CREDS_OK the caller is left with nothing to free.
 */
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "client_creds.h"
#include "params.h"
#include "util.h"

void
client_creds_finish(struct client_creds *c)
{
	free(c->id);
	free(c->shown_id);
	free(c->assertion);
	if (c->secret != NULL) {
		secret_wipe(c->secret, c->secret_len);
		free(c->secret);
	}
	memset(c, 0, sizeof(*c));
}

/*
 * private_key_jwt (RFC 7521 4.2, RFC 7523 2.2): client_assertion_type and
 * client_assertion; the client is the one client_id names, or else the
 * assertion's sub, and the two must agree.
 */
static enum client_creds_result
extract_assertion(bool other_method, const char *body_id,
    const struct params *params, struct client_creds *creds)
{
	const char	*type = params_get(params, "client_assertion_type");
	const char	*jws = params_get(params, "client_assertion");
	char		 sub[CLIENT_CREDS_ID_MAX + 1];
	size_t		 len;

	/* RFC 6749 2.3: one authentication method per request. */
	if (other_method)
		return CREDS_BOTH;
	if (type == NULL || type[0] == '\0' || jws == NULL || jws[0] == '\0')
		return CREDS_INCOMPLETE;
	len = strlen(jws);
	if (strcmp(type, ASSERTION_TYPE_JWT_BEARER) != 0 ||
	    len > ASSERTION_MAX_LEN ||
	    assertion_subject(jws, len, sub, sizeof(sub)) == -1 ||
	    (body_id != NULL && strcmp(body_id, sub) != 0) ||
	    !params_is_vschar(sub, strlen(sub)))
		return CREDS_MALFORMED;
	creds->via = CREDS_VIA_ASSERTION;
	creds->id = xstrdup(sub);
	creds->assertion = xstrndup(jws, len);
	creds->assertion_len = len;
	return CREDS_OK;
}

enum client_creds_result
client_creds_extract(const char *auth, const struct params *params,
    struct client_creds *creds)
{
	const char	*body_id = NULL, *body_secret = NULL;
	char		*id = NULL, *secret = NULL;

	memset(creds, 0, sizeof(*creds));
	if (params != NULL) {
		body_id = params_get(params, "client_id");
		body_secret = params_get(params, "client_secret");
		/* RFC 6749 3.2: a parameter without a value is omitted. */
		if (body_id != NULL && body_id[0] == '\0')
			body_id = NULL;
		if (body_secret != NULL && body_secret[0] == '\0')
			body_secret = NULL;
	}
	if (params != NULL && (params_get(params, "client_assertion") !=
	    NULL || params_get(params, "client_assertion_type") != NULL))
		return extract_assertion(auth != NULL || body_secret != NULL,
		    body_id, params, creds);
	if (auth != NULL) {
		/* RFC 6749 2.3: one authentication method per request. */
		if (body_secret != NULL)
			return CREDS_BOTH;
		if (params_parse_basic(auth, &id, &secret) != PARAMS_OK)
			return CREDS_MALFORMED;
		/* A client_id in the body must name the same client. */
		if (body_id != NULL && strcmp(body_id, id) != 0) {
			free(id);
			secret_free_str(secret);
			return CREDS_BOTH;
		}
		creds->via = CREDS_VIA_BASIC;
	} else {
		if (body_id == NULL && body_secret == NULL)
			return CREDS_NONE;
		if (body_id == NULL || body_secret == NULL)
			return CREDS_INCOMPLETE;
		id = xstrdup(body_id);
		secret = xstrdup(body_secret);
		creds->via = CREDS_VIA_POST;
	}
	creds->id = id;
	creds->secret = secret;
	creds->secret_len = strlen(secret);
	/* RFC 6749 appendix A: both are VSCHAR. */
	if (!params_is_vschar(id, strlen(id)) ||
	    !params_is_vschar(secret, creds->secret_len)) {
		client_creds_finish(creds);
		return CREDS_MALFORMED;
	}
	return CREDS_OK;
}

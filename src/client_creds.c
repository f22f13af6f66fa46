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

#include "client_creds.h"
#include "params.h"
#include "util.h"

void
client_creds_finish(struct client_creds *c)
{
	free(c->id);
	if (c->secret != NULL) {
		secret_wipe(c->secret, c->secret_len);
		free(c->secret);
	}
	memset(c, 0, sizeof(*c));
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

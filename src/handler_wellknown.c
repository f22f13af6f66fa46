/*
 * handler_wellknown: the two public discovery documents.
 *
 *   GET /.well-known/jwks.json                  RFC 7517 key set: the
 *       signing key and the retired keys, public parts only ({"keys":[]}
 *       with HS256). The document is built once per key set (keys.c).
 *   GET /.well-known/oauth-authorization-server RFC 8414 metadata, every
 *       URL built from --issuer.
 *
 * Both may be cached briefly by clients: a key rotation is announced by
 * adding the new key as retired first (docs/operations.md, "Keys and
 * rotation"), so a minute of caching never hides a key that signs.
 */
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "handler.h"
#include "keys.h"
#include "reply.h"
#include "request.h"
#include "util.h"
#include "worker.h"

#define WELLKNOWN_CACHE	"public, max-age=60"

void
handler_jwks(struct request *req)
{
	const char	*doc;
	size_t		 len;

	doc = keyset_jwks_json(req->worker->keys, &len);
	reply_header(req, "Cache-Control", WELLKNOWN_CACHE);
	reply_raw_json(req, 200, doc, len, 0);
}

static struct json_object *
string_array(const char *const *items, size_t n)
{
	struct json_object	*a = json_object_new_array();
	size_t			 i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(items[i]));
	return a;
}

/* issuer + path, without doubling a trailing '/' of the issuer. */
static struct json_object *
endpoint(const char *issuer, const char *path)
{
	size_t	 n = strlen(issuer);
	char	 buf[1024];

	if (n > 0 && issuer[n - 1] == '/')
		n--;
	snprintf(buf, sizeof(buf), "%.*s%s", (int)n, issuer, path);
	return json_object_new_string(buf);
}

void
handler_metadata(struct request *req)
{
	static const char *const grants[] = { "client_credentials" };
	static const char *const auth_methods[] = {
		"client_secret_basic", "client_secret_post", "private_key_jwt",
		"tls_client_auth", "self_signed_tls_client_auth",
	};
	/* private_key_jwt: the algorithms a client's keys pin (jwk.h) */
	static const char *const assertion_algs[] = {
		"ES256", "ES384", "PS256", "RS256", "EdDSA",
	};
	/* dpop.h's DPOP_ALGS, in its order */
	static const char *const dpop_algs[] = {
		"ES256", "ES384", "PS256", "RS256", "EdDSA",
	};
	const struct config	*cfg = req->worker->cfg;
	struct json_object	*m = json_object_new_object();

	json_object_object_add(m, "issuer",
	    json_object_new_string(cfg->issuer));
	json_object_object_add(m, "token_endpoint",
	    endpoint(cfg->issuer, "/oauth/token"));
	json_object_object_add(m, "jwks_uri",
	    endpoint(cfg->issuer, "/.well-known/jwks.json"));
	json_object_object_add(m, "introspection_endpoint",
	    endpoint(cfg->issuer, "/oauth/introspect"));
	json_object_object_add(m, "revocation_endpoint",
	    endpoint(cfg->issuer, "/oauth/revoke"));
	json_object_object_add(m, "grant_types_supported",
	    string_array(grants, 1));
	/* RFC 8414 requires the member; no authorization endpoint, none. */
	json_object_object_add(m, "response_types_supported",
	    json_object_new_array());
	json_object_object_add(m, "token_endpoint_auth_methods_supported",
	    string_array(auth_methods, nitems(auth_methods)));
	json_object_object_add(m,
	    "introspection_endpoint_auth_methods_supported",
	    string_array(auth_methods, nitems(auth_methods)));
	json_object_object_add(m, "revocation_endpoint_auth_methods_supported",
	    string_array(auth_methods, nitems(auth_methods)));
	/* RFC 8705 3.3: tokens of a certificate-authenticated client carry
	   cnf x5t#S256. */
	json_object_object_add(m,
	    "tls_client_certificate_bound_access_tokens",
	    json_object_new_boolean(1));
	json_object_object_add(m,
	    "token_endpoint_auth_signing_alg_values_supported",
	    string_array(assertion_algs, nitems(assertion_algs)));
	json_object_object_add(m,
	    "introspection_endpoint_auth_signing_alg_values_supported",
	    string_array(assertion_algs, nitems(assertion_algs)));
	json_object_object_add(m,
	    "revocation_endpoint_auth_signing_alg_values_supported",
	    string_array(assertion_algs, nitems(assertion_algs)));
	/* RFC 9449 5.1 */
	json_object_object_add(m, "dpop_signing_alg_values_supported",
	    string_array(dpop_algs, nitems(dpop_algs)));
	reply_header(req, "Cache-Control", WELLKNOWN_CACHE);
	reply_json(req, 200, m, 0);
}

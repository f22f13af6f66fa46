/*
 * test_keys: loading the fixed keys of test/data/keys (accepted and
 * refused, with the right one-line error), kids (RFC 7638), the JWKS
 * document, retired keys, reference counting, and the signature
 * primitives' own checks.
 *
 * The RFC 7515 appendix A known answers are in test_token.c, next to
 * the token tests that build on them.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "test.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name test/data/keys"
#endif

#define RFC7638_KID	"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static char	 tmpdir[64];

/* A path in the data directory; a few live at once. */
static const char *
data(const char *name)
{
	static char	 bufs[8][512];
	static int	 n;
	char		*p = bufs[n++ % 8];

	snprintf(p, sizeof(bufs[0]), "%s/%s", TEST_DATA_DIR, name);
	return p;
}

/*
 * keyset_load() with a config naming the signing key (or the HS256
 * secret when hs is set) and the NULL-terminated retired list.
 */
static struct keyset *
load_ex(const char *signing, const char *hs, const char *kid,
    const char *const *retired, char *err, size_t errlen)
{
	struct config	 cfg;
	struct keyset	*ks;
	size_t		 i, n = 0;

	memset(&cfg, 0, sizeof(cfg));
	while (retired != NULL && retired[n] != NULL)
		n++;
	cfg.signing_key = signing != NULL ? xstrdup(signing) : NULL;
	cfg.hs256_secret_file = hs != NULL ? xstrdup(hs) : NULL;
	cfg.hs256_kid = kid != NULL ? xstrdup(kid) : NULL;
	cfg.retired_keys = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		cfg.retired_keys[i] = xstrdup(retired[i]);
	cfg.n_retired_keys = n;
	err[0] = '\0';
	ks = keyset_load(&cfg, err, errlen);
	for (i = 0; i < n; i++)
		free(cfg.retired_keys[i]);
	free(cfg.retired_keys);
	free(cfg.signing_key);
	free(cfg.hs256_secret_file);
	free(cfg.hs256_kid);
	return ks;
}

static struct keyset *
load(const char *signing_name)
{
	char	 err[512];

	return load_ex(data(signing_name), NULL, NULL, NULL, err, sizeof(err));
}

/* The error for a refused signing key starts with the flag and path. */
static int
refused(const char *flag, const char *path, const char *reason,
    const char *const *retired, int hs)
{
	struct keyset	*ks;
	char		 err[512], want[1024];

	if (retired != NULL)
		ks = load_ex(data("ec256.pem"), NULL, NULL, retired, err,
		    sizeof(err));
	else if (hs)
		ks = load_ex(NULL, path, NULL, NULL, err, sizeof(err));
	else
		ks = load_ex(path, NULL, NULL, NULL, err, sizeof(err));
	if (ks != NULL) {
		keyset_unref(ks);
		fprintf(stderr, "accepted: %s\n", path);
		return 0;
	}
	snprintf(want, sizeof(want), "%s %s: %s", flag, path, reason);
	if (strncmp(err, want, strlen(want)) != 0) {
		fprintf(stderr, "got  \"%s\"\nwant \"%s...\"\n", err, want);
		return 0;
	}
	/* one line, and nothing of the file */
	if (strchr(err, '\n') != NULL || strstr(err, "BEGIN") != NULL ||
	    strstr(err, "this is not a key") != NULL)
		return 0;
	return 1;
}

/* The members of a JWK, sorted, comma-separated. */
static void
member_names(struct json_object *jwk, char *dst, size_t len)
{
	struct json_object_iterator	 it, end;
	const char			*names[16];
	size_t				 n = 0, i, j;

	it = json_object_iter_begin(jwk);
	end = json_object_iter_end(jwk);
	while (!json_object_iter_equal(&it, &end)) {
		if (n < nitems(names))
			names[n++] = json_object_iter_peek_name(&it);
		json_object_iter_next(&it);
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char	*t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	dst[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(dst, ",", len - strlen(dst) - 1);
		strncat(dst, names[i], len - strlen(dst) - 1);
	}
}

static const char *
member(struct json_object *o, const char *name)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, name, &v))
		return NULL;
	return json_object_get_string(v);
}

/* RFC 7638 3.1, recomputed here from the JWK's members. */
static int
thumbprint_matches(struct json_object *jwk)
{
	char		 canon[2048], b64[64];
	unsigned char	 md[32];
	unsigned int	 mdlen;

	if (strcmp(member(jwk, "kty"), "EC") == 0)
		snprintf(canon, sizeof(canon), "{\"crv\":\"%s\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", member(jwk, "crv"),
		    member(jwk, "x"), member(jwk, "y"));
	else
		snprintf(canon, sizeof(canon), "{\"e\":\"%s\",\"kty\":\"RSA\","
		    "\"n\":\"%s\"}", member(jwk, "e"), member(jwk, "n"));
	if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return 0;
	b64url_encode(b64, md, mdlen);
	return strcmp(b64, member(jwk, "kid")) == 0;
}

static void
test_keys_alg_names(void)
{
	TEST_ASSERT(strcmp(key_alg_name(KEY_ALG_ES256), "ES256") == 0);
	TEST_ASSERT(strcmp(key_alg_name(KEY_ALG_RS256), "RS256") == 0);
	TEST_ASSERT(strcmp(key_alg_name(KEY_ALG_HS256), "HS256") == 0);
	TEST_ASSERT(strcmp(key_alg_name((enum key_alg)42), "unknown") == 0);
}

static void
test_keys_ec256(void)
{
	struct keyset		*ks;
	const struct key	*k;
	struct json_object	*doc = NULL, *keys, *jwk;
	const char		*jwks;
	char			 names[256];
	size_t			 len;

	TEST_ASSERT((ks = load("ec256.pem")) != NULL);
	k = keyset_signing_key(ks);
	TEST_ASSERT(key_alg(k) == KEY_ALG_ES256);
	TEST_ASSERT(key_can_sign(k));
	TEST_ASSERT(key_sig_len(k) == 64);
	TEST_ASSERT(strlen(key_kid(k)) == 43);
	TEST_ASSERT(keyset_count(ks) == 1);
	TEST_ASSERT(keyset_key(ks, 0) == k && keyset_key(ks, 1) == NULL);
	TEST_ASSERT(keyset_find(ks, key_kid(k), strlen(key_kid(k))) == k);

	jwks = keyset_jwks_json(ks, &len);
	TEST_ASSERT(len == strlen(jwks));
	TEST_ASSERT((doc = json_tokener_parse(jwks)) != NULL);
	TEST_ASSERT(json_object_object_get_ex(doc, "keys", &keys));
	TEST_ASSERT(json_object_object_length(doc) == 1);
	TEST_ASSERT(json_object_array_length(keys) == 1);
	jwk = json_object_array_get_idx(keys, 0);
	member_names(jwk, names, sizeof(names));
	/* exactly the public members: no "d" */
	TEST_ASSERT(strcmp(names, "alg,crv,kid,kty,use,x,y") == 0);
	TEST_ASSERT(strcmp(member(jwk, "kty"), "EC") == 0);
	TEST_ASSERT(strcmp(member(jwk, "alg"), "ES256") == 0);
	TEST_ASSERT(strcmp(member(jwk, "use"), "sig") == 0);
	TEST_ASSERT(strcmp(member(jwk, "crv"), "P-256") == 0);
	TEST_ASSERT(strlen(member(jwk, "x")) == 43);
	TEST_ASSERT(strlen(member(jwk, "y")) == 43);
	TEST_ASSERT(strcmp(member(jwk, "kid"), key_kid(k)) == 0);
	TEST_ASSERT(thumbprint_matches(jwk));
	TEST_ASSERT(strcmp(key_jwk_json(k), json_object_to_json_string_ext(
	    jwk, JSON_C_TO_STRING_PLAIN)) == 0);
	json_object_put(doc);
	keyset_unref(ks);
}

static void
test_keys_ec256_sec1(void)
{
	struct keyset	*ks;

	/* EC PARAMETERS block first, then a SEC 1 "EC PRIVATE KEY" */
	TEST_ASSERT((ks = load("ec256-sec1.pem")) != NULL);
	TEST_ASSERT(key_alg(keyset_signing_key(ks)) == KEY_ALG_ES256);
	keyset_unref(ks);
}

static void
test_keys_rsa2048(void)
{
	struct keyset		*ks;
	const struct key	*k;
	struct json_object	*doc, *keys, *jwk;
	char			 names[256];

	TEST_ASSERT((ks = load("rsa2048.pem")) != NULL);
	k = keyset_signing_key(ks);
	TEST_ASSERT(key_alg(k) == KEY_ALG_RS256);
	TEST_ASSERT(key_sig_len(k) == 256);
	TEST_ASSERT((doc = json_tokener_parse(keyset_jwks_json(ks,
	    NULL))) != NULL);
	TEST_ASSERT(json_object_object_get_ex(doc, "keys", &keys));
	TEST_ASSERT(json_object_array_length(keys) == 1);
	jwk = json_object_array_get_idx(keys, 0);
	member_names(jwk, names, sizeof(names));
	/* no d, p, q, dp, dq, qi */
	TEST_ASSERT(strcmp(names, "alg,e,kid,kty,n,use") == 0);
	TEST_ASSERT(strcmp(member(jwk, "kty"), "RSA") == 0);
	TEST_ASSERT(strcmp(member(jwk, "alg"), "RS256") == 0);
	TEST_ASSERT(strcmp(member(jwk, "e"), "AQAB") == 0);
	/* 256 bytes, no leading zero byte: 342 characters */
	TEST_ASSERT(strlen(member(jwk, "n")) == 342);
	TEST_ASSERT(strcmp(member(jwk, "kid"), key_kid(k)) == 0);
	TEST_ASSERT(thumbprint_matches(jwk));
	json_object_put(doc);
	keyset_unref(ks);
}

static void
test_keys_refused(void)
{
	static const struct {
		const char	*file;
		const char	*reason;
	} cases[] = {
		{ "rsa1024.pem", "RSA key of 1024 bits: at least 2048 "
		    "required" },
		{ "ec384.pem", "EC key on curve secp384r1: only P-256" },
		{ "ed25519.pem", "unsupported key type ED25519" },
		{ "dsa.pem", "unsupported key type DSA" },
		{ "rsa-pss.pem", "unsupported key type RSA-PSS" },
		{ "ec256-enc.pem", "encrypted PEM keys are not supported" },
		{ "ec256-enc-trad.pem", "encrypted PEM keys are not "
		    "supported" },
		{ "cert.pem", "a certificate, not a key" },
		{ "garbage.pem", "not a PEM private key" },
		{ "ec256.pub.pem", "not a PEM private key" },
		{ "hs256.key", "not a PEM private key" },
		{ "missing.pem", "cannot open: No such file" },
		{ ".", "not a regular file" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		if (!refused("--signing-key", data(cases[i].file),
		    cases[i].reason, NULL, 0))
			fprintf(stderr, "case %s\n", cases[i].file);
		TEST_ASSERT(refused("--signing-key", data(cases[i].file),
		    cases[i].reason, NULL, 0));
	}
}

static void
test_keys_empty_file(void)
{
	char	 path[128];
	int	 fd;

	snprintf(path, sizeof(path), "%s/empty.pem", tmpdir);
	TEST_ASSERT((fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600)) !=
	    -1);
	close(fd);
	TEST_ASSERT(refused("--signing-key", path, "empty file", NULL, 0));
	TEST_ASSERT(refused("--hs256-secret-file", path, "empty file", NULL,
	    1));
}

static void
test_keys_too_large(void)
{
	char	 path[128], *buf;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/large.pem", tmpdir);
	TEST_ASSERT((fp = fopen(path, "w")) != NULL);
	buf = xmalloc(70000);
	memset(buf, 'A', 70000);
	fwrite(buf, 1, 70000, fp);
	fclose(fp);
	free(buf);
	TEST_ASSERT(refused("--signing-key", path, "larger than 65536 bytes",
	    NULL, 0));
}

static void
test_keys_neither_or_both(void)
{
	struct keyset	*ks;
	char		 err[512];

	ks = load_ex(NULL, NULL, NULL, NULL, err, sizeof(err));
	TEST_ASSERT(ks == NULL);
	TEST_ASSERT(strstr(err, "exactly one") != NULL);
	ks = load_ex(data("ec256.pem"), data("hs256.key"), NULL, NULL, err,
	    sizeof(err));
	TEST_ASSERT(ks == NULL);
	TEST_ASSERT(strstr(err, "exactly one") != NULL);
}

static void
test_keys_hs256(void)
{
	struct keyset		*ks;
	const struct key	*k;
	char			 err[512];
	size_t			 len;

	ks = load_ex(NULL, data("hs256.key"), NULL, NULL, err, sizeof(err));
	TEST_ASSERT(ks != NULL);
	k = keyset_signing_key(ks);
	TEST_ASSERT(key_alg(k) == KEY_ALG_HS256);
	TEST_ASSERT(strcmp(key_kid(k), "hs256") == 0);
	TEST_ASSERT(key_sig_len(k) == 32);
	TEST_ASSERT(key_jwk_json(k) == NULL);
	/* never the secret */
	TEST_ASSERT(strcmp(keyset_jwks_json(ks, &len), "{\"keys\":[]}") == 0);
	TEST_ASSERT(len == 11);
	TEST_ASSERT(keyset_find(ks, "hs256", 5) == k);
	keyset_unref(ks);

	ks = load_ex(NULL, data("hs256.key"), "2024-01 key", NULL, err,
	    sizeof(err));
	TEST_ASSERT(ks != NULL);
	TEST_ASSERT(strcmp(key_kid(keyset_signing_key(ks)), "2024-01 key") ==
	    0);
	keyset_unref(ks);

	/* 64 raw bytes without a newline */
	ks = load_ex(NULL, data("rfc7515-a1.key"), NULL, NULL, err,
	    sizeof(err));
	TEST_ASSERT(ks != NULL);
	keyset_unref(ks);
}

static void
test_keys_hs256_newline(void)
{
	struct keyset		*ks;
	const struct key	*k;
	unsigned char		 a[KEY_SIG_MAX], b[KEY_SIG_MAX];
	size_t			 alen, blen;
	char			 err[512], path[128];
	FILE			*fp;

	/* the same 32 bytes without the newline: the same key */
	snprintf(path, sizeof(path), "%s/hs256-nonl.key", tmpdir);
	TEST_ASSERT((fp = fopen(path, "w")) != NULL);
	fputs("0123456789abcdefghijklmnopqrstuv", fp);
	fclose(fp);
	ks = load_ex(NULL, data("hs256.key"), NULL, NULL, err, sizeof(err));
	TEST_ASSERT(ks != NULL);
	k = keyset_signing_key(ks);
	TEST_ASSERT(key_sign(k, "msg", 3, a, &alen) == 0);
	keyset_unref(ks);
	ks = load_ex(NULL, path, NULL, NULL, err, sizeof(err));
	TEST_ASSERT(ks != NULL);
	k = keyset_signing_key(ks);
	TEST_ASSERT(key_sign(k, "msg", 3, b, &blen) == 0);
	keyset_unref(ks);
	TEST_ASSERT(alen == 32 && blen == 32 && memcmp(a, b, 32) == 0);
}

static void
test_keys_hs256_refused(void)
{
	TEST_ASSERT(refused("--hs256-secret-file", data("hs256-short.key"),
	    "secret of 31 bytes: at least 32 required", NULL, 1));
	/* a public key is not a shared secret (alg confusion, made easy) */
	TEST_ASSERT(refused("--hs256-secret-file", data("ec256.pub.pem"),
	    "a PEM file, not a shared secret", NULL, 1));
	TEST_ASSERT(refused("--hs256-secret-file", data("missing.key"),
	    "cannot open", NULL, 1));
}

static void
test_keys_retired(void)
{
	const char *const	 retired[] = {
		data("rsa2048.pem"),		/* private: public half kept */
		data("ec256-b.pub.pem"),
		data("ec256.pem"),		/* the signing key: ignored */
		data("ec256-b.pem"),		/* same kid as above: ignored */
		NULL,
	};
	struct keyset		*ks, *rsa, *b;
	struct json_object	*doc, *keys;
	const struct key	*k;
	unsigned char		 sig[KEY_SIG_MAX];
	size_t			 siglen;
	char			 err[512];
	const char		*rsa_kid, *b_kid;

	ks = load_ex(data("ec256.pem"), NULL, NULL, retired, err, sizeof(err));
	TEST_ASSERT(ks != NULL);
	TEST_ASSERT((rsa = load("rsa2048.pem")) != NULL);
	TEST_ASSERT((b = load("ec256-b.pem")) != NULL);
	rsa_kid = key_kid(keyset_signing_key(rsa));
	b_kid = key_kid(keyset_signing_key(b));

	TEST_ASSERT(keyset_count(ks) == 3);
	TEST_ASSERT(keyset_key(ks, 0) == keyset_signing_key(ks));
	TEST_ASSERT(strcmp(key_kid(keyset_key(ks, 1)), rsa_kid) == 0);
	TEST_ASSERT(strcmp(key_kid(keyset_key(ks, 2)), b_kid) == 0);
	k = keyset_find(ks, rsa_kid, strlen(rsa_kid));
	TEST_ASSERT(k != NULL && key_alg(k) == KEY_ALG_RS256);
	TEST_ASSERT(!key_can_sign(k));
	/* even a retired private key never signs */
	TEST_ASSERT(key_sign(k, "m", 1, sig, &siglen) == -1);
	/* but it verifies what it signed before */
	TEST_ASSERT(key_sign(keyset_signing_key(rsa), "m", 1, sig,
	    &siglen) == 0);
	TEST_ASSERT(key_verify(k, "m", 1, sig, siglen) == 0);

	/* signing key first, then the retired ones */
	TEST_ASSERT((doc = json_tokener_parse(keyset_jwks_json(ks,
	    NULL))) != NULL);
	TEST_ASSERT(json_object_object_get_ex(doc, "keys", &keys));
	TEST_ASSERT(json_object_array_length(keys) == 3);
	TEST_ASSERT(strcmp(member(json_object_array_get_idx(keys, 0), "kid"),
	    key_kid(keyset_signing_key(ks))) == 0);
	TEST_ASSERT(strcmp(member(json_object_array_get_idx(keys, 1), "kid"),
	    rsa_kid) == 0);
	TEST_ASSERT(strcmp(member(json_object_array_get_idx(keys, 2), "kid"),
	    b_kid) == 0);
	TEST_ASSERT(strstr(keyset_jwks_json(ks, NULL), "\"d\"") == NULL);
	json_object_put(doc);
	keyset_unref(b);
	keyset_unref(rsa);
	keyset_unref(ks);
}

static void
test_keys_retired_refused(void)
{
	const char *const	 r1[] = { data("rsa1024.pem"), NULL };
	const char *const	 r2[] = { data("cert.pem"), NULL };
	const char *const	 r3[] = { data("ec384.pem"), NULL };
	const char *const	 r4[] = { data("garbage.pem"), NULL };
	const char *const	 r5[] = { data("hs256.key"), NULL };

	TEST_ASSERT(refused("--retired-key", r1[0], "RSA key of 1024 bits",
	    r1, 0));
	TEST_ASSERT(refused("--retired-key", r2[0], "a certificate, not a key",
	    r2, 0));
	TEST_ASSERT(refused("--retired-key", r3[0], "EC key on curve "
	    "secp384r1", r3, 0));
	TEST_ASSERT(refused("--retired-key", r4[0], "not a PEM private or "
	    "public key", r4, 0));
	TEST_ASSERT(refused("--retired-key", r5[0], "not a PEM private or "
	    "public key", r5, 0));
}

static void
test_keys_rfc7638_thumbprint(void)
{
	const char *const	 retired[] = { data("rfc7638.pub.pem"), NULL };
	struct keyset		*ks;
	const struct key	*k;
	char			 err[512];

	ks = load_ex(data("ec256.pem"), NULL, NULL, retired, err, sizeof(err));
	TEST_ASSERT(ks != NULL);
	k = keyset_find(ks, RFC7638_KID, strlen(RFC7638_KID));
	TEST_ASSERT(k != NULL);
	TEST_ASSERT(strcmp(key_kid(k), RFC7638_KID) == 0);
	TEST_ASSERT(key_alg(k) == KEY_ALG_RS256);
	keyset_unref(ks);
}

static void
test_keys_hs256_with_retired_pair(void)
{
	const char *const	 retired[] = { data("ec256.pub.pem"), NULL };
	struct keyset		*ks, *ec;
	struct json_object	*doc, *keys;
	char			 err[512];

	ks = load_ex(NULL, data("hs256.key"), NULL, retired, err, sizeof(err));
	TEST_ASSERT(ks != NULL);
	TEST_ASSERT((ec = load("ec256.pem")) != NULL);
	/* the retired pair still verifies ... */
	TEST_ASSERT(keyset_find(ks, key_kid(keyset_signing_key(ec)),
	    strlen(key_kid(keyset_signing_key(ec)))) != NULL);
	/* ... but the JWKS of HS256 mode is empty (the contract) */
	TEST_ASSERT((doc = json_tokener_parse(keyset_jwks_json(ks,
	    NULL))) != NULL);
	TEST_ASSERT(json_object_object_get_ex(doc, "keys", &keys));
	TEST_ASSERT(json_object_array_length(keys) == 0);
	json_object_put(doc);
	keyset_unref(ec);
	keyset_unref(ks);
}

static void
test_keys_find_exact(void)
{
	struct keyset	*ks;
	const char	*kid;
	char		 buf[64];
	size_t		 n;

	TEST_ASSERT((ks = load("ec256.pem")) != NULL);
	kid = key_kid(keyset_signing_key(ks));
	n = strlen(kid);
	TEST_ASSERT(keyset_find(ks, kid, n) != NULL);
	TEST_ASSERT(keyset_find(ks, kid, n - 1) == NULL);
	TEST_ASSERT(keyset_find(ks, kid, 0) == NULL);
	memcpy(buf, kid, n);
	buf[n] = 'x';
	TEST_ASSERT(keyset_find(ks, buf, n + 1) == NULL);
	buf[n] = '\0';
	TEST_ASSERT(keyset_find(ks, buf, n + 1) == NULL);
	buf[0] ^= 0x20;			/* another case */
	TEST_ASSERT(keyset_find(ks, buf, n) == NULL);
	TEST_ASSERT(keyset_find(ks, "../../etc/passwd", 16) == NULL);
	keyset_unref(ks);
}

static void
test_keys_refcount(void)
{
	struct keyset	*ks;

	keyset_unref(NULL);
	TEST_ASSERT((ks = load("rsa2048.pem")) != NULL);
	TEST_ASSERT(keyset_ref(ks) == ks);
	keyset_ref(ks);
	keyset_unref(ks);
	keyset_unref(ks);
	/* still alive with one reference */
	TEST_ASSERT(key_alg(keyset_signing_key(ks)) == KEY_ALG_RS256);
	keyset_unref(ks);		/* LeakSanitizer checks the rest */
}

static void
test_keys_sign_verify(void)
{
	/* NULL: the HS256 secret */
	const char *const	 files[] = { "ec256.pem", "rsa2048.pem", NULL };
	struct keyset		*ks;
	const struct key	*k;
	unsigned char		 sig[KEY_SIG_MAX];
	size_t			 siglen, i;
	char			 err[512];

	for (i = 0; i < nitems(files); i++) {
		if (files[i] != NULL)
			ks = load(files[i]);
		else
			ks = load_ex(NULL, data("hs256.key"), NULL, NULL, err,
			    sizeof(err));
		TEST_ASSERT(ks != NULL);
		k = keyset_signing_key(ks);
		TEST_ASSERT(key_sign(k, "hello", 5, sig, &siglen) == 0);
		TEST_ASSERT(siglen == key_sig_len(k));
		TEST_ASSERT(key_verify(k, "hello", 5, sig, siglen) == 0);
		TEST_ASSERT(key_verify(k, "hellp", 5, sig, siglen) == -1);
		TEST_ASSERT(key_verify(k, "hello", 5, sig, siglen - 1) == -1);
		TEST_ASSERT(key_verify(k, "hello", 5, sig, 0) == -1);
		sig[siglen / 2] ^= 1;
		TEST_ASSERT(key_verify(k, "hello", 5, sig, siglen) == -1);
		keyset_unref(ks);
	}
}

/* n of P-256: r and s must lie in [1, n-1] */
static void
test_keys_es256_range(void)
{
	static const unsigned char	 n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	struct keyset		*ks;
	const struct key	*k;
	unsigned char		 sig[KEY_SIG_MAX], bad[64];
	size_t			 siglen;

	TEST_ASSERT((ks = load("ec256.pem")) != NULL);
	k = keyset_signing_key(ks);
	TEST_ASSERT(key_sign(k, "m", 1, sig, &siglen) == 0);
	TEST_ASSERT(key_verify(k, "m", 1, sig, 64) == 0);
	memset(bad, 0, 64);
	TEST_ASSERT(key_verify(k, "m", 1, bad, 64) == -1);
	memcpy(bad, n, 32);
	memcpy(bad + 32, n, 32);
	TEST_ASSERT(key_verify(k, "m", 1, bad, 64) == -1);
	/* a good r with s = 0, s = n, s = all ones */
	memcpy(bad, sig, 32);
	memset(bad + 32, 0, 32);
	TEST_ASSERT(key_verify(k, "m", 1, bad, 64) == -1);
	memcpy(bad + 32, n, 32);
	TEST_ASSERT(key_verify(k, "m", 1, bad, 64) == -1);
	memset(bad + 32, 0xff, 32);
	TEST_ASSERT(key_verify(k, "m", 1, bad, 64) == -1);
	keyset_unref(ks);
}

int
main(void)
{
	char	 tmpl[] = "/tmp/test_keys.XXXXXX";
	char	 path[128];
	size_t	 i;
	const char *const temps[] = {
		"empty.pem", "large.pem", "hs256-nonl.key",
	};

	/* the refusals below log warnings on purpose */
	log_set_level(LOG_LEVEL_ERROR);
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	test_run(test_keys_alg_names);
	test_run(test_keys_ec256);
	test_run(test_keys_ec256_sec1);
	test_run(test_keys_rsa2048);
	test_run(test_keys_refused);
	test_run(test_keys_empty_file);
	test_run(test_keys_too_large);
	test_run(test_keys_neither_or_both);
	test_run(test_keys_hs256);
	test_run(test_keys_hs256_newline);
	test_run(test_keys_hs256_refused);
	test_run(test_keys_retired);
	test_run(test_keys_retired_refused);
	test_run(test_keys_rfc7638_thumbprint);
	test_run(test_keys_hs256_with_retired_pair);
	test_run(test_keys_find_exact);
	test_run(test_keys_refcount);
	test_run(test_keys_sign_verify);
	test_run(test_keys_es256_range);
	for (i = 0; i < nitems(temps); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, temps[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	return test_summary();
}

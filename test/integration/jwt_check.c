/*
 * jwt_check: verify one token with libjwt, a JWT library we did not write,
 * for the integration suite (test_keys.py).
 *
 *     jwt_check ALG KEYFILE TOKEN
 *
 * ALG      ES256, RS256 or HS256: the algorithm the token must have.
 * KEYFILE  the public key (PEM) for ES256 and RS256; for HS256 the secret
 *          file, used byte for byte (write it without a trailing newline).
 * TOKEN    the compact JWS.
 *
 * Prints the claims as JSON (jwt_get_grants_json) and exits 0 when libjwt
 * accepts the token AND its algorithm is ALG; otherwise one line on stderr
 * and exit 1 (2 for a bad call).
 *
 * The algorithm check is not optional: libjwt 1.x's jwt_decode() takes the
 * algorithm from the token's own header, so without it a token "signed"
 * with HS256 using an RSA public key's PEM as the HMAC secret would pass
 * (algorithm confusion). libjwt 1.10 also rejects any "typ" other than
 * "JWT", which is why tokend issues "at+jwt" only by default, and "JWT"
 * under --token-typ JWT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#define KEY_MAX	(64 * 1024)

static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE		*f;
	unsigned char	*buf;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf = malloc(KEY_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, KEY_MAX + 1, f);
	if (ferror(f) || n > KEY_MAX) {
		fclose(f);
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

int
main(int argc, char **argv)
{
	jwt_t		*jwt = NULL;
	jwt_alg_t	 want, got;
	unsigned char	*key;
	size_t		 keylen;
	char		*claims;
	int		 rc;

	if (argc != 4) {
		fprintf(stderr, "usage: jwt_check ES256|RS256|HS256 KEYFILE "
		    "TOKEN\n");
		return 2;
	}
	want = jwt_str_alg(argv[1]);
	if (want != JWT_ALG_ES256 && want != JWT_ALG_RS256 &&
	    want != JWT_ALG_HS256) {
		fprintf(stderr, "jwt_check: unsupported algorithm %s\n",
		    argv[1]);
		return 2;
	}
	if ((key = read_file(argv[2], &keylen)) == NULL) {
		fprintf(stderr, "jwt_check: %s: %s\n", argv[2],
		    strerror(errno));
		return 2;
	}
	rc = jwt_decode(&jwt, argv[3], key, (int)keylen);
	free(key);
	if (rc != 0 || jwt == NULL) {
		fprintf(stderr, "jwt_check: libjwt rejects the token: %s\n",
		    strerror(rc != 0 ? rc : EINVAL));
		jwt_free(jwt);
		return 1;
	}
	got = jwt_get_alg(jwt);
	if (got != want) {
		fprintf(stderr, "jwt_check: algorithm %s, expected %s\n",
		    jwt_alg_str(got) != NULL ? jwt_alg_str(got) : "?",
		    argv[1]);
		jwt_free(jwt);
		return 1;
	}
	claims = jwt_get_grants_json(jwt, NULL);
	if (claims == NULL) {
		fprintf(stderr, "jwt_check: no claims\n");
		jwt_free(jwt);
		return 1;
	}
	printf("%s\n", claims);
	free(claims);
	jwt_free(jwt);
	return 0;
}

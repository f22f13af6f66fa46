/*
 * test_secret: the salted hash format, its known answer (computed with
 * the openssl CLI, as scripts/tokend-client does), and every way a stored
 * hash or a presented secret can be wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "secret.h"
#include "test.h"

/*
 * salt=000102030405060708090a0b0c0d0e0f
 * printf '%s' 'correct horse battery staple 0123' |
 *     openssl dgst -sha256 -r -mac HMAC -macopt hexkey:$salt
 */
#define KAT_SECRET	"correct horse battery staple 0123"
#define KAT_SALT	"000102030405060708090a0b0c0d0e0f"
#define KAT_DIGEST	"5bc2b981340ce75043a2abb4bfa14c28" \
			"2d4104122bb01da89fd1199c416c2c3a"
#define KAT_HASH	"hmac-sha256:" KAT_SALT ":" KAT_DIGEST
/* the same salt, the empty message */
#define EMPTY_HASH	"hmac-sha256:" KAT_SALT ":" \
			"07eff8b326b7798c9ccfcbdbe579489a" \
			"c785a7995a04618b1a2813c26744777d"

/*
 * secret_hash_check(), and secret_key_check() with the hash keyed once
 * (what a client record keeps): every verdict must be the same.
 */
static bool
check_n(const char *stored, const char *secret, size_t len)
{
	struct secret_key	*k = secret_key_new(stored);
	bool			 a, b;

	a = secret_hash_check(stored, secret, len);
	b = k != NULL && secret_key_check(k, secret, len);
	secret_key_free(k);
	if (k == NULL || a != b) {
		fprintf(stderr, "secret_key_check disagrees\n");
		abort();
	}
	return a;
}

static bool
check(const char *stored, const char *secret)
{
	return check_n(stored, secret, strlen(secret));
}

static void
test_secret_known_answer(void)
{
	TEST_ASSERT(strlen(KAT_HASH) == SECRET_HASH_LEN);
	TEST_ASSERT(check(KAT_HASH, KAT_SECRET));
}

static void
test_secret_wrong_secret(void)
{
	TEST_ASSERT(!check(KAT_HASH, "correct horse battery staple 0124"));
	TEST_ASSERT(!check(KAT_HASH, "correct horse battery staple 012"));
	TEST_ASSERT(!check(KAT_HASH, KAT_SECRET "4"));
	TEST_ASSERT(!check(KAT_HASH, "Correct horse battery staple 0123"));
	/* a NUL byte is part of the secret, not its end */
	TEST_ASSERT(!check_n(KAT_HASH, KAT_SECRET "\0x",
	    sizeof(KAT_SECRET "\0x") - 1));
}

static void
test_secret_empty_secret(void)
{
	/* even a hash of the empty secret never accepts it */
	TEST_ASSERT(!check_n(EMPTY_HASH, "", 0));
	TEST_ASSERT(!check_n(EMPTY_HASH, NULL, 0));
	TEST_ASSERT(!check_n(KAT_HASH, "", 0));
}

static void
test_secret_malformed_hash(void)
{
	char	 buf[SECRET_HASH_SIZE + 8];
	size_t	 i;

	TEST_ASSERT(!check(NULL, KAT_SECRET));
	TEST_ASSERT(!check("", KAT_SECRET));
	TEST_ASSERT(!check("hmac-sha256", KAT_SECRET));
	TEST_ASSERT(!check("hmac-sha256::", KAT_SECRET));
	TEST_ASSERT(!check("hmac-sha256:" KAT_SALT, KAT_SECRET));
	/* truncated digest, extra digit, odd lengths */
	snprintf(buf, sizeof(buf), "%s", KAT_HASH);
	buf[SECRET_HASH_LEN - 1] = '\0';
	TEST_ASSERT(!check(buf, KAT_SECRET));
	snprintf(buf, sizeof(buf), "%s0", KAT_HASH);
	TEST_ASSERT(!check(buf, KAT_SECRET));
	snprintf(buf, sizeof(buf), "%s\n", KAT_HASH);
	TEST_ASSERT(!check(buf, KAT_SECRET));
	TEST_ASSERT(!check("hmac-sha256:00010203040506070809"
	    "0a0b0c0d0e0f0:" KAT_DIGEST, KAT_SECRET));
	TEST_ASSERT(!check("hmac-sha256:000102030405060708090a0b0c0d0e0"
	    ":" KAT_DIGEST "a", KAT_SECRET));
	/* the right length, the separator moved */
	TEST_ASSERT(!check("hmac-sha256:000102030405060708090a0b0c0d0e0"
	    "f5:bc2b981340ce75043a2abb4bfa14c282d4104122bb01da89fd1199c41"
	    "6c2c3a", KAT_SECRET));
	/* upper-case hex: not what we write */
	TEST_ASSERT(!check("hmac-sha256:000102030405060708090A0B0C0D0E0F:"
	    KAT_DIGEST, KAT_SECRET));
	snprintf(buf, sizeof(buf), "%s", KAT_HASH);
	for (i = strlen(buf) - 64; buf[i] != '\0'; i++)
		if (buf[i] >= 'a' && buf[i] <= 'f')
			buf[i] = (char)(buf[i] - 'a' + 'A');
	TEST_ASSERT(!check(buf, KAT_SECRET));
	/* a non-hex digit */
	snprintf(buf, sizeof(buf), "%s", KAT_HASH);
	buf[SECRET_HASH_LEN - 1] = 'g';
	TEST_ASSERT(!check(buf, KAT_SECRET));
	snprintf(buf, sizeof(buf), "%s", KAT_HASH);
	buf[20] = ' ';
	TEST_ASSERT(!check(buf, KAT_SECRET));
}

static void
test_secret_unknown_tag(void)
{
	TEST_ASSERT(!check("hmac-sha512:" KAT_SALT ":" KAT_DIGEST,
	    KAT_SECRET));
	TEST_ASSERT(!check("HMAC-SHA256:" KAT_SALT ":" KAT_DIGEST,
	    KAT_SECRET));
	TEST_ASSERT(!check("sha256:" KAT_SALT ":" KAT_DIGEST "xxxxx",
	    KAT_SECRET));
	TEST_ASSERT(!check("plain:" KAT_SECRET, KAT_SECRET));
	TEST_ASSERT(!check(KAT_SECRET, KAT_SECRET));
}

static void
test_secret_hash_new_round_trip(void)
{
	char	 a[SECRET_HASH_SIZE], b[SECRET_HASH_SIZE];

	TEST_ASSERT(secret_hash_new(KAT_SECRET, strlen(KAT_SECRET), a,
	    sizeof(a)) == 0);
	TEST_ASSERT(strlen(a) == SECRET_HASH_LEN);
	TEST_ASSERT(strncmp(a, "hmac-sha256:", 12) == 0);
	TEST_ASSERT(a[12 + 32] == ':');
	TEST_ASSERT(strspn(a + 12, "0123456789abcdef") == 32);
	TEST_ASSERT(strspn(a + 45, "0123456789abcdef") == 64);
	TEST_ASSERT(check(a, KAT_SECRET));
	TEST_ASSERT(!check(a, KAT_SECRET "x"));
	/* a fresh salt every time */
	TEST_ASSERT(secret_hash_new(KAT_SECRET, strlen(KAT_SECRET), b,
	    sizeof(b)) == 0);
	TEST_ASSERT(strcmp(a, b) != 0);
	TEST_ASSERT(check(b, KAT_SECRET));
	/* binary secrets are fine */
	TEST_ASSERT(secret_hash_new("a\0b", 3, a, sizeof(a)) == 0);
	TEST_ASSERT(check_n(a, "a\0b", 3));
	TEST_ASSERT(!check_n(a, "a", 1));
}

static void
test_secret_hash_new_refuses(void)
{
	char	 buf[SECRET_HASH_SIZE];

	TEST_ASSERT(secret_hash_new("", 0, buf, sizeof(buf)) == -1);
	TEST_ASSERT(buf[0] == '\0');
	TEST_ASSERT(secret_hash_new(NULL, 0, buf, sizeof(buf)) == -1);
	TEST_ASSERT(secret_hash_new(KAT_SECRET, strlen(KAT_SECRET), buf,
	    sizeof(buf) - 1) == -1);
	TEST_ASSERT(secret_hash_new(KAT_SECRET, strlen(KAT_SECRET), NULL,
	    0) == -1);
}

static void
test_secret_dummy_hash(void)
{
	const char	*d = secret_dummy_hash();

	TEST_ASSERT(d != NULL);
	TEST_ASSERT(strlen(d) == SECRET_HASH_LEN);
	TEST_ASSERT(strncmp(d, "hmac-sha256:", 12) == 0);
	TEST_ASSERT(d == secret_dummy_hash());
	TEST_ASSERT(!check(d, ""));
	TEST_ASSERT(!check(d, KAT_SECRET));
	TEST_ASSERT(!check(d, "0123456789abcdef0123456789abcdef"));
	/* well-formed: a hash made the same way has the same shape */
	TEST_ASSERT(strspn(d + 12, "0123456789abcdef") == 32);
	TEST_ASSERT(d[44] == ':');
	TEST_ASSERT(strspn(d + 45, "0123456789abcdef") == 64);
}

/* secret_hmac_sha256() is OpenSSL's HMAC(): keys around the block size */
static void
test_secret_hmac_as_openssl(void)
{
	static const size_t	 keylens[] = { 0, 1, 16, 32, 63, 64, 65, 200 };
	static const size_t	 msglens[] = { 0, 1, 55, 56, 64, 300, 1000 };
	unsigned char		 key[200], msg[1000], a[32], b[EVP_MAX_MD_SIZE];
	unsigned int		 blen;
	size_t			 i, j;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 13 + 5);
	for (i = 0; i < sizeof(keylens) / sizeof(keylens[0]); i++) {
		for (j = 0; j < sizeof(msglens) / sizeof(msglens[0]); j++) {
			TEST_ASSERT(secret_hmac_sha256(key, keylens[i], msg,
			    msglens[j], a) == 0);
			TEST_ASSERT(HMAC(EVP_sha256(), key, (int)keylens[i],
			    msg, msglens[j], b, &blen) != NULL);
			TEST_ASSERT(blen == 32 && memcmp(a, b, 32) == 0);
		}
	}
}

static void
test_secret_key_dummy(void)
{
	/* NULL: the dummy's key, never a match, not even its own secret */
	TEST_ASSERT(!secret_key_check(NULL, KAT_SECRET, strlen(KAT_SECRET)));
	TEST_ASSERT(!secret_key_check(NULL, "", 0));
	TEST_ASSERT(!secret_key_check(NULL, NULL, 0));
}

int
main(void)
{
	test_run(test_secret_key_dummy);
	test_run(test_secret_hmac_as_openssl);
	test_run(test_secret_known_answer);
	test_run(test_secret_wrong_secret);
	test_run(test_secret_empty_secret);
	test_run(test_secret_malformed_hash);
	test_run(test_secret_unknown_tag);
	test_run(test_secret_hash_new_round_trip);
	test_run(test_secret_hash_new_refuses);
	test_run(test_secret_dummy_hash);
	return test_summary();
}

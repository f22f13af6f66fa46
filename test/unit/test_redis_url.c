/*
 * test_redis_url: the --redis URL grammar (redis_url.h): redis:// with
 * IPv6 hosts, credentials and escapes, unix://, sentinel:// with its
 * query, and bad URLs, none of which may be echoed in the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"
#include "test.h"

static void
test_redis_url_tcp(void)
{
	struct redis_url	 u;
	char			 err[256];

	TEST_ASSERT(redis_url_parse("redis://127.0.0.1:6379", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(u.kind == REDIS_TCP && strcmp(u.host, "127.0.0.1") == 0);
	TEST_ASSERT(u.port == 6379 && u.db == 0);
	TEST_ASSERT(u.user == NULL && u.password == NULL && u.path == NULL);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("redis://localhost", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.host, "localhost") == 0 && u.port == 6379);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("redis://redis-1.internal:7000/",
	    &u, err, sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.host, "redis-1.internal") == 0);
	TEST_ASSERT(u.port == 7000 && u.db == 0);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("redis://h/15", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(u.db == 15);
	redis_url_finish(&u);
}

static void
test_redis_url_v6(void)
{
	struct redis_url	 u;
	char			 err[256];

	TEST_ASSERT(redis_url_parse("redis://[::1]:6380/2", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.host, "::1") == 0);
	TEST_ASSERT(u.port == 6380 && u.db == 2);
	redis_url_finish(&u);
	TEST_ASSERT(redis_url_parse("redis://[2001:db8::7]", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.host, "2001:db8::7") == 0 && u.port == 6379);
	redis_url_finish(&u);
	TEST_ASSERT(redis_url_parse("redis://[::1", &u, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(redis_url_parse("redis://[]:6379", &u, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(redis_url_parse("redis://[nothex]:6379", &u, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(redis_url_parse("redis://[::1]x:6379", &u, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(redis_url_parse("redis://::1:6379", &u, err,
	    sizeof(err)) == -1);
}

static void
test_redis_url_auth(void)
{
	struct redis_url	 u;
	char			 err[256];

	TEST_ASSERT(redis_url_parse("redis://:s3cret@h:1", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(u.user == NULL && strcmp(u.password, "s3cret") == 0);
	TEST_ASSERT(strcmp(u.host, "h") == 0 && u.port == 1);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("redis://app:pw@h", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.user, "app") == 0);
	TEST_ASSERT(strcmp(u.password, "pw") == 0);
	redis_url_finish(&u);

	/* escapes: '@', '/', ':' and '%' inside the secret */
	TEST_ASSERT(redis_url_parse(
	    "redis://us%3Aer:p%40ss%2Fw%3a%25rd@[::1]/1", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.user, "us:er") == 0);
	TEST_ASSERT(strcmp(u.password, "p@ss/w:%rd") == 0);
	TEST_ASSERT(strcmp(u.host, "::1") == 0 && u.db == 1);
	redis_url_finish(&u);

	/* a raw ':' in the password is fine after the first one */
	TEST_ASSERT(redis_url_parse("redis://:a:b@h", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.password, "a:b") == 0);
	redis_url_finish(&u);
}

/* Every bad URL is refused without echoing any part of it. */
static void
expect_bad_url(const char *url, const char *reason)
{
	struct redis_url	 u;
	char			 err[256];

	memset(&u, 0xa5, sizeof(u));
	TEST_ASSERT(redis_url_parse(url, &u, err, sizeof(err)) == -1);
	if (reason != NULL && strstr(err, reason) == NULL)
		fprintf(stderr, "  %s: error was: %s\n", url, err);
	TEST_ASSERT(reason == NULL || strstr(err, reason) != NULL);
	TEST_ASSERT(strstr(err, "SECRET") == NULL);
	TEST_ASSERT(u.host == NULL && u.password == NULL && u.user == NULL);
	TEST_ASSERT(u.path == NULL);
	TEST_ASSERT(u.sentinels == NULL && u.n_sentinels == 0);
	TEST_ASSERT(u.master_name == NULL && u.sentinel_password == NULL);
}

static void
test_redis_url_bad(void)
{
	char	 longurl[1100];

	expect_bad_url("", "want a redis://, unix:// or sentinel:// URL");
	expect_bad_url("rediss://:SECRET@h:6379", "Redis client has no TLS");
	expect_bad_url("REDISS://h", "Redis client has no TLS");
	expect_bad_url("http://:SECRET@h",
	    "want a redis://, unix:// or sentinel://");
	expect_bad_url("SECRET@h:6379", NULL);
	expect_bad_url("redis://", "empty host");
	expect_bad_url("redis://:SECRET@", "empty host");
	expect_bad_url("redis://:SECRET@:6379", "empty host");
	expect_bad_url("redis://h:0", "bad port");
	expect_bad_url("redis://h:65536", "bad port");
	expect_bad_url("redis://h:", "bad port");
	expect_bad_url("redis://h:63x79", "bad port");
	expect_bad_url("redis://:SECRET@h:-1", "bad port");
	expect_bad_url("redis://h/x", "bad database");
	expect_bad_url("redis://h/1x", "bad database");
	expect_bad_url("redis://h/1/2", "bad database");
	expect_bad_url("redis://h/-1", "bad database");
	expect_bad_url("redis://h/1000001", "out of range");
	expect_bad_url("redis://h?db=1", "bad host");
	expect_bad_url("redis://h_x", "bad host");
	expect_bad_url("redis://:SEC/RET@h", "must be %-encoded");
	expect_bad_url("redis://SECRET@h", "without ':'");
	expect_bad_url("redis://user:@h", "empty password");
	expect_bad_url("redis://:SECRET%4@h", "%-escape");
	expect_bad_url("redis://:SECRET%zz@h", "%-escape");
	expect_bad_url("redis://:SECRET%@h", "%-escape");
	expect_bad_url("redis://:SE%00CRET@h", "%00");
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "redis://", 8);
	longurl[sizeof(longurl) - 1] = '\0';
	expect_bad_url(longurl, "longer than 1024");
}

static void
test_redis_url_sentinel(void)
{
	struct redis_url	 u;
	char			 err[256];

	TEST_ASSERT(redis_url_parse("sentinel://s1/mymaster", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(u.kind == REDIS_SENTINEL && u.n_sentinels == 1);
	TEST_ASSERT(strcmp(u.sentinels[0].host, "s1") == 0);
	TEST_ASSERT(u.sentinels[0].port == 26379);
	TEST_ASSERT(strcmp(u.master_name, "mymaster") == 0);
	TEST_ASSERT(u.db == 0 && u.password == NULL && u.user == NULL);
	TEST_ASSERT(u.sentinel_password == NULL && u.host == NULL);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("sentinel://app:p%40ss@10.0.0.1:"
	    "26380,[::1]:26381,s-3.internal/ma_ster-1.x?db=3&"
	    "sentinel_password=s%2Fp", &u, err, sizeof(err)) == 0);
	TEST_ASSERT(u.kind == REDIS_SENTINEL && u.n_sentinels == 3);
	TEST_ASSERT(strcmp(u.sentinels[0].host, "10.0.0.1") == 0);
	TEST_ASSERT(u.sentinels[0].port == 26380);
	TEST_ASSERT(strcmp(u.sentinels[1].host, "::1") == 0);
	TEST_ASSERT(u.sentinels[1].port == 26381);
	TEST_ASSERT(strcmp(u.sentinels[2].host, "s-3.internal") == 0);
	TEST_ASSERT(u.sentinels[2].port == 26379);
	TEST_ASSERT(strcmp(u.master_name, "ma_ster-1.x") == 0);
	TEST_ASSERT(strcmp(u.user, "app") == 0);
	TEST_ASSERT(strcmp(u.password, "p@ss") == 0);
	TEST_ASSERT(strcmp(u.sentinel_password, "s/p") == 0);
	TEST_ASSERT(u.db == 3);
	redis_url_finish(&u);

	/* either query parameter alone, in either order */
	TEST_ASSERT(redis_url_parse("sentinel://:pw@h:1/m?"
	    "sentinel_password=x&db=15", &u, err, sizeof(err)) == 0);
	TEST_ASSERT(u.db == 15 && strcmp(u.sentinel_password, "x") == 0);
	TEST_ASSERT(u.user == NULL && strcmp(u.password, "pw") == 0);
	redis_url_finish(&u);

	expect_bad_url("sentinel://", "empty host");
	expect_bad_url("sentinel://h", "missing /mastername");
	expect_bad_url("sentinel://h/", "bad master name");
	expect_bad_url("sentinel://h/a b", "bad master name");
	expect_bad_url("sentinel://h,/m", "empty host");
	expect_bad_url("sentinel://,h/m", "empty host");
	expect_bad_url("sentinel://h:0/m", "bad port");
	expect_bad_url("sentinel://h,[::1/m", "missing ']'");
	expect_bad_url("sentinel://h,[nothex]:1/m", "bad IPv6 host");
	expect_bad_url("sentinel://:SECRET@h/m?db=x", "bad database");
	expect_bad_url("sentinel://h/m?db=1&db=2", "repeated");
	expect_bad_url("sentinel://h/m?dB=1", "unknown");
	expect_bad_url("sentinel://h/m?", "unknown");
	expect_bad_url("sentinel://h/m?db=1&", "unknown");
	expect_bad_url("sentinel://h/m?sentinel_password=", "empty sentinel");
	expect_bad_url("sentinel://h/m?sentinel_password=SECRET%zz",
	    "bad %-escape or %00 in sentinel_password");
	expect_bad_url("sentinel://h/m?sentinel_password=SECRET%00",
	    "bad %-escape or %00 in sentinel_password");
	expect_bad_url("sentinel://SECRET@h/m", "without ':'");
	expect_bad_url("sentinel://:SEC/RET@h/m", "must be %-encoded");
	expect_bad_url("sentinel://h/m?sentinel_password=SEC@RET",
	    "an '@' in sentinel_password");
	expect_bad_url("sentinel://:SECRET@h_x/m", "bad host");
	expect_bad_url("sentinel://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q/m",
	    "more than 16");
	expect_bad_url("sentinel://h/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
	    "mmmmmmmmmmmmmmmmmmmmmmmmm", "bad master name");
}

static void
test_redis_url_unix(void)
{
	struct redis_url	 u;
	char			 err[256], longpath[200];

	TEST_ASSERT(redis_url_parse("unix:///run/redis/redis.sock",
	    &u, err, sizeof(err)) == 0);
	TEST_ASSERT(u.kind == REDIS_UNIX);
	TEST_ASSERT(strcmp(u.path, "/run/redis/redis.sock") == 0);
	TEST_ASSERT(u.host == NULL && u.db == 0 && u.password == NULL);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("unix:///tmp/r.sock?db=5", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.path, "/tmp/r.sock") == 0 && u.db == 5);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("unix://u:p%2F@/tmp/r@x.sock", &u,
	    err, sizeof(err)) == 0);
	TEST_ASSERT(strcmp(u.user, "u") == 0);
	TEST_ASSERT(strcmp(u.password, "p/") == 0);
	TEST_ASSERT(strcmp(u.path, "/tmp/r@x.sock") == 0);
	redis_url_finish(&u);

	TEST_ASSERT(redis_url_parse("unix://:pw@/s?db=0", &u, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(u.user == NULL && strcmp(u.password, "pw") == 0);
	redis_url_finish(&u);

	expect_bad_url("unix://", "want unix:///absolute/path");
	expect_bad_url("unix:///", "empty socket path");
	expect_bad_url("unix://relative/path", "want unix:///absolute/path");
	expect_bad_url("unix://:SECRET/x", "want unix:///absolute/path");
	expect_bad_url("unix:///tmp/r.sock?timeout=1", "unknown query");
	expect_bad_url("unix:///tmp/r.sock?db=", "bad database");
	expect_bad_url("unix:///tmp/r.sock?db=1&db=2", "bad database");
	expect_bad_url("unix:///tmp/r\001.sock", "control character");
	expect_bad_url("unix://SECRET@/tmp/r.sock", "without ':'");
	memset(longpath, 'p', sizeof(longpath));
	memcpy(longpath, "unix:///", 8);
	longpath[sizeof(longpath) - 1] = '\0';
	expect_bad_url(longpath, "socket path longer than");
}

static void
test_redis_url_finish_zeroed(void)
{
	struct redis_url u;

	memset(&u, 0, sizeof(u));
	redis_url_finish(&u);
	redis_url_finish(&u);
	TEST_ASSERT(u.host == NULL && u.sentinels == NULL);
}

int
main(void)
{
	test_run(test_redis_url_tcp);
	test_run(test_redis_url_v6);
	test_run(test_redis_url_auth);
	test_run(test_redis_url_bad);
	test_run(test_redis_url_unix);
	test_run(test_redis_url_sentinel);
	test_run(test_redis_url_finish_zeroed);
	return test_summary();
}

/*
 * test_config: every setting's good and bad values, precedence, the
 * derived defaults, --help and --version. The grammars of the Redis URL
 * and of CIDR networks are test_redis_url's and test_cidr's.
 *
 * The environment is always passed explicitly, so the tests never see the
 * real one. Files for the readability checks live in a mkdtemp()
 * directory that main() removes at the end.
 */
#include <sys/stat.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_doc.h"
#include "util.h"
#include "test.h"

#define MAXARGS		64

static char	 tmpdir[64];
static char	 cert[128], key[128], signing[128], hs256[128];
static char	 retired1[128], retired2[128], subdir[128], missing[128];

static const char *const plain_base[] = {
	"--plain-http", "--signing-key", signing, NULL
};
static const char *const tls_base[] = {
	"--tls-cert", cert, "--tls-key", key, "--signing-key", signing, NULL
};
static const char *const no_args[] = { NULL };
/* for --signing-key itself: a flag in the base would beat the variable */
static const char *const plain_only[] = { "--plain-http", NULL };

static void
make_file(char *path, size_t len, const char *name)
{
	FILE	*fp;

	snprintf(path, len, "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs("test\n", fp);
	fclose(fp);
}

static void
fixtures_init(void)
{
	char	 tmpl[] = "/tmp/test_config.XXXXXX";
	char	*dir, path[128];
	int	 fd;

	if ((dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", dir);
	make_file(cert, sizeof(cert), "cert.pem");
	make_file(key, sizeof(key), "key.pem");
	make_file(signing, sizeof(signing), "signing.pem");
	make_file(retired1, sizeof(retired1), "retired1.pem");
	/* one file made with mkstemp, as the readable check must accept */
	snprintf(path, sizeof(path), "%s/hs256.XXXXXX", tmpdir);
	if ((fd = mkstemp(path)) == -1) {
		perror("mkstemp");
		exit(1);
	}
	if (write(fd, "0123456789abcdef0123456789abcdef", 32) != 32)
		exit(1);
	close(fd);
	snprintf(hs256, sizeof(hs256), "%s", path);
	snprintf(path, sizeof(path), "%s/retired.XXXXXX", tmpdir);
	if ((fd = mkstemp(path)) == -1)
		exit(1);
	close(fd);
	snprintf(retired2, sizeof(retired2), "%s", path);
	snprintf(subdir, sizeof(subdir), "%s/dir", tmpdir);
	if (mkdir(subdir, 0700) == -1)
		exit(1);
	snprintf(missing, sizeof(missing), "%s/missing.pem", tmpdir);
}

static void
fixtures_finish(void)
{
	unlink(cert);
	unlink(key);
	unlink(signing);
	unlink(hs256);
	unlink(retired1);
	unlink(retired2);
	rmdir(subdir);
	rmdir(tmpdir);
}

/*
 * Run config_parse on "tokend" + base + extra with the environment env.
 * Strings are copied into a writable argv, as the real one is. *output
 * gets what tokend prints on standard output for the result, as main.c
 * does: config_doc_print() (nothing unless a document was asked for).
 */
static enum config_result
parse_full(struct config *cfg, const char *const *base,
    const char *const *extra, const char *const *env, char *err,
    size_t errlen, char **output)
{
	char			*argv[MAXARGS + 2], *envp[MAXARGS + 1];
	char			*buf = NULL;
	size_t			 buflen = 0;
	int			 argc = 0, n = 0, i;
	FILE			*out;
	enum config_result	 rc;

	argv[argc++] = xstrdup("tokend");
	for (; base != NULL && *base != NULL; base++)
		argv[argc++] = xstrdup(*base);
	for (; extra != NULL && *extra != NULL; extra++)
		argv[argc++] = xstrdup(*extra);
	argv[argc] = NULL;
	for (; env != NULL && *env != NULL; env++)
		envp[n++] = xstrdup(*env);
	envp[n] = NULL;

	if ((out = open_memstream(&buf, &buflen)) == NULL)
		abort();
	rc = config_parse(cfg, argc, argv, env != NULL ? envp : NULL, err,
	    errlen);
	config_doc_print(rc, out);
	fclose(out);
	if (output != NULL)
		*output = buf;
	else
		free(buf);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	for (i = 0; i < n; i++)
		free(envp[i]);
	return rc;
}

static enum config_result
parse(struct config *cfg, const char *const *base, const char *const *extra,
    const char *const *env, char *err)
{
	return parse_full(cfg, base, extra, env, err, 256, NULL);
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *const *
base_for(const char *flag)
{
	return strcmp(flag, "--signing-key") == 0 ? plain_only : plain_base;
}

/* The flag and the variable both parse val. */
static void
expect_good(const char *flag, const char *envname, const char *val)
{
	struct config	 cfg;
	char		 err[256], envbuf[1200];
	const char	*extra[] = { flag, val, NULL };
	const char	*env[] = { envbuf, NULL };
	const char *const	*base = base_for(flag);

	TEST_ASSERT(parse(&cfg, base, extra, NULL, err) == CONFIG_OK);
	config_finish(&cfg);
	snprintf(envbuf, sizeof(envbuf), "%s=%s", envname, val);
	TEST_ASSERT(parse(&cfg, base, NULL, env, err) == CONFIG_OK);
	config_finish(&cfg);
}

/* Both the flag and the variable refuse val, naming both. */
static void
expect_bad(const char *flag, const char *envname, const char *val)
{
	struct config	 cfg, zero;
	char		 err[256], prefix[128], envbuf[1200];
	const char	*extra[] = { flag, val, NULL };
	const char	*env[] = { envbuf, NULL };
	const char *const	*base = base_for(flag);

	memset(&zero, 0, sizeof(zero));
	snprintf(prefix, sizeof(prefix), "%s / %s: ", flag, envname);
	TEST_ASSERT(parse(&cfg, base, extra, NULL, err) ==
	    CONFIG_ERROR);
	if (!starts_with(err, prefix))
		fprintf(stderr, "  error was: %s\n", err);
	TEST_ASSERT(starts_with(err, prefix));
	TEST_ASSERT(strchr(err, '\n') == NULL);
	/* on error nothing is left to free */
	TEST_ASSERT(memcmp(&cfg, &zero, sizeof(cfg)) == 0);
	if (*val == '\0')
		return;		/* an empty variable is unset */
	snprintf(envbuf, sizeof(envbuf), "%s=%s", envname, val);
	TEST_ASSERT(parse(&cfg, base, NULL, env, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, prefix));
}

static void
test_config_defaults(void)
{
	struct config	 cfg;
	char		 err[256];
	long		 cores = sysconf(_SC_NPROCESSORS_ONLN);

	TEST_ASSERT(parse(&cfg, plain_base, NULL, NULL, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.listen.host, "0.0.0.0") == 0);
	TEST_ASSERT(cfg.listen.port == 2600);
	TEST_ASSERT(cfg.listen.sa.ss_family == AF_INET);
	TEST_ASSERT(cfg.plain_http);
	TEST_ASSERT(cfg.tls_cert == NULL && cfg.tls_key == NULL);
	TEST_ASSERT(cfg.redis.kind == REDIS_TCP);
	TEST_ASSERT(strcmp(cfg.redis.host, "127.0.0.1") == 0);
	TEST_ASSERT(cfg.redis.port == 6379 && cfg.redis.db == 0);
	TEST_ASSERT(cfg.redis.password == NULL);
	TEST_ASSERT(strcmp(cfg.redis_raw, "redis://127.0.0.1:6379") == 0);
	TEST_ASSERT(strcmp(cfg.prefix, "tokend:") == 0);
	TEST_ASSERT(strcmp(cfg.issuer, "http://localhost:2600") == 0);
	TEST_ASSERT(cfg.issuer_defaulted);
	TEST_ASSERT(strcmp(cfg.default_audience, cfg.issuer) == 0);
	TEST_ASSERT(strcmp(cfg.signing_key, signing) == 0);
	TEST_ASSERT(cfg.hs256_secret_file == NULL);
	TEST_ASSERT(cfg.n_retired_keys == 0 && cfg.retired_keys == NULL);
	TEST_ASSERT(cfg.token_ttl == 3600);
	TEST_ASSERT(cfg.workers == (cores < 1 ? 1 : cores > 256 ? 256 :
	    cores));
	TEST_ASSERT(cfg.token_typ == TOKEN_TYP_AT_JWT);
	TEST_ASSERT(strcmp(cfg.hs256_kid, "hs256") == 0);
	TEST_ASSERT(cfg.max_body == 16384);
	TEST_ASSERT(cfg.max_headers == 8192);
	TEST_ASSERT(cfg.request_timeout == 10);
	TEST_ASSERT(cfg.idle_timeout == 30);
	TEST_ASSERT(cfg.max_connections == 10000);
	TEST_ASSERT(cfg.redis_timeout_ms == 500);
	TEST_ASSERT(cfg.verify_grace == 0);
	TEST_ASSERT(cfg.leeway == 30);
	TEST_ASSERT(cfg.verify_cache_size == 10000);
	TEST_ASSERT(cfg.max_revocations_per_client == 10000);
	TEST_ASSERT(cfg.auth_fail_limit == 20);
	TEST_ASSERT(cfg.auth_fail_window == 60);
	TEST_ASSERT(cfg.auth_fail_ipv6_prefix == 64);
	TEST_ASSERT(cfg.n_trusted_proxies == 0);
	TEST_ASSERT(cfg.trusted_proxies == NULL);
	TEST_ASSERT(cfg.log_level == LOG_LEVEL_INFO);
	TEST_ASSERT(cfg.log_format == LOG_FORMAT_KV);
	TEST_ASSERT(cfg.shutdown_timeout == 10);
	TEST_ASSERT(err[0] == '\0');
	config_finish(&cfg);
}

static void
test_config_tls_mode(void)
{
	struct config	 cfg;
	char		 err[256];

	TEST_ASSERT(parse(&cfg, tls_base, NULL, NULL, err) == CONFIG_OK);
	TEST_ASSERT(!cfg.plain_http);
	TEST_ASSERT(strcmp(cfg.tls_cert, cert) == 0);
	TEST_ASSERT(strcmp(cfg.tls_key, key) == 0);
	TEST_ASSERT(strcmp(cfg.issuer, "https://localhost:2600") == 0);
	config_finish(&cfg);
}

static void
test_config_listen(void)
{
	struct config		 cfg;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	char			 err[256];
	const char		*v4[] = { "--listen", "127.0.0.1:8080", NULL };
	const char		*v6[] = { "--listen", "[::1]:443", NULL };
	const char		*big[] = { "--listen", "1.2.3.4:70000", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, v4, NULL, err) == CONFIG_OK);
	sin = (struct sockaddr_in *)&cfg.listen.sa;
	TEST_ASSERT(sin->sin_family == AF_INET);
	TEST_ASSERT(ntohs(sin->sin_port) == 8080);
	TEST_ASSERT(ntohl(sin->sin_addr.s_addr) == 0x7f000001);
	TEST_ASSERT(cfg.listen.salen == sizeof(struct sockaddr_in));
	TEST_ASSERT(strcmp(cfg.listen.host, "127.0.0.1") == 0);
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, v6, NULL, err) == CONFIG_OK);
	sin6 = (struct sockaddr_in6 *)&cfg.listen.sa;
	TEST_ASSERT(sin6->sin6_family == AF_INET6);
	TEST_ASSERT(ntohs(sin6->sin6_port) == 443);
	TEST_ASSERT(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	TEST_ASSERT(cfg.listen.salen == sizeof(struct sockaddr_in6));
	TEST_ASSERT(strcmp(cfg.listen.host, "::1") == 0);
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, big, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--listen / TOKEND_LISTEN: port out of "
	    "range: \"70000\"") == 0);

	expect_good("--listen", "TOKEND_LISTEN", "[::]:2600");
	expect_good("--listen", "TOKEND_LISTEN", "0.0.0.0:1");
	expect_good("--listen", "TOKEND_LISTEN", "255.255.255.255:65535");
	expect_good("--listen", "TOKEND_LISTEN", "[2001:db8::1]:80");
	expect_bad("--listen", "TOKEND_LISTEN", "");
	expect_bad("--listen", "TOKEND_LISTEN", "2600");
	expect_bad("--listen", "TOKEND_LISTEN", "1.2.3.4:0");
	expect_bad("--listen", "TOKEND_LISTEN", "1.2.3.4:");
	expect_bad("--listen", "TOKEND_LISTEN", "1.2.3.4:+80");
	expect_bad("--listen", "TOKEND_LISTEN", "1.2.3.4:80x");
	expect_bad("--listen", "TOKEND_LISTEN", "1.2.3.4:99999999999999999");
	expect_bad("--listen", "TOKEND_LISTEN", ":80");
	expect_bad("--listen", "TOKEND_LISTEN", "localhost:80");
	expect_bad("--listen", "TOKEND_LISTEN", "1.2.3:80");
	expect_bad("--listen", "TOKEND_LISTEN", "::1:80");
	expect_bad("--listen", "TOKEND_LISTEN", "[::1]80");
	expect_bad("--listen", "TOKEND_LISTEN", "[::1");
	expect_bad("--listen", "TOKEND_LISTEN", "[]:80");
	expect_bad("--listen", "TOKEND_LISTEN", "[1.2.3.4]:80");
	expect_bad("--listen", "TOKEND_LISTEN", "[fe80::1%eth0]:80");
}

/*
 * --management-listen: 127.0.0.1:9600 by default, IPv4 or IPv6 as
 * --listen, "off" for none; the variable too.
 */
static void
test_config_management_listen(void)
{
	struct config		 cfg;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	char			 err[256];
	const char		*v6[] = { "--management-listen", "[::1]:9700",
				    NULL };
	const char		*off[] = { "--management-listen", "off",
				    NULL };
	const char		*twice[] = { "--management-listen", "off",
				    "--management-listen", "127.0.0.2:9601",
				    NULL };
	const char		*env_off[] = { "TOKEND_MANAGEMENT_LISTEN=off",
				    NULL };
	const char		*env_v4[] = {
				    "TOKEND_MANAGEMENT_LISTEN=0.0.0.0:9601",
				    NULL };

	TEST_ASSERT(parse(&cfg, plain_base, NULL, NULL, err) == CONFIG_OK);
	TEST_ASSERT(!cfg.management_off);
	sin = (struct sockaddr_in *)&cfg.management_listen.sa;
	TEST_ASSERT(sin->sin_family == AF_INET);
	TEST_ASSERT(ntohs(sin->sin_port) == 9600);
	TEST_ASSERT(ntohl(sin->sin_addr.s_addr) == 0x7f000001);
	TEST_ASSERT(strcmp(cfg.management_listen.host, "127.0.0.1") == 0);
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, v6, NULL, err) == CONFIG_OK);
	TEST_ASSERT(!cfg.management_off);
	sin6 = (struct sockaddr_in6 *)&cfg.management_listen.sa;
	TEST_ASSERT(sin6->sin6_family == AF_INET6);
	TEST_ASSERT(ntohs(sin6->sin6_port) == 9700);
	TEST_ASSERT(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, off, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.management_off);
	TEST_ASSERT(cfg.management_listen.port == 0);
	config_finish(&cfg);
	/* the last flag wins, "off" included */
	TEST_ASSERT(parse(&cfg, plain_base, twice, NULL, err) == CONFIG_OK);
	TEST_ASSERT(!cfg.management_off);
	TEST_ASSERT(cfg.management_listen.port == 9601);
	config_finish(&cfg);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env_off, err) == CONFIG_OK);
	TEST_ASSERT(cfg.management_off);
	config_finish(&cfg);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env_v4, err) == CONFIG_OK);
	TEST_ASSERT(!cfg.management_off);
	TEST_ASSERT(cfg.management_listen.port == 9601);
	config_finish(&cfg);
	/* the flag beats the variable */
	TEST_ASSERT(parse(&cfg, plain_base, v6, env_off, err) == CONFIG_OK);
	TEST_ASSERT(!cfg.management_off);
	config_finish(&cfg);

	expect_good("--management-listen", "TOKEND_MANAGEMENT_LISTEN",
	    "[::]:9600");
	expect_good("--management-listen", "TOKEND_MANAGEMENT_LISTEN",
	    "10.1.2.3:1");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN", "");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN", "OFF");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN", "no");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN", "9600");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN",
	    "localhost:9600");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN",
	    "127.0.0.1:0");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN",
	    "127.0.0.1:65536");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN",
	    "::1:9600");
	expect_bad("--management-listen", "TOKEND_MANAGEMENT_LISTEN",
	    "off:9600");
}

static void
test_config_listen_parser(void)
{
	struct listen_addr	 la;
	char			 err[128];

	TEST_ASSERT(config_parse_listen("10.0.0.1:2600", &la, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(la.port == 2600);
	TEST_ASSERT(config_parse_listen("10.0.0.1:65536", &la, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "port out of range: \"65536\"") == 0);
	TEST_ASSERT(config_parse_listen("10.0.0.1", &la, err,
	    sizeof(err)) == -1);
	/* a tiny errbuf is cut, not overrun */
	TEST_ASSERT(config_parse_listen("x", &la, err, 4) == -1);
	TEST_ASSERT(strlen(err) == 3);
}

static void
test_config_tls_required(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*key_only[] = { "--tls-key", key, "--signing-key",
			    signing, NULL };
	const char	*cert_only[] = { "--tls-cert", cert, "--signing-key",
			    signing, NULL };

	TEST_ASSERT(parse(&cfg, no_args, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--tls-cert / TOKEND_TLS_CERT: required "
	    "unless --plain-http") == 0);
	TEST_ASSERT(parse(&cfg, key_only, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--tls-cert / TOKEND_TLS_CERT: required "
	    "unless --plain-http") == 0);
	TEST_ASSERT(parse(&cfg, cert_only, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--tls-key / TOKEND_TLS_KEY: required "
	    "unless --plain-http") == 0);
}

static void
test_config_tls_files(void)
{
	struct config	 cfg;
	char		 err[256], ecert[200], ekey[200];
	const char	*bad_cert[] = { "--tls-cert", missing, "--tls-key", key,
			    "--signing-key", signing, NULL };
	const char	*dir_key[] = { "--tls-cert", cert, "--tls-key", subdir,
			    "--signing-key", signing, NULL };
	const char	*empty[] = { "--tls-cert", "", "--tls-key", key,
			    "--signing-key", signing, NULL };
	const char	*via_env[] = { "--signing-key", signing, NULL };
	const char	*env[] = { ecert, ekey, NULL };

	TEST_ASSERT(parse(&cfg, bad_cert, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "--tls-cert / TOKEND_TLS_CERT: cannot "
	    "read \""));
	TEST_ASSERT(strstr(err, "No such file or directory") != NULL);
	TEST_ASSERT(parse(&cfg, dir_key, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "--tls-key / TOKEND_TLS_KEY: cannot "
	    "read"));
	TEST_ASSERT(strstr(err, "Is a directory") != NULL);
	TEST_ASSERT(parse(&cfg, empty, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--tls-cert / TOKEND_TLS_CERT: empty file "
	    "name") == 0);

	snprintf(ecert, sizeof(ecert), "TOKEND_TLS_CERT=%s", cert);
	snprintf(ekey, sizeof(ekey), "TOKEND_TLS_KEY=%s", key);
	TEST_ASSERT(parse(&cfg, via_env, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.tls_cert, cert) == 0);
	TEST_ASSERT(strcmp(cfg.tls_key, key) == 0);
	config_finish(&cfg);
	snprintf(ekey, sizeof(ekey), "TOKEND_TLS_KEY=%s", missing);
	TEST_ASSERT(parse(&cfg, via_env, NULL, env, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "--tls-key / TOKEND_TLS_KEY: cannot "));
}

static void
test_config_plain_http(void)
{
	struct config	 cfg;
	char		 err[256], ev[64];
	const char	*sk[] = { "--signing-key", signing, NULL };
	const char	*ignored[] = { "--plain-http", "--tls-cert", missing,
			    "--signing-key", signing, NULL };
	const char	*with_value[] = { "--plain-http=1", NULL };
	const char	*env[] = { ev, NULL };
	const char	*yes[] = { "1", "true", "yes", "YES", "True" };
	const char	*no[] = { "0", "false", "no", "NO" };
	size_t		 i;

	/* TLS files are ignored, even missing ones, under --plain-http */
	TEST_ASSERT(parse(&cfg, ignored, NULL, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.plain_http && cfg.tls_cert == NULL);
	config_finish(&cfg);

	for (i = 0; i < nitems(yes); i++) {
		snprintf(ev, sizeof(ev), "TOKEND_PLAIN_HTTP=%s", yes[i]);
		TEST_ASSERT(parse(&cfg, sk, NULL, env, err) == CONFIG_OK);
		TEST_ASSERT(cfg.plain_http);
		config_finish(&cfg);
	}
	for (i = 0; i < nitems(no); i++) {
		snprintf(ev, sizeof(ev), "TOKEND_PLAIN_HTTP=%s", no[i]);
		TEST_ASSERT(parse(&cfg, sk, NULL, env, err) == CONFIG_ERROR);
		TEST_ASSERT(starts_with(err, "--tls-cert / TOKEND_TLS_CERT: "
		    "required"));
	}
	/* the flag beats the variable */
	snprintf(ev, sizeof(ev), "TOKEND_PLAIN_HTTP=0");
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.plain_http);
	config_finish(&cfg);

	snprintf(ev, sizeof(ev), "TOKEND_PLAIN_HTTP=maybe");
	TEST_ASSERT(parse(&cfg, sk, NULL, env, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--plain-http / TOKEND_PLAIN_HTTP: want "
	    "1/true/yes or 0/false/no: \"maybe\"") == 0);
	snprintf(ev, sizeof(ev), "TOKEND_PLAIN_HTTP=2");
	TEST_ASSERT(parse(&cfg, sk, NULL, env, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "--plain-http / TOKEND_PLAIN_HTTP: "));
	TEST_ASSERT(parse(&cfg, sk, with_value, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--plain-http: takes no value") == 0);
}

static void
test_config_signing_key(void)
{
	struct config	 cfg;
	char		 err[256], ev[200];
	const char	*none[] = { "--plain-http", NULL };
	const char	*both[] = { "--plain-http", "--signing-key", signing,
			    "--hs256-secret-file", hs256, NULL };
	const char	*hs[] = { "--plain-http", "--hs256-secret-file", hs256,
			    NULL };
	const char	*env[] = { ev, NULL };

	TEST_ASSERT(parse(&cfg, none, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--signing-key / TOKEND_SIGNING_KEY: "
	    "required unless --hs256-secret-file") == 0);
	TEST_ASSERT(parse(&cfg, both, NULL, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "--signing-key / TOKEND_SIGNING_KEY: "));
	TEST_ASSERT(strstr(err, "--hs256-secret-file") != NULL);
	TEST_ASSERT(parse(&cfg, hs, NULL, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.signing_key == NULL);
	TEST_ASSERT(strcmp(cfg.hs256_secret_file, hs256) == 0);
	config_finish(&cfg);

	snprintf(ev, sizeof(ev), "TOKEND_SIGNING_KEY=%s", signing);
	TEST_ASSERT(parse(&cfg, none, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.signing_key, signing) == 0);
	config_finish(&cfg);
	snprintf(ev, sizeof(ev), "TOKEND_HS256_SECRET_FILE=%s", hs256);
	TEST_ASSERT(parse(&cfg, none, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.hs256_secret_file, hs256) == 0);
	config_finish(&cfg);

	expect_bad("--signing-key", "TOKEND_SIGNING_KEY", missing);
	expect_bad("--signing-key", "TOKEND_SIGNING_KEY", subdir);
	expect_bad("--signing-key", "TOKEND_SIGNING_KEY", "");
	expect_bad("--hs256-secret-file", "TOKEND_HS256_SECRET_FILE", missing);
	expect_bad("--hs256-secret-file", "TOKEND_HS256_SECRET_FILE", subdir);
	expect_bad("--hs256-secret-file", "TOKEND_HS256_SECRET_FILE", "");
}

static void
test_config_retired_keys(void)
{
	struct config	 cfg;
	char		 err[256], ev[400];
	const char	*two[] = { "--retired-key", retired1, "--retired-key",
			    retired2, NULL };
	const char	*one[] = { "--retired-key", retired2, NULL };
	const char	*bad[] = { "--retired-key", retired1, "--retired-key",
			    missing, NULL };
	const char	*env[] = { ev, NULL };

	TEST_ASSERT(parse(&cfg, plain_base, two, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.n_retired_keys == 2);
	TEST_ASSERT(strcmp(cfg.retired_keys[0], retired1) == 0);
	TEST_ASSERT(strcmp(cfg.retired_keys[1], retired2) == 0);
	TEST_ASSERT(cfg.retired_keys[2] == NULL);
	config_finish(&cfg);

	snprintf(ev, sizeof(ev), "TOKEND_RETIRED_KEYS=%s,%s", retired2,
	    retired1);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.n_retired_keys == 2);
	TEST_ASSERT(strcmp(cfg.retired_keys[0], retired2) == 0);
	TEST_ASSERT(strcmp(cfg.retired_keys[1], retired1) == 0);
	TEST_ASSERT(cfg.retired_keys[2] == NULL);
	config_finish(&cfg);

	/* flags replace the variable's list, they don't add to it */
	TEST_ASSERT(parse(&cfg, plain_base, one, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.n_retired_keys == 1);
	TEST_ASSERT(strcmp(cfg.retired_keys[0], retired2) == 0);
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, bad, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "--retired-key / TOKEND_RETIRED_KEYS: "
	    "cannot read"));
	snprintf(ev, sizeof(ev), "TOKEND_RETIRED_KEYS=%s,,%s", retired1,
	    retired2);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--retired-key / TOKEND_RETIRED_KEYS: "
	    "empty entry in the list") == 0);
	snprintf(ev, sizeof(ev), "TOKEND_RETIRED_KEYS=%s,", retired1);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_ERROR);
	snprintf(ev, sizeof(ev), "TOKEND_RETIRED_KEYS=%s,%s", retired1,
	    missing);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_ERROR);
	TEST_ASSERT(strstr(err, "missing.pem") != NULL);
	expect_bad("--retired-key", "TOKEND_RETIRED_KEYS", subdir);
}

static void
test_config_redis_setting(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*url[] = { "--redis",
			    "redis://:hunter2@redis.internal:6380/3", NULL };
	const char	*bad[] = { "--redis",
			    "redis://:hunter2@bad_host:6380/3", NULL };
	const char	*env[] = { "TOKEND_REDIS=unix:///run/redis.sock?db=2",
			    NULL };

	TEST_ASSERT(parse(&cfg, plain_base, url, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.redis.kind == REDIS_TCP);
	TEST_ASSERT(strcmp(cfg.redis.host, "redis.internal") == 0);
	TEST_ASSERT(cfg.redis.port == 6380 && cfg.redis.db == 3);
	TEST_ASSERT(strcmp(cfg.redis.password, "hunter2") == 0);
	config_finish(&cfg);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.redis.kind == REDIS_UNIX);
	TEST_ASSERT(strcmp(cfg.redis.path, "/run/redis.sock") == 0);
	TEST_ASSERT(cfg.redis.db == 2);
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, bad, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "--redis / TOKEND_REDIS: bad host"));
	TEST_ASSERT(strstr(err, "hunter2") == NULL);
	expect_good("--redis", "TOKEND_REDIS", "redis://localhost");
	expect_bad("--redis", "TOKEND_REDIS", "");
	expect_bad("--redis", "TOKEND_REDIS", "http://localhost");
	expect_bad("--redis", "TOKEND_REDIS", "redis://");
	expect_good("--redis", "TOKEND_REDIS", "sentinel://127.0.0.1:26379/m");
	expect_bad("--redis", "TOKEND_REDIS", "sentinel://127.0.0.1:26379");
}

static void
test_config_prefix(void)
{
	struct config	 cfg;
	char		 err[256], p64[65], p65[66];
	const char	*x[] = { "--prefix", "app:", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.prefix, "app:") == 0);
	config_finish(&cfg);
	memset(p64, 'p', 64);
	p64[64] = '\0';
	memset(p65, 'p', 65);
	p65[65] = '\0';
	expect_good("--prefix", "TOKEND_PREFIX", p64);
	expect_good("--prefix", "TOKEND_PREFIX", "{tokend}:");
	expect_bad("--prefix", "TOKEND_PREFIX", "");
	expect_bad("--prefix", "TOKEND_PREFIX", p65);
	expect_bad("--prefix", "TOKEND_PREFIX", "a b");
	expect_bad("--prefix", "TOKEND_PREFIX", "a\tb");
	expect_bad("--prefix", "TOKEND_PREFIX", "a\x7f");
}

static void
test_config_issuer(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*x[] = { "--issuer", "https://auth.example.com/", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_OK);
	/* kept exactly, trailing '/' included */
	TEST_ASSERT(strcmp(cfg.issuer, "https://auth.example.com/") == 0);
	TEST_ASSERT(!cfg.issuer_defaulted);
	TEST_ASSERT(strcmp(cfg.default_audience, cfg.issuer) == 0);
	config_finish(&cfg);
	expect_good("--issuer", "TOKEND_ISSUER", "https://auth.example.com");
	expect_good("--issuer", "TOKEND_ISSUER",
	    "http://127.0.0.1:8080/realms/main");
	expect_bad("--issuer", "TOKEND_ISSUER", "");
	expect_bad("--issuer", "TOKEND_ISSUER", "auth.example.com");
	expect_bad("--issuer", "TOKEND_ISSUER", "ftp://auth.example.com");
	expect_bad("--issuer", "TOKEND_ISSUER", "HTTPS://auth.example.com");
	expect_bad("--issuer", "TOKEND_ISSUER", "https://");
	expect_bad("--issuer", "TOKEND_ISSUER", "https:///path");
	expect_bad("--issuer", "TOKEND_ISSUER", "https://:443");
	expect_bad("--issuer", "TOKEND_ISSUER", "https://a.example?x=1");
	expect_bad("--issuer", "TOKEND_ISSUER", "https://a.example#frag");
	expect_bad("--issuer", "TOKEND_ISSUER", "https://a.example ");
	expect_bad("--issuer", "TOKEND_ISSUER", "https://a.example/\n");
	expect_bad("--issuer", "TOKEND_ISSUER", "https://user@a.example");
}

static void
test_config_issuer_default(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*port[] = { "--listen", "[::1]:8443", NULL };
	const char	*aud[] = { "--default-audience", "api", NULL };
	const char	*env[] = { "TOKEND_LISTEN=127.0.0.1:9000", NULL };

	TEST_ASSERT(parse(&cfg, tls_base, port, NULL, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.issuer, "https://localhost:8443") == 0);
	TEST_ASSERT(cfg.issuer_defaulted);
	TEST_ASSERT(strcmp(cfg.default_audience,
	    "https://localhost:8443") == 0);
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.issuer, "http://localhost:9000") == 0);
	TEST_ASSERT(cfg.issuer_defaulted);
	config_finish(&cfg);

	TEST_ASSERT(parse(&cfg, plain_base, aud, NULL, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.issuer, "http://localhost:2600") == 0);
	TEST_ASSERT(strcmp(cfg.default_audience, "api") == 0);
	config_finish(&cfg);
}

static void
test_config_default_audience(void)
{
	expect_good("--default-audience", "TOKEND_DEFAULT_AUDIENCE", "api");
	expect_good("--default-audience", "TOKEND_DEFAULT_AUDIENCE",
	    "https://api.example.com/v1 orders");
	expect_bad("--default-audience", "TOKEND_DEFAULT_AUDIENCE", "");
	expect_bad("--default-audience", "TOKEND_DEFAULT_AUDIENCE", "a\nb");
	expect_bad("--default-audience", "TOKEND_DEFAULT_AUDIENCE", "a\x7f");
}

static void
test_config_token_typ(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*jwt[] = { "--token-typ", "JWT", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, jwt, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.token_typ == TOKEN_TYP_JWT);
	config_finish(&cfg);
	expect_good("--token-typ", "TOKEND_TOKEN_TYP", "at+jwt");
	expect_bad("--token-typ", "TOKEND_TOKEN_TYP", "");
	expect_bad("--token-typ", "TOKEND_TOKEN_TYP", "jwt");
	expect_bad("--token-typ", "TOKEND_TOKEN_TYP", "AT+JWT");
	expect_bad("--token-typ", "TOKEND_TOKEN_TYP", "at+jwt ");
}

static void
test_config_hs256_kid(void)
{
	struct config	 cfg;
	char		 err[256], k128[129], k129[130];
	const char	*x[] = { "--hs256-kid", "2024-01~key#1", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_OK);
	TEST_ASSERT(strcmp(cfg.hs256_kid, "2024-01~key#1") == 0);
	config_finish(&cfg);
	memset(k128, 'k', 128);
	k128[128] = '\0';
	memset(k129, 'k', 129);
	k129[129] = '\0';
	expect_good("--hs256-kid", "TOKEND_HS256_KID", k128);
	expect_good("--hs256-kid", "TOKEND_HS256_KID", "x");
	expect_bad("--hs256-kid", "TOKEND_HS256_KID", "");
	expect_bad("--hs256-kid", "TOKEND_HS256_KID", k129);
	expect_bad("--hs256-kid", "TOKEND_HS256_KID", "a b");
	expect_bad("--hs256-kid", "TOKEND_HS256_KID", "caf\xc3\xa9");
}

static void
test_config_log_level(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*x[] = { "--log-level", "debug", NULL };
	const char	*env[] = { "TOKEND_LOG_LEVEL=error", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, x, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.log_level == LOG_LEVEL_DEBUG);
	config_finish(&cfg);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.log_level == LOG_LEVEL_ERROR);
	config_finish(&cfg);
	expect_good("--log-level", "TOKEND_LOG_LEVEL", "warn");
	expect_good("--log-level", "TOKEND_LOG_LEVEL", "info");
	expect_bad("--log-level", "TOKEND_LOG_LEVEL", "");
	expect_bad("--log-level", "TOKEND_LOG_LEVEL", "WARN");
	expect_bad("--log-level", "TOKEND_LOG_LEVEL", "verbose");
}

/*
 * --user: looked up at parse time. As root any known user is accepted;
 * otherwise only the current one. Unknown names and bad names are
 * refused naming --user / TOKEND_USER.
 */
static void
test_config_user(void)
{
	struct config	 cfg;
	struct passwd	*me;
	char		 err[256], myname[256];
	const char	*x[] = { "--user", myname, NULL };
	const char	*nobody[] = { "--user", "nobody", NULL };
	const char	*env[] = { "TOKEND_USER=nobody", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, NULL, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.user == NULL);
	config_finish(&cfg);
	TEST_ASSERT((me = getpwuid(geteuid())) != NULL);
	snprintf(myname, sizeof(myname), "%s", me->pw_name);
	/* the current user: always accepted, root or not */
	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.user != NULL && strcmp(cfg.user, myname) == 0);
	TEST_ASSERT(cfg.user_uid == geteuid());
	config_finish(&cfg);
	expect_bad("--user", "TOKEND_USER", "no-such-user-tokend-test");
	expect_bad("--user", "TOKEND_USER", "two words");
	expect_bad("--user", "TOKEND_USER", "tab\tname");
	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_OK);
	config_finish(&cfg);
	if (getpwnam("nobody") == NULL || geteuid() == getpwnam("nobody")->
	    pw_uid)
		return;
	if (geteuid() == 0) {
		TEST_ASSERT(parse(&cfg, plain_base, nobody, NULL, err) ==
		    CONFIG_OK);
		TEST_ASSERT(strcmp(cfg.user, "nobody") == 0);
		TEST_ASSERT(cfg.user_uid == getpwnam("nobody")->pw_uid);
		TEST_ASSERT(cfg.user_gid == getpwnam("nobody")->pw_gid);
		config_finish(&cfg);
		TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) ==
		    CONFIG_OK);
		TEST_ASSERT(strcmp(cfg.user, "nobody") == 0);
		config_finish(&cfg);
	} else {
		/* without root, another user is a bad setting */
		expect_bad("--user", "TOKEND_USER", "nobody");
		TEST_ASSERT(parse(&cfg, plain_base, nobody, NULL, err) ==
		    CONFIG_ERROR);
		TEST_ASSERT(strstr(err, "only root can switch users") != NULL);
	}
}

static void
test_config_log_format(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*x[] = { "--log-format", "kv", NULL };
	const char	*env[] = { "TOKEND_LOG_FORMAT=json", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.log_format == LOG_FORMAT_JSON);
	config_finish(&cfg);
	TEST_ASSERT(parse(&cfg, plain_base, x, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.log_format == LOG_FORMAT_KV);
	config_finish(&cfg);
	expect_good("--log-format", "TOKEND_LOG_FORMAT", "json");
	expect_bad("--log-format", "TOKEND_LOG_FORMAT", "JSON");
	expect_bad("--log-format", "TOKEND_LOG_FORMAT", "logfmt");
}

enum kind { K_INT, K_LONG, K_SIZE };

static const struct int_setting {
	const char	*flag;
	const char	*env;
	long long	 min, max;
	size_t		 off;
	enum kind	 kind;
} int_settings[] = {
	{ "--token-ttl", "TOKEND_TOKEN_TTL", 1, 31536000,
	    offsetof(struct config, token_ttl), K_LONG },
	{ "--workers", "TOKEND_WORKERS", 1, 256,
	    offsetof(struct config, workers), K_INT },
	{ "--max-body", "TOKEND_MAX_BODY", 1, 16777216,
	    offsetof(struct config, max_body), K_SIZE },
	{ "--max-headers", "TOKEND_MAX_HEADERS", 1024, 1048576,
	    offsetof(struct config, max_headers), K_SIZE },
	{ "--request-timeout", "TOKEND_REQUEST_TIMEOUT", 1, 3600,
	    offsetof(struct config, request_timeout), K_INT },
	{ "--idle-timeout", "TOKEND_IDLE_TIMEOUT", 1, 86400,
	    offsetof(struct config, idle_timeout), K_INT },
	{ "--max-connections", "TOKEND_MAX_CONNECTIONS", 1, 1000000,
	    offsetof(struct config, max_connections), K_INT },
	{ "--redis-timeout", "TOKEND_REDIS_TIMEOUT", 10, 60000,
	    offsetof(struct config, redis_timeout_ms), K_INT },
	{ "--verify-grace", "TOKEND_VERIFY_GRACE", 0, 86400,
	    offsetof(struct config, verify_grace), K_INT },
	{ "--leeway", "TOKEND_LEEWAY", 0, 3600,
	    offsetof(struct config, leeway), K_INT },
	{ "--verify-cache-size", "TOKEND_VERIFY_CACHE_SIZE", 0, 1000000,
	    offsetof(struct config, verify_cache_size), K_INT },
	{ "--max-revocations-per-client", "TOKEND_MAX_REVOCATIONS_PER_CLIENT",
	    1, 1000000, offsetof(struct config, max_revocations_per_client),
	    K_INT },
	{ "--auth-fail-limit", "TOKEND_AUTH_FAIL_LIMIT", 0, 1000000,
	    offsetof(struct config, auth_fail_limit), K_INT },
	{ "--auth-fail-window", "TOKEND_AUTH_FAIL_WINDOW", 1, 86400,
	    offsetof(struct config, auth_fail_window), K_INT },
	{ "--auth-fail-ipv6-prefix", "TOKEND_AUTH_FAIL_IPV6_PREFIX", 32, 128,
	    offsetof(struct config, auth_fail_ipv6_prefix), K_INT },
	{ "--shutdown-timeout", "TOKEND_SHUTDOWN_TIMEOUT", 1, 3600,
	    offsetof(struct config, shutdown_timeout), K_INT },
	{ "--metrics-max-clients", "TOKEND_METRICS_MAX_CLIENTS", 0, 10000,
	    offsetof(struct config, metrics_max_clients), K_INT },
};

static long long
field(const struct config *cfg, const struct int_setting *is)
{
	const char	*p = (const char *)cfg + is->off;
	int		 i;
	long		 l;
	size_t		 z;

	switch (is->kind) {
	case K_INT:
		memcpy(&i, p, sizeof(i));
		return i;
	case K_LONG:
		memcpy(&l, p, sizeof(l));
		return l;
	case K_SIZE:
	default:
		memcpy(&z, p, sizeof(z));
		return (long long)z;
	}
}

/* Flag and variable both give val, as a number. */
static void
expect_number(const struct int_setting *is, long long val)
{
	struct config	 cfg;
	char		 err[256], num[32], ev[96];
	const char	*extra[] = { is->flag, num, NULL };
	const char	*env[] = { ev, NULL };

	snprintf(num, sizeof(num), "%lld", val);
	snprintf(ev, sizeof(ev), "%s=%lld", is->env, val);
	TEST_ASSERT(parse(&cfg, plain_base, extra, NULL, err) == CONFIG_OK);
	TEST_ASSERT(field(&cfg, is) == val);
	config_finish(&cfg);
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(field(&cfg, is) == val);
	config_finish(&cfg);
}

static void
test_config_integers(void)
{
	static const char *const junk[] = {
		"", "abc", "+5", "-5", " 5", "5 ", "5s", "0x10", "1e3", "1.5",
		"99999999999999999999999",
	};
	const struct int_setting	*is;
	struct config			 cfg;
	char				 num[32], err[256], want[128];
	const char			*extra[] = { NULL, num, NULL };
	size_t				 i, j;

	for (i = 0; i < nitems(int_settings); i++) {
		is = &int_settings[i];
		expect_number(is, is->min);
		expect_number(is, is->max);
		expect_number(is, (is->min + is->max) / 2);
		if (is->min > 0) {
			snprintf(num, sizeof(num), "%lld", is->min - 1);
			expect_bad(is->flag, is->env, num);
		}
		snprintf(num, sizeof(num), "%lld", is->max + 1);
		expect_bad(is->flag, is->env, num);
		for (j = 0; j < nitems(junk); j++)
			expect_bad(is->flag, is->env, junk[j]);

		/* the message gives the range */
		extra[0] = is->flag;
		TEST_ASSERT(parse(&cfg, plain_base, extra, NULL, err) ==
		    CONFIG_ERROR);
		snprintf(want, sizeof(want), "%s / %s: out of range "
		    "(%lld..%lld): \"%s\"", is->flag, is->env, is->min,
		    is->max, num);
		TEST_ASSERT(strcmp(err, want) == 0);
	}
}

static void
test_config_trusted_proxies(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*x[] = { "--trusted-proxies",
			    "10.1.2.3/8, 192.168.1.1 ,::1,fd00::/8", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.n_trusted_proxies == 4);
	TEST_ASSERT(cfg.trusted_proxies[0].family == AF_INET);
	TEST_ASSERT(cfg.trusted_proxies[0].prefix == 8);
	TEST_ASSERT(cfg.trusted_proxies[0].addr[0] == 10);
	TEST_ASSERT(cfg.trusted_proxies[0].addr[1] == 0);
	TEST_ASSERT(cfg.trusted_proxies[1].prefix == 32);
	TEST_ASSERT(cfg.trusted_proxies[2].family == AF_INET6);
	TEST_ASSERT(cfg.trusted_proxies[2].prefix == 128);
	TEST_ASSERT(cfg.trusted_proxies[3].prefix == 8);
	config_finish(&cfg);
	expect_good("--trusted-proxies", "TOKEND_TRUSTED_PROXIES",
	    "0.0.0.0/0");
	expect_good("--trusted-proxies", "TOKEND_TRUSTED_PROXIES", "::/0");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES", "");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES",
	    "10.0.0.0/33");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES", "::/129");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES", "10.0.0.0/");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES",
	    "10.0.0.0/-1");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES",
	    "proxy.internal");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES",
	    "10.0.0.0/8,");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES", ",");
	expect_bad("--trusted-proxies", "TOKEND_TRUSTED_PROXIES",
	    "10.0.0.1,10.0.0.2/8/8");
}

static void
test_config_precedence(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*flag[] = { "--token-ttl", "60", "--prefix", "f:",
			    NULL };
	const char	*env[] = { "TOKEND_TOKEN_TTL=120", "TOKEND_PREFIX=e:",
			    "TOKEND_LEEWAY=5", "TOKEND_WORKERS=3", NULL };
	const char	*empty[] = { "TOKEND_TOKEN_TTL=", "TOKEND_PREFIX=",
			    "TOKEND_LISTEN=", NULL };
	const char	*twice[] = { "--leeway", "1", "--leeway", "2", NULL };

	/* flag beats environment */
	TEST_ASSERT(parse(&cfg, plain_base, flag, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.token_ttl == 60);
	TEST_ASSERT(strcmp(cfg.prefix, "f:") == 0);
	/* environment beats default */
	TEST_ASSERT(cfg.leeway == 5 && cfg.workers == 3);
	/* default when neither */
	TEST_ASSERT(cfg.max_body == 16384);
	config_finish(&cfg);

	/* environment only */
	TEST_ASSERT(parse(&cfg, plain_base, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.token_ttl == 120);
	TEST_ASSERT(strcmp(cfg.prefix, "e:") == 0);
	config_finish(&cfg);

	/* set but empty counts as unset */
	TEST_ASSERT(parse(&cfg, plain_base, NULL, empty, err) == CONFIG_OK);
	TEST_ASSERT(cfg.token_ttl == 3600);
	TEST_ASSERT(strcmp(cfg.prefix, "tokend:") == 0);
	TEST_ASSERT(cfg.listen.port == 2600);
	config_finish(&cfg);

	/* the last of a repeated flag counts */
	TEST_ASSERT(parse(&cfg, plain_base, twice, NULL, err) == CONFIG_OK);
	TEST_ASSERT(cfg.leeway == 2);
	config_finish(&cfg);
}

static void
test_config_env_only(void)
{
	struct config	 cfg;
	char		 err[256], ev[3][200];
	const char	*env[] = { ev[0], ev[1], ev[2],
			    "TOKEND_PLAIN_HTTP=yes",
			    "TOKEND_REDIS=redis://[::1]:7000/4",
			    "TOKEND_ISSUER=https://id.example.org",
			    "TOKEND_TRUSTED_PROXIES=10.0.0.0/8",
			    "TOKEND_TOKEN_TYP=JWT",
			    "TOKEND_LOG_LEVEL=warn",
			    "UNRELATED=1", NULL };

	snprintf(ev[0], sizeof(ev[0]), "TOKEND_SIGNING_KEY=%s", signing);
	snprintf(ev[1], sizeof(ev[1]), "TOKEND_RETIRED_KEYS=%s", retired1);
	snprintf(ev[2], sizeof(ev[2]), "TOKEND_LISTEN=[::]:80");
	TEST_ASSERT(parse(&cfg, no_args, NULL, env, err) == CONFIG_OK);
	TEST_ASSERT(cfg.plain_http);
	TEST_ASSERT(strcmp(cfg.signing_key, signing) == 0);
	TEST_ASSERT(cfg.n_retired_keys == 1);
	TEST_ASSERT(cfg.listen.port == 80);
	TEST_ASSERT(cfg.redis.port == 7000 && cfg.redis.db == 4);
	TEST_ASSERT(strcmp(cfg.issuer, "https://id.example.org") == 0);
	TEST_ASSERT(strcmp(cfg.default_audience, "https://id.example.org") ==
	    0);
	TEST_ASSERT(cfg.n_trusted_proxies == 1);
	TEST_ASSERT(cfg.token_typ == TOKEN_TYP_JWT);
	TEST_ASSERT(cfg.log_level == LOG_LEVEL_WARN);
	config_finish(&cfg);
}

static void
test_config_help(void)
{
	struct config	 cfg, zero;
	char		 err[256], *out = NULL;
	const char	*help[] = { "--help", NULL };
	const char	*h[] = { "-h", "--bogus", NULL };

	memset(&zero, 0, sizeof(zero));
	TEST_ASSERT(parse_full(&cfg, help, NULL, NULL, err, sizeof(err),
	    &out) == CONFIG_HELP);
	TEST_ASSERT(memcmp(&cfg, &zero, sizeof(cfg)) == 0);
	TEST_ASSERT(starts_with(out, "Usage: tokend"));
	TEST_ASSERT(strstr(out, "  --listen ADDR:PORT ") != NULL);
	TEST_ASSERT(strstr(out, "(TOKEND_LISTEN, default: 0.0.0.0:2600)") !=
	    NULL);
	TEST_ASSERT(strstr(out, "(TOKEND_PLAIN_HTTP, default: off)") != NULL);
	TEST_ASSERT(strstr(out, "--retired-key FILE") != NULL);
	TEST_ASSERT(strstr(out, "TOKEND_SHUTDOWN_TIMEOUT") != NULL);
	TEST_ASSERT(strstr(out, "set but empty counts as unset") != NULL);
	free(out);
	out = NULL;
	/* no file checks and no TLS requirement under --help */
	TEST_ASSERT(parse_full(&cfg, h, NULL, NULL, err, sizeof(err),
	    &out) == CONFIG_HELP);
	TEST_ASSERT(strstr(out, "--trusted-proxies CIDR,...") != NULL);
	free(out);
}

static void
test_config_version(void)
{
	struct config	 cfg;
	char		 err[256], *out = NULL;
	const char	*v[] = { "--version", NULL };
	const char	*sv[] = { "-V", NULL };

	TEST_ASSERT(parse_full(&cfg, v, NULL, NULL, err, sizeof(err),
	    &out) == CONFIG_VERSION);
	TEST_ASSERT(strcmp(out, "tokend 0.1.0\n") == 0);
	free(out);
	out = NULL;
	TEST_ASSERT(parse_full(&cfg, sv, NULL, NULL, err, sizeof(err),
	    &out) == CONFIG_VERSION);
	TEST_ASSERT(strcmp(out, "tokend 0.1.0\n") == 0);
	free(out);
}

static void
test_config_unknown_option(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*bogus[] = { "--bogus", NULL };
	const char	*secret[] = { "--redis-url=redis://:hunter2@h", NULL };
	const char	*shortopt[] = { "-x", NULL };
	const char	*abbrev[] = { "--list", "1.2.3.4:5", NULL };
	const char	*ambiguous[] = { "--tls", "x", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, bogus, NULL, err) ==
	    CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "unknown option: --bogus") == 0);
	TEST_ASSERT(parse(&cfg, plain_base, secret, NULL, err) ==
	    CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "unknown option: --redis-url") == 0);
	TEST_ASSERT(parse(&cfg, plain_base, shortopt, NULL, err) ==
	    CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "unknown option: -x") == 0);
	TEST_ASSERT(parse(&cfg, plain_base, abbrev, NULL, err) ==
	    CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "unknown option: --list"));
	TEST_ASSERT(parse(&cfg, plain_base, ambiguous, NULL, err) ==
	    CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "unknown option: --tls"));
}

static void
test_config_missing_value(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*x[] = { "--listen", NULL };
	const char	*y[] = { "--retired-key", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--listen: missing value") == 0);
	TEST_ASSERT(parse(&cfg, plain_base, y, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(strcmp(err, "--retired-key: missing value") == 0);
}

static void
test_config_positional(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*x[] = { "hunter2", NULL };
	const char	*after[] = { "--", "hunter2", NULL };
	const char	*dashdash[] = { "--", NULL };

	TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) == CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "unexpected argument 4"));
	TEST_ASSERT(strstr(err, "hunter2") == NULL);
	TEST_ASSERT(parse(&cfg, plain_base, after, NULL, err) ==
	    CONFIG_ERROR);
	TEST_ASSERT(starts_with(err, "unexpected argument 5"));
	TEST_ASSERT(parse(&cfg, plain_base, dashdash, NULL, err) ==
	    CONFIG_OK);
	config_finish(&cfg);
}

static void
test_config_markdown(void)
{
	char	*buf = NULL;
	size_t	 len = 0, rows = 0;
	FILE	*out;
	char	*p;

	if ((out = open_memstream(&buf, &len)) == NULL)
		abort();
	config_doc_markdown(out);
	fclose(out);
	TEST_ASSERT(starts_with(buf, "| flag | environment | default | "
	    "meaning |\n| --- | --- | --- | --- |\n"));
	for (p = buf; (p = strchr(p, '\n')) != NULL; p++)
		rows++;
	TEST_ASSERT(strstr(buf, "| `--listen ADDR:PORT` | `TOKEND_LISTEN` | "
	    "`0.0.0.0:2600` |") != NULL);
	TEST_ASSERT(strstr(buf, "`--token-typ at+jwt\\|JWT`") != NULL);
	TEST_ASSERT(strstr(buf, "| `--management-listen ADDR:PORT\\|off` | "
	    "`TOKEND_MANAGEMENT_LISTEN` | `127.0.0.1:9600` |") != NULL);
	free(buf);
	TEST_ASSERT(rows == 2 + 40);
}

static void
test_config_finish_zeroed(void)
{
	struct config	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	config_finish(&cfg);
	config_finish(&cfg);
	TEST_ASSERT(cfg.issuer == NULL);
}

static void
test_config_reparse(void)
{
	struct config	 cfg;
	char		 err[256];
	const char	*x[] = { "--workers", "2", NULL };
	int		 i;

	/* getopt's state is reset on every call */
	for (i = 0; i < 3; i++) {
		TEST_ASSERT(parse(&cfg, plain_base, x, NULL, err) ==
		    CONFIG_OK);
		TEST_ASSERT(cfg.workers == 2);
		config_finish(&cfg);
	}
}

int
main(void)
{
	fixtures_init();
	test_run(test_config_defaults);
	test_run(test_config_tls_mode);
	test_run(test_config_listen);
	test_run(test_config_management_listen);
	test_run(test_config_listen_parser);
	test_run(test_config_tls_required);
	test_run(test_config_tls_files);
	test_run(test_config_plain_http);
	test_run(test_config_signing_key);
	test_run(test_config_retired_keys);
	test_run(test_config_redis_setting);
	test_run(test_config_prefix);
	test_run(test_config_issuer);
	test_run(test_config_issuer_default);
	test_run(test_config_default_audience);
	test_run(test_config_token_typ);
	test_run(test_config_hs256_kid);
	test_run(test_config_log_level);
	test_run(test_config_user);
	test_run(test_config_log_format);
	test_run(test_config_integers);
	test_run(test_config_trusted_proxies);
	test_run(test_config_precedence);
	test_run(test_config_env_only);
	test_run(test_config_help);
	test_run(test_config_version);
	test_run(test_config_unknown_option);
	test_run(test_config_missing_value);
	test_run(test_config_positional);
	test_run(test_config_markdown);
	test_run(test_config_finish_zeroed);
	test_run(test_config_reparse);
	fixtures_finish();
	return test_summary();
}

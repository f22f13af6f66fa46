/*
 * test_log: the log line formats (kv and json): key order, numbers,
 * quoting and escaping, values that try to end the line or fake a key,
 * the format parser, and cutting a line that is too long; the batch of a
 * loop thread (one write per turn, in order, flushed when full, by
 * another thread, at its end; lost lines counted).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "test.h"
#include "util.h"

#define TS	"2026-11-29T17:03:04.123Z"

static char	 line[LOG_LINE_MAX + 1];

/* Format into `line` (NUL-terminated for the tests) and return it. */
static const char *
fmt_line(enum log_format f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
fmt_line(enum log_format f, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n;

	va_start(ap, fmt);
	n = log_vformat(line, LOG_LINE_MAX, f, TS, LOG_LEVEL_INFO, 0, fmt,
	    ap);
	va_end(ap);
	line[n] = '\0';
	return line;
}

static const char *
fmt_errno(enum log_format f, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
fmt_errno(enum log_format f, int errnum, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n;

	va_start(ap, fmt);
	n = log_vformat(line, LOG_LINE_MAX, f, TS, LOG_LEVEL_WARN, errnum, fmt,
	    ap);
	va_end(ap);
	line[n] = '\0';
	return line;
}

/* Exactly one newline, at the end. */
static int
one_line(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && s[n - 1] == '\n' && memchr(s, '\n', n - 1) == NULL;
}

/*
 * Parse a kv line the way a log shipper would: key=bare or key="..." with
 * \" and \\ escapes, separated by one space. Writes the keys, space
 * separated, into keys. Returns 0, or -1 if the line is not of that form.
 */
static int
kv_keys(const char *s, char *keys, size_t keyslen)
{
	size_t	 o = 0;

	keys[0] = '\0';
	for (;;) {
		const char	*k = s;

		while ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_')
			s++;
		if (s == k || *s != '=')
			return -1;
		if (o + (size_t)(s - k) + 2 > keyslen)
			return -1;
		if (o > 0)
			keys[o++] = ' ';
		memcpy(keys + o, k, (size_t)(s - k));
		o += (size_t)(s - k);
		keys[o] = '\0';
		s++;
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\0' || *s == '\n')
					return -1;
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				else if (*s == '\\' && s[1] != 'x')
					return -1;
				if ((unsigned char)*s < 0x20 ||
				    (unsigned char)*s >= 0x7f)
					return -1;
			}
			s++;
		} else {
			if (*s == ' ' || *s == '\n' || *s == '\0')
				return -1;
			while (*s != ' ' && *s != '\n' && *s != '\0') {
				if (*s == '"' || *s == '=' || *s == '\\' ||
				    (unsigned char)*s < 0x20 ||
				    (unsigned char)*s >= 0x7f)
					return -1;
				s++;
			}
		}
		if (*s == '\n')
			return s[1] == '\0' ? 0 : -1;
		if (*s != ' ')
			return -1;
		s++;
	}
}

/* Parse a json line with json-c; the object, or NULL. */
static struct json_object *
json_line(const char *s)
{
	struct json_object	*obj;
	size_t			 n = strlen(s);
	char			*copy;

	if (n == 0 || s[n - 1] != '\n')
		return NULL;
	copy = strndup(s, n - 1);
	obj = json_tokener_parse(copy);
	free(copy);
	if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static void
test_log_kv_basic(void)
{
	char	 keys[256];

	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV,
	    "event=access method=%s status=%d dur_us=%llu", "GET", 200,
	    12345ULL), "ts=" TS " level=info event=access method=GET "
	    "status=200 dur_us=12345\n") == 0);
	TEST_ASSERT(kv_keys(line, keys, sizeof(keys)) == 0);
	TEST_ASSERT(strcmp(keys, "ts level event method status dur_us") == 0);
}

static void
test_log_json_basic(void)
{
	struct json_object	*o, *v;

	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_JSON,
	    "event=access method=%s status=%d dur_us=%llu", "GET", 200,
	    12345ULL), "{\"ts\":\"" TS "\",\"level\":\"info\","
	    "\"event\":\"access\",\"method\":\"GET\",\"status\":200,"
	    "\"dur_us\":12345}\n") == 0);
	TEST_ASSERT((o = json_line(line)) != NULL);
	TEST_ASSERT(json_object_object_get_ex(o, "status", &v));
	TEST_ASSERT(json_object_is_type(v, json_type_int));
	json_object_put(o);
}

static void
test_log_numbers(void)
{
	size_t		 z = 7;
	uint64_t	 u = 18446744073709551615ULL;

	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_JSON,
	    "event=e a=%zu b=%" PRIu64 " c=%ld d=%u e=%x f=%hhd g=7 h=%s "
	    "i=x%d j=\"%d\" k=007 l=-3", z, u, -42L, 3u, 255u, 300, "8",
	    9, 10), "{\"ts\":\"" TS "\",\"level\":\"info\",\"event\":\"e\","
	    "\"a\":7,\"b\":18446744073709551615,\"c\":-42,\"d\":3,"
	    "\"e\":\"ff\",\"f\":44,\"g\":7,\"h\":\"8\",\"i\":\"x9\","
	    "\"j\":10,\"k\":\"007\",\"l\":-3}\n") == 0);
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV, "event=e a=%zu h=%s", z,
	    "8"), "ts=" TS " level=info event=e a=7 h=8\n") == 0);
}

static void
test_log_quoting(void)
{
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV,
	    "event=e a=%s b=\"%s\" c=%s d=%s e=%s f=%s", "a\"b\\c", "plain",
	    "", "x=y", "two words", "caf\xc3\xa9"),
	    "ts=" TS " level=info event=e a=\"a\\\"b\\\\c\" b=plain c=\"\" "
	    "d=\"x=y\" e=\"two words\" f=\"caf\\xc3\\xa9\"\n") == 0);
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_JSON,
	    "event=e a=%s b=\"%s\" c=%s d=%s e=%s f=%s", "a\"b\\c", "plain",
	    "", "x=y", "two words", "caf\xc3\xa9"),
	    "{\"ts\":\"" TS "\",\"level\":\"info\",\"event\":\"e\","
	    "\"a\":\"a\\\"b\\\\c\",\"b\":\"plain\",\"c\":\"\",\"d\":\"x=y\","
	    "\"e\":\"two words\",\"f\":\"caf\\u00c3\\u00a9\"}\n") == 0);
	/* Literal values; a quoted literal keeps its spaces. */
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV,
	    "event=plain_http msg=\"TLS is off\" what=keys,tls pct=100%%"),
	    "ts=" TS " level=info event=plain_http msg=\"TLS is off\" "
	    "what=keys,tls pct=100%\n") == 0);
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV,
	    "event=store_subscriber_%s kind=%.*s k=%.2s", "down", 3, "abcdef",
	    "xyz"), "ts=" TS " level=info event=store_subscriber_down kind=abc "
	    "k=xy\n") == 0);
}

/* Nothing in a value can end the line or add a key, in either format. */
static void
test_log_injection(void)
{
	static const char *const evil[] = {
		"a\nts=x level=error event=fake",
		"a\r\nlevel=error",
		"x\" event=fake z=\"",
		"x\\\" event=fake",
		"\x1b[31mred",
		" event=fake",
		"a\tb\x7f\x01",
		"\"}\n{\"event\":\"fake\"",
		"\\u000a",
	};
	struct json_object	*o, *v;
	char			 keys[256];
	size_t			 i;

	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		fmt_line(LOG_FORMAT_KV, "event=auth_failed client_id=%s "
		    "reason=%s", evil[i], "unknown");
		TEST_ASSERT(one_line(line));
		TEST_ASSERT(kv_keys(line, keys, sizeof(keys)) == 0);
		TEST_ASSERT(strcmp(keys, "ts level event client_id reason") ==
		    0);
		fmt_line(LOG_FORMAT_JSON, "event=auth_failed client_id=%s "
		    "reason=%s", evil[i], "unknown");
		TEST_ASSERT(one_line(line));
		TEST_ASSERT((o = json_line(line)) != NULL);
		TEST_ASSERT(json_object_object_length(o) == 5);
		TEST_ASSERT(json_object_object_get_ex(o, "event", &v));
		TEST_ASSERT(strcmp(json_object_get_string(v), "auth_failed") ==
		    0);
		TEST_ASSERT(json_object_object_get_ex(o, "client_id", &v));
		/* ASCII values come back byte for byte. */
		TEST_ASSERT(strcmp(json_object_get_string(v), evil[i]) == 0);
		json_object_put(o);
	}
}

static void
test_log_event_first(void)
{
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV, "a=%d", 1),
	    "ts=" TS " level=info event=unnamed a=1\n") == 0);
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV, "%s", ""),
	    "ts=" TS " level=info event=unnamed log_format_error=1\n") == 0);
	/* A conversion the parser does not follow ends the line there. */
	TEST_ASSERT(strcmp(fmt_line(LOG_FORMAT_KV, "event=e a=%d b=%5d c=%s",
	    1, 2, "x"), "ts=" TS " level=info event=e a=1 "
	    "log_format_error=1\n") == 0);
}

static void
test_log_errno(void)
{
	struct json_object	*o, *v;

	TEST_ASSERT(strcmp(fmt_errno(LOG_FORMAT_KV, 2, "event=e worker=%d", 1),
	    "ts=" TS " level=warn event=e worker=1 "
	    "err=\"No such file or directory\"\n") == 0);
	fmt_errno(LOG_FORMAT_JSON, 2, "event=e worker=%d", 1);
	TEST_ASSERT((o = json_line(line)) != NULL);
	TEST_ASSERT(json_object_object_get_ex(o, "err", &v));
	TEST_ASSERT(strcmp(json_object_get_string(v),
	    "No such file or directory") == 0);
	json_object_put(o);
}

static void
test_log_format_line(void)
{
	struct log_field	 f[] = {
		{ "event", "x", 1, false },
		{ "n", "12a", 3, true },
		{ "m", "-0", 2, true },
		{ "k", "0", 1, true },
		{ "z", "a\0b", 3, false },
	};
	char			 buf[256];
	size_t			 n;

	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_KV, TS, "info", f,
	    5);
	buf[n] = '\0';
	TEST_ASSERT(strcmp(buf, "ts=" TS " level=info event=x n=12a m=-0 k=0 "
	    "z=\"a\\x00b\"\n") == 0);
	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_JSON, TS, "info", f,
	    5);
	buf[n] = '\0';
	TEST_ASSERT(strcmp(buf, "{\"ts\":\"" TS "\",\"level\":\"info\","
	    "\"event\":\"x\",\"n\":\"12a\",\"m\":-0,\"k\":0,"
	    "\"z\":\"a\\u0000b\"}\n") == 0);
}

/* A line too long is cut at a value, stays parseable, and says so. */
static void
test_log_truncation(void)
{
	static char		 big[4000];
	struct json_object	*o, *v;
	char			 keys[256];
	size_t			 len;
	int			 f;

	for (f = 0; f < 2; f++) {
		/* Plain bytes, then escapes that must not be split. */
		memset(big, f == 0 ? 'a' : '\n', sizeof(big) - 1);
		fmt_line(LOG_FORMAT_KV, "event=e a=%d big=%s after=%d", 1, big,
		    2);
		len = strlen(line);
		TEST_ASSERT(len <= LOG_LINE_MAX && len > LOG_LINE_MAX - 40);
		TEST_ASSERT(one_line(line));
		TEST_ASSERT(kv_keys(line, keys, sizeof(keys)) == 0);
		TEST_ASSERT(strcmp(keys, "ts level event a big truncated") ==
		    0);
		TEST_ASSERT(strcmp(line + len - 13, " truncated=1\n") == 0);
		fmt_line(LOG_FORMAT_JSON, "event=e a=%d big=%s after=%d", 1,
		    big, 2);
		len = strlen(line);
		TEST_ASSERT(len <= LOG_LINE_MAX && len > LOG_LINE_MAX - 40);
		TEST_ASSERT((o = json_line(line)) != NULL);
		TEST_ASSERT(json_object_object_get_ex(o, "truncated", &v));
		TEST_ASSERT(json_object_get_int(v) == 1);
		TEST_ASSERT(!json_object_object_get_ex(o, "after", &v));
		TEST_ASSERT(json_object_object_get_ex(o, "big", &v));
		TEST_ASSERT(json_object_get_string_len(v) > 300);
		json_object_put(o);
	}
	/* A number that does not fit is left out whole. */
	memset(big, 'b', LOG_LINE_MAX - 78);
	big[LOG_LINE_MAX - 78] = '\0';
	fmt_line(LOG_FORMAT_KV, "event=e big=%s n=%llu", big,
	    123456789012345678ULL);
	TEST_ASSERT(kv_keys(line, keys, sizeof(keys)) == 0);
	TEST_ASSERT(strcmp(keys, "ts level event big truncated") == 0);
}

/* More fields than the parser keeps. */
static void
test_log_many_fields(void)
{
	char	 keys[512];

	fmt_line(LOG_FORMAT_KV, "event=e a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 "
	    "j=10 k=11 l=12 m=13 n=14 o=15 p=16 q=17 r=18 s=19 t=20 u=21 "
	    "v=22 w=23 x=24 y=25 z=26 aa=27 bb=28 cc=29 dd=30 ee=31 ff=32 "
	    "gg=33");
	TEST_ASSERT(kv_keys(line, keys, sizeof(keys)) == 0);
	TEST_ASSERT(strstr(keys, " dd truncated") != NULL);
	/* Exactly LOG_FIELDS_MAX fields, no event first: event=unnamed takes
	   a slot, and the field it pushes out is not lost silently. */
	fmt_line(LOG_FORMAT_KV, "a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 "
	    "j=10 k=11 l=12 m=13 n=14 o=15 p=16 q=17 r=18 s=19 t=20 u=21 "
	    "v=22 w=23 x=24 y=25 z=26 aa=27 bb=28 cc=29 dd=30 ee=31 ff=32");
	TEST_ASSERT(kv_keys(line, keys, sizeof(keys)) == 0);
	TEST_ASSERT(strncmp(keys, "ts level event a b ", 19) == 0);
	TEST_ASSERT(strstr(keys, " truncated") != NULL);
}

/*
 * stderr a stream socket nobody reads for a while:
 * writes that only partly fit must never glue two lines together. Every
 * line read back holds at most one "ts=", and the whole lines are intact.
 */
static void
test_log_stream_socket(void)
{
	static char	 got[1 << 20];
	char		 pad[1500];
	size_t		 have = 0;
	ssize_t		 n;
	int		 sv[2], saved, snd = 4096, k, whole = 0;
	char		*ln, *next;

	/*
	 * TCP over loopback with small buffers: it takes part of a write
	 * when only part fits (a Unix stream socket, journald's, rarely
	 * does for lines this short, but may for longer ones).
	 */
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	int			 lfd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TEST_ASSERT((lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	TEST_ASSERT(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	TEST_ASSERT(listen(lfd, 1) == 0);
	TEST_ASSERT(getsockname(lfd, (struct sockaddr *)&sin, &slen) == 0);
	TEST_ASSERT((sv[0] = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	TEST_ASSERT(connect(sv[0], (struct sockaddr *)&sin, sizeof(sin)) == 0);
	TEST_ASSERT((sv[1] = accept(lfd, NULL, NULL)) != -1);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &snd, sizeof(snd));
	close(lfd);
	TEST_ASSERT((saved = dup(STDERR_FILENO)) != -1);
	TEST_ASSERT(dup2(sv[0], STDERR_FILENO) != -1);
	log_init();		/* non-blocking, as for journald */
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (k = 0; k < 400; k++) {
		log_warnx("event=stream_test k=%d pad=%s", k, pad);
		if (k % 50 == 49)	/* the reader catches up now and then */
			while ((n = recv(sv[1], got + have, sizeof(got) - have
			    - 1, MSG_DONTWAIT)) > 0)
				have += (size_t)n;
	}
	log_warnx("event=stream_test k=last");
	while ((n = recv(sv[1], got + have, sizeof(got) - have - 1,
	    MSG_DONTWAIT)) > 0)
		have += (size_t)n;
	TEST_ASSERT(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	close(sv[0]);
	close(sv[1]);
	got[have] = '\0';
	for (ln = got; *ln != '\0'; ln = next) {
		next = strchr(ln, '\n');
		TEST_ASSERT(next != NULL);
		*next++ = '\0';
		if (*ln == '\0')
			continue;
		TEST_ASSERT(strncmp(ln, "ts=", 3) == 0);
		TEST_ASSERT(strstr(ln + 3, "ts=") == NULL);
		if (strstr(ln, pad) != NULL)
			whole++;
	}
	TEST_ASSERT(whole > 0);
}

/* ---- the batch ---- */

static int	 wakes;
static char	 got[1 << 16];

static void
count_wake(void *arg)
{
	(void)arg;
	wakes++;
}

/* Everything the pipe holds, NUL-terminated; the number of bytes. */
static size_t
drain(int fd, char *buf, size_t size)
{
	size_t	 have = 0;
	ssize_t	 n;

	while (have < size - 1 && (n = read(fd, buf + have, size - 1 - have))
	    > 0)
		have += (size_t)n;
	buf[have] = '\0';
	return have;
}

/* Lines k=first..first+count-1 of event=batch_test, in order, and nothing
   else but empty lines. */
static bool
lines_in_order(const char *buf, int first, int count)
{
	const char	*p = buf;
	char		 want[64];
	int		 k;

	for (k = first; k < first + count; k++) {
		const char	*nl;

		while (*p == '\n')	/* ends a line an earlier test cut */
			p++;
		nl = strchr(p, '\n');

		snprintf(want, sizeof(want), " event=batch_test k=%d", k);
		if (nl == NULL || strncmp(p, "ts=", 3) != 0)
			return false;
		if (strstr(p, want) == NULL || strstr(p, want) > nl)
			return false;
		p = nl + 1;
	}
	return *p == '\0';
}

/* stderr to a non-blocking pipe; returns its read end, saves stderr. */
static int
stderr_to_pipe(int *saved)
{
	int	 fds[2];

	if (pipe(fds) == -1)
		return -1;
	(void)fcntl(fds[0], F_SETFL, O_NONBLOCK);
	*saved = dup(STDERR_FILENO);
	(void)dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	log_init();
	/* One line at once: it reports what earlier tests dropped and ends
	   a line they cut, so that the test starts with a clean count. */
	log_info("event=batch_setup");
	(void)drain(fds[0], got, sizeof(got));
	return fds[0];
}

static void
stderr_back(int saved)
{
	(void)dup2(saved, STDERR_FILENO);
	close(saved);
}

/* Nothing is written until the flush; then every line, in order. */
static void
test_log_batch_turn(void)
{
	int	 rfd, saved, k;
	size_t	 n1, n2;

	TEST_ASSERT((rfd = stderr_to_pipe(&saved)) != -1);
	wakes = 0;
	log_batch_begin(count_wake, NULL);
	for (k = 0; k < 5; k++)
		log_info("event=batch_test k=%d", k);
	n1 = drain(rfd, got, sizeof(got));
	log_batch_flush();
	n2 = drain(rfd, got, sizeof(got));
	log_info("event=batch_test k=%d", 5);	/* a new turn: woken again */
	log_batch_end();			/* writes what is left */
	log_info("event=batch_test k=%d", 6);	/* no batch: at once */
	stderr_back(saved);
	TEST_ASSERT(n1 == 0);
	TEST_ASSERT(n2 > 0);
	TEST_ASSERT(wakes == 2);
	got[n2] = '\0';
	{
		char	 all[1 << 16];

		memcpy(all, got, n2);
		all[n2] = '\0';
		TEST_ASSERT(lines_in_order(all, 0, 5));
	}
	TEST_ASSERT(drain(rfd, got, sizeof(got)) > 0);
	close(rfd);
	TEST_ASSERT(lines_in_order(got, 5, 2));
}

/* More than a batch holds, without a flush: none lost, all in order,
   each write at most PIPE_BUF. */
static void
test_log_batch_full(void)
{
	char	 pad[200];
	int	 rfd, saved, k;
	size_t	 before;

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	TEST_ASSERT((rfd = stderr_to_pipe(&saved)) != -1);
	log_batch_begin(count_wake, NULL);
	for (k = 0; k < 100; k++)
		log_info("event=batch_test k=%d pad=%s", k, pad);
	before = drain(rfd, got, sizeof(got));
	log_batch_end();
	stderr_back(saved);
	TEST_ASSERT(before > 0 && before <= 100 * (sizeof(pad) + 60));
	TEST_ASSERT(drain(rfd, got + before, sizeof(got) - before) > 0);
	close(rfd);
	TEST_ASSERT(lines_in_order(got, 0, 100));
}

static pthread_mutex_t	 th_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 th_cond = PTHREAD_COND_INITIALIZER;
static int		 th_state;

static void *
batch_thread(void *arg)
{
	(void)arg;
	log_batch_begin(count_wake, NULL);
	log_info("event=batch_test k=%d", 0);
	log_info("event=batch_test k=%d", 1);
	pthread_mutex_lock(&th_lock);
	th_state = 1;
	pthread_cond_broadcast(&th_cond);
	while (th_state != 2)
		pthread_cond_wait(&th_cond, &th_lock);
	pthread_mutex_unlock(&th_lock);
	log_info("event=batch_test k=%d", 2);
	log_batch_end();
	return NULL;
}

/* Another thread (SIGHUP, a fatal path) writes a loop thread's lines;
   the thread's later lines follow them. */
static void
test_log_batch_flush_all(void)
{
	pthread_t	 th;
	int		 rfd, saved;
	size_t		 n1, n2;

	TEST_ASSERT((rfd = stderr_to_pipe(&saved)) != -1);
	th_state = 0;
	TEST_ASSERT(pthread_create(&th, NULL, batch_thread, NULL) == 0);
	pthread_mutex_lock(&th_lock);
	while (th_state != 1)
		pthread_cond_wait(&th_cond, &th_lock);
	pthread_mutex_unlock(&th_lock);
	n1 = drain(rfd, got, sizeof(got));
	log_flush_all(false);
	n2 = drain(rfd, got, sizeof(got));
	pthread_mutex_lock(&th_lock);
	th_state = 2;
	pthread_cond_broadcast(&th_cond);
	pthread_mutex_unlock(&th_lock);
	pthread_join(th, NULL);
	log_flush_all(true);		/* nothing registered: a no-op */
	stderr_back(saved);
	TEST_ASSERT(n1 == 0);
	TEST_ASSERT(lines_in_order(got, 0, 2));
	TEST_ASSERT(n2 > 0);
	TEST_ASSERT(drain(rfd, got, sizeof(got)) > 0);
	close(rfd);
	TEST_ASSERT(lines_in_order(got, 2, 1));
}

/* A full pipe: the batch's lines are counted as dropped, and the next
   write that goes through reports them. */
static void
test_log_batch_dropped(void)
{
	char	 fill[4096];
	int	 rfd, saved, k;
	ssize_t	 n;

	memset(fill, 'f', sizeof(fill));
	TEST_ASSERT((rfd = stderr_to_pipe(&saved)) != -1);
	(void)fcntl(STDERR_FILENO, F_SETFL, O_NONBLOCK);
	while ((n = write(STDERR_FILENO, fill, sizeof(fill))) > 0)
		;
	log_batch_begin(count_wake, NULL);
	for (k = 0; k < 5; k++)
		log_info("event=batch_test k=%d", k);
	log_batch_flush();
	while (read(rfd, got, sizeof(got)) > 0)
		;
	log_info("event=batch_test k=%d", 5);
	log_batch_end();
	stderr_back(saved);
	drain(rfd, got, sizeof(got));
	close(rfd);
	TEST_ASSERT(strstr(got, "event=batch_test k=5") != NULL);
	TEST_ASSERT(strstr(got, "event=log_dropped lines=5\n") != NULL);
	TEST_ASSERT(strstr(got, "k=0") == NULL);
}

#define Z	((const char *)NULL)
#define Z8	Z, Z, Z, Z, Z, Z, Z, Z

/* One format both ways, cached (twice: the first call parses and keeps
   it) and parsed each time: the same bytes. */
static bool
same_cached(char *fmt, enum log_format lf)
{
	char	 a[LOG_LINE_MAX], b[LOG_LINE_MAX], c[LOG_LINE_MAX];
	size_t	 na, nb, nc;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	log_format_cache(false);
	na = log_sformat(a, sizeof(a), lf, "ts", LOG_LEVEL_INFO, fmt, Z8, Z8,
	    Z8, Z8, Z8);
	log_format_cache(true);
	nb = log_sformat(b, sizeof(b), lf, "ts", LOG_LEVEL_INFO, fmt, Z8, Z8,
	    Z8, Z8, Z8);
	nc = log_sformat(c, sizeof(c), lf, "ts", LOG_LEVEL_INFO, fmt, Z8, Z8,
	    Z8, Z8, Z8);
#pragma GCC diagnostic pop
	return na == nb && na == nc && memcmp(a, b, na) == 0 &&
	    memcmp(a, c, na) == 0;
}

/* Generated formats, good and bad, through one reused buffer (the same
   address, another format each time) and through fresh ones: the kept
   parse writes what the parser writes. */
static void
test_log_format_cache_same(void)
{
	static const char *const parts[] = {
	    "%s", "%d", "%u", "%x", "%c", "%lld", "%llu", "%zu", "%hhd",
	    "%hu", "%ld", "%jd", "%td", "%i", "%.8s", "%.*s", "%.3d", "%p",
	    "%ls", "%.*d", "%%", "%", "lit", "a b", "\"", "=", "-", "x%sy",
	    "%d%d", "%.100000s", "%.99999s", "%5d", "",
	};
	char		 buf[600], *fresh;
	unsigned	 seed = 12345;
	int		 i, j, nf, np;
	size_t		 o;

	for (i = 0; i < 4000; i++) {
		o = 0;
		nf = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 40;
		if ((seed >> 20) % 8 != 0)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "event=e%d", i);
		for (j = 0; j < nf && o < sizeof(buf) - 64; j++) {
			bool	 q;

			seed = seed * 1103515245u + 12345u;
			q = (seed >> 12) % 3 == 0;
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    " k%d=%s", j, q ? "\"" : "");
			for (np = 0; np < 1 + (int)((seed >> 16) % 3); np++) {
				seed = seed * 1103515245u + 12345u;
				o += (size_t)snprintf(buf + o,
				    sizeof(buf) - o, "%s",
				    parts[(seed >> 16) % nitems(parts)]);
			}
			if (q && (seed >> 24) % 4 != 0)
				o += (size_t)snprintf(buf + o,
				    sizeof(buf) - o, "\"");
		}
		TEST_ASSERT(same_cached(buf, LOG_FORMAT_KV));
		TEST_ASSERT(same_cached(buf, LOG_FORMAT_JSON));
		fresh = strdup(buf);
		TEST_ASSERT(fresh != NULL && same_cached(fresh,
		    LOG_FORMAT_KV));
		free(fresh);
	}
}

/* Real values through a kept format and through the parser. */
static void
test_log_format_cache_values(void)
{
	char	 a[LOG_LINE_MAX], b[LOG_LINE_MAX];
	size_t	 na, nb;
	int	 k;

	for (k = 0; k < 3; k++) {
		log_format_cache(k != 0);
		na = log_sformat(k == 0 ? a : b, sizeof(a), LOG_FORMAT_KV, "ts",
		    LOG_LEVEL_INFO, "event=v s=%s p=%.3s q=%.*s d=%d "
		    "ll=%lld u=%u x=%x c=%c hh=%hhd h=%hu z=%zu m=\"a %s b\" "
		    "pct=%d%%", "va lue\n", "abcdef", 2, "xyz", -42,
		    (long long)INT64_MIN, 4000000000u, 0xbeefu, '"', 300,
		    70000, (size_t)SIZE_MAX, "in", 7);
		if (k == 0)
			nb = na;
		else
			TEST_ASSERT(na == nb && memcmp(a, b, na) == 0);
	}
	log_format_cache(true);
	a[na] = '\0';
	TEST_ASSERT(strstr(a, " d=-42 ll=-9223372036854775808 u=4000000000 "
	    "x=beef c=\"\\\"\" hh=44 h=4464 ") != NULL);
}

/* kv: a value is bare exactly when each byte is printable ASCII other
   than space, '"', '=' and '\\'. */
static void
test_log_bare_bytes(void)
{
	char			 out[256], v[2];
	struct log_field	 f = { "k", v, 2, false };
	size_t			 n;
	int			 c;

	for (c = 0; c < 256; c++) {
		bool	 bare = c > 0x20 && c < 0x7f && c != '"' && c != '=' &&
		    c != '\\';

		v[0] = 'a';
		v[1] = (char)c;
		n = log_format_line(out, sizeof(out), LOG_FORMAT_KV, "ts",
		    "info", &f, 1);
		TEST_ASSERT(n > 9);
		TEST_ASSERT((memcmp(out + n - 4, "=a", 2) == 0 &&
		    (unsigned char)out[n - 2] == c) == bare);
	}
}

/* Dying on purpose: the hook main sets writes the batched lines before
   abort(), in order, even when another batch's lock is held. */
static void
test_log_abort_hook(void)
{
	int	 fds[2], status;
	pid_t	 pid;
	size_t	 n;

	TEST_ASSERT(pipe(fds) == 0);
	TEST_ASSERT((pid = fork()) != -1);
	if (pid == 0) {
		close(fds[0]);
		(void)dup2(fds[1], STDERR_FILENO);
		util_set_abort_hook(log_flush_fatal);
		log_batch_begin(count_wake, NULL);
		log_info("event=batch_test k=%d", 0);
		log_info("event=batch_test k=%d", 1);
		xabort();
	}
	close(fds[1]);
	n = drain(fds[0], got, sizeof(got));
	close(fds[0]);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid);
	TEST_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	TEST_ASSERT(n > 0);
	TEST_ASSERT(lines_in_order(got, 0, 2));

#ifndef __SANITIZE_ADDRESS__	/* ASan's malloc dies by itself */
	/* Out of memory takes the same path, the batch before its line. */
	TEST_ASSERT(pipe(fds) == 0);
	TEST_ASSERT((pid = fork()) != -1);
	if (pid == 0) {
		close(fds[0]);
		(void)dup2(fds[1], STDERR_FILENO);
		util_set_abort_hook(log_flush_fatal);
		log_batch_begin(count_wake, NULL);
		log_info("event=batch_test k=%d", 0);
		/* More than any address space: malloc returns NULL. */
		(void)xmalloc(SIZE_MAX / 2);
		_exit(0);
	}
	close(fds[1]);
	n = drain(fds[0], got, sizeof(got));
	close(fds[0]);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid);
	TEST_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	TEST_ASSERT(strstr(got, " event=batch_test k=0") != NULL);
	TEST_ASSERT(strstr(got, "out of memory") != NULL);
	TEST_ASSERT(strstr(got, "k=0") < strstr(got, "out of memory"));
#endif
}

int
main(void)
{
	test_run(test_log_kv_basic);
	test_run(test_log_json_basic);
	test_run(test_log_numbers);
	test_run(test_log_quoting);
	test_run(test_log_injection);
	test_run(test_log_event_first);
	test_run(test_log_errno);
	test_run(test_log_format_line);
	test_run(test_log_truncation);
	test_run(test_log_many_fields);
	test_run(test_log_stream_socket);
	test_run(test_log_batch_turn);
	test_run(test_log_batch_full);
	test_run(test_log_batch_flush_all);
	test_run(test_log_batch_dropped);
	test_run(test_log_abort_hook);
	test_run(test_log_format_cache_same);
	test_run(test_log_bare_bytes);
	test_run(test_log_format_cache_values);
	return test_summary();
}

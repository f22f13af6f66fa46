/*
 * log: key=value lines on stderr, one write(2) per line.
 *
 * Every line starts with "ts=<UTC, ms> level=<level> " and the caller's
 * text follows. A line longer than the buffer is cut, never split, so
 * concurrent workers cannot interleave. The level is checked before
 * anything is formatted. This module never allocates and never logs on its
 * own behalf.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048

static _Atomic int	 current_level = LOG_LEVEL_INFO;
static atomic_ulong	 dropped;	/* lines lost to a full pipe */

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

void
log_init(void)
{
	struct stat	 st;
	int		 fl;

	if (fstat(STDERR_FILENO, &st) == -1 ||
	    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	if ((fl = fcntl(STDERR_FILENO, F_GETFL)) != -1)
		(void)fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK);
}

void
log_set_level(enum log_level level)
{
	atomic_store(&current_level, (int)level);
}

bool
log_enabled(enum log_level level)
{
	return (int)level >= atomic_load_explicit(&current_level,
	    memory_order_relaxed);
}

static void
log_emit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 len;
	int		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
	len = (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(line) - 1)
		len = sizeof(line) - 1;
	if (errnum != 0) {
		char	 q[256];

		n = snprintf(line + len, sizeof(line) - len, " err=\"%s\"",
		    log_quote(q, sizeof(q), strerror(errnum)));
		if (n > 0)
			len += (size_t)n;
		if (len > sizeof(line) - 1)
			len = sizeof(line) - 1;
	}
	/* A cut line still ends the way every line does. */
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line; a line a full pipe refuses is counted, not
	 * waited for (log_init). */
	if (write(STDERR_FILENO, line, len) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			atomic_fetch_add(&dropped, 1);
		return;
	}
	if (atomic_load_explicit(&dropped, memory_order_relaxed) > 0) {
		unsigned long	 lost = atomic_exchange(&dropped, 0);
		char		 note[96];
		int		 k;

		k = snprintf(note, sizeof(note), "ts=%.24s level=warn "
		    "event=log_dropped lines=%lu\n", line + 3, lost);
		if (k > 0 && write(STDERR_FILENO, note, (size_t)k) == -1)
			atomic_fetch_add(&dropped, lost);
	}
}

#define LOG_FN(name, level, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 saved = errno;						\
									\
	if (!log_enabled(level))					\
		return;							\
	va_start(ap, fmt);						\
	log_emit(level, (with_errno) ? saved : 0, fmt, ap);		\
	va_end(ap);							\
	errno = saved;							\
}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_error, LOG_LEVEL_ERROR, 0)

char *
log_quote(char *dst, size_t dstlen, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;

	if (dstlen == 0)
		return dst;
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* control bytes and non-ASCII: lines stay ASCII */
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		} else {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}

void
fatalx(int status, const char *fmt, ...)
{
	va_list	 ap;

	fputs("tokend: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

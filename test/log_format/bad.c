/*
 * Log calls that pass the compiler's printf checks (most of them) but
 * that the logger cannot read: at run time each would cut its line with
 * log_format_error=1. scripts/check-log-formats must reject every call
 * on a line marked "rejected", and no other (test/log_format/check.py
 * runs it on this file after the preprocessor). Never compiled.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define EVENT(name)	"event=" #name
#define PTR_FMT		" p=%p"
#define LOG_BOTH(...)	do {						\
	log_info(__VA_ARGS__);						\
	log_debug(__VA_ARGS__);						\
} while (0)

void	bad(int, double, const void *, const char *, const wchar_t *,
	    uint64_t);

void
bad(int i, double d, const void *ptr, const char *fmt, const wchar_t *ws,
    uint64_t u64)
{
	char	 buf[256];
	void	(*fp)(const char *, ...);

	log_info("event=x p=%p", ptr);				/* rejected */
	log_info("event=x n=%5d", i);				/* rejected */
	log_info("event=x f=%f", d);				/* rejected */
	log_info("event=x n=%-d", i);				/* rejected */
	log_info("event=x n=%+d", i);				/* rejected */
	log_info("event=x n=%.2d", i);				/* rejected */
	log_info("event=x c=%lc", (wint_t)i);			/* rejected */
	log_info("event=x s=%ls", ws);				/* rejected */
	log_info("event=x s=%10s", fmt);			/* rejected */
	log_info("event=x n=%'d", i);				/* rejected */
	log_info("event=x n=%" PRIu64 " f=%g", u64, d);		/* rejected */
	log_warnx("event=multi_line a=%d "			/* rejected */
	    "b=%s "
	    "p=%p", i, fmt, ptr);
	log_warn("event=split p=%" "p", ptr);			/* rejected */
	log_error(EVENT(macro) PTR_FMT, ptr);			/* rejected */
	LOG_BOTH("event=in_macro e=%e", d);			/* rejected */
	(void)log_sformat(buf, sizeof(buf), LOG_FORMAT_KV,	/* rejected */
	    "ts", LOG_LEVEL_INFO, "event=x p=%p", ptr);
	log_info("event=x pct=100%");				/* rejected */
	log_info("x=1 event=late");				/* rejected */
	log_info("");						/* rejected */
	log_info("event=x two words");				/* rejected */
	log_info("event=x Key=1");				/* rejected */
	log_info(fmt, i);					/* rejected */
	log_debug(i ? "event=a" : "event=b");			/* rejected */
	log_info(L"event=wide");				/* rejected */
	fp = log_info;						/* rejected */
	fp("event=x p=%p", ptr);
}

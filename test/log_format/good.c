/*
 * Log calls the logger reads whole, in every shape the code writes them:
 * scripts/check-log-formats must accept each one (test/log_format/check.py
 * runs it on this file after the preprocessor). Never compiled.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define EVENT(name)	"event=" #name
#define LOG_BOTH(...)	do {						\
	log_info(__VA_ARGS__);						\
	log_debug(__VA_ARGS__);						\
} while (0)

struct sink {
	void	(*log_info)(const char *);
};

void	good(int, long, long long, size_t, unsigned, uint64_t, const char *,
	    struct sink *);

void
good(int i, long l, long long ll, size_t z, unsigned u, uint64_t u64,
    const char *s, struct sink *sink)
{
	char	 buf[256];

	log_info("event=plain");
	log_info("event=ints a=%d b=%i c=%u d=%x e=%ld f=%lld g=%zu h=%hhd "
	    "i=%hu j=%jd k=%td m=%lu n=%llx", i, i, u, u, l, ll, z,
	    (signed char)i, (unsigned short)u, (intmax_t)i, (ptrdiff_t)i,
	    (unsigned long)l, (unsigned long long)ll);
	log_warnx("event=strs s=%s t=%.8s v=%.*s q=\"%s and %s\" pct=100%% "
	    "w=%.s", s, s, 4, s, s, s, s);
	log_warn("event=multi_line "
	    "a=%d "
	    "b=%s", i, s);
	log_error("event=pri n=%" PRIu64 " m=%" PRId64 " x=%" PRIx64, u64,
	    (int64_t)u64, u64);
	log_info(EVENT(macro) " n=%d c=%c", i, 'x');
	LOG_BOTH("event=twice n=%d", i);
	(void)log_sformat(buf, sizeof(buf), LOG_FORMAT_KV, "ts",
	    LOG_LEVEL_INFO, "event=sformat n=%d", i);
	sink->log_info("not the logger: %p");
	if (i)
		log_info("event=after_if");
	else
		log_info(("event=in_parentheses"));
	log_info("event=quoted msg=\"two words\" e=\"\" tab=\"a\tb\"");
	log_info("event=nul_ends_it\0 p=%p");
}

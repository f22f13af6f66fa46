/*
 * util: allocation that never fails, secret wiping, the monotonic clock.
 *
 * An allocation failure prints one line and aborts, as redis and kore do:
 * error paths elsewhere are then about real errors only. Library calls that
 * allocate (OpenSSL, json-c, the Redis client) are not covered; their NULLs are
 * still checked by their callers.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static void (*_Atomic abort_hook)(void);

void
util_set_abort_hook(void (*hook)(void))
{
	atomic_store(&abort_hook, hook);
}

void
xabort(void)
{
	void	(*hook)(void) = atomic_exchange(&abort_hook, NULL);

	/* Taken once: a hook that aborts itself does not loop. */
	if (hook != NULL)
		hook();
	abort();
}

static void
oom(size_t n)
{
	/* The batched lines first: they happened before this one. */
	void	(*hook)(void) = atomic_exchange(&abort_hook, NULL);

	if (hook != NULL)
		hook();
	fprintf(stderr, "tokend: out of memory (%zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p;

	/* malloc(0) may return NULL; never hand that to a caller. */
	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	/* calloc checks nmemb * size for overflow itself. */
	if ((p = calloc(nmemb, size)) == NULL)
		oom(size);
	return p;
}

void *
xrealloc(void *ptr, size_t n)
{
	void	*p;

	if ((p = realloc(ptr, n == 0 ? 1 : n)) == NULL)
		oom(n);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	n = strnlen(s, n);
	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
secret_free_str(char *s)
{
	if (s == NULL)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

uint64_t
now_usec(void)
{
	struct timespec	 ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
errbuf_set(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

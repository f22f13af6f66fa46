/*
 * reqid: validate a client's X-Request-Id, or make a new id.
 *
 * A generated id is unique without coordination: each thread draws a
 * 64-bit random prefix once and counts from there, so two threads (or two
 * processes) collide only if their prefixes do. The id never carries
 * anything secret; a client's id is logged only after reqid_valid() has
 * said it holds nothing but [A-Za-z0-9._:-].
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "reqid.h"

struct reqid_state {
	bool		 ready;
	char		 prefix[17];
	uint64_t	 next;
};

static _Thread_local struct reqid_state	 state;

bool
reqid_valid(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++) {
		char	 c = s[n];

		if (n == REQID_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '-'))
			return false;
	}
	return n > 0;
}

static void
reqid_init(struct reqid_state *st)
{
	unsigned char	 r[8];
	uint64_t	 v = 0;
	size_t		 i;

	if (RAND_bytes(r, sizeof(r)) == 1) {
		for (i = 0; i < sizeof(r); i++)
			v = v << 8 | r[i];
	} else {
		struct timespec	 ts;

		/* Ids need only be unique, not secret: a weaker mix will do. */
		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40 ^
		    (uint64_t)(uintptr_t)st;
	}
	snprintf(st->prefix, sizeof(st->prefix), "%016llx",
	    (unsigned long long)v);
	st->next = 0;
	st->ready = true;
}

void
reqid_generate(char *dst)
{
	struct reqid_state	*st = &state;

	static const char	 hex[] = "0123456789abcdef";
	char			 tmp[16], *b = tmp + sizeof(tmp);
	uint64_t		 v;

	if (!st->ready)
		reqid_init(st);
	/* "%s-%llx" of prefix and counter, without snprintf's cost. */
	v = st->next++;
	do {
		*--b = hex[v & 0xf];
		v >>= 4;
	} while (v != 0);
	memcpy(dst, st->prefix, 16);
	dst[16] = '-';
	memcpy(dst + 17, b, (size_t)(tmp + sizeof(tmp) - b));
	dst[17 + (tmp + sizeof(tmp) - b)] = '\0';
}

bool
reqid_choose(const char *client, char *dst)
{
	if (reqid_valid(client)) {
		memcpy(dst, client, strlen(client) + 1);
		return true;
	}
	reqid_generate(dst);
	return false;
}

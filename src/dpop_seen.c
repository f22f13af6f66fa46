/*
 * dpop_seen: the process's table of accepted DPoP proof jtis
 * (include/dpop_seen.h has what it promises).
 *
 * An entry is the first 16 bytes of SHA-256(jkt "\n" jti) and the second
 * it stops mattering; its stripe and its two first slots come from the
 * same hash. A stripe is an open-addressed array probed linearly over at
 * most PROBE slots from each of the two (two choices: a stripe fills to
 * about three quarters before a new entry finds no room, where one
 * choice refused at about half): a slot whose time has passed is free,
 * so expiry costs nothing and needs no sweep. jkt and jti are never kept: a proof or its parts
 * cannot be read back from the table.
 *
 * What it leaves to others: the window (the caller's until), the clock,
 * what a refusal is answered with.
 *
 * Invariant, per stripe and under its mutex: no two live entries have
 * the same hash.
 */
#include "dpop_seen.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"

#define STRIPES		16	/* a power of two */
#define PROBE		32

struct slot {
	unsigned char	 h[16];
	int64_t		 until;		/* 0: never used */
};

struct stripe {
	pthread_mutex_t	 mu;
	struct slot	*slots;
	size_t		 n;		/* a power of two */
};

struct dpop_seen {
	struct stripe	 stripes[STRIPES];
};

struct dpop_seen *
dpop_seen_new(size_t max_entries)
{
	struct dpop_seen	*t = xcalloc(1, sizeof(*t));
	size_t			 per = PROBE, i;

	while (per * STRIPES < max_entries)
		per <<= 1;
	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_init(&t->stripes[i].mu, NULL);
		t->stripes[i].slots = xcalloc(per, sizeof(struct slot));
		t->stripes[i].n = per;
	}
	return t;
}

void
dpop_seen_free(struct dpop_seen *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_destroy(&t->stripes[i].mu);
		free(t->stripes[i].slots);
	}
	free(t);
}

enum dpop_seen_result
dpop_seen_use(struct dpop_seen *t, const char *jkt, const char *jti,
    int64_t now, int64_t until)
{
	EVP_MD_CTX		*md;
	unsigned char		 h[32];
	unsigned int		 hl = 0;
	struct stripe		*s;
	struct slot		*free_slot = NULL, *sl;
	uint64_t		 first[2];
	size_t			 c, i;
	enum dpop_seen_result	 res;

	/* A hash that cannot be computed is a proof that cannot be kept. */
	if ((md = EVP_MD_CTX_new()) == NULL)
		return DPOP_SEEN_FULL;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, jkt, strlen(jkt)) != 1 ||
	    EVP_DigestUpdate(md, "\n", 1) != 1 ||
	    EVP_DigestUpdate(md, jti, strlen(jti)) != 1 ||
	    EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != sizeof(h)) {
		EVP_MD_CTX_free(md);
		return DPOP_SEEN_FULL;
	}
	EVP_MD_CTX_free(md);
	s = &t->stripes[h[16] & (STRIPES - 1)];
	memcpy(&first[0], h + 17, sizeof(first[0]));
	memcpy(&first[1], h + 24, sizeof(first[1]));
	pthread_mutex_lock(&s->mu);
	res = DPOP_SEEN_FULL;
	for (c = 0; c < 2 && res != DPOP_SEEN_REPLAY; c++) {
		for (i = 0; i < PROBE; i++) {
			sl = &s->slots[(first[c] + i) & (uint64_t)(s->n - 1)];
			if (sl->until <= now) {
				if (free_slot == NULL)
					free_slot = sl;
				continue;
			}
			if (memcmp(sl->h, h, sizeof(sl->h)) == 0) {
				res = DPOP_SEEN_REPLAY;
				break;
			}
		}
	}
	if (res != DPOP_SEEN_REPLAY && free_slot != NULL) {
		memcpy(free_slot->h, h, sizeof(free_slot->h));
		free_slot->until = until;
		res = DPOP_SEEN_FRESH;
	}
	pthread_mutex_unlock(&s->mu);
	return res;
}

size_t
dpop_seen_count(struct dpop_seen *t, int64_t now)
{
	size_t	i, j, n = 0;

	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&t->stripes[i].mu);
		for (j = 0; j < t->stripes[i].n; j++)
			n += t->stripes[i].slots[j].until > now;
		pthread_mutex_unlock(&t->stripes[i].mu);
	}
	return n;
}

static struct dpop_seen	*process_seen;
static pthread_once_t	 process_seen_once = PTHREAD_ONCE_INIT;
static size_t		 process_workers = 1;

void
dpop_seen_process_size(size_t workers)
{
	process_workers = workers > 0 ? workers : 1;
}

static void
process_seen_init(void)
{
	process_seen = dpop_seen_new(DPOP_SEEN_PER_WORKER * process_workers);
}

struct dpop_seen *
dpop_seen_process(void)
{
	pthread_once(&process_seen_once, process_seen_init);
	return process_seen;
}

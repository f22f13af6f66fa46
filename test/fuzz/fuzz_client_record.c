/*
 * fuzz_client_record: client_record_decode(), a client's Redis hash as
 * HGETALL returns it. The input is split on NUL bytes: the first piece is
 * the client id, the rest alternate field, value (an odd one out is
 * dropped). At most 32 pairs. Each value is also judged as every kind of
 * record_rules.h: a refusal must come with a reason, and a decoded
 * record must hold only values its rules pass.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_record.h"
#include "record_rules.h"
#include "scope.h"

#define MAX_PIECES	(1 + 2 * 32)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*piece[MAX_PIECES], *fields[32], *values[32];
	size_t			 plen[MAX_PIECES], flen[32], vlen[32];
	size_t			 np = 0, n, i;
	const uint8_t		*p = data, *end = data + size, *nul;
	struct client_record	*rec = NULL;
	char			 err[256], *id, *s;
	int			 k;

	while (np < MAX_PIECES) {
		nul = memchr(p, '\0', (size_t)(end - p));
		piece[np] = (const char *)p;
		plen[np++] = (size_t)((nul != NULL ? nul : end) - p);
		if (nul == NULL)
			break;
		p = nul + 1;
	}
	if ((id = malloc(plen[0] + 1)) == NULL)
		return 0;
	memcpy(id, piece[0], plen[0]);
	id[plen[0]] = '\0';
	n = (np - 1) / 2;
	for (i = 0; i < n; i++) {
		fields[i] = piece[1 + 2 * i];
		flen[i] = plen[1 + 2 * i];
		values[i] = piece[2 + 2 * i];
		vlen[i] = plen[2 + 2 * i];
	}
	(void)client_record_is_valid_id(id, plen[0]);
	for (i = 0; i < n; i++) {
		for (k = 0; k < RECORD_KIND_COUNT; k++) {
			err[0] = '\0';
			if (!record_rules_check(k, values[i], vlen[i], err,
			    sizeof(err)) && err[0] == '\0')
				abort();
		}
	}
	err[0] = '\0';
	if (client_record_decode(id, n, fields, flen, values, vlen, &rec, err,
	    sizeof(err)) == 0) {
		if (rec == NULL || strcmp(rec->id, id) != 0 ||
		    rec->secret_hash == NULL || rec->secret_hash[0] == '\0' ||
		    rec->ttl < 0 || rec->ttl > CLIENT_TTL_MAX ||
		    rec->revoked_before < 0 ||
		    (rec->generation[0] != '\0' &&
		    !client_record_gen_is_valid(rec->generation,
		    strlen(rec->generation))) ||
		    (rec->claims != NULL &&
		    !json_object_is_type(rec->claims, json_type_object)))
			abort();
		if ((s = scope_join(&rec->scopes)) == NULL ||
		    !record_rules_check(RECORD_SCOPES, s, strlen(s), NULL, 0))
			abort();
		free(s);
		if (rec->audience != NULL && !record_rules_check(
		    RECORD_AUDIENCE, rec->audience, strlen(rec->audience),
		    NULL, 0))
			abort();
		/* the list: audience is its first, each item valid */
		if ((rec->n_audiences == 0) != (rec->audience == NULL) ||
		    rec->n_audiences > CLIENT_AUDIENCES_COUNT ||
		    (rec->n_audiences > 0 && rec->audience !=
		    rec->audiences[0]))
			abort();
		for (size_t k = 0; k < rec->n_audiences; k++)
			if (!record_rules_check(RECORD_AUDIENCE,
			    rec->audiences[k], strlen(rec->audiences[k]),
			    NULL, 0))
				abort();
		client_record_free(rec);
	} else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
	free(id);
	return 0;
}

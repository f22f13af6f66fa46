/*
 * fuzz_scope: scope_parse() (the scope parameter and a client's scopes)
 * and b64url_decode() (every token segment), with round-trip oracles.
 *
 * The first byte picks the scope_parse() flags (bit 0: SCOPE_DEDUP); the
 * rest is the scope string. The whole input is also base64url-decoded
 * and encoded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "scope.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_scope(const uint8_t *data, size_t size)
{
	struct scope_set	 set, again;
	unsigned		 flags;
	char			*joined;
	size_t			 i;

	if (size == 0)
		return;
	flags = (data[0] & 1) ? SCOPE_DEDUP : 0;
	data++;
	size--;
	(void)scope_result_name(scope_parse((const char *)data, size, flags,
	    &set));
	joined = scope_join(&set);
	if (joined == NULL)
		abort();
	/* The joined list parses back to the same tokens. */
	if (scope_parse(joined, strlen(joined), 0, &again) != SCOPE_OK ||
	    again.n != set.n)
		abort();
	for (i = 0; i < set.n; i++) {
		if (strcmp(set.v[i], again.v[i]) != 0 ||
		    !scope_contains(&set, set.v[i]))
			abort();
	}
	if (!scope_is_subset(&set, &again) || !scope_is_subset(&again, &set))
		abort();
	/* Without DEDUP an accepted list is exactly the input. */
	if (flags == 0 && set.n > 0 &&
	    (strlen(joined) != size || memcmp(joined, data, size) != 0))
		abort();
	free(joined);
	scope_set_finish(&again);
	scope_set_finish(&set);
}

static void
fuzz_b64url(const uint8_t *data, size_t size)
{
	unsigned char	*dec;
	char		*enc;
	size_t		 declen, enclen;

	if ((dec = malloc(B64URL_DECODED_MAX(size) + 1)) == NULL)
		return;
	/* Decoding is canonical: what decodes encodes back to the input. */
	if (b64url_decode(dec, &declen, (const char *)data, size) == 0) {
		if (declen > B64URL_DECODED_MAX(size) ||
		    (enc = malloc(b64url_encoded_len(declen) + 1)) == NULL)
			abort();
		enclen = b64url_encode(enc, dec, declen);
		if (enclen != size || memcmp(enc, data, size) != 0)
			abort();
		free(enc);
	}
	free(dec);
	/* Encoding any bytes decodes back to them. */
	enclen = b64url_encoded_len(size);
	if ((enc = malloc(enclen + 1)) == NULL ||
	    (dec = malloc(B64URL_DECODED_MAX(enclen) + 1)) == NULL)
		abort();
	if (b64url_encode(enc, data, size) != enclen ||
	    b64url_decode(dec, &declen, enc, enclen) != 0 ||
	    declen != size || (size > 0 && memcmp(dec, data, size) != 0))
		abort();
	free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_scope(data, size);
	fuzz_b64url(data, size);
	return 0;
}

/*
 * fuzz_basic: params_parse_basic(), the "Authorization: Basic" header of
 * client authentication. The input is the header value; a NUL byte ends
 * it, as it would in the NUL-terminated string libevent hands over.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*hdr, *id, *secret;
	enum params_result	 r;

	if ((hdr = malloc(size + 1)) == NULL)
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	r = params_parse_basic(hdr, &id, &secret);
	if (r == PARAMS_OK) {
		if (id == NULL || secret == NULL)
			abort();
		(void)params_is_vschar(id, strlen(id));
		(void)params_is_vschar(secret, strlen(secret));
	} else if (id != NULL || secret != NULL) {
		abort();
	}
	(void)params_result_name(r);
	free(id);
	if (secret != NULL)
		secret_free_str(secret);
	free(hdr);
	return 0;
}

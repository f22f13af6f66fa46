/*
 * fuzz_form: params_parse_form(), the application/x-www-form-urlencoded
 * body of /token, /introspect and /revoke. The input is the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const names[] = {
	"grant_type", "client_id", "client_secret", "scope", "token",
	"token_type_hint", "audience", "",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct params	 p;
	size_t		 i;

	params_init(&p);
	if (params_parse_form(&p, (const char *)data, size) == PARAMS_OK) {
		if (p.count > PARAMS_MAX)
			abort();
		for (i = 0; i < p.count; i++) {
			/* every value is NUL-terminated at value_len */
			if (p.items[i].value[p.items[i].value_len] != '\0' ||
			    strlen(p.items[i].value) != p.items[i].value_len)
				abort();
			if (params_get(&p, p.items[i].name) != p.items[i].value)
				abort();
			(void)params_is_vschar(p.items[i].value,
			    p.items[i].value_len);
		}
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			(void)params_get(&p, names[i]);
	}
	params_finish(&p);
	return 0;
}

/*
 * fuzz_json_body: params_parse_json() (the legacy /authorize body) and
 * sjson_parse(), the strict JSON parser under every JSON text tokend
 * takes from outside. The input is the body.
 *
 * Oracle: what sjson_parse() accepts, json-c writes back as a text that
 * sjson_parse() accepts again at the same depth.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "params.h"
#include "sjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
roundtrip(const uint8_t *data, size_t size, size_t depth)
{
	struct json_object	*o, *again;
	const char		*text;
	size_t			 len;

	if ((o = sjson_parse((const char *)data, size, depth)) == NULL)
		return;
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN,
	    &len);
	if (text == NULL)
		abort();
	if ((again = sjson_parse(text, len, depth)) == NULL)
		abort();
	json_object_put(again);
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct params	 p;
	size_t		 i;

	params_init(&p);
	if (params_parse_json(&p, (const char *)data, size) == PARAMS_OK) {
		for (i = 0; i < p.count; i++)
			if (strlen(p.items[i].value) != p.items[i].value_len)
				abort();
		(void)params_get(&p, "client_id");
	}
	params_finish(&p);

	roundtrip(data, size, PARAMS_JSON_DEPTH);
	roundtrip(data, size, 1);
	roundtrip(data, size, 2);
	return 0;
}

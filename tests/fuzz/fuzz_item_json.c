/*
 * fuzz_item_json.c: libFuzzer target for a new item's JSON body: the request parser (req_json),
 * the API's field extraction (item_input_json) and the core's checks (core_submit_check). An
 * input the checks accept must be valid UTF-8 in every text field.
 * Build: make fuzz; run: build/fuzz/fuzz_item_json tests/fuzz/corpus-item-json/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req req;
	struct resp resp;
	struct item_input ir;
	struct core_error err;
	char *body = malloc(size + 1);

	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memset(&ir, 0, sizeof(ir));
	req.body = body;
	req.body_len = size;
	ir.in.channel = CHANNEL_WEB;
	ir.in.received = 1750000000;
	if (item_input_json(&req, &resp, &ir) == 0 && core_submit_check(&ir.in, &err) == 0) {
		if (text_check(ir.in.subject, strlen(ir.in.subject), 0) < 0 ||
		    text_check(ir.in.body, strlen(ir.in.body), TEXT_MULTILINE) < 0)
			abort();
	} else if (resp.status == 0 && err.field == NULL) {
		abort(); /* refused without saying which field */
	}
	json_decref(ir.json);
	resp_free(&resp);
	free(body);
	return 0;
}

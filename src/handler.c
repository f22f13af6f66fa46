/*
 * handler: what more than one endpoint answers the same way. Each endpoint
 * lives in its own handler_*.c file; a reply two of them share is written
 * here once, so that it stays the same everywhere.
 *
 * Left to others: building the body (reply.c), deciding when to answer
 * (the handlers). Nothing here keeps state.
 */
#include "handler.h"
#include "reply.h"

void
handler_unavailable(struct request *req, int flags)
{
	reply_header(req, "Retry-After", "1");
	reply_error(req, 503, "temporarily_unavailable",
	    "the client store cannot be reached", flags);
}

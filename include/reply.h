/*
 * reply: every answer tokend writes. JSON bodies are built with json-c;
 * error bodies follow RFC 6749 section 5.2 ({"error","error_description"}).
 * Replies to a request whose client is gone are dropped silently.
 * Also replaces evhttp's own error pages (413, malformed requests) with
 * JSON ones: see evhttp_send_error() in reply.c.
 *
 * Where it sits, bottom to top: request -> reply -> router -> dispatch ->
 * the handlers. A reply is written into the struct request of request.h,
 * below; the router, the dispatcher and the handlers answer through here.
 */
#ifndef TOKEND_REPLY_H
#define TOKEND_REPLY_H

#include <stddef.h>

struct json_object;
struct request;

enum reply_flags {
	REPLY_NO_STORE = 0x01,	/* Cache-Control: no-store, Pragma: no-cache */
	REPLY_CLOSE = 0x02,	/* Connection: close */
};

/* Reply with obj serialized; takes ownership of obj (json_object_put). */
void	 reply_json(struct request *, int status, struct json_object *obj,
	    int flags);
/*
 * Append v to w as json-c would write it (PLAIN, NOSLASHESCAPE), objects
 * member by member, strings and integers by hand (jsonw.h), anything
 * else through json-c. Cheaper than json-c for a claims set. v is only
 * read, except that json-c keeps the text of a value it writes inside
 * that value: not for objects shared between threads.
 */
struct jsonw;
void	 reply_put_json(struct jsonw *w, struct json_object *v);
/* Reply with an already serialized JSON document (copied). */
void	 reply_raw_json(struct request *, int status, const char *json,
	    size_t len, int flags);
/* {"error": error, "error_description": description (if non-NULL)} */
void	 reply_error(struct request *, int status, const char *error,
	    const char *description, int flags);
/* An HTML page (only "/" uses it). body is copied. */
void	 reply_html(struct request *, int status, const char *body);
/* A body of another type (/metrics' text format). body is copied. */
void	 reply_text(struct request *, int status, const char *content_type,
	    const char *body, size_t len, int flags);
/* Add a response header before replying. */
void	 reply_header(struct request *, const char *name, const char *value);

#endif

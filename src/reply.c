/*
 * reply: writes every response. Bodies are JSON (json-c), except the HTML
 * index page. A reply to a request whose client has gone is dropped; a
 * request is answered at most once (a second reply is a bug, logged and
 * dropped rather than crashing).
 *
 * This file also defines evhttp_send_error(). libevent 2.1 calls that
 * function itself when it refuses a request before any handler runs: a
 * body over --max-body (413), headers over --max-headers or a malformed
 * request line (400), an unsupported method (501). Its own version answers
 * with an HTML page; ours, which the binary exports so that libevent's
 * calls resolve to it, answers with the same JSON error body as every
 * other error and keeps libevent's "close the connection" behaviour.
 * Every reply, libevent's refusals included, carries X-Request-Id. A 400
 * whose request has a framing fault in its fields (a Debian build of
 * libevent refuses some itself, before conn.c's check runs) is described
 * and logged as conn.c's check would (framing.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "conn.h"
#include "framing.h"
#include "jsonw.h"
#include "log.h"
#include "reply.h"
#include "reqid.h"
#include "request.h"

/*
 * A reply no longer than this is written as one TLS record (one SSL_write,
 * one write(2)): bufferevent_openssl calls SSL_write once per evbuffer
 * chain, and evhttp leaves the head and the body in chains of their own.
 * Below bufferevent_openssl's write frame (15,000 bytes).
 */
#define COALESCE_MAX	8192

/*
 * evhttp_send_reply(), then the connection's output made one chain when it
 * is small: the write itself happens on the next loop turn, so the head
 * and body go out together. The bufferevent is taken before the send,
 * which frees a request that has lost its connection.
 */
static void
send_reply(struct evhttp_request *ev, int status, const char *reason,
    struct evbuffer *body)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev = NULL;
	struct evbuffer			*out;
	size_t				 len;

	if ((evcon = evhttp_request_get_connection(ev)) != NULL)
		bev = evhttp_connection_get_bufferevent(evcon);
	evhttp_send_reply(ev, status, reason, body);
	if (bev != NULL && (out = bufferevent_get_output(bev)) != NULL &&
	    (len = evbuffer_get_length(out)) > 0 && len <= COALESCE_MAX)
		(void)evbuffer_pullup(out, -1);
}

/*
 * The Date header (RFC 9110 6.6.1), formatted once a second per thread:
 * libevent would otherwise format it (gmtime_r and a printf) per reply.
 */
static const char *
http_date(void)
{
	static const char *const	 wday[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const	 mon[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static _Thread_local time_t	 cached_sec = -1;
	static _Thread_local char	 cached[32];
	struct timespec			 now;
	struct tm			 tm;

	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	if (now.tv_sec != cached_sec) {
		if (gmtime_r(&now.tv_sec, &tm) == NULL)
			return NULL;
		snprintf(cached, sizeof(cached),
		    "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday % 7],
		    tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		cached_sec = now.tv_sec;
	}
	return cached;
}

static void
add_common_headers(struct evkeyvalq *h, const char *content_type, int flags,
    const char *request_id)
{
	const char	*date;

	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Request-Id", request_id);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (flags & REPLY_NO_STORE) {
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "Pragma", "no-cache");
	}
	if (flags & REPLY_CLOSE)
		evhttp_add_header(h, "Connection", "close");
	if ((date = http_date()) != NULL)
		evhttp_add_header(h, "Date", date);
}

static void
send_body(struct request *req, int status, const char *content_type,
    const char *body, size_t len, int flags)
{
	struct evbuffer	*buf;

	if (req->gone || req->ev == NULL)
		return;
	if (req->replied) {
		log_error("event=bug err=\"second reply\" path=%s "
		    "request_id=%s", req->path, req->request_id);
		return;
	}
	/*
	 * libevent 2.1 writes the reply buffer whatever the method: for HEAD,
	 * send the headers a GET would get and no body.
	 */
	if (evhttp_request_get_command(req->ev) == EVHTTP_REQ_HEAD) {
		char	 clen[32];

		snprintf(clen, sizeof(clen), "%zu", len);
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		    "Content-Length", clen);
		len = 0;
	}
	/* The request's own output buffer: evhttp sends and frees it. */
	buf = evhttp_request_get_output_buffer(req->ev);
	if (evbuffer_add(buf, body, len) != 0) {
		log_error("event=reply_error err=\"out of memory\" "
		    "request_id=%s", req->request_id);
		/* Nothing sensible can be sent; let the deadline close it. */
		return;
	}
	add_common_headers(evhttp_request_get_output_headers(req->ev),
	    content_type, flags, req->request_id);
	req->status = status;
	req->replied = true;
	/* libevent has no reason phrase of its own for 429. */
	send_reply(req->ev, status, status == 429 ?
	    "Too Many Requests" : NULL, NULL);
}

void
reply_json(struct request *req, int status, struct json_object *obj,
    int flags)
{
	const char	*text;
	size_t		 len;

	text = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	send_body(req, status, "application/json", text, len, flags);
	json_object_put(obj);
}

void
reply_put_json(struct jsonw *w, struct json_object *v)
{
	struct json_object_iterator	 it, end;
	const char			*text;
	size_t				 len;
	int64_t				 i;

	switch (json_object_get_type(v)) {
	case json_type_object:
		jsonw_begin(w);
		it = json_object_iter_begin(v);
		end = json_object_iter_end(v);
		while (!json_object_iter_equal(&it, &end)) {
			jsonw_key(w, json_object_iter_peek_name(&it));
			reply_put_json(w, json_object_iter_peek_value(&it));
			json_object_iter_next(&it);
		}
		jsonw_end(w);
		return;
	case json_type_string:
		/* sjson_parse() refuses \u0000: no NUL inside */
		jsonw_str(w, json_object_get_string(v));
		return;
	case json_type_int:
		/* the ends of the range may be a clamped uint64: json-c's */
		i = json_object_get_int64(v);
		if (i != INT64_MAX && i != INT64_MIN) {
			jsonw_int(w, i);
			return;
		}
		break;
	default:
		break;
	}
	text = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	jsonw_raw(w, text, len);
}

void
reply_raw_json(struct request *req, int status, const char *json, size_t len,
    int flags)
{
	send_body(req, status, "application/json", json, len, flags);
}

static struct json_object *
error_object(const char *error, const char *description)
{
	struct json_object	*obj = json_object_new_object();

	json_object_object_add(obj, "error", json_object_new_string(error));
	if (description != NULL)
		json_object_object_add(obj, "error_description",
		    json_object_new_string(description));
	return obj;
}

void
reply_error(struct request *req, int status, const char *error,
    const char *description, int flags)
{
	reply_json(req, status, error_object(error, description), flags);
}

void
reply_html(struct request *req, int status, const char *body)
{
	send_body(req, status, "text/html; charset=utf-8", body, strlen(body),
	    0);
}

void
reply_text(struct request *req, int status, const char *content_type,
    const char *body, size_t len, int flags)
{
	send_body(req, status, content_type, body, len, flags);
}

void
reply_header(struct request *req, const char *name, const char *value)
{
	if (req->gone || req->ev == NULL)
		return;
	evhttp_add_header(evhttp_request_get_output_headers(req->ev), name,
	    value);
}

/*
 * Replaces libevent's evhttp_send_error() (see the top of this file). Only
 * libevent calls it, for requests no handler has seen; tokend's own code
 * replies through reply_error().
 */
void
evhttp_send_error(struct evhttp_request *ev, int error, const char *reason)
{
	struct json_object	*obj;
	struct evkeyvalq	*out;
	struct evbuffer		*buf;
	const char		*code, *desc, *text;
	char			 request_id[REQID_MAX + 1];
	size_t			 len;
	enum framing_verdict	 framing = FRAMING_OK;

	(void)reason;
	/* No struct request exists: take or make the id here. The headers
	   may be partial (a 400 for headers too large): then it is made. */
	(void)reqid_choose(evhttp_find_header(
	    evhttp_request_get_input_headers(ev), "X-Request-Id"),
	    request_id);
	switch (error) {
	case HTTP_ENTITYTOOLARGE:
		code = "invalid_request";
		desc = "request body too large";
		break;
	case HTTP_NOTIMPLEMENTED:
		code = "invalid_request";
		desc = "method not implemented";
		break;
	case HTTP_BADREQUEST:
		code = "invalid_request";
		/* A Debian libevent refuses some framing faults itself. */
		if ((framing = conn_head_framing(ev)) != FRAMING_OK)
			desc = framing_verdict_text(framing);
		else
			desc = "malformed HTTP request or headers too large";
		break;
	case 417:
		code = "invalid_request";
		desc = "unsupported Expect header";
		break;
	default:
		code = error >= 400 && error < 500 ? "invalid_request" :
		    "server_error";
		desc = NULL;
		break;
	}
	if (log_enabled(LOG_LEVEL_INFO)) {
		struct evhttp_connection	*evcon;
		char				*addr = NULL;
		ev_uint16_t			 port = 0;

		if ((evcon = evhttp_request_get_connection(ev)) != NULL)
			evhttp_connection_get_peer(evcon, &addr, &port);
		if (framing != FRAMING_OK)
			log_info("event=bad_framing reason=%s client=%s "
			    "request_id=%s", framing_verdict_name(framing),
			    addr != NULL ? addr : "-", request_id);
		else
			log_info("event=http_error status=%d client=%s "
			    "request_id=%s", error, addr != NULL ? addr : "-",
			    request_id);
	}
	obj = error_object(code, desc);
	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN,
	    &len);
	out = evhttp_request_get_output_headers(ev);
	evhttp_clear_headers(out);
	add_common_headers(out, "application/json", REPLY_CLOSE, request_id);
	if ((buf = evbuffer_new()) != NULL) {
		evbuffer_add(buf, text, len);
		send_reply(ev, error, NULL, buf);
		evbuffer_free(buf);
	} else {
		send_reply(ev, error, NULL, NULL);
	}
	json_object_put(obj);
}

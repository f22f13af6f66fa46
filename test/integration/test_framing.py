"""
Strict HTTP/1.1 message framing (RFC 9112 6.3): every request whose
length is ambiguous is refused before any of its content is read, and its
connection is closed, so that nothing behind it on the connection (a
smuggled request) is ever read.

Setup: the shared TLS instance (defaults: --max-body 16384), the shared
plain instance for the [plain] variants, raw sockets.

Expected, for each refused shape (framing_refused[...]): the request,
followed on the same connection by "GET /healthz", gets exactly one
answer: 400, Content-Type application/json, {"error":"invalid_request",
"error_description": the fault's sentence}, Connection: close; then the
connection closes, and the pipelined GET gets no answer. tokend logs
event=bad_framing with the fault's reason. The shapes:
- several Content-Length values: two fields that differ, a list "5, 6",
  and identical ones (two fields "5", a list "5, 5": refused too);
- a malformed Content-Length: "+5", "-5", "1 0", "5a", "0x5", empty, a
  leading HTAB, 2^63 and twenty 9s (overflow), a value on a folded line;
- whitespace between a field name and its colon ("Content-Length : 5");
- Content-Length and Transfer-Encoding together;
- a Transfer-Encoding other than exactly chunked: "chunked, gzip",
  "gzip, chunked", "identity", "xchunked", "chunked, chunked", two
  "chunked" fields, a leading HTAB, an empty value, a folded value;
- Transfer-Encoding in an HTTP/1.0 request;
- content on HEAD (Content-Length: 5, or chunked);
- an invalid chunk size: "zz", "0x5", "+5", "-5", 17 hex digits
  (overflow), 33 digits, an empty size line, a size followed by junk
  after a space;
- a bare LF after a chunk size, chunk data not followed by CRLF;
- malformed chunk extensions (";", ";=v", a value that is not a token,
  an unterminated quoted string, BWS with no ";"), and 2,000 octets of
  well-formed extensions (over the 1,024 allowed per body);
- a trailer field after the last chunk;
- the same chunk faults arriving in a later read than the head (a bad
  second chunk after a pause: refused at once, before the rest of the
  body, which never comes), on TLS and on plain HTTP;
- a bad head with "Expect: 100-continue": no 100 Continue, just the 400.
The 413 for a chunked body over --max-body stays 413 (body_limit_default).

Expected, for the good shapes (framing_accepted[...]), each followed by a
pipelined GET /healthz on the same connection that is answered 200:
- one Content-Length: the body is read and parsed (POST /oauth/token
  with grant_type=password -> 400 unsupported_grant_type);
- a chunked body, in one read and split over several reads, with and
  without well-formed chunk extensions (token and quoted values, BWS);
- HTTP/1.0 with Content-Length (keep-alive asked for);
- "Content-Length: 0" on HEAD, "Transfer-Encoding: CHUNKED" (codings are
  case-insensitive), leading zeros in a size and in Content-Length;
- a body of exactly --max-body octets, by Content-Length and chunked, is
  processed; one octet more is 413 (both ways).
"""

import time

from tokend_harness import (check, check_eq, expect_json_error,
                            parse_raw_response, scenario, scaled, short)

SECOND = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
FORM = b"grant_type=password&client_id=framing&client_secret=x"


def head(method="POST", path="/oauth/token", version="HTTP/1.1",
         fields=()):
    h = "%s %s %s\r\nHost: localhost\r\n" % (method, path, version)
    if method == "POST":
        h += "Content-Type: application/x-www-form-urlencoded\r\n"
    for f in fields:
        h += f + "\r\n"
    return h.encode("latin-1") + b"\r\n"


def chunked(body, size=None):
    """body as one chunk, then the last chunk."""
    n = (b"%x" % len(body)) if size is None else size
    return n + b"\r\n" + body + b"\r\n0\r\n\r\n"


def read_until_closed(s, timeout=5.0):
    """Everything s receives until the peer closes it: (data, closed)."""
    data = b""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except OSError as e:
            if "timed out" in str(e):
                return data, False
            return data, True
        if not chunk:
            return data, True
        data += chunk


def split_responses(data, head_first=False):
    """The responses in data, in order (each needs a Content-Length; the
    first has no body when head_first: it answers a HEAD)."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        if head_first and not out and end >= 0:
            r = parse_raw_response(data[:end + 4] + b"\0" * (1 << 20))
            r.body = b""
        else:
            r = parse_raw_response(data)
        if r is None:
            raise AssertionError("incomplete response: %s" % short(data))
        out.append(r)
        data = data[end + 4 + len(r.body):]
    return out


def exchange(t, pieces, pause=0.3, head_first=False):
    """Send pieces on one connection (a pause between them), then read
    until the server closes or 5 s pass: (responses, closed)."""
    s = t.raw_socket()
    try:
        for i, p in enumerate(pieces):
            if i > 0:
                time.sleep(pause)
            t.ctx.sensitive.from_raw(p)
            try:
                s.sendall(p)
            except OSError:
                break         # answered and closed before the rest
        data, closed = read_until_closed(s)
    finally:
        s.close()
    return split_responses(data, head_first), closed


def refused(t, pieces, reason, text, what):
    """pieces (the last followed by a second request) are answered with
    one 400 for reason, and the connection closes."""
    off = t.log_offset()
    pieces = list(pieces)
    is_head = pieces[0].startswith(b"HEAD ")
    pieces[-1] = pieces[-1] + SECOND
    rs, closed = exchange(t, pieces, head_first=is_head)
    check(len(rs) >= 1, "%s: no answer" % what)
    check_eq(len(rs), 1, "%s: answers (the pipelined request must not be "
             "answered): %r" % (what, rs))
    r = rs[0]
    if is_head:
        # The answer to a HEAD has the headers of the 400 and no body.
        check_eq((r.status, r.content_type()), (400, "application/json"),
                 what + ": status and Content-Type")
    else:
        expect_json_error(r, 400, what, "invalid_request")
        check_eq(r.json.get("error_description"), text,
                 what + ": error_description")
    check_eq((r.header("Connection") or "").lower(), "close",
             what + ": Connection header")
    check(closed, "%s: the connection is still open 5 s after the 400"
          % what)
    t.wait_log(r"event=bad_framing reason=%s " % reason, since=off)


def accepted(t, pieces, status, error, what):
    """pieces, then a pipelined GET /healthz: the request is processed
    (status and error from the handler), the GET answered 200."""
    s = t.raw_socket()
    try:
        pieces = list(pieces)
        pieces[-1] = pieces[-1] + SECOND
        for i, p in enumerate(pieces):
            if i > 0:
                time.sleep(0.2)
            s.sendall(p)
        data = b""
        deadline = time.monotonic() + scaled(5)
        rs = []
        while len(rs) < 2 and time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
            try:
                rs = split_responses(data)
            except AssertionError:
                rs = []
    finally:
        s.close()
    check_eq(len(rs), 2, "%s: answers to the request and the pipelined "
             "GET (got %s)" % (what, short(data, 300)))
    expect_json_error(rs[0], status, what, error)
    check_eq((rs[1].status, rs[1].json), (200, {"status": "ok"}),
             what + ": the pipelined GET /healthz")


# ---------------------------------------------------------------------------
# Refused shapes: (name, pieces, reason, error_description)

T_REPEATED = "more than one Content-Length value"
T_LENGTH = "invalid Content-Length"
T_NAME = "invalid header field name"
T_BOTH = "both Content-Length and Transfer-Encoding"
T_CODING = "Transfer-Encoding other than chunked"
T_HTTP10 = "Transfer-Encoding in an HTTP/1.0 request"
T_HEAD = "content in a HEAD or TRACE request"
T_SIZE = "invalid chunk size"
T_EXT = "invalid or too long chunk extension"
T_CRLF = "chunk line or data not ended by CRLF"
T_TRAILER = "trailer fields are not accepted"

R_REPEATED = "content_length_repeated"
R_LENGTH = "content_length_invalid"
R_CODING = "transfer_encoding_unsupported"

TE = "Transfer-Encoding: chunked"


def cl(v):
    return "Content-Length: " + v


REFUSED = [
    # several Content-Length values
    ("content_length_differs", [head(fields=[cl("5"), cl("6")]) + FORM],
     R_REPEATED, T_REPEATED),
    ("content_length_list_differs", [head(fields=[cl("5, 6")]) + FORM],
     R_REPEATED, T_REPEATED),
    ("content_length_identical", [head(fields=[cl("5"), cl("5")]) +
                                  b"hello"], R_REPEATED, T_REPEATED),
    ("content_length_list_identical", [head(fields=[cl("5, 5")]) +
                                       b"hello"], R_REPEATED, T_REPEATED),
    # malformed Content-Length
    ("content_length_plus", [head(fields=[cl("+5")]) + b"hello"],
     R_LENGTH, T_LENGTH),
    ("content_length_minus", [head(fields=[cl("-5")]) + b"hello"],
     R_LENGTH, T_LENGTH),
    ("content_length_space_inside", [head(fields=[cl("1 0")]) +
                                     b"0123456789"], R_LENGTH, T_LENGTH),
    ("content_length_non_digit", [head(fields=[cl("5a")]) + b"hello"],
     R_LENGTH, T_LENGTH),
    ("content_length_hex", [head(fields=[cl("0x5")]) + b"hello"],
     R_LENGTH, T_LENGTH),
    ("content_length_empty", [head(fields=["Content-Length:"]) + b"hello"],
     R_LENGTH, T_LENGTH),
    ("content_length_leading_tab", [head(fields=["Content-Length:\t5"]) +
                                    b"hello"], R_LENGTH, T_LENGTH),
    ("content_length_2_63", [head(fields=[cl("9223372036854775808")]) +
                             b"hello"], R_LENGTH, T_LENGTH),
    ("content_length_overflow", [head(fields=[cl("9" * 20)]) + b"hello"],
     R_LENGTH, T_LENGTH),
    # obs-fold: evhttp joins the lines with a space
    ("content_length_folded", [head(fields=["Content-Length:", " 5"]) +
                               b"hello"], R_LENGTH, T_LENGTH),
    ("coding_folded", [head(fields=["Transfer-Encoding:", " chunked"]) +
                       chunked(b"hello")], R_CODING, T_CODING),
    # a field name with whitespace before the colon
    ("field_name_space", [head(fields=["Content-Length : 5"]) + b"hello"],
     "field_name", T_NAME),
    ("field_name_tab", [head(fields=["Transfer-Encoding\t: chunked"]) +
                        chunked(b"hello")], "field_name", T_NAME),
    # both
    ("length_and_chunked", [head(fields=[cl("5"), TE]) + chunked(b"hello")],
     "content_length_and_transfer_encoding", T_BOTH),
    ("chunked_and_length", [head(fields=[TE, cl("30")]) + chunked(b"hello")],
     "content_length_and_transfer_encoding", T_BOTH),
    # Transfer-Encoding other than exactly chunked
    ("coding_chunked_gzip", [head(fields=["Transfer-Encoding: chunked, gzip"])
                             + chunked(b"hello")], R_CODING, T_CODING),
    ("coding_gzip_chunked", [head(fields=["Transfer-Encoding: gzip, chunked"])
                             + chunked(b"hello")], R_CODING, T_CODING),
    ("coding_identity", [head(fields=["Transfer-Encoding: identity"]) +
                         b"hello"], R_CODING, T_CODING),
    ("coding_xchunked", [head(fields=["Transfer-Encoding: xchunked"]) +
                         chunked(b"hello")], R_CODING, T_CODING),
    ("coding_chunked_twice_list", [head(fields=[
        "Transfer-Encoding: chunked, chunked"]) + chunked(b"hello")],
     R_CODING, T_CODING),
    ("coding_chunked_twice_fields", [head(fields=[TE, TE]) +
                                     chunked(b"hello")], R_CODING, T_CODING),
    ("coding_leading_tab", [head(fields=["Transfer-Encoding:\tchunked"]) +
                            chunked(b"hello")], R_CODING, T_CODING),
    ("coding_empty", [head(fields=["Transfer-Encoding:"]) + b"hello"],
     R_CODING, T_CODING),
    # HTTP/1.0 with Transfer-Encoding
    ("coding_http10", [head(version="HTTP/1.0",
                            fields=[TE, "Connection: keep-alive"]) +
                       chunked(b"hello")],
     "transfer_encoding_http10", T_HTTP10),
    # content on HEAD: evhttp never reads it
    ("head_with_length", [head(method="HEAD", path="/healthz",
                               fields=[cl("5")]) + b"hello"],
     "content_not_allowed", T_HEAD),
    ("head_chunked", [head(method="HEAD", path="/healthz", fields=[TE]) +
                      chunked(b"hello")], "content_not_allowed", T_HEAD),
    # invalid chunk sizes
    ("chunk_size_garbage", [head(fields=[TE]) + chunked(b"hello", b"zz")],
     "chunk_size", T_SIZE),
    ("chunk_size_0x", [head(fields=[TE]) + chunked(b"hello", b"0x5")],
     "chunk_size", T_SIZE),
    ("chunk_size_plus", [head(fields=[TE]) + chunked(b"hello", b"+5")],
     "chunk_size", T_SIZE),
    ("chunk_size_minus", [head(fields=[TE]) + chunked(b"hello", b"-5")],
     "chunk_size", T_SIZE),
    ("chunk_size_overflow", [head(fields=[TE]) +
                             chunked(b"hello", b"1" + b"0" * 16)],
     "chunk_size", T_SIZE),
    ("chunk_size_33_digits", [head(fields=[TE]) +
                              chunked(b"hello", b"0" * 32 + b"5")],
     "chunk_size", T_SIZE),
    ("chunk_size_empty_line", [head(fields=[TE]) + b"\r\n" +
                               chunked(b"hello")], "chunk_size", T_SIZE),
    ("chunk_size_junk_after_space", [head(fields=[TE]) +
                                     chunked(b"hello", b"5 junk")],
     "chunk_extension", T_EXT),
    # line endings
    ("chunk_size_bare_lf", [head(fields=[TE]) + b"5\nhello\r\n0\r\n\r\n"],
     "chunk_crlf", T_CRLF),
    ("chunk_data_no_crlf", [head(fields=[TE]) +
                            b"5\r\nhello5\r\nworld\r\n0\r\n\r\n"],
     "chunk_crlf", T_CRLF),
    ("chunk_data_bare_lf", [head(fields=[TE]) +
                            b"5\r\nhello\n0\r\n\r\n"], "chunk_crlf", T_CRLF),
    ("chunk_last_bare_lf", [head(fields=[TE]) + b"5\r\nhello\r\n0\n\n"],
     "chunk_crlf", T_CRLF),
    # chunk extensions
    ("chunk_ext_empty_name", [head(fields=[TE]) + chunked(b"hello", b"5;")],
     "chunk_extension", T_EXT),
    ("chunk_ext_no_name", [head(fields=[TE]) + chunked(b"hello", b"5;=v")],
     "chunk_extension", T_EXT),
    ("chunk_ext_bad_value", [head(fields=[TE]) +
                             chunked(b"hello", b"5;a=b/c")],
     "chunk_extension", T_EXT),
    ("chunk_ext_unterminated_quote", [head(fields=[TE]) +
                                      chunked(b"hello", b'5;a="b')],
     "chunk_extension", T_EXT),
    ("chunk_ext_trailing_space", [head(fields=[TE]) +
                                  chunked(b"hello", b"5;a ")],
     "chunk_extension", T_EXT),
    ("chunk_ext_too_long", [head(fields=[TE]) +
                            chunked(b"hello", b"5" + b";a=b" * 500)],
     "chunk_extension", T_EXT),
    # trailer fields
    ("chunk_trailer", [head(fields=[TE]) +
                       b"5\r\nhello\r\n0\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"],
     "trailer", T_TRAILER),
    # faults in a later read than the head
    ("chunk_size_garbage_later", [head(fields=[TE]) + b"5\r\nhello\r\n",
                                  b"zz\r\nhello\r\n0\r\n\r\n"],
     "chunk_size", T_SIZE),
    ("chunk_data_no_crlf_later", [head(fields=[TE]) + b"5\r\nhel",
                                  b"loXX"], "chunk_crlf", T_CRLF),
    ("chunk_trailer_later", [head(fields=[TE]) + b"5\r\nhello\r\n0\r\n",
                             b"Authorization: Basic Zm9vOmJhcg==\r\n\r\n"],
     "trailer", T_TRAILER),
    # Expect: 100-continue is not answered for a refused head
    ("expect_continue", [head(fields=[cl("5"), cl("6"),
                                      "Expect: 100-continue"])],
     R_REPEATED, T_REPEATED),
]


def refused_scenario(name, pieces, reason, text, transport):
    def run(ctx):
        t = ctx.tls_default() if transport == "tls" else ctx.plain_default()
        refused(t, pieces, reason, text, name)
        # The instance still serves.
        r = t.request("GET", "/healthz")
        check_eq(r.status, 200, "GET /healthz after " + name)
    scenario("framing_refused[%s]" % name
             if transport == "tls" else
             "framing_refused[%s][plain]" % name)(run)


for _name, _pieces, _reason, _text in REFUSED:
    refused_scenario(_name, _pieces, _reason, _text, "tls")

# The plain bufferevent reads differently from the TLS one: the head and
# the later-read paths again.
for _name, _pieces, _reason, _text in REFUSED:
    if _name in ("content_length_differs", "length_and_chunked",
                 "chunk_size_garbage", "chunk_size_garbage_later",
                 "chunk_data_no_crlf_later", "chunk_trailer_later"):
        refused_scenario(_name, _pieces, _reason, _text, "plain")


# ---------------------------------------------------------------------------
# Accepted shapes

UNSUPPORTED = (400, "unsupported_grant_type")


def accepted_scenario(name, fn):
    scenario("framing_accepted[%s]" % name)(fn)


def one_length(ctx):
    t = ctx.tls_default()
    accepted(t, [head(fields=[cl(str(len(FORM)))]) + FORM], *UNSUPPORTED,
             what="one Content-Length")
    accepted(t, [head(fields=[cl("000" + str(len(FORM)))]) + FORM],
             *UNSUPPORTED, what="Content-Length with leading zeros")


def chunked_bodies(ctx):
    t = ctx.tls_default()
    accepted(t, [head(fields=[TE]) + chunked(FORM)], *UNSUPPORTED,
             what="one chunk")
    body = b"".join(b"%x\r\n%s\r\n" % (len(FORM[i:i + 7]), FORM[i:i + 7])
                    for i in range(0, len(FORM), 7)) + b"0\r\n\r\n"
    accepted(t, [head(fields=[TE]) + body], *UNSUPPORTED,
             what="chunks of 7 octets")
    # The same body split over reads, at every kind of boundary.
    whole = head(fields=[TE]) + body
    cut = len(head(fields=[TE]))
    accepted(t, [whole[:cut + 1], whole[cut + 1:cut + 3],
                 whole[cut + 3:cut + 9], whole[cut + 9:-3], whole[-3:]],
             *UNSUPPORTED, what="chunks split over reads")
    accepted(t, [head(fields=["Transfer-Encoding: CHUNKED"]) +
                 chunked(FORM)], *UNSUPPORTED, what="CHUNKED")
    accepted(t, [head(fields=[TE]) + chunked(FORM, b"00%x" % len(FORM))],
             *UNSUPPORTED, what="a chunk size with leading zeros")


def chunk_extensions(ctx):
    t = ctx.tls_default()
    n = b"%x" % len(FORM)
    for ext in (b";a", b";a=b", b';a="b c;\\"d"', b" ;a=b", b"\t;a = b",
                b";a;b=c ;d=\"\"", b";" + b"x" * 900):
        accepted(t, [head(fields=[TE]) + chunked(FORM, n + ext)],
                 *UNSUPPORTED, what="chunk extension %r" % ext[:20])
    # The extension split over two reads, the rewritten octet in the
    # second.
    accepted(t, [head(fields=[TE]) + n, b";a=b\r\n" + FORM +
                 b"\r\n0;z\r\n\r\n"], *UNSUPPORTED,
             what="a chunk extension in a later read")


def http10_length(ctx):
    t = ctx.tls_default()
    accepted(t, [head(version="HTTP/1.0",
                      fields=[cl(str(len(FORM))), "Connection: keep-alive"]) +
                 FORM], *UNSUPPORTED, what="HTTP/1.0 with Content-Length")


def head_zero_length(ctx):
    t = ctx.tls_default()
    s = t.raw_socket()
    try:
        s.sendall(head(method="HEAD", path="/healthz",
                       fields=[cl("0")]) + SECOND)
        data, _ = read_until_closed(s, timeout=1.5)
    finally:
        s.close()
    check(data.startswith(b"HTTP/1.1 200 "),
          "HEAD with Content-Length: 0: %s" % short(data))
    check_eq(data.count(b"HTTP/1.1 200 "), 2,
             "answers to HEAD with Content-Length: 0 and the GET behind it")


def at_the_limit(ctx):
    t = ctx.tls_default()
    limit = 16384
    pad = b"&pad=" + b"a" * (limit - len(FORM) - 5)
    body = FORM + pad
    check_eq(len(body), limit, "body length")
    accepted(t, [head(fields=[cl(str(limit))]) + body], *UNSUPPORTED,
             what="a body of --max-body octets")
    accepted(t, [head(fields=[TE]) + chunked(body)], *UNSUPPORTED,
             what="a chunked body of --max-body octets")
    for what, data in (
            ("a body of --max-body + 1 octets",
             head(fields=[cl(str(limit + 1))]) + body + b"a"),
            ("a chunked body of --max-body + 1 octets",
             head(fields=[TE]) + chunked(body + b"a"))):
        rs, closed = exchange(t, [data + SECOND])
        check(len(rs) >= 1, what + ": no answer")
        expect_json_error(rs[0], 413, what, "invalid_request")
        check_eq(len(rs), 1, what + ": answers")
        check(closed, what + ": connection still open after the 413")


accepted_scenario("one_content_length", one_length)
accepted_scenario("chunked", chunked_bodies)
accepted_scenario("chunk_extensions", chunk_extensions)
accepted_scenario("http10_content_length", http10_length)
accepted_scenario("head_content_length_0", head_zero_length)
accepted_scenario("body_at_the_limit", at_the_limit)


# ---------------------------------------------------------------------------
# The check's state across requests and connections


def keepalive_then_refused(ctx):
    """A connection's second request is checked afresh: a valid chunked
    request, then one with a chunk fault in a later read, on the same
    connection -> the first is processed, the second refused and the
    connection closed."""
    t = ctx.tls_default()
    s = t.raw_socket()
    try:
        s.sendall(head(fields=[TE]) + chunked(FORM))
        data = b""
        deadline = time.monotonic() + scaled(5)
        rs = []
        while not rs and time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            data += s.recv(65536)
            try:
                rs = split_responses(data)
            except AssertionError:
                rs = []
        check_eq(len(rs), 1, "first request: answers")
        expect_json_error(rs[0], 400, "first request",
                          "unsupported_grant_type")
        s.sendall(head(fields=[TE]) + b"5\r\nhello\r\n")
        time.sleep(0.2)
        s.sendall(b"5\nhello\r\n0\r\n\r\n" + SECOND)
        data, closed = read_until_closed(s)
    finally:
        s.close()
    rs = split_responses(data)
    check_eq(len(rs), 1, "second request: answers (%r)" % rs)
    expect_json_error(rs[0], 400, "second request", "invalid_request")
    check_eq(rs[0].json.get("error_description"), T_CRLF,
             "second request: error_description")
    check(closed, "second request: the connection stays open")


def concurrent(ctx):
    """4 clients x 30 requests, on both workers at once, each request at
    random a valid chunked body split over two reads, or the same with a
    chunk fault in the second read: every answer is the one its own
    request must get (no state crosses connections)."""
    import random
    import threading

    t = ctx.tls_default()
    errors = []
    # The second request closes the connection: exchange() returns then.
    last = (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
            b"Connection: close\r\n\r\n")
    good = [head(fields=[TE]) + b"%x" % len(FORM), b"\r\n" + FORM +
            b"\r\n0\r\n\r\n"]
    bad = [head(fields=[TE]) + b"%x" % len(FORM), b"\r\n" + FORM +
           b"XX0\r\n\r\n"]

    def client(seed):
        rnd = random.Random(seed)
        try:
            for i in range(30):
                fault = rnd.random() < 0.5
                pieces = list(bad if fault else good)
                pieces[-1] += last
                rs, closed = exchange(t, pieces, pause=rnd.random() / 20)
                if fault:
                    if (len(rs) != 1 or rs[0].status != 400 or not closed or
                            rs[0].json.get("error_description") != T_CRLF):
                        errors.append("client %d request %d (fault): %r "
                                      "closed=%s" % (seed, i, rs, closed))
                elif (len(rs) != 2 or rs[0].status != 400 or
                      rs[0].json.get("error") != "unsupported_grant_type" or
                      rs[1].status != 200):
                    errors.append("client %d request %d: %r"
                                  % (seed, i, rs))
        except Exception as e:      # noqa: BLE001 (reported below)
            errors.append("client %d: %s" % (seed, e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    check(not errors, "%d wrong answers: %s" % (len(errors), errors[:3]))
    r = t.request("GET", "/healthz")
    check_eq(r.status, 200, "GET /healthz afterwards")


scenario("framing_keepalive_then_refused")(keepalive_then_refused)
scenario("framing_concurrent", timeout=180)(concurrent)

"""
Shared helpers of the tokend integration suite (Python 3 standard library
only).

- Scenario registry: @scenario("name") on a function f(ctx); run.py imports
  every test_*.py in this directory and runs the registered scenarios in
  order, one at a time, each under a hard timeout.
- Context: the temporary directory, the Redis server, the test PKI, shared
  and per-scenario tokend instances; it stops whatever a scenario started,
  even when the scenario fails.
- Redis: a redis-server on a free port with persistence off; stop, kill,
  SIGSTOP/SIGCONT and restart on the same port.
- Pki: a CA, two server certificates for localhost/127.0.0.1/::1 and an EC
  P-256 signing key, made with the openssl CLI at test time.
- Tokend: one tokend process: start, readiness, signals, log access; each
  gets --management-listen on a free port of its own (mgmt_request()).
- HTTP: http.client over TLS trusting the test CA, and raw sockets for
  traffic http.client cannot produce.
- Sanitizers: every tokend still running at the end of its scenario is
  stopped with SIGTERM (so LeakSanitizer, or valgrind, runs at exit) and
  must exit 0; any AddressSanitizer, LeakSanitizer or UBSan report in an
  instance's log fails the scenario (SIGKILLed instances are exempt from
  the clean exit, not from the log check).
- Sensitive values: every client secret the suite sends or creates and
  every token tokend issues is recorded (Sensitive); run.py greps every
  line tokend logged for them at the end of the run.
- --tokend-wrapper (run.py): a command line tokend runs under (valgrind),
  with every deadline of the harness multiplied by --timeout-scale.
"""

import base64
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

# Multiplies the harness's own deadlines (start, stop, requests, log waits,
# scenario timeouts) when tokend runs under a slow wrapper (valgrind).
TIMEOUT_SCALE = 1.0


def scaled(seconds):
    return seconds * TIMEOUT_SCALE

# ---------------------------------------------------------------------------
# Scenario registry and assertions

SCENARIOS = []


class Scenario:
    def __init__(self, name, fn, timeout, module):
        self.name = name
        self.fn = fn
        self.timeout = timeout
        self.module = module


def scenario(name, timeout=60):
    """Register f(ctx) as a scenario called name (hard timeout in s)."""
    def deco(fn):
        SCENARIOS.append(Scenario(name, fn, timeout, fn.__module__))
        return fn
    return deco


class TestFailure(AssertionError):
    pass


class SkipScenario(Exception):
    pass


class ScenarioTimeout(Exception):
    pass


def fail(msg):
    raise TestFailure(msg)


def skip(msg):
    raise SkipScenario(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))


def short(b, n=200):
    """A printable, bounded rendering of bytes or str for messages."""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    b = str(b)
    return b if len(b) <= n else b[:n] + "...(%d chars)" % len(b)


# ---------------------------------------------------------------------------
# Ports and processes

def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nothing listens on right now (the kernel's choice)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_listening(port, host="127.0.0.1", timeout=1.0):
    """True when something accepts TCP connections on host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return True
    except (ConnectionRefusedError, socket.timeout, OSError):
        return False
    finally:
        s.close()


def ipv6_loopback_available():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def child_env(extra=None):
    """A clean environment for children: PATH and sanitizer options only."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
              "MSAN_OPTIONS", "TSAN_OPTIONS", "LD_LIBRARY_PATH"):
        if k in os.environ:
            env[k] = os.environ[k]
    if extra:
        env.update(extra)
    return env


def wait_exit(proc, timeout):
    """The exit status of proc, or None if it still runs after timeout."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def kill_hard(proc):
    """SIGCONT + SIGKILL one process we started, and reap it."""
    if proc is None or proc.poll() is not None:
        return
    for sig in (signal.SIGCONT, signal.SIGKILL):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------------------
# Redis

class Redis:
    def __init__(self, ctx, name="redis", args=()):
        """args: more redis-server options (later ones win), e.g. a
        --dir of its own and --appendonly yes for a server whose data
        survives a SIGKILL."""
        self.ctx = ctx
        self.port = free_port()
        self.proc = None
        self.stopped = False          # SIGSTOPped
        self.logfile = os.path.join(ctx.tmp, name + ".log")
        self.args = list(args)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=10):
        """Start redis-server on self.port (the same port every time)."""
        assert self.proc is None or self.proc.poll() is not None
        log = open(self.logfile, "ab")
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port),
                 "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self.ctx.tmp, "--daemonize", "no",
                 "--logfile", ""] + self.args,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=child_env())
            self.stopped = False
            while time.monotonic() < deadline:
                if self.ping(timeout=0.5):
                    log.close()
                    self.ctx.vlog("redis-server pid %d on port %d"
                                  % (self.proc.pid, self.port))
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            if self.proc.poll() is None or time.monotonic() >= deadline:
                kill_hard(self.proc)
                log.close()
                raise RuntimeError("redis-server did not answer PING on "
                                   "port %d" % self.port)
            # Exited at once (e.g. port still held): try again shortly.
            time.sleep(0.2)

    def ping(self, timeout=1.0):
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=timeout) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args, timeout=2.0):
        """Send one command (RESP array) and return the raw reply bytes."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=timeout) as s:
            s.sendall(out)
            return s.recv(65536)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL (a crash)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=5)
        self.stopped = False

    def stop(self):
        """SIGTERM (an orderly shutdown)."""
        if self.stopped:
            self.cont()
        self.proc.send_signal(signal.SIGTERM)
        if wait_exit(self.proc, 10) is None:
            self.kill()

    def pause(self):
        """SIGSTOP: the server keeps its sockets but answers nothing."""
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def cont(self):
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def restart(self):
        if self.alive():
            self.stop()
        self.start()

    def ensure_up(self):
        """Repair whatever a scenario left behind: running and answering."""
        if self.alive():
            try:
                self.proc.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.stopped = False
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if self.ping(0.5):
                    return
                time.sleep(0.1)
            kill_hard(self.proc)
        if self.ping(0.5):
            # Someone else's redis-server on our port (e.g. one test_store
            # restarted): shut it down and start ours again.
            try:
                self.command("SHUTDOWN", "NOSAVE")
            except OSError:
                pass
            deadline = time.monotonic() + 5
            while self.ping(0.3) and time.monotonic() < deadline:
                time.sleep(0.1)
        self.start()

    def shutdown(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGCONT)
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            if wait_exit(self.proc, 5) is None:
                kill_hard(self.proc)


# ---------------------------------------------------------------------------
# Test PKI

class Pki:
    """
    ca.pem/ca.key        the CA (EC P-256)
    server.pem/.key      server certificate #1: localhost, 127.0.0.1, ::1
    server2.pem/.key     server certificate #2: same names, other serial
    signing.key          EC P-256 key that tokend signs tokens with
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = os.path.join(ctx.tmp, "pki")
        os.mkdir(self.dir)
        self.ca_cert = self.path("ca.pem")
        self.ca_key = self.path("ca.key")
        self.cert = self.path("server.pem")
        self.key = self.path("server.key")
        self.cert2 = self.path("server2.pem")
        self.key2 = self.path("server2.key")
        self.signing_key = self.path("signing.key")

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args, stdin=None):
        r = subprocess.run(["openssl"] + list(args), cwd=self.dir,
                           input=stdin, capture_output=True, timeout=30,
                           env=child_env())
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed: %s"
                               % (" ".join(args), short(r.stderr, 500)))
        return r.stdout

    def ec_key(self, out):
        self.openssl("genpkey", "-algorithm", "EC",
                     "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out)

    def make(self):
        self.ec_key(self.ca_key)
        self.openssl("req", "-new", "-x509", "-key", self.ca_key,
                     "-out", self.ca_cert, "-days", "2", "-subj",
                     "/CN=tokend test CA", "-addext",
                     "basicConstraints=critical,CA:TRUE", "-addext",
                     "keyUsage=critical,keyCertSign,cRLSign")
        ext = self.path("server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
        for cert, key, serial in ((self.cert, self.key, "0x1001"),
                                  (self.cert2, self.key2, "0x2002")):
            csr = cert + ".csr"
            self.ec_key(key)
            self.openssl("req", "-new", "-key", key, "-out", csr,
                         "-subj", "/CN=localhost")
            self.openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert,
                         "-CAkey", self.ca_key, "-set_serial", serial,
                         "-days", "2", "-extfile", ext, "-out", cert)
        self.ec_key(self.signing_key)

    def serial(self, cert):
        """The serial number of a PEM certificate, as upper-case hex."""
        out = self.openssl("x509", "-in", cert, "-noout", "-serial")
        return out.decode().strip().split("=", 1)[1].upper().lstrip("0")

    def client_context(self, minimum=None, maximum=None):
        """An SSLContext that trusts only the test CA."""
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.load_verify_locations(self.ca_cert)
        if minimum is not None:
            c.minimum_version = minimum
        if maximum is not None:
            c.maximum_version = maximum
        return c


def peer_serial(sslsock):
    """Serial of the certificate an SSLSocket's peer presented (hex)."""
    cert = sslsock.getpeercert()
    return cert["serialNumber"].upper().lstrip("0")


# ---------------------------------------------------------------------------
# HTTP

class Response:
    """status, headers (case-insensitive get), body (bytes), json or None."""

    def __init__(self, status, headers, body, version=None):
        self.status = status
        self.headers = headers            # list of (name, value)
        self.body = body
        self.version = version
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def content_type(self):
        return (self.header("Content-Type") or "").split(";")[0].strip()

    def __repr__(self):
        return "<%s %s>" % (self.status, short(self.body, 150))


def expect_json_error(resp, status, what, error=None):
    """resp has this status, a JSON content type and a JSON body with
    "error" (equal to error when given)."""
    check_eq(resp.status, status, what + ": status (body %s)"
             % short(resp.body))
    check_eq(resp.content_type(), "application/json",
             what + ": Content-Type")
    check(isinstance(resp.json, dict) and "error" in resp.json,
          "%s: body is not a JSON error object: %s" % (what, short(resp.body)))
    if error is not None:
        check_eq(resp.json["error"], error, what + ": error code")


def parse_raw_response(data):
    """Parse one HTTP/1.x response from bytes; None if incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("iso-8859-1").split("\r\n")
    m = re.match(r"(HTTP/\d\.\d) (\d{3})", head[0])
    if not m:
        raise TestFailure("not an HTTP response: %s" % short(data))
    headers = []
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    body = data[end + 4:]
    r = Response(int(m.group(2)), headers, b"", m.group(1))
    cl = r.header("Content-Length")
    if cl is not None:
        if len(body) < int(cl):
            return None
        body = body[:int(cl)]
    return Response(int(m.group(2)), headers, body, m.group(1))


def recv_response(sock, timeout=5.0):
    """
    Read one response from sock (raw or SSL). Returns (Response or None,
    closed): closed is True when the peer closed the connection (EOF or
    reset) during the read.
    """
    data = b""
    deadline = time.monotonic() + timeout
    closed = False
    while True:
        r = parse_raw_response(data) if data else None
        if r is not None and r.header("Content-Length") is not None:
            return r, closed
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionError, ssl.SSLError, OSError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    r = parse_raw_response(data) if data else None
    if r is None and data:
        # No Content-Length: body runs to EOF.
        end = data.find(b"\r\n\r\n")
        if end >= 0 and closed:
            r = parse_raw_response(data[:end + 4])
            r = Response(r.status, r.headers, data[end + 4:], r.version)
    return r, closed


def wait_closed(sock, timeout, drain=True):
    """
    Seconds until the peer closes sock (EOF, reset, TLS error), or None if
    it is still open after timeout. Data that arrives meanwhile is read
    and discarded when drain is True.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(min(left, 0.5))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            return time.monotonic() - t0
        if not chunk:
            return time.monotonic() - t0
        if not drain:
            raise TestFailure("unexpected data: %s" % short(chunk))


# ---------------------------------------------------------------------------
# Sanitizer reports and sensitive values in tokend's logs

SANITIZER_RX = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
                          r"runtime error:")


def sanitizer_report(text, what, lines=6):
    """'what: sanitizer report: FIRST LINES' if text holds an ASan, LSan or
    UBSan report, else None."""
    m = SANITIZER_RX.search(text)
    if m is None:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    first = [ln for ln in text[start:].splitlines() if ln.strip()][:lines]
    return "%s: sanitizer report: %s" % (what, " | ".join(first))


# Shorter values are not looked for: a one-letter "wrong secret" would
# match every log line. Every secret tokend-client makes has 43 characters
# and --secret-stdin demands 32.
SECRET_MIN_LEN = 8

# A token's signature is at least 43 Base64url characters (HS256: 32
# bytes; ES256: 64; RS256: 256 and more); its first 43 characters name it.
SIG_PREFIX = 43
B64URL_RUN = re.compile(r"[A-Za-z0-9_-]{%d,}" % SIG_PREFIX)
JWS_RX = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class Sensitive:
    """
    Every client secret the suite creates or sends and every token tokend
    issued, so that run.py can make sure no log line carries one.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.secrets = {}         # value -> where it came from
        self.tokens = set()
        self.sigs = {}            # first SIG_PREFIX chars of a signature

    def secret(self, value, origin):
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            return
        value = value.strip("\r\n")
        if len(value) < SECRET_MIN_LEN:
            return
        with self.lock:
            self.secrets.setdefault(value, origin)

    def token(self, value):
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if not isinstance(value, str) or value.count(".") != 2:
            return
        sig = value.rsplit(".", 1)[1]
        with self.lock:
            self.tokens.add(value)
            if len(sig) >= SIG_PREFIX:
                self.sigs[sig[:SIG_PREFIX]] = sig

    def from_basic(self, value):
        """An Authorization header value: the secret of Basic credentials
        (as sent and form-decoded)."""
        if not isinstance(value, str) or not value[:6].lower() == "basic ":
            return
        try:
            raw = base64.b64decode(value[6:].strip(), validate=False)
        except (ValueError, TypeError):
            return
        _, sep, secret = raw.partition(b":")
        if sep:
            self.secret(secret, "Basic credentials")
            self.secret(urllib.parse.unquote_plus(
                secret.decode("utf-8", "replace")), "Basic credentials")

    def from_body(self, body):
        if body is None:
            return
        if isinstance(body, str):
            body = body.encode("utf-8", "replace")
        if not isinstance(body, (bytes, bytearray)):
            return
        text = bytes(body).decode("utf-8", "replace")
        if text.lstrip().startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                self.secret(obj.get("client_secret"), "JSON client_secret")
        for m in re.finditer(r"(?:^|&)client_secret=([^&]*)", text):
            self.secret(m.group(1), "form client_secret")
            self.secret(urllib.parse.unquote_plus(m.group(1)),
                        "form client_secret")

    def from_request(self, headers, body):
        for k, v in (headers or {}).items():
            if k.lower() == "authorization":
                self.from_basic(v)
        self.from_body(body)

    def from_raw(self, data):
        """Raw request bytes: Basic headers and form bodies in them."""
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        text = bytes(data).decode("iso-8859-1")
        for m in re.finditer(r"(?im)^authorization:[ \t]*(.*?)\r?$", text):
            self.from_basic(m.group(1))
        head, _, body = text.partition("\r\n\r\n")
        self.from_body(body.encode("iso-8859-1"))

    def from_response(self, resp):
        if isinstance(resp.json, dict):
            for k in ("access_token", "token"):
                self.token(resp.json.get(k))

    def scan(self, path):
        """Problems of one log file: a list of 'file:line: what'."""
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return []
        name = os.path.basename(path)
        found = []

        def where(pos):
            return "%s:%d" % (name, text.count("\n", 0, pos) + 1)
        with self.lock:
            secrets = dict(self.secrets)
            sigs = dict(self.sigs)
            tokens = set(self.tokens)
        for value, origin in secrets.items():
            pos = text.find(value)
            if pos >= 0:
                found.append("%s: a client secret (%s, %d chars)"
                             % (where(pos), origin, len(value)))
        for m in JWS_RX.finditer(text):
            if m.group(0) in tokens:
                found.append("%s: a whole token" % where(m.start()))
        for m in B64URL_RUN.finditer(text):
            run = m.group(0)
            for i in range(len(run) - SIG_PREFIX + 1):
                sig = sigs.get(run[i:i + SIG_PREFIX])
                if sig is not None and sig in run:
                    found.append("%s: a token's signature" % where(m.start()))
                    break
        return found


# ---------------------------------------------------------------------------
# tokend

class Tokend:
    """One tokend process. Use ctx.start_tokend() / ctx.shared_tokend()."""

    def __init__(self, ctx, name, tls=True, workers=2, args=(),
                 host="127.0.0.1", port=None, env=None, cert=None, key=None,
                 signing_key=None, log_level="info"):
        self.ctx = ctx
        self.name = name
        self.tls = tls
        self.host = host
        self.port = port or free_port(
            socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        self.cert = cert or ctx.pki.cert
        self.key = key or ctx.pki.key
        self.scheme = "https" if tls else "http"
        hostport = ("[%s]" % host if ":" in host else host)
        self.argv = [ctx.tokend_bin,
                     "--listen", "%s:%d" % (hostport, self.port),
                     "--redis", "redis://127.0.0.1:%d" % ctx.redis.port,
                     "--signing-key", signing_key or ctx.pki.signing_key,
                     "--issuer", "%s://localhost:%d" % (self.scheme,
                                                        self.port),
                     "--workers", str(workers),
                     "--log-level", log_level]
        if tls:
            self.argv += ["--tls-cert", self.cert, "--tls-key", self.key]
        else:
            self.argv += ["--plain-http"]
        # A management listener on a free port of its own: the default,
        # 127.0.0.1:9600, would be shared by every instance of the run
        # (and of any other run on the machine). args may override it.
        if "TOKEND_MANAGEMENT_LISTEN" not in (env or {}):
            self.argv += ["--management-listen",
                          "127.0.0.1:%d" % free_port()]
        self.argv += list(args)
        self.env = child_env(env)
        self.logfile = os.path.join(ctx.tmp, "tokend-%s-%d.log"
                                    % (name, self.port))
        self.proc = None
        self.killed = False       # SIGKILLed at least once: no clean exit
        self.ssl_ctx = ctx.pki.client_context() if tls else None
        ctx.logfiles.add(self.logfile)

    # -- life cycle --

    def start(self, timeout=10.0):
        timeout = scaled(timeout)
        self.ctx.vlog("start %s: %s" % (self.name, " ".join(self.argv[1:])))
        for i, a in enumerate(self.argv[:-1]):
            if a == "--hs256-secret-file":
                try:
                    with open(self.argv[i + 1], "rb") as f:
                        self.ctx.sensitive.secret(f.read(),
                                                  "--hs256-secret-file")
                except OSError:
                    pass
        self.log_fh = open(self.logfile, "ab")
        # The process is the wrapper's (valgrind runs tokend in its own
        # process), so signals and the exit status are tokend's.
        self.proc = subprocess.Popen(self.ctx.wrapper + self.argv,
                                     stdout=self.log_fh,
                                     stderr=self.log_fh,
                                     stdin=subprocess.DEVNULL, env=self.env)
        self.log_fh.close()
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail("tokend %s exited with status %s at start: %s"
                     % (self.name, self.proc.returncode,
                        self.log_tail(5)))
            try:
                r = self.request("GET", "/healthz", timeout=1.0)
                if r.status == 200:
                    return self
                last = "status %d" % r.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        fail("tokend %s not ready within %.0f s (last: %s): %s"
             % (self.name, timeout, last, self.log_tail(5)))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, expect_status=0, timeout=12.0):
        """SIGTERM, wait, and check the exit status."""
        timeout = scaled(timeout)
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.send_signal(signal.SIGTERM)
        st = wait_exit(self.proc, timeout)
        if st is None:
            kill_hard(self.proc)
            fail("tokend %s did not exit within %.0f s of SIGTERM"
                 % (self.name, timeout))
        if expect_status is not None and st != expect_status:
            fail("tokend %s exited with status %s, expected %s: %s"
                 % (self.name, st, expect_status, self.log_tail(8)))
        return st

    def kill(self):
        if self.running():
            self.killed = True
        kill_hard(self.proc)

    def finish(self):
        """
        End of a scenario: SIGTERM if still running (exit 0 expected, so
        LeakSanitizer or valgrind reports at exit), then the sanitizer
        check of the log. Returns a failure text or None.
        """
        problems = []
        if self.running():
            try:
                self.stop(expect_status=0, timeout=15.0)
            except TestFailure as e:
                problems.append(str(e))
        report = self.sanitizer_report()
        if report:
            problems.append(report)
        return "; ".join(problems) or None

    def sanitizer_report(self):
        """The first lines of a sanitizer report in the log, or None."""
        return sanitizer_report(self.log_text(), "tokend %s (%s)"
                                % (self.name, self.logfile))

    def rss_kib(self):
        """VmRSS of the process in KiB (from /proc/PID/status)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        fail("no VmRSS in /proc/%d/status" % self.proc.pid)

    def healthy(self):
        if not self.running():
            return False
        try:
            return self.request("GET", "/healthz", timeout=3).status == 200
        except (OSError, http.client.HTTPException):
            return False

    # -- HTTP --

    def connection(self, timeout=5.0, ssl_ctx=None):
        timeout = scaled(timeout)
        if self.tls:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout,
                context=ssl_ctx or self.ssl_ctx)
        return http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None,
                timeout=5.0):
        """
        One request; returns a Response. With conn, uses (and keeps) that
        connection; otherwise opens and closes its own.
        """
        own = conn is None
        if own:
            conn = self.connection(timeout=timeout)
        self.ctx.sensitive.from_request(headers, body)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.getheaders(), data,
                            "HTTP/1.%d" % (r.version - 10))
            resp.will_close = r.will_close
            self.ctx.sensitive.from_response(resp)
            return resp
        finally:
            if own:
                conn.close()

    def management_address(self):
        """(host, port) of the management listener as the command line
        sets it (the last --management-listen), or None for "off"."""
        value = None
        for i, a in enumerate(self.argv):
            if a == "--management-listen" and i + 1 < len(self.argv):
                value = self.argv[i + 1]
            elif a.startswith("--management-listen="):
                value = a.split("=", 1)[1]
        if value is None:
            value = self.env.get("TOKEND_MANAGEMENT_LISTEN",
                                 "127.0.0.1:9600")
        if value == "off":
            return None
        host, _, port = value.rpartition(":")
        return host.strip("[]"), int(port)

    def mgmt_connection(self, timeout=5.0):
        """A plain-HTTP connection to the management listener."""
        addr = self.management_address()
        check(addr is not None, "tokend %s has no management listener"
              % self.name)
        return http.client.HTTPConnection(addr[0], addr[1],
                                          timeout=scaled(timeout))

    def mgmt_request(self, method, path, body=None, headers=None,
                     conn=None, timeout=5.0):
        """One request to the management listener; returns a Response.
        With conn (from mgmt_connection()), uses and keeps it."""
        own = conn is None
        if own:
            conn = self.mgmt_connection(timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.getheaders(), data,
                            "HTTP/1.%d" % (r.version - 10))
            resp.will_close = r.will_close
            return resp
        finally:
            if own:
                conn.close()

    def raw_socket(self, tls=None, timeout=5.0, ssl_ctx=None):
        """A connected socket; TLS (handshake done) when the instance is."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(scaled(timeout))
        s.connect((self.host, self.port))
        if tls if tls is not None else self.tls:
            c = ssl_ctx or self.ssl_ctx
            s = c.wrap_socket(s, server_hostname="localhost")
        self.ctx.track_socket(s)
        return s

    def raw_exchange(self, data, timeout=5.0, sock=None):
        """Send raw bytes, read one response: (Response or None, closed)."""
        s = sock or self.raw_socket(timeout=timeout)
        self.ctx.sensitive.from_raw(data)
        try:
            try:
                s.sendall(data)
            except (ConnectionError, ssl.SSLError, OSError):
                pass          # the server may answer and close mid-send
            r, closed = recv_response(s, scaled(timeout))
            if r is not None:
                self.ctx.sensitive.from_response(r)
            return r, closed
        finally:
            if sock is None:
                s.close()

    # -- log --

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_offset(self):
        try:
            return os.path.getsize(self.logfile)
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        with open(self.logfile, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def log_lines(self, pattern=None, since=0):
        lines = self.log_since(since).splitlines()
        if pattern is None:
            return lines
        rx = re.compile(pattern)
        return [ln for ln in lines if rx.search(ln)]

    def wait_log(self, pattern, since=0, timeout=5.0):
        """The first log line matching pattern after offset, or fail."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            found = self.log_lines(pattern, since)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                fail("tokend %s: no log line matching %r within %.1f s: %s"
                     % (self.name, pattern, timeout, self.log_tail(5)))
            time.sleep(0.05)

    def log_tail(self, n=10):
        lines = self.log_text().splitlines()[-n:]
        return " | ".join(lines) if lines else "(log empty)"


# ---------------------------------------------------------------------------
# Context

class Context:
    def __init__(self, tmp, tokend_bin, test_store_bin, source_root,
                 verbose=False):
        self.tmp = tmp
        self.tokend_bin = tokend_bin
        self.test_store_bin = test_store_bin
        self.jwt_check_bin = None      # run.py --jwt-check (libjwt)
        self.source_root = source_root
        self.verbose = verbose
        self.redis = None
        self.pki = None
        self.shared = {}          # name -> Tokend (outlive a scenario)
        self.scoped = []          # Tokend started by the current scenario
        self.procs = []           # other Popen started by the scenario
        self.sockets = []
        self.lock = threading.Lock()
        self.current = None
        self.used = []            # shared instances the scenario used
        self.wrapper = []         # run.py --tokend-wrapper, split
        self.asan = False         # the tokend binary is an ASan build
        self.logfiles = set()     # every tokend log of the run
        self.sensitive = Sensitive()

    def vlog(self, msg):
        if self.verbose:
            print("# " + msg, flush=True)

    def setup(self):
        self.pki = Pki(self)
        self.pki.make()
        self.redis = Redis(self)
        self.redis.start()

    # -- tokend instances --

    def start_tokend(self, name, **kw):
        """A tokend for this scenario only; stopped when it ends."""
        t = Tokend(self, name, **kw)
        self.scoped.append(t)
        t.start()
        return t

    def shared_tokend(self, name, **kw):
        """
        A tokend reused by every scenario asking for the same name (same
        settings). Restarted if an earlier scenario left it broken.
        """
        t = self.shared.get(name)
        if t is not None and t.healthy():
            self.used.append(t)
            return t
        if t is not None:
            self.vlog("shared instance %s is unhealthy; restarting" % name)
            t.kill()
        t = Tokend(self, name, **kw)
        self.shared[name] = t
        self.used.append(t)
        t.start()
        return t

    def tls_default(self):
        return self.shared_tokend("tls")

    def plain_default(self):
        return self.shared_tokend("plain", tls=False)

    def popen(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def track_socket(self, s):
        with self.lock:
            self.sockets.append(s)

    def cleanup_scenario(self):
        """Stop what the scenario started; returns a failure text or None."""
        problems = []
        with self.lock:
            socks, self.sockets = self.sockets, []
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        for t in self.scoped:
            problem = t.finish()
            if problem:
                problems.append(problem)
        for t in set(self.used) - set(self.scoped):
            problem = t.sanitizer_report()
            if problem:
                problems.append(problem)
        self.scoped = []
        self.used = []
        for p in self.procs:
            kill_hard(p)
        self.procs = []
        if self.redis is not None:
            try:
                self.redis.ensure_up()
            except Exception as e:            # noqa: BLE001
                problems.append("redis could not be restored: %s" % e)
        return "; ".join(problems) or None

    def instances(self):
        return list(self.shared.values()) + list(self.scoped)

    def teardown(self):
        for t in list(self.shared.values()) + self.scoped:
            t.kill()
        for p in self.procs:
            kill_hard(p)
        if self.redis is not None:
            self.redis.shutdown()


# ---------------------------------------------------------------------------
# Misc

def poll_until(fn, timeout, interval=0.1):
    """Call fn() until it returns a true value; (value, elapsed) or
    (last value, None) on timeout."""
    t0 = time.monotonic()
    while True:
        v = fn()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 >= timeout:
            return v, None
        time.sleep(interval)


def tls_client_hello(server_hostname="localhost"):
    """The bytes of a TLS ClientHello, made with MemoryBIO (no socket)."""
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = c.wrap_bio(inc, out, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


# nginx, for the scenarios that put it in front of tokend: the main
# configuration around an example of docs/ (which goes in the http block).
NGINX = "/usr/sbin/nginx"

_NGINX_MAIN = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections {connections};
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

{example}
}}
"""


def nginx_main(d, example, connections=64):
    """A whole nginx.conf running in directory d around example."""
    return _NGINX_MAIN.format(dir=d, example=example,
                              connections=connections)

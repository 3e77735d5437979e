"""Shared end-to-end test harness for lucent (Python 3 standard library only).

Every test file calls ``isolate()`` first.  That re-executes the script inside
fresh mount + network (+ PID) namespaces (``unshare --mount --net --fork``), brings up
the private loopback, bind-mounts a generated /etc/hosts (a.test, b.test,
c.test -> 127.0.0.1, v6.test -> ::1) and /etc/resolv.conf (nameserver
127.0.0.1) and starts a tiny DNS responder that answers NXDOMAIN to every
query, so unknown names fail fast and no test traffic leaves the namespace.

Building blocks:
  * ``Nginx``  - the Debian nginx serving a generated docroot (1k.bin,
                 64k.bin, hello.txt, big.bin, index.html) on 127.0.0.1 and
                 [::1], optionally with a TLS listener (self-signed a.test).
  * ``Origin`` - raw-socket Python origin server; behaviour is a per-test
                 handler; records the exact bytes it received and the parsed
                 requests.
  * ``Lucent`` - the proxy under test (binary from ``--lucent PATH`` or
                 $LUCENT), started with ``-p 0 --headless --flow-log FILE``.
  * ``curl()``, ``RawClient`` / ``HttpReader`` helpers with timeouts.
  * ``run_tests()`` - tiny runner printing one line per test and a final
                 ``N passed, N failed`` line; exit status 1 if anything failed.

Every wait is bounded; only processes started here are ever killed (by PID).
"""

import atexit
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ISOLATED_ENV = "LUCENT_E2E_ISOLATED"

# ---------------------------------------------------------------------------
# bookkeeping / cleanup
# ---------------------------------------------------------------------------

_OWN_PROCS = []          # subprocess.Popen objects we started
_TMPDIRS = []
_CLEANUPS = []


def _register_proc(p):
    _OWN_PROCS.append(p)
    return p


def _cleanup():
    for fn in reversed(_CLEANUPS):
        try:
            fn()
        except Exception:
            pass
    for p in _OWN_PROCS:
        try:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        except Exception:
            pass
    if not os.environ.get("LUCENT_E2E_KEEP_TMP"):
        for d in _TMPDIRS:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def mktemp(prefix="lucent-e2e-"):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    _TMPDIRS.append(d)
    return d


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------------------
# isolation
# ---------------------------------------------------------------------------

def isolated():
    return os.environ.get(ISOLATED_ENV) == "1"


HOSTS_FILE = """127.0.0.1 localhost a.test b.test c.test
::1 localhost v6.test
"""


def isolate():
    """Re-exec the calling script in private mount+net namespaces (once)."""
    for k in list(os.environ):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy"):
            del os.environ[k]
    if not isolated():
        if not shutil.which("unshare"):
            log("FATAL: unshare(1) not found")
            sys.exit(1)
        # --pid/--mount-proc: the test process is PID 1 of its own PID
        # namespace, so everything it started dies with it even on SIGKILL.
        cmd = ["unshare", "--mount", "--net", "--pid", "--mount-proc", "--fork", "--kill-child"]
        if os.geteuid() != 0:
            cmd += ["--user", "--map-root-user"]
        env = dict(os.environ)
        env[ISOLATED_ENV] = "1"
        argv = [sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:]
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execvpe("unshare", cmd + argv, env)
        except OSError as e:
            log("FATAL: cannot exec unshare: %s" % e)
            sys.exit(1)
    # inside the namespaces
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    d = mktemp("lucent-e2e-etc-")
    hosts = os.path.join(d, "hosts")
    resolv = os.path.join(d, "resolv.conf")
    with open(hosts, "w") as f:
        f.write(HOSTS_FILE)
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\n")
    os.chmod(hosts, 0o644)
    os.chmod(resolv, 0o644)
    subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True, timeout=10)
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True, timeout=10)
    global DNS
    DNS = DnsNxdomain().start()


# ---------------------------------------------------------------------------
# DNS responder: NXDOMAIN for everything
# ---------------------------------------------------------------------------

DNS = None     # the DnsNxdomain started by isolate()


class DnsNxdomain:
    """Answers NXDOMAIN to everything.  hold(name) delays answers for that
    name until release(name) (to observe that lucent resolves asynchronously)."""

    def __init__(self, host="127.0.0.1", port=53):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.queries = []        # raw query packets
        self.names = []          # query names (lower case, no trailing dot)
        self.answered = []       # names answered
        self.held = {}           # name -> threading.Event

    def hold(self, name):
        self.held[name.lower()] = threading.Event()

    def release(self, name):
        ev = self.held.pop(name.lower(), None)
        if ev:
            ev.set()

    @staticmethod
    def qname(q):
        labels = []
        i = 12
        try:
            while q[i] != 0 and not q[i] & 0xC0:
                labels.append(q[i + 1:i + 1 + q[i]].decode("latin-1"))
                i += 1 + q[i]
        except IndexError:
            pass
        return ".".join(labels).lower()

    @staticmethod
    def answer(q):
        if len(q) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", q[:6])
        if flags & 0x8000:          # a response, ignore
            return None
        # copy the first question (if parseable)
        i = 12
        question = b""
        if qdcount >= 1:
            try:
                while True:
                    ln = q[i]
                    if ln == 0:
                        i += 1
                        break
                    if ln & 0xC0:
                        raise ValueError("compressed qname")
                    i += 1 + ln
                i += 4
                if i <= len(q):
                    question = q[12:i]
            except (IndexError, ValueError):
                question = b""
        opcode = (flags >> 11) & 0xF
        rd = flags & 0x0100
        rflags = 0x8000 | (opcode << 11) | rd | 0x0080 | 3   # QR, RA, NXDOMAIN
        return struct.pack("!HHHHHH", qid, rflags, 1 if question else 0, 0, 0, 0) + question

    def _loop(self):
        while True:
            try:
                q, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            self.queries.append(q)
            name = self.qname(q)
            self.names.append(name)
            r = self.answer(q)
            if not r:
                continue
            ev = self.held.get(name)
            if ev is not None:
                threading.Thread(target=self._answer_later, args=(ev, r, addr, name), daemon=True).start()
                continue
            self._send(r, addr, name)

    def _send(self, r, addr, name):
        try:
            self.sock.sendto(r, addr)
            self.answered.append(name)
        except OSError:
            pass

    def _answer_later(self, ev, r, addr, name):
        ev.wait(30)
        self._send(r, addr, name)

    def start(self):
        t = threading.Thread(target=self._loop, daemon=True)
        t.start()
        return self


# ---------------------------------------------------------------------------
# ports / waiting
# ---------------------------------------------------------------------------

def free_port(hosts=("127.0.0.1", "::1")):
    """A TCP port currently free on all given hosts (bind to 0 then close)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for h in hosts:
            fam = socket.AF_INET6 if ":" in h else socket.AF_INET
            t = socket.socket(fam, socket.SOCK_STREAM)
            try:
                t.bind((h, port))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return port
    raise RuntimeError("no free port found")


def wait_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect((host, port))
            return True
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    return False


def wait_until(pred, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------

INDEX_MARKER = "LUCENT-E2E-INDEX-MARKER-7f3a"

INDEX_HTML = """<!DOCTYPE html>
<html><head><title>lucent e2e</title></head>
<body><h1 id="m">%s</h1><p>static page served by nginx through lucent</p></body></html>
""" % INDEX_MARKER

HELLO_TXT = b"hello from nginx via lucent\n"


class Nginx:
    """Debian nginx on 127.0.0.1:PORT and [::1]:PORT (plus optional TLS port)."""

    def __init__(self, tls=False, extra_http=""):
        self.dir = mktemp("lucent-e2e-nginx-")
        self.root = os.path.join(self.dir, "www")
        os.makedirs(self.root)
        os.chmod(self.root, 0o755)
        self.files = {}
        rnd = os.urandom
        self._add("1k.bin", rnd(1024))
        self._add("64k.bin", rnd(64 * 1024))
        self._add("big.bin", rnd(4 * 1024 * 1024 + 123))
        self._add("hello.txt", HELLO_TXT)
        self._add("index.html", INDEX_HTML.encode())
        self.tls = tls
        self.extra_http = extra_http
        self.cert = self.key = None
        if tls:
            self.cert, self.key = make_cert(self.dir, "a.test")
        self.proc = None
        self.port = None
        self.tls_port = None
        self.start()

    def _add(self, name, data):
        p = os.path.join(self.root, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o644)
        self.files[name] = data

    def _conf(self):
        d = self.dir
        tls = ""
        if self.tls:
            tls = """
    server {
        listen 127.0.0.1:%(tp)d ssl;
        listen [::1]:%(tp)d ssl;
        server_name a.test;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        root %(root)s;
        location / { }
    }
""" % dict(tp=self.tls_port, cert=self.cert, key=self.key, root=self.root)
        return """
user root;
worker_processes 1;
daemon off;
master_process on;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 1024; }
http {
    access_log %(d)s/access.log;
    client_body_temp_path %(d)s/client_body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    types { text/html html; text/plain txt; application/octet-stream bin; }
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    keepalive_timeout 65;
    server {
        listen 127.0.0.1:%(p)d;
        listen [::1]:%(p)d;
        server_name _;
        root %(root)s;
        location / { }
    }
%(tls)s
%(extra)s
}
""" % dict(d=d, p=self.port, root=self.root, tls=tls, extra=self.extra_http)

    def start(self):
        last = ""
        for _attempt in range(5):
            self.port = free_port()
            self.tls_port = free_port() if self.tls else None
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self._conf())
            errf = open(os.path.join(self.dir, "stderr.log"), "ab")
            self.proc = _register_proc(subprocess.Popen(
                ["/usr/sbin/nginx", "-p", self.dir + "/", "-c", conf, "-e", os.path.join(self.dir, "error.log")],
                stdin=subprocess.DEVNULL, stdout=errf, stderr=errf))
            errf.close()
            ok = wait_port(self.port, "127.0.0.1", 10, self.proc) and wait_port(self.port, "::1", 5, self.proc)
            if ok and self.tls:
                ok = wait_port(self.tls_port, "127.0.0.1", 5, self.proc)
            if ok:
                _CLEANUPS.append(self.stop)
                return
            last = self._logs()
            self._kill()
        raise RuntimeError("nginx did not start:\n" + last)

    def _logs(self):
        out = ""
        for n in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.dir, n), errors="replace") as f:
                    out += f.read()[-4000:]
            except OSError:
                pass
        return out

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def stop(self):
        self._kill()

    def access_log(self):
        try:
            with open(os.path.join(self.dir, "access.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def url(self, path="/", host="a.test"):
        return "http://%s:%d%s" % (host, self.port, path)


def make_cert(directory, cn):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-days", "2", "-keyout", key, "-out", cert, "-subj", "/CN=%s" % cn,
         "-addext", "subjectAltName=DNS:%s" % cn],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl req failed: %s" % r.stderr.decode(errors="replace"))
    os.chmod(key, 0o644)
    return cert, key


# ---------------------------------------------------------------------------
# HTTP/1.x parsing over a socket (used by Origin and raw clients)
# ---------------------------------------------------------------------------

class Message:
    """A parsed HTTP request or response."""

    def __init__(self):
        self.start_line = ""
        self.method = None
        self.target = None
        self.version = None
        self.status = None
        self.reason = None
        self.headers = []        # [(name, value)] as received
        self.body = b""
        self.trailers = []
        self.chunked = False
        self.raw_head = b""
        self.raw = b""           # exact bytes of head + body framing
        self.interim = []        # 1xx responses preceding a final response

    def get(self, name, default=None):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def has(self, name):
        return self.get(name) is not None

    def __repr__(self):
        return "<Message %r headers=%r body=%d bytes trailers=%r>" % (
            self.start_line, self.headers, len(self.body), self.trailers)


class HttpReader:
    """Buffered reader on a socket; every operation bounded by the socket timeout."""

    def __init__(self, sock, timeout=10.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        self.raw = bytearray()       # every byte ever received
        self.eof = False

    def _fill(self):
        if self.eof:
            return False
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.raw += data
        self.buf += data
        return True

    def read_until(self, delim, limit=1 << 20):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out, self.buf = self.buf[:i + len(delim)], self.buf[i + len(delim):]
                return out
            if len(self.buf) > limit:
                raise ValueError("line/head too long")
            if not self._fill():
                raise EOFError("EOF before %r (have %r)" % (delim, self.buf[:200]))

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError("EOF after %d of %d bytes" % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_some(self):
        if self.buf:
            out, self.buf = self.buf, b""
            return out
        if not self._fill():
            return b""
        out, self.buf = self.buf, b""
        return out

    def read_to_eof(self, limit=256 << 20):
        while self._fill():
            if len(self.buf) > limit:
                raise ValueError("too much data")
        out, self.buf = self.buf, b""
        return out

    def at_eof(self, timeout=5.0):
        """True if the peer closed (no more bytes) within timeout; data pending -> False."""
        if self.buf:
            return False
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            return not self._fill()
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.eof = True
            return True
        finally:
            self.sock.settimeout(old)

    @staticmethod
    def _parse_fields(lines):
        out = []
        for ln in lines:
            if not ln:
                continue
            name, sep, value = ln.partition(":")
            if not sep:
                raise ValueError("bad header line %r" % ln)
            out.append((name, value.strip(" \t")))
        return out

    def read_head(self):
        head = self.read_until(b"\r\n\r\n")
        text = head.decode("latin-1")
        lines = text.split("\r\n")
        return head, lines[0], self._parse_fields(lines[1:])

    def read_chunked(self, msg):
        body = bytearray()
        raw = bytearray()
        while True:
            line = self.read_until(b"\r\n")
            raw += line
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                break
            data = self.read_exact(size + 2)
            raw += data
            if data[-2:] != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
            body += data[:-2]
        trailers = []
        while True:
            line = self.read_until(b"\r\n")
            raw += line
            if line == b"\r\n":
                break
            trailers.append(line[:-2].decode("latin-1"))
        msg.body = bytes(body)
        msg.trailers = self._parse_fields(trailers)
        msg.chunked = True
        return bytes(raw)

    def read_request(self):
        """Parse one request; raises EOFError on clean EOF before any byte."""
        m = Message()
        head, start, headers = self.read_head()
        m.raw_head = head
        m.start_line = start
        parts = start.split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line %r" % start)
        m.method, m.target, m.version = parts
        m.headers = headers
        raw = head
        te = (m.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            raw += self.read_chunked(m)
        else:
            cl = m.get("Content-Length")
            if cl is not None:
                m.body = self.read_exact(int(cl))
                raw += m.body
        m.raw = raw
        return m

    def read_response(self, method="GET", allow_close_delimited=True):
        """Parse one final response (1xx interim responses collected in .interim)."""
        interim = []
        while True:
            m = Message()
            head, start, headers = self.read_head()
            m.raw_head = head
            m.start_line = start
            parts = start.split(" ", 2)
            m.version = parts[0]
            m.status = int(parts[1])
            m.reason = parts[2] if len(parts) > 2 else ""
            m.headers = headers
            if 100 <= m.status < 200 and m.status != 101:
                interim.append(m)
                continue
            break
        m.interim = interim
        raw = head
        if method == "HEAD" or m.status in (101, 204, 304) or (method == "CONNECT" and 200 <= m.status < 300):
            pass
        elif "chunked" in (m.get("Transfer-Encoding") or "").lower():
            raw += self.read_chunked(m)
        elif m.get("Content-Length") is not None:
            m.body = self.read_exact(int(m.get("Content-Length")))
            raw += m.body
        elif allow_close_delimited:
            m.body = self.read_to_eof()
            raw += m.body
        m.raw = raw
        return m


# ---------------------------------------------------------------------------
# raw client
# ---------------------------------------------------------------------------

class RawClient:
    """A raw TCP client connection (to lucent) with an HttpReader."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.reader = HttpReader(self.sock, timeout)
        _CLEANUPS.append(self.close)

    @property
    def local(self):
        h, p = self.sock.getsockname()[:2]
        return "%s:%d" % (h, p) if ":" not in h else "[%s]:%d" % (h, p)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def response(self, method="GET", **kw):
        return self.reader.read_response(method, **kw)

    def request(self, data, method=None, **kw):
        self.send(data)
        if method is None:
            first = data if isinstance(data, str) else data.decode("latin-1", "replace")
            method = first.split(" ", 1)[0]
        return self.response(method, **kw)

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def at_eof(self, timeout=5.0):
        return self.reader.at_eof(timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_request(port, data, method=None, host="127.0.0.1", timeout=10.0):
    c = RawClient(port, host, timeout)
    try:
        return c.request(data, method)
    finally:
        c.close()


def get_request(url_host, path="/", extra="", version="HTTP/1.1", method="GET"):
    """Build an absolute-form request head. url_host is 'a.test:PORT'."""
    return "%s http://%s%s %s\r\nHost: %s\r\n%s\r\n" % (method, url_host, path, version, url_host, extra)


# ---------------------------------------------------------------------------
# Origin: scriptable raw-socket server
# ---------------------------------------------------------------------------

class OriginConn:
    def __init__(self, origin, sock, addr, index):
        self.origin = origin
        self.sock = sock
        self.addr = addr
        self.index = index
        self.reader = HttpReader(sock, origin.timeout)
        self.requests = []

    @property
    def raw(self):
        return bytes(self.reader.raw)

    def read_request(self):
        """Next request, or None on clean EOF."""
        try:
            m = self.reader.read_request()
        except EOFError:
            if self.reader.buf:
                raise
            return None
        self.requests.append(m)
        with self.origin.lock:
            self.origin.requests.append(m)
        return m

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def respond(self, status=200, reason="OK", headers=(), body=b"", version="HTTP/1.1"):
        if isinstance(body, str):
            body = body.encode()
        hs = list(headers)
        if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in hs):
            hs.append(("Content-Length", str(len(body))))
        head = "%s %d %s\r\n" % (version, status, reason)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in hs) + "\r\n"
        self.send(head.encode("latin-1") + body)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Origin:
    """A threaded raw-socket origin.  handler(conn: OriginConn) serves one TCP
    connection; the connection is closed when the handler returns."""

    def __init__(self, handler=None, host="127.0.0.1", port=0, timeout=15.0, raw_tcp=False):
        self.handler = handler or handler_fixed()
        self.host = host
        self.timeout = timeout
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.requests = []
        self.errors = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()
        _CLEANUPS.append(self.stop)

    def authority(self, host="a.test"):
        return "%s:%d" % (host, self.port)

    def url(self, path="/", host="a.test"):
        return "http://%s:%d%s" % (host, self.port, path)

    def _accept_loop(self):
        while not self.stopped.is_set():
            try:
                s, addr = self.sock.accept()
            except OSError:
                return
            with self.lock:
                c = OriginConn(self, s, addr, len(self.conns))
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            self.handler(c)
        except (socket.timeout, ConnectionError, EOFError, OSError):
            pass
        except Exception:
            self.errors.append(traceback.format_exc())
        finally:
            c.close()

    def wait_requests(self, n, timeout=10.0):
        return wait_until(lambda: len(self.requests) >= n, timeout)

    def wait_conns(self, n, timeout=10.0):
        return wait_until(lambda: len(self.conns) >= n, timeout)

    def stop(self):
        self.stopped.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for c in list(self.conns):
            c.close()


# --- stock handlers --------------------------------------------------------

def handler_fixed(status=200, reason="OK", headers=(("Content-Type", "text/plain"),), body=b"origin-ok\n"):
    """Keep-alive loop answering every request with a Content-Length response."""
    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            b = body(req) if callable(body) else body
            c.respond(status, reason, headers, b if req.method != "HEAD" else b"")
            if (req.get("Connection") or "").lower() == "close":
                return
    return h


def handler_echo_body():
    """Responds with the received body (Content-Length), keep-alive."""
    return handler_fixed(body=lambda req: req.body)


def handler_chunked(chunks=(b"hello ", b"chunked ", b"world\n"), trailers=(("X-Checksum", "abc123"),)):
    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            out = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            if trailers:
                out += b"Trailer: " + ", ".join(k for k, _ in trailers).encode() + b"\r\n"
            out += b"\r\n"
            for ch in chunks:
                out += b"%x\r\n%s\r\n" % (len(ch), ch)
            out += b"0\r\n" + b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in trailers) + b"\r\n"
            c.send(out)
    return h


def handler_close_delimited(body=b"close-delimited body\n" * 100, version="HTTP/1.1"):
    def h(c):
        req = c.read_request()
        if req is None:
            return
        c.send(("%s 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" % version).encode() + body)
    return h


def handler_silent(hold=30.0):
    """Reads the request, never answers; holds the connection open."""
    def h(c):
        c.read_request()
        c.sock.settimeout(hold)
        try:
            while c.sock.recv(65536):
                pass
        except OSError:
            pass
    return h


def handler_raw(data, read_request=True):
    """Reads a request, sends the given bytes, closes."""
    def h(c):
        if read_request and c.read_request() is None:
            return
        c.send(data)
    return h


def handler_close_without_response():
    def h(c):
        c.read_request()
    return h


def handler_interim(interim=b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
                    body=b"after-interim\n"):
    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            c.send(interim)
            c.respond(200, "OK", [("Content-Type", "text/plain")], body)
    return h


def handler_upgrade_echo():
    """Answers 101 Switching Protocols then echoes every byte until EOF."""
    def h(c):
        req = c.read_request()
        if req is None:
            return
        c.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        if c.reader.buf:
            c.send(c.reader.buf)
            c.reader.buf = b""
        while True:
            d = c.sock.recv(65536)
            if not d:
                return
            c.reader.raw += d
            c.send(d)
    return h


def handler_tcp_echo(greeting=b""):
    """Plain TCP: optional greeting, then echo until EOF (for CONNECT tunnels)."""
    def h(c):
        if greeting:
            c.send(greeting)
        while True:
            d = c.sock.recv(65536)
            if not d:
                return
            c.reader.raw += d
            c.send(d)
    return h


# ---------------------------------------------------------------------------
# lucent
# ---------------------------------------------------------------------------

def lucent_path():
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a == "--lucent" and i + 1 < len(argv):
            return os.path.abspath(argv[i + 1])
        if a.startswith("--lucent="):
            return os.path.abspath(a.split("=", 1)[1])
    if os.environ.get("LUCENT"):
        return os.path.abspath(os.environ["LUCENT"])
    return os.path.normpath(os.path.join(HERE, "..", "..", "build", "lucent"))


LISTEN_RE = re.compile(r"^lucent: listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)\s*$")


class Lucent:
    """The proxy under test."""

    def __init__(self, args=(), port0=True, headless=True, flow_log=True, start=True, wait=True):
        self.bin = lucent_path()
        self.dir = mktemp("lucent-e2e-lucent-")
        self.flow_path = os.path.join(self.dir, "flows.jsonl")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        cmd = [self.bin]
        if port0:
            cmd += ["-p", "0"]
        if headless:
            cmd += ["--headless"]
        if flow_log:
            cmd += ["--flow-log", self.flow_path]
        cmd += list(args)
        self.cmd = cmd
        self.proc = None
        self.host = None
        self.port = None
        self.returncode = None
        if start:
            self.start(wait)

    def start(self, wait=True):
        if not os.path.exists(self.bin):
            raise RuntimeError("lucent binary not found: %s (pass --lucent PATH or set LUCENT)" % self.bin)
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        self.proc = _register_proc(subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err))
        out.close()
        err.close()
        _CLEANUPS.append(self._kill)
        if wait:
            self.wait_listening()

    def wait_listening(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stderr().splitlines():
                m = LISTEN_RE.match(line)
                if m:
                    self.host = m.group(1).strip("[]")
                    self.port = int(m.group(2))
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("lucent did not report 'lucent: listening on HOST:PORT' (rc=%r)\ncmd: %s\nstderr:\n%s" % (
            self.proc.poll(), " ".join(self.cmd), self.stderr()[-3000:]))

    @property
    def proxy(self):
        if ":" in self.host:
            return "http://[%s]:%d" % (self.host, self.port)
        return "http://%s:%d" % (self.host, self.port)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout_lines(self):
        return [l for l in self.stdout().splitlines() if l.strip()]

    def flows(self):
        """Flow log parsed as a list of dicts (an unparsable line raises)."""
        try:
            with open(self.flow_path, "rb") as f:
                data = f.read().decode("utf-8")
        except FileNotFoundError:
            return []
        out = []
        lines = data.split("\n")
        # a trailing partial line (being written) is ignored
        for ln in lines[:-1]:
            if ln.strip():
                out.append(json.loads(ln))
        return out

    def flow_text(self):
        try:
            with open(self.flow_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_flows(self, n, timeout=10.0):
        """Wait (bounded) until the flow log holds at least n records; returns them."""
        wait_until(lambda: len(self.flows()) >= n, timeout)
        return self.flows()

    def wait_flow(self, pred, timeout=10.0):
        """Wait for a flow record matching pred; returns it or None."""
        def find():
            for f in self.flows():
                if pred(f):
                    return f
            return None
        return wait_until(find, timeout)

    def wait_stdout(self, regex, timeout=10.0):
        r = re.compile(regex)

        def find():
            for l in self.stdout_lines():
                if r.search(l):
                    return l
            return None
        return wait_until(find, timeout)

    def send_signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10.0, check=True):
        """Send sig to our PID, wait (bounded); with check, assert exit status 0."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("lucent did not exit within %.0fs after signal %d" % (timeout, sig))
        self.returncode = self.proc.returncode
        if check and self.returncode != 0:
            raise AssertionError("lucent exited with status %r after signal %d\nstderr:\n%s" % (
                self.returncode, sig, self.stderr()[-2000:]))
        return self.returncode

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def run_lucent_cmd(args, timeout=5.0):
    """Run lucent with args to completion (for CLI tests). Returns (rc, stdout, stderr);
    rc None means it was still running after timeout (then killed)."""
    p = _register_proc(subprocess.Popen([lucent_path()] + list(args), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        return None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# curl
# ---------------------------------------------------------------------------

class CurlResult:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out
        self.err = err

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    def __repr__(self):
        return "<curl rc=%r out=%d bytes err=%r>" % (self.rc, len(self.out), self.err[-1500:])


def curl(proxy, *args, max_time=20, timeout=None):
    """Run real curl through the proxy (proxy: Lucent, URL string or None)."""
    cmd = ["curl", "-sS", "--max-time", str(max_time)]
    if proxy is not None:
        cmd += ["-x", proxy.proxy if isinstance(proxy, Lucent) else proxy]
    cmd += [str(a) for a in args]
    p = _register_proc(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        out, err = p.communicate(timeout=timeout or max_time + 10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        return CurlResult(None, out, err.decode("utf-8", "replace") + "\n[harness: curl killed after timeout]")
    return CurlResult(p.returncode, out, err.decode("utf-8", "replace"))


# ---------------------------------------------------------------------------
# assertions + runner
# ---------------------------------------------------------------------------

class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def _short(x, n=600):
    r = repr(x)
    return r if len(r) <= n else r[:n] + "...(%d chars)" % len(r)


def eq(a, b, msg=""):
    if a != b:
        raise TestFailure("%s%s != %s" % (msg + ": " if msg else "", _short(a), _short(b)))


def contains(hay, needle, msg=""):
    if needle not in hay:
        raise TestFailure("%s%s not found in %s" % (msg + ": " if msg else "", _short(needle), _short(hay, 1500)))


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout("test timed out (harness watchdog)")


def run_tests(tests, setup=None, teardown=None, per_test_timeout=60):
    """Run test callables in order.  setup() returns a context passed to each
    test (if the test takes an argument); teardown(ctx) runs last and counts as
    a test named 'teardown' (e.g. to assert a clean lucent exit)."""
    passed = failed = 0
    ctx = None
    signal.signal(signal.SIGALRM, _alarm)

    def one(name, fn, *a):
        nonlocal passed, failed
        t0 = time.monotonic()
        signal.alarm(per_test_timeout)
        try:
            fn(*a)
            signal.alarm(0)
            passed += 1
            log("PASS %s (%.2fs)" % (name, time.monotonic() - t0))
            return True
        except BaseException as e:  # noqa
            signal.alarm(0)
            if isinstance(e, KeyboardInterrupt):
                raise
            failed += 1
            tb = traceback.format_exc()
            log("FAIL %s (%.2fs): %s" % (name, time.monotonic() - t0, e))
            for line in tb.rstrip().splitlines():
                log("    " + line)
            return False

    ok = True
    if setup is not None:
        box = {}

        def _setup():
            box["ctx"] = setup()
        ok = one("setup", _setup)
        ctx = box.get("ctx")
    if ok:
        for fn in tests:
            import inspect
            nargs = len(inspect.signature(fn).parameters)
            one(fn.__name__, fn, *([ctx] if nargs else []))
    else:
        for fn in tests:
            failed += 1
            log("FAIL %s: setup failed" % fn.__name__)
    if teardown is not None and ctx is not None:
        one("teardown", teardown, ctx)
    log("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    _cleanup()
    os._exit(1 if failed else 0)


def collect(module_globals):
    """test_* functions of a module in definition order."""
    fns = [v for k, v in module_globals.items() if k.startswith("test_") and callable(v)]
    fns.sort(key=lambda f: f.__code__.co_firstlineno)
    return fns


class Ctx:
    """Simple attribute bag for per-file shared fixtures."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

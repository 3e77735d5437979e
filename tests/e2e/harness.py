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
                 [::1], optionally with a TLS listener (self-signed a.test,
                 or a given cert/key) and extra named TLS listeners.
  * ``TestPKI`` - a throwaway CA made with the openssl CLI that issues server
                 certificates (any SANs, expired ones), plus self-signed ones.
  * ``Origin`` - raw-socket Python origin server; behaviour is a per-test
                 handler; records the exact bytes it received and the parsed
                 requests.
  * ``Lucent`` - the proxy under test (binary from ``--lucent PATH`` or
                 $LUCENT), started with ``-p 0 --headless --flow-log FILE
                 --confdir DIR`` (a fresh CA directory per instance unless the
                 test gives one) and HOME set to a private temporary directory,
                 so a test never touches the real ~/.lucent.
  * ``TlsClient`` - CONNECT through lucent then TLS (Python ssl) with an
                 HttpReader on top; ``Origin(tls=(cert, key))`` serves TLS and
                 records each connection's SNI and ALPN.
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


HOSTS_FILE = """127.0.0.1 localhost a.test b.test c.test h7.b.test
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

    def __init__(self, tls=False, extra_http="", tls_extra=None):
        """tls: False, True (self-signed a.test certificate made here) or a
        (cert, key) pair to serve on the main TLS port.  tls_extra: {name:
        (cert, key)} -> one more TLS listener per entry, its port in
        self.tls_ports[name] (the main one is self.tls_ports["main"])."""
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
        self.tls = bool(tls)
        self.extra_http = extra_http
        self.cert = self.key = None
        if tls is True:
            self.cert, self.key = make_cert(self.dir, "a.test")
        elif tls:
            self.cert, self.key = tls
        self.tls_certs = []          # [(name, cert, key)]
        if self.tls:
            self.tls_certs.append(("main", self.cert, self.key))
        for name, (cert, key) in sorted((tls_extra or {}).items()):
            self.tls_certs.append((name, cert, key))
        self.proc = None
        self.port = None
        self.tls_port = None
        self.tls_ports = {}
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
        for name, cert, key in self.tls_certs:
            tls += """
    server {
        listen 127.0.0.1:%(tp)d ssl;
        listen [::1]:%(tp)d ssl;
        server_name a.test;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        root %(root)s;
        location / { }
    }
""" % dict(tp=self.tls_ports[name], cert=cert, key=key, root=self.root)
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
            self.tls_ports = {}
            for name, _c, _k in self.tls_certs:
                p = free_port()
                while p == self.port or p in self.tls_ports.values():
                    p = free_port()
                self.tls_ports[name] = p
            self.tls_port = self.tls_ports.get("main")
            conf = os.path.join(self.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self._conf())
            errf = open(os.path.join(self.dir, "stderr.log"), "ab")
            self.proc = _register_proc(subprocess.Popen(
                ["/usr/sbin/nginx", "-p", self.dir + "/", "-c", conf, "-e", os.path.join(self.dir, "error.log")],
                stdin=subprocess.DEVNULL, stdout=errf, stderr=errf))
            errf.close()
            ok = wait_port(self.port, "127.0.0.1", 10, self.proc) and wait_port(self.port, "::1", 5, self.proc)
            for p in self.tls_ports.values():
                ok = ok and wait_port(p, "127.0.0.1", 5, self.proc)
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

    def https_url(self, path="/", host="a.test", name="main"):
        return "https://%s:%d%s" % (host, self.tls_ports[name], path)


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


def openssl(*args, input=None, timeout=60, check_rc=True):
    """Run the openssl CLI; returns (rc, stdout str, stderr str)."""
    r = subprocess.run(["openssl"] + [str(a) for a in args], input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    if check_rc and r.returncode != 0:
        raise RuntimeError("openssl %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, err[-2000:]))
    return r.returncode, out, err


def _write(path, data, mode=0o644):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(path, mode)


class TestPKI:
    """A throwaway certificate authority made with the openssl CLI.

    pki = TestPKI("lucent e2e test CA")
    pki.ca_cert                                   # PEM file of the CA
    cert, key = pki.issue("a.test", ["DNS:a.test", "DNS:*.b.test"])
    cert, key = pki.issue("a.test", expired=True) # validity entirely in the past
    cert, key = pki.self_signed("a.test")         # not signed by this CA

    Leaves are EC P-256, serverAuth, signed with `openssl ca` (which takes an
    explicit -startdate/-enddate, so an expired certificate needs no fake
    clock)."""

    __test__ = False

    def __init__(self, cn="lucent e2e test CA", org="lucent e2e"):
        self.cn = cn
        self.dir = mktemp("lucent-e2e-pki-")
        self.n = 0
        os.makedirs(os.path.join(self.dir, "newcerts"))
        _write(os.path.join(self.dir, "index.txt"), "")
        _write(os.path.join(self.dir, "serial"), "%016X\n" % int.from_bytes(os.urandom(7), "big"))
        self.ca_cert = os.path.join(self.dir, "ca-cert.pem")
        self.ca_key = os.path.join(self.dir, "ca-key.pem")
        self.conf = os.path.join(self.dir, "openssl.cnf")
        _write(self.conf, """
[ ca ]
default_ca = test_ca
[ test_ca ]
database = %(d)s/index.txt
new_certs_dir = %(d)s/newcerts
serial = %(d)s/serial
certificate = %(cert)s
private_key = %(key)s
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
default_days = 30
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
[ req_dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
""" % dict(d=self.dir, cert=self.ca_cert, key=self.ca_key))
        openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.ca_key, "-out", self.ca_cert, "-config", self.conf, "-extensions", "v3_ca",
                "-subj", "/CN=%s/O=%s" % (cn, org), "-days", "30")
        os.chmod(self.ca_key, 0o644)
        os.chmod(self.ca_cert, 0o644)

    def _paths(self, cn):
        self.n += 1
        base = os.path.join(self.dir, "%02d-%s" % (self.n, re.sub(r"[^A-Za-z0-9.-]", "_", cn)))
        return base + "-cert.pem", base + "-key.pem", base

    def issue(self, cn, sans=None, expired=False, days=30, eku="serverAuth"):
        """A leaf for cn signed by this CA; sans like ["DNS:a.test", "IP:127.0.0.1"]
        (default: DNS:cn).  expired: valid from 2020-01-01 to 2020-02-01."""
        cert, key, base = self._paths(cn)
        sans = sans if sans is not None else ["DNS:%s" % cn]
        ext = base + "-ext.cnf"
        lines = ["[ leaf ]", "basicConstraints = CA:FALSE", "keyUsage = critical,digitalSignature,keyEncipherment",
                 "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid"]
        if eku:
            lines.append("extendedKeyUsage = %s" % eku)
        if sans:
            lines.append("subjectAltName = %s" % ",".join(sans))
        _write(ext, "\n".join(lines) + "\n")
        csr = base + ".csr"
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-config", self.conf, "-subj", "/CN=%s" % cn)
        dates = (["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] if expired
                 else ["-days", str(days)])
        openssl("ca", "-batch", "-config", self.conf, "-in", csr, "-out", cert, "-notext",
                "-extfile", ext, "-extensions", "leaf", *dates)
        os.chmod(key, 0o644)
        os.chmod(cert, 0o644)
        return cert, key

    def self_signed(self, cn, sans=None):
        """A self-signed leaf (its own issuer; not this CA)."""
        cert, key, base = self._paths(cn + "-selfsigned")
        sans = sans if sans is not None else ["DNS:%s" % cn]
        args = ["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-config", self.conf, "-subj", "/CN=%s" % cn, "-days", "30",
                "-addext", "basicConstraints=CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"]
        if sans:
            args += ["-addext", "subjectAltName=%s" % ",".join(sans)]
        openssl(*args)
        os.chmod(key, 0o644)
        os.chmod(cert, 0o644)
        return cert, key


def cert_info(cert, der=False):
    """Facts about a certificate (PEM/DER bytes or a file path) from `openssl x509`:
    dict(subject, issuer, san [names as openssl prints them, e.g. 'DNS:a.test',
    'IP Address:127.0.0.1'], not_before, not_after (epoch seconds), text)."""
    import ssl as _ssl
    if isinstance(cert, (bytes, bytearray)):
        data = bytes(cert)
    else:
        with open(cert, "rb") as f:
            data = f.read()
    args = ["x509", "-inform", "DER" if der else "PEM"]
    _, text, _ = openssl(*(args + ["-noout", "-text"]), input=data)
    _, subj, _ = openssl(*(args + ["-noout", "-subject", "-nameopt", "oneline"]), input=data)
    _, iss, _ = openssl(*(args + ["-noout", "-issuer", "-nameopt", "oneline"]), input=data)
    _, dates, _ = openssl(*(args + ["-noout", "-dates"]), input=data)
    _, sanout, _ = openssl(*(args + ["-noout", "-ext", "subjectAltName"]), input=data)
    d = dict(text=text, subject=subj.strip().partition("=")[2].strip(), issuer=iss.strip().partition("=")[2].strip())
    sans = []
    for ln in sanout.splitlines()[1:]:
        sans += [x.strip() for x in ln.split(",") if x.strip()]
    d["san"] = sans
    for ln in dates.splitlines():
        k, _, v = ln.partition("=")
        if k == "notBefore":
            d["not_before"] = _ssl.cert_time_to_seconds(v.strip())
        elif k == "notAfter":
            d["not_after"] = _ssl.cert_time_to_seconds(v.strip())
    return d


def pem_certs(text):
    """The PEM certificate blocks in text, in order."""
    return re.findall(r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", text, re.S)


def s_client(proxy_port, connect, servername=None, cafile=None, request=None, extra=(), timeout=20):
    """`openssl s_client -proxy 127.0.0.1:PORT -connect HOST:PORT ...` with
    -showcerts; sends request (bytes) on stdin (-ign_eof keeps reading until
    the server closes).  Returns (rc, stdout str, stderr str)."""
    cmd = ["openssl", "s_client", "-proxy", "127.0.0.1:%d" % proxy_port, "-connect", connect, "-showcerts"]
    if servername:
        cmd += ["-servername", servername]
    else:
        cmd += ["-noservername"]
    if cafile:
        cmd += ["-CAfile", cafile]
    cmd += list(extra)
    if request is not None:
        cmd += ["-ign_eof"]
    p = _register_proc(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        out, err = p.communicate(request or b"", timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        raise AssertionError("openssl s_client hung; stderr: %r" % err[-1000:])
    return p.returncode, out.decode("latin-1"), err.decode("latin-1")


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


class TlsClient:
    """CONNECT target through lucent, then a TLS client (Python ssl) inside the
    tunnel, with an HttpReader on the TLS socket.  server_hostname: the SNI
    and the name verified (None: no SNI; an IP literal: no SNI, IP checked);
    cafile None with verify=False: no verification at all."""

    def __init__(self, proxy_port, target, server_hostname=None, cafile=None, verify=True, timeout=10.0,
                 alpn=None):
        import ssl
        self.raw = RawClient(proxy_port, timeout=timeout)
        self.raw.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target))
        self.connect_response = self.raw.response("CONNECT")
        if self.connect_response.status != 200:
            raise TestFailure("CONNECT %s -> %r" % (target, self.connect_response))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            ctx.load_verify_locations(cafile)
            ctx.check_hostname = server_hostname is not None
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        self.sock = ctx.wrap_socket(self.raw.sock, server_hostname=server_hostname)
        self.sock.settimeout(timeout)
        self.reader = HttpReader(self.sock, timeout)
        _CLEANUPS.append(self.close)

    @property
    def local(self):
        h, p = self.sock.getsockname()[:2]
        return "%s:%d" % (h, p) if ":" not in h else "[%s]:%d" % (h, p)

    def peer_cert_der(self):
        return self.sock.getpeercert(binary_form=True)

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

    def close(self):
        for s in (getattr(self, "sock", None), self.raw.sock):
            try:
                if s is not None:
                    s.close()
            except OSError:
                pass


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
        self.sni = None          # TLS origins: the server name the client sent (None: no SNI)
        self.alpn = None         # TLS origins: the ALPN protocol agreed (None: no ALPN)
        self.tls_version = None

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

    def __init__(self, handler=None, host="127.0.0.1", port=0, timeout=15.0, raw_tcp=False, tls=None,
                 alpn=("h2", "http/1.1")):
        """tls: (cert, key) to serve TLS (offering the alpn protocols, in
        server-preference order); each OriginConn then records sni/alpn."""
        self.handler = handler or handler_fixed()
        self.tls_ctx = None
        self.tls_errors = []
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            if alpn:
                ctx.set_alpn_protocols(list(alpn))

            def on_sni(sslsock, name, _ctx):
                sslsock.lucent_e2e_sni = name
            ctx.sni_callback = on_sni
            self.tls_ctx = ctx
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
        return "%s://%s:%d%s" % ("https" if self.tls_ctx is not None else "http", host, self.port, path)

    def _accept_loop(self):
        while not self.stopped.is_set():
            try:
                s, addr = self.sock.accept()
            except OSError:
                return
            if self.tls_ctx is not None:
                try:
                    s = self.tls_ctx.wrap_socket(s, server_side=True, do_handshake_on_connect=False)
                except OSError:
                    continue
            with self.lock:
                c = OriginConn(self, s, addr, len(self.conns))
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.tls_ctx is not None:
                try:
                    c.sock.do_handshake()
                except (OSError, ValueError) as e:
                    self.tls_errors.append(repr(e))
                    return
                c.sni = getattr(c.sock, "lucent_e2e_sni", None)
                c.alpn = c.sock.selected_alpn_protocol()
                c.tls_version = c.sock.version()
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


CA_LINE_RE = re.compile(r"^lucent: CA certificate (created|loaded) \(SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\)")
CA_KEY_FILE = "lucent-ca.pem"
CA_CERT_PEM_FILE = "lucent-ca-cert.pem"
CA_CERT_DER_FILE = "lucent-ca-cert.cer"


def _has_opt(args, opt):
    return any(a == opt or a.startswith(opt + "=") for a in args)


def private_home():
    """A fresh temporary HOME for a lucent process (so ~/.lucent is never the real one)."""
    d = mktemp("lucent-e2e-home-")
    os.chmod(d, 0o700)
    return d


class Lucent:
    """The proxy under test.

    confdir: None -> a fresh, not yet existing directory of its own
    (self.dir/conf; lucent creates it); a path -> that one; False -> no
    --confdir at all (lucent uses $HOME/.lucent).  An explicit --confdir in
    args wins.  HOME is always a private temporary directory unless env
    overrides it."""

    def __init__(self, args=(), port0=True, headless=True, flow_log=True, start=True, wait=True,
                 confdir=None, env=None):
        self.bin = lucent_path()
        self.dir = mktemp("lucent-e2e-lucent-")
        self.flow_path = os.path.join(self.dir, "flows.jsonl")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.env = dict(os.environ)
        self.env["HOME"] = private_home()
        self.env.update(env or {})
        args = list(args)
        cmd = [self.bin]
        if port0:
            cmd += ["-p", "0"]
        if headless:
            cmd += ["--headless"]
        if flow_log:
            cmd += ["--flow-log", self.flow_path]
        if _has_opt(args, "--confdir"):
            for i, a in enumerate(args):
                if a == "--confdir" and i + 1 < len(args):
                    self.confdir = args[i + 1]
                elif a.startswith("--confdir="):
                    self.confdir = a.split("=", 1)[1]
        elif confdir is False:
            self.confdir = os.path.join(self.env["HOME"], ".lucent")
        else:
            self.confdir = confdir or os.path.join(self.dir, "conf")
            cmd += ["--confdir", self.confdir]
        cmd += args
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
        self.proc = _register_proc(subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                                    env=self.env))
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
    def ca_cert(self):
        """lucent's CA certificate (PEM) in its confdir: what clients trust."""
        return os.path.join(self.confdir, CA_CERT_PEM_FILE)

    def ca_path(self, name=CA_KEY_FILE):
        return os.path.join(self.confdir, name)

    def ca_line(self):
        """(created|loaded, fingerprint) from the CA stderr line, or None."""
        for line in self.stderr().splitlines():
            m = CA_LINE_RE.match(line)
            if m:
                return m.group(1), m.group(2)
        return None

    @property
    def fingerprint(self):
        cl = self.ca_line()
        return cl[1] if cl else None

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


def run_lucent_cmd(args, timeout=5.0, confdir=True, env=None):
    """Run lucent with args to completion (for CLI tests). Returns (rc, stdout, stderr);
    rc None means it was still running after timeout (then killed).  Unless
    args has --confdir (or confdir=False), "--confdir <fresh temp dir>" is put
    first; HOME is a private temporary directory unless env sets it."""
    args = list(args)
    if confdir and not _has_opt(args, "--confdir"):
        d = confdir if isinstance(confdir, str) else os.path.join(mktemp("lucent-e2e-conf-"), "conf")
        args = ["--confdir", d] + args
    e = dict(os.environ)
    e["HOME"] = private_home()
    e.update(env or {})
    p = _register_proc(subprocess.Popen([lucent_path()] + args, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e))
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

"""HTTPS interception by lucent (CONNECT + TLS on both sides).

Covers: lucent's CA (stderr line with the SHA-256 fingerprint before
"listening on"; the three CONFDIR files, their modes and contents; the CA's
subject and extensions; reuse on restart; derived files rewritten; a
corrupt, encrypted or key-less lucent-ca.pem and a certificate without
lucent-ca.pem are startup errors that leave the files alone; default
~/.lucent); intercepted HTTPS with curl (byte-exact small and 4 MiB bodies,
keep-alive with one handshake), the flow record of an intercepted request
(tls, https url, sni, tls_client/tls_server, server_cert; no CONNECT
record); the minted leaf seen by `openssl s_client -proxy` (chain verifies,
issuer lucent CA, SAN = SNI + mirrored origin names, serverAuth, <= 397
days, EC P-256) and by a client connecting by IP without SNI (IP SAN);
upstream TLS with SNI and ALPN http/1.1; upstream verification failures
(unknown CA, self-signed, expired, wrong name) -> 502 with a one-line reason
and the flow error, all accepted with --ssl-insecure; --ignore-hosts
(host:port and sni:port, case-insensitive) -> passthrough with a CONNECT flow
carrying sni; a client that rejects lucent's certificate -> CONNECT flow with
tls-client-rejected, then passthrough for that host:port (not with
--no-auto-ignore); plain HTTP inside a CONNECT tunnel; the
http://lucent.proxy/ page and certificate downloads (no DNS lookup).
Edge cases: close_notify on "Connection: close"; a ClientHello cut into
tiny TCP segments or sent together with the CONNECT head; no SNI (leaf for
the CONNECT host; SNI upstream = CONNECT host); SNI differing from an IP
CONNECT host; [::1] literal; port 443 (url without port); 1 MiB and chunked
uploads over both TLS legs; 12 parallel TLS clients; a TLS 1.2-only client;
an origin that does not speak TLS (502 over TLS, lucent survives) or stalls
its handshake (bounded, blamed on the origin); a half-sent ClientHello is
not held forever.

Run: python3 tests/e2e/test_tls.py --lucent build/lucent
"""

import os
import re
import stat
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402

FLOW_KEYS = {"cache", "exposed", "local_reply", "id", "client", "server", "method", "url", "http_version", "status", "reason", "tls",
             "sni", "tls_client", "tls_server", "server_cert",
             "request_headers", "response_headers", "request_trailers", "response_trailers",
             "request_size", "response_size", "timing", "error"}
REJECT_TAIL = " (use --upstream-ca FILE to trust its CA, or --ssl-insecure)"


def setup():
    ctx = H.Ctx()
    ctx.pki = H.TestPKI("lucent e2e test CA")
    ctx.other = H.TestPKI("lucent e2e other CA")
    ctx.good = ctx.pki.issue("a.test", ["DNS:a.test", "DNS:*.b.test"])
    ctx.nginx = H.Nginx(tls=ctx.good, tls_extra={
        "expired": ctx.pki.issue("a.test", ["DNS:a.test"], expired=True),
        "wrong": ctx.pki.issue("wrong.test", ["DNS:wrong.test"]),
        "selfsigned": ctx.pki.self_signed("a.test"),
        "unknown": ctx.other.issue("a.test", ["DNS:a.test"]),
    })
    ctx.lucent = H.Lucent(["--upstream-ca", ctx.pki.ca_cert])
    ctx.tmp = H.mktemp("lucent-e2e-tls-")
    ctx.n = 0
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

class Got:
    pass


def fetch(ctx, lu, url, cacert=None, extra=(), max_time=20):
    """curl through lu; returns Got(rc, status, ctype, version, body, err)."""
    ctx.n += 1
    path = os.path.join(ctx.tmp, "body-%d" % ctx.n)
    args = ["-o", path, "-w", "%{http_code}|%{content_type}|%{http_version}"]
    if cacert:
        args += ["--cacert", cacert]
    r = H.curl(lu, *(args + list(extra) + [url]), max_time=max_time)
    g = Got()
    g.rc, g.err = r.rc, r.err
    parts = r.text.split("|")
    g.status = int(parts[0]) if parts and parts[0].isdigit() else None
    g.ctype = parts[1] if len(parts) > 1 else None
    g.version = parts[2] if len(parts) > 2 else None
    try:
        with open(path, "rb") as f:
            g.body = f.read()
    except FileNotFoundError:
        g.body = b""
    return g


def find_flow(lu, pred, what, timeout=10):
    f = lu.wait_flow(pred, timeout)
    check(f, "no flow record for %s; flow log:\n%s" % (what, lu.flow_text()[-3000:]))
    return f


def get_flow(lu, url, method="GET", timeout=10):
    return find_flow(lu, lambda f: f.get("url") == url and f.get("method") == method, "%s %s" % (method, url),
                     timeout)


def connect_flows(lu, auth):
    return [f for f in lu.flows() if f.get("method") == "CONNECT" and f.get("url") == auth]


def no_connect_flow(lu, auth, settle=0.7):
    time.sleep(settle)
    eq(connect_flows(lu, auth), [], "CONNECT records for the intercepted %s" % auth)


def issuer_lines(curl_err):
    return [l.strip() for l in curl_err.splitlines() if re.match(r"^\*\s+issuer:", l)]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def expect_reject(ctx, lu, url, reason_re, what):
    g = fetch(ctx, lu, url, cacert=lu.ca_cert)
    eq(g.rc, 0, "%s: the client's TLS handshake with lucent completes; curl: %s" % (what, g.err[-1500:]))
    eq(g.status, 502, "%s: status (body %r)" % (what, g.body))
    text = g.body.decode("utf-8", "replace")
    rx = r"^lucent: upstream certificate rejected: (%s)%s\r?\n?$" % (reason_re, re.escape(REJECT_TAIL))
    check(re.match(rx, text), "%s: 502 body must be one line matching %r, got %r" % (what, rx, text))
    f = get_flow(lu, url)
    eq(f["status"], 502, "%s: flow status" % what)
    eq(f["tls"], True, "%s: flow tls" % what)
    check(f["error"] and re.search(reason_re, f["error"]), "%s: flow error must carry the reason: %r" % (what, f))
    return f


# ---------------------------------------------------------------------------
# the CA
# ---------------------------------------------------------------------------

def test_ca_stderr_line_and_files(ctx):
    lu = ctx.lucent
    lines = lu.stderr().splitlines()
    ca_i = [i for i, l in enumerate(lines) if H.CA_LINE_RE.match(l)]
    li = [i for i, l in enumerate(lines) if H.LISTEN_RE.match(l)]
    check(ca_i, "no 'lucent: CA certificate created (SHA-256 ..)' line on stderr:\n%s" % lu.stderr())
    check(li and ca_i[0] < li[0], "the CA line must come before 'listening on': %r" % lines)
    eq(lu.ca_line()[0], "created", "a fresh confdir creates the CA")
    eq(mode(lu.confdir), 0o700, "confdir mode")
    eq(mode(lu.ca_path(H.CA_KEY_FILE)), 0o600, "lucent-ca.pem mode")
    eq(mode(lu.ca_path(H.CA_CERT_PEM_FILE)), 0o644, "lucent-ca-cert.pem mode")
    eq(mode(lu.ca_path(H.CA_CERT_DER_FILE)), 0o644, "lucent-ca-cert.cer mode")
    der = read(lu.ca_path(H.CA_CERT_DER_FILE))
    fp = ":".join("%02X" % b for b in bytes.fromhex(H.sha256(der)))
    eq(lu.fingerprint, fp, "fingerprint on stderr = SHA-256 of lucent-ca-cert.cer")
    # the PEM and DER files hold the same certificate, the one inside lucent-ca.pem
    _, pem2der, _ = H.openssl("x509", "-in", lu.ca_path(H.CA_CERT_PEM_FILE), "-outform", "DER", "-out",
                              os.path.join(ctx.tmp, "ca.der"))
    eq(read(os.path.join(ctx.tmp, "ca.der")), der, "lucent-ca-cert.pem and .cer hold one certificate")
    keyfile = read(lu.ca_path(H.CA_KEY_FILE)).decode()
    eq(H.pem_certs(keyfile), H.pem_certs(read(lu.ca_path(H.CA_CERT_PEM_FILE)).decode()),
       "the certificate in lucent-ca.pem")
    check(re.search(r"-----BEGIN (EC |)PRIVATE KEY-----", keyfile), "lucent-ca.pem holds the private key")
    check("PRIVATE KEY" not in read(lu.ca_path(H.CA_CERT_PEM_FILE)).decode(), "no key in lucent-ca-cert.pem")
    # the key in lucent-ca.pem belongs to the certificate
    _, pub_from_key, _ = H.openssl("pkey", "-in", lu.ca_path(H.CA_KEY_FILE), "-pubout")
    _, pub_from_cert, _ = H.openssl("x509", "-in", lu.ca_path(H.CA_CERT_PEM_FILE), "-noout", "-pubkey")
    eq(pub_from_key, pub_from_cert, "key and certificate of lucent-ca.pem match")


def test_ca_certificate_properties(ctx):
    info = H.cert_info(ctx.lucent.ca_cert)
    eq(info["subject"], "CN = lucent CA, O = lucent", "CA subject")
    eq(info["issuer"], info["subject"], "the CA is self-issued")
    t = info["text"]
    check(re.search(r"Basic Constraints:.*\n\s*CA:TRUE", t), "CA:TRUE:\n" + t)
    check(re.search(r"Key Usage:.*\n\s*.*Certificate Sign", t), "keyUsage keyCertSign:\n" + t)
    now = time.time()
    check(info["not_before"] <= now <= info["not_after"], "the CA is valid now")
    rc, out, err = H.openssl("verify", "-CAfile", ctx.lucent.ca_cert, ctx.lucent.ca_cert, check_rc=False)
    eq(rc, 0, "the CA verifies against itself: %s %s" % (out, err))


# ---------------------------------------------------------------------------
# intercepted HTTPS
# ---------------------------------------------------------------------------

def test_curl_https_byte_exact(ctx):
    url = ctx.nginx.https_url("/hello.txt")
    r = H.curl(ctx.lucent, "-v", "--cacert", ctx.lucent.ca_cert, "-o", "-", url)
    eq(r.rc, 0, r.err[-2000:])
    eq(r.out, H.HELLO_TXT)
    iss = issuer_lines(r.err)
    check(iss and all("CN=lucent CA" in l for l in iss), "curl must see lucent's certificate: %r" % iss)
    contains(r.err, "CONNECT a.test:%d HTTP/1.1" % ctx.nginx.tls_port)


def test_curl_https_big_file(ctx):
    r = H.curl(ctx.lucent, "--cacert", ctx.lucent.ca_cert, "-o", "-", ctx.nginx.https_url("/big.bin"), max_time=40)
    eq(r.rc, 0, r.err[-2000:])
    eq(len(r.out), len(ctx.nginx.files["big.bin"]))
    eq(H.sha256(r.out), H.sha256(ctx.nginx.files["big.bin"]))
    f = get_flow(ctx.lucent, ctx.nginx.https_url("/big.bin"))
    eq(f["response_size"], len(ctx.nginx.files["big.bin"]))


def test_keylog_both_sides(ctx):
    """--keylog: the secrets of the client's connection (the same client
    random curl logs itself) and of lucent's own upstream connection, in a
    0600 file."""
    kl = os.path.join(ctx.tmp, "keys.log")
    curl_kl = os.path.join(ctx.tmp, "curl-keys.log")
    lu = H.Lucent(["--upstream-ca", ctx.pki.ca_cert, "--keylog", kl])
    try:
        os.environ["SSLKEYLOGFILE"] = curl_kl
        try:
            r = H.curl(lu, "--cacert", lu.ca_cert, "-o", "/dev/null", ctx.nginx.https_url("/1k.bin?kl=1"))
        finally:
            del os.environ["SSLKEYLOGFILE"]
        eq(r.rc, 0, r.err[-2000:])
        check(H.wait_until(lambda: os.path.exists(kl) and os.path.getsize(kl) > 0, 5), "no keylog written")
        eq(os.stat(kl).st_mode & 0o777, 0o600, "keylog file mode")
        def randoms(path):
            with open(path) as f:
                return {l.split()[1] for l in f if l.strip() and not l.startswith("#")}
        mine, curls = randoms(kl), randoms(curl_kl)
        check(curls, "curl logged no secrets")
        check(curls <= mine, "lucent's keylog lacks the client connection: %r vs %r" % (curls, mine))
        check(len(mine - curls) >= 1, "lucent's keylog lacks its upstream connection: %r" % mine)
        with open(kl) as f:
            text = f.read()
        check(re.search(r"^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM) [0-9a-f]{64} [0-9a-f]+$", text, re.M),
              "not the SSLKEYLOGFILE format:\n" + text[:500])
    finally:
        lu.stop()



def test_body_in_the_same_read_as_the_head(ctx):
    """An HTTPS origin that writes the head and the body as two TLS records
    back to back: both can arrive in one read, and the body then waits in
    lucent's TLS read buffer, where no event points at it. It must still be
    delivered (it used to stall until the timeout)."""
    cert, key = ctx.pki.issue("a.test", ["DNS:a.test"])

    def handler(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            body = b"body after the head\n"
            c.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body))
            c.send(body)

    o = H.Origin(handler, tls=(cert, key))
    try:
        for i in range(20):
            r = H.curl(ctx.lucent, "--cacert", ctx.lucent.ca_cert, "-o", "-", o.url("/split-%d" % i), max_time=8)
            eq(r.rc, 0, "request %d: %s" % (i, r.err[-500:]))
            eq(r.out, b"body after the head\n")
    finally:
        o.stop()



def test_keepalive_one_handshake(ctx):
    u1, u2 = ctx.nginx.https_url("/1k.bin?ka=1"), ctx.nginx.https_url("/64k.bin?ka=2")
    r = H.curl(ctx.lucent, "-v", "--cacert", ctx.lucent.ca_cert, "-o", "-", u1, "-o", "-", u2)
    eq(r.rc, 0, r.err[-2000:])
    eq(H.sha256(r.out), H.sha256(ctx.nginx.files["1k.bin"] + ctx.nginx.files["64k.bin"]))
    eq(len(re.findall(r"^> CONNECT ", r.err, re.M)), 1, "one CONNECT for two URLs:\n" + r.err[-3000:])
    eq(len(re.findall(r"SSL connection using", r.err)), 1, "one TLS handshake:\n" + r.err[-3000:])
    check(re.search(r"Re-using existing connection", r.err), "curl reused the connection:\n" + r.err[-3000:])
    f1, f2 = get_flow(ctx.lucent, u1), get_flow(ctx.lucent, u2)
    eq(f1["client"], f2["client"], "both requests came over one client connection")
    check(f1["id"] != f2["id"], "two flows")


def test_flow_record_of_intercepted_request(ctx):
    url = ctx.nginx.https_url("/hello.txt?rec=1")
    c = H.TlsClient(ctx.lucent.port, "a.test:%d" % ctx.nginx.tls_port, "a.test", cafile=ctx.lucent.ca_cert)
    try:
        m = c.request("GET /hello.txt?rec=1 HTTP/1.1\r\nHost: a.test:%d\r\nX-Probe: 1\r\n\r\n" % ctx.nginx.tls_port)
        eq(m.status, 200)
        eq(m.body, H.HELLO_TXT)
        client = c.local
    finally:
        c.close()
    f = get_flow(ctx.lucent, url)
    eq(set(f.keys()) - FLOW_KEYS, set(), "unexpected keys")
    eq(FLOW_KEYS - set(f.keys()), set(), "missing keys")
    eq(f["tls"], True)
    eq(f["sni"], "a.test")
    eq(f["client"], client)
    eq(f["server"], "127.0.0.1:%d" % ctx.nginx.tls_port)
    eq(f["status"], 200)
    eq(f["http_version"], "HTTP/1.1")
    eq(f["error"], None)
    eq(f["response_size"], len(H.HELLO_TXT))
    check(["X-Probe", "1"] in f["request_headers"], "request headers of the decrypted request: %r"
          % f["request_headers"])
    for k in ("tls_client", "tls_server"):
        check(isinstance(f[k], str) and f[k].startswith("TLSv1."), "%s: %r" % (k, f[k]))
        check(re.match(r"^TLSv1\.[23] [A-Z0-9_-]+( \(resumed\))?$", f[k]), "%s is 'VERSION CIPHER': %r" % (k, f[k]))
    sc = f["server_cert"]
    check(isinstance(sc, str), "server_cert: %r" % sc)
    check(re.search(r"subject: .*CN ?= ?a\.test", sc), "server_cert subject: %r" % sc)
    check(re.search(r"issuer: .*CN ?= ?" + re.escape(ctx.pki.cn), sc), "server_cert issuer: %r" % sc)
    check(re.search(r"valid .+ GMT to .+ GMT", sc), "server_cert validity: %r" % sc)
    no_connect_flow(ctx.lucent, "a.test:%d" % ctx.nginx.tls_port)


def test_s_client_sees_minted_leaf(ctx):
    req = b"GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    rc, out, err = H.s_client(ctx.lucent.port, "a.test:%d" % ctx.nginx.tls_port, "a.test",
                              cafile=ctx.lucent.ca_cert, request=req, extra=["-verify_return_error"])
    # (the exit status is not checked here: see test_close_notify_on_connection_close)
    contains(out, "Verify return code: 0 (ok)", "s_client stderr %r" % err[-1500:])
    contains(out, "HTTP/1.1 200 OK")
    contains(out, H.HELLO_TXT.decode())
    certs = H.pem_certs(out)
    check(certs, "s_client -showcerts printed no certificate")
    leaf = H.cert_info(certs[0].encode())
    contains(leaf["issuer"], "lucent CA", "leaf issuer")
    eq(leaf["issuer"], "CN = lucent CA, O = lucent", "leaf issuer")
    check("DNS:a.test" in leaf["san"], "leaf SAN has the SNI name: %r" % leaf["san"])
    check("DNS:*.b.test" in leaf["san"], "leaf SAN mirrors the origin's *.b.test: %r" % leaf["san"])
    t = leaf["text"]
    check(re.search(r"Extended Key Usage:.*\n\s*TLS Web Server Authentication", t), "EKU serverAuth:\n" + t)
    check(not re.search(r"CA:TRUE", t), "the leaf is not a CA:\n" + t)
    check(re.search(r"prime256v1|P-256", t), "leaf key EC P-256:\n" + t)
    days = (leaf["not_after"] - leaf["not_before"]) / 86400.0
    check(0 < days <= 397, "leaf validity %.1f days must be <= 397" % days)
    now = time.time()
    check(leaf["not_before"] <= now <= leaf["not_after"], "leaf valid now")


def test_close_notify_on_connection_close(ctx):
    # "Connection: close": lucent ends the TLS session properly (close_notify
    # before the TCP FIN), as nginx does; otherwise OpenSSL 3 clients report
    # "unexpected eof while reading" (s_client exits 1) and a truncated body
    # cannot be told from a complete one.
    auth = "a.test:%d" % ctx.nginx.tls_port
    c = H.TlsClient(ctx.lucent.port, auth, "a.test", cafile=ctx.lucent.ca_cert)
    try:
        c.sock.suppress_ragged_eofs = False
        m = c.request("GET /hello.txt?cn=1 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % auth)
        eq(m.body, H.HELLO_TXT)
        try:
            rest = c.sock.recv(100)
        except OSError as e:
            raise AssertionError("lucent closed the client TLS connection without close_notify: %r" % e)
        eq(rest, b"", "nothing after the response")
    finally:
        c.close()
    req = b"GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    rc, out, err = H.s_client(ctx.lucent.port, auth, "a.test", cafile=ctx.lucent.ca_cert, request=req)
    contains(out, H.HELLO_TXT.decode())
    eq(rc, 0, "openssl s_client exit status; stderr %r" % err[-800:])


def test_upstream_tls_sni_and_alpn(ctx):
    o = H.Origin(H.handler_fixed(body=b"tls-origin\n"), tls=ctx.good, alpn=("h2", "http/1.1"))
    try:
        url = o.url("/alpn")
        g = fetch(ctx, ctx.lucent, url, cacert=ctx.lucent.ca_cert)
        eq(g.rc, 0, g.err[-1500:])
        eq(g.status, 200)
        eq(g.body, b"tls-origin\n")
        eq(g.version, "1.1", "lucent talks HTTP/1.1 to the client (ALPN)")
        check(o.wait_conns(1), "origin saw no connection")
        c = o.conns[0]
        eq(c.sni, "a.test", "SNI lucent sent upstream")
        eq(c.alpn, "http/1.1", "ALPN lucent agreed upstream (the origin prefers h2)")
        eq(o.requests[0].start_line, "GET /alpn HTTP/1.1")
        f = get_flow(ctx.lucent, url)
        eq(f["tls"], True)
    finally:
        o.stop()


def test_connect_by_ip_no_sni():
    pki = H.TestPKI("lucent e2e ip CA")
    good = pki.issue("a.test", ["DNS:a.test"])
    o = H.Origin(H.handler_fixed(body=b"by-ip\n"), tls=good)
    lu = H.Lucent(["--ssl-insecure"])      # the origin certificate has no IP SAN
    try:
        auth = "127.0.0.1:%d" % o.port
        # Python verifies lucent's leaf for the IP (no SNI is sent for an IP)
        c = H.TlsClient(lu.port, auth, "127.0.0.1", cafile=lu.ca_cert)
        try:
            m = c.request("GET /ip HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
            eq(m.status, 200)
            eq(m.body, b"by-ip\n")
            leaf = H.cert_info(c.peer_cert_der(), der=True)
        finally:
            c.close()
        check("IP Address:127.0.0.1" in leaf["san"], "leaf SAN for an IP connection: %r" % leaf["san"])
        check("DNS:a.test" in leaf["san"], "origin names mirrored: %r" % leaf["san"])
        f = get_flow(lu, "https://%s/ip" % auth)
        eq(f["sni"], None, "no SNI from the client")
        eq(f["tls"], True)
        check(o.wait_conns(1), "origin saw no connection")
        eq(o.conns[0].sni, None, "no SNI upstream for an IP")
        # curl by IP too (it verifies the IP SAN itself)
        r = H.curl(lu, "--cacert", lu.ca_cert, "-o", "-", "https://%s/ip2" % auth)
        eq(r.rc, 0, r.err[-1500:])
        eq(r.out, b"by-ip\n")
    finally:
        lu.stop()
        o.stop()


class BioTls:
    """A TLS client over a raw socket driven by hand (ssl.MemoryBIO), so a test
    controls how the ClientHello is cut into TCP segments and when it is sent."""

    def __init__(self, sock, cafile, hostname):
        import ssl
        self.ssl = ssl
        self.sock = sock
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=hostname)
        self.pending = b""        # bytes read from the socket ahead of TLS (e.g. the CONNECT reply)

    def client_hello(self):
        try:
            self.obj.do_handshake()
        except self.ssl.SSLWantReadError:
            pass
        return self.out.read()

    def _flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def _feed(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("peer closed during TLS")
        self.inc.write(d)

    def finish_handshake(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except self.ssl.SSLWantReadError:
                self._flush()
                self._feed()
        raise AssertionError("TLS handshake did not finish")

    def request(self, data):
        self.obj.write(data)
        self._flush()
        buf = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = self.obj.read(65536)
                if not chunk:
                    break
                buf += chunk
                head, sep, body = buf.partition(b"\r\n\r\n")
                if sep:
                    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                    if m and len(body) >= int(m.group(1)):
                        return head, body
            except self.ssl.SSLWantReadError:
                self._feed()
        raise AssertionError("no complete response over TLS: %r" % buf[:300])


def _read_connect_reply(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(4096)
        if not d:
            raise AssertionError("EOF before the CONNECT reply: %r" % buf)
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def test_client_hello_in_small_pieces(ctx):
    # the peek must wait for the whole ClientHello, however it is cut up
    auth = "a.test:%d" % ctx.nginx.tls_port
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (auth, auth))
        eq(c.response("CONNECT").status, 200)
        t = BioTls(c.sock, ctx.lucent.ca_cert, "a.test")
        hello = t.client_hello()
        check(len(hello) > 60, "a ClientHello")
        c.sock.setsockopt(H.socket.IPPROTO_TCP, H.socket.TCP_NODELAY, 1)
        cuts = [1, 2, 3, 5, 9, 40]          # inside the record header, the handshake header, the SNI...
        prev = 0
        for cut in cuts + [len(hello)]:
            c.sock.sendall(hello[prev:cut])
            prev = cut
            time.sleep(0.03)
        t.finish_handshake()
        head, body = t.request(b"GET /hello.txt?frag=1 HTTP/1.1\r\nHost: %s\r\n\r\n" % auth.encode())
        check(head.startswith(b"HTTP/1.1 200"), "response head %r" % head[:100])
        eq(body, H.HELLO_TXT)
    finally:
        c.close()
    f = get_flow(ctx.lucent, ctx.nginx.https_url("/hello.txt?frag=1"))
    eq(f["sni"], "a.test")


def test_client_hello_sent_with_connect(ctx):
    # a client that does not wait for "200" before its ClientHello
    auth = "a.test:%d" % ctx.nginx.tls_port
    c = H.RawClient(ctx.lucent.port)
    try:
        t = BioTls(c.sock, ctx.lucent.ca_cert, "a.test")
        c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (auth, auth)).encode() + t.client_hello())
        head, rest = _read_connect_reply(c.sock)
        check(re.match(rb"HTTP/1\.[01] 200", head), "CONNECT reply %r" % head)
        if rest:
            t.inc.write(rest)
        t.finish_handshake()
        head, body = t.request(b"GET /hello.txt?pipelined=1 HTTP/1.1\r\nHost: %s\r\n\r\n" % auth.encode())
        check(head.startswith(b"HTTP/1.1 200"), "response head %r" % head[:100])
        eq(body, H.HELLO_TXT)
    finally:
        c.close()
    get_flow(ctx.lucent, ctx.nginx.https_url("/hello.txt?pipelined=1"))


def test_https_default_port_443_url(ctx):
    # port 443 is free inside the private network namespace
    o = H.Origin(H.handler_fixed(body=b"on-443\n"), tls=ctx.good, port=443)
    try:
        g = fetch(ctx, ctx.lucent, "https://a.test/p443?q=1", cacert=ctx.lucent.ca_cert)
        eq((g.rc, g.status, g.body), (0, 200, b"on-443\n"), g.err[-800:])
        f = get_flow(ctx.lucent, "https://a.test/p443?q=1")
        eq(f["server"], "127.0.0.1:443")
        eq(o.requests[0].get("Host"), "a.test", "Host for the default port")
    finally:
        o.stop()


def test_post_upload_over_tls_byte_exact(ctx):
    o = H.Origin(H.handler_echo_body(), tls=ctx.good)
    try:
        body = os.urandom(1 << 20)
        auth = "a.test:%d" % o.port
        c = H.TlsClient(ctx.lucent.port, auth, "a.test", cafile=ctx.lucent.ca_cert, timeout=20)
        try:
            c.send(("POST /up HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (auth, len(body))).encode()
                   + body)
            m = c.response("POST")
            eq(m.status, 200)
            eq(H.sha256(m.body), H.sha256(body), "1 MiB echoed through both TLS legs")
            # chunked request on the same connection
            chunks = [b"abc", b"x" * 70000, b"end"]
            data = ("POST /up2 HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % auth).encode()
            data += b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in chunks) + b"0\r\n\r\n"
            c.send(data)
            m = c.response("POST")
            eq(m.body, b"".join(chunks))
        finally:
            c.close()
        f = get_flow(ctx.lucent, "https://%s/up" % auth, "POST")
        eq(f["request_size"], len(body))
        eq(f["response_size"], len(body))
        eq(o.requests[0].body, body)
    finally:
        o.stop()


def test_parallel_tls_clients(ctx):
    import threading
    errs = []
    want = ctx.nginx.files["64k.bin"]

    def one(i):
        try:
            auth = "a.test:%d" % ctx.nginx.tls_port
            c = H.TlsClient(ctx.lucent.port, auth, "a.test", cafile=ctx.lucent.ca_cert, timeout=20)
            try:
                for j in range(3):
                    m = c.request("GET /64k.bin?par=%d-%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, j, auth))
                    if m.status != 200 or m.body != want:
                        errs.append("client %d request %d: %r" % (i, j, m))
            finally:
                c.close()
        except Exception as e:  # noqa
            errs.append("client %d: %r" % (i, e))
    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(12)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(40)
    check(not errs, "\n".join(errs[:10]))
    check(H.wait_until(lambda: len([f for f in ctx.lucent.flows() if "par=" in f.get("url", "")]) == 36, 10),
          "36 flows")


def test_origin_not_speaking_tls(ctx):
    # a ClientHello towards a plain-HTTP port: the upstream handshake fails,
    # the client still gets a TLS connection and a 502 saying why
    # (own lucent: a crash here must not take the shared one down)
    lu = H.Lucent(["--upstream-ca", ctx.pki.ca_cert])
    try:
        auth = "a.test:%d" % ctx.nginx.port
        try:
            c = H.TlsClient(lu.port, auth, "a.test", cafile=lu.ca_cert)
        except OSError as e:
            raise AssertionError("TLS with lucent failed (%r); lucent alive=%r, stderr:\n%s"
                                 % (e, lu.alive(), lu.stderr()[-1500:]))
        try:
            m = c.request("GET /hello.txt?plainport=1 HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
            eq(m.status, 502)
            check(m.body.startswith(b"lucent: "), "502 body %r" % m.body)
            check(re.search(rb"TLS", m.body), "body names the TLS failure: %r" % m.body)
        finally:
            c.close()
        f = get_flow(lu, "https://%s/hello.txt?plainport=1" % auth)
        eq(f["status"], 502)
        check(f["error"], "flow error: %r" % f)
        check(lu.alive(), "lucent died")
    finally:
        check(lu.alive(), "lucent died; stderr:\n%s" % lu.stderr()[-1500:])
        lu.stop()


def test_sni_differs_from_connect_host(ctx):
    # CONNECT by IP with SNI a.test: the leaf is for the SNI name
    auth = "127.0.0.1:%d" % ctx.nginx.tls_port
    c = H.TlsClient(ctx.lucent.port, auth, "a.test", cafile=ctx.lucent.ca_cert)
    try:
        m = c.request("GET /hello.txt?snidiff=1 HTTP/1.1\r\nHost: a.test:%d\r\n\r\n" % ctx.nginx.tls_port)
        eq(m.status, 200, "upstream verified as a.test (the SNI): %r" % m.body[:300])
        eq(m.body, H.HELLO_TXT)
        leaf = H.cert_info(c.peer_cert_der(), der=True)
    finally:
        c.close()
    check("DNS:a.test" in leaf["san"], "leaf SAN: %r" % leaf["san"])
    f = find_flow(ctx.lucent, lambda f: "snidiff=1" in f.get("url", ""), "snidiff")
    eq(f["sni"], "a.test")
    eq(f["tls"], True)


def test_no_sni_uses_connect_host(ctx):
    # a client that sends no SNI to a named host: the leaf is for the CONNECT
    # host, and lucent still verifies (and names) the origin as that host
    o = H.Origin(H.handler_fixed(body=b"no-sni\n"), tls=ctx.good)
    try:
        auth = "a.test:%d" % o.port
        c = H.TlsClient(ctx.lucent.port, auth, None, verify=False)
        try:
            m = c.request("GET /nosni HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
            eq(m.status, 200, "body %r" % m.body[:300])
            eq(m.body, b"no-sni\n")
            leaf = H.cert_info(c.peer_cert_der(), der=True)
        finally:
            c.close()
        check("DNS:a.test" in leaf["san"], "leaf for the CONNECT host: %r" % leaf["san"])
        eq(leaf["issuer"], "CN = lucent CA, O = lucent")
        check(o.wait_conns(1), "origin saw no connection")
        eq(o.conns[0].sni, "a.test", "SNI upstream = the CONNECT host")
        f = get_flow(ctx.lucent, "https://%s/nosni" % auth)
        eq(f["sni"], None)
    finally:
        o.stop()


def test_partial_client_hello_times_out():
    # a client that stops in the middle of its ClientHello is not held forever
    lu = H.Lucent(["--idle-timeout", "1", "--header-timeout", "1", "--connect-timeout", "1"])
    o = H.Origin(H.handler_silent(20))
    try:
        auth = o.authority()
        c = H.RawClient(lu.port)
        try:
            c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (auth, auth))
            eq(c.response("CONNECT").status, 200)
            c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")     # a ClientHello's first 11 bytes
            t0 = time.monotonic()
            check(c.at_eof(10), "lucent still holds a half-sent ClientHello after 10 s")
            check(time.monotonic() - t0 < 9, "closed too late")
        finally:
            c.close()
        check(lu.alive(), "alive")
    finally:
        lu.stop()
        o.stop()


def test_origin_tls_handshake_stalls():
    # the origin accepts TCP but never answers the ClientHello: bounded by
    # --connect-timeout; the client is told (502 over TLS) or closed, lucent lives
    o = H.Origin(H.handler_silent(20))
    lu = H.Lucent(["--connect-timeout", "1"])
    try:
        auth = "a.test:%d" % o.port
        t0 = time.monotonic()
        outcome = None
        try:
            c = H.TlsClient(lu.port, auth, "a.test", cafile=lu.ca_cert, timeout=10)
            try:
                m = c.request("GET /stall HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
                outcome = m.status
                eq(m.status, 502, "status after the origin's handshake timed out")
                check(m.body.startswith(b"lucent: "), "body %r" % m.body)
            finally:
                c.close()
        except (OSError, EOFError) as e:
            outcome = repr(e)
            check(not isinstance(e, H.socket.timeout), "no answer within 10 s: %r" % e)
        check(time.monotonic() - t0 < 9, "took %.1f s (outcome %r)" % (time.monotonic() - t0, outcome))
        check(lu.alive(), "lucent died (outcome %r); stderr:\n%s" % (outcome, lu.stderr()[-1500:]))
        f = find_flow(lu, lambda f: f.get("error") and (f.get("url") == auth or
                                                        f.get("url", "").startswith("https://" + auth)),
                      "the stalled origin")
        check("timed out" in f["error"], "error says it timed out: %r" % f["error"])
        check("client" not in f["error"], "the origin stalled, not the client; error blames the client: %r"
              % f["error"])
    finally:
        check(lu.alive(), "lucent died; stderr:\n%s" % lu.stderr()[-1500:])
        lu.stop()
        o.stop()


def test_client_tls12_only(ctx):
    url = ctx.nginx.https_url("/hello.txt?tls12=1")
    g = fetch(ctx, ctx.lucent, url, cacert=ctx.lucent.ca_cert, extra=["--tlsv1.2", "--tls-max", "1.2"])
    eq((g.rc, g.status, g.body), (0, 200, H.HELLO_TXT), g.err[-800:])
    f = get_flow(ctx.lucent, url)
    check((f["tls_client"] or "").startswith("TLSv1.2 "), "tls_client of a TLS 1.2 client: %r" % f["tls_client"])
    check((f["tls_server"] or "").startswith("TLSv1."), "tls_server %r" % f["tls_server"])


def test_connect_ipv6_literal_intercepted(ctx):
    lu = H.Lucent(["--ssl-insecure"])     # the origin certificate has no IP SAN
    try:
        auth = "[::1]:%d" % ctx.nginx.tls_port
        c = H.TlsClient(lu.port, auth, "::1", cafile=lu.ca_cert)
        try:
            m = c.request("GET /hello.txt?v6=1 HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
            eq(m.status, 200)
            eq(m.body, H.HELLO_TXT)
            leaf = H.cert_info(c.peer_cert_der(), der=True)
        finally:
            c.close()
        check([x for x in leaf["san"] if x.startswith("IP Address:") and x.rstrip().endswith(":1")],
              "IPv6 SAN in the leaf: %r" % leaf["san"])
        f = get_flow(lu, "https://%s/hello.txt?v6=1" % auth)
        eq(f["server"], auth)
        eq(f["tls"], True)
    finally:
        lu.stop()


# ---------------------------------------------------------------------------
# upstream verification
# ---------------------------------------------------------------------------

def test_unknown_ca_without_upstream_ca(ctx):
    lu = H.Lucent()
    try:
        expect_reject(ctx, lu, ctx.nginx.https_url("/hello.txt?noca=1"),
                      r"unable to get local issuer certificate", "origin CA not trusted")
        check(lu.alive(), "lucent alive")
    finally:
        lu.stop()


def test_unknown_ca_other_issuer(ctx):
    expect_reject(ctx, ctx.lucent, ctx.nginx.https_url("/hello.txt?u=1", name="unknown"),
                  r"unable to get local issuer certificate", "leaf of another CA")


def test_self_signed_origin(ctx):
    expect_reject(ctx, ctx.lucent, ctx.nginx.https_url("/hello.txt?ss=1", name="selfsigned"),
                  r"self[- ]signed certificate(?: in certificate chain)?", "self-signed origin")


def test_expired_origin(ctx):
    expect_reject(ctx, ctx.lucent, ctx.nginx.https_url("/hello.txt?exp=1", name="expired"),
                  r"certificate has expired", "expired origin certificate")


def test_wrong_name_origin(ctx):
    f = expect_reject(ctx, ctx.lucent, ctx.nginx.https_url("/hello.txt?wn=1", name="wrong"),
                      r"hostname mismatch", "origin certificate for wrong.test")
    check(f["server_cert"] is None or "wrong.test" in f["server_cert"], "server_cert: %r" % f["server_cert"])


def test_verified_chain_cache_still_checks_the_name(ctx):
    # lucent remembers chains that verified, so a second name served with the
    # same certificate skips the chain check: the name must still be checked
    lu = H.Lucent(["--upstream-ca", ctx.pki.ca_cert])
    try:
        g = fetch(ctx, lu, ctx.nginx.https_url("/hello.txt?vc=1"), cacert=lu.ca_cert)
        eq(g.status, 200, "a.test verifies and is remembered")
        g = fetch(ctx, lu, ctx.nginx.https_url("/hello.txt?vc=2", host="h7.b.test"),
                  cacert=lu.ca_cert)
        eq(g.status, 200, "h7.b.test is covered by *.b.test on the same chain")
        expect_reject(ctx, lu, ctx.nginx.https_url("/hello.txt?vc=3", host="c.test"),
                      r"hostname mismatch", "same chain, a name it does not cover")
    finally:
        lu.stop()


def test_reject_every_request_on_connection(ctx):
    # keep-alive: each request on the connection gets the 502
    auth = "a.test:%d" % ctx.nginx.tls_ports["expired"]
    c = H.TlsClient(ctx.lucent.port, auth, "a.test", cafile=ctx.lucent.ca_cert)
    try:
        for i in range(2):
            m = c.request("GET /hello.txt?again=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, auth))
            eq(m.status, 502, "request %d" % i)
            contains(m.body.decode(), "certificate has expired")
            if c.reader.at_eof(0.2):
                break
    finally:
        c.close()


def test_ssl_insecure_accepts_all(ctx):
    lu = H.Lucent(["--ssl-insecure"])
    try:
        for name in ("main", "unknown", "selfsigned", "expired", "wrong"):
            url = ctx.nginx.https_url("/hello.txt?insecure=" + name, name=name)
            g = fetch(ctx, lu, url, cacert=lu.ca_cert)
            eq(g.rc, 0, "%s: %s" % (name, g.err[-1500:]))
            eq(g.status, 200, "%s with --ssl-insecure (body %r)" % (name, g.body))
            eq(g.body, H.HELLO_TXT, name)
            f = get_flow(lu, url)
            eq(f["error"], None, name)
            eq(f["tls"], True, name)
            check(f["server_cert"], "%s: server_cert recorded: %r" % (name, f))
    finally:
        lu.stop()


# ---------------------------------------------------------------------------
# passthrough
# ---------------------------------------------------------------------------

def test_ignore_hosts_passthrough(ctx):
    # case-insensitive, matched against "host:port"
    lu = H.Lucent(["--upstream-ca", ctx.pki.ca_cert, "--ignore-hosts", "^nomatch$",
                   "--ignore-hosts", r"A\.TEST:[0-9]+$"])
    try:
        auth = "a.test:%d" % ctx.nginx.tls_port
        r = H.curl(lu, "-v", "--cacert", ctx.pki.ca_cert, "-o", "-", "https://%s/hello.txt" % auth)
        eq(r.rc, 0, "ignored host must see the origin's own certificate: " + r.err[-1500:])
        eq(r.out, H.HELLO_TXT)
        iss = issuer_lines(r.err)
        check(iss and all(ctx.pki.cn in l for l in iss), "origin's own issuer expected: %r" % iss)
        f = find_flow(lu, lambda f: f.get("method") == "CONNECT" and f.get("url") == auth, "CONNECT " + auth)
        eq(f["status"], 200)
        eq(f["sni"], "a.test")
        eq(f["error"], None)
        eq(f["tls_client"], None)
        check(f["request_size"] > 100 and f["response_size"] > len(H.HELLO_TXT), "byte counts: %r" % f)
        check(not [x for x in lu.flows() if x.get("url", "").startswith("https://")], "no https flow when ignored")

        # "sni:port": CONNECT by IP, SNI a.test -> still ignored
        ip_auth = "127.0.0.1:%d" % ctx.nginx.tls_port
        rc, out, err = H.s_client(lu.port, ip_auth, "a.test", cafile=ctx.pki.ca_cert,
                                  request=b"GET /hello.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        contains(out, "Verify return code: 0 (ok)", "s_client with the origin's CA (stderr %r)" % err[-800:])
        certs = H.pem_certs(out)
        check(certs and ctx.pki.cn in H.cert_info(certs[0].encode())["issuer"], "origin's own leaf via SNI match")
        contains(out, H.HELLO_TXT.decode())
        f = find_flow(lu, lambda f: f.get("method") == "CONNECT" and f.get("url") == ip_auth, "CONNECT " + ip_auth)
        eq(f["sni"], "a.test")

        # by IP without SNI: nothing matches -> intercepted (lucent's leaf)
        r = H.curl(lu, "-v", "-k", "-o", "-", "https://%s/hello.txt" % ip_auth)
        iss = issuer_lines(r.err)
        check(iss and all("CN=lucent CA" in l for l in iss), "no match -> intercepted: %r" % iss)
    finally:
        lu.stop()
    # a pattern that does not match leaves a.test intercepted
    lu = H.Lucent(["--upstream-ca", ctx.pki.ca_cert, "--ignore-hosts", r"^b\.test:"])
    try:
        url = ctx.nginx.https_url("/hello.txt?nomatch=1")
        g = fetch(ctx, lu, url, cacert=lu.ca_cert)
        eq((g.rc, g.status, g.body), (0, 200, H.HELLO_TXT), g.err[-1500:])
        eq(get_flow(lu, url)["tls"], True)
    finally:
        lu.stop()


def _reject_once(ctx, lu, auth):
    # the client trusts an unrelated CA only: it refuses lucent's leaf
    r = H.curl(lu, "--cacert", ctx.other.ca_cert, "-o", "-", "https://%s/hello.txt?rej=1" % auth)
    eq(r.rc, 60, "curl must refuse lucent's certificate (exit 60): %s" % r.err[-1500:])
    f = find_flow(lu, lambda f: f.get("method") == "CONNECT" and f.get("url") == auth
                  and (f.get("error") or "").startswith("tls-client-rejected:"), "tls-client-rejected CONNECT")
    eq(f["sni"], "a.test")
    check(len(f["error"]) > len("tls-client-rejected:") + 20, "the error explains what to do: %r" % f["error"])
    check(re.search(r"lucent\.proxy|--ignore-hosts|CA", f["error"]), "the error explains what to do: %r" % f["error"])
    return f


def test_client_rejects_then_auto_passthrough(ctx):
    lu = H.Lucent(["--upstream-ca", ctx.pki.ca_cert])
    try:
        auth = "a.test:%d" % ctx.nginx.tls_port
        _reject_once(ctx, lu, auth)
        check(lu.alive(), "lucent alive")
        n_before = len(connect_flows(lu, auth))
        r = H.curl(lu, "-v", "--cacert", ctx.pki.ca_cert, "-o", "-", "https://%s/hello.txt" % auth)
        eq(r.rc, 0, "after a rejection the host passes through: " + r.err[-1500:])
        eq(r.out, H.HELLO_TXT)
        iss = issuer_lines(r.err)
        check(iss and all(ctx.pki.cn in l for l in iss), "origin's own certificate: %r" % iss)
        check(H.wait_until(lambda: len(connect_flows(lu, auth)) > n_before, 10), "no passthrough CONNECT record")
        f = [x for x in connect_flows(lu, auth) if not x.get("error")]
        check(f and f[-1]["status"] == 200 and f[-1]["sni"] == "a.test", "passthrough record: %r" % f)
        # only that host:port: the same host on another port is still intercepted
        g = fetch(ctx, lu, ctx.nginx.https_url("/hello.txt?other=1", name="expired"), cacert=lu.ca_cert)
        eq((g.rc, g.status), (0, 502), "other port still intercepted: %s" % g.err[-800:])
    finally:
        lu.stop()


def test_no_auto_ignore_keeps_intercepting(ctx):
    lu = H.Lucent(["--upstream-ca", ctx.pki.ca_cert, "--no-auto-ignore"])
    try:
        auth = "a.test:%d" % ctx.nginx.tls_port
        _reject_once(ctx, lu, auth)
        r = H.curl(lu, "--cacert", ctx.pki.ca_cert, "-o", "-", "https://%s/hello.txt" % auth)
        eq(r.rc, 60, "with --no-auto-ignore the host stays intercepted: %s" % r.err[-1500:])
        url = "https://%s/hello.txt?kept=1" % auth
        g = fetch(ctx, lu, url, cacert=lu.ca_cert)
        eq((g.rc, g.status, g.body), (0, 200, H.HELLO_TXT), g.err[-1500:])
        eq(get_flow(lu, url)["tls"], True)
    finally:
        lu.stop()


# ---------------------------------------------------------------------------
# plain HTTP inside CONNECT
# ---------------------------------------------------------------------------

def test_plain_http_inside_connect(ctx):
    np = ctx.nginx.port
    auth = "a.test:%d" % np
    c = H.RawClient(ctx.lucent.port)
    try:
        c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (auth, auth))
        eq(c.response("CONNECT").status, 200)
        m = c.request("GET /hello.txt?tun=1 HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
        eq(m.status, 200)
        eq(m.body, H.HELLO_TXT)
        m = c.request("GET /1k.bin?tun=2 HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
        eq(m.status, 200)
        eq(m.body, ctx.nginx.files["1k.bin"])
    finally:
        c.close()
    for path in ("/hello.txt?tun=1", "/1k.bin?tun=2"):
        f = get_flow(ctx.lucent, "http://%s%s" % (auth, path))
        eq(f["tls"], False)
        eq(f["sni"], None)
        eq(f["status"], 200)
        eq(f["server"], "127.0.0.1:%d" % np)
    check(H.wait_until(lambda: "GET /hello.txt?tun=1 HTTP/1.1" in ctx.nginx.access_log(), 5), "nginx saw it")
    no_connect_flow(ctx.lucent, auth)


# ---------------------------------------------------------------------------
# http://lucent.proxy/
# ---------------------------------------------------------------------------

def test_lucent_proxy_page(ctx):
    lu = ctx.lucent
    g = fetch(ctx, lu, "http://lucent.proxy/")
    eq((g.rc, g.status), (0, 200), g.err[-800:])
    check(g.ctype and g.ctype.startswith("text/html"), "content type %r" % g.ctype)
    page = g.body.decode("utf-8", "replace")
    for word in ("Firefox", "Chromium", "curl", "Debian", "macOS", "Windows", "Android", "iOS"):
        contains(page, word, "onboarding page")
    contains(page, lu.fingerprint, "the page shows the fingerprint")
    contains(page, "/cert/pem")
    g = fetch(ctx, lu, "http://lucent.proxy/cert/pem")
    eq((g.rc, g.status, g.ctype), (0, 200, "application/x-pem-file"))
    eq(g.body, read(lu.ca_path(H.CA_CERT_PEM_FILE)), "/cert/pem = lucent-ca-cert.pem")
    g = fetch(ctx, lu, "http://lucent.proxy/cert/cer")
    eq((g.rc, g.status, g.ctype), (0, 200, "application/x-x509-ca-cert"))
    eq(g.body, read(lu.ca_path(H.CA_CERT_DER_FILE)), "/cert/cer = lucent-ca-cert.cer")
    for p in ("/nope", "/cert/pem/x", "/cert"):
        g = fetch(ctx, lu, "http://lucent.proxy" + p)
        eq(g.status, 404, "http://lucent.proxy%s" % p)
    # raw request with a Host header only (origin-form is not a proxy request; absolute-form is)
    m = H.raw_request(lu.port, "GET http://lucent.proxy/cert/pem HTTP/1.1\r\nHost: lucent.proxy\r\n\r\n")
    eq(m.status, 200)
    eq(m.body, read(lu.ca_path(H.CA_CERT_PEM_FILE)))
    check(not [n for n in H.DNS.names if "lucent.proxy" in n], "lucent looked up lucent.proxy: %r" % H.DNS.names)
    check(lu.alive(), "alive")


# ---------------------------------------------------------------------------
# CONFDIR lifecycle
# ---------------------------------------------------------------------------

def _snapshot(d):
    out = {}
    for n in (H.CA_KEY_FILE, H.CA_CERT_PEM_FILE, H.CA_CERT_DER_FILE):
        p = os.path.join(d, n)
        st = os.stat(p)
        out[n] = (read(p), stat.S_IMODE(st.st_mode), st.st_ino, st.st_mtime_ns)
    return out


def test_restart_reuses_ca(ctx):
    conf = os.path.join(H.mktemp("lucent-e2e-conf-"), "nested", "conf")
    lu = H.Lucent(confdir=conf)
    eq(lu.ca_line()[0], "created")
    fp = lu.fingerprint
    lu.stop()
    eq(mode(conf), 0o700, "created confdir mode")
    before = _snapshot(conf)
    time.sleep(0.05)
    lu2 = H.Lucent(confdir=conf)
    try:
        eq(lu2.ca_line(), ("loaded", fp), "restart loads the same CA")
        eq(_snapshot(conf), before, "files untouched on restart (bytes, mode, inode, mtime)")
        # the restarted proxy signs with the same CA: the saved copy still verifies
        saved = os.path.join(ctx.tmp, "saved-ca.pem")
        H._write(saved, before[H.CA_CERT_PEM_FILE][0])
        # (no --upstream-ca here: the origin is answered with a 502, but over a
        # TLS connection the client verified against the saved CA)
        g = fetch(ctx, lu2, ctx.nginx.https_url("/hello.txt?restart=1"), cacert=saved)
        eq(g.rc, 0, "leaf minted after restart verifies with the old CA file: " + g.err[-800:])
        eq(g.status, 502)
    finally:
        lu2.stop()


def test_derived_files_rewritten(ctx):
    conf = os.path.join(H.mktemp("lucent-e2e-conf-"), "conf")
    lu = H.Lucent(confdir=conf)
    lu.stop()
    before = _snapshot(conf)
    os.unlink(os.path.join(conf, H.CA_CERT_DER_FILE))
    H._write(os.path.join(conf, H.CA_CERT_PEM_FILE), "stale\n", 0o600)
    lu = H.Lucent(confdir=conf)
    try:
        eq(lu.ca_line()[0], "loaded")
        eq(read(os.path.join(conf, H.CA_CERT_DER_FILE)), before[H.CA_CERT_DER_FILE][0], ".cer recreated")
        eq(read(os.path.join(conf, H.CA_CERT_PEM_FILE)), before[H.CA_CERT_PEM_FILE][0], "-cert.pem rewritten")
        eq(mode(os.path.join(conf, H.CA_CERT_PEM_FILE)), 0o644)
        eq(mode(os.path.join(conf, H.CA_CERT_DER_FILE)), 0o644)
        eq(read(os.path.join(conf, H.CA_KEY_FILE)), before[H.CA_KEY_FILE][0], "lucent-ca.pem untouched")
    finally:
        lu.stop()


def test_modes_with_umask_0():
    old = os.umask(0)
    try:
        lu = H.Lucent()
    finally:
        os.umask(old)
    try:
        eq(mode(lu.confdir), 0o700, "confdir")
        eq(mode(lu.ca_path(H.CA_KEY_FILE)), 0o600, "lucent-ca.pem")
        eq(mode(lu.ca_path(H.CA_CERT_PEM_FILE)), 0o644, "lucent-ca-cert.pem")
        eq(mode(lu.ca_path(H.CA_CERT_DER_FILE)), 0o644, "lucent-ca-cert.cer")
    finally:
        lu.stop()


def _startup_fails(conf, what):
    rc, out, err = H.run_lucent_cmd(["-p", "0", "--headless", "--confdir", conf], timeout=8)
    check(rc is not None, "%s: lucent still running after 8 s (stderr %r)" % (what, err[-500:]))
    check(rc != 0, "%s: lucent must exit non-zero (stderr %r)" % (what, err[-500:]))
    check("listening on" not in err, "%s: must not start listening" % what)
    return err


def test_corrupt_key_file_is_an_error():
    conf = H.mktemp("lucent-e2e-conf-")
    key = os.path.join(conf, H.CA_KEY_FILE)
    garbage = b"-----BEGIN PRIVATE KEY-----\nnot base64 at all!!\n-----END PRIVATE KEY-----\n"
    H._write(key, garbage, 0o600)
    err = _startup_fails(conf, "corrupt lucent-ca.pem")
    contains(err, H.CA_KEY_FILE, "the message names the file")
    eq(read(key), garbage, "lucent-ca.pem untouched")
    eq(mode(key), 0o600)
    # random bytes too
    junk = os.urandom(700)
    H._write(key, junk, 0o600)
    err = _startup_fails(conf, "random bytes in lucent-ca.pem")
    contains(err, H.CA_KEY_FILE)
    eq(read(key), junk, "lucent-ca.pem untouched")


def test_key_file_without_key_or_encrypted_is_an_error():
    lu = H.Lucent()
    lu.stop()
    keyfile = read(lu.ca_path(H.CA_KEY_FILE)).decode()
    cert_only = "\n".join(H.pem_certs(keyfile)) + "\n"
    conf = H.mktemp("lucent-e2e-conf-")
    key = os.path.join(conf, H.CA_KEY_FILE)
    H._write(key, cert_only, 0o600)
    err = _startup_fails(conf, "lucent-ca.pem with a certificate but no key")
    contains(err, H.CA_KEY_FILE)
    eq(read(key).decode(), cert_only, "untouched")
    # an encrypted key: an error, never a pass phrase prompt (stdin is /dev/null; bounded wait)
    _, enc, _ = H.openssl("pkey", "-in", lu.ca_path(H.CA_KEY_FILE), "-aes128", "-passout", "pass:secret")
    H._write(key, enc + cert_only, 0o600)
    err = _startup_fails(conf, "encrypted lucent-ca.pem")
    contains(err, H.CA_KEY_FILE)
    eq(read(key).decode(), enc + cert_only, "untouched")


def test_cert_without_key_file_is_an_error():
    lu = H.Lucent()
    lu.stop()
    for name in (H.CA_CERT_PEM_FILE, H.CA_CERT_DER_FILE):
        conf = H.mktemp("lucent-e2e-conf-")
        data = read(lu.ca_path(name))
        H._write(os.path.join(conf, name), data)
        err = _startup_fails(conf, "%s without lucent-ca.pem" % name)
        contains(err, H.CA_KEY_FILE, "the message says what is missing")
        check(not os.path.exists(os.path.join(conf, H.CA_KEY_FILE)), "no new CA made next to an old certificate")
        eq(read(os.path.join(conf, name)), data, "%s untouched" % name)


def test_default_confdir_is_home_dot_lucent(ctx):
    home = H.private_home()
    lu = H.Lucent(confdir=False, env={"HOME": home})
    try:
        check("--confdir" not in lu.cmd, "no --confdir given")
        d = os.path.join(home, ".lucent")
        eq(lu.confdir, d)
        eq(lu.ca_line()[0], "created")
        eq(mode(d), 0o700)
        for n in (H.CA_KEY_FILE, H.CA_CERT_PEM_FILE, H.CA_CERT_DER_FILE):
            check(os.path.isfile(os.path.join(d, n)), "%s in ~/.lucent" % n)
        der = read(os.path.join(d, H.CA_CERT_DER_FILE))
        eq(lu.fingerprint, ":".join("%02X" % b for b in bytes.fromhex(H.sha256(der))))
        g = fetch(ctx, lu, "http://lucent.proxy/cert/cer")
        eq(g.body, der)
    finally:
        lu.stop()


def test_still_alive_and_serving(ctx):
    check(ctx.lucent.alive(), "lucent died")
    g = fetch(ctx, ctx.lucent, ctx.nginx.https_url("/hello.txt?final=1"), cacert=ctx.lucent.ca_cert)
    eq((g.rc, g.status, g.body), (0, 200, H.HELLO_TXT), g.err[-800:])


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)

"""The built-in demo site (`lucent demo`, --demo, --demo-port): a small
origin inside lucent on 127.0.0.1, over HTTP and HTTPS (a leaf from lucent's
CA), for classes working offline.

Covers, with curl both directly and through lucent (-x), over HTTP and over
HTTPS (--cacert CONFDIR/lucent-ca-cert.pem): the stderr line with both base
URLs and loopback-only listeners; the index; the login flow (form, 403 on a
wrong password, 303 with `session=...; Path=/` plain on HTTP and Secure +
HttpOnly on HTTPS, /account with and without the cookie, logout); the cache
pages' headers and their 304s (If-None-Match, If-Modified-Since); /status/NNN
(bodiless 204/304, Location on 3xx, 400 for 1xx, 404 outside 100..599);
redirects 301/302/303/307/308 and which keep POST; /chunked (several reads
spread over time, also through lucent); /slow (at least N ms); /many and its
50 PNGs over one keep-alive connection; the JSON API (list, add, get,
delete, errors); a raw-socket WebSocket client (handshake and
Sec-WebSocket-Accept, masked text/binary/fragmented frames echoed, ping/pong,
close handshake, an unmasked frame refused with 1002) over ws and wss,
directly and through lucent; a multipart upload sent by curl with
`Expect: 100-continue` (100 Continue, then sizes and field names) and one
too large (413 without 100); GET/POST forms; --demo-port N (HTTPS on N+1)
and bad command lines. Headless Chromium through lucent renders /app (items
from the API by XMLHttpRequest and fetch) and /ws-page over HTTPS (the echo).

Run: python3 tests/e2e/test_demo.py --lucent build/lucent
"""

import base64
import hashlib
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import time
import zlib

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402
import test_browser as B  # noqa: E402  (chromium_binary, ensure_chromium, ensure_certutil, _nss_home)

DEMO_RE = re.compile(r"^lucent: demo site on http://127\.0\.0\.1:(\d+)/ and https://127\.0\.0\.1:(\d+)/ "
                     r"\(certificate from lucent's CA\)$", re.M)
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# (scheme, through lucent?)
MODES = [("http", False), ("https", False), ("http", True), ("https", True)]


def demo_ports(lu):
    m = DEMO_RE.search(lu.stderr())
    check(m, "no demo line on stderr:\n%s" % lu.stderr()[-2000:])
    return int(m.group(1)), int(m.group(2))


def setup():
    ctx = H.Ctx()
    ctx.lucent = H.Lucent(["demo"])
    ctx.http_port, ctx.https_port = demo_ports(ctx.lucent)
    ctx.ca = ctx.lucent.ca_cert
    ctx.tmp = H.mktemp("lucent-e2e-demo-")
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


def base(ctx, scheme):
    return "%s://127.0.0.1:%d" % (scheme, ctx.http_port if scheme == "http" else ctx.https_port)


class Resp:
    def __init__(self, status, headers, body, err):
        self.status = status
        self.headers = headers     # lower-case name -> [values]
        self.body = body
        self.err = err

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def h(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def __repr__(self):
        return "<%s %r %r>" % (self.status, self.headers, self.body[:300])


_n = [0]


def fetch(ctx, scheme, proxied, path, *args, max_time=20):
    """curl for one URL; the final response's status, headers and body."""
    _n[0] += 1
    bodyf = os.path.join(ctx.tmp, "body%d" % _n[0])
    extra = ["--cacert", ctx.ca] if scheme == "https" else []
    r = H.curl(ctx.lucent if proxied else None, *extra, "-o", bodyf, "-w", "%{http_code}\n%{header_json}",
               *args, base(ctx, scheme) + path, max_time=max_time)
    eq(r.rc, 0, "curl %s%s (%s, %s)" % (base(ctx, scheme), path, "proxied" if proxied else "direct", r.err))
    status, hj = r.text.split("\n", 1)
    try:
        with open(bodyf, "rb") as f:
            body = f.read()
    except FileNotFoundError:      # curl makes no file for an empty body
        body = b""
    return Resp(int(status), json.loads(hj), body, r.err)


def each_mode(fn):
    for scheme, proxied in MODES:
        try:
            fn(scheme, proxied)
        except (AssertionError, OSError) as e:
            raise H.TestFailure("[%s%s] %s" % (scheme, " via lucent" if proxied else "", e))


# ---------------------------------------------------------------------------

def test_banner_and_loopback_only(ctx):
    check(ctx.http_port != ctx.https_port, "two ports")
    check(ctx.http_port != ctx.lucent.port and ctx.https_port != ctx.lucent.port, "not the proxy's port")
    # the listeners are on 127.0.0.1 only: ::1 (also loopback) is refused
    for port in (ctx.http_port, ctx.https_port):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            check(s.connect_ex(("::1", port)) != 0, "the demo must not listen on [::1]:%d" % port)
        finally:
            s.close()
    out = subprocess.run(["ss", "-Hltn"], stdout=subprocess.PIPE, timeout=10).stdout.decode()
    for port in (ctx.http_port, ctx.https_port):
        lines = [l for l in out.splitlines() if re.search(r":%d\s" % port, l)]
        check(lines, "ss shows no listener on port %d:\n%s" % (port, out))
        for l in lines:
            contains(l, "127.0.0.1:%d" % port, "listener address")


def test_index(ctx):
    def one(scheme, proxied):
        r = fetch(ctx, scheme, proxied, "/")
        eq(r.status, 200)
        contains(r.h("content-type"), "text/html")
        for link in ("/login", "/account", "/cache/max-age", "/cache/no-cache", "/status/404", "/redirects",
                     "/chunked", "/slow?ms=", "/many", "/app", "/api/items", "/ws-page", "/forms", "/upload"):
            contains(r.text, 'href="%s' % link, "index links")
        contains(r.text, "HTTPS" if scheme == "https" else "HTTP")
        check("<script src" not in r.text and "http://" not in r.text.split("</style>")[0],
              "no external resources")
    each_mode(one)


def test_https_certificate(ctx):
    # the leaf comes from lucent's CA and names 127.0.0.1 and demo.lucent
    c = ssl.create_default_context(cafile=ctx.ca)
    with socket.create_connection(("127.0.0.1", ctx.https_port), timeout=10) as raw:
        with c.wrap_socket(raw, server_hostname="demo.lucent") as s:
            der = s.getpeercert(binary_form=True)
            eq(s.selected_alpn_protocol(), None)
    info = H.cert_info(der, der=True)
    eq(sorted(info["san"]), ["DNS:demo.lucent", "IP Address:127.0.0.1"])
    contains(info["issuer"], "lucent CA")
    r = H.curl(None, "--cacert", ctx.ca, "--resolve", "demo.lucent:%d:127.0.0.1" % ctx.https_port,
               "https://demo.lucent:%d/" % ctx.https_port)
    eq(r.rc, 0, r.err)
    contains(r.text, "lucent demo site")


def test_login_cookie_flow(ctx):
    def one(scheme, proxied):
        r = fetch(ctx, scheme, proxied, "/login")
        eq(r.status, 200)
        contains(r.text, 'name="username"')
        contains(r.text, 'name="password"')
        r = fetch(ctx, scheme, proxied, "/login", "-d", "username=ann&password=wrong")
        eq(r.status, 403, "wrong password")
        check(r.h("set-cookie") is None, "no cookie for a wrong password")
        r = fetch(ctx, scheme, proxied, "/account")
        eq(r.status, 302, "/account without a cookie")
        eq(r.h("location"), "/login")
        r = fetch(ctx, scheme, proxied, "/login", "-d", "username=Ann+O%27Neil&password=lucent")
        eq(r.status, 303)
        eq(r.h("location"), "/account")
        cookie = r.h("set-cookie")
        m = re.match(r"^session=([0-9a-f]{32}); Path=/(.*)$", cookie or "")
        check(m, "Set-Cookie %r" % cookie)
        attrs = m.group(2)
        if scheme == "https":
            contains(attrs, "; Secure")
            contains(attrs, "; HttpOnly")
        else:
            check("secure" not in attrs.lower() and "httponly" not in attrs.lower(),
                  "plain HTTP cookie must have neither Secure nor HttpOnly: %r" % cookie)
        tok = m.group(1)
        r = fetch(ctx, scheme, proxied, "/account", "-b", "session=" + tok)
        eq(r.status, 200)
        contains(r.text, '<b id="user">Ann O&#39;Neil</b>')
        r = fetch(ctx, scheme, proxied, "/account", "-b", "other=1; session=" + "0" * 32)
        eq(r.status, 302, "a made-up session")
        # a cookie jar and -L: the whole browser-like flow
        jar = os.path.join(ctx.tmp, "jar-%s-%d" % (scheme, proxied))
        r = fetch(ctx, scheme, proxied, "/login", "-L", "-c", jar, "-b", jar, "-d", "username=bob&password=lucent")
        eq(r.status, 200)
        contains(r.text, '<b id="user">bob</b>')
        r = fetch(ctx, scheme, proxied, "/logout", "-c", jar, "-b", jar)
        eq(r.status, 303)
        contains(r.h("set-cookie"), "Max-Age=0")
        r = fetch(ctx, scheme, proxied, "/account", "-b", "session=" + tok)
        eq(r.status, 200, "the other session is still valid")
        r = fetch(ctx, scheme, proxied, "/account", "-b", jar)
        eq(r.status, 302, "after logout")
    each_mode(one)


def test_cache_pages_and_304(ctx):
    def one(scheme, proxied):
        pages = {}
        for name in ("max-age", "expires", "no-cache", "last-modified", "no-store", "immutable"):
            r = fetch(ctx, scheme, proxied, "/cache/" + name)
            eq(r.status, 200, name)
            check(re.search(r'Generated at <b id="generated">\d\d:\d\d:\d\d\.\d{3} UTC</b>', r.text),
                  "time on %s" % name)
            pages[name] = r
        eq(pages["max-age"].h("cache-control"), "max-age=60")
        check(pages["max-age"].h("etag") is None and pages["max-age"].h("last-modified") is None, "max-age only")
        exp = pages["expires"].h("expires")
        check(exp and re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", exp), "Expires %r" % exp)
        check(pages["expires"].h("cache-control") is None, "Expires only")
        eq(pages["no-store"].h("cache-control"), "no-store")
        eq(pages["immutable"].h("cache-control"), "max-age=31536000, immutable")
        # no-cache + ETag: 304 on a matching If-None-Match (also weak, also in a list)
        nc = pages["no-cache"]
        eq(nc.h("cache-control"), "no-cache")
        etag = nc.h("etag")
        check(etag and etag.startswith('"'), "ETag %r" % etag)
        for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
            r = fetch(ctx, scheme, proxied, "/cache/no-cache", "-H", "If-None-Match: " + inm)
            eq(r.status, 304, "If-None-Match: " + inm)
            eq(r.body, b"")
            eq(r.h("etag"), etag)
        r = fetch(ctx, scheme, proxied, "/cache/no-cache", "-H", 'If-None-Match: "nope"')
        eq(r.status, 200)
        # Last-Modified: 304 on If-Modified-Since at or after it, 200 before
        lm = pages["last-modified"].h("last-modified")
        check(lm, "Last-Modified")
        check(pages["last-modified"].h("cache-control") is None and pages["last-modified"].h("etag") is None,
              "Last-Modified only")
        r = fetch(ctx, scheme, proxied, "/cache/last-modified", "-H", "If-Modified-Since: " + lm)
        eq(r.status, 304)
        eq(r.body, b"")
        r = fetch(ctx, scheme, proxied, "/cache/last-modified", "-H",
                  "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT")
        eq(r.status, 200)
        r = fetch(ctx, scheme, proxied, "/cache/nothing")
        eq(r.status, 404)
    each_mode(one)


def test_status_codes(ctx):
    def one(scheme, proxied):
        for code in (200, 201, 202, 203, 206, 301, 302, 303, 307, 308, 400, 401, 403, 404, 410, 418, 429,
                     451, 500, 502, 503, 599):
            r = fetch(ctx, scheme, proxied, "/status/%d" % code)
            eq(r.status, code)
            contains(r.text, "<h1>%d " % code)
            if 300 <= code < 400:
                eq(r.h("location"), "/", "Location of %d" % code)
            else:
                eq(r.h("location"), None)
        eq(fetch(ctx, scheme, proxied, "/status/401").h("www-authenticate"), 'Basic realm="lucent demo"')
        for code in (204, 304):
            r = fetch(ctx, scheme, proxied, "/status/%d" % code)
            eq(r.status, code)
            eq(r.body, b"", "no body with %d" % code)
            eq(r.h("content-length"), None)
        for code in (100, 101, 102, 103, 199):
            r = fetch(ctx, scheme, proxied, "/status/%d" % code)
            eq(r.status, 400, "/status/%d" % code)
            contains(r.text, "interim")
        for bad in ("99", "600", "abc", "2000", "20"):
            eq(fetch(ctx, scheme, proxied, "/status/" + bad).status, 404, "/status/" + bad)
        r = fetch(ctx, scheme, proxied, "/status/200", "-I")
        eq(r.status, 200)
        eq(r.body.count(b"<h1>"), 0, "HEAD has no body")
    each_mode(one)


def test_redirects_keep_or_drop_the_method(ctx):
    def one(scheme, proxied):
        r = fetch(ctx, scheme, proxied, "/redirects")
        eq(r.status, 200)
        for code in (301, 302, 303, 307, 308):
            contains(r.text, 'action="/redirect/%d"' % code)
        for code in (301, 302, 303, 307, 308):
            r = fetch(ctx, scheme, proxied, "/redirect/%d" % code)
            eq(r.status, code)
            eq(r.h("location"), "/redirected?from=%d" % code)
            r = fetch(ctx, scheme, proxied, "/redirect/%d" % code, "-L")
            eq(r.status, 200)
            contains(r.text, '<b id="method">GET</b> after a <b id="from">%d</b>' % code)
            r = fetch(ctx, scheme, proxied, "/redirect/%d" % code, "-L", "-d", "note=posted+here")
            eq(r.status, 200)
            if code in (307, 308):
                contains(r.text, '<b id="method">POST</b>', "%d keeps POST" % code)
                contains(r.text, '<b id="body">16</b>')
                contains(r.text, "<td>note</td><td>posted here</td>")
            else:
                contains(r.text, '<b id="method">GET</b>', "%d turns POST into GET" % code)
                contains(r.text, '<b id="body">0</b>')
        eq(fetch(ctx, scheme, proxied, "/redirect/305").status, 404)
    each_mode(one)


def _chunk_reads(sock, req, timeout=10):
    """Sends req, reads until the chunked terminator; (times of reads, data)."""
    sock.settimeout(timeout)
    sock.sendall(req)
    t0 = time.monotonic()
    times, data = [], b""
    while not data.endswith(b"\r\n0\r\n\r\n"):
        d = sock.recv(65536)
        if not d:
            break
        times.append(time.monotonic() - t0)
        data += d
    return times, data


def test_chunked(ctx):
    host = "127.0.0.1:%d" % ctx.http_port
    for proxied in (False, True):
        s = socket.create_connection(("127.0.0.1", ctx.lucent.port if proxied else ctx.http_port), timeout=10)
        try:
            target = ("http://%s/chunked" % host) if proxied else "/chunked"
            times, data = _chunk_reads(s, ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, host)).encode())
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        check(re.search(rb"(?im)^transfer-encoding: chunked\r?$", head), "chunked head: %r" % head)
        eq(body.count(b'class="chunk"'), 10, "chunks in the body")
        check(len(times) >= 4, "the body came in one piece (%d reads, %r)%s" % (len(times), times,
                                                                             " via lucent" if proxied else ""))
        check(times[-1] - times[0] >= 0.7, "chunks spread over time: %r" % times)
    def one(scheme, proxied):
        t0 = time.monotonic()
        r = fetch(ctx, scheme, proxied, "/chunked")
        eq(r.status, 200)
        eq(r.h("transfer-encoding"), "chunked")
        eq(r.text.count('class="chunk"'), 10)
        contains(r.text, 'id="done"')
        check(time.monotonic() - t0 >= 0.8, "10 chunks take about a second")
    each_mode(one)


def test_slow(ctx):
    def one(scheme, proxied):
        t0 = time.monotonic()
        r = fetch(ctx, scheme, proxied, "/slow?ms=600")
        took = time.monotonic() - t0
        eq(r.status, 200)
        contains(r.text, '<b id="waited">600</b>')
        check(took >= 0.6, "answered after %.3f s" % took)
        eq(fetch(ctx, scheme, proxied, "/slow?ms=soon").status, 400)
    each_mode(one)


def _check_png(data, n):
    check(data.startswith(b"\x89PNG\r\n\x1a\n"), "PNG signature of %d" % n)
    pos, chunks = 8, []
    while pos < len(data):
        ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + ln]
        crc = struct.unpack(">I", data[pos + 8 + ln:pos + 12 + ln])[0]
        eq(zlib.crc32(typ + payload) & 0xffffffff, crc, "CRC of %s in %d" % (typ, n))
        chunks.append((typ, payload))
        pos += 12 + ln
    eq([c[0] for c in chunks], [b"IHDR", b"IDAT", b"IEND"])
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[0][1][:10])
    eq((w, h, depth, ctype), (16, 16, 8, 2))
    eq(len(zlib.decompress(chunks[1][1])), 16 * (1 + 16 * 3))


def test_many(ctx):
    def one(scheme, proxied):
        r = fetch(ctx, scheme, proxied, "/many")
        eq(r.status, 200)
        srcs = re.findall(r'<img src="(/res/\d+\.png)"', r.text)
        eq(len(srcs), 50)
        eq(len(set(srcs)), 50)
        # all 50 over one keep-alive connection
        extra = ["--cacert", ctx.ca] if scheme == "https" else []
        args = []
        for i, src in enumerate(srcs):
            args += ["-o", os.path.join(ctx.tmp, "res-%s-%d-%d.png" % (scheme, proxied, i)), base(ctx, scheme) + src]
        c = H.curl(ctx.lucent if proxied else None, *extra, "-w", "%{http_code} %{num_connects}\n", *args)
        eq(c.rc, 0, c.err)
        lines = c.text.split()
        eq(lines[0::2], ["200"] * 50)
        eq(lines[1::2], ["1"] + ["0"] * 49, "one connection, reused")
        blobs = set()
        for i in range(50):
            with open(os.path.join(ctx.tmp, "res-%s-%d-%d.png" % (scheme, proxied, i)), "rb") as f:
                data = f.read()
            _check_png(data, i)
            blobs.add(data)
        check(len(blobs) > 40, "images differ")
        r = fetch(ctx, scheme, proxied, "/res/7.png?delay=150")
        eq(r.h("content-type"), "image/png")
        eq(fetch(ctx, scheme, proxied, "/many?delay=200").text.count('.png?delay=200"'), 50)
    each_mode(one)


def test_json_api(ctx):
    def one(scheme, proxied):
        r = fetch(ctx, scheme, proxied, "/api/items")
        eq(r.status, 200)
        eq(r.h("content-type"), "application/json")
        items = json.loads(r.body)
        check(isinstance(items, list) and all(set(i) == {"id", "name"} for i in items), "list %r" % items)
        name = "tea \u00e9 %s %d \"q\"" % (scheme, proxied)
        r = fetch(ctx, scheme, proxied, "/api/items", "-H", "Content-Type: application/json",
                  "--data-binary", json.dumps({"name": name}))
        eq(r.status, 201)
        item = json.loads(r.body)
        eq(item["name"], name)
        eq(r.h("location"), "/api/items/%d" % item["id"])
        r = fetch(ctx, scheme, proxied, "/api/items/%d" % item["id"])
        eq(json.loads(r.body), item)
        check(item in json.loads(fetch(ctx, scheme, proxied, "/api/items").body), "the new item is listed")
        r = fetch(ctx, scheme, proxied, "/api/items/%d" % item["id"], "-X", "DELETE")
        eq(r.status, 204)
        eq(r.body, b"")
        eq(fetch(ctx, scheme, proxied, "/api/items/%d" % item["id"]).status, 404)
        eq(fetch(ctx, scheme, proxied, "/api/items/%d" % item["id"], "-X", "DELETE").status, 404)
        check(item not in json.loads(fetch(ctx, scheme, proxied, "/api/items").body), "deleted")
        r = fetch(ctx, scheme, proxied, "/api/items", "-H", "Content-Type: application/json", "--data-binary", "{nope")
        eq(r.status, 400)
        contains(json.loads(r.body)["error"], "not JSON")
        r = fetch(ctx, scheme, proxied, "/api/items", "-H", "Content-Type: application/json",
                  "--data-binary", '{"name": 3}')
        eq(r.status, 400)
        r = fetch(ctx, scheme, proxied, "/api/items", "-X", "PUT", "--data-binary", "{}")
        eq(r.status, 405)
        eq(r.h("allow"), "GET, HEAD, POST")
        r = fetch(ctx, scheme, proxied, "/app")
        contains(r.text, "XMLHttpRequest")
        contains(r.text, "fetch(")
    each_mode(one)


# ---- WebSocket: a raw-socket client ----------------------------------------

class Ws:
    def __init__(self, ctx, scheme, proxied):
        port = ctx.http_port if scheme == "http" else ctx.https_port
        host = "127.0.0.1:%d" % port
        if proxied:
            s = socket.create_connection(("127.0.0.1", ctx.lucent.port), timeout=10)
            if scheme == "https":
                s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (host, host)).encode())
                head = self._head(s)
                check(head.startswith(b"HTTP/1.1 200"), "CONNECT: %r" % head)
        else:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if scheme == "https":
            c = ssl.create_default_context(cafile=ctx.ca)
            s = c.wrap_socket(s, server_hostname="127.0.0.1")
        s.settimeout(10)
        self.s = s
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        target = "http://%s/ws" % host if proxied and scheme == "http" else "/ws"
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "Origin: http://%s\r\n\r\n" % (target, host, key, host)).encode())
        head = self._head(s).decode("latin-1")
        check(head.startswith("HTTP/1.1 101 "), "handshake answer: %r" % head)
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        m = re.search(r"(?im)^sec-websocket-accept: *(\S+)\r?$", head)
        check(m and m.group(1) == want, "Sec-WebSocket-Accept in %r (want %s)" % (head, want))
        check(re.search(r"(?im)^upgrade: *websocket\r?$", head), "Upgrade header")

    def _head(self, s):
        data = b""
        while b"\r\n\r\n" not in data:
            d = s.recv(1)      # byte by byte: nothing after the head is read
            if not d:
                raise H.TestFailure("connection closed in the head: %r" % data)
            data += d
        return data

    def send(self, op, payload, fin=True, mask=True):
        hdr = bytes([(0x80 if fin else 0) | op])
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            hdr += bytes([mbit | n])
        elif n < 65536:
            hdr += bytes([mbit | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([mbit | 127]) + struct.pack(">Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            hdr += key
        self.s.sendall(hdr + payload)

    def _need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise H.TestFailure("connection closed while reading a frame")
            self.buf += d

    def recv(self):
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        check(not b1 & 0x80, "server frames are not masked")
        n, pos = b1 & 0x7f, 2
        if n == 126:
            self._need(4)
            n, pos = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, pos = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(pos + n)
        payload = self.buf[pos:pos + n]
        self.buf = self.buf[pos + n:]
        return bool(b0 & 0x80), b0 & 0x0f, payload

    def eof(self):
        try:
            return self.s.recv(1) == b"" and not self.buf
        except (ssl.SSLError, ConnectionResetError):
            return False

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def test_websocket_echo(ctx):
    def one(scheme, proxied):
        ws = Ws(ctx, scheme, proxied)
        try:
            text = "h\u00e9llo from python %s" % scheme
            ws.send(1, text.encode())
            eq(ws.recv(), (True, 1, text.encode()), "text echo")
            big = os.urandom(70000)        # a 64-bit length, masked
            ws.send(2, big)
            eq(ws.recv(), (True, 2, big), "binary echo")
            mid = os.urandom(300)          # a 16-bit length
            ws.send(2, mid)
            eq(ws.recv(), (True, 2, mid))
            ws.send(1, b"frag", fin=False)    # a fragmented message, a ping in between
            ws.send(0, b"mented ", fin=False)
            ws.send(9, b"ping-1")
            eq(ws.recv(), (True, 10, b"ping-1"), "pong with the ping's payload")
            ws.send(0, b"text")
            eq(ws.recv(), (True, 1, b"fragmented text"), "reassembled message")
            ws.send(8, struct.pack(">H", 1000) + b"bye")
            try:
                fin, op, payload = ws.recv()
            except H.TestFailure:
                # the demo sends its close frame and closes at once; a tunnel that
                # half-closes the client's TLS side before that frame's ciphertext
                # was written loses it
                raise H.TestFailure("the close frame sent right before the server's close was lost")
            eq(op, 8, "close answered with close")
            eq(payload[:2], struct.pack(">H", 1000))
            check(ws.eof(), "the server closes the TCP connection after the close handshake")
        finally:
            ws.close()
    each_mode(one)
    # protocol errors: an unmasked frame, bad UTF-8
    for payload, mask, op, code in ((b"x", False, 1, 1002), (b"\xff\xfe", True, 1, 1007)):
        ws = Ws(ctx, "http", False)
        try:
            ws.send(op, payload, mask=mask)
            fin, rop, p = ws.recv()
            eq((rop, struct.unpack(">H", p[:2])[0]), (8, code), "close code")
            check(ws.eof(), "closed after the protocol error")
        finally:
            ws.close()
    # a plain GET /ws and a bad version
    r = fetch(ctx, "http", False, "/ws")
    eq(r.status, 426)
    r = fetch(ctx, "http", False, "/ws", "-H", "Upgrade: websocket", "-H", "Connection: Upgrade",
              "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", "Sec-WebSocket-Version: 8")
    eq(r.status, 426)
    eq(r.h("sec-websocket-version"), "13")
    r = fetch(ctx, "https", True, "/ws-page")
    contains(r.text, "new WebSocket(")


def test_upload_expect_100_continue(ctx):
    path = os.path.join(ctx.tmp, "upload.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(300000))
    def one(scheme, proxied):
        r = fetch(ctx, scheme, proxied, "/upload", "-v", "-H", "Expect: 100-continue",
                  "-F", "comment=hello there", "-F", "file=@%s;type=application/x-demo" % path)
        eq(r.status, 200)
        contains(r.err, "> Expect: 100-continue")
        contains(r.err, "< HTTP/1.1 100 Continue")   # from the demo, or from lucent when proxied
        if not proxied:
            contains(r.text, "got <code>100 Continue</code> before it sent the body")
        contains(r.text, '<b id="parts">2</b>')
        total = int(re.search(r'<b id="total">(\d+)</b>', r.text).group(1))
        check(300000 < total < 301000, "body size %d" % total)
        contains(r.text, '<tr><td class="name">comment</td><td></td><td></td><td class="size">11</td></tr>')
        contains(r.text, '<tr><td class="name">file</td><td>upload.bin</td><td>application/x-demo</td>'
                         '<td class="size">300000</td></tr>')
        r = fetch(ctx, scheme, proxied, "/upload")
        contains(r.text, 'enctype="multipart/form-data"')
        r = fetch(ctx, scheme, proxied, "/upload", "-d", "a=b")
        eq(r.status, 415)
    each_mode(one)
    # chunked, no Expect
    r = fetch(ctx, "http", False, "/upload", "-H", "Transfer-Encoding: chunked", "-F", "x=1234567")
    eq(r.status, 200)
    contains(r.text, "sent chunked")
    contains(r.text, '<td class="name">x</td><td></td><td></td><td class="size">7</td>')
    # too large: refused before the body, without 100 Continue
    big = os.path.join(ctx.tmp, "big.bin")
    with open(big, "wb") as f:
        f.write(b"\0" * (2 * 1024 * 1024))
    r = fetch(ctx, "http", False, "/upload", "-v", "-H", "Expect: 100-continue", "-F", "file=@" + big)
    eq(r.status, 413)
    check("< HTTP/1.1 100 Continue" not in r.err, "no 100 Continue for a body that is refused")


def test_forms_and_headers(ctx):
    def one(scheme, proxied):
        r = fetch(ctx, scheme, proxied, "/forms")
        contains(r.text, 'method="get" action="/forms/result"')
        contains(r.text, 'method="post" action="/forms/result"')
        r = fetch(ctx, scheme, proxied, "/forms/result?name=Ada&colour=green+%26+blue")
        contains(r.text, '<b id="method">GET</b>')
        contains(r.text, "<td>colour</td><td>green &amp; blue</td>")
        r = fetch(ctx, scheme, proxied, "/forms/result", "-d", "name=Ada&colour=red")
        contains(r.text, '<b id="method">POST</b>')
        contains(r.text, "<td>colour</td><td>red</td>")
        contains(r.text, "application/x-www-form-urlencoded")
        r = fetch(ctx, scheme, proxied, "/headers", "-H", "X-Lesson: one")
        contains(r.text, "GET /headers HTTP/1.1\n")
        contains(r.text, "X-Lesson: one\n")
        contains(r.text, "over TLS" if scheme == "https" else "over plain TCP")
    each_mode(one)


def test_flows_recorded(ctx):
    # what the class sees: lucent recorded the demo exchanges, HTTPS intercepted
    url = "https://127.0.0.1:%d/cache/no-store" % ctx.https_port
    fetch(ctx, "https", True, "/cache/no-store")
    f = ctx.lucent.wait_flow(lambda f: f.get("url") == url, 10)
    check(f, "no flow for %s:\n%s" % (url, ctx.lucent.flow_text()[-2000:]))
    eq(f["status"], 200)
    eq(f["tls"], True)
    eq(f["error"], None)


def test_demo_port_option_and_errors(ctx):
    for _ in range(20):
        p = H.free_port(("127.0.0.1",))
        if p < 65535 and _port_free(p + 1):
            break
    lu = H.Lucent(["--demo-port", str(p)])
    try:
        eq(demo_ports(lu), (p, p + 1))
        r = H.curl(None, "--cacert", lu.ca_cert, "https://127.0.0.1:%d/status/201" % (p + 1), "-o", "/dev/null",
                   "-w", "%{http_code}")
        eq(r.text, "201")
    finally:
        lu.stop()
    # taken port: a clear error, exit status 2
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    try:
        bp = blocker.getsockname()[1]
        rc, out, err = H.run_lucent_cmd(["--demo-port", str(bp), "-p", "0", "--headless"])
        eq(rc, 2, err)
        contains(err, "demo site: cannot listen on 127.0.0.1:%d" % bp)
    finally:
        blocker.close()
    for args, msg in ((["--demo-port", "65535"], "--demo-port"), (["--demo-port", "x"], "--demo-port"),
                      (["demo", "extra"], "unexpected argument 'extra'")):
        rc, out, err = H.run_lucent_cmd(args)
        eq(rc, 2, err)
        contains(err, msg)
    rc, out, err = H.run_lucent_cmd(["--help"])
    contains(out, "--demo-port")
    # no demo unless asked
    contains(ctx.lucent.stderr(), "demo site on")
    lu = H.Lucent([])
    try:
        check("demo site" not in lu.stderr(), "no demo without `demo`")
    finally:
        lu.stop()


def _port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---- a real browser -------------------------------------------------------------

def _chromium(ctx, url, home=None, budget_ms=8000):
    exe = B.chromium_binary()
    check(exe, "chromium is not available: %s" % os.environ.get(B.CHROMIUM_ERR_ENV, "not installed"))
    udd = H.mktemp("lucent-e2e-chromium-")
    # <-loopback>: Chromium would otherwise never send 127.0.0.1 through a proxy
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--disable-extensions", "--no-default-browser-check",
           "--user-data-dir=" + udd, "--proxy-server=http://127.0.0.1:%d" % ctx.lucent.port,
           "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=%d" % budget_ms, "--dump-dom", url]
    p = H._register_proc(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=dict(os.environ, HOME=home or udd),
                                          start_new_session=True))
    try:
        out, err = p.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, 9)
        except OSError:
            p.kill()
        out, err = p.communicate(timeout=10)
        raise AssertionError("chromium did not finish within 45 s; stderr:\n%s" % err.decode(errors="replace")[-2000:])
    finally:
        try:
            os.killpg(p.pid, 9)     # leftover helpers of our own chromium
        except OSError:
            pass
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def test_chromium_app_and_ws_page(ctx):
    url = base(ctx, "http") + "/app"
    dom, err = _chromium(ctx, url)
    items = re.findall(r'<li class="item">([^<]*)<button>delete</button></li>', dom)
    check("apples " in items and "coffee " in items,
          "items rendered by the script in %s:\n%s\nchromium stderr: %s" % (url, dom[-2000:], err[-1500:]))
    check(re.search(r"XMLHttpRequest loaded \d+ items", dom), "XHR status line: %s" % dom[-1500:])
    check(re.search(r"fetch saw \d+ items", dom), "fetch status line: %s" % dom[-1500:])
    api = base(ctx, "http") + "/api/items"
    f = ctx.lucent.wait_flow(lambda f: f.get("url") == api and any(
        k.lower() == "user-agent" and "Chrome" in v for k, v in f.get("request_headers", [])), 10)
    check(f, "the browser's API calls went through lucent:\n%s" % ctx.lucent.flow_text()[-2000:])
    # the WebSocket page over HTTPS, intercepted by lucent, the browser trusting lucent's CA
    home = B._nss_home(True, ctx.ca)
    url = base(ctx, "https") + "/ws-page"
    dom, err = _chromium(ctx, url, home=home)
    contains(dom, "<li>echo: hello from the browser</li>",
             "the echo on %s (chromium stderr: %s)" % (url, err[-1500:]))
    f = ctx.lucent.wait_flow(lambda f: f.get("url") == "https://127.0.0.1:%d/ws" % ctx.https_port, 10)
    check(f, "the WebSocket upgrade went through lucent:\n%s" % ctx.lucent.flow_text()[-2000:])
    eq(f["status"], 101)


if __name__ == "__main__":
    if not H.isolated():
        B.ensure_chromium()
        B.ensure_certutil()
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)

"""Basic forward-proxy behaviour of lucent, driven by real curl.

Covers: GET of 1 KiB / 64 KiB / multi-MiB files from nginx (byte-exact,
sha256), HEAD (no body, also on a reused raw connection), conditional 304
via If-Modified-Since and If-None-Match, 404, query strings forwarded in
origin-form, POST body delivered intact to a Python origin, keep-alive reuse
(curl reports "Re-using existing connection" and the origin sees one TCP
connection for two requests), an HTTP/1.0 client (curl -0), the per-flow log
line on stdout, --listen-host ::1, an IPv6-only origin (v6.test -> ::1).

Run: python3 tests/e2e/test_basic.py --lucent build/lucent
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402


def setup():
    ctx = H.Ctx()
    ctx.nginx = H.Nginx()
    ctx.lucent = H.Lucent()
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests")
    ctx.lucent.stop()


def _get_file(ctx, name):
    r = H.curl(ctx.lucent, "-o", "-", ctx.nginx.url("/" + name))
    eq(r.rc, 0, "curl exit status (%s)" % r.err)
    want = ctx.nginx.files[name]
    eq(len(r.out), len(want), "body length of " + name)
    eq(H.sha256(r.out), H.sha256(want), "sha256 of " + name)


def test_get_1k(ctx):
    _get_file(ctx, "1k.bin")


def test_get_64k(ctx):
    _get_file(ctx, "64k.bin")


def test_get_big(ctx):
    _get_file(ctx, "big.bin")


def test_get_big_repeated_same_connection(ctx):
    url = ctx.nginx.url("/big.bin")
    r = H.curl(ctx.lucent, "-o", "-", url, "-o", "-", url, max_time=40)
    eq(r.rc, 0, "curl exit status (%s)" % r.err)
    want = ctx.nginx.files["big.bin"]
    eq(H.sha256(r.out), H.sha256(want + want), "two big bodies back to back")


def test_head_curl(ctx):
    r = H.curl(ctx.lucent, "-I", ctx.nginx.url("/64k.bin"))
    eq(r.rc, 0, r.err)
    t = r.text
    check(re.match(r"HTTP/1\.[01] 200", t), "status line: %r" % t[:100])
    check(re.search(r"(?im)^content-length: 65536\r?$", t), "Content-Length of HEAD: %r" % t)


def test_head_raw_no_body(ctx):
    # HEAD then GET on the same client connection: a body leaked after HEAD
    # would corrupt the second response.
    a = "a.test:%d" % ctx.nginx.port
    c = H.RawClient(ctx.lucent.port)
    try:
        m = c.request(H.get_request(a, "/64k.bin", method="HEAD"), "HEAD")
        eq(m.status, 200)
        eq(m.get("Content-Length"), "65536")
        eq(m.body, b"")
        m2 = c.request(H.get_request(a, "/hello.txt"))
        eq(m2.status, 200)
        eq(m2.body, H.HELLO_TXT)
    finally:
        c.close()


def test_304_if_modified_since(ctx):
    r = H.curl(ctx.lucent, "-I", ctx.nginx.url("/hello.txt"))
    m = re.search(r"(?im)^last-modified: (.+?)\r?$", r.text)
    check(m, "no Last-Modified in %r" % r.text)
    r = H.curl(ctx.lucent, "-o", "-", "-D", "-", "-H", "If-Modified-Since: " + m.group(1),
               ctx.nginx.url("/hello.txt"))
    eq(r.rc, 0, r.err)
    check(re.match(rb"HTTP/1\.1 304", r.out), "expected 304, got %r" % r.out[:200])
    check(r.out.endswith(b"\r\n\r\n"), "304 must not carry a body: %r" % r.out[-100:])


def test_304_if_none_match(ctx):
    r = H.curl(ctx.lucent, "-I", ctx.nginx.url("/1k.bin"))
    m = re.search(r'(?im)^etag: (".+?")\r?$', r.text)
    check(m, "no ETag in %r" % r.text)
    # raw: 304 then another request on the same connection
    a = "a.test:%d" % ctx.nginx.port
    c = H.RawClient(ctx.lucent.port)
    try:
        resp = c.request(H.get_request(a, "/1k.bin", "If-None-Match: %s\r\n" % m.group(1)))
        eq(resp.status, 304)
        eq(resp.body, b"")
        resp = c.request(H.get_request(a, "/hello.txt"))
        eq(resp.status, 200)
        eq(resp.body, H.HELLO_TXT)
    finally:
        c.close()


def test_404(ctx):
    r = H.curl(ctx.lucent, "-o", "/dev/null", "-w", "%{http_code}", ctx.nginx.url("/does-not-exist"))
    eq(r.rc, 0, r.err)
    eq(r.text, "404")


def test_query_string_forwarded(ctx):
    r = H.curl(ctx.lucent, "-o", "-", ctx.nginx.url("/hello.txt?a=1&b=two%20x"))
    eq(r.rc, 0, r.err)
    eq(r.out, H.HELLO_TXT)
    ok = H.wait_until(lambda: '"GET /hello.txt?a=1&b=two%20x HTTP/1.1"' in ctx.nginx.access_log(), 5)
    check(ok, "nginx did not see origin-form request line with query:\n" + ctx.nginx.access_log()[-1500:])


def test_post_body_intact():
    o = H.Origin(H.handler_fixed(body=lambda req: H.sha256(req.body).encode()))
    lu = H.Lucent()
    try:
        d = H.mktemp()
        body = os.urandom(200 * 1024)
        p = os.path.join(d, "post.bin")
        with open(p, "wb") as f:
            f.write(body)
        r = H.curl(lu, "--data-binary", "@" + p, "-H", "Content-Type: application/octet-stream",
                   o.url("/upload?x=1"))
        eq(r.rc, 0, r.err)
        eq(r.text, H.sha256(body), "origin-computed sha256 echoed back")
        check(o.wait_requests(1), "origin saw no request")
        req = o.requests[0]
        eq(req.start_line, "POST /upload?x=1 HTTP/1.1")
        eq(req.body, body)
        eq(req.get("Content-Length"), str(len(body)))
        eq(req.get("Host"), o.authority())
    finally:
        lu.stop()
        o.stop()


def test_keepalive_reuse():
    o = H.Origin(H.handler_fixed())
    lu = H.Lucent()
    try:
        r = H.curl(lu, "-v", o.url("/one"), o.url("/two"))
        eq(r.rc, 0, r.err)
        eq(r.out, b"origin-ok\norigin-ok\n")
        contains(r.err, "Re-using existing connection", "curl did not reuse the proxy connection")
        check(o.wait_requests(2), "origin saw %d requests" % len(o.requests))
        eq([m.target for m in o.requests], ["/one", "/two"])
        eq(len(o.conns), 1, "origin TCP connections for two requests on one client connection")
    finally:
        lu.stop()
        o.stop()


def test_http10_client(ctx):
    r = H.curl(ctx.lucent, "-0", "-o", "-", "-D", "-", ctx.nginx.url("/hello.txt"))
    eq(r.rc, 0, r.err)
    check(r.out.endswith(b"\r\n\r\n" + H.HELLO_TXT), "body: %r" % r.out[-200:])
    check(not re.search(rb"(?im)^transfer-encoding: chunked", r.out), "chunked sent to HTTP/1.0 client")
    r = H.curl(ctx.lucent, "-0", "-o", "-", ctx.nginx.url("/64k.bin"))
    eq(r.rc, 0, r.err)
    eq(H.sha256(r.out), H.sha256(ctx.nginx.files["64k.bin"]))


def test_http10_raw_closes(ctx):
    c = H.RawClient(ctx.lucent.port)
    try:
        m = c.request(H.get_request("a.test:%d" % ctx.nginx.port, "/hello.txt", version="HTTP/1.0"))
        eq(m.status, 200)
        eq(m.body, H.HELLO_TXT)
        check(c.at_eof(5), "lucent kept an HTTP/1.0 connection (no keep-alive) open")
    finally:
        c.close()


def test_log_line_stdout(ctx):
    url = ctx.nginx.url("/1k.bin")
    r = H.curl(ctx.lucent, "-o", "/dev/null", url)
    eq(r.rc, 0, r.err)
    rx = (r"^127\.0\.0\.1:\d+ GET " + re.escape(url) +
          r" \u2192 200 OK [0-9]+(\.[0-9]+)? (B|KiB) [0-9]+(\.[0-9]+)? ms( \u00b7 .+)?$")
    line = ctx.lucent.wait_stdout(re.escape(url), 5)
    check(line, "no log line for %s on stdout:\n%s" % (url, ctx.lucent.stdout()[-2000:]))
    check(re.match(rx, line), "log line format: %r" % line)
    check(" 1.0 KiB " in line, "size of 1024-byte body rendered as 1.0 KiB: %r" % line)
    r = H.curl(ctx.lucent, "-o", "/dev/null", ctx.nginx.url("/nope-404"))
    line = ctx.lucent.wait_stdout(re.escape(ctx.nginx.url("/nope-404")), 5)
    check(line and re.search(r" \u2192 404 Not Found ", line), "404 log line: %r" % line)


def test_listen_host_ipv6(ctx):
    lu = H.Lucent(["--listen-host", "::1"])
    try:
        eq(lu.host, "::1")
        contains(lu.stderr(), "lucent: listening on [::1]:%d" % lu.port)
        r = H.curl("http://[::1]:%d" % lu.port, "-o", "-", ctx.nginx.url("/hello.txt"))
        eq(r.rc, 0, r.err)
        eq(r.out, H.HELLO_TXT)
        f = lu.wait_flow(lambda f: f.get("url") == ctx.nginx.url("/hello.txt"), 5)
        check(f, "no flow record")
        check(str(f.get("client", "")).startswith("[::1]:"), "client address %r" % f.get("client"))
    finally:
        lu.stop()


def test_ipv6_origin(ctx):
    url = ctx.nginx.url("/64k.bin", host="v6.test")
    r = H.curl(ctx.lucent, "-o", "-", url)
    eq(r.rc, 0, r.err)
    eq(H.sha256(r.out), H.sha256(ctx.nginx.files["64k.bin"]))
    f = ctx.lucent.wait_flow(lambda f: f.get("url") == url, 5)
    check(f, "no flow record for " + url)
    eq(f.get("server"), "[::1]:%d" % ctx.nginx.port, "server address of IPv6 origin")
    check(H.wait_until(lambda: "::1 - - " in ctx.nginx.access_log() and "GET /64k.bin" in ctx.nginx.access_log(), 5),
          "nginx did not log a request from ::1")


def test_ipv6_python_origin():
    o = H.Origin(H.handler_fixed(body=b"v6-origin\n"), host="::1")
    lu = H.Lucent()
    try:
        r = H.curl(lu, "-o", "-", "http://v6.test:%d/x" % o.port)
        eq(r.rc, 0, r.err)
        eq(r.out, b"v6-origin\n")
        eq(o.requests[0].get("Host"), "v6.test:%d" % o.port)
    finally:
        lu.stop()
        o.stop()


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)

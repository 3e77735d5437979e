"""The example scripts in scripts/, each run as `lucent -s scripts/NAME.lua`
and checked against what its header comment promises, through real curl ->
lucent -> origin (raw Python origins, nginx, and HTTPS interception where the
script is about it).

Covers: every example compiles and loads; add-headers (request field added
or replaced, response fields added, Server/X-Powered-By removed, also over
HTTPS and on a mocked reply); status-codes (404/500/503+Retry-After/418 by
path, origin never contacted for them, other paths pass; a failure rate of 1
from the environment fails everything else with 503); map-local (path and
full-URL patterns, captures, Content-Type by extension, query ignored, a host
that does not exist, missing file -> 404, '..' refused, unmapped paths pass);
map-remote (host:port and host keys, host:port and scheme://host:port
targets, Host rewritten, https -> http, the flow recorded with the new URL); cors (preflight answered 204 by lucent with the allow headers, simple
requests get Allow-Origin/Credentials/Expose-Headers/Vary, none without an
Origin, a non-preflight OPTIONS goes to the server); latency (host delay from
LUCENT_LATENCY, path delay, both add up); redact (the flow log shows
"[redacted]" for Cookie, Authorization and every Set-Cookie while origin and
client exchange the real values); json-rewrite (debug flag set, prices
scaled at any depth, gzip-encoded JSON decoded, identity-encoded result with
the right Content-Length, top-level arrays, non-JSON and invalid JSON left
alone, a body over --body-limit passed unchanged).

Run: python3 tests/e2e/test_script_examples.py --lucent build/lucent
"""

import gzip
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402
import scripting as S  # noqa: E402

NAMES = ["add-headers", "status-codes", "map-local", "map-remote", "cors", "latency", "redact", "json-rewrite"]


def setup():
    ctx = H.Ctx()
    ctx.sc = S.Scripts()
    ctx.pki = H.TestPKI("lucent examples e2e CA")
    ctx.cert = ctx.pki.issue("a.test", ["DNS:a.test", "DNS:b.test"])
    ctx.nginx = H.Nginx(tls=ctx.cert)
    ctx.tmp = H.mktemp("lsc-x-")
    return ctx


def example(name):
    return os.path.join(S.EXAMPLES, name + ".lua")


def start(ctx, name, env=None, args=(), workers=None):
    lu = ctx.sc.lucent([example(name)], ["--upstream-ca", ctx.pki.ca_cert] + list(args), env=env, workers=workers)
    lu.script = example(name)
    return lu


def stop(lu):
    check(lu.alive(), "lucent died; stderr:\n" + lu.stderr()[-3000:])
    errs = S.hook_errors(lu)
    check(not errs, "a hook of the example failed:\n" + "\n".join(errs[:10]))
    lu.stop()


def fetch(lu, *args, **kw):
    """curl -D - -o BODYFILE ...; returns (curl result, status, headers [(name, value)], body)."""
    body_path = os.path.join(H.mktemp("lsc-b-"), "body")
    r = H.curl(lu, "-sS", "-D", "-", "-o", body_path, *args, **kw)
    status, headers = None, []
    for ln in r.text.split("\r\n"):
        m = re.match(r"^HTTP/\d(?:\.\d)? (\d{3})", ln)
        if m:
            status, headers = int(m.group(1)), []   # the last response head wins
        elif ":" in ln and status is not None:
            k, _, v = ln.partition(":")
            headers.append((k, v.strip()))
    try:
        with open(body_path, "rb") as f:
            body = f.read()
    except FileNotFoundError:
        body = b""
    return r, status, headers, body


def hget(headers, name):
    vals = [v for k, v in headers if k.lower() == name.lower()]
    return vals[0] if vals else None


def hall(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def test_examples_compile_and_load(ctx):
    for n in NAMES:
        path = example(n)
        check(os.path.exists(path), "missing example " + path)
        with open(path) as f:
            text = f.read()
        check(re.search(r"(?m)^--\s+(\S+=\S+ )*lucent .*-s scripts/%s\.lua" % re.escape(n), text),
              "usage line 'lucent ... -s scripts/%s.lua' in the header comment" % n)
        if H.shutil.which("luac5.4"):
            p = subprocess.run(["luac5.4", "-p", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
            eq(p.returncode, 0, "luac5.4 -p %s: %s" % (n, p.stderr.decode(errors="replace")))
    # all of them at once in one lucent
    lu = ctx.sc.lucent([example(n) for n in NAMES], ["--upstream-ca", ctx.pki.ca_cert],
                       env={"LUCENT_MAP_LOCAL_DIR": ctx.tmp})
    try:
        r = H.curl(lu, "-o", "-", ctx.nginx.url("/hello.txt"))
        eq((r.rc, r.out), (0, H.HELLO_TXT), r.err)
        stop(lu)
    finally:
        lu.stop(check=False)


# ---------------------------------------------------------------------------
# add-headers.lua
# ---------------------------------------------------------------------------

def test_add_headers(ctx):
    o = H.Origin(H.handler_fixed(headers=[("Server", "py"), ("X-Powered-By", "PHP/8"), ("Content-Type", "text/plain"),
                                          ("X-Other", "kept")], body=b"hi\n"))
    lu = start(ctx, "add-headers")
    try:
        r, st, hs, body = fetch(lu, "-H", "X-Lucent-Seen: no", o.url("/a"))
        eq((r.rc, st, body), (0, 200, b"hi\n"), r.err)
        eq(hget(hs, "X-Lucent-Proxied"), "yes")
        eq(hget(hs, "Server"), None, "Server removed")
        eq(hget(hs, "X-Powered-By"), None, "X-Powered-By removed")
        eq(hget(hs, "X-Other"), "kept")
        eq(o.requests[0].get_all("X-Lucent-Seen"), ["yes"], "request field replaced")
        r, st, hs, body = fetch(lu, o.url("/b"))
        eq(o.requests[1].get_all("X-Lucent-Seen"), ["yes"], "request field added")
        # nginx, plain and HTTPS
        for url, extra in ((ctx.nginx.url("/hello.txt"), []),
                           (ctx.nginx.https_url("/hello.txt"), ["--cacert", lu.ca_cert])):
            r, st, hs, body = fetch(lu, *(extra + [url]))
            eq((r.rc, st, body), (0, 200, H.HELLO_TXT), r.err)
            eq(hget(hs, "Server"), None, "nginx's Server removed (%s)" % url)
            eq(hget(hs, "X-Lucent-Proxied"), "yes")
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# status-codes.lua
# ---------------------------------------------------------------------------

def test_status_codes(ctx):
    o = H.Origin(H.handler_fixed(body=b"real\n"))
    lu = start(ctx, "status-codes")
    try:
        for path, status in (("/missing", 404), ("/missing/deeper?x=1", 404), ("/boom", 500), ("/teapot", 418)):
            r, st, hs, body = fetch(lu, o.url(path))
            eq((r.rc, st), (0, status), "%s: %s" % (path, r.err))
            contains(body.decode("latin-1"), str(status), "%s: default body names the status" % path)
        r, st, hs, body = fetch(lu, o.url("/maintenance"))
        eq(st, 503)
        eq(hget(hs, "Retry-After"), "120")
        eq(body, b"down for maintenance, back soon\n")
        for path in ("/", "/ok", "/teapot/no", "/other/missing"):
            r, st, hs, body = fetch(lu, o.url(path))
            eq((st, body), (200, b"real\n"), "%s passes through" % path)
        eq([m.target for m in o.requests], ["/", "/ok", "/teapot/no", "/other/missing"],
           "the server saw only the unmatched requests")
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()
    o = H.Origin(H.handler_fixed(body=b"real\n"))
    lu = start(ctx, "status-codes", env={"LUCENT_FAILURE_RATE": "1"})
    try:
        for i in range(3):
            r, st, hs, body = fetch(lu, o.url("/any%d" % i))
            eq(st, 503, "failure rate 1: every request fails")
            eq(hget(hs, "Retry-After"), "5")
            contains(body.decode(), "simulated failure")
        r, st, hs, body = fetch(lu, o.url("/boom"))
        eq(st, 500, "rules come first")
        eq(len(o.requests), 0)
        S.wait_stderr(lu, r"failing http://a\.test:%d/any0 on purpose with 503" % o.port)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# map-local.lua
# ---------------------------------------------------------------------------

def test_map_local(ctx):
    d = H.mktemp("lsc-ml-")
    files = {
        "user.json": b'{"id": 1, "name": "local user"}\n',
        "static/app.js": b"console.log('local');\n",
        "static/css/site.css": b"body { color: red }\n",
        "index.html": b"<!doctype html><title>mock</title>\n",
        "static/logo.png": b"\x89PNG\r\n\x1a\nfake",
    }
    for name, data in files.items():
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    o = H.Origin(H.handler_fixed(body=b"from origin\n"))
    lu = start(ctx, "map-local", env={"LUCENT_MAP_LOCAL_DIR": d})
    try:
        cases = [
            (o.url("/api/user"), "user.json", "application/json"),
            (o.url("/api/user?page=2"), "user.json", "application/json"),
            (o.url("/static/app.js"), "static/app.js", "text/javascript"),
            (o.url("/static/css/site.css"), "static/css/site.css", "text/css"),
            (o.url("/static/logo.png"), "static/logo.png", "image/png"),
            ("http://mock.test/", "index.html", "text/html"),
        ]
        for url, name, ctype in cases:
            r, st, hs, body = fetch(lu, url)
            eq((r.rc, st), (0, 200), "%s: %s" % (url, r.err))
            eq(body, files[name], url)
            check((hget(hs, "Content-Type") or "").startswith(ctype), "%s: Content-Type %r" % (
                url, hget(hs, "Content-Type")))
            eq(hget(hs, "Content-Length"), str(len(files[name])))
            eq(hget(hs, "X-Lucent-Map-Local"), name)
        r, st, hs, body = fetch(lu, o.url("/static/nope.css"))
        eq(st, 404, "a mapped file that is missing -> 404")
        contains(body.decode(), "static/nope.css")
        r, st, hs, body = fetch(lu, "--path-as-is", o.url("/static/../user.json"))
        eq(st, 403, "'..' refused")
        r, st, hs, body = fetch(lu, o.url("/api/users"))
        eq((st, body), (200, b"from origin\n"), "unmapped paths go to the server")
        eq([m.target for m in o.requests], ["/api/users"], "the server saw only the unmapped request")
        S.wait_stderr(lu, r"map-local: http://a\.test:%d/static/nope\.css" % o.port)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# map-remote.lua
# ---------------------------------------------------------------------------

def test_map_remote(ctx):
    o1 = H.Origin(H.handler_fixed(body=b"one\n"))
    o2 = H.Origin(H.handler_fixed(body=b"two\n"))
    o3 = H.Origin(H.handler_fixed(body=b"three\n"))
    tls = ctx.nginx.tls_port
    mapping = "a.test:%d=b.test:%d,c.test=http://a.test:%d,a.test:%d=http://a.test:%d" % (
        o1.port, o2.port, o3.port, tls, o2.port)
    lu = start(ctx, "map-remote", env={"LUCENT_MAP_REMOTE": mapping})
    try:
        r = H.curl(lu, "-o", "-", o1.url("/x?y=1"))
        eq((r.rc, r.out), (0, b"two\n"), r.err)
        eq(o2.requests[0].start_line, "GET /x?y=1 HTTP/1.1")
        eq(o2.requests[0].get("Host"), "b.test:%d" % o2.port, "Host follows the new target")
        r = H.curl(lu, "-o", "-", "http://c.test:%d/y" % o1.port)
        eq((r.rc, r.out), (0, b"three\n"), r.err)
        eq(o3.requests[0].start_line, "GET /y HTTP/1.1")
        eq(o3.requests[0].get("Host"), "a.test:%d" % o3.port)
        r = H.curl(lu, "-o", "-", "http://b.test:%d/direct" % o1.port)
        eq((r.rc, r.out), (0, b"one\n"), "unmapped host:port goes where it was sent: %s" % r.err)
        # https -> plain http
        r = H.curl(lu, "--cacert", lu.ca_cert, "-o", "-", ctx.nginx.https_url("/tls?z=2"))
        eq((r.rc, r.out), (0, b"two\n"), r.err)
        eq(o2.requests[-1].start_line, "GET /tls?z=2 HTTP/1.1")
        eq(o2.requests[-1].get("Host"), "a.test:%d" % o2.port)
        eq([m.target for m in o1.requests], ["/direct"])
        f = lu.wait_flow(lambda f: f.get("url") == "http://b.test:%d/x?y=1" % o2.port, 5)
        check(f, "the flow is recorded with the new URL; flow log:\n" + lu.flow_text()[-2000:])
        stop(lu)
    finally:
        lu.stop(check=False)
        o1.stop()
        o2.stop()
        o3.stop()


# ---------------------------------------------------------------------------
# cors.lua
# ---------------------------------------------------------------------------

def test_cors(ctx):
    o = H.Origin(H.handler_fixed(headers=[("Content-Type", "application/json"), ("X-Total-Count", "7"),
                                          ("Vary", "Accept-Encoding")], body=b"[]"))
    lu = start(ctx, "cors")
    app = "http://app.test:3000"
    try:
        r, st, hs, body = fetch(lu, "-X", "OPTIONS", "-H", "Origin: " + app, "-H",
                                "Access-Control-Request-Method: PUT", "-H",
                                "Access-Control-Request-Headers: X-Token, Content-Type", o.url("/api/items"))
        eq((r.rc, st, body), (0, 204, b""), "preflight answered by lucent: %s" % r.err)
        eq(hget(hs, "Access-Control-Allow-Origin"), app)
        eq(hget(hs, "Access-Control-Allow-Credentials"), "true")
        contains(hget(hs, "Access-Control-Allow-Methods") or "", "PUT")
        eq(hget(hs, "Access-Control-Allow-Headers"), "X-Token, Content-Type")
        eq(hget(hs, "Access-Control-Max-Age"), "600")
        contains(hget(hs, "Vary") or "", "Origin")
        eq(len(o.requests), 0, "the server never saw the preflight")

        r, st, hs, body = fetch(lu, "-H", "Origin: " + app, o.url("/api/items"))
        eq((st, body), (200, b"[]"))
        eq(hget(hs, "Access-Control-Allow-Origin"), app)
        eq(hget(hs, "Access-Control-Allow-Credentials"), "true")
        eq(hall(hs, "Vary"), ["Accept-Encoding, Origin"])
        expose = [x.strip().lower() for x in (hget(hs, "Access-Control-Expose-Headers") or "").split(",")]
        check("x-total-count" in expose, "Expose-Headers lists the server's headers: %r" % expose)

        r, st, hs, body = fetch(lu, o.url("/api/items"))
        eq(st, 200)
        eq(hget(hs, "Access-Control-Allow-Origin"), None, "no Origin, no CORS headers")
        r, st, hs, body = fetch(lu, "-X", "OPTIONS", "-H", "Origin: " + app, o.url("/api/options"))
        eq((st, body), (200, b"[]"), "an OPTIONS that is no preflight goes to the server")
        eq(hget(hs, "Access-Control-Allow-Origin"), app)
        eq([(m.method, m.target) for m in o.requests],
           [("GET", "/api/items"), ("GET", "/api/items"), ("OPTIONS", "/api/options")])
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# latency.lua
# ---------------------------------------------------------------------------

def test_latency(ctx):
    o = H.Origin(H.handler_fixed(body=b"ok\n"))
    lu = start(ctx, "latency", env={"LUCENT_LATENCY": "a.test=700"})
    try:
        r = S.curl_timed(lu, "-o", "-", o.url("/host-delay"))
        eq((r.rc, r.out), (0, b"ok\n"), r.err)
        check(r.elapsed >= 0.7, "host delay 700 ms: %.3f s" % r.elapsed)
        r = S.curl_timed(lu, "-o", "-", "http://b.test:%d/slow/x" % o.port)
        eq((r.rc, r.out), (0, b"ok\n"), r.err)
        check(r.elapsed >= 1.0, "path delay 1000 ms: %.3f s" % r.elapsed)
        r = S.curl_timed(lu, "-o", "-", o.url("/slow/both"))
        eq((r.rc, r.out), (0, b"ok\n"), r.err)
        check(r.elapsed >= 1.7, "host + path delays add up: %.3f s" % r.elapsed)
        r = H.curl(lu, "-o", "-", "http://b.test:%d/fast" % o.port)
        eq((r.rc, r.out), (0, b"ok\n"), r.err)
        eq(len(o.requests), 4)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# redact.lua
# ---------------------------------------------------------------------------

def test_redact(ctx):
    o = H.Origin(H.handler_fixed(headers=[("Content-Type", "text/plain"), ("Set-Cookie", "sid=S3CRET1; HttpOnly"),
                                          ("Set-Cookie", "pref=dark"), ("X-Other", "visible")], body=b"ok\n"))
    lu = start(ctx, "redact")
    try:
        r, st, hs, body = fetch(lu, "-H", "Cookie: session=TOPSECRET", "-H", "Authorization: Bearer T0KEN",
                                "-H", "X-Api-Key: K3Y", "-H", "X-Plain: fine", o.url("/r"))
        eq((r.rc, st, body), (0, 200, b"ok\n"), r.err)
        eq(hall(hs, "Set-Cookie"), ["sid=S3CRET1; HttpOnly", "pref=dark"], "the client gets the real cookies")
        got = o.requests[0]
        eq(got.get("Cookie"), "session=TOPSECRET", "the server gets the real Cookie")
        eq(got.get("Authorization"), "Bearer T0KEN")
        eq(got.get("X-Api-Key"), "K3Y")
        f = lu.wait_flow(lambda f: f.get("url") == o.url("/r"), 5)
        check(f, "flow record")
        rq = dict((k.lower(), v) for k, v in f["request_headers"])
        eq(rq["cookie"], "[redacted]")
        eq(rq["authorization"], "[redacted]")
        eq(rq["x-api-key"], "[redacted]")
        eq(rq["x-plain"], "fine")
        eq([v for k, v in f["response_headers"] if k.lower() == "set-cookie"], ["[redacted]", "[redacted]"])
        eq([v for k, v in f["response_headers"] if k == "X-Other"], ["visible"])
        text = lu.flow_text()
        for secret in ("TOPSECRET", "T0KEN", "K3Y", "S3CRET1", "pref=dark"):
            check(secret not in text, "%s leaked into the flow log" % secret)
        check(not any(s in lu.stdout() for s in ("TOPSECRET", "T0KEN")), "secrets on stdout")
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# json-rewrite.lua
# ---------------------------------------------------------------------------

def test_json_rewrite(ctx):
    doc = {"name": "widget", "price": 40, "debug": False, "nothing": None, "empty": [], "obj": {},
           "items": [{"price": 19.99, "qty": 2}, {"price": 3}], "label": "price"}
    bodies = {
        "/obj": ("application/json", json.dumps(doc).encode(), None),
        "/gz": ("application/json; charset=utf-8", gzip.compress(json.dumps(doc).encode(), mtime=0), "gzip"),
        "/arr": ("application/json", b'[{"price": 10}, {"price": 7}]', None),
        "/text": ("text/plain", b'{"price": 10}', None),
        "/bad": ("application/json", b'{"price": 10', None),
    }

    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            ctype, body, enc = bodies[req.target]
            hs = [("Content-Type", ctype)]
            if enc:
                hs.append(("Content-Encoding", enc))
            c.respond(200, "OK", hs, body)
    o = H.Origin(h)
    lu = start(ctx, "json-rewrite")
    try:
        for path in ("/obj", "/gz"):
            r, st, hs, body = fetch(lu, o.url(path))
            eq((r.rc, st), (0, 200), r.err)
            eq(hget(hs, "Content-Encoding"), None, "%s: identity-encoded" % path)
            eq(hget(hs, "Content-Length"), str(len(body)))
            got = json.loads(body)
            eq(got["debug"], True, "%s: debug set" % path)
            eq(got["price"], 20, "%s: price halved" % path)
            check(isinstance(got["price"], int), "20, not 20.0: %r" % body)
            check(abs(got["items"][0]["price"] - 9.995) < 1e-9, "nested price: %r" % got["items"])
            eq(got["items"][0]["qty"], 2)
            eq(got["items"][1]["price"], 1.5)
            eq((got["name"], got["nothing"], got["empty"], got["obj"], got["label"]),
               ("widget", None, [], {}, "price"), "%s: other fields kept: %r" % (path, body))
        r, st, hs, body = fetch(lu, o.url("/arr"))
        eq(json.loads(body), [{"price": 5}, {"price": 3.5}], "top-level array: prices, no debug field")
        r, st, hs, body = fetch(lu, o.url("/text"))
        eq(body, b'{"price": 10}', "not JSON by Content-Type: untouched")
        r, st, hs, body = fetch(lu, o.url("/bad"))
        eq(body, b'{"price": 10', "invalid JSON: untouched")
        S.wait_stderr(lu, r"json-rewrite: not JSON: http://a\.test:%d/bad" % o.port)
        stop(lu)
    finally:
        lu.stop(check=False)
    # over --body-limit: streamed through untouched
    big = json.dumps({"price": 10, "pad": "x" * 4000}).encode()
    bodies["/big"] = ("application/json", big, None)
    lu = start(ctx, "json-rewrite", args=["--body-limit", "1k"])
    try:
        r, st, hs, body = fetch(lu, o.url("/big"))
        eq((r.rc, st), (0, 200), r.err)
        eq(body, big, "a JSON body over --body-limit passes unchanged")
        r, st, hs, body = fetch(lu, o.url("/arr"))
        eq(json.loads(body), [{"price": 5}, {"price": 3.5}], "small bodies are still rewritten")
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup)

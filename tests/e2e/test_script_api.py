"""The Lua scripting API of lucent (-s FILE), end to end: real clients ->
lucent -> nginx or a raw Python origin, checking what the origin received and
what the client got.

Covers: every hook called once, in order, for a plain request, a failing one
(error before done), a flow:respond() reply (responseheaders/response run for
it too) and an intercepted HTTPS request (connect first); load() at start and
unload() at shutdown; flow ids equal the flow log's; every flow field read
(id, client, server, tls, error, state kept across one flow's hooks and fresh
for the next; request method, scheme, host, port, path, query, url,
http_version, headers, body, raw_body, streamed; response status, reason,
http_version, headers, body, raw_body); a script whose hooks only read
leaves the bytes on the wire as they were; writes of method, path, query (keys
sorted), headers (replace keeps the position, a list sets several, nil
removes all, add appends, get_all, case-insensitive lookup, pairs in wire
order, #h) checked byte-exactly at the origin and at the client; request and
response body rewrites (identity-encoded, Content-Length right,
Content-Encoding and Transfer-Encoding gone); gzip bodies seen decoded in body
and as on the wire in raw_body (a Python origin and nginx with gzip on);
re-targeting by port, host and url; response status/reason/body rewrites;
flow:respond() with and without headers/body (upstream never contacted, 204
without a body, reason set in responseheaders); flow:delay() (adds up, in
request and response hooks, holds only its own flow); flow:kill() in request
and response hooks (empty reply, flow error "killed by script"); the connect
hook (fields, respond 403 refuses the tunnel without contacting the server);
request/response streaming on demand (stream = true -> body nil, streamed);
edits in error()/done() change only the flow record (not the wire);
lucent.log/json/url/base64 from a script; the main cases again over HTTPS
interception (tls true, scheme https, header edits byte-exact at a TLS
origin, body rewrite, respond, kill, https -> http re-target, gzip from
nginx over TLS).

Run: python3 tests/e2e/test_script_api.py --lucent build/lucent
"""

import base64
import gzip
import os
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402
import scripting as S  # noqa: E402


def setup():
    ctx = H.Ctx()
    ctx.sc = S.Scripts()
    ctx.pki = H.TestPKI("lucent script e2e CA")
    ctx.cert = ctx.pki.issue("a.test", ["DNS:a.test", "DNS:b.test"])
    ctx.nginx = H.Nginx(tls=ctx.cert, extra_http="gzip on; gzip_min_length 1; gzip_types text/plain;")
    ctx.tmp = H.mktemp("lsc-t-")
    ctx.n = 0
    return ctx


def start(ctx, text, args=(), env=None, workers=1, **kw):
    path = ctx.sc.write(text)
    lu = ctx.sc.lucent([path], ["--upstream-ca", ctx.pki.ca_cert] + list(args), env=env, workers=workers, **kw)
    lu.script = path
    return lu


def stop(lu):
    """Stops lucent, asserting a clean exit and no Lua error on stderr."""
    check(lu.alive(), "lucent died; stderr:\n" + lu.stderr()[-3000:])
    lu.stop()


def no_script_errors(lu):
    errs = S.hook_errors(lu)
    check(not errs, "unexpected script errors on stderr:\n" + "\n".join(errs[:10]))


def b64d(s):
    return None if s is None else base64.b64decode(s)


def gz(data):
    return gzip.compress(data, mtime=0)


def flow_by_id(lu, fid, timeout=10):
    f = lu.wait_flow(lambda f: f.get("id") == fid, timeout)
    check(f, "no flow record with id %r; flow log:\n%s" % (fid, lu.flow_text()[-3000:]))
    return f


def https(ctx, path="/", name="main", host="a.test"):
    return ctx.nginx.https_url(path, host, name)


# ---------------------------------------------------------------------------
# hooks and their order
# ---------------------------------------------------------------------------

HOOK_ORDER = r"""
local function note(flow, name)
    emit("hook", {name = name, id = flow.id, method = flow.request.method, path = flow.request.path,
                  host = flow.request.host, port = flow.request.port})
end
function load() emit("hook", {name = "load"}) end
function unload() emit("hook", {name = "unload"}) end
function connect(flow) note(flow, "connect") end
function requestheaders(flow) note(flow, "requestheaders") end
function request(flow)
    note(flow, "request")
    if flow.request.path == "/mock" then
        flow:respond(200, {["Content-Type"] = "text/plain"}, "mocked\n")
    end
end
function responseheaders(flow) note(flow, "responseheaders") end
function response(flow) note(flow, "response") end
function error(flow)
    emit("hook", {name = "error", id = flow.id, path = flow.request.path, err = flow.error})
end
function done(flow) note(flow, "done") end
"""


def _names_for(lu, pred):
    return [e["name"] for e in S.emits(lu, "hook") if e.get("id") is not None and pred(e)]


def test_hook_order(ctx):
    o = H.Origin(H.handler_fixed(body=b"unused\n"))
    dead = H.free_port()
    lu = start(ctx, HOOK_ORDER)
    try:
        S.wait_emits(lu, "hook", 1)
        eq([e["name"] for e in S.emits(lu, "hook")], ["load"], "load() once at start (one worker)")

        # plain request
        r = H.curl(lu, "-o", "-", ctx.nginx.url("/hello.txt"))
        eq(r.rc, 0, r.err)
        eq(r.out, H.HELLO_TXT)
        H.wait_until(lambda: "done" in _names_for(lu, lambda e: e.get("path") == "/hello.txt"), 5)
        eq(_names_for(lu, lambda e: e.get("path") == "/hello.txt"),
           ["requestheaders", "request", "responseheaders", "response", "done"], "hooks of a plain GET")
        ids = {e["id"] for e in S.emits(lu, "hook") if e.get("path") == "/hello.txt"}
        eq(len(ids), 1, "one flow id for all hooks of one exchange")
        fid = ids.pop()
        rec = flow_by_id(lu, fid)
        eq(rec["url"], ctx.nginx.url("/hello.txt"), "flow.id is the flow log's id")

        # a failing request: error() then done()
        r = H.curl(lu, "-o", "-", "http://a.test:%d/fail" % dead)
        eq(r.rc, 0, r.err)
        H.wait_until(lambda: "done" in _names_for(lu, lambda e: e.get("path") == "/fail"), 5)
        names = _names_for(lu, lambda e: e.get("path") == "/fail")
        eq(names[:2], ["requestheaders", "request"], "first hooks of a failing flow")
        eq(names[-2:], ["error", "done"], "error() just before done()")
        eq(len(names), len(set(names)), "no hook twice: %r" % names)
        err = [e for e in S.emits(lu, "hook") if e["name"] == "error"][0]["err"]
        check(isinstance(err, str) and err, "flow.error in error(): %r" % err)

        # a flow:respond() reply passes responseheaders and response too
        r = H.curl(lu, "-o", "-", o.url("/mock"))
        eq(r.rc, 0, r.err)
        eq(r.out, b"mocked\n")
        H.wait_until(lambda: "done" in _names_for(lu, lambda e: e.get("path") == "/mock"), 5)
        eq(_names_for(lu, lambda e: e.get("path") == "/mock"),
           ["requestheaders", "request", "responseheaders", "response", "done"], "hooks of a respond()ed flow")
        eq(len(o.requests), 0, "the origin of a respond()ed flow got no request")

        # intercepted HTTPS: connect first, then the request's hooks
        r = H.curl(lu, "--cacert", lu.ca_cert, "-o", "-", https(ctx, "/hello.txt?tls"))
        eq(r.rc, 0, r.err)
        eq(r.out, H.HELLO_TXT)
        H.wait_until(lambda: "done" in _names_for(lu, lambda e: e.get("path") == "/hello.txt?tls"), 5)
        eq(_names_for(lu, lambda e: e.get("path") == "/hello.txt?tls"),
           ["requestheaders", "request", "responseheaders", "response", "done"], "hooks of an HTTPS request")
        all_names = [(e["name"], e.get("method"), e.get("port"), e.get("path")) for e in S.emits(lu, "hook")]
        ci = [i for i, x in enumerate(all_names) if x[0] == "connect"]
        eq(len(ci), 1, "one connect() call: %r" % all_names)
        eq(all_names[ci[0]][1:3], ("CONNECT", ctx.nginx.tls_port), "connect() sees the CONNECT")
        ri = [i for i, x in enumerate(all_names) if x[0] == "requestheaders" and x[3] == "/hello.txt?tls"][0]
        check(ci[0] < ri, "connect() before the tunnelled request's hooks: %r" % all_names)
        no_script_errors(lu)
        stop(lu)
        names = [e["name"] for e in S.emits(lu, "hook")]
        eq(names.count("load"), 1, "load() once")
        eq(names[-1], "unload", "unload() last, at shutdown")
        eq(names.count("unload"), 1, "unload() once")
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# reading flow fields
# ---------------------------------------------------------------------------

FIELDS = r"""
function request(flow)
    local r = flow.request
    emit("req", {id = flow.id, client = flow.client, server = flow.server, tls = flow.tls,
                 error = flow.error, method = r.method, scheme = r.scheme, host = r.host, port = r.port,
                 path = r.path, query = r.query, url = r.url, http_version = r.http_version,
                 headers = hlist(r.headers), nh = #r.headers, body = b64(r.body), raw_body = b64(r.raw_body),
                 streamed = r.streamed, has_response = flow.response ~= nil})
end
function response(flow)
    local s = flow.response
    emit("resp", {id = flow.id, server = flow.server, status = s.status, reason = s.reason,
                  http_version = s.http_version, headers = hlist(s.headers), nh = #s.headers,
                  body = b64(s.body), raw_body = b64(s.raw_body), streamed = s.streamed,
                  req_body = b64(flow.request.body)})
end
"""


def _fields_origin(resp_body_plain):
    gzbody = gz(resp_body_plain)

    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            c.respond(201, "Made It", [("Content-Type", "text/plain"), ("Content-Encoding", "gzip"),
                                       ("X-Resp", "a"), ("x-resp", "b")], gzbody)
    return h, gzbody


def test_read_fields_plain(ctx):
    resp_plain = b"the response body\n" * 3
    handler, resp_gz = _fields_origin(resp_plain)
    o = H.Origin(handler)
    lu = start(ctx, FIELDS)
    try:
        a = o.authority()
        req_plain = b"request body, gzip-encoded by the client\n"
        req_gz = gz(req_plain)
        c = H.RawClient(lu.port)
        try:
            head = ("POST http://%s/f/p?a=1&b=x%%20y&a=2 HTTP/1.1\r\nHost: %s\r\nX-One: 1\r\nx-two: two\r\n"
                    "Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n") % (a, a, len(req_gz))
            m = c.request(head.encode() + req_gz, "POST")
            client = c.local
        finally:
            c.close()
        eq(m.status, 201)
        eq(m.reason, "Made It")
        eq(m.get("Content-Encoding"), "gzip", "client gets the response as sent (no script change)")
        eq(m.body, resp_gz, "client gets the gzip bytes untouched")
        eq(o.requests[0].body, req_gz, "origin gets the request body untouched")

        q = S.wait_emits(lu, "req")[0]
        eq(q["client"], client, "flow.client")
        eq(q["tls"], False, "flow.tls")
        eq(q.get("error"), None, "flow.error")
        eq(q["method"], "POST")
        eq(q["scheme"], "http")
        eq(q["host"], "a.test")
        eq(q["port"], o.port)
        eq(q["path"], "/f/p?a=1&b=x%20y&a=2", "path as on the wire")
        eq(q["query"], {"a": ["1", "2"], "b": "x y"}, "query decoded, repeated name -> array")
        eq(q["url"], "http://%s/f/p?a=1&b=x%%20y&a=2" % a)
        eq(q["http_version"], "HTTP/1.1")
        eq(q["headers"], [["Host", a], ["X-One", "1"], ["x-two", "two"], ["Content-Encoding", "gzip"],
                          ["Content-Length", str(len(req_gz))]], "request headers in wire order and case")
        eq(q["nh"], 5, "#flow.request.headers")
        eq(b64d(q["body"]), req_plain, "request body decoded")
        eq(b64d(q["raw_body"]), req_gz, "request raw_body as on the wire")
        eq(q["streamed"], False, "request not streamed")
        eq(q["has_response"], False, "flow.response is nil in request()")

        s = S.wait_emits(lu, "resp")[0]
        eq(s["id"], q["id"], "same flow id in request and response")
        eq(s["server"], "127.0.0.1:%d" % o.port, "flow.server")
        eq(s["status"], 201)
        eq(s["reason"], "Made It")
        eq(s["http_version"], "HTTP/1.1")
        eq(s["headers"], [["Content-Type", "text/plain"], ["Content-Encoding", "gzip"], ["X-Resp", "a"],
                          ["x-resp", "b"], ["Content-Length", str(len(resp_gz))]],
           "response headers in wire order and case")
        eq(s["nh"], 5)
        eq(b64d(s["body"]), resp_plain, "response body decoded")
        eq(b64d(s["raw_body"]), resp_gz, "response raw_body as on the wire")
        eq(s["streamed"], False)
        eq(b64d(s["req_body"]), req_plain, "request body still readable in response()")
        f = flow_by_id(lu, q["id"])
        eq(f["client"], client)
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


STATE = r"""
function requestheaders(flow)
    emit("st", {hook = "requestheaders", id = flow.id, before = flow.state.n})
    flow.state.n = 1
    flow.state.path = flow.request.path
end
function request(flow) flow.state.n = flow.state.n + 1 end
function responseheaders(flow) flow.state.n = flow.state.n + 1 end
function response(flow) flow.state.n = flow.state.n + 1 end
function done(flow)
    emit("st", {hook = "done", id = flow.id, n = flow.state.n, path = flow.state.path})
end
"""


def test_state_per_flow(ctx):
    lu = start(ctx, STATE)
    try:
        # two requests on one keep-alive connection, then one more
        r = H.curl(lu, "-o", "/dev/null", ctx.nginx.url("/hello.txt?1"), "-o", "/dev/null",
                   ctx.nginx.url("/hello.txt?2"))
        eq(r.rc, 0, r.err)
        r = H.curl(lu, "-o", "/dev/null", ctx.nginx.url("/hello.txt?3"))
        eq(r.rc, 0, r.err)
        st = S.wait_emits(lu, "st", 6)
        firsts = [e for e in st if e["hook"] == "requestheaders"]
        eq([e.get("before") for e in firsts], [None, None, None], "flow.state starts empty for every flow")
        dones = sorted((e for e in st if e["hook"] == "done"), key=lambda e: e["path"])
        eq([(e["path"], e["n"]) for e in dones], [("/hello.txt?1", 4), ("/hello.txt?2", 4), ("/hello.txt?3", 4)],
           "flow.state kept across the hooks of its flow")
        eq(len({e["id"] for e in dones}), 3, "three distinct flow ids")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)


NOOP = r"""
function requestheaders(flow) local _ = flow.request.headers["Host"] end
function request(flow) local _ = flow.request.body end
function responseheaders(flow) local _ = flow.response.headers["Server"] end
function response(flow) local _ = flow.response.body end
function done(flow) end
"""


def test_noop_script_is_transparent(ctx):
    # hooks that only read change nothing on the wire: the origin gets the
    # client's head byte for byte (origin form), the client the origin's
    hs = [("Server", "py"), ("Content-Length", "5"), ("Content-Type", "text/plain"), ("X-Last", "1")]
    o = H.Origin(H.handler_fixed(headers=hs, body=b"hello"))
    lu = start(ctx, NOOP)
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            m = c.request(("POST http://%s/n?q=1 HTTP/1.1\r\nHost: %s\r\nX-First: 1\r\nContent-Length: 3\r\n"
                           "content-type: text/plain\r\nx-LAST: z\r\n\r\nabc") % (a, a), "POST")
        finally:
            c.close()
        eq(m.raw, b"HTTP/1.1 200 OK\r\nServer: py\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n"
                  b"X-Last: 1\r\n\r\nhello", "response bytes at the client")
        eq(o.requests[0].raw, ("POST /n?q=1 HTTP/1.1\r\nHost: %s\r\nX-First: 1\r\nContent-Length: 3\r\n"
                               "content-type: text/plain\r\nx-LAST: z\r\n\r\nabc" % a).encode(),
           "request bytes at the origin")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# writing the request
# ---------------------------------------------------------------------------

REQ_LINE = r"""
function request(flow)
    local r = flow.request
    if r.path == "/m" then
        r.method = "PUT"
        r.path = "/new/place?x=1"
        emit("after", {path = r.path, method = r.method, url = r.url})
    elseif r.path:find("^/q%?") then
        r.query = {e = "a b&c=d", b = "2", a = {"1", "3"}, c = true, d = 5}
        emit("afterq", {path = r.path, query = r.query})
    end
end
"""


def test_write_method_path_query(ctx):
    o = H.Origin(H.handler_fixed(body=b"ok\n"))
    lu = start(ctx, REQ_LINE)
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(a, "/m", extra="X-Z: 1\r\n"))
            eq(m.status, 200)
            m = c.request(H.get_request(a, "/q?zz=9"))
            eq(m.status, 200)
        finally:
            c.close()
        eq(len(o.requests), 2)
        eq(o.requests[0].start_line, "PUT /new/place?x=1 HTTP/1.1", "method and path rewritten")
        eq(o.requests[0].get("X-Z"), "1")
        eq(o.requests[0].get("Host"), a, "Host unchanged by a path change")
        aft = S.wait_emits(lu, "after")[0]
        eq(aft["path"], "/new/place?x=1")
        eq(aft["method"], "PUT")
        eq(aft["url"], "http://%s/new/place?x=1" % a, "url follows the path")
        tgt = o.requests[1].target
        path, _, qs = tgt.partition("?")
        eq(path, "/q", "assigning query keeps the path")
        keys = [kv.split("=", 1)[0] for kv in qs.split("&")]
        eq(keys, ["a", "a", "b", "c", "d", "e"], "query keys sorted, arrays repeat the key (%r)" % tgt)
        eq(urllib.parse.parse_qs(qs, keep_blank_values=True),
           {"a": ["1", "3"], "b": ["2"], "c": ["true"], "d": ["5"], "e": ["a b&c=d"]}, "query values (%r)" % tgt)
        check(" " not in tgt, "query values escaped: %r" % tgt)
        aq = S.wait_emits(lu, "afterq")[0]
        eq(aq["path"], tgt, "flow.request.path after assigning query")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


REQ_HEADERS = r"""
function requestheaders(flow)
    local h = flow.request.headers
    emit("before", {n = #h, keep = h["x-keep"], KEEP = h["X-KEEP"], nope = h["Nope"],
                    multi = h:get_all("x-multi"), nnope = #h:get_all("nope"), list = hlist(h)})
    h["X-Replace"] = "new"
    h["X-Remove"] = nil
    h["X-Multi"] = {"a", "b"}
    h["X-New"] = "v"
    h:add("x-added", "1")
    h:add("x-added", "2")
    emit("after", {n = #h, list = hlist(h), added = h:get_all("X-ADDED")})
end
"""


def test_request_headers_on_the_wire(ctx):
    o = H.Origin(H.handler_fixed(body=b"ok\n"))
    lu = start(ctx, REQ_HEADERS)
    try:
        a = o.authority()
        m = H.raw_request(lu.port, ("GET http://%s/h HTTP/1.1\r\nHost: %s\r\nX-Keep: k\r\nX-Replace: old\r\n"
                                    "X-Multi: m1\r\nX-Remove: r1\r\nx-remove: r2\r\nX-Multi: m2\r\n"
                                    "User-Agent: raw\r\n\r\n") % (a, a))
        eq(m.status, 200)
        want = ["GET /h HTTP/1.1", "Host: " + a, "X-Keep: k", "X-Replace: new", "X-Multi: a", "X-Multi: b",
                "User-Agent: raw", "X-New: v", "x-added: 1", "x-added: 2"]
        eq(S.head_lines(o.requests[0].raw_head), want, "request head the origin received")
        b = S.wait_emits(lu, "before")[0]
        eq(b["n"], 8, "#h")
        eq(b["keep"], "k", "case-insensitive lookup")
        eq(b["KEEP"], "k", "case-insensitive lookup")
        eq(b.get("nope"), None, "missing field -> nil")
        eq(b["multi"], ["m1", "m2"], "get_all")
        eq(b["nnope"], 0, "get_all of a missing name is empty")
        eq(b["list"], [["Host", a], ["X-Keep", "k"], ["X-Replace", "old"], ["X-Multi", "m1"], ["X-Remove", "r1"],
                       ["x-remove", "r2"], ["X-Multi", "m2"], ["User-Agent", "raw"]], "pairs() in wire order")
        af = S.wait_emits(lu, "after")[0]
        eq(af["n"], 9)
        eq(af["added"], ["1", "2"])
        eq(af["list"], [[l.split(": ", 1)[0], l.split(": ", 1)[1]] for l in want[1:]], "pairs() after the edits")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


RESP_HEADERS = r"""
function responseheaders(flow)
    local h = flow.response.headers
    h["Server"] = nil
    h["X-R"] = "2"
    h["Set-Cookie"] = {"c=3", "d=4"}
    h:add("X-Resp-Added", "yes")
end
"""


def test_response_headers_on_the_wire(ctx):
    hs = [("Server", "py-origin"), ("X-R", "1"), ("Set-Cookie", "a=1"), ("Content-Type", "text/plain"),
          ("Set-Cookie", "b=2"), ("Content-Length", "3")]
    o = H.Origin(H.handler_fixed(headers=hs, body=b"abc"))
    lu = start(ctx, RESP_HEADERS)
    try:
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(o.authority(), "/rh"))
            # the connection stays usable
            m2 = c.request(H.get_request(o.authority(), "/rh2"))
        finally:
            c.close()
        eq(m.status, 200)
        eq(m.body, b"abc")
        eq(m2.body, b"abc")
        eq(m.headers, [("X-R", "2"), ("Set-Cookie", "c=3"), ("Set-Cookie", "d=4"), ("Content-Type", "text/plain"),
                       ("Content-Length", "3"), ("X-Resp-Added", "yes")], "response head the client got")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


BODY_REWRITE = r"""
function request(flow)
    if flow.request.body then
        flow.request.body = "REWRITTEN:" .. flow.request.body:upper()
    end
end
function response(flow)
    if flow.request.path == "/resp" then
        flow.response.body = flow.response.body:gsub("cat", "dog")
    end
end
"""


def test_request_body_rewrite(ctx):
    o = H.Origin(H.handler_echo_body())
    lu = start(ctx, BODY_REWRITE)
    try:
        a = o.authority()
        body = gz(b"hello world")
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        m = H.raw_request(lu.port, ("POST http://%s/req HTTP/1.1\r\nHost: %s\r\nContent-Encoding: gzip\r\n"
                                    "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" % (a, a)).encode()
                          + chunked, "POST")
        eq(m.status, 200)
        want = b"REWRITTEN:HELLO WORLD"
        got = o.requests[0]
        eq(got.body, want, "origin got the new body")
        eq(got.get("Content-Length"), str(len(want)), "Content-Length of the new body")
        eq(got.get("Content-Encoding"), None, "Content-Encoding removed")
        eq(got.get("Transfer-Encoding"), None, "Transfer-Encoding dropped")
        eq(got.get("Content-Type"), "text/plain", "other headers kept")
        eq(m.body, want, "echoed")
        # curl upload, plain Content-Length
        r = H.curl(lu, "-o", "-", "--data-binary", "abc", o.url("/req2"))
        eq(r.rc, 0, r.err)
        eq(r.out, b"REWRITTEN:ABC")
        eq(o.requests[1].get("Content-Length"), "13")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


def test_response_body_rewrite(ctx):
    plain = b"the cat sat on the cat mat\n"
    enc = gz(plain)

    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            out = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
                   b"Transfer-Encoding: chunked\r\nX-Keep: 1\r\n\r\n")
            out += b"%x\r\n%s\r\n" % (10, enc[:10]) + b"%x\r\n%s\r\n" % (len(enc) - 10, enc[10:]) + b"0\r\n\r\n"
            c.send(out)
    o = H.Origin(h)
    lu = start(ctx, BODY_REWRITE)
    try:
        c = H.RawClient(lu.port)
        try:
            m = c.request(H.get_request(o.authority(), "/resp"))
            m2 = c.request(H.get_request(o.authority(), "/other"))
        finally:
            c.close()
        want = b"the dog sat on the dog mat\n"
        eq(m.status, 200)
        eq(m.body, want, "client got the rewritten, decoded body")
        eq(m.get("Content-Length"), str(len(want)), "Content-Length")
        eq(m.get("Content-Encoding"), None, "Content-Encoding removed")
        eq(m.get("Transfer-Encoding"), None, "Transfer-Encoding dropped")
        eq(m.get("X-Keep"), "1")
        eq(m2.get("Content-Encoding"), "gzip", "an untouched body stays encoded")
        eq(m2.body, enc, "an untouched body is passed as is")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


GZIP_SEEN = r"""
function response(flow)
    local s = flow.response
    emit("gz", {path = flow.request.path, ce = s.headers["Content-Encoding"], body = b64(s.body),
                raw = b64(s.raw_body), tls = flow.tls, scheme = flow.request.scheme})
end
"""


def test_gzip_from_nginx_decoded(ctx):
    lu = start(ctx, GZIP_SEEN)
    try:
        for url, extra in ((ctx.nginx.url("/hello.txt"), []),
                           (https(ctx, "/hello.txt?tls"), ["--cacert", lu.ca_cert])):
            r = H.curl(lu, "-D", "-", "-o", "/dev/null", "-H", "Accept-Encoding: gzip", *extra, url)
            eq(r.rc, 0, r.err)
            contains(r.text.lower(), "content-encoding: gzip", "client gets nginx's gzip response")
            r = H.curl(lu, "--compressed", "-o", "-", *extra, url)
            eq(r.rc, 0, r.err)
            eq(r.out, H.HELLO_TXT)
        g = S.wait_emits(lu, "gz", 4)
        seen = [e for e in g if e["ce"] == "gzip"]
        eq(len(seen), 4, "nginx sent gzip each time: %r" % g)
        for e in seen:
            eq(b64d(e["body"]), H.HELLO_TXT, "body decoded (%s)" % e["path"])
            raw = b64d(e["raw"])
            eq(raw[:2], b"\x1f\x8b", "raw_body is the gzip stream")
            eq(gzip.decompress(raw), H.HELLO_TXT)
        eq(sorted({(e["scheme"], e["tls"]) for e in seen}), [("http", False), ("https", True)])
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)


RETARGET = r"""
local P2 = tonumber(os.getenv("O2PORT"))
function request(flow)
    local r = flow.request
    if r.path == "/port" then
        r.port = P2
    elseif r.path == "/url" then
        r.url = "http://b.test:" .. P2 .. "/other?x=1"
    elseif r.path == "/host" then
        r.host = "b.test"
    end
end
function response(flow)
    emit("rt", {path = flow.request.path, url = flow.request.url, server = flow.server,
                host = flow.request.host, port = flow.request.port})
end
"""


def test_retarget(ctx):
    o1 = H.Origin(H.handler_fixed(body=b"one\n"))
    o2 = H.Origin(H.handler_fixed(body=b"two\n"))
    lu = start(ctx, RETARGET, env={"O2PORT": str(o2.port)})
    try:
        r = H.curl(lu, "-o", "-", o1.url("/port"))
        eq((r.rc, r.out), (0, b"two\n"), r.err)
        r = H.curl(lu, "-o", "-", o1.url("/url"))
        eq((r.rc, r.out), (0, b"two\n"), r.err)
        r = H.curl(lu, "-o", "-", o1.url("/host"))
        eq((r.rc, r.out), (0, b"one\n"), r.err)
        eq([m.start_line for m in o2.requests], ["GET /port HTTP/1.1", "GET /other?x=1 HTTP/1.1"])
        eq(o2.requests[0].get("Host"), "a.test:%d" % o2.port, "Host rewritten for the new port")
        eq(o2.requests[1].get("Host"), "b.test:%d" % o2.port, "Host rewritten for the new url")
        eq([m.start_line for m in o1.requests], ["GET /host HTTP/1.1"])
        eq(o1.requests[0].get("Host"), "b.test:%d" % o1.port, "Host rewritten for the new host")
        rt = {e["path"]: e for e in S.wait_emits(lu, "rt", 3)}
        eq(rt["/port"]["server"], "127.0.0.1:%d" % o2.port)
        eq(rt["/port"]["url"], "http://a.test:%d/port" % o2.port)
        eq(rt["/other?x=1"]["url"], "http://b.test:%d/other?x=1" % o2.port)
        eq((rt["/other?x=1"]["host"], rt["/other?x=1"]["port"]), ("b.test", o2.port))
        eq(rt["/host"]["url"], "http://b.test:%d/host" % o1.port)
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o1.stop()
        o2.stop()


# ---------------------------------------------------------------------------
# writing the response
# ---------------------------------------------------------------------------

RESP_WRITE = r"""
function response(flow)
    local q = flow.request.path:match("%?(.*)$")
    local s = flow.response
    if q == "s404" then
        s.status = 404
    elseif q == "custom" then
        s.status = 299
        s.reason = "Fine Really"
    elseif q == "body" then
        s.body = "new body\n"
    end
    emit("rw", {q = q, status = s.status, reason = s.reason})
end
"""


def test_response_status_reason_body(ctx):
    lu = start(ctx, RESP_WRITE)
    try:
        a = "a.test:%d" % ctx.nginx.port
        c = H.RawClient(lu.port)
        try:
            m1 = c.request(H.get_request(a, "/hello.txt?s404"))
            m2 = c.request(H.get_request(a, "/hello.txt?custom"))
            m3 = c.request(H.get_request(a, "/hello.txt?body"))
        finally:
            c.close()
        eq(m1.start_line, "HTTP/1.1 404 Not Found", "status set -> standard reason")
        eq(m1.body, H.HELLO_TXT)
        eq(m2.start_line, "HTTP/1.1 299 Fine Really")
        eq(m3.start_line, "HTTP/1.1 200 OK")
        eq(m3.body, b"new body\n")
        eq(m3.get("Content-Length"), "9")
        rw = {e["q"]: e for e in S.wait_emits(lu, "rw", 3)}
        eq(rw["s404"]["reason"], "Not Found", "reason follows status in the hook")
        f = lu.wait_flow(lambda f: f.get("url", "").endswith("?s404"), 5)
        check(f, "flow record")
        eq(f["status"], 404, "the flow records the status the client got")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)


RESPOND = r"""
function requestheaders(flow)
    if flow.request.path == "/early" then
        flow:respond(202, {["X-Early"] = "1"}, "early\n")
    end
end
function request(flow)
    local p = flow.request.path
    if p == "/r1" then
        flow:respond(404)
    elseif p == "/r2" then
        flow:respond(200, {["X-A"] = "1", ["Set-Cookie"] = {"a=1", "b=2"}, ["Content-Type"] = "application/json"},
                     '{"ok":true}')
    elseif p == "/r3" then
        flow:respond(204, {["X-B"] = "2"})
    elseif p == "/r4" then
        flow.state.mocked = true
        flow:respond(200, {}, "mocked")
    elseif p == "/r5" then
        flow:respond(201, "body without headers\n")
    end
end
function responseheaders(flow)
    if flow.state.mocked then
        flow.response.reason = "Mocked"
    end
end
function response(flow)
    emit("resp", {path = flow.request.path, status = flow.response.status, body = b64(flow.response.body)})
end
"""


def test_respond(ctx):
    o = H.Origin(H.handler_fixed(body=b"origin\n"))
    lu = start(ctx, RESPOND)
    try:
        a = o.authority()
        c = H.RawClient(lu.port)
        try:
            m1 = c.request(H.get_request(a, "/r1"))
            m2 = c.request(H.get_request(a, "/r2"))
            m3 = c.request(H.get_request(a, "/r3"))
            m4 = c.request(H.get_request(a, "/r4"))
            m5 = c.request(H.get_request(a, "/r5"))
        finally:
            c.close()
        eq(m1.start_line, "HTTP/1.1 404 Not Found")
        check(m1.get("Content-Type", "").startswith("text/plain"), "default body is text/plain: %r" % m1.headers)
        contains(m1.body.decode("latin-1"), "404 Not Found", "default body")
        eq(m1.get("Content-Length"), str(len(m1.body)))
        eq(m2.start_line, "HTTP/1.1 200 OK")
        eq(m2.get("X-A"), "1")
        eq(m2.get_all("Set-Cookie"), ["a=1", "b=2"], "a header given as a list")
        eq(m2.get("Content-Type"), "application/json")
        eq(m2.body, b'{"ok":true}')
        eq(m2.get("Content-Length"), "11")
        eq(m3.start_line, "HTTP/1.1 204 No Content")
        eq(m3.get("X-B"), "2")
        eq(m3.body, b"", "204 has no body")
        check(m3.get("Content-Length") in (None, "0"), "no Content-Length (or 0) on a 204: %r" % m3.headers)
        eq(m3.get("Transfer-Encoding"), None)
        eq(m4.start_line, "HTTP/1.1 200 Mocked", "responseheaders() may set the reason of a respond() reply")
        eq(m4.body, b"mocked")
        eq(m5.start_line, "HTTP/1.1 201 Created", "respond(status, body)")
        eq(m5.body, b"body without headers\n")
        eq(m5.get("Content-Length"), str(len(m5.body)))
        # respond() from requestheaders, with a request body not yet read
        r = H.curl(lu, "-i", "--data-binary", "x" * 5000, o.url("/early"))
        eq(r.rc, 0, r.err)
        contains(r.text, "202")
        contains(r.text, "X-Early: 1")
        check(r.out.endswith(b"early\n"), r.out[-200:])
        resp = {e["path"]: e for e in S.wait_emits(lu, "resp", 6)}
        eq(b64d(resp["/r2"]["body"]), b'{"ok":true}', "response() sees the respond() body")
        eq(resp["/r1"]["status"], 404)
        time.sleep(0.2)
        eq(len(o.conns), 0, "the origin was never contacted")
        f = lu.wait_flow(lambda f: f.get("url", "").endswith("/r2"), 5)
        check(f, "flow record of a respond()ed request")
        eq(f["status"], 200)
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


DELAY = r"""
function requestheaders(flow)
    local p = flow.request.path
    local ms = tonumber(p:match("^/delay/(%d+)"))
    if ms then
        flow:delay(ms)
    elseif p == "/twice" then
        flow:delay(400)
        flow:delay(400)
    end
end
function response(flow)
    if flow.request.path == "/rdelay" then
        flow:delay(600)
    end
end
"""


def test_delay(ctx):
    o = H.Origin(H.handler_fixed(body=b"d\n"))
    lu = start(ctx, DELAY)   # one worker: the held flow shares its thread with the other
    try:
        res = {}

        def slow():
            t0 = time.monotonic()
            r = H.curl(lu, "-o", "-", o.url("/delay/1500"))
            res["slow"] = (r, time.monotonic() - t0, time.monotonic())
        t = threading.Thread(target=slow, daemon=True)
        t.start()
        time.sleep(0.3)
        r = H.curl(lu, "-o", "-", o.url("/fast"))
        fast_done = time.monotonic()
        eq((r.rc, r.out), (0, b"d\n"), r.err)
        check("slow" not in res, "the fast request finished after the delayed one: other traffic was held")
        t.join(20)
        check("slow" in res, "delayed request did not finish")
        sr, elapsed, slow_done = res["slow"]
        eq((sr.rc, sr.out), (0, b"d\n"), sr.err)
        check(elapsed >= 1.5, "delay(1500) held the flow only %.3f s" % elapsed)
        check(fast_done < slow_done, "fast request completed before the delayed one")
        eq([m.target for m in o.requests], ["/fast", "/delay/1500"], "the delayed request reached the origin later")
        r = S.curl_timed(lu, "-o", "-", o.url("/twice"))
        eq(r.rc, 0, r.err)
        check(r.elapsed >= 0.8, "two delay(400) calls add up: %.3f s" % r.elapsed)
        r = S.curl_timed(lu, "-o", "-", o.url("/rdelay"))
        eq((r.rc, r.out), (0, b"d\n"), r.err)
        check(r.elapsed >= 0.6, "delay(600) in response(): %.3f s" % r.elapsed)
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


KILL = r"""
function request(flow)
    if flow.request.path == "/kill" then
        flow:kill()
    end
end
function response(flow)
    if flow.request.path == "/kill-late" then
        flow:kill()
    end
end
"""


def test_kill(ctx):
    o = H.Origin(H.handler_fixed(body=b"k\n"))
    lu = start(ctx, KILL)
    try:
        r = H.curl(lu, "-o", "-", o.url("/kill"))
        eq(r.rc, 52, "curl: empty reply (%s)" % r.err)
        eq(r.out, b"")
        eq(len(o.requests), 0, "killed in request(): the origin got nothing")
        r = H.curl(lu, "-o", "-", o.url("/kill-late"))
        eq(r.rc, 52, "curl: empty reply (%s)" % r.err)
        eq(r.out, b"")
        eq([m.target for m in o.requests], ["/kill-late"], "killed in response(): the origin got the request")
        for p in ("/kill", "/kill-late"):
            f = lu.wait_flow(lambda f, p=p: f.get("url") == o.url(p), 5)
            check(f, "flow record for %s" % p)
            check(isinstance(f.get("error"), str), "flow error: %r" % f.get("error"))
            contains(f["error"], "killed by script")
            contains(f["error"], os.path.basename(lu.script))
        r = H.curl(lu, "-o", "-", o.url("/ok"))
        eq((r.rc, r.out), (0, b"k\n"), "lucent still serves: %s" % r.err)
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


CONNECT = r"""
local DENY = tonumber(os.getenv("DENY_PORT"))
function connect(flow)
    local r = flow.request
    emit("connect", {id = flow.id, client = flow.client, method = r.method, host = r.host, port = r.port,
                     tls = flow.tls})
    if r.port == DENY then
        flow:respond(403, {["X-Why"] = "denied"}, "no tunnel\n")
    end
end
"""


def test_connect_hook(ctx):
    deny = H.Origin(H.handler_fixed(), tls=ctx.cert)
    lu = start(ctx, CONNECT, env={"DENY_PORT": str(deny.port)})
    try:
        r = H.curl(lu, "--cacert", lu.ca_cert, "-o", "-", https(ctx, "/hello.txt"))
        eq((r.rc, r.out), (0, H.HELLO_TXT), r.err)
        c = H.RawClient(lu.port)
        try:
            m = c.request("CONNECT b.test:%d HTTP/1.1\r\nHost: b.test:%d\r\n\r\n" % (deny.port, deny.port), "CONNECT")
        finally:
            c.close()
        eq(m.status, 403, "connect() respond(403) refuses the tunnel: %r" % m)
        eq(m.get("X-Why"), "denied")
        eq(m.body, b"no tunnel\n")
        r = H.curl(lu, "--cacert", lu.ca_cert, "-o", "-", "https://b.test:%d/" % deny.port)
        check(r.rc != 0, "curl through a refused tunnel must fail")
        contains(r.err, "403")
        time.sleep(0.2)
        eq(len(deny.conns), 0, "the refused CONNECT's server was never contacted")
        cs = S.wait_emits(lu, "connect", 3)
        eq((cs[0]["method"], cs[0]["host"], cs[0]["port"]), ("CONNECT", "a.test", ctx.nginx.tls_port))
        eq((cs[1]["method"], cs[1]["host"], cs[1]["port"]), ("CONNECT", "b.test", deny.port))
        check(cs[0]["client"].startswith("127.0.0.1:"), "flow.client in connect(): %r" % cs[0]["client"])
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        deny.stop()


STREAM = r"""
function requestheaders(flow)
    if flow.request.path == "/stream" then
        flow.request.stream = true
    end
end
function request(flow)
    emit("req", {path = flow.request.path, has_body = flow.request.body ~= nil,
                 has_raw = flow.request.raw_body ~= nil, streamed = flow.request.streamed,
                 len = flow.request.body and #flow.request.body})
end
function responseheaders(flow)
    if flow.request.path == "/stream" then
        flow.response.stream = true
    end
end
function response(flow)
    emit("resp", {path = flow.request.path, has_body = flow.response.body ~= nil,
                  streamed = flow.response.streamed})
end
"""


def test_stream_on_demand(ctx):
    o = H.Origin(H.handler_echo_body())
    lu = start(ctx, STREAM)
    try:
        data = os.urandom(10000)
        path = os.path.join(ctx.tmp, "up.bin")
        with open(path, "wb") as f:
            f.write(data)
        for p in ("/stream", "/buffer"):
            r = H.curl(lu, "-o", "-", "--data-binary", "@" + path, o.url(p))
            eq(r.rc, 0, r.err)
            eq(H.sha256(r.out), H.sha256(data), "client got the whole echo (%s)" % p)
        eq([H.sha256(m.body) for m in o.requests], [H.sha256(data)] * 2, "origin got the whole bodies")
        req = {e["path"]: e for e in S.wait_emits(lu, "req", 2)}
        resp = {e["path"]: e for e in S.wait_emits(lu, "resp", 2)}
        eq((req["/stream"]["has_body"], req["/stream"]["streamed"]), (False, True), "streamed request: body nil")
        eq(req["/stream"]["has_raw"], False, "streamed request: raw_body nil")
        eq((req["/buffer"]["has_body"], req["/buffer"]["streamed"], req["/buffer"]["len"]), (True, False, 10000))
        eq((resp["/stream"]["has_body"], resp["/stream"]["streamed"]), (False, True), "streamed response")
        eq((resp["/buffer"]["has_body"], resp["/buffer"]["streamed"]), (True, False))
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


HELPERS = r"""
function load()
    local d = lucent.json.decode('{"a":[1,2,{"b":null}],"s":"h\\u00e9","f":1.5}')
    local bad, err = lucent.json.decode("{")
    local u = lucent.url.parse("https://u:p@h.test:8443/p/a?q=1#f")
    local e = lucent.url.escape("a b/c&d")
    local nb, berr = lucent.base64.decode("!!!")
    emit("helpers", {
        enc = lucent.json.encode({x = 1}),
        empty_arr = lucent.json.encode(lucent.json.decode("[]")),
        empty_obj = lucent.json.encode({}),
        a2 = d.a[2], a2_int = math.type(d.a[2]), isnull = d.a[3].b == lucent.json.null,
        s = d.s, f = d.f, bad = bad == nil, bad_err = type(err),
        url = {scheme = u.scheme, userinfo = u.userinfo, host = u.host, port = u.port, path = u.path,
               query = u.query, fragment = u.fragment},
        built = lucent.url.build({scheme = "http", host = "x.test", port = 81, path = "/y", query = "z=1"}),
        q = lucent.url.decode_query("a=1&a=2&b=%20"),
        eq = lucent.url.encode_query({b = "2", a = "1"}),
        esc_ok = lucent.url.unescape(e) == "a b/c&d" and not e:find(" ", 1, true),
        unesc = lucent.url.unescape("a%20b"),
        b64 = lucent.base64.encode("hello?"),
        unb = lucent.base64.decode("aGVsbG8_"), unb2 = lucent.base64.decode("aGVsbG8/"),
        unb3 = lucent.base64.decode("aGk"),
        badb = nb == nil and type(berr) == "string",
    })
    lucent.log("helper log", 42, true)
end
"""


def test_lucent_table(ctx):
    lu = start(ctx, HELPERS)
    try:
        h = S.wait_emits(lu, "helpers")[0]
        eq(h["enc"], '{"x":1}')
        eq(h["empty_arr"], "[]")
        eq(h["empty_obj"], "{}")
        eq((h["a2"], h["a2_int"]), (2, "integer"))
        eq(h["isnull"], True)
        eq(h["s"], "h\u00e9")
        eq(h["f"], 1.5)
        eq((h["bad"], h["bad_err"]), (True, "string"), "decode error -> nil, message")
        eq(h["url"], {"scheme": "https", "userinfo": "u:p", "host": "h.test", "port": 8443, "path": "/p/a",
                      "query": "q=1", "fragment": "f"})
        eq(h["built"], "http://x.test:81/y?z=1")
        eq(h["q"], {"a": ["1", "2"], "b": " "})
        eq(h["eq"], "a=1&b=2")
        eq(h["esc_ok"], True)
        eq(h["unesc"], "a b")
        eq(h["b64"], "aGVsbG8/")
        eq((h["unb"], h["unb2"], h["unb3"]), ("hello?", "hello?", "hi"))
        eq(h["badb"], True)
        S.wait_stderr(lu, r"^lucent: " + S.LEVEL_INFO + r"script " + S.fname(lu.script) + r": helper log 42 true$")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)


RECORD_ONLY = r"""
function error(flow)
    flow.request.headers["X-Error-Seen"] = flow.error
end
function done(flow)
    flow.request.headers["X-Done"] = "1"
    flow.request.headers["User-Agent"] = nil
    if flow.response then
        flow.response.headers["X-Done-Resp"] = "1"
    end
end
"""


def test_error_and_done_edit_only_the_record(ctx):
    o = H.Origin(H.handler_fixed(body=b"rec\n"))
    dead = H.free_port()
    lu = start(ctx, RECORD_ONLY)
    try:
        r = H.curl(lu, "-D", "-", "-o", "-", o.url("/ok"))
        eq(r.rc, 0, r.err)
        check(r.out.endswith(b"rec\n"), r.out)
        check("x-done-resp" not in r.text.lower(), "done() edits never reach the client: %r" % r.text)
        eq(o.requests[0].get("X-Done"), None, "done() edits never reach the origin")
        check(o.requests[0].get("User-Agent"), "the origin got the User-Agent")
        f = lu.wait_flow(lambda f: f.get("url") == o.url("/ok"), 5)
        check(f, "flow record")
        eq([v for k, v in f["request_headers"] if k == "X-Done"], ["1"], "done() edits the record")
        eq([k for k, v in f["request_headers"] if k.lower() == "user-agent"], [], "done() removal in the record")
        eq([v for k, v in f["response_headers"] if k == "X-Done-Resp"], ["1"])
        r = H.curl(lu, "-o", "-", "http://a.test:%d/dead" % dead)
        eq(r.rc, 0, r.err)
        f = lu.wait_flow(lambda f: f.get("url") == "http://a.test:%d/dead" % dead, 5)
        check(f, "flow record of the failed request")
        check(f.get("error"), "flow error: %r" % f)
        eq([v for k, v in f["request_headers"] if k == "X-Error-Seen"], [f["error"]],
           "error() sees flow.error and its edits go to the record")
        eq([v for k, v in f["request_headers"] if k == "X-Done"], ["1"])
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# the same over HTTPS interception
# ---------------------------------------------------------------------------

HTTPS_EDITS = r"""
function requestheaders(flow)
    local h = flow.request.headers
    h["X-Added"] = "tls"
    h["X-Remove"] = nil
end
function request(flow)
    local r = flow.request
    emit("req", {tls = flow.tls, scheme = r.scheme, host = r.host, port = r.port, url = r.url, path = r.path,
                 http_version = r.http_version, body = b64(r.body), client = flow.client})
    if r.path == "/mock" then
        flow:respond(418, {["X-Mock"] = "1"}, "teapot over tls\n")
    elseif r.path == "/kill" then
        flow:kill()
    elseif r.path == "/toplain" then
        r.url = "http://a.test:" .. os.getenv("PLAIN_PORT") .. "/plain?from=tls"
    end
end
function response(flow)
    local s = flow.response
    emit("resp", {path = flow.request.path, status = s.status, server = flow.server, tls = flow.tls})
    if flow.request.path == "/edit" then
        s.body = s.body .. "+tls"
        s.headers["X-Resp"] = "1"
    end
end
"""


def test_https_fields_edits_respond_kill(ctx):
    o = H.Origin(H.handler_fixed(body=b"origin-ok\n"), tls=ctx.cert)
    plain = H.Origin(H.handler_fixed(body=b"plain origin\n"))
    lu = start(ctx, HTTPS_EDITS, env={"PLAIN_PORT": str(plain.port)})
    try:
        auth = "a.test:%d" % o.port
        c = H.TlsClient(lu.port, auth, "a.test", cafile=lu.ca_cert)
        try:
            m = c.request("POST /edit HTTP/1.1\r\nHost: %s\r\nX-Remove: x\r\nX-Keep: y\r\nContent-Length: 4\r\n\r\nbody"
                          % auth, "POST")
            eq(m.status, 200)
            eq(m.body, b"origin-ok\n+tls")
            eq(m.get("X-Resp"), "1")
            eq(m.get("Content-Length"), str(len(b"origin-ok\n+tls")))
            m = c.request("GET /mock HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
            eq(m.status, 418)
            eq(m.get("X-Mock"), "1")
            eq(m.body, b"teapot over tls\n")
            m = c.request("GET /toplain HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
            eq(m.status, 200)
            eq(m.body, b"plain origin\n", "https request re-targeted to a plain http origin")
            client = c.local
        finally:
            c.close()
        eq([l for l in S.head_lines(o.requests[0].raw_head) if not l.startswith("Content-Length:")],
           ["POST /edit HTTP/1.1", "Host: " + auth, "X-Keep: y", "X-Added: tls"],
           "request head at the TLS origin (framing checked apart)")
        eq(o.requests[0].get_all("Content-Length"), ["4"])
        eq(o.requests[0].body, b"body")
        eq([m.target for m in o.requests], ["/edit"], "mock and re-targeted requests never reached the TLS origin")
        eq([m.target for m in plain.requests], ["/plain?from=tls"])
        eq(plain.requests[0].get("Host"), "a.test:%d" % plain.port)
        reqs = S.wait_emits(lu, "req", 3)
        q = reqs[0]
        eq((q["tls"], q["scheme"], q["host"], q["port"], q["path"]), (True, "https", "a.test", o.port, "/edit"))
        eq(q["url"], "https://%s/edit" % auth)
        eq(q["http_version"], "HTTP/1.1")
        eq(b64d(q["body"]), b"body")
        eq(q["client"], client)
        resp = {e["path"]: e for e in S.wait_emits(lu, "resp", 3)}
        eq(resp["/edit"]["server"], "127.0.0.1:%d" % o.port)
        eq(resp["/edit"]["tls"], True)
        # kill over TLS: the client connection is dropped, no response
        c = H.TlsClient(lu.port, auth, "a.test", cafile=lu.ca_cert)
        try:
            c.send("GET /kill HTTP/1.1\r\nHost: %s\r\n\r\n" % auth)
            got = b""
            try:
                got = c.reader.read_to_eof()
            except OSError:
                pass
            eq(got, b"", "no response bytes after kill()")
        finally:
            c.close()
        f = lu.wait_flow(lambda f: f.get("url") == "https://%s/kill" % auth, 5)
        check(f, "flow record of the killed https request")
        contains(f.get("error") or "", "killed by script")
        eq([m.target for m in o.requests], ["/edit"], "killed request never reached the origin")
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()
        plain.stop()


def test_https_curl_header_and_delay(ctx):
    lu = start(ctx, r"""
function requestheaders(flow)
    if flow.request.path == "/hello.txt?slow" then flow:delay(500) end
end
function responseheaders(flow)
    flow.response.headers["X-Via-Script"] = flow.request.scheme
    flow.response.headers["Server"] = nil
end
""")
    try:
        r = S.curl_timed(lu, "--cacert", lu.ca_cert, "-D", "-", "-o", "/dev/null", https(ctx, "/hello.txt?slow"))
        eq(r.rc, 0, r.err)
        check(r.elapsed >= 0.5, "delay over https: %.3f s" % r.elapsed)
        t = r.text.lower()
        contains(t, "x-via-script: https")
        check("server:" not in t, "Server removed: %r" % r.text)
        no_script_errors(lu)
        stop(lu)
    finally:
        lu.stop(check=False)


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup)

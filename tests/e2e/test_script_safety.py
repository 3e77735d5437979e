"""Safety of lucent's Lua scripting: what happens when scripts go wrong.

Covers: a script with a syntax error, a runtime error in its main chunk or
in load(), or a missing script file -> lucent exits 2 with "script
FILE:LINE: message"; an error in a hook (requestheaders, response, done) is
logged with the script name, hook, file:line and flow id, and the exchange
continues exactly as if that hook call had not run (header, path and body
edits rolled back, respond()/kill() requested before the error dropped: the
origin sees the original request byte-exactly, the client the original
response); runaway loops stopped by --script-budget (also a loop around
pcall); a memory hog stopped by --script-memory ("not enough memory"), the
state still usable afterwards; bodies over --body-limit stream through (hooks
run with body nil and streamed true, header edits still apply, 64 KiB
delivered intact both ways, also chunked), a body exactly at the limit is
buffered; reload of a changed file (new behaviour within a bounded wait,
"reloaded" on stderr, unload()/load() called), a broken new version or one
whose load() fails keeps the old one (error with file:line), replacement by
rename, and reload with two workers; two scripts run in order (the second
sees the first's edits, flow.state is per script, respond() in the first
skips the second's request hooks but not its response hooks, an error in the
first does not stop the second); a stored flow or headers object used after
its hook -> error, no crash; CR/LF/NUL or bad names in header names/values
(set, add, respond) -> error, request served unchanged.

Run: python3 tests/e2e/test_script_safety.py --lucent build/lucent
"""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402
import scripting as S  # noqa: E402


def setup():
    ctx = H.Ctx()
    ctx.sc = S.Scripts()
    ctx.nginx = H.Nginx()
    ctx.tmp = H.mktemp("lsc-t-")
    return ctx


def start(ctx, text, args=(), env=None, workers=1, **kw):
    path = ctx.sc.write(text)
    lu = ctx.sc.lucent([path], list(args), env=env, workers=workers, **kw)
    lu.script = path
    return lu


def stop(lu):
    check(lu.alive(), "lucent died; stderr:\n" + lu.stderr()[-3000:])
    lu.stop()


def line_of(path, marker):
    with open(path) as f:
        for i, ln in enumerate(f, 1):
            if marker in ln:
                return i
    raise AssertionError("marker %r not in %s" % (marker, path))


def hook_error_re(path, hook, line, message):
    """Regex of `lucent: [error] script FILE: HOOK: FILE:LINE: message (flow fN)` (group 1: N)."""
    f = S.fname(path)
    return (r"^lucent: " + S.LEVEL_ERROR + r"script " + f + r": " + hook + r": " + f + r":" + str(line) +
            r": " + message + r" \(flow f?(\d+)\)$")


def run_cmd(ctx, args, timeout=10):
    return H.run_lucent_cmd(["-p", "0", "--headless"] + list(args), timeout=timeout,
                            confdir=ctx.sc.confdir)


# ---------------------------------------------------------------------------
# scripts that fail to load
# ---------------------------------------------------------------------------

def test_syntax_error_exits_2(ctx):
    path = ctx.sc.write("-- line 1\nlocal a = 1\nlocal b = = 2\n", name="bad.lua", prelude=False)
    rc, out, err = run_cmd(ctx, ["-s", path])
    eq(rc, 2, "exit status for a script with a syntax error; stderr: %r" % err)
    check(re.search(r"^lucent: " + S.LEVEL_ERROR + r"script " + S.fname(path) + r":3: .*near '='", err, re.M),
          "message 'lucent: script FILE:3: ...': %r" % err)
    check("listening on" not in err, "must not start listening: %r" % err)


def test_chunk_runtime_error_exits_2(ctx):
    path = ctx.sc.write("local t = nil\n\nlocal x = t.field\n", name="chunk.lua", prelude=False)
    rc, out, err = run_cmd(ctx, ["-s", path])
    eq(rc, 2, "exit status; stderr: %r" % err)
    check(re.search(r"^lucent: " + S.LEVEL_ERROR + r"script " + S.fname(path) + r":3: .*index", err, re.M),
          "message 'lucent: script FILE:3: ...': %r" % err)


def test_load_error_exits_2(ctx):
    path = ctx.sc.write("function load()\n    error(\"load failed here\")\nend\n", name="lerr.lua", prelude=False)
    rc, out, err = run_cmd(ctx, ["-s", path])
    eq(rc, 2, "exit status when load() fails; stderr: %r" % err)
    # "script FILE:2: ..." or, like a hook error, "script FILE: load: FILE:2: ..."
    f = S.fname(path)
    check(re.search(r"^lucent: " + S.LEVEL_ERROR + r"script " + f + r"(?:: load: " + f + r")?:2: load failed here",
                    err, re.M), "message 'lucent: script FILE:2: load failed here': %r" % err)


def test_missing_script_exits_2(ctx):
    path = os.path.join(ctx.sc.dir, "does-not-exist.lua")
    rc, out, err = run_cmd(ctx, ["-s", path])
    eq(rc, 2, "exit status for a missing script; stderr: %r" % err)
    contains(err, "does-not-exist.lua")
    # a good script after a bad one does not help
    good = ctx.sc.write("function request(flow) end\n", prelude=False)
    bad = ctx.sc.write("x = = 1\n", name="bad2.lua", prelude=False)
    rc, out, err = run_cmd(ctx, ["-s", good, "-s", bad])
    eq(rc, 2, "second script broken; stderr: %r" % err)
    contains(err, "bad2.lua:1:")


# ---------------------------------------------------------------------------
# errors in hooks: logged, and undone
# ---------------------------------------------------------------------------

HOOK_ERRORS = r"""
function requestheaders(flow)
    local p = flow.request.path
    local h = flow.request.headers
    h["X-Before"] = "1"
    h["X-Keep"] = nil
    h["X-Multi"] = {"m"}
    flow.request.path = "/changed"
    flow.request.method = "DELETE"
    if p == "/respond-then-fail" then
        flow:respond(500, {}, "must not be sent")
    elseif p == "/kill-then-fail" then
        flow:kill()
    end
    error("boom in requestheaders") -- MARK-RH
end
function request(flow)
    if flow.request.body then
        flow.request.body = "changed body"
        local x = nil
        x.y = 1 -- MARK-RQ
    end
end
function response(flow)
    flow.response.body = "changed"
    flow.response.status = 500
    flow.response.headers["X-R"] = "2"
    flow.response.headers["X-Extra"] = "3"
    error("boom in response") -- MARK-RS
end
function done(flow)
    flow.request.headers["X-Keep"] = "redacted-but-failing"
    error("boom in done") -- MARK-DN
end
"""


def test_hook_errors_are_undone(ctx):
    o = H.Origin(H.handler_fixed(headers=[("X-R", "1"), ("Content-Type", "text/plain")], body=b"original\n"))
    lu = start(ctx, HOOK_ERRORS)
    try:
        a = o.authority()
        head = "GET http://%s/orig?q=1 HTTP/1.1\r\nHost: %s\r\nX-Keep: k\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n" % (a, a)
        c = H.RawClient(lu.port)
        try:
            m = c.request(head)
            m2 = c.request(head.replace("/orig?q=1", "/respond-then-fail"))
            m3 = c.request(head.replace("/orig?q=1", "/kill-then-fail"))
            body = b"original request body"
            m4 = c.request(("POST http://%s/post HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (
                a, a, len(body))).encode() + body, "POST")
        finally:
            c.close()
        for x in (m, m2, m3, m4):
            eq(x.status, 200, "the original response: %r" % x)
            eq(x.body, b"original\n")
            eq(x.headers, [("X-R", "1"), ("Content-Type", "text/plain"), ("Content-Length", "9")],
               "response headers as the origin sent them")
        eq(len(o.requests), 4, "every request reached the origin (respond/kill of a failed hook dropped)")
        eq(S.head_lines(o.requests[0].raw_head),
           ["GET /orig?q=1 HTTP/1.1", "Host: " + a, "X-Keep: k", "X-Multi: 1", "X-Multi: 2"],
           "the origin saw the ORIGINAL request head")
        eq(o.requests[1].start_line, "GET /respond-then-fail HTTP/1.1")
        eq(o.requests[2].start_line, "GET /kill-then-fail HTTP/1.1")
        eq(o.requests[3].body, body, "request body edit rolled back")
        eq(o.requests[3].get("Content-Length"), str(len(body)))
        p = lu.script
        mrh = S.wait_stderr(lu, hook_error_re(p, "requestheaders", line_of(p, "MARK-RH"), "boom in requestheaders"))
        S.wait_stderr(lu, hook_error_re(p, "request", line_of(p, "MARK-RQ"), r"attempt to index a nil value.*"))
        S.wait_stderr(lu, hook_error_re(p, "response", line_of(p, "MARK-RS"), "boom in response"))
        S.wait_stderr(lu, hook_error_re(p, "done", line_of(p, "MARK-DN"), "boom in done"))
        fid = int(mrh.group(1))
        f = lu.wait_flow(lambda f: f.get("id") == fid, 5)
        check(f, "the flow id in the error message is a flow of the log: %r" % fid)
        eq(f["url"], "http://%s/orig?q=1" % a)
        eq(f["request_headers"], [["Host", a], ["X-Keep", "k"], ["X-Multi", "1"], ["X-Multi", "2"]],
           "an error in done() leaves the record as it was")
        eq(f["status"], 200)
        eq(f["error"], None, "a script error is not a flow error")
        eq(len(re.findall(r"boom in requestheaders", lu.stderr())), 4, "one error line per failing call")
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


BUDGET = r"""
function request(flow)
    local p = flow.request.path
    flow.request.headers["X-Loop"] = "1"
    if p == "/loop" then
        while true do end -- MARK-LOOP
    elseif p == "/pcall" then
        while true do
            pcall(function() while true do end end)
        end
    elseif p == "/gsub" then
        local s = string.rep("a", 1000)
        while true do s = s:gsub("a", "a") end
    end
end
function response(flow)
    flow.response.headers["X-Still-Working"] = "yes"
end
"""


def test_runaway_loops_stopped(ctx):
    o = H.Origin(H.handler_fixed(body=b"served\n"))
    lu = start(ctx, BUDGET, args=["--script-budget", "100000"])
    try:
        for p in ("/loop", "/pcall", "/gsub"):
            r = H.curl(lu, "-D", "-", "-o", "-", o.url(p), max_time=30)
            eq(r.rc, 0, "%s: %s" % (p, r.err))
            check(r.out.endswith(b"served\n"), "%s served: %r" % (p, r.out[-300:]))
            contains(r.text, "X-Still-Working: yes", "the response hook still runs after a stopped request hook")
        eq([m.target for m in o.requests], ["/loop", "/pcall", "/gsub"])
        for m in o.requests:
            eq(m.get("X-Loop"), None, "edits of the stopped hook are undone")
        S.wait_stderr(lu, hook_error_re(lu.script, "request", r"\d+", r".*instruction budget.*"))
        eq(len(re.findall(r"instruction budget", lu.stderr())), 3,
           "each runaway call reported once:\n" + lu.stderr()[-3000:])
        check(re.search(S.fname(lu.script) + r":" + str(line_of(lu.script, "MARK-LOOP")) + r": .*instruction budget",
                        lu.stderr()), "the line of the loop is named:\n" + lu.stderr()[-2000:])
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


MEMORY = r"""
function request(flow)
    local p = flow.request.path
    flow.request.headers["X-Hog"] = "1"
    if p == "/hog" then
        local t = {}
        for i = 1, 1e9 do
            t[i] = string.rep("x", 1000) .. i
        end
    elseif p == "/big" then
        local s = string.rep("x", 100 * 1024 * 1024)
        emit("big", {len = #s})
    end
end
function response(flow)
    flow.response.headers["X-Still-Working"] = "yes"
    local t = {}
    for i = 1, 100 do t[i] = string.rep("y", 100) .. i end
    emit("resp", {path = flow.request.path, n = #t})
end
"""


def test_memory_limit(ctx):
    o = H.Origin(H.handler_fixed(body=b"served\n"))
    # the budget only bounds the damage should the memory cap not work
    lu = start(ctx, MEMORY, args=["--script-memory", "8m", "--script-budget", "2000000"])
    try:
        for p in ("/hog", "/big", "/hog", "/fine"):
            r = H.curl(lu, "-D", "-", "-o", "-", o.url(p), max_time=30)
            eq(r.rc, 0, "%s: %s" % (p, r.err))
            check(r.out.endswith(b"served\n"), "%s served: %r" % (p, r.out[-300:]))
            contains(r.text, "X-Still-Working: yes", "the state still works after running out of memory")
        for m in o.requests:
            eq(m.get("X-Hog"), "1" if m.target == "/fine" else None,
               "edits of the failed hook are undone (%s)" % m.target)
        # Lua gives an out-of-memory error no position: FILE:LINE is optional here
        f = S.fname(lu.script)
        S.wait_stderr(lu, r"^lucent: " + S.LEVEL_ERROR + r"script " + f + r": request: (?:" + f +
                      r":\d+: )?not enough memory \(flow f?\d+\)$")
        check(len(re.findall(r"not enough memory", lu.stderr())) >= 3,
              "three out-of-memory errors:\n" + lu.stderr()[-3000:])
        eq(len(S.emits(lu, "big")), 0, "a 100 MiB string cannot be made under an 8 MiB cap")
        eq(len(S.wait_emits(lu, "resp", 4)), 4)
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# bodies over --body-limit
# ---------------------------------------------------------------------------

LIMIT = r"""
function request(flow)
    local r = flow.request
    emit("req", {path = r.path, has_body = r.body ~= nil, has_raw = r.raw_body ~= nil, streamed = r.streamed,
                 len = r.body and #r.body})
    r.headers["X-Req-Hook"] = "1"
end
function response(flow)
    local s = flow.response
    emit("resp", {path = flow.request.path, has_body = s.body ~= nil, has_raw = s.raw_body ~= nil,
                  streamed = s.streamed, len = s.body and #s.body})
    s.headers["X-Resp-Hook"] = "1"
end
"""


def test_bodies_over_the_limit(ctx):
    o = H.Origin(H.handler_echo_body())
    lu = start(ctx, LIMIT, args=["--body-limit", "1k"])
    try:
        big = os.urandom(64 * 1024)
        at = os.urandom(1024)
        over = os.urandom(1025)
        files = {}
        for name, data in (("big", big), ("at", at), ("over", over)):
            files[name] = os.path.join(ctx.tmp, name + ".bin")
            with open(files[name], "wb") as f:
                f.write(data)
        got = {}
        for name in ("big", "at", "over"):
            r = H.curl(lu, "-D", "-", "-o", os.path.join(ctx.tmp, name + ".out"), "--data-binary",
                       "@" + files[name], o.url("/" + name))
            eq(r.rc, 0, r.err)
            contains(r.text, "X-Resp-Hook: 1", "response header edit on a streamed body")
            with open(os.path.join(ctx.tmp, name + ".out"), "rb") as f:
                got[name] = f.read()
        # chunked upload of unknown length
        r = H.curl(lu, "-o", os.path.join(ctx.tmp, "chunked.out"), "-H", "Transfer-Encoding: chunked",
                   "--data-binary", "@" + files["big"], o.url("/chunked"))
        eq(r.rc, 0, r.err)
        with open(os.path.join(ctx.tmp, "chunked.out"), "rb") as f:
            got["chunked"] = f.read()
        want = {"big": big, "at": at, "over": over, "chunked": big}
        for name, data in want.items():
            eq(H.sha256(got[name]), H.sha256(data), "client got the whole %s body back" % name)
        by = {m.target: m for m in o.requests}
        for name, data in want.items():
            m = by["/" + name]
            eq(H.sha256(m.body), H.sha256(data), "origin got the whole %s body" % name)
            eq(m.get("X-Req-Hook"), "1", "request header edit on %s" % name)
        req = {e["path"]: e for e in S.wait_emits(lu, "req", 4)}
        resp = {e["path"]: e for e in S.wait_emits(lu, "resp", 4)}
        for name in ("big", "over", "chunked"):
            e = req["/" + name]
            eq((e["has_body"], e["has_raw"], e["streamed"]), (False, False, True), "request hook, %s body" % name)
            e = resp["/" + name]
            eq((e["has_body"], e["has_raw"], e["streamed"]), (False, False, True), "response hook, %s body" % name)
        eq((req["/at"]["has_body"], req["/at"]["streamed"], req["/at"]["len"]), (True, False, 1024),
           "a request body of exactly --body-limit is buffered")
        eq((resp["/at"]["has_body"], resp["/at"]["streamed"], resp["/at"]["len"]), (True, False, 1024),
           "a response body of exactly --body-limit is buffered")
        # a big download from nginx
        r = H.curl(lu, "-o", "-", ctx.nginx.url("/64k.bin"))
        eq(r.rc, 0, r.err)
        eq(H.sha256(r.out), H.sha256(ctx.nginx.files["64k.bin"]))
        e = {x["path"]: x for x in S.wait_emits(lu, "resp", 5)}["/64k.bin"]
        eq((e["has_body"], e["streamed"]), (False, True))
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# reload
# ---------------------------------------------------------------------------

def _version_script(v, extra=""):
    return (r"""
function load() lucent.log("load v%(v)s") end
function unload() lucent.log("unload v%(v)s") end
function responseheaders(flow)
    flow.response.headers["X-Version"] = "%(v)s"
end
""" % dict(v=v)) + extra


def _rewrite(path, text, rename=False):
    st = os.stat(path)
    if rename:
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.utime(tmp, (st.st_mtime + 2, st.st_mtime + 2))
        os.replace(tmp, path)
    else:
        with open(path, "w") as f:
            f.write(text)
        os.utime(path, (st.st_mtime + 2, st.st_mtime + 2))


def _version(lu, url):
    r = H.curl(lu, "-D", "-", "-o", "/dev/null", url)
    if r.rc != 0:
        return "curl failed: %s" % r.err
    m = re.search(r"(?im)^X-Version: (\S+)\r?$", r.text)
    return m.group(1) if m else None


def _wait_version(lu, url, v, timeout=5.0, consecutive=1):
    deadline = time.monotonic() + timeout
    streak = 0
    seen = None
    while time.monotonic() < deadline:
        seen = _version(lu, url)
        streak = streak + 1 if seen == v else 0
        if streak >= consecutive:
            return
        time.sleep(0.1)
    raise H.TestFailure("version %s not active within %.0fs (last seen %r); stderr:\n%s" % (
        v, timeout, seen, lu.stderr()[-2000:]))


def test_reload(ctx):
    path = ctx.sc.write(_version_script("1"), name="rel.lua", prelude=False)
    lu = ctx.sc.lucent([path], workers=1)
    url = ctx.nginx.url("/hello.txt")
    f = S.fname(path)
    try:
        eq(_version(lu, url), "1")
        S.wait_stderr(lu, r"script " + f + r": load v1$")
        _rewrite(path, _version_script("2", "-- a longer version\n"))
        _wait_version(lu, url, "2")
        S.wait_stderr(lu, r"^lucent: " + S.LEVEL_INFO + r"script " + f + r" reloaded$")
        S.wait_stderr(lu, r"script " + f + r": unload v1$")
        S.wait_stderr(lu, r"script " + f + r": load v2$")
        # a broken version: error with file:line, the old one stays
        _rewrite(path, "function responseheaders(flow)\n    flow.response.headers[\"X-Version\"] = = 3\nend\n")
        S.wait_stderr(lu, r"^lucent: " + S.LEVEL_ERROR + r"script " + f + r":2: .*\(previous version stays active\)$")
        for _ in range(3):
            eq(_version(lu, url), "2", "the previous version stays active")
        check("unload v2" not in lu.stderr(), "the active version must not be unloaded for a broken one")
        # a version whose load() fails: same
        _rewrite(path, _version_script("4") + "\nfunction load()\n    error(\"no load today\")\nend\n")
        S.wait_stderr(lu, r"^lucent: " + S.LEVEL_ERROR + r"script " + f + r"(?:: load: " + f + r")?:\d+: no load today.*"
                      r"\(previous version stays active\)$")
        eq(_version(lu, url), "2")
        # replaced by rename (new inode), as editors do
        _rewrite(path, _version_script("5"), rename=True)
        _wait_version(lu, url, "5")
        S.wait_stderr(lu, r"script " + f + r": load v5$")
        eq(len(re.findall(r"script " + f + r" reloaded", lu.stderr())), 2, "two successful reloads")
        stop(lu)
        S.wait_stderr(lu, r"script " + f + r": unload v5$", 2)
    finally:
        lu.stop(check=False)


def test_reload_two_workers(ctx):
    path = ctx.sc.write(_version_script("1"), name="rel2.lua", prelude=False)
    lu = ctx.sc.lucent([path], workers=2)
    url = ctx.nginx.url("/hello.txt")
    try:
        eq(_version(lu, url), "1")
        _rewrite(path, _version_script("2", "-- v2\n"))
        _wait_version(lu, url, "2", timeout=6, consecutive=10)
        eq(len(re.findall(r"reloaded", lu.stderr())), 1, "the reload is reported once, not per worker")
        stop(lu)
    finally:
        lu.stop(check=False)


# ---------------------------------------------------------------------------
# several scripts
# ---------------------------------------------------------------------------

FIRST = r"""
function requestheaders(flow)
    flow.state.who = "first"
    flow.request.headers["X-Order"] = "1"
end
function request(flow)
    if flow.request.path == "/mock" then
        flow:respond(200, {}, "mocked")
    elseif flow.request.path == "/err" then
        flow.request.headers["X-Order"] = "error"
        error("first fails")
    end
end
function response(flow)
    flow.response.body = flow.response.body .. "+first"
end
"""

SECOND = r"""
function requestheaders(flow)
    emit("second", {hook = "requestheaders", path = flow.request.path, order = flow.request.headers["X-Order"],
                    state = flow.state.who})
    flow.request.headers["X-Order"] = flow.request.headers["X-Order"] .. ",2"
end
function request(flow)
    emit("second", {hook = "request", path = flow.request.path})
end
function responseheaders(flow)
    flow.response.headers["X-Second"] = "yes"
end
function response(flow)
    flow.response.body = flow.response.body .. "+second"
end
"""


def test_two_scripts_in_order(ctx):
    o = H.Origin(H.handler_fixed(body=b"origin"))
    s1 = ctx.sc.write(FIRST, name="first.lua")
    s2 = ctx.sc.write(SECOND, name="second.lua")
    lu = ctx.sc.lucent([s1, s2])
    try:
        r = H.curl(lu, "-D", "-", "-o", "-", o.url("/plain"))
        eq(r.rc, 0, r.err)
        check(r.out.endswith(b"origin+first+second"), "response hooks in order: %r" % r.out[-200:])
        contains(r.text, "X-Second: yes")
        eq(o.requests[0].get_all("X-Order"), ["1,2"], "the second script sees the first's edits")
        r = H.curl(lu, "-D", "-", "-o", "-", o.url("/mock"))
        eq(r.rc, 0, r.err)
        check(r.out.endswith(b"mocked+first+second"), "response hooks run for a respond() reply: %r" % r.out)
        contains(r.text, "X-Second: yes")
        r = H.curl(lu, "-o", "-", o.url("/err"))
        eq((r.rc, r.out), (0, b"origin+first+second"), r.err)
        eq(o.requests[-1].get_all("X-Order"), ["1,2"], "the first's failed request() is undone, the second still runs")
        eq([m.target for m in o.requests], ["/plain", "/err"])
        ev = S.emits(lu, "second")
        rh = [e for e in ev if e["hook"] == "requestheaders"]
        eq([e["order"] for e in rh], ["1", "1", "1"])
        eq([e.get("state") for e in rh], [None, None, None], "flow.state is per script")
        eq([e["path"] for e in ev if e["hook"] == "request"], ["/plain", "/err"],
           "after the first script's respond(), the second's request hook is not called")
        S.wait_stderr(lu, r"script " + S.fname(s1) + r": request: " + S.fname(s1) + r":\d+: first fails")
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


# ---------------------------------------------------------------------------
# misuse
# ---------------------------------------------------------------------------

STALE = r"""
local saved, saved_h
function request(flow)
    if saved then
        local ok, err = pcall(function() return saved.request.method end)
        emit("stale", {ok = ok, err = tostring(err)})
        local ok2, err2 = pcall(function() return saved_h["Host"] end)
        emit("stale", {ok = ok2, err = tostring(err2)})
        flow.request.headers["X-Before"] = "1"
        saved.request.headers["X-Stale"] = "1" -- MARK-STALE
    end
    saved = flow
    saved_h = flow.request.headers
end
"""


def test_stale_flow_reference(ctx):
    o = H.Origin(H.handler_fixed(body=b"ok\n"))
    lu = start(ctx, STALE)
    try:
        for i in range(3):
            r = H.curl(lu, "-o", "-", o.url("/s%d" % i))
            eq((r.rc, r.out), (0, b"ok\n"), r.err)
        for m in o.requests:
            eq(m.get("X-Stale"), None)
            eq(m.get("X-Before"), None, "the failed call's edits are undone")
        st = S.wait_emits(lu, "stale", 4)
        for e in st:
            eq(e["ok"], False, "using a stale object raises")
            contains(e["err"], "flow used after its hook returned")
        S.wait_stderr(lu, hook_error_re(lu.script, "request", line_of(lu.script, "MARK-STALE"),
                                        r".*flow used after its hook returned.*"))
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


INJECT = r"""
function requestheaders(flow)
    local p = flow.request.path
    local h = flow.request.headers
    h["X-Before"] = "1"
    if p == "/v-crlf" then
        h["X-Bad"] = "a\r\nInjected: 1"
    elseif p == "/v-lf" then
        h:add("X-Bad", "a\nInjected: 1")
    elseif p == "/v-nul" then
        h["X-Bad"] = "a\0b"
    elseif p == "/n-colon" then
        h["X-Bad: Injected"] = "1"
    elseif p == "/n-crlf" then
        h["X-Bad\r\nInjected"] = "1"
    elseif p == "/n-empty" then
        h[""] = "1"
    elseif p == "/list" then
        h["X-Bad"] = {"ok", "b\r\nInjected: 1"}
    elseif p == "/respond" then
        flow:respond(200, {["X-Bad"] = "a\r\nInjected: 1"}, "must not be sent")
    elseif p == "/reason" then
        flow:respond(200, {}, "x")
    end
end
function responseheaders(flow)
    if flow.request.path == "/resp" then
        flow.response.headers["X-R"] = "1\r\nInjected: 1"
    elseif flow.request.path == "/reason" then
        flow.response.reason = "OK\r\nInjected: 1"
    end
end
"""


def test_header_injection_refused(ctx):
    o = H.Origin(H.handler_fixed(headers=[("X-R", "0")], body=b"origin\n"))
    lu = start(ctx, INJECT)
    try:
        paths = ["/v-crlf", "/v-lf", "/v-nul", "/n-colon", "/n-crlf", "/n-empty", "/list", "/respond", "/resp"]
        a = o.authority()
        for p in paths:
            m = H.raw_request(lu.port, "GET http://%s%s HTTP/1.1\r\nHost: %s\r\nX-Orig: o\r\n\r\n" % (a, p, a))
            eq(m.status, 200, p)
            eq(m.body, b"origin\n", "%s served by the origin" % p)
            eq(m.get("X-R"), "0", p)
            eq(m.get("Injected"), None, p)
        eq([x.target for x in o.requests], paths)
        for x in o.requests:
            # /resp fails only in responseheaders: its request edit stands
            extra = ["X-Before: 1"] if x.target == "/resp" else []
            eq(S.head_lines(x.raw_head), ["GET %s HTTP/1.1" % x.target, "Host: " + a, "X-Orig: o"] + extra,
               "origin got the original head for %s" % x.target)
        m = H.raw_request(lu.port, "GET http://%s/reason HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, a))
        eq(m.get("Injected"), None, "a reason with CRLF is refused")
        check("\r" not in m.reason and "\n" not in m.reason, "reason: %r" % m.reason)
        n_rh = len(re.findall(r": requestheaders: .*\(flow f?\d+\)$", lu.stderr(), re.M))
        eq(n_rh, 8, "an error per refused request header/respond:\n" + lu.stderr()[-3000:])
        n_resp = len(re.findall(r": responseheaders: .*\(flow f?\d+\)$", lu.stderr(), re.M))
        eq(n_resp, 2, "an error per refused response header/reason:\n" + lu.stderr()[-3000:])
        stop(lu)
    finally:
        lu.stop(check=False)
        o.stop()


def test_still_alive(ctx):
    # lucent with every failing script above still exits cleanly; one more quick sanity run
    lu = start(ctx, "function request(flow) error('x') end\n")
    try:
        for _ in range(5):
            r = H.curl(lu, "-o", "-", ctx.nginx.url("/hello.txt"))
            eq((r.rc, r.out), (0, H.HELLO_TXT), r.err)
        stop(lu)
    finally:
        lu.stop(check=False)


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup)

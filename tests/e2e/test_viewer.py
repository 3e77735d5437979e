"""The terminal viewer of lucent, driven in tmux with real curl traffic.

lucent runs in a detached tmux session on a private tmux socket (stdout is
the pane's terminal, so the viewer opens; stderr goes to a file so sanitizer
reports are kept); keys go in with send-keys, the screen comes back with
capture-pane, every wait is a bounded poll of the screen.

Covers: flows from curl -x in the list (method, status, host, path) and the
[shown/total] count; the filter prompt narrowing the list, a bad filter
reported without closing the prompt or crashing; details with the request
and response headers, a gzip JSON body decoded and pretty-printed, the hex
view (m); search; export as a curl command that bash runs against the origin
directly and that reproduces the request (method, path, headers, body, also
a body with NUL bytes), as raw HTTP and as HAR; saving the shown flows as HAR
(w: HAR 1.2 fields) and opening that file with -r; --har FILE valid after
every flow while lucent runs (and --filter limiting what it records); replay
(the origin sees the request again, the new flow is marked); delete (the
total goes down), clear, follow, help, quit with its question (exit status
0); resizing down to a
tiny window while flows arrive and back (the list fills the window again);
escape sequences in a reason phrase, C1 controls and invalid UTF-8 in a
header value and a non-UTF-8 body shown escaped without touching the
terminal (pane title, screen); --max-flows 20 under 50 requests (20 shown,
dropped 30); replaying an intercepted HTTPS flow. 100,000 flows are left to
the model's unit test (tests/unit/test_model.c).

Run: python3 tests/e2e/test_viewer.py --lucent build/lucent
"""

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402

TMUX = shutil.which("tmux")
WAIT = 10.0  # seconds any expected screen gets to appear

JSON_DOC = {"name": "lucent", "nested": {"list": [1, 2, 3], "ok": True}, "count": 42}
JSON_BYTES = json.dumps(JSON_DOC, separators=(",", ":")).encode()
# llhttp refuses control characters in header fields (lucent answers 502),
# but not in the reason phrase; header values may hold any byte >= 0x80
# (here an 8-bit CSI, invalid UTF-8 and U+009B, the CSI as UTF-8).
EVIL_REASON = b"OK\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mred"
EVIL_HEADER = b"a\x9b2Jb \xff\xfe c\xc2\x9bd"
EVIL_BODY = b"caf\xe9 \x1b[2J\x1b]2;PWNED-BODY\x07 \xff\xfe end\n"


# ---------------------------------------------------------------------------
# the origin: one handler, behaviour by path
# ---------------------------------------------------------------------------

def origin_handler(c):
    while True:
        req = c.read_request()
        if req is None:
            return
        path = req.target.split("?", 1)[0]
        body = b""
        if path == "/json-gz":
            body = gzip.compress(JSON_BYTES)
            hs = [("Content-Type", "application/json"), ("Content-Encoding", "gzip"),
                  ("X-Resp-Marker", "resp-xyz-789")]
        elif path == "/evil":
            c.send(b"HTTP/1.1 200 " + EVIL_REASON + b"\r\nContent-Type: text/plain\r\nX-Evil: " + EVIL_HEADER +
                   b"\r\nContent-Length: %d\r\n\r\n" % len(EVIL_BODY) + EVIL_BODY)
            continue
        elif path.startswith("/echo") or path.startswith("/export"):
            hs = [("Content-Type", "application/octet-stream")]
            body = req.body
        else:
            hs = [("Content-Type", "text/plain")]
            body = b"origin-ok " + path.encode() + b"\n"
        c.respond(200, "OK", hs, body if req.method != "HEAD" else b"")
        if (req.get("Connection") or "").lower() == "close":
            return


# ---------------------------------------------------------------------------
# lucent in tmux
# ---------------------------------------------------------------------------

class Viewer:
    """lucent's viewer in a detached tmux session of its own tmux server
    (private socket in a temporary directory; never the user's server)."""

    def __init__(self, args=(), width=160, height=40, read=None, proxy=True, wait=True, env=()):
        self.dir = H.mktemp("lucent-e2e-viewer-")
        self.sock = os.path.join(self.dir, "tmux.sock")
        self.cwd = os.path.join(self.dir, "cwd")
        os.makedirs(self.cwd)
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.rc_path = os.path.join(self.dir, "rc")
        self.confdir = os.path.join(self.dir, "conf")
        home = H.private_home()
        self.port = H.free_port() if proxy else None
        cmd = [H.lucent_path(), "--confdir", self.confdir]
        if self.port:
            cmd += ["-p", str(self.port)]
        if read:
            cmd += ["-r", read]
        cmd += list(args)
        self.cmd = cmd
        env = ["HOME=" + home, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=screen-256color"] + list(env)
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if os.environ.get(k):
                env.append("%s=%s" % (k, os.environ[k]))
        # the pane's shell runs lucent and keeps its exit status (tmux 3.3's
        # pane_dead_status is not reliable); remain-on-exit keeps the last screen
        shell = "env %s %s 2>%s; echo $? >%s" % (" ".join(_q(e) for e in env), " ".join(_q(a) for a in cmd),
                                                 _q(self.stderr_path), _q(self.rc_path))
        self.target = "v:0.0"
        self.size = (width, height)
        self.pid = None
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "v", "-x", str(width), "-y", str(height),
                  "-c", self.cwd, shell, ";", "set-option", "-t", "v", "remain-on-exit", "on")
        H._CLEANUPS.append(self.kill)
        self.shell_pid = int(self.tmux("display-message", "-p", "-t", self.target, "#{pane_pid}").strip())
        self.pid = H.wait_until(self._child_pid, 5) or None
        if not wait:
            return
        check(self.pid, "lucent did not start in tmux; stderr:\n" + self.stderr())
        if self.port:
            if not H.wait_port(self.port, "127.0.0.1", 10):
                raise RuntimeError("lucent in tmux is not listening on %d:\n%s\nstderr:\n%s" % (
                    self.port, self.screen(), self.stderr()))
            self.proxy = "http://127.0.0.1:%d" % self.port
        self.wait_for("? help")

    # -- tmux -------------------------------------------------------------------

    def tmux(self, *args, check_rc=True):
        p = subprocess.run([TMUX, "-S", self.sock] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        if check_rc and p.returncode != 0:
            raise RuntimeError("tmux %s: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
        return p.stdout.decode("utf-8", "replace")

    def keys(self, *keys):
        """send-keys: tmux key names (Enter, Escape, Up, C-u, ...)."""
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text):
        """Literal text."""
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", self.target, check_rc=False)

    def height(self):
        return int(self.tmux("display-message", "-p", "-t", self.target, "#{pane_height}").strip())

    def width(self):
        return int(self.tmux("display-message", "-p", "-t", self.target, "#{pane_width}").strip())

    def title(self):
        return self.tmux("display-message", "-p", "-t", self.target, "#{pane_title}").strip()

    def resize(self, w, h):
        self.tmux("resize-window", "-t", "v", "-x", str(w), "-y", str(h))

    def wait_for(self, what, timeout=WAIT, msg=""):
        """Polls the screen until what (a string, a compiled regex or a
        predicate on the screen text) holds; returns the screen."""
        if isinstance(what, str):
            pred = lambda s: what in s  # noqa: E731
            desc = repr(what)
        elif hasattr(what, "search"):
            pred = lambda s: what.search(s) is not None  # noqa: E731
            desc = "/%s/" % what.pattern
        else:
            pred = what
            desc = getattr(what, "__name__", "condition")
        deadline = time.monotonic() + timeout
        s = ""
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.monotonic() > deadline:
                break
            if not self.alive():
                break
            time.sleep(0.05)
        raise H.TestFailure("%sscreen never showed %s within %.0fs (lucent %s); screen:\n%s\nstderr:\n%s" % (
            msg + ": " if msg else "", desc, timeout, "alive" if self.alive() else "DEAD", s,
            self.stderr()[-2000:]))

    def wait_status(self, regex, timeout=WAIT, msg=""):
        r = re.compile(regex)
        return self.wait_for(lambda s: r.search(self._last_line(s)) is not None, timeout,
                             msg or "status bar /%s/" % regex)

    def _last_line(self, s):
        ls = s.split("\n")
        while ls and ls[-1] == "":
            ls.pop()
        return ls[-1] if ls else ""

    # -- lucent -----------------------------------------------------------------

    def _child_pid(self):
        """lucent: the child of the pane's shell."""
        try:
            with open("/proc/%d/task/%d/children" % (self.shell_pid, self.shell_pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None

    def exit_status(self):
        """lucent's exit status once it has ended (shell style: 128+N for
        signal N), else None."""
        try:
            with open(self.rc_path) as f:
                t = f.read().strip()
        except OSError:
            return None
        return int(t) if t.isdigit() else None

    def alive(self):
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    def wait_exit(self, timeout=10):
        H.wait_until(lambda: self.exit_status() is not None, timeout)
        return self.exit_status()

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_stderr_clean(self):
        err = self.stderr()
        for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer", "Assertion"):
            check(bad not in err, "sanitizer/assert report from lucent:\n" + err[-4000:])

    def reset(self):
        """Back to the list, no prompt, no filter, no flows, following, at
        the size the viewer started with."""
        if (self.width(), self.height()) != self.size:
            self.resize(*self.size)
            H.wait_until(lambda: (self.width(), self.height()) == self.size, 5)
        for _ in range(3):
            self.keys("Escape")
            time.sleep(0.08)  # Esc needs its escdelay (50 ms) to stand alone
        s = self.screen()
        if "host / path" not in s:  # still in help or details
            self.keys("Escape")
            self.wait_for("host / path", msg="back to the list")
        self.keys("f", "C-u", "Enter")
        self.wait_status(r"filter cleared|\[\d+/\d+\]")
        self.keys("z")
        self.wait_status(r"\[0/0\] \[follow\]", msg="cleared")

    def kill(self):
        """Ends the tmux server (and with it lucent, by SIGHUP); then makes
        sure lucent's PID is gone."""
        self.tmux("kill-server", check_rc=False)
        if self.pid is not None and not H.wait_until(lambda: not self.alive(), 5):
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass

    def curl(self, *args, **kw):
        return H.curl(self.proxy, *args, **kw)

    def details(self, tab="1"):
        """Enter on the selected flow, then a tab (the view remembers the last one)."""
        self.keys("Enter")
        self.wait_for(" 1 Request ", msg="details screen")
        self.keys(tab)

    def back(self):
        self.keys("Escape")
        self.wait_for("host / path", msg="back to the list")

    def selected(self):
        """The path (and query) of the selected flow, read from its Request
        tab; back to the list after."""
        self.details("1")
        s = self.wait_for(REQ_LINE, msg="request line of the selected flow")
        self.back()
        return REQ_LINE.search(s).group(2)


REQ_LINE = re.compile(r"(?m)^([A-Z]+) https?://[^/\s]+(\S*) HTTP/1\.[01]\s*$")


def _q(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def rows(screen):
    """The flow rows of a list screen: lines starting with an index."""
    return [l for l in screen.split("\n")[1:-1] if re.match(r"^\s*\d+ \d\d:\d\d:\d\d ", l)]


def row_re(method, status, host, path):
    return re.compile(r"(?m)^\s*\d+ \d\d:\d\d:\d\d %s\s+%s\s.*\b%s %s(\s|$)" % (
        re.escape(method), re.escape(str(status)), re.escape(host), re.escape(path)))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

def setup():
    check(TMUX, "tmux not installed")
    ctx = H.Ctx()
    ctx.nginx = H.Nginx()
    ctx.origin = H.Origin(origin_handler)
    ctx.v = Viewer()
    ctx.har_saved = None
    return ctx


def teardown(ctx):
    try:
        ctx.v.check_stderr_clean()
    finally:
        ctx.v.kill()


def _origin_reqs(ctx, path):
    return [r for r in list(ctx.origin.requests) if r.target.split("?", 1)[0] == path]


# ---------------------------------------------------------------------------
# the list
# ---------------------------------------------------------------------------

def test_list_shows_curl_flows(ctx):
    v = ctx.v
    v.reset()
    contains(v.screen(), "waiting for flows", "empty list")
    na = "a.test:%d" % ctx.nginx.port
    oa = ctx.origin.authority()
    r = v.curl("-o", "/dev/null", ctx.nginx.url("/hello.txt"))
    eq(r.rc, 0, r.err)
    r = v.curl("-o", "/dev/null", ctx.nginx.url("/no-such-file"))
    eq(r.rc, 0, r.err)
    r = v.curl("-o", "/dev/null", "--data-binary", "posted", ctx.origin.url("/echo/list"))
    eq(r.rc, 0, r.err)
    s = v.wait_status(r"\[3/3\]")
    s = v.wait_for(row_re("POST", 200, oa, "/echo/list"))
    check(row_re("GET", 200, na, "/hello.txt").search(s), "GET row of /hello.txt:\n" + s)
    check(row_re("GET", 404, na, "/no-such-file").search(s), "404 row:\n" + s)
    rs = rows(s)
    eq(len(rs), 3, "rows on screen:\n" + s)
    check(re.match(r"^\s*1 ", rs[0]) and "/hello.txt" in rs[0], "arrival order: %r" % rs)
    check("/echo/list" in rs[2], "newest last: %r" % rs)
    # size and content type columns
    check(re.search(r"plain\s+28 B", rs[0]), "type and size of hello.txt (28 B): %r" % rs[0])
    contains(s, "[follow]")


def test_filter_narrows_list(ctx):
    v = ctx.v
    v.reset()
    for i in range(3):
        eq(v.curl("-o", "/dev/null", ctx.origin.url("/f/get%d" % i)).rc, 0)
    for i in range(2):
        eq(v.curl("-o", "/dev/null", "-d", "x=%d" % i, ctx.origin.url("/f/post%d" % i)).rc, 0)
    v.wait_status(r"\[5/5\]")
    v.keys("f")
    v.wait_status(r"^filter:(\s|$)", msg="filter prompt")
    v.type("~m POST")
    v.keys("Enter")
    s = v.wait_status(r"\[2/5\] filter: ~m POST")
    rs = rows(s)
    eq(len(rs), 2, "rows with ~m POST:\n" + s)
    check(all(" POST " in r for r in rs), "only POST rows:\n" + s)
    # more flows go through the filter as they come
    eq(v.curl("-o", "/dev/null", ctx.origin.url("/f/get-late")).rc, 0)
    eq(v.curl("-o", "/dev/null", "-d", "late", ctx.origin.url("/f/post-late")).rc, 0)
    s = v.wait_status(r"\[3/7\] filter: ~m POST")
    check("/f/post-late" in s and "/f/get-late" not in s, "new flows filtered:\n" + s)
    # a URL regex
    v.keys("f", "C-u")
    v.type("~u get[01]$")
    v.keys("Enter")
    s = v.wait_status(r"\[2/7\] filter: ~u get\[01\]\$")
    eq(sorted(re.search(r"/f/\S+", r).group(0) for r in rows(s)), ["/f/get0", "/f/get1"])


def test_bad_filter_reported(ctx):
    v = ctx.v
    v.reset()
    for i in range(2):
        eq(v.curl("-o", "/dev/null", ctx.origin.url("/bad/%d" % i)).rc, 0)
    eq(v.curl("-o", "/dev/null", "-d", "p", ctx.origin.url("/bad/post")).rc, 0)
    v.wait_status(r"\[3/3\]")
    v.keys("f")
    v.type("~m POST")
    v.keys("Enter")
    v.wait_status(r"\[1/3\] filter: ~m POST")
    # a bad expression: the prompt stays open with it, the reason is shown
    v.keys("f", "C-u")
    v.type("~x")
    v.wait_status(r"^filter: ~x(\s|$)")
    v.keys("Enter")
    bad = re.compile(r"unknown operator ~x|~x at \d")
    try:
        s = v.wait_for(bad, timeout=3)
        reason_shown = True
    except H.TestFailure:
        s = v.screen()
        reason_shown = False
    check(v.alive(), "lucent died on a bad filter")
    last = v._last_line(s)
    check(re.match(r"\s*filter: ~x(\s|$)", last), "the prompt is kept open with the bad text: %r" % last)
    screen_with_prompt = s
    # Esc: the reason stays in the status bar, the old filter in force
    v.keys("Escape")
    s = v.wait_status(r"\[1/3\] filter: ~m POST")
    check("/bad/post" in s and "/bad/0" not in s, "old filter kept:\n" + s)
    check(bad.search(v._last_line(s)), "the reason in the status bar: %r" % v._last_line(s))
    # fixing the text in place works
    v.keys("f", "C-u")
    v.type("(~m GET")
    v.keys("Enter")
    v.keys("C-u")
    v.type("~m GET")
    v.keys("Enter")
    v.wait_status(r"\[2/3\] filter: ~m GET")
    check(v.alive(), "lucent died")
    check(reason_shown, "the reason (unknown operator ~x) is not on screen while the prompt is open:\n" +
          screen_with_prompt)


def test_prompt_cursor_at_end_of_input(ctx):
    # the terminal cursor (shown while a prompt is open) sits after the text
    v = ctx.v
    v.reset()
    for key, text, label in (("f", "~m GET", "filter: "), ("/", "needle", "search: "),
                             ("w", "", "save shown flows as HAR to: lucent-flows.har")):
        v.keys(key)
        if text:
            v.type(text)
        want = label + text
        last = v._last_line(v.wait_status("^" + re.escape(want) + r"(\s|$)"))
        x, y, on = v.tmux("display-message", "-p", "-t", v.target, "#{cursor_x} #{cursor_y} #{cursor_flag}").split()
        eq((int(x), int(y), on), (len(want), v.height() - 1, "1"),
           "cursor (x, y, visible) in the prompt %r" % last)
        v.keys("Escape")
        v.wait_status(r"\[\d+/\d+\]")


def test_search(ctx):
    v = ctx.v
    v.reset()
    for p in ("/s/alpha", "/s/needle-1", "/s/beta", "/s/needle-2", "/s/gamma"):
        eq(v.curl("-o", "/dev/null", ctx.origin.url(p)).rc, 0)
    v.wait_status(r"\[5/5\]")
    eq(v.selected(), "/s/gamma", "follow selects the newest")
    v.keys("/")
    v.wait_status(r"^search:")
    v.type("NEEDLE")
    v.keys("Enter")
    v.wait_for(lambda s: "[5/5]" in v._last_line(s) and "[follow]" not in v._last_line(s),
               msg="follow off after a search")
    eq(v.selected(), "/s/needle-1", "search from the last row wraps to the first match")
    v.keys("n")
    eq(v.selected(), "/s/needle-2", "n: next match")
    v.keys("n")
    eq(v.selected(), "/s/needle-1", "n wraps")
    v.keys("N")
    eq(v.selected(), "/s/needle-2", "N wraps backwards")
    v.keys("N")
    eq(v.selected(), "/s/needle-1", "N: previous match")
    v.keys("/")
    v.type("nowhere-to-be-found")
    v.keys("Enter")
    v.wait_status(r"not found: nowhere-to-be-found")


# ---------------------------------------------------------------------------
# details
# ---------------------------------------------------------------------------

def test_details_headers_and_gzip_json(ctx):
    v = ctx.v
    v.reset()
    url = ctx.origin.url("/json-gz?x=1")
    r = v.curl("-o", "/dev/null", "-H", "X-Req-Marker: req-abc-123", url)
    eq(r.rc, 0, r.err)
    v.wait_status(r"\[1/1\]")
    v.details("1")
    s = v.wait_for(REQ_LINE)
    contains(s, "GET %s HTTP/1.1" % url)
    check(re.search(r"(?m)^X-Req-Marker: req-abc-123\s*$", s), "request header shown:\n" + s)
    check(re.search(r"(?m)^Host: %s\s*$" % re.escape(ctx.origin.authority()), s), "Host:\n" + s)
    check(re.search(r"(?m)^User-Agent: curl/", s), "User-Agent:\n" + s)
    contains(s, "(no body)")
    check("X-Resp-Marker" not in s, "response header on the Request tab:\n" + s)
    v.keys("2")
    s = v.wait_for("view auto")
    check(re.search(r"(?m)^HTTP/1\.1 200 OK\s*$", s), "status line:\n" + s)
    check(re.search(r"(?m)^X-Resp-Marker: resp-xyz-789\s*$", s), "response header:\n" + s)
    check(re.search(r"(?m)^Content-Encoding: gzip\s*$", s), "Content-Encoding:\n" + s)
    check("X-Req-Marker" not in s, "request header on the Response tab:\n" + s)
    gz = len(gzip.compress(JSON_BYTES))
    check(re.search(r"\(application/json, \d+ B gzip \u2192 %d B; view auto, m to change\)" % len(JSON_BYTES), s),
          "body line: gzip decoded (%d -> %d B):\n%s" % (gz, len(JSON_BYTES), s))
    # pretty: one key per line, nested indented
    for pat in (r'(?m)^\{\s*$', r'(?m)^  "name": "lucent",\s*$', r'(?m)^  "nested": \{\s*$',
                r'(?m)^    "list": \[\s*$', r'(?m)^      1,\s*$', r'(?m)^    "ok": true\s*$',
                r'(?m)^  "count": 42\s*$', r'(?m)^\}\s*$'):
        check(re.search(pat, s), "pretty JSON line /%s/:\n%s" % (pat, s))
    # 3: details, 4: wire
    v.keys("3")
    s = v.wait_for("Timing (total")
    check(re.search(r"flow \d+", s) and "client        127.0.0.1:" in s, "details tab:\n" + s)
    contains(s, "server        127.0.0.1:%d" % ctx.origin.port)
    v.keys("4")
    s = v.wait_for(re.compile(r"GET /json-gz\?x=1 HTTP/1\.1"))
    contains(s, "HTTP/1.1 200 OK")
    # Tab and left/right walk the tabs
    v.keys("Tab")
    v.wait_for("crossed the network in clear", msg="Tab from Wire to Eavesdropper")
    v.keys("Tab")
    v.wait_for("Request headers", msg="Tab from Eavesdropper to Explain")
    v.keys("Tab")
    v.wait_for(lambda s: REQ_LINE.search(s) and "Request headers" not in s, msg="Tab wraps to Request")
    v.keys("Left")
    v.wait_for("Request headers", msg="Left to Explain")
    v.keys("Right")
    v.wait_for(lambda s: REQ_LINE.search(s) and "Request headers" not in s, msg="Right to Request")
    v.keys("Right")
    v.wait_for("view auto", msg="Right to Response")
    v.keys("Tab")
    v.wait_for("Timing (total", msg="Tab to Details")
    v.keys("BTab")
    v.wait_for("view auto", msg="shift-Tab back to Response")
    ctx.json_in_details = True


def test_hex_view(ctx):
    v = ctx.v
    if not getattr(ctx, "json_in_details", False):
        test_details_headers_and_gzip_json(ctx)
    s = v.wait_for("view auto", msg="the gzip JSON flow's Response tab")
    v.keys("m")
    s = v.wait_for("view text")
    contains(s, JSON_BYTES.decode(), "text view: the decoded body as sent")
    v.keys("m")
    s = v.wait_for("view hex")
    hexes = " ".join("%02x" % b for b in JSON_BYTES[:8]) + "  " + " ".join("%02x" % b for b in JSON_BYTES[8:16])
    contains(s, "00000000  " + hexes, "hex dump of the decoded body")
    contains(s, "|" + JSON_BYTES[:16].decode() + "|")
    check(not re.search(r'(?m)^  "name": "lucent",', s), "still pretty in hex view:\n" + s)
    v.keys("m")
    s = v.wait_for("view auto")
    check(re.search(r'(?m)^  "name": "lucent",', s), "back to pretty JSON:\n" + s)
    v.keys("Escape")
    v.wait_for("host / path")


# ---------------------------------------------------------------------------
# export, save, read
# ---------------------------------------------------------------------------

def _export(v, kind):
    """e then kind; accepts the default file name; returns its path."""
    v.keys("e")
    v.wait_status(r"export as c\)url", msg="export prompt")
    v.keys(kind)
    ext = {"c": "sh", "r": "txt", "h": "har"}[kind]
    s = v.wait_status(r"export to file: lucent-flow-\d+\.%s" % ext, msg="file name prompt")
    name = re.search(r"lucent-flow-\d+\.%s" % ext, v._last_line(s)).group(0)
    v.keys("Enter")
    v.wait_status(r"flow \d+ written to %s" % re.escape(name))
    path = os.path.join(v.cwd, name)
    check(os.path.exists(path), "export file %s not in lucent's directory: %r" % (name, os.listdir(v.cwd)))
    return path


def _body_file(data):
    p = os.path.join(H.mktemp(), "body.bin")
    with open(p, "wb") as fh:
        fh.write(data)
    return p


def _bash(path):
    p = subprocess.run(["bash", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30, env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"})
    return p


def _replayed_same(first, again, headers):
    eq(again.method, first.method, "method")
    eq(again.target, first.target, "path")
    for h in headers:
        eq(again.get(h), first.get(h), "header " + h)
    eq(again.body, first.body, "body")


def test_export_curl(ctx):
    v = ctx.v
    v.reset()
    body = b"it's a \"body\" with $HOME `id` \\ and\nnewline and caf\xc3\xa9 \x01\x7f"
    hval = "it's \"quoted\" $HOME `id` \\ caf\u00e9"
    path = "/export/curl?q=1&x=$y"
    r = v.curl("-o", "/dev/null", "-X", "PUT", "-H", "X-Export: " + hval, "-H", "Content-Type: text/x-odd",
               "--data-binary", "@" + _body_file(body), ctx.origin.url(path))
    eq(r.rc, 0, r.err)
    check(ctx.origin.wait_requests(1), "origin")
    v.wait_status(r"\[1/1\]")
    first = _origin_reqs(ctx, "/export/curl")[-1]
    eq(first.body, body, "body through lucent")
    n0 = len(_origin_reqs(ctx, "/export/curl"))
    f = _export(v, "c")
    with open(f, "rb") as fh:
        text = fh.read()
    check(text.startswith(b"curl "), "a curl command: %r" % text[:200])
    check(b"-x" not in text.split(b"\n")[0] and b"--proxy" not in text, "no proxy in the command: %r" % text)
    p = _bash(f)
    eq(p.returncode, 0, "bash %s: %s" % (f, p.stderr.decode(errors="replace")))
    check(H.wait_until(lambda: len(_origin_reqs(ctx, "/export/curl")) > n0, 5), "origin never saw the curl command")
    again = _origin_reqs(ctx, "/export/curl")[-1]
    _replayed_same(first, again, ["X-Export", "Content-Type", "Host", "User-Agent", "Accept"])
    eq(again.get("Content-Length"), str(len(body)))

    # raw HTTP
    f = _export(v, "r")
    with open(f, "rb") as fh:
        raw = fh.read()
    check(raw.startswith(b"PUT /export/curl?q=1&x=$y HTTP/1.1\r\n"), "raw request line: %r" % raw[:100])
    contains(raw, b"\r\nX-Export: " + hval.encode() + b"\r\n")
    contains(raw, b"\r\n\r\n" + body)
    contains(raw, b"HTTP/1.1 200 OK\r\n")
    # HAR of the one flow
    f = _export(v, "h")
    with open(f, "rb") as fh:
        har = json.loads(fh.read().decode("utf-8"))
    eq(len(har["log"]["entries"]), 1)
    eq(har["log"]["entries"][0]["request"]["method"], "PUT")
    eq(har["log"]["entries"][0]["request"]["url"], ctx.origin.url(path))


def test_export_curl_binary_body(ctx):
    # bash's $'...' ends a word at \x00: a body with NUL bytes must still
    # reach the origin whole when the exported command runs
    v = ctx.v
    v.reset()
    body = bytes(range(256)) + b"tail"
    r = v.curl("-o", "/dev/null", "-H", "Content-Type: application/octet-stream", "--data-binary",
               "@" + _body_file(body), ctx.origin.url("/export/bin"))
    eq(r.rc, 0, r.err)
    v.wait_status(r"\[1/1\]")
    check(H.wait_until(lambda: _origin_reqs(ctx, "/export/bin"), 5), "origin")
    first = _origin_reqs(ctx, "/export/bin")[-1]
    eq(first.body, body)
    f = _export(v, "c")
    p = _bash(f)
    eq(p.returncode, 0, "bash: " + p.stderr.decode(errors="replace"))
    check(H.wait_until(lambda: len(_origin_reqs(ctx, "/export/bin")) >= 2, 5), "origin never saw the command")
    again = _origin_reqs(ctx, "/export/bin")[-1]
    eq(len(again.body), len(body), "length of the body the exported command sent")
    eq(again.body, body, "body the exported command sent")


def _check_har(har, n):
    check(isinstance(har, dict) and "log" in har, "HAR has a log")
    log = har["log"]
    eq(log.get("version"), "1.2", "log.version")
    check(isinstance(log.get("creator"), dict) and log["creator"].get("name") and "version" in log["creator"],
          "log.creator: %r" % log.get("creator"))
    ents = log.get("entries")
    check(isinstance(ents, list), "entries")
    eq(len(ents), n, "number of entries")
    for e in ents:
        for k in ("startedDateTime", "time", "request", "response", "cache", "timings"):
            check(k in e, "entry field %s missing: %r" % (k, sorted(e)))
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", e["startedDateTime"]),
              "startedDateTime ISO 8601: %r" % e["startedDateTime"])
        check(isinstance(e["time"], (int, float)) and e["time"] >= 0, "time: %r" % e["time"])
        q = e["request"]
        for k in ("method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"):
            check(k in q, "request.%s missing: %r" % (k, sorted(q)))
        check(all(set(h) >= {"name", "value"} for h in q["headers"]), "request.headers: %r" % q["headers"])
        s = e["response"]
        for k in ("status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL",
                  "headersSize", "bodySize"):
            check(k in s, "response.%s missing: %r" % (k, sorted(s)))
        check(isinstance(s["status"], int), "response.status: %r" % s["status"])
        check("size" in s["content"] and "mimeType" in s["content"], "response.content: %r" % s["content"])
        for k in ("send", "wait", "receive"):
            check(isinstance(e["timings"].get(k), (int, float)), "timings.%s: %r" % (k, e["timings"]))
    return ents


def test_save_har(ctx):
    v = ctx.v
    v.reset()
    eq(v.curl("-o", "/dev/null", "-H", "X-Req-Marker: har-1", ctx.origin.url("/json-gz")).rc, 0)
    eq(v.curl("-o", "/dev/null", "-d", "a=1&b=two", ctx.origin.url("/echo/har?k=v")).rc, 0)
    eq(v.curl("-o", "/dev/null", ctx.nginx.url("/missing-for-har")).rc, 0)
    v.wait_status(r"\[3/3\]")
    v.keys("w")
    v.wait_status(r"save shown flows as HAR to: lucent-flows\.har", msg="save prompt with its default")
    v.keys("Enter")
    v.wait_status(r"3 flows written to lucent-flows\.har")
    path = os.path.join(v.cwd, "lucent-flows.har")
    with open(path, "rb") as fh:
        har = json.loads(fh.read().decode("utf-8"))
    ents = _check_har(har, 3)
    e0, e1, e2 = ents
    eq(e0["request"]["method"], "GET")
    eq(e0["request"]["url"], ctx.origin.url("/json-gz"))
    check({"name": "X-Req-Marker", "value": "har-1"} in [{"name": h["name"], "value": h["value"]}
                                                         for h in e0["request"]["headers"]],
          "request header in HAR: %r" % e0["request"]["headers"])
    eq(e0["response"]["status"], 200)
    eq(e0["response"]["content"].get("mimeType"), "application/json")
    eq(json.loads(e0["response"]["content"]["text"]), JSON_DOC, "decoded JSON content")
    eq(e1["request"]["method"], "POST")
    eq(e1["request"]["postData"]["text"], "a=1&b=two")
    eq([(q["name"], q["value"]) for q in e1["request"]["queryString"]], [("k", "v")])
    eq(e2["response"]["status"], 404)
    # only the shown flows
    v.keys("f")
    v.type("~m POST")
    v.keys("Enter")
    v.wait_status(r"\[1/3\] filter: ~m POST")
    v.keys("w", "C-u")
    v.type("post-only.har")
    v.keys("Enter")
    v.wait_status(r"1 flows? written to post-only\.har")
    with open(os.path.join(v.cwd, "post-only.har"), "rb") as fh:
        ents = _check_har(json.loads(fh.read().decode("utf-8")), 1)
    eq(ents[0]["request"]["method"], "POST")
    # an unwritable path is reported, lucent goes on
    v.keys("w", "C-u")
    v.type("/nonexistent-dir/x.har")
    v.keys("Enter")
    v.wait_status(r"save failed: .*nonexistent-dir")
    ctx.har_saved = path


def test_read_har_file(ctx):
    if not ctx.har_saved:
        test_save_har(ctx)
    r = Viewer(read=ctx.har_saved, proxy=False)
    try:
        s = r.wait_status(r"\[3/3\]")
        check(row_re("GET", 200, ctx.origin.authority(), "/json-gz").search(s), "json-gz row:\n" + s)
        check(row_re("POST", 200, ctx.origin.authority(), "/echo/har?k=v").search(s), "POST row:\n" + s)
        check(row_re("GET", 404, "a.test:%d" % ctx.nginx.port, "/missing-for-har").search(s), "404 row:\n" + s)
        # opened on the first flow; its details come from the file
        r.details("1")
        s = r.wait_for(re.compile(r"(?m)^X-Req-Marker: har-1"))
        r.keys("2")
        s = r.wait_for(re.compile(r'(?m)^  "name": "lucent",'))
        r.keys("Escape")
        r.wait_for("host / path")
        r.keys("r")
        r.wait_status(r"replay needs a running proxy")
        r.keys("q")
        r.wait_status(r"quit lucent\? \(y/n\)")
        r.keys("y")
        eq(r.wait_exit(), 0, "exit status of lucent -r")
        r.check_stderr_clean()
    finally:
        r.kill()
    # a file that is not HAR: an error, no viewer
    bad = os.path.join(H.mktemp(), "bad.har")
    with open(bad, "w") as fh:
        fh.write("{not json")
    r = Viewer(read=bad, proxy=False, wait=False)
    try:
        rc = r.wait_exit()
        check(rc not in (0, None), "lucent -r on a broken file: exit status %r" % rc)
        contains(r.stderr(), "bad.har", "the reason names the file")
    finally:
        r.kill()


def test_har_option_valid_after_each_flow(ctx):
    d = H.mktemp()
    path = os.path.join(d, "live.har")
    v = Viewer(["--har", path, "--filter", "!~u /skip"])
    try:
        with open(path, "rb") as fh:
            _check_har(json.loads(fh.read().decode("utf-8")), 0)
        for i in range(3):
            eq(v.curl("-o", "/dev/null", ctx.origin.url("/live/%d" % i)).rc, 0)
            eq(v.curl("-o", "/dev/null", ctx.origin.url("/skip/%d" % i)).rc, 0)

            def loaded(i=i):
                try:
                    with open(path, "rb") as fh:
                        return json.loads(fh.read().decode("utf-8"))
                except ValueError:
                    return None
            har = H.wait_until(lambda: (lambda h: h if h and len(h["log"]["entries"]) == i + 1 else None)(loaded()),
                               5)
            check(har, "HAR after flow %d: %r" % (i + 1, loaded()))
            ents = _check_har(har, i + 1)
            eq([e["request"]["url"] for e in ents], [ctx.origin.url("/live/%d" % k) for k in range(i + 1)])
            check(v.alive(), "lucent still running")
        v.wait_status(r"\[6/6\]")  # the viewer shows everything; --filter is for the outputs
    finally:
        v.keys("q")
        v.keys("y")
        rc = v.wait_exit()
        v.kill()
    eq(rc, 0, "exit status")
    with open(path, "rb") as fh:
        _check_har(json.loads(fh.read().decode("utf-8")), 3)
    v.check_stderr_clean()


# ---------------------------------------------------------------------------
# replay, delete, clear, follow, help
# ---------------------------------------------------------------------------

def test_replay(ctx):
    v = ctx.v
    v.reset()
    n0 = len(_origin_reqs(ctx, "/replay-me"))
    r = v.curl("-o", "/dev/null", "-H", "X-Replay-Check: yes", "--data-binary", "replayed body",
               ctx.origin.url("/replay-me?a=b"))
    eq(r.rc, 0, r.err)
    v.wait_status(r"\[1/1\]")
    check(H.wait_until(lambda: len(_origin_reqs(ctx, "/replay-me")) == n0 + 1, 5), "first request")
    v.keys("r")
    v.wait_status(r"replaying flow \d+")
    check(H.wait_until(lambda: len(_origin_reqs(ctx, "/replay-me")) == n0 + 2, 10),
          "the origin did not see the replayed request")
    first, again = _origin_reqs(ctx, "/replay-me")[-2:]
    _replayed_same(first, again, ["X-Replay-Check", "Host", "User-Agent"])
    s = v.wait_status(r"\[2/2\]")
    rs = rows(s)
    eq(len(rs), 2, s)
    check("\u21bb" not in rs[0], "the original is not marked: %r" % rs[0])
    check("\u21bb" in rs[1], "the replay is marked with \u21bb: %r" % rs[1])
    check("/replay-me?a=b" in rs[1], rs[1])
    # details of the replay (follow selected it)
    v.details("3")
    v.wait_for(re.compile(r"flow \d+ \(replay\)"))
    v.back()
    # ~replay finds it
    v.keys("f")
    v.type("~replay")
    v.keys("Enter")
    s = v.wait_status(r"\[1/2\] filter: ~replay")
    eq(len(rows(s)), 1)
    # replaying from the details screen of the original
    v.keys("f", "C-u", "Enter")
    v.wait_status(r"\[2/2\]")
    v.keys("g")
    v.details("3")
    s = v.wait_for(re.compile(r"(?m)^flow \d+\s*$"), msg="details of the original")
    check("(replay)" not in s, "the original is not a replay:\n" + s)
    v.keys("r")
    check(H.wait_until(lambda: len(_origin_reqs(ctx, "/replay-me")) == n0 + 3, 10), "replay from details")
    v.keys("Escape")
    v.wait_status(r"\[3/3\]")


def test_replay_https(ctx):
    # an intercepted HTTPS flow is replayed too (to its https:// URL)
    pki = H.TestPKI()
    cert, key = pki.issue("a.test", ["DNS:a.test"])
    o = H.Origin(origin_handler, tls=(cert, key))
    v = Viewer(["--upstream-ca", pki.ca_cert])
    try:
        url = o.url("/tls-replay?z=1")
        check(url.startswith("https://"), url)
        r = v.curl("-o", "/dev/null", "--cacert", os.path.join(v.confdir, H.CA_CERT_PEM_FILE),
                   "-H", "X-Tls-Replay: 1", url)
        eq(r.rc, 0, r.err)
        s = v.wait_status(r"\[1/1\]")
        check("\U0001f512" in rows(s)[0], "intercepted TLS flow has the lock: %r" % rows(s))
        check(o.wait_requests(1), "origin: first request")
        v.keys("r")
        v.wait_status(r"replaying flow \d+")
        check(o.wait_requests(2), "origin: the replayed HTTPS request never came")
        first, again = o.requests[:2]
        _replayed_same(first, again, ["X-Tls-Replay", "Host", "User-Agent"])
        s = v.wait_status(r"\[2/2\]")
        check("\u21bb" in rows(s)[1], "the replay is marked: %r" % rows(s))
        eq(v.selected(), "/tls-replay?z=1")
        v.check_stderr_clean()
    finally:
        v.kill()
        o.stop()


def test_eavesdropper_tab(ctx):
    """Tab 5: an intercepted HTTPS flow shows what crossed in clear (CONNECT,
    SNI, the ClientHello's offer) and not the secret header, which appears
    only under what lucent decrypted; both certificates are compared. A
    plain-HTTP flow shows its secret header as readable by anyone."""
    pki = H.TestPKI()
    cert, key = pki.issue("a.test", ["DNS:a.test"])
    o = H.Origin(origin_handler, tls=(cert, key))
    v = Viewer(["--upstream-ca", pki.ca_cert], height=60)
    try:
        r = v.curl("-o", "/dev/null", "--cacert", os.path.join(v.confdir, H.CA_CERT_PEM_FILE),
                   "-H", "X-Secret-Token: hunter2", o.url("/eaves"))
        eq(r.rc, 0, r.err)
        v.wait_status(r"\[1/1\]")
        v.details("5")
        s = v.wait_for("What anyone on the network path", msg="eavesdropper tab")
        check(re.search(r"CONNECT a\.test:\d+ HTTP/1\.1", s), "CONNECT line:\n" + s)
        check(re.search(r"server name \(SNI\)\s+a\.test", s), "SNI:\n" + s)
        check("cipher suites" in s and "version and cipher chosen" in s, s)
        wire_part = s.split("What lucent sees")[0]
        check("hunter2" not in wire_part, "the header must not be listed as seen on the wire:\n" + s)
        check("X-Secret-Token: hunter2" in s, "decrypted part shows the header:\n" + s)
        v.keys("G")
        s = v.wait_for("Trusting lucent's CA lets it stand in", msg="certificates, to the end")
        check("lucent" in s.split("The certificate lucent minted")[1], "minted certificate issuer:\n" + s)
        check(re.search(r"SHA-256\s+([0-9A-F]{2}:){31}[0-9A-F]{2}", s), "fingerprints:\n" + s)
        v.back()
        r = v.curl("-o", "/dev/null", "-H", "X-Secret-Token: hunter3", ctx.origin.url("/plain-eaves"))
        eq(r.rc, 0, r.err)
        v.wait_status(r"\[2/2\]")
        v.details("5")
        s = v.wait_for("crossed the network in clear", msg="plain eavesdropper tab")
        check("X-Secret-Token: hunter3" in s, s)
        v.back()
        v.check_stderr_clean()
    finally:
        v.kill()
        o.stop()



def test_delete_clear_follow_help(ctx):
    v = ctx.v
    v.reset()
    for i in range(5):
        eq(v.curl("-o", "/dev/null", ctx.origin.url("/d/%d" % i)).rc, 0)
    v.wait_status(r"\[5/5\] \[follow\]")
    # up: follow off; new flows do not move the selection
    v.keys("Up")
    v.wait_for(lambda s: "[5/5]" in v._last_line(s) and "[follow]" not in v._last_line(s),
               msg="follow off after Up")
    eq(v.curl("-o", "/dev/null", ctx.origin.url("/d/5")).rc, 0)
    v.wait_status(r"\[6/6\]")
    eq(v.selected(), "/d/3", "selection stayed on /d/3")
    # d deletes the selected flow (/d/3), the total goes down with it
    v.keys("d")
    s = v.wait_for(lambda s: "/d/3" not in s and re.search(r"\[5/\d+\]", v._last_line(s)))
    eq(len(rows(s)), 5)
    check("[5/5]" in v._last_line(s), "status bar total after a delete: %r" % v._last_line(s))
    # F: follow on (selects the newest), off again
    v.keys("F")
    v.wait_status(r"\[follow\].*follow on")
    eq(v.curl("-o", "/dev/null", ctx.origin.url("/d/6")).rc, 0)
    v.wait_status(r"\[6/6\] \[follow\]")
    eq(v.selected(), "/d/6", "follow selects the newest")
    v.keys("F")
    s = v.wait_status(r"follow off")
    check("[follow]" not in v._last_line(s), "follow off: %r" % v._last_line(s))
    # G: last and following again; g: first
    v.keys("g")
    eq(v.selected(), "/d/0", "g: first")
    v.keys("G")
    v.wait_status(r"\[follow\]")
    # ? help, any key back
    v.keys("?")
    s = v.wait_for("lucent viewer keys")
    contains(s, "~m REGEX")
    contains(s, "replay the request")
    v.keys("x")
    v.wait_for("host / path")
    # z clears
    v.keys("z")
    s = v.wait_status(r"\[0/0\] \[follow\]")
    contains(s, "waiting for flows")
    eq(rows(s), [])
    eq(v.curl("-o", "/dev/null", ctx.origin.url("/d/after-clear")).rc, 0)
    s = v.wait_status(r"\[1/1\]")
    check(re.search(r"^\s*1 .*/d/after-clear", rows(s)[0]), "numbering restarts: %r" % rows(s))


# ---------------------------------------------------------------------------
# terminal safety
# ---------------------------------------------------------------------------

def test_resize_while_flows_arrive(ctx):
    v = ctx.v
    v.reset()
    stop = threading.Event()
    sent = [0]

    def traffic():
        while not stop.is_set() and sent[0] < 3000:
            urls = [ctx.origin.url("/rs/%d" % (sent[0] + k)) for k in range(5)]
            H.curl(v.proxy, *sum((["-o", "/dev/null", u] for u in urls), []))
            sent[0] += 5
    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    try:
        v.wait_status(r"\[[1-9]\d*/")
        for (w, h) in ((40, 10), (15, 5), (25, 8), (20, 3), (1, 1), (100, 30), (40, 10)):
            v.resize(w, h)
            H.wait_until(lambda: v.width() == w and v.height() == h, 5)
            if w < 20 or h < 3:
                s = v.wait_for("lucent: term", msg="too small at %dx%d" % (w, h)) if w >= 12 else v.screen()
            else:
                s = v.wait_for(lambda s: "[" in v._last_line(s) and "help" in s, msg="redrawn at %dx%d" % (w, h))
            check(all(len(l) <= w for l in s.split("\n")), "a line wider than %d:\n%s" % (w, s))
            check(v.alive(), "lucent died at %dx%d" % (w, h))
        # details while small, then tiny
        v.keys("Enter")
        v.wait_for("Request", msg="details at 40x10")
        v.resize(22, 4)
        H.wait_until(lambda: v.width() == 22, 5)
        v.wait_for(lambda s: "Request" in s, msg="details at 22x4")
        v.keys("Escape")
        v.wait_for(lambda s: "[" in v._last_line(s), msg="list at 22x4")
    finally:
        stop.set()
        t.join(30)
    check(v.alive(), "lucent died while resizing")
    total = sent[0]
    check(total >= 10, "traffic while resizing: %d flows" % total)
    v.wait_status(r"\[%d/%d\]" % (total, total), msg="every flow counted (at 22x4)")
    # back to full size with no flow arriving: a redraw of its own
    v.resize(160, 40)
    H.wait_until(lambda: v.width() == 160, 5)
    s = v.wait_for(lambda s: "host / path" in s and re.search(r"\[%d/%d\]" % (total, total), v._last_line(s)),
                   msg="back to full size")
    rs = rows(s)
    check(rs and re.search(r"/rs/%d(\s|$)" % (total - 1), rs[-1]), "newest flow on the last row: %r" % rs[-1:])
    # more rows than fit before: the grown window is filled again
    eq(len(rs), v.height() - 2, "rows drawn after growing the window back (%d flows):\n%s" % (total, s))


def test_escape_sequences_shown_escaped(ctx):
    v = ctx.v
    v.reset()
    title0 = v.title()
    r = v.curl("-o", "/dev/null", "-D", "-", ctx.origin.url("/evil"))
    eq(r.rc, 0, r.err)
    contains(r.out, b"HTTP/1.1 200 " + EVIL_REASON + b"\r\n", "curl got the reason through lucent")
    contains(r.out, b"X-Evil: " + EVIL_HEADER + b"\r\n", "curl got the header through lucent")
    s = v.wait_status(r"\[1/1\]")
    check(row_re("GET", 200, ctx.origin.authority(), "/evil").search(s), "row:\n" + s)
    v.details("2")
    s = v.wait_for("X-Evil")
    want_status = "HTTP/1.1 200 OK\\x1b]0;PWNED-TITLE\\x07\\x1b[2J\\x1b[31mred"
    check(re.search(r"(?m)^%s\s*$" % re.escape(want_status), s), "status line escaped (%s):\n%s" % (want_status, s))
    line = [l for l in s.split("\n") if l.startswith("X-Evil")]
    check(line, "X-Evil line:\n" + s)
    eq(line[0].rstrip(), "X-Evil: a\\x9b2Jb \\xff\\xfe c\\xc2\\x9bd", "header value escaped")
    # non-UTF-8 text body: a hex dump in auto, escaped bytes in text mode
    contains(s, "(text/plain, %d B; view auto" % len(EVIL_BODY))
    contains(s, "00000000  63 61 66 e9 20 1b 5b 32  4a 1b 5d 32 3b 50 57 4e")
    v.keys("m")
    s = v.wait_for("view text")
    contains(s, "caf\\xe9 \\x1b[2J\\x1b]2;PWNED-BODY\\x07 \\xff\\xfe end")
    # the wire tab too
    v.keys("4")
    s = v.wait_for("HTTP/1.1 200 OK\\x1b]0;PWNED-TITLE\\x07")
    contains(s, "X-Evil: a\\x9b2Jb \\xff\\xfe c\\xc2\\x9bd")
    # the screen is intact: tab bar on top, status bar at the bottom
    check(re.search(r"1 Request\s+2 Response\s+3 Details\s+4 Wire", s.split("\n")[0]), "tab bar:\n" + s)
    check(re.search(r"\[1/1\]", v._last_line(s)), "status bar:\n" + s)
    eq(v.title(), title0, "pane title changed by a flow")
    check("PWNED" not in v.title(), "pane title: %r" % v.title())
    v.keys("m", "m")  # back to auto for later tests
    v.keys("Escape")
    v.wait_for("host / path")


# ---------------------------------------------------------------------------
# limits, quit
# ---------------------------------------------------------------------------

def test_max_flows(ctx):
    v = Viewer(["--max-flows", "20"])
    try:
        urls = [ctx.origin.url("/m/%d" % i) for i in range(1, 51)]
        r = v.curl(*sum((["-o", "/dev/null", u] for u in urls), []), max_time=60)
        eq(r.rc, 0, r.err)
        s = v.wait_status(r"\[20/20\].*dropped 30 ")
        rs = rows(s)
        eq(len(rs), 20, "rows shown:\n" + s)
        for i, row in enumerate(rs):
            check(re.search(r"/m/%d(\s|$)" % (31 + i), row), "row %d should be /m/%d: %r" % (i, 31 + i, row))
        v.keys("g")
        eq(v.selected(), "/m/31", "the oldest flow kept")
        v.check_stderr_clean()
    finally:
        v.kill()


def test_intercept_edit_resume_kill(ctx):
    """i holds matching requests (others go on), E edits the held request in
    $EDITOR (here a sed script), a resumes it with the edit (the origin sees
    the edited method, path, header and body), x kills the next one, I holds
    responses too and an edited response reaches the client."""
    ed = os.path.join(H.mktemp("lucent-e2e-editor-"), "ed.sh")
    with open(ed, "w") as f:
        f.write("#!/bin/sh\n"
                "sed -i -e '1s#^POST \\(.*\\)/held-req#PUT \\1/edited-req#' -e 's/^X-Held: .*/X-Held: edited/' "
                "-e 's/original body/edited body/' -e 's/^HTTP\\/1.1 200 OK/HTTP\\/1.1 202 Accepted/' "
                "-e 's/origin-ok/lucent-edited/' \"$1\"\n")
    os.chmod(ed, 0o755)
    v = Viewer(env=("EDITOR=" + ed,))
    try:
        v.keys("i")
        v.wait_status(r"intercept \(filter")
        v.type("~u held")
        v.keys("Enter")
        v.wait_status(r"intercepting ~u held")
        results = {}

        def send(name, *args):
            results[name] = H.curl(v.proxy, *args, timeout=30)

        t = threading.Thread(target=send, args=("held", "-sS", "-H", "X-Held: yes", "--data-binary",
                                                "original body", ctx.origin.url("/held-req")))
        t.start()
        s = v.wait_for("held by the intercept", msg="the held request is listed")
        contains(s, "/held-req")
        # other traffic is not held
        r = H.curl(v.proxy, "-sS", ctx.origin.url("/free-flow"))
        eq(r.rc, 0, r.err)
        check("origin-ok /free-flow" in r.text, r.text)
        check(not _origin_reqs(ctx, "/held-req") and not _origin_reqs(ctx, "/edited-req"),
              "the held request reached the origin before it was resumed")
        v.keys("E")
        v.wait_status(r"edited: a resumes it", msg="edit done")
        v.keys("a")
        t.join(30)
        check(not t.is_alive(), "the held request never finished")
        eq(results["held"].rc, 0, results["held"].err)
        got = _origin_reqs(ctx, "/edited-req")
        eq(len(got), 1, "the origin did not see the edited request")
        eq(got[0].method, "PUT")
        eq(got[0].get("X-Held"), "edited")
        eq(got[0].body, b"edited body")
        # x kills the next held request
        t = threading.Thread(target=send, args=("killed", "-sS", ctx.origin.url("/held-kill")))
        t.start()
        v.wait_for("/held-kill", msg="second held request")
        v.keys("x")
        t.join(30)
        check(results["killed"].rc != 0, "a killed request must not get a response: %r" % results["killed"].text)
        check(not _origin_reqs(ctx, "/held-kill"), "the killed request reached the origin")
        # I: responses are held too; an edited response reaches the client
        v.keys("I")
        v.wait_status(r"intercepting ~u held \(requests and responses\)")
        t = threading.Thread(target=send, args=("resp", "-sS", "-i", ctx.origin.url("/held-resp")))
        t.start()
        v.wait_for(re.compile(r"request\s+GET\s+\S*/held-resp"), msg="held at the request")
        v.keys("a")
        v.wait_for(re.compile(r"response\s+GET\s+\S*/held-resp"), msg="held at the response")
        v.keys("E")
        v.wait_status(r"edited: a resumes it")
        v.keys("a")
        t.join(30)
        out = results["resp"].text
        check(out.startswith("HTTP/1.1 202 Accepted"), "edited status line: %r" % out[:80])
        check("lucent-edited /held-resp" in out, "edited body: %r" % out)
        v.check_stderr_clean()
    finally:
        v.kill()



def test_quit_asks_then_exits_0(ctx):
    v = ctx.v
    v.reset()
    v.keys("q")
    v.wait_status(r"quit lucent\? \(y/n\)")
    v.keys("n")
    v.wait_status(r"\[0/0\]")
    eq(v.curl("-o", "/dev/null", ctx.origin.url("/still-here")).rc, 0)
    v.wait_status(r"\[1/1\]")
    v.keys("q")
    v.wait_status(r"quit lucent\? \(y/n\)")
    v.keys("y")
    eq(v.wait_exit(), 0, "exit status after q y")
    check(not v.alive(), "lucent still running")
    check(not H.wait_port(v.port, "127.0.0.1", 0.5), "port still open after quit")
    v.check_stderr_clean()


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown)

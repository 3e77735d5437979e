"""The cache lab: lucent's RFC 9111 verdict on every flow, the lucent.cache
Lua helpers, --anticache and --no-caching, and the scripts/cache-*.lua
examples, through real curl -> lucent -> nginx.

The origin is nginx with a server block of its own (``CacheSite``, on a port
of its own, added through Nginx(extra_http=...)), one location per caching
policy: /maxage/ (max-age=3600), /expires/ (only Expires, two hours ahead),
/nocache/ (no-cache), /nostore/ (no-store), /lm/ (only Last-Modified, five
days old, no ETag: heuristic freshness), /vary/ (Vary: Accept-Language),
/smaxage/ (max-age=300, s-maxage=3600), /private/ (private, max-age=600),
/public/ (public, max-age=600), /smaxage0/ (max-age=0, s-maxage=600),
/sharedzero/ (max-age=600, s-maxage=0), /mustreval/ (max-age=600,
must-revalidate), /short/ (max-age=1), /pragma/ (Pragma:
no-cache, Expires in the past), /api/ (max-age=300), /plain/ (nginx's
defaults: ETag and a ten days old Last-Modified), /lang (a body that depends
on Accept-Language).  Its access log records each request's If-None-Match,
If-Modified-Since and Accept-Language, so a test can tell what reached the
origin.

Covers: the verdict (tag, summary, private/shared, lifetime, source,
directives, etag, last_modified, vary, notes) in the flow log and the
summary on the log line for each policy; conditional requests with nginx's
ETag and Last-Modified pass through as 304 with tag 304 and
conditional.matched true, a non-matching one is a 200 "(changed)";
--filter '~cache 304'; lucent.cache.force/disable/revalidate_always/
strip_validators change what the client sees as documented;
lucent.cache.answer_304 answers a matching conditional request itself (the
origin sees only the first request), not a non-matching one; analyze()
from Lua (fields, nil before a response); --anticache (the origin never sees
If-None-Match/If-Modified-Since, the client gets 200); --no-caching
(Cache-Control: no-store, no ETag/Last-Modified/Expires/Pragma, also on a
reply made by a script); and each
scripts/cache-*.lua example does what its header comment says.

Run: python3 tests/e2e/test_cache_lab.py --lucent build/lucent
"""

import email.utils
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq, contains  # noqa: E402
import scripting as S  # noqa: E402

EXAMPLE_NAMES = ["cache-force", "cache-disable", "cache-revalidate", "cache-strip-validators",
                 "cache-answer-304", "cache-explain"]

DAY = 86400


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def parse_http_date(s):
    return email.utils.parsedate_to_datetime(s).timestamp()


# ---------------------------------------------------------------------------
# the origin: nginx with one location per caching policy
# ---------------------------------------------------------------------------

class CacheSite:
    """nginx serving a docroot of its own on self.port (127.0.0.1), one
    location per caching policy (see the module docstring).  self.log()
    returns the access log as dicts (uri, status, inm, ims, lang)."""

    FILES = {
        "maxage/a.txt": b"max-age body\n",
        "maxage/b.txt": b"max-age body b\n",
        "expires/a.txt": b"expires body\n",
        "nocache/a.txt": b"no-cache body\n",
        "nostore/a.txt": b"no-store body\n",
        "lm/a.txt": b"last-modified only\n",
        "vary/a.txt": b"vary body\n",
        "smaxage/a.txt": b"s-maxage body\n",
        "private/a.txt": b"private body\n",
        "public/a.txt": b"public body\n",
        "smaxage0/a.txt": b"s-maxage only for shared caches\n",
        "sharedzero/a.txt": b"stale at once in shared caches\n",
        "mustreval/a.txt": b"must-revalidate body\n",
        "short/a.txt": b"short-lived body\n",
        "pragma/a.txt": b"pragma body\n",
        "api/user.json": b'{"id": 1, "name": "Test User"}\n',
        "api/v2/items.json": b'[1, 2, 3]\n',
        "plain/a.txt": b"plain body\n",
        "plain/index.html": b"<!DOCTYPE html><html><body><h1>plain page</h1></body></html>\n",
        "plain/style.css": b"body { color: #333 }\n",
        "plain/app.js": b"console.log('app')\n",
        "plain/logo.png": b"\x89PNG\r\n\x1a\nnot really a png\n",
        "plain/data.json": b'{"x": 1}\n',
        "big/a.bin": os.urandom(40 * 1024),
        "big/b.bin": os.urandom(40 * 1024),
        "big/c.bin": os.urandom(40 * 1024),
        "big/d.bin": os.urandom(40 * 1024),
        "big/e.bin": os.urandom(40 * 1024),
        "big/huge.bin": os.urandom(300 * 1024),
    }
    OLD = {"lm/": 5 * DAY, "plain/": 10 * DAY}        # mtime this long ago

    def __init__(self):
        self.root = H.mktemp("lucent-e2e-cachesite-")
        self.logdir = H.mktemp("lucent-e2e-cachesite-log-")
        self.access = os.path.join(self.logdir, "cachelab.log")
        now = time.time()
        self.expires_at = int(now) + 2 * 3600
        for name, data in self.FILES.items():
            p = os.path.join(self.root, name)
            os.makedirs(os.path.dirname(p), mode=0o755, exist_ok=True)
            os.chmod(os.path.dirname(p), 0o755)
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, 0o644)
            for prefix, ago in self.OLD.items():
                if name.startswith(prefix):
                    os.utime(p, (now - ago, now - ago))
        self.port = H.free_port(("127.0.0.1",))
        self.nginx = H.Nginx(extra_http=self._conf())
        check(H.wait_port(self.port, "127.0.0.1", 10), "the cache site's nginx server block is not listening")

    def _conf(self):
        cc = lambda v: 'add_header Cache-Control "%s" always;' % v  # noqa: E731
        return """
    log_format cachelab '$request_uri|$status|$http_if_none_match|$http_if_modified_since|$http_accept_language';
    map $http_accept_language $cachelab_lang {
        default "en";
        "~^de" "de";
        "~^fr" "fr";
    }
    server {
        listen 127.0.0.1:%(port)d;
        server_name _;
        root %(root)s;
        access_log %(access)s cachelab;
        types { text/plain txt; text/html html; text/css css; application/javascript js; image/png png;
                application/json json; application/octet-stream bin; }
        location /maxage/ { %(maxage)s }
        location /big/ { %(maxage)s }
        location /expires/ { add_header Expires "%(expires)s"; }
        location /nocache/ { %(nocache)s }
        location /nostore/ { %(nostore)s }
        location /lm/ { etag off; }
        location /vary/ { add_header Vary "Accept-Language"; %(vary)s }
        location /smaxage/ { %(smaxage)s }
        location /private/ { %(private)s }
        location /public/ { %(public)s }
        location /smaxage0/ { %(smaxage0)s }
        location /sharedzero/ { %(sharedzero)s }
        location /mustreval/ { %(mustreval)s }
        location /short/ { %(short)s }
        location /pragma/ { add_header Pragma "no-cache"; add_header Expires "Thu, 01 Jan 1970 00:00:00 GMT"; }
        location /api/ { %(api)s }
        location /plain/ { }
        location = /lang {
            default_type text/plain;
            add_header Vary "Accept-Language";
            add_header Cache-Control "max-age=600";
            return 200 "lang=$cachelab_lang\\n";
        }
    }
""" % dict(port=self.port, root=self.root, access=self.access, expires=http_date(self.expires_at),
           maxage=cc("max-age=3600"), nocache=cc("no-cache"), nostore=cc("no-store"), vary=cc("max-age=600"),
           smaxage=cc("max-age=300, s-maxage=3600"), private=cc("private, max-age=600"),
           public=cc("public, max-age=600"), smaxage0=cc("max-age=0, s-maxage=600"),
           sharedzero=cc("max-age=600, s-maxage=0"), mustreval=cc("max-age=600, must-revalidate"),
           short=cc("max-age=1"), api=cc("max-age=300"))

    def url(self, path, host="a.test"):
        return "http://%s:%d%s" % (host, self.port, path)

    def log(self):
        try:
            with open(self.access, errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        out = []
        for ln in text.splitlines():
            parts = ln.split("|")
            if len(parts) != 5:
                continue
            dash = lambda s: None if s == "-" else s.replace("\\x22", '"')  # noqa: E731
            out.append(dict(uri=parts[0], status=int(parts[1]), inm=dash(parts[2]), ims=dash(parts[3]),
                            lang=dash(parts[4])))
        return out

    def hits(self, path):
        """Access log entries for path (nginx writes them when the response is done)."""
        return [e for e in self.log() if e["uri"] == path]

    def wait_hits(self, path, n, timeout=5.0):
        H.wait_until(lambda: len(self.hits(path)) >= n, timeout)
        return self.hits(path)

    def stop(self):
        self.nginx.stop()


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

class Resp:
    def __init__(self, r, status, headers, body):
        self.curl, self.status, self.headers, self.body = r, status, headers, body

    def get(self, name):
        vals = self.all(name)
        return vals[0] if vals else None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<Resp %r %r body=%r err=%r>" % (self.status, self.headers, self.body[:80], self.curl.err[-300:])


def fetch(lu, url, *args, **kw):
    """curl -D - -o BODY through lu (a Lucent, or None for direct)."""
    body_path = os.path.join(H.mktemp("lucent-e2e-cb-"), "body")
    r = H.curl(lu, "-sS", "-D", "-", "-o", body_path, *(list(args) + [url]), **kw)
    status, headers = None, []
    for ln in r.text.split("\r\n"):
        m = re.match(r"^HTTP/\d(?:\.\d)? (\d{3})", ln)
        if m:
            status, headers = int(m.group(1)), []
        elif ":" in ln and status is not None:
            k, _, v = ln.partition(":")
            headers.append((k, v.strip()))
    try:
        with open(body_path, "rb") as f:
            body = f.read()
    except FileNotFoundError:
        body = b""
    check(r.rc == 0, "curl %s failed: %r" % (url, r))
    return Resp(r, status, headers, body)


def flow_for(lu, url, n=1, timeout=8.0):
    """The n-th (1-based) flow record for a GET of url."""
    def find():
        fs = [f for f in lu.flows() if f.get("url") == url and f.get("method") == "GET"]
        return fs[n - 1] if len(fs) >= n else None
    f = H.wait_until(find, timeout)
    check(f, "no flow record #%d for GET %s; flow log:\n%s" % (n, url, lu.flow_text()[-3000:]))
    return f


def flows_for(lu, url):
    return [f for f in lu.flows() if f.get("url") == url and f.get("method") == "GET"]


def log_line(lu, url, n=1, timeout=8.0):
    """The n-th log line of lucent's stdout for GET url."""
    pat = re.compile(r" GET %s → " % re.escape(url))

    def find():
        ls = [ln for ln in lu.stdout_lines() if pat.search(ln)]
        return ls[n - 1] if len(ls) >= n else None
    ln = H.wait_until(find, timeout)
    check(ln, "no log line #%d for GET %s; stdout:\n%s" % (n, url, lu.stdout()[-3000:]))
    return ln


def summary_of(line):
    """What follows the first ' · ' of a log line (the cache verdict)."""
    check(" · " in line, "log line without a cache verdict: %r" % line)
    return line.split(" · ", 1)[1]


def verdict(lu, url, n=1):
    f = flow_for(lu, url, n)
    c = f.get("cache")
    check(isinstance(c, dict), "flow for %s has no cache object: %r" % (url, f))
    return f, c


def rheader(flow, name):
    vals = [v for k, v in flow["response_headers"] if k.lower() == name.lower()]
    return vals[0] if vals else None


def qheader(flow, name):
    vals = [v for k, v in flow["request_headers"] if k.lower() == name.lower()]
    return vals[0] if vals else None


def lua(ctx, text, args=(), workers=1, env=None):
    return ctx.sc.lucent([ctx.sc.write(text)], list(args), workers=workers, env=env)


def example(name):
    return os.path.join(S.EXAMPLES, name + ".lua")


def run_example(ctx, name, args=(), env=None):
    lu = ctx.sc.lucent([example(name)], list(args), workers=1, env=env)
    return lu


def finish(lu):
    """Asserts lucent is alive and no hook failed, then stops it (exit status 0)."""
    check(lu.alive(), "lucent died; stderr:\n" + lu.stderr()[-3000:])
    errs = S.hook_errors(lu)
    check(not errs, "a script hook failed:\n" + "\n".join(errs[:10]))
    lu.stop()


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

def setup():
    ctx = H.Ctx()
    ctx.site = CacheSite()
    ctx.sc = S.Scripts("lcl-")
    ctx.lucent = H.Lucent(["--workers", "1"])
    return ctx


def teardown(ctx):
    check(ctx.lucent.alive(), "lucent died during the tests; stderr:\n" + ctx.lucent.stderr()[-3000:])
    ctx.lucent.stop()


# ---------------------------------------------------------------------------
# the verdict of each policy, in the flow log and on the log line
# ---------------------------------------------------------------------------

def test_maxage_fresh(ctx):
    url = ctx.site.url("/maxage/a.txt")
    r = fetch(ctx.lucent, url)
    eq((r.status, r.body), (200, CacheSite.FILES["maxage/a.txt"]))
    eq(r.get("Cache-Control"), "max-age=3600")
    f, c = verdict(ctx.lucent, url)
    eq(c["tag"], "fresh")
    eq(c["summary"], "fresh 1h (max-age) · ETag, Last-Modified")
    for who in ("private", "shared"):
        eq(c[who]["stored"], True, who)
        eq(c[who]["why_not"], None, who)
        eq(c[who]["lifetime"], 3600, who)
        eq(c[who]["source"], "max-age", who)
        eq(c[who]["fresh"], True, who)
    check(isinstance(c["age"], int) and 0 <= c["age"] <= 2, "age %r" % c["age"])
    eq(c["directives"]["max_age"], 3600)
    eq(c["directives"]["no_store"], False)
    eq(c["etag"], "strong")
    eq(c["last_modified"], True)
    eq(c["conditional"], None)
    eq(c["vary"], None)
    ln = log_line(ctx.lucent, url)
    check(re.search(r"→ 200 OK \d+ B \d+ ms · fresh 1h \(max-age\) · ETag, Last-Modified$", ln), ln)


def test_expires_only(ctx):
    url = ctx.site.url("/expires/a.txt")
    r = fetch(ctx.lucent, url)
    eq(r.status, 200)
    eq(r.get("Cache-Control"), None, "no Cache-Control at this location")
    eq(r.get("Expires"), http_date(ctx.site.expires_at))
    f, c = verdict(ctx.lucent, url)
    eq(c["tag"], "fresh")
    check(re.match(r"^fresh [\d.]+h( of [\d.]+h)? \(Expires\) · ETag, Last-Modified$", c["summary"]), c["summary"])
    date = parse_http_date(rheader(f, "Date"))
    eq(c["private"]["source"], "Expires")
    eq(c["shared"]["source"], "Expires")
    eq(c["private"]["lifetime"], int(ctx.site.expires_at - date), "lifetime = Expires - Date")
    eq(c["directives"]["max_age"], None)
    contains(summary_of(log_line(ctx.lucent, url)), "(Expires)")


def test_nocache_revalidate(ctx):
    url = ctx.site.url("/nocache/a.txt")
    r = fetch(ctx.lucent, url)
    eq(r.status, 200)
    check(r.get("ETag"), "nginx sends an ETag")
    f, c = verdict(ctx.lucent, url)
    eq(c["tag"], "revalidate")
    eq(c["summary"], "revalidate (no-cache) · ETag, Last-Modified")
    eq(c["directives"]["no_cache"], True)
    eq(c["private"]["stored"], True, "no-cache may be stored")
    eq(summary_of(log_line(ctx.lucent, url)), "revalidate (no-cache) · ETag, Last-Modified")


def test_nostore(ctx):
    url = ctx.site.url("/nostore/a.txt")
    r = fetch(ctx.lucent, url)
    eq(r.status, 200)
    f, c = verdict(ctx.lucent, url)
    eq(c["tag"], "nostore")
    eq(c["summary"], "not stored (no-store)")
    for who in ("private", "shared"):
        eq(c[who]["stored"], False, who)
        eq(c[who]["why_not"], "no-store", who)
        eq(c[who]["lifetime"], None, who)
        eq(c[who]["source"], None, who)
    eq(c["age"], None)
    eq(c["directives"]["no_store"], True)
    eq(summary_of(log_line(ctx.lucent, url)), "not stored (no-store)")


def test_last_modified_heuristic(ctx):
    url = ctx.site.url("/lm/a.txt")
    r = fetch(ctx.lucent, url)
    eq(r.status, 200)
    eq(r.get("ETag"), None, "etag off at /lm/")
    check(r.get("Last-Modified"), "Last-Modified sent")
    f, c = verdict(ctx.lucent, url)
    eq(c["tag"], "fresh")
    eq(c["summary"], "heuristic 12h (Last-Modified) · Last-Modified")
    eq(c["private"]["source"], "heuristic")
    since = parse_http_date(rheader(f, "Date")) - parse_http_date(rheader(f, "Last-Modified"))
    eq(c["private"]["lifetime"], int(since) // 10, "10% of the time since Last-Modified")
    eq(c["etag"], None)
    eq(c["last_modified"], True)
    contains(c["notes"] or "", "heuristic: 10% of 5d since Last-Modified")
    contains(summary_of(log_line(ctx.lucent, url)), "heuristic")


def test_vary(ctx):
    url = ctx.site.url("/vary/a.txt")
    r = fetch(ctx.lucent, url, "-H", "Accept-Language: de")
    eq(r.status, 200)
    eq(r.get("Vary"), "Accept-Language")
    f, c = verdict(ctx.lucent, url)
    eq(c["vary"], "Accept-Language")
    eq(c["tag"], "fresh")
    eq(c["summary"], "fresh 10m (max-age) · ETag, Last-Modified")


def test_smaxage(ctx):
    url = ctx.site.url("/smaxage/a.txt")
    fetch(ctx.lucent, url)
    f, c = verdict(ctx.lucent, url)
    eq(c["tag"], "fresh")
    eq(c["summary"], "fresh 5m (max-age) · shared: fresh 1h (s-maxage) · ETag, Last-Modified")
    eq((c["private"]["lifetime"], c["private"]["source"]), (300, "max-age"))
    eq((c["shared"]["lifetime"], c["shared"]["source"]), (3600, "s-maxage"))
    eq(c["directives"]["s_maxage"], 3600)
    contains(c["notes"] or "", "s-maxage=3600 wins over max-age=300 in shared caches")
    contains(summary_of(log_line(ctx.lucent, url)), "shared: fresh 1h (s-maxage)")


def test_private(ctx):
    url = ctx.site.url("/private/a.txt")
    fetch(ctx.lucent, url)
    f, c = verdict(ctx.lucent, url)
    eq(c["tag"], "fresh")
    eq(c["summary"], "not stored by shared caches (private) · fresh 10m for the browser (max-age) · ETag, "
                     "Last-Modified")
    eq(c["private"]["stored"], True)
    eq((c["shared"]["stored"], c["shared"]["why_not"]), (False, "private"))
    eq(c["directives"]["private"], True)
    contains(summary_of(log_line(ctx.lucent, url)), "not stored by shared caches (private)")


def test_authorization_not_shared(ctx):
    url = ctx.site.url("/maxage/b.txt")
    fetch(ctx.lucent, url, "-H", "Authorization: Bearer abc")
    f, c = verdict(ctx.lucent, url)
    eq((c["shared"]["stored"], c["shared"]["why_not"]), (False, "Authorization"))
    eq(c["private"]["stored"], True)
    url = ctx.site.url("/public/a.txt")
    fetch(ctx.lucent, url, "-H", "Authorization: Bearer abc")
    f, c = verdict(ctx.lucent, url)
    eq(c["shared"]["stored"], True, "public lets shared caches store it despite Authorization")
    contains(c["notes"] or "", "Authorization: shared caches may store it (public)")


# ---------------------------------------------------------------------------
# conditional requests: 304 from the origin, classified
# ---------------------------------------------------------------------------

def test_if_none_match_304(ctx):
    url = ctx.site.url("/nocache/a.txt")
    first = fetch(ctx.lucent, url)
    etag = first.get("ETag")
    check(etag and etag.startswith('"'), "nginx ETag %r" % etag)
    n = len(flows_for(ctx.lucent, url))
    r = fetch(ctx.lucent, url, "-H", "If-None-Match: %s" % etag)
    eq((r.status, r.body), (304, b""))
    f, c = verdict(ctx.lucent, url, n + 1)
    eq(f["status"], 304)
    eq(qheader(f, "If-None-Match"), etag)
    eq(c["tag"], "304")
    eq(c["conditional"], {"if_none_match": True, "if_modified_since": False, "used": True, "matched": True})
    contains(c["summary"], "→ 304")
    contains(summary_of(log_line(ctx.lucent, url, n + 1)), "→ 304")
    ent = ctx.site.wait_hits("/nocache/a.txt", n + 1)[-1]
    eq((ent["status"], ent["inm"]), (304, etag), "the conditional request reached nginx")


def test_if_modified_since_304(ctx):
    url = ctx.site.url("/lm/a.txt")
    lm = fetch(ctx.lucent, url).get("Last-Modified")
    n = len(flows_for(ctx.lucent, url))
    r = fetch(ctx.lucent, url, "-H", "If-Modified-Since: %s" % lm)
    eq(r.status, 304)
    f, c = verdict(ctx.lucent, url, n + 1)
    eq(c["tag"], "304")
    eq(c["conditional"], {"if_none_match": False, "if_modified_since": True, "used": True, "matched": True})
    eq(ctx.site.wait_hits("/lm/a.txt", n + 1)[-1]["ims"], lm)


def test_if_none_match_changed(ctx):
    url = ctx.site.url("/maxage/a.txt")
    n = len(flows_for(ctx.lucent, url))
    r = fetch(ctx.lucent, url, "-H", 'If-None-Match: "not-the-etag"')
    eq((r.status, r.body), (200, CacheSite.FILES["maxage/a.txt"]))
    f, c = verdict(ctx.lucent, url, n + 1)
    eq(c["tag"], "fresh")
    eq(c["conditional"]["used"], True)
    eq(c["conditional"]["matched"], False)
    contains(c["summary"], "→ 200 (changed)")


def test_filter_cache_304(ctx):
    site_lu = H.Lucent(["--workers", "1", "--filter", "~cache 304"])
    try:
        site = ctx.site
        url = site.url("/maxage/b.txt")
        etag = fetch(site_lu, url).get("ETag")
        eq(fetch(site_lu, url, "-H", "If-None-Match: %s" % etag).status, 304)
        fetch(site_lu, site.url("/nostore/a.txt"))
        H.wait_until(lambda: len(site_lu.flows()) >= 1, 5)
        time.sleep(0.3)
        fs = site_lu.flows()
        eq([(f["url"], f["status"], f["cache"]["tag"]) for f in fs], [(url, 304, "304")],
           "only the 304 matches ~cache 304")
        site_lu.stop()
    finally:
        site_lu.stop(check=False)


# ---------------------------------------------------------------------------
# lucent.cache helpers
# ---------------------------------------------------------------------------

def test_lua_force(ctx):
    lu = lua(ctx, """
function responseheaders(flow)
    if flow.request.path:find("^/pragma/") or flow.request.path:find("^/nostore/") then
        lucent.cache.force(flow, 600)
    end
end
""")
    try:
        url = ctx.site.url("/pragma/a.txt")
        t0 = time.time()
        r = fetch(lu, url)
        eq(r.status, 200)
        eq(r.all("Cache-Control"), ["max-age=600"])
        eq(r.get("Pragma"), None, "Pragma removed")
        eq(len(r.all("Expires")), 1)
        exp = parse_http_date(r.get("Expires"))
        check(t0 + 600 - 3 <= exp <= time.time() + 600 + 1, "Expires %r is about now + 600 s" % r.get("Expires"))
        f, c = verdict(lu, url)
        eq(c["tag"], "fresh")
        check(c["summary"].startswith("fresh 10m (max-age)"), c["summary"])
        contains(c["notes"] or "", "max-age=600 wins over Expires")
        # no-store replaced
        url = ctx.site.url("/nostore/a.txt")
        r = fetch(lu, url)
        eq(r.all("Cache-Control"), ["max-age=600"])
        f, c = verdict(lu, url)
        eq(c["tag"], "fresh")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_lua_force_bad_arguments(ctx):
    lu = lua(ctx, """
function request(flow)
    local ok, err = pcall(lucent.cache.force, flow, 60)
    emit("req", {ok = ok, err = tostring(err)})
end
function responseheaders(flow)
    local ok, err = pcall(lucent.cache.force, flow, -1)
    emit("neg", {ok = ok, err = tostring(err)})
end
""")
    try:
        r = fetch(lu, ctx.site.url("/maxage/a.txt"))
        eq(r.get("Cache-Control"), "max-age=3600", "untouched")
        req = S.wait_emits(lu, "req")[0]
        eq(req["ok"], False, "force before there is a response")
        contains(req["err"], "no response yet")
        neg = S.wait_emits(lu, "neg")[0]
        eq(neg["ok"], False)
        contains(neg["err"], "seconds must be a number >= 0")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_lua_disable(ctx):
    lu = lua(ctx, "function responseheaders(flow) lucent.cache.disable(flow) end\n")
    try:
        for path in ("/maxage/a.txt", "/expires/a.txt"):
            url = ctx.site.url(path)
            r = fetch(lu, url)
            eq(r.status, 200)
            eq(r.all("Cache-Control"), ["no-store"], path)
            eq(r.get("Expires"), None, "%s: Expires removed" % path)
            f, c = verdict(lu, url)
            eq((c["tag"], c["summary"]), ("nostore", "not stored (no-store)"), path)
            contains(summary_of(log_line(lu, url)), "not stored (no-store)")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_lua_revalidate_always(ctx):
    lu = lua(ctx, "function response(flow) lucent.cache.revalidate_always(flow) end\n")
    try:
        url = ctx.site.url("/expires/a.txt")
        r = fetch(lu, url)
        eq(r.all("Cache-Control"), ["no-cache"])
        eq(r.get("Expires"), None, "Expires removed")
        etag = r.get("ETag")
        check(etag, "ETag kept: %r" % r)
        check(r.get("Last-Modified"), "Last-Modified kept")
        f, c = verdict(lu, url)
        eq(c["tag"], "revalidate")
        eq(c["summary"], "revalidate (no-cache) · ETag, Last-Modified")
        # the kept ETag revalidates
        r = fetch(lu, url, "-H", "If-None-Match: %s" % etag)
        eq(r.status, 304)
        eq(r.all("Cache-Control"), ["no-cache"], "also on the 304")
        f, c = verdict(lu, url, 2)
        eq((c["tag"], c["conditional"]["matched"]), ("304", True))
        finish(lu)
    finally:
        lu.stop(check=False)


def test_lua_strip_validators(ctx):
    lu = lua(ctx, "function responseheaders(flow) lucent.cache.strip_validators(flow) end\n")
    try:
        url = ctx.site.url("/maxage/a.txt")
        r = fetch(lu, url)
        eq(r.status, 200)
        eq((r.get("ETag"), r.get("Last-Modified")), (None, None))
        eq(r.get("Cache-Control"), "max-age=3600", "freshness untouched")
        f, c = verdict(lu, url)
        eq((c["etag"], c["last_modified"]), (None, False))
        eq(c["summary"], "fresh 1h (max-age)")
        # a plain file loses its heuristic freshness with its Last-Modified
        url = ctx.site.url("/plain/a.txt")
        r = fetch(lu, url)
        eq((r.get("ETag"), r.get("Last-Modified")), (None, None))
        f, c = verdict(lu, url)
        eq(c["tag"], "stale")
        eq(c["summary"], "no freshness info (revalidate)")
        eq(c["private"]["source"], "none")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_lua_answer_304(ctx):
    lu = lua(ctx, """
function request(flow)
    emit("answered", {url = flow.request.url, r = lucent.cache.answer_304(flow)})
end
""")
    try:
        path = "/nocache/a.txt"
        url = ctx.site.url(path)
        base = len(ctx.site.hits(path))
        r = fetch(lu, url)
        etag, lm = r.get("ETag"), r.get("Last-Modified")
        eq(r.status, 200)
        eq(len(ctx.site.wait_hits(path, base + 1)), base + 1)
        # If-None-Match: answered by lucent
        r = fetch(lu, url, "-H", "If-None-Match: %s" % etag)
        eq((r.status, r.body), (304, b""))
        eq(r.get("ETag"), etag, "the 304 carries the validators")
        eq(r.get("Last-Modified"), lm)
        f, c = verdict(lu, url, 2)
        eq(f["local_reply"], True, "lucent answered")
        eq(f["server"], None, "no upstream connection")
        eq((c["tag"], c["conditional"]["matched"]), ("304", True))
        # a weak form of the same tag matches too (weak comparison)
        eq(fetch(lu, url, "-H", "If-None-Match: W/%s" % etag).status, 304)
        # If-Modified-Since with the Last-Modified date: answered
        eq(fetch(lu, url, "-H", "If-Modified-Since: %s" % lm).status, 304)
        time.sleep(0.3)
        eq(len(ctx.site.hits(path)), base + 1, "the origin saw only the first request")
        # a validator that does not match goes to the origin
        r = fetch(lu, url, "-H", 'If-None-Match: "other"')
        eq((r.status, r.body), (200, CacheSite.FILES["nocache/a.txt"]))
        eq(len(ctx.site.wait_hits(path, base + 2)), base + 2)
        # an older date goes there too
        r = fetch(lu, url, "-H", "If-Modified-Since: %s" % http_date(parse_http_date(lm) - 3600))
        eq(r.status, 200)
        # a URL lucent has not seen a 200 for
        r = fetch(lu, ctx.site.url("/nocache/a.txt?v=2"), "-H", "If-None-Match: %s" % etag)
        eq(r.status, 304, "nginx itself answers (same file)")
        eq(len(ctx.site.wait_hits("/nocache/a.txt?v=2", 1)), 1, "went to the origin")
        answered = [e["r"] for e in S.wait_emits(lu, "answered", 7)]
        eq(answered, [False, True, True, True, False, False, False])
        finish(lu)
    finally:
        lu.stop(check=False)


def test_lua_analyze(ctx):
    lu = lua(ctx, """
function request(flow)
    emit("before", {is_nil = lucent.cache.analyze(flow) == nil})
end
function response(flow)
    local v = lucent.cache.analyze(flow)
    v.url = flow.request.url
    emit("verdict", v)
end
""")
    try:
        fetch(lu, ctx.site.url("/smaxage/a.txt"))
        v = S.wait_emits(lu, "verdict")[0]
        eq(S.wait_emits(lu, "before")[0]["is_nil"], True, "analyze() before a response is nil")
        want = dict(tag="fresh", storable=True, storable_shared=True, lifetime=300, lifetime_shared=3600,
                    source="max-age", source_shared="s-maxage", fresh=True, fresh_shared=True, no_store=False,
                    no_cache=False, private=False, public=False, max_age=300, s_maxage=3600, etag=True,
                    weak_etag=False, last_modified=True, conditional=False, validator_matched=False)
        for k, val in want.items():
            eq(v.get(k), val, "analyze().%s" % k)
        eq(v["summary"], "fresh 5m (max-age) · shared: fresh 1h (s-maxage) · ETag, Last-Modified")
        check(isinstance(v.get("age"), int) and v["age"] <= 2, "age %r" % v.get("age"))
        contains(v.get("notes") or "", "s-maxage=3600 wins")
        # a no-store answer and a conditional one
        fetch(lu, ctx.site.url("/nostore/a.txt"))
        v = S.wait_emits(lu, "verdict", 2)[1]
        eq((v["tag"], v["storable"], v["storable_shared"], v["no_store"], v["why_not"]),
           ("nostore", False, False, True, "no-store"))
        eq(v.get("lifetime"), None)
        url = ctx.site.url("/lm/a.txt")
        lm = fetch(lu, url).get("Last-Modified")
        fetch(lu, url, "-H", "If-Modified-Since: %s" % lm, "-H", "Accept-Language: fr")
        vs = S.wait_emits(lu, "verdict", 4)
        eq((vs[2]["source"], vs[2]["etag"], vs[2]["last_modified"]), ("heuristic", False, True))
        eq((vs[3]["tag"], vs[3]["conditional"], vs[3]["validator_matched"]), ("304", True, True))
        finish(lu)
    finally:
        lu.stop(check=False)


# ---------------------------------------------------------------------------
# --anticache, --no-caching
# ---------------------------------------------------------------------------

def test_anticache(ctx):
    lu = H.Lucent(["--workers", "1", "--anticache"])
    try:
        path = "/nocache/a.txt"
        url = ctx.site.url(path)
        r = fetch(lu, url)
        etag, lm = r.get("ETag"), r.get("Last-Modified")
        base = len(ctx.site.wait_hits(path, 1))
        r = fetch(lu, url, "-H", "If-None-Match: %s" % etag, "-H", "If-Modified-Since: %s" % lm)
        eq((r.status, r.body), (200, CacheSite.FILES["nocache/a.txt"]), "a full answer, not a 304")
        r = fetch(lu, url, "-H", "If-Modified-Since: %s" % lm)
        eq(r.status, 200)
        got = ctx.site.wait_hits(path, base + 2)[-2:]
        eq([(e["status"], e["inm"], e["ims"]) for e in got], [(200, None, None)] * 2,
           "nginx never saw the conditional headers")
        f = flow_for(lu, url, 2)
        eq((qheader(f, "If-None-Match"), qheader(f, "If-Modified-Since")), (None, None),
           "the record shows what was sent")
        eq(f["cache"]["conditional"], None)
        # responses are left alone
        eq(r.get("Cache-Control"), "no-cache")
        eq(r.get("ETag"), etag)
        lu.stop()
    finally:
        lu.stop(check=False)


def test_no_caching(ctx):
    lu = H.Lucent(["--workers", "1", "--no-caching"])
    try:
        for path in ("/maxage/a.txt", "/expires/a.txt", "/pragma/a.txt", "/lm/a.txt"):
            url = ctx.site.url(path)
            r = fetch(lu, url)
            eq(r.status, 200, path)
            eq(r.all("Cache-Control"), ["no-store"], path)
            for h in ("ETag", "Last-Modified", "Expires", "Pragma", "Age"):
                eq(r.get(h), None, "%s: %s removed" % (path, h))
            f, c = verdict(lu, url)
            eq((c["tag"], c["summary"]), ("nostore", "not stored (no-store)"), path)
        # and the anticache part
        path = "/maxage/b.txt"
        etag = fetch(ctx.lucent, ctx.site.url(path)).get("ETag")
        n = len(ctx.site.wait_hits(path, 1))
        r = fetch(lu, ctx.site.url(path), "-H", "If-None-Match: %s" % etag)
        eq(r.status, 200, "no 304 with --no-caching")
        eq(ctx.site.wait_hits(path, n + 1)[-1]["inm"], None)
        lu.stop()
    finally:
        lu.stop(check=False)


def test_no_caching_local_reply(ctx):
    # README: --no-caching "makes every response uncacheable"; a reply made
    # by a script (flow:respond) is a response too
    lu = lua(ctx, """
function requestheaders(flow)
    flow:respond(200, {["Cache-Control"] = "max-age=600", ["ETag"] = '"m1"',
                       ["Last-Modified"] = "Mon, 01 Jan 2024 00:00:00 GMT"}, "mock\\n")
end
""", args=["--no-caching"])
    try:
        r = fetch(lu, ctx.site.url("/mock"))
        eq((r.status, r.body), (200, b"mock\n"))
        eq(r.all("Cache-Control"), ["no-store"], "Cache-Control of a scripted reply under --no-caching")
        eq((r.get("ETag"), r.get("Last-Modified")), (None, None))
        finish(lu)
    finally:
        lu.stop(check=False)


# ---------------------------------------------------------------------------
# scripts/cache-*.lua
# ---------------------------------------------------------------------------

def test_examples_documented_and_compile(ctx):
    with open(os.path.join(S.EXAMPLES, "README.md")) as f:
        readme = f.read()
    for n in EXAMPLE_NAMES:
        path = example(n)
        check(os.path.exists(path), "missing example " + path)
        with open(path) as f:
            text = f.read()
        check(re.search(r"(?m)^--\s+(\S+=\S+ )*lucent .*-s scripts/%s\.lua" % re.escape(n), text),
              "usage line 'lucent ... -s scripts/%s.lua' in the header comment" % n)
        check(re.search(r"(?m)^-- The rules?\b", text), "%s.lua: a comment teaching the rule" % n)
        contains(readme, "| [%s.lua](%s.lua) |" % (n, n), "scripts/README.md index")
        if H.shutil.which("luac5.4"):
            p = subprocess.run(["luac5.4", "-p", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
            eq(p.returncode, 0, "luac5.4 -p %s: %s" % (n, p.stderr.decode(errors="replace")))
    # all at once in one lucent
    lu = ctx.sc.lucent([example(n) for n in EXAMPLE_NAMES], ["--workers", "1"])
    try:
        eq(fetch(lu, ctx.site.url("/plain/a.txt")).status, 200)
        finish(lu)
    finally:
        lu.stop(check=False)


def test_example_cache_force(ctx):
    lu = run_example(ctx, "cache-force")
    try:
        for name in ("style.css", "app.js", "logo.png"):
            url = ctx.site.url("/plain/" + name)
            r = fetch(lu, url)
            eq((r.status, r.body), (200, CacheSite.FILES["plain/" + name]))
            eq(r.all("Cache-Control"), ["max-age=86400"], name)
            exp = parse_http_date(r.get("Expires"))
            check(abs(exp - (time.time() + DAY)) < 5, "%s: Expires a day ahead: %r" % (name, r.get("Expires")))
            f, c = verdict(lu, url)
            eq(c["summary"], "fresh 1d (max-age) · ETag, Last-Modified", name)
        r = fetch(lu, ctx.site.url("/plain/app.js?v=3"))
        eq(r.get("Cache-Control"), "max-age=86400", "the query does not hide the extension")
        for path in ("/plain/index.html", "/plain/data.json", "/plain/missing.css"):
            r = fetch(lu, ctx.site.url(path))
            eq((r.get("Cache-Control"), r.get("Expires")), (None, None), "%s (status %d) untouched" % (path, r.status))
        finish(lu)
    finally:
        lu.stop(check=False)
    lu = run_example(ctx, "cache-force", env={"LUCENT_CACHE_SECONDS": "120", "LUCENT_CACHE_EXT": "json,.TXT"})
    try:
        eq(fetch(lu, ctx.site.url("/plain/data.json")).get("Cache-Control"), "max-age=120")
        eq(fetch(lu, ctx.site.url("/plain/a.txt")).get("Cache-Control"), "max-age=120")
        eq(fetch(lu, ctx.site.url("/plain/style.css")).get("Cache-Control"), None, "the list was replaced")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_example_cache_disable(ctx):
    lu = run_example(ctx, "cache-disable")
    try:
        for path in ("/api/user.json", "/api/v2/items.json"):
            url = ctx.site.url(path)
            r = fetch(lu, url)
            eq((r.status, r.body), (200, CacheSite.FILES[path[1:]]))
            eq(r.all("Cache-Control"), ["no-store"], "%s (the origin said max-age=300)" % path)
            eq(verdict(lu, url)[1]["summary"], "not stored (no-store)")
        r = fetch(lu, ctx.site.url("/maxage/a.txt"))
        eq(r.get("Cache-Control"), "max-age=3600", "outside the prefix: untouched")
        finish(lu)
    finally:
        lu.stop(check=False)
    lu = run_example(ctx, "cache-disable", env={"LUCENT_NO_STORE": "/maxage/, /smaxage/"})
    try:
        eq(fetch(lu, ctx.site.url("/maxage/a.txt")).get("Cache-Control"), "no-store")
        eq(fetch(lu, ctx.site.url("/smaxage/a.txt")).get("Cache-Control"), "no-store")
        eq(fetch(lu, ctx.site.url("/api/user.json")).get("Cache-Control"), "max-age=300")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_example_cache_revalidate(ctx):
    lu = run_example(ctx, "cache-revalidate")
    try:
        url = ctx.site.url("/plain/index.html")
        r = fetch(lu, url)
        eq(r.all("Cache-Control"), ["no-cache"])
        etag = r.get("ETag")
        check(etag, "ETag kept")
        eq(verdict(lu, url)[1]["summary"], "revalidate (no-cache) · ETag, Last-Modified")
        # the second visit: a conditional request and a 304
        r = fetch(lu, url, "-H", "If-None-Match: %s" % etag)
        eq((r.status, r.body), (304, b""))
        f, c = verdict(lu, url, 2)
        eq((c["tag"], c["conditional"]["matched"]), ("304", True))
        contains(summary_of(log_line(lu, url, 2)), "→ 304")
        r = fetch(lu, ctx.site.url("/plain/style.css"))
        eq(r.get("Cache-Control"), None, "not HTML: untouched")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_example_cache_strip_validators(ctx):
    url = ctx.site.url("/plain/a.txt")
    eq(fetch(ctx.lucent, url).status, 200)
    eq(verdict(ctx.lucent, url)[1]["summary"], "heuristic 1d (Last-Modified) · ETag, Last-Modified",
       "with validators")
    lu = run_example(ctx, "cache-strip-validators")
    try:
        r = fetch(lu, url)
        eq((r.get("ETag"), r.get("Last-Modified")), (None, None))
        f, c = verdict(lu, url)
        eq(c["summary"], "no freshness info (revalidate)", "without validators")
        finish(lu)
    finally:
        lu.stop(check=False)
    lu = run_example(ctx, "cache-strip-validators", env={"LUCENT_STRIP": "%.css$"})
    try:
        check(fetch(lu, ctx.site.url("/plain/style.css")).get("ETag") is None, "css stripped")
        check(fetch(lu, url).get("ETag"), "other paths keep their ETag")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_example_cache_answer_304(ctx):
    lu = run_example(ctx, "cache-answer-304")
    try:
        path = "/plain/style.css"
        url = ctx.site.url(path)
        base = len(ctx.site.hits(path))
        r = fetch(lu, url)
        etag = r.get("ETag")
        ctx.site.wait_hits(path, base + 1)
        r = fetch(lu, url, "-H", "If-None-Match: %s" % etag)
        eq((r.status, r.body), (304, b""))
        f = flow_for(lu, url, 2)
        eq((f["status"], f["local_reply"]), (304, True))
        S.wait_stderr(lu, r"script \S*cache-answer-304\.lua: answered 304 for %s$" % re.escape(url))
        time.sleep(0.3)
        eq(len(ctx.site.hits(path)), base + 1, "the origin saw only the first request")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_example_cache_explain(ctx):
    lu = run_example(ctx, "cache-explain")
    try:
        url = ctx.site.url("/smaxage/a.txt")
        fetch(lu, url)
        S.wait_stderr(lu, r"script \S*cache-explain\.lua: GET %s 200: fresh 5m \(max-age\) · shared: fresh 1h "
                          r"\(s-maxage\) · ETag, Last-Modified$" % re.escape(url))
        S.wait_stderr(lu, r"script \S*cache-explain\.lua:   notes: .*s-maxage=3600 wins over max-age=300")
        url = ctx.site.url("/nostore/a.txt")
        fetch(lu, url)
        S.wait_stderr(lu, r"script \S*cache-explain\.lua: GET %s 200: not stored \(no-store\)$" % re.escape(url))
        finish(lu)
    finally:
        lu.stop(check=False)


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, teardown=teardown, per_test_timeout=60)

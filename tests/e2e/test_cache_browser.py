"""The cache lab's browser proof: headless Chromium through lucent visits page
A, which shows res.png, then navigates (a normal navigation, not a reload:
Chromium's reload bypasses its cache) to page B, which shows the same
res.png, then fetches done.txt.  Whether the second res.png load reaches
lucent shows what the browser's own HTTP cache did with the first response.

One nginx server block (own docroot and port, added through
Nginx(extra_http=...), plain HTTP and TLS with a certificate from a test CA)
serves /nostore/ (every response Cache-Control: no-store) and /fresh/
(Cache-Control: max-age=3600, nginx's ETag and Last-Modified), each with
a.html, b.html, res.png and done.txt.

Covers: without a script, a no-store res.png is requested twice (two 200s)
and a max-age=3600 one once (the proofs that the page sequence works both
ways); with `lucent.cache.force(flow, 3600)` on res.png the no-store one is
requested only once (the flow log shows it once, with max-age=3600 and its
verdict "fresh 1h (max-age)"); with `lucent.cache.revalidate_always(flow)` the
fresh one is revalidated on the second visit: a conditional request
(If-None-Match with nginx's ETag) answered 304 by nginx, tag 304,
conditional.matched true; the same revalidation over HTTPS intercepted by
lucent (its CA trusted in the NSS database of a private HOME).

Isolation: H.isolate() runs everything in private mount + network + PID
namespaces with the test /etc/hosts (a.test -> 127.0.0.1) and a DNS
responder answering NXDOMAIN, so Chromium's background requests to public
hosts (which it sends to the proxy) are never resolved; HOME,
--user-data-dir and --disk-cache-dir are fresh temporary directories per
run, so the cache starts empty every time.  Each test checks that every flow
to a host other than a.test failed with "cannot resolve" and never had a
server.

Chromium and certutil are installed with apt-get (before entering the
namespaces) when missing; if that fails the tests FAIL (never skip).

Run: python3 tests/e2e/test_cache_browser.py --lucent build/lucent
"""

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
import test_browser as B  # noqa: E402  (chromium_binary, ensure_chromium, ensure_certutil, _nss_home)

PAGE_A = """<!DOCTYPE html>
<html><head><title>A</title></head><body><h1>page A</h1>
<img id="r" src="res.png" alt="res">
<script>
window.addEventListener("load", function () {
  setTimeout(function () { location.href = "b.html"; }, 150);
});
</script>
</body></html>
"""

PAGE_B = """<!DOCTYPE html>
<html><head><title>B</title></head><body><h1>page B</h1>
<img id="r" src="res.png" alt="res">
<script>
window.addEventListener("load", function () {
  setTimeout(function () { fetch("done.txt?" + Date.now()); }, 150);
});
</script>
</body></html>
"""

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

POLICIES = {"nostore": "no-store", "fresh": "max-age=3600"}


class BrowserSite:
    def __init__(self, cert, key):
        self.root = H.mktemp("lucent-e2e-cachebrowser-")
        for d in POLICIES:
            os.makedirs(os.path.join(self.root, d), mode=0o755)
            os.chmod(os.path.join(self.root, d), 0o755)
            for name, data in (("a.html", PAGE_A), ("b.html", PAGE_B), ("res.png", PNG), ("done.txt", "done\n")):
                p = os.path.join(self.root, d, name)
                with open(p, "wb") as f:
                    f.write(data.encode() if isinstance(data, str) else data)
                os.chmod(p, 0o644)
        self.port = H.free_port(("127.0.0.1",))
        self.tls_port = H.free_port(("127.0.0.1",))
        while self.tls_port == self.port:
            self.tls_port = H.free_port(("127.0.0.1",))
        locs = "".join('        location /%s/ { add_header Cache-Control "%s" always; }\n' % (d, cc)
                       for d, cc in POLICIES.items())
        conf = """
    server {
        listen 127.0.0.1:%(port)d;
        listen 127.0.0.1:%(tls)d ssl;
        server_name _;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        root %(root)s;
        types { text/html html; image/png png; text/plain txt; }
%(locs)s    }
""" % dict(port=self.port, tls=self.tls_port, cert=cert, key=key, root=self.root, locs=locs)
        self.nginx = H.Nginx(extra_http=conf)
        check(H.wait_port(self.port, "127.0.0.1", 10) and H.wait_port(self.tls_port, "127.0.0.1", 10),
              "the browser site's nginx server block is not listening")

    def url(self, path, tls=False):
        return "%s://a.test:%d%s" % ("https" if tls else "http", self.tls_port if tls else self.port, path)


def setup():
    ctx = H.Ctx()
    ctx.pki = H.TestPKI("lucent cache browser e2e CA")
    cert, key = ctx.pki.issue("a.test", ["DNS:a.test"])
    ctx.site = BrowserSite(cert, key)
    ctx.sc = S.Scripts("lcb-")
    return ctx


def run_visit(lu, site, policy, tls=False, home=None):
    """Chromium visits /POLICY/a.html, then b.html, then fetches done.txt;
    returns lucent's flows for /POLICY/res.png once done.txt was seen."""
    exe = B.chromium_binary()
    check(exe, "chromium is not available: %s" % os.environ.get(B.CHROMIUM_ERR_ENV, "not installed"))
    home = home or H.private_home()
    udd = os.path.join(home, "profile")
    cache = os.path.join(home, "cache")
    url_a = site.url("/%s/a.html" % policy, tls)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--disable-extensions", "--no-default-browser-check",
           "--user-data-dir=" + udd, "--disk-cache-dir=" + cache,
           "--proxy-server=http://127.0.0.1:%d" % lu.port, url_a]
    errf = open(os.path.join(home, "chromium.log"), "wb")
    p = H._register_proc(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                                          env=dict(os.environ, HOME=home), start_new_session=True))
    errf.close()
    done_prefix = site.url("/%s/done.txt?" % policy, tls)
    try:
        done = lu.wait_flow(lambda f: (f.get("url") or "").startswith(done_prefix), 40)
    finally:
        try:
            os.killpg(p.pid, 9)      # chromium and its helpers: our own process group
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    with open(os.path.join(home, "chromium.log"), errors="replace") as f:
        chromium_log = f.read()
    check(done, "Chromium did not get to page B's done.txt within 40 s.\nflows:\n%s\nchromium log tail:\n%s" % (
        "\n".join("%s %s %s" % (f.get("method"), f.get("url"), f.get("status") or f.get("error"))
                  for f in lu.flows()), chromium_log[-2000:]))
    time.sleep(0.5)      # records finished just before done.txt's
    flows = lu.flows()
    urls = [f.get("url") for f in flows]
    check(site.url("/%s/a.html" % policy, tls) in urls and site.url("/%s/b.html" % policy, tls) in urls,
          "both pages went through lucent: %r" % urls)
    # Chromium's own background requests (update checks, time, connectivity)
    # reach lucent, which cannot resolve their hosts: none may get anywhere
    foreign = [(f.get("method"), f.get("url"), f.get("server"), f.get("error")) for f in flows
               if not re.match(r"^(https?://)?a\.test:", f.get("url") or "")]
    escaped = [x for x in foreign if x[2] is not None or not (x[3] or "").startswith("cannot resolve ")]
    check(not escaped, "flows to hosts other than a.test were not refused as unresolvable: %r" % escaped)
    res = site.url("/%s/res.png" % policy, tls)
    return [f for f in flows if f.get("url") == res and f.get("method") == "GET"]


def hdr(headers, name):
    vals = [v for k, v in headers if k.lower() == name.lower()]
    return vals[0] if vals else None


def describe(flows):
    return [(f["status"], hdr(f["request_headers"], "If-None-Match"), hdr(f["response_headers"], "Cache-Control"),
             (f.get("cache") or {}).get("tag")) for f in flows]


def lucent_for(ctx, script=None, extra=()):
    args = ["--workers", "1", "--upstream-ca", ctx.pki.ca_cert] + list(extra)
    if script is None:
        return H.Lucent(args)
    return ctx.sc.lucent([ctx.sc.write(script)], args)


def finish(lu):
    check(lu.alive(), "lucent died; stderr:\n" + lu.stderr()[-3000:])
    errs = S.hook_errors(lu)
    check(not errs, "a script hook failed:\n" + "\n".join(errs[:10]))
    lu.stop()


FORCE = """
function responseheaders(flow)
    if flow.request.path:find("/res%.png$") then
        lucent.cache.force(flow, 3600)
    end
end
"""

REVALIDATE = """
function responseheaders(flow)
    if flow.request.path:find("/res%.png$") then
        lucent.cache.revalidate_always(flow)
    end
end
"""


def test_baseline_nostore_loaded_twice(ctx):
    lu = lucent_for(ctx)
    try:
        res = run_visit(lu, ctx.site, "nostore")
        eq([(f["status"], f["cache"]["tag"]) for f in res], [(200, "nostore"), (200, "nostore")],
           "no-store: the second page downloads res.png again: %r" % describe(res))
        finish(lu)
    finally:
        lu.stop(check=False)


def test_force_second_visit_sends_no_request(ctx):
    lu = lucent_for(ctx, FORCE)
    try:
        res = run_visit(lu, ctx.site, "nostore")
        eq(len(res), 1, "with force(3600) the second page takes res.png from the browser cache: %r" % describe(res))
        f = res[0]
        eq(f["status"], 200)
        eq(hdr(f["response_headers"], "Cache-Control"), "max-age=3600")
        check(hdr(f["response_headers"], "Expires"), "Expires set")
        eq(f["cache"]["tag"], "fresh")
        check(f["cache"]["summary"].startswith("fresh 1h (max-age)"), f["cache"]["summary"])
        finish(lu)
    finally:
        lu.stop(check=False)


def test_baseline_fresh_loaded_once(ctx):
    lu = lucent_for(ctx)
    try:
        res = run_visit(lu, ctx.site, "fresh")
        eq(len(res), 1, "max-age=3600: the second page uses the cached res.png: %r" % describe(res))
        finish(lu)
    finally:
        lu.stop(check=False)


def _check_revalidated(res):
    eq(len(res), 2, "with revalidate_always the second page revalidates res.png: %r" % describe(res))
    first, second = res
    eq(first["status"], 200)
    eq(hdr(first["response_headers"], "Cache-Control"), "no-cache")
    etag = hdr(first["response_headers"], "ETag")
    check(etag, "ETag kept on the first response")
    eq(first["cache"]["tag"], "revalidate")
    eq(second["status"], 304, "the conditional request is answered 304: %r" % describe(res))
    inm = hdr(second["request_headers"], "If-None-Match")
    eq(inm, etag, "Chromium revalidates with the ETag it got")
    eq(second["cache"]["tag"], "304")
    eq(second["cache"]["conditional"]["matched"], True)
    contains(second["cache"]["summary"], "→ 304")


def test_revalidate_always_second_visit_is_a_304(ctx):
    lu = lucent_for(ctx, REVALIDATE)
    try:
        _check_revalidated(run_visit(lu, ctx.site, "fresh"))
        finish(lu)
    finally:
        lu.stop(check=False)


def test_revalidate_always_https_intercepted(ctx):
    # --no-auto-ignore: Chromium started without --dump-dom sometimes aborts
    # its very first TLS connection in the middle of the handshake (net log:
    # SSL_CONNECT_JOB_CONNECT net_error -3, no alert sent, while the
    # certificate verification was still running and then succeeded);
    # lucent takes that for a refused certificate (tls-client-rejected) and
    # passes a.test through from then on, and the page fails with
    # ERR_CERT_AUTHORITY_INVALID on nginx's own certificate.
    lu = lucent_for(ctx, REVALIDATE, ["--no-auto-ignore"])
    try:
        home = B._nss_home(True, lu.ca_cert)
        res = run_visit(lu, ctx.site, "fresh", tls=True, home=home)
        for f in res:
            eq(f["tls"], True)
        _check_revalidated(res)
        finish(lu)
    finally:
        lu.stop(check=False)


if __name__ == "__main__":
    if not H.isolated():
        B.ensure_chromium()
        B.ensure_certutil()
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, per_test_timeout=80)

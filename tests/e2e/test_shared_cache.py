"""lucent's shared cache (--cache, --cache-size): an in-memory RFC 9111
shared cache in front of the origins, through real curl -> lucent -> nginx
(CacheSite from test_cache_lab.py: one location per caching policy, an
access log with each request's If-None-Match) and raw Python origins.

Contract under test: --cache turns on an in-memory shared cache bounded by
--cache-size (default 64m, least recently used entries evicted first); a
fresh stored response is served without contacting the origin; a stale one
is revalidated with a conditional request and a 304 is merged (the client
gets 200 with the stored body); Vary, s-maxage, private (not stored),
no-store (not stored) and Authorization (not stored unless public,
s-maxage or must-revalidate) are honoured; the flow log's cache.tag is
"hit", "miss", "revalidated" or "bypass" and the log line's cache summary
starts with "HIT", "MISS", "REVALIDATED" or "BYPASS (reason)".  From the
README's description: one variant per URL by Vary, objects up to a quarter
of --cache-size, POST/PUT/DELETE/PATCH drop the entry of their URL.

Beyond the contract, from RFC 9111 itself (marked so in the tests'
comments): a response served from the cache carries an Age field (4: "a
cache MUST generate an Age header field"); a conditional request that
matches a fresh stored response is answered 304 by the cache (4.3.2); a
fresh must-revalidate response is reused without revalidation (5.2.2.2:
the directive applies once it is stale); a 206 answer to a Range request is
never served for another range or for the full resource (3.3, 3.4).  A
non-cacheable method (POST) is taken as the "bypass" case.

Every test starts its own lucent (--workers 1 --cache ...), so without
--cache support each test fails on its own ("lucent did not start with
--cache"); each uses URLs (query strings) no other test uses, so the
access log counts are its own.

Run: python3 tests/e2e/test_shared_cache.py --lucent build/lucent
"""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import check, eq  # noqa: E402
import test_cache_lab as L  # noqa: E402  (CacheSite, fetch, helpers)

TAGS = ("hit", "miss", "revalidated", "bypass")
LINE_WORD = {"hit": "HIT", "miss": "MISS", "revalidated": "REVALIDATED", "bypass": "BYPASS"}


def setup():
    ctx = H.Ctx()
    ctx.site = L.CacheSite()
    return ctx


def cache_lucent(*args):
    """lucent --workers 1 --cache ARGS (a clear failure when --cache is unknown)."""
    try:
        return H.Lucent(["--workers", "1", "--cache"] + list(args))
    except RuntimeError as e:
        raise H.TestFailure("lucent did not start with --cache %s: %s" % (" ".join(args), str(e)[-800:]))


def get(lu, url, *args):
    """GET through lu; returns (response, its flow record, its log line)."""
    n = len(L.flows_for(lu, url)) + 1
    r = L.fetch(lu, url, *args)
    f = L.flow_for(lu, url, n)
    ln = L.log_line(lu, url, n)
    return r, f, ln


def tag(f):
    c = f.get("cache")
    check(isinstance(c, dict), "no cache object in %r" % f)
    return c.get("tag")


def expect(f, ln, want):
    """The flow's cache.tag is want and its log line summary starts with the matching word."""
    eq(tag(f), want, "cache.tag of %s (summary %r)" % (f["url"], (f.get("cache") or {}).get("summary")))
    s = L.summary_of(ln)
    word = LINE_WORD[want]
    check(s == word or s.startswith(word + " ") or s.startswith(word + " ·"),
          "log line summary should start with %s: %r" % (word, ln))
    if want == "bypass":
        check(re.match(r"^BYPASS \([^)]+\)", s), "BYPASS (reason) on the log line: %r" % ln)


def not_stored(f, ln):
    check(tag(f) in ("miss", "bypass"), "a response that may not be stored is not served from the cache: %r"
          % (f.get("cache") or {}).get("summary"))
    expect(f, ln, tag(f))


def finish(lu):
    check(lu.alive(), "lucent died; stderr:\n" + lu.stderr()[-3000:])
    lu.stop()


# ---------------------------------------------------------------------------

def test_fresh_hit_not_sent_upstream(ctx):
    lu = cache_lucent()
    try:
        path = "/maxage/a.txt?t=hit"
        url = ctx.site.url(path)
        r1, f1, ln1 = get(lu, url)
        eq((r1.status, r1.body), (200, L.CacheSite.FILES["maxage/a.txt"]))
        expect(f1, ln1, "miss")
        ctx.site.wait_hits(path, 1)
        r2, f2, ln2 = get(lu, url)
        eq((r2.status, r2.body), (200, r1.body), "the stored response")
        eq(r2.get("ETag"), r1.get("ETag"))
        eq(r2.get("Cache-Control"), "max-age=3600")
        expect(f2, ln2, "hit")
        r3, f3, ln3 = get(lu, url)
        expect(f3, ln3, "hit")
        time.sleep(0.3)
        eq(len(ctx.site.hits(path)), 1, "nginx saw only the first request")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_hit_carries_age(ctx):
    # RFC 9111 4 / 5.1: a response served from a cache carries Age
    lu = cache_lucent()
    try:
        url = ctx.site.url("/maxage/a.txt?t=age")
        get(lu, url)
        time.sleep(1.1)
        r, f, ln = get(lu, url)
        expect(f, ln, "hit")
        age = r.get("Age")
        check(age is not None and age.isdigit() and int(age) >= 1, "Age on the hit after ~1 s: %r" % age)
        finish(lu)
    finally:
        lu.stop(check=False)


def test_hit_with_origin_gone(ctx):
    o = H.Origin(H.handler_fixed(headers=[("Content-Type", "text/plain"), ("Cache-Control", "max-age=600"),
                                          ("ETag", '"o1"')], body=b"from the origin\n"))
    lu = cache_lucent()
    try:
        url = o.url("/gone")
        r1, f1, ln1 = get(lu, url)
        eq(r1.body, b"from the origin\n")
        expect(f1, ln1, "miss")
        o.stop()
        r2, f2, ln2 = get(lu, url)
        eq((r2.status, r2.body), (200, b"from the origin\n"), "served while the origin is down")
        expect(f2, ln2, "hit")
        eq(len(o.requests), 1)
        finish(lu)
    finally:
        lu.stop(check=False)
        o.stop()


def test_stale_revalidated_304_merged(ctx):
    lu = cache_lucent()
    try:
        path = "/short/a.txt?t=reval"
        url = ctx.site.url(path)
        r1, f1, ln1 = get(lu, url)
        etag = r1.get("ETag")
        expect(f1, ln1, "miss")
        time.sleep(2.2)      # max-age=1: stale now
        r2, f2, ln2 = get(lu, url)
        eq((r2.status, r2.body), (200, L.CacheSite.FILES["short/a.txt"]),
           "the client gets the stored body with a 200, not the 304")
        expect(f2, ln2, "revalidated")
        got = ctx.site.wait_hits(path, 2)
        eq(len(got), 2)
        eq((got[1]["status"], got[1]["inm"]), (304, etag), "a conditional request with the stored ETag")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_stale_changed_at_origin(ctx):
    state = {"v": 1}

    def body(req):
        return b"version %d\n" % state["v"]

    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            tagv = '"v%d"' % state["v"]
            if req.get("If-None-Match") == tagv:
                c.respond(304, "Not Modified", [("ETag", tagv), ("Cache-Control", "max-age=1")])
            else:
                c.respond(200, "OK", [("Content-Type", "text/plain"), ("ETag", tagv), ("Cache-Control", "max-age=1")],
                          body(req))
    o = H.Origin(h)
    lu = cache_lucent()
    try:
        url = o.url("/changing")
        eq(get(lu, url)[0].body, b"version 1\n")
        time.sleep(2.2)
        state["v"] = 2
        r, f, ln = get(lu, url)
        eq((r.status, r.body), (200, b"version 2\n"), "the new version, not the stored one")
        eq(o.requests[1].get("If-None-Match"), '"v1"', "revalidated with the stored ETag")
        eq(tag(f) in TAGS, True, "a cache tag: %r" % tag(f))
        finish(lu)
    finally:
        lu.stop(check=False)
        o.stop()


def test_vary(ctx):
    # lucent keeps one variant per URL (README): a request for another
    # variant is a miss that replaces it; never the wrong variant
    lu = cache_lucent()
    try:
        url = ctx.site.url("/lang?t=vary")
        seq = [("en-US", b"lang=en\n", "miss"), ("en-US", b"lang=en\n", "hit"), ("de-DE", b"lang=de\n", "miss"),
               ("de-DE", b"lang=de\n", "hit"), ("en-US", b"lang=en\n", "miss"), ("en-US", b"lang=en\n", "hit")]
        for lang, want, t in seq:
            r, f, ln = get(lu, url, "-H", "Accept-Language: " + lang)
            eq((r.status, r.body), (200, want), "Accept-Language: %s" % lang)
            expect(f, ln, t)
        r, f, ln = get(lu, url)
        eq(r.body, b"lang=en\n")
        eq(tag(f), "miss", "no Accept-Language is another variant")
        time.sleep(0.3)
        eq([e["lang"] for e in ctx.site.hits("/lang?t=vary")], ["en-US", "de-DE", "en-US", None],
           "nginx saw only the misses")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_s_maxage_wins_in_shared_cache(ctx):
    lu = cache_lucent()
    try:
        # max-age=0, s-maxage=600: stale for a browser, fresh for lucent
        path = "/smaxage0/a.txt?t=s"
        url = ctx.site.url(path)
        expect(*get(lu, url)[1:], "miss")
        expect(*get(lu, url)[1:], "hit")
        time.sleep(0.3)
        eq(len(ctx.site.hits(path)), 1)
        # max-age=600, s-maxage=0: stale at once for lucent
        path = "/sharedzero/a.txt?t=s"
        url = ctx.site.url(path)
        get(lu, url)
        r, f, ln = get(lu, url)
        check(tag(f) != "hit", "s-maxage=0 means no hit without revalidation: %r" % ln)
        eq(len(ctx.site.wait_hits(path, 2)), 2, "the second request went to nginx")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_private_not_stored(ctx):
    lu = cache_lucent()
    try:
        path = "/private/a.txt?t=p"
        url = ctx.site.url(path)
        for _ in range(2):
            r, f, ln = get(lu, url)
            eq(r.body, L.CacheSite.FILES["private/a.txt"])
            not_stored(f, ln)
        eq(len(ctx.site.wait_hits(path, 2)), 2, "both requests went to nginx")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_no_store_not_stored(ctx):
    lu = cache_lucent()
    try:
        path = "/nostore/a.txt?t=ns"
        url = ctx.site.url(path)
        for _ in range(2):
            r, f, ln = get(lu, url)
            not_stored(f, ln)
        eq(len(ctx.site.wait_hits(path, 2)), 2, "both requests went to nginx")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_authorization(ctx):
    lu = cache_lucent()
    try:
        auth = ("-H", "Authorization: Bearer secret")
        path = "/maxage/a.txt?t=auth"
        url = ctx.site.url(path)
        for _ in range(2):
            r, f, ln = get(lu, url, *auth)
            not_stored(f, ln)
        eq(len(ctx.site.wait_hits(path, 2)), 2, "max-age alone: not stored with Authorization")
        for loc in ("public", "smaxage0"):
            path = "/%s/a.txt?t=auth" % loc
            url = ctx.site.url(path)
            expect(*get(lu, url, *auth)[1:], "miss")
            r, f, ln = get(lu, url, *auth)
            expect(f, ln, "hit")
            time.sleep(0.2)
            eq(len(ctx.site.hits(path)), 1, "%s: stored despite Authorization" % loc)
        # must-revalidate: stored too (whether it is then served without
        # revalidation while fresh is test_must_revalidate_fresh_is_a_hit)
        path = "/mustreval/a.txt?t=auth"
        url = ctx.site.url(path)
        expect(*get(lu, url, *auth)[1:], "miss")
        r, f, ln = get(lu, url, *auth)
        check(tag(f) in ("hit", "revalidated"), "must-revalidate: stored despite Authorization: %r" % ln)
        eq(r.body, L.CacheSite.FILES["mustreval/a.txt"])
        finish(lu)
    finally:
        lu.stop(check=False)


def test_must_revalidate_fresh_is_a_hit(ctx):
    # RFC 9111 5.2.2.2: must-revalidate only forbids serving the response
    # once it is *stale* without revalidation; while fresh (max-age=600)
    # it is reused like any other
    lu = cache_lucent()
    try:
        path = "/mustreval/a.txt?t=fresh"
        url = ctx.site.url(path)
        expect(*get(lu, url)[1:], "miss")
        expect(*get(lu, url)[1:], "hit")
        time.sleep(0.2)
        eq(len(ctx.site.hits(path)), 1, "nginx saw only the first request")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_post_bypass(ctx):
    lu = cache_lucent()
    try:
        url = ctx.site.url("/maxage/a.txt?t=post")
        get(lu, url)
        r = L.fetch(lu, url, "-X", "POST", "-d", "x=1")
        f = lu.wait_flow(lambda f: f.get("method") == "POST" and f.get("url") == url, 8)
        check(f, "no POST flow")
        pat = re.compile(r" POST %s → " % re.escape(url))
        ln = H.wait_until(lambda: [x for x in lu.stdout_lines() if pat.search(x)], 5)
        check(ln, "no POST log line")
        expect(f, ln[0], "bypass")
        eq(r.status, 405, "nginx answers a POST to a static file itself")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_cache_size_lru(ctx):
    # lucent stores objects up to a quarter of --cache-size: 180k holds
    # four 40k files, a fifth pushes out the least recently used
    lu = cache_lucent("--cache-size", "180k")
    try:
        a, b, c, d, e = (ctx.site.url("/big/%s.bin?t=lru" % n) for n in "abcde")
        for u in (a, b, c, d):
            expect(*get(lu, u)[1:], "miss")
        r, f, ln = get(lu, a)
        expect(f, ln, "hit")              # a is now the most recently used
        eq(r.body, L.CacheSite.FILES["big/a.bin"])
        expect(*get(lu, e)[1:], "miss")  # b, the least recently used, goes
        for u in (a, c, d, e):
            expect(*get(lu, u)[1:], "hit")
        r, f, ln = get(lu, b)
        expect(f, ln, "miss")
        eq(r.body, L.CacheSite.FILES["big/b.bin"])
        finish(lu)
    finally:
        lu.stop(check=False)


def test_unsafe_method_invalidates(ctx):
    def h(c):
        while True:
            req = c.read_request()
            if req is None:
                return
            c.respond(200, "OK", [("Content-Type", "text/plain"), ("Cache-Control", "max-age=600")],
                      b"%s %d\n" % (req.method.encode(), len(c.origin.requests)))
    o = H.Origin(h)
    lu = cache_lucent()
    try:
        url = o.url("/inv")
        eq(get(lu, url)[0].body, b"GET 1\n")
        r, f, ln = get(lu, url)
        eq(r.body, b"GET 1\n")
        expect(f, ln, "hit")
        eq(L.fetch(lu, url, "-X", "POST", "-d", "x").body, b"POST 2\n")
        r, f, ln = get(lu, url)
        eq(r.body, b"GET 3\n", "a successful POST dropped the stored GET")
        expect(f, ln, "miss")
        finish(lu)
    finally:
        lu.stop(check=False)
        o.stop()


def test_larger_than_cache_not_stored(ctx):
    lu = cache_lucent("--cache-size", "1m")
    try:
        path = "/big/huge.bin?t=huge"
        url = ctx.site.url(path)
        for _ in range(2):
            r, f, ln = get(lu, url)
            eq(r.body, L.CacheSite.FILES["big/huge.bin"])
            check(tag(f) != "hit", "300k is more than a quarter of a 1m cache: %r" % ln)
        eq(len(ctx.site.wait_hits(path, 2)), 2)
        finish(lu)
    finally:
        lu.stop(check=False)


def test_range_partial_not_served_as_full(ctx):
    # RFC 9111 3.3, 3.4: a partial (206) response may be stored only as
    # incomplete, and never used to answer a request for the full resource
    # (or for another range)
    lu = cache_lucent()
    try:
        path = "/maxage/a.txt?t=range"
        url = ctx.site.url(path)
        full = L.CacheSite.FILES["maxage/a.txt"]
        r = L.fetch(lu, url, "-H", "Range: bytes=0-3")
        eq((r.status, r.body), (206, full[:4]))
        r = L.fetch(lu, url, "-H", "Range: bytes=4-7")
        eq((r.status, r.body), (206, full[4:8]), "another range is not the stored one")
        r, f, ln = get(lu, url)
        eq((r.status, r.body), (200, full), "a plain GET gets the whole resource, not a stored 206")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_conditional_request_answered_from_cache(ctx):
    # RFC 9111 4.3.2: a cache answers a matching conditional request for a fresh stored response
    lu = cache_lucent()
    try:
        path = "/maxage/a.txt?t=cond"
        url = ctx.site.url(path)
        etag = get(lu, url)[0].get("ETag")
        r, f, ln = get(lu, url, "-H", "If-None-Match: %s" % etag)
        eq((r.status, r.body), (304, b""))
        eq(tag(f), "hit")
        time.sleep(0.3)
        eq(len(ctx.site.hits(path)), 1, "nginx saw only the first request")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_filter_cache_hit(ctx):
    lu = cache_lucent("--filter", "~cache hit")
    try:
        url = ctx.site.url("/maxage/b.txt?t=filter")
        L.fetch(lu, url)
        L.fetch(lu, url)
        L.fetch(lu, ctx.site.url("/nostore/a.txt?t=filter"))
        H.wait_until(lambda: lu.flows(), 5)
        time.sleep(0.3)
        eq([(f["url"], f["cache"]["tag"]) for f in lu.flows()], [(url, "hit")], "only the hit is logged")
        finish(lu)
    finally:
        lu.stop(check=False)


def test_without_cache_flag_nothing_is_cached(ctx):
    lu = H.Lucent(["--workers", "1"])
    try:
        path = "/maxage/a.txt?t=off"
        url = ctx.site.url(path)
        for _ in range(2):
            r, f, ln = get(lu, url)
            eq(tag(f), "fresh", "the cache lab's verdict, no cache")
        eq(len(ctx.site.wait_hits(path, 2)), 2)
        finish(lu)
    finally:
        lu.stop(check=False)


if __name__ == "__main__":
    H.isolate()
    H.run_tests(H.collect(globals()), setup=setup, per_test_timeout=60)

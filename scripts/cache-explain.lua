-- cache-explain.lua: say for every response what HTTP caches would do with
-- it, in words, on lucent's stderr.
--
--   lucent -s scripts/cache-explain.lua
--
-- The rules (RFC 9111), as lucent.cache.analyze(flow) applies them:
--   * stored or not: no-store forbids every cache; private forbids shared
--     caches (proxies, CDNs); so do a request's Authorization (unless public,
--     s-maxage or must-revalidate) and Vary: *. Only some statuses (200, 301,
--     404, ...) may be stored without explicit freshness.
--   * fresh for how long: s-maxage (shared caches only), else max-age, else
--     Expires minus Date, else a heuristic from Last-Modified (10% of its
--     age, at most a day here); no-cache means "revalidate before each reuse".
--   * age: how old the response already is (Age field, Date, transit time).
--   * validators: ETag / Last-Modified let a stale copy be revalidated with a
--     304 instead of a full download; If-None-Match / If-Modified-Since in a
--     request show the client revalidating its copy.
--
-- A line per response, e.g.
--   lucent: script cache-explain.lua: GET http://a.test/app.css 200: fresh 1h (max-age) · ETag
-- and one more with the notes (which rule won, what was odd or ignored)
-- when there are any. The verdict is also in the flow log's "cache" object
-- and the viewer's Details tab; analyze() returns it as a table (tag,
-- summary, storable, storable_shared, lifetime, source, fresh, age, etag,
-- last_modified, conditional, validator_matched, notes, ...).

function response(flow)
    local v = lucent.cache.analyze(flow)
    if v == nil then
        return
    end
    lucent.log(flow.request.method, flow.request.url, flow.response.status .. ":", v.summary)
    if v.notes then
        lucent.log("  notes:", v.notes)
    end
end

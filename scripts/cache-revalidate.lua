-- cache-revalidate.lua: let browsers keep HTML pages, but make them ask the
-- server before every reuse, so a deploy is visible at once.
--
--   lucent -s scripts/cache-revalidate.lua
--
-- The rule (RFC 9111 5.2.2.4 and 4.3): Cache-Control: no-cache means "you
-- may store this, but do not reuse it without revalidating it". To
-- revalidate, the browser sends a conditional request with the validators
-- it got: If-None-Match: <ETag> (or If-Modified-Since: <Last-Modified>).
-- When nothing changed the server answers 304 Not Modified with no body and
-- the stored copy is used; when it changed it sends the new page (200).
-- One round trip every time, but only a few hundred bytes when unchanged.
-- That is the usual policy for HTML, whose URL never changes, while the
-- assets it references get long lifetimes (see cache-force.lua).
--
-- lucent.cache.revalidate_always(flow) sets Cache-Control: no-cache, removes
-- Expires and Pragma and keeps ETag and Last-Modified: without them every
-- revalidation would be a full download (see cache-strip-validators.lua).
-- Watch the second visit in lucent: the page's flow shows If-None-Match in
-- the request and "304" in the cache column.
--
-- TYPES: Content-Type prefixes this applies to.

local TYPES = {"text/html", "application/xhtml+xml"}

function responseheaders(flow)
    local ctype = (flow.response.headers["Content-Type"] or ""):lower()
    for _, t in ipairs(TYPES) do
        if ctype:sub(1, #t) == t then
            lucent.cache.revalidate_always(flow)
            return
        end
    end
end

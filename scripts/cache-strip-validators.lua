-- cache-strip-validators.lua: remove ETag and Last-Modified from responses,
-- to see what a site costs without validators.
--
--   lucent -s scripts/cache-strip-validators.lua
--   LUCENT_STRIP="%.js$" lucent -s scripts/cache-strip-validators.lua
--
-- The rule (RFC 9110 8.8 and RFC 9111 4.2.2, 4.3.1): validators are what
-- makes a stale copy cheap. With an ETag or a Last-Modified a cache asks
-- "still the same?" (If-None-Match / If-Modified-Since) and usually gets a
-- 304 without a body; without them it can only download the whole response
-- again. Last-Modified also gives *heuristic* freshness: a response without
-- max-age or Expires may be reused for a while (typically 10% of the time
-- since it was last modified). So after this script a plain static file
-- that was "heuristic 1d (Last-Modified)" becomes "no freshness info
-- (revalidate)": every reuse means a full download, and lucent's log shows
-- 200s with the whole body where there used to be 304s.
--
-- lucent.cache.strip_validators(flow) removes ETag and Last-Modified.
--
-- PATTERN: a Lua pattern the path must match (LUCENT_STRIP overrides it);
-- "" matches every path.

local PATTERN = os.getenv("LUCENT_STRIP") or ""

function responseheaders(flow)
    if flow.request.path:find(PATTERN) then
        lucent.cache.strip_validators(flow)
    end
end

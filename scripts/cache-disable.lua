-- cache-disable.lua: make the answers of an API uncacheable, to rule out
-- stale data while debugging ("is it the server or a cached copy?").
--
--   lucent -s scripts/cache-disable.lua
--   LUCENT_NO_STORE="/api/,/graphql" lucent -s scripts/cache-disable.lua
--
-- The rule (RFC 9111 5.2.2.5): Cache-Control: no-store forbids every cache,
-- the browser's and shared ones (proxies, CDNs), to keep a copy. Each
-- request then goes to the server and gets a full answer; no conditional
-- request, no 304. Do not confuse it with no-cache, which allows storing
-- but asks the server before each reuse (see cache-revalidate.lua).
-- Responses to requests with Authorization and answers marked private are
-- already kept out of shared caches, but the browser still stores them:
-- no-store is the only way to say "nowhere".
--
-- lucent.cache.disable(flow) sets Cache-Control: no-store and removes
-- Expires. The validators (ETag, Last-Modified) stay: they do no harm.
--
-- PREFIXES: path prefixes to disable caching for (LUCENT_NO_STORE,
-- comma-separated, replaces the list).

local PREFIXES = {"/api/"}

if os.getenv("LUCENT_NO_STORE") then
    PREFIXES = {}
    for p in os.getenv("LUCENT_NO_STORE"):gmatch("[^,%s]+") do
        PREFIXES[#PREFIXES + 1] = p
    end
end

local function wanted(path)
    for _, prefix in ipairs(PREFIXES) do
        if path:sub(1, #prefix) == prefix then
            return true
        end
    end
    return false
end

function responseheaders(flow)
    if wanted(flow.request.path) then
        lucent.cache.disable(flow)
    end
end

-- cache-force.lua: give static assets (stylesheets, scripts, images, fonts) a
-- long cache lifetime, to see a page load without asking for them again.
--
--   lucent -s scripts/cache-force.lua
--   LUCENT_CACHE_SECONDS=3600 LUCENT_CACHE_EXT="css,js,svg" lucent -s scripts/cache-force.lua
--
-- The rule (RFC 9111 4.2): a cache may reuse a stored response without
-- contacting the server while the response is *fresh*. Cache-Control:
-- max-age=N makes it fresh for N seconds from when it was generated (and
-- wins over Expires, the HTTP/1.0 way of saying the same with a date). While
-- it is fresh the browser sends no request at all: the next page that uses
-- the same stylesheet takes it from its cache (DevTools shows "(disk cache)"
-- or "(memory cache)", lucent shows no flow). That is why sites give
-- versioned file names (app.3f2a1c.js) a year: a new version is a new URL.
--
-- lucent.cache.force(flow, seconds) sets Cache-Control: max-age=N and a
-- matching Expires, and removes Pragma. Only successful answers (200) are
-- forced here: caching an error page for a day is rarely what you want.
--
-- SECONDS: the lifetime (LUCENT_CACHE_SECONDS overrides it).
-- EXTENSIONS: file extensions of the paths to force, lower case
-- (LUCENT_CACHE_EXT, comma-separated, replaces the list).

local SECONDS = 86400 -- 1 day

local EXTENSIONS = {
    css = true, js = true, mjs = true,
    png = true, jpg = true, jpeg = true, gif = true, webp = true, svg = true, ico = true,
    woff = true, woff2 = true,
}

SECONDS = math.tointeger(tonumber(os.getenv("LUCENT_CACHE_SECONDS") or "")) or SECONDS
if os.getenv("LUCENT_CACHE_EXT") then
    EXTENSIONS = {}
    for ext in os.getenv("LUCENT_CACHE_EXT"):gmatch("[^,%s]+") do
        EXTENSIONS[ext:gsub("^%.", ""):lower()] = true
    end
end

-- "/a/app.JS?v=3" -> "js"
local function extension(path)
    local p = path:gsub("[?#].*$", "")
    local ext = p:match("%.([%w]+)$")
    return ext and ext:lower()
end

function responseheaders(flow)
    if flow.response.status ~= 200 then
        return
    end
    local ext = extension(flow.request.path)
    if ext and EXTENSIONS[ext] then
        lucent.cache.force(flow, SECONDS)
    end
end

-- map-local.lua: serve local files instead of what the server would send.
--
--   LUCENT_MAP_LOCAL_DIR=$HOME/mock lucent -s scripts/map-local.lua
--
-- Handy to try a new version of a script, stylesheet or API answer in the
-- real page before it is deployed, or to work on a front end whose back end
-- does not exist yet: the server is never contacted for a mapped URL (the
-- host need not even exist, for plain http:// URLs).
--
-- MAP is tried in order; the first entry whose Lua pattern matches wins:
--   * a pattern starting with "/" (or "^/") is matched against the path,
--     without the query;
--   * any other pattern is matched against the full URL without the query
--     ("http://host:port/path", the port only when it is not the default).
-- The file name may use the pattern's captures as %1, %2 ... and is relative
-- to LUCENT_MAP_LOCAL_DIR (default: lucent's current directory). The
-- Content-Type comes from the file's extension. A mapped file that cannot be
-- read is answered with 404 (and logged), so a typo does not go unnoticed.

local MAP = {
    {"^/api/user$", "user.json"},
    {"^/static/(.+)$", "static/%1"},
    {"^http://mock%.test/$", "index.html"},
}

local DIR = os.getenv("LUCENT_MAP_LOCAL_DIR") or "."

local TYPES = {
    html = "text/html; charset=utf-8", htm = "text/html; charset=utf-8",
    css = "text/css; charset=utf-8", js = "text/javascript; charset=utf-8",
    json = "application/json", txt = "text/plain; charset=utf-8",
    xml = "application/xml", svg = "image/svg+xml", png = "image/png",
    jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif",
    webp = "image/webp", ico = "image/x-icon", woff2 = "font/woff2",
    wasm = "application/wasm",
}

local function content_type(file)
    local ext = file:match("%.([%w]+)$")
    return TYPES[ext and ext:lower() or ""] or "application/octet-stream"
end

local function read_file(name)
    local f, err = io.open(name, "rb")
    if not f then
        return nil, err
    end
    local data = f:read("a")
    f:close()
    return data
end

function requestheaders(flow)
    local req = flow.request
    local path = req.path:gsub("%?.*$", "")
    local url = req.url:gsub("%?.*$", "")
    for _, entry in ipairs(MAP) do
        local pattern, target = entry[1], entry[2]
        local subject = pattern:find("^%^?/") and path or url
        local caps = {subject:match(pattern)}
        if #caps > 0 then
            local file = target:gsub("%%(%d)", function(i)
                return caps[tonumber(i)] or ""
            end)
            if file:find("%.%.") then
                flow:respond(403, {}, "map-local: refusing a path with '..'\n")
                return
            end
            local data, err = read_file(DIR .. "/" .. file)
            if not data then
                lucent.log("map-local:", req.url, "->", err)
                flow:respond(404, {}, "map-local: cannot read " .. file .. "\n")
                return
            end
            flow:respond(200, {
                ["Content-Type"] = content_type(file),
                ["Cache-Control"] = "no-store",
                ["X-Lucent-Map-Local"] = file,
            }, data)
            return
        end
    end
end

-- map-remote.lua: send requests for one host to another server.
--
--   lucent -s scripts/map-remote.lua
--   LUCENT_MAP_REMOTE="api.example.com=127.0.0.1:3000" lucent -s scripts/map-remote.lua
--
-- Point a deployed front end at a local back end (or staging at a test
-- server) without touching the app: the client still asks for the original
-- URL, lucent forwards the request to the new target.
--
-- MAP keys are "host" or "host:port" (the more specific one wins); values are
-- "host", "host:port" (the scheme stays as it was) or
-- "scheme://host[:port]" (e.g. to send https traffic to a plain http server).
-- LUCENT_MAP_REMOTE adds entries: "from=to,from=to", e.g.
--   LUCENT_MAP_REMOTE="a.test:443=http://localhost:8080,b.test=c.test"
--
-- Setting flow.request.host/port/scheme (or flow.request.url) re-targets the
-- request; lucent sends it with the Host header of the new target, and the
-- flow is recorded with the new URL.

local MAP = {
    ["api.example.com"] = "localhost:3000",
}

for entry in (os.getenv("LUCENT_MAP_REMOTE") or ""):gmatch("[^,%s]+") do
    local from, to = entry:match("^([^=]+)=(.+)$")
    if from then
        MAP[from:lower()] = to
    else
        lucent.log("map-remote: ignoring", entry, "(want from=to)")
    end
end

function requestheaders(flow)
    local req = flow.request
    local host = req.host:lower()
    local to = MAP[host .. ":" .. req.port] or MAP[host]
    if not to then
        return
    end
    if to:find("://") then
        -- a whole new origin: setting url changes scheme, host and port at once
        req.url = to:gsub("/+$", "") .. req.path
    else
        local new_host, new_port = to:match("^(.+):(%d+)$")
        if new_host then
            req.host = new_host:match("^%[(.*)%]$") or new_host -- [::1]:8080
            req.port = tonumber(new_port)
        else
            req.host = to
        end
    end
end

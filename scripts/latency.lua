-- latency.lua: make chosen hosts or paths slow, to see how an app behaves on
-- a bad network (spinners, timeouts, double clicks, races).
--
--   lucent -s scripts/latency.lua
--   LUCENT_LATENCY="api.example.com=800,cdn.example.com=200" lucent -s scripts/latency.lua
--
-- A request is held by lucent before it goes to the server (flow:delay);
-- other requests, even on other connections of the same browser tab, are not
-- held. A host delay and a path delay both apply and add up.
--
-- BY_HOST: host name -> milliseconds (LUCENT_LATENCY adds "host=ms,..." entries).
-- BY_PATH: { Lua pattern matched against the path and query, milliseconds };
-- the first match counts.

local BY_HOST = {
    ["slow.example.com"] = 1500,
}

local BY_PATH = {
    {"^/slow/", 1000},
    {"%.mp4$", 300},
}

for host, ms in (os.getenv("LUCENT_LATENCY") or ""):gmatch("([^,=%s]+)=(%d+)") do
    BY_HOST[host:lower()] = tonumber(ms)
end

function requestheaders(flow)
    local req = flow.request
    local ms = BY_HOST[req.host:lower()]
    if ms then
        flow:delay(ms)
    end
    for _, rule in ipairs(BY_PATH) do
        if req.path:find(rule[1]) then
            flow:delay(rule[2])
            break
        end
    end
end

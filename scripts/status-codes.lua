-- status-codes.lua: answer chosen paths with a fixed status, and make a share
-- of all other requests fail, without touching the server.
--
--   lucent -s scripts/status-codes.lua
--   curl -x http://127.0.0.1:8080 -i http://example.test/missing    # 404
--
-- Use it to see how an app copes with errors and outages. Requests that
-- match a rule are answered by lucent itself (flow:respond); the server is
-- never contacted. Everything else goes through as usual, except that with
-- FAILURE_RATE above 0 that share of requests gets FAILURE_STATUS instead.
--
-- RULES are tried in order; the first whose Lua pattern matches the request
-- path (path and query, as in flow.request.path) wins. A rule is
--   { pattern, status [, headers table [, body string]] }
-- Without a body lucent writes a short text such as "404 Not Found".

local RULES = {
    {"^/missing", 404},
    {"^/boom", 500},
    {"^/maintenance", 503, {["Retry-After"] = "120"}, "down for maintenance, back soon\n"},
    {"^/teapot$", 418},
}

-- Random failures: 0 = never (deterministic), 0.1 = one request in ten,
-- 1 = all of them. LUCENT_FAILURE_RATE in the environment overrides it.
local FAILURE_RATE = tonumber(os.getenv("LUCENT_FAILURE_RATE") or "") or 0
local FAILURE_STATUS = 503

function requestheaders(flow)
    local path = flow.request.path
    for _, rule in ipairs(RULES) do
        if path:find(rule[1]) then
            flow:respond(rule[2], rule[3] or {}, rule[4])
            return
        end
    end
    if FAILURE_RATE > 0 and math.random() < FAILURE_RATE then
        lucent.log("failing", flow.request.url, "on purpose with", FAILURE_STATUS)
        flow:respond(FAILURE_STATUS, {["Retry-After"] = "5"}, "simulated failure (status-codes.lua)\n")
    end
end

-- redact.lua: keep secrets out of the flow log.
--
--   lucent --flow-log flows.jsonl -s scripts/redact.lua
--
-- The done hook runs when a flow has finished, just before it is logged;
-- what it changes only changes the record. So the browser and the server
-- still exchange the real cookies and tokens, but the flow log (and anything
-- else that shows flows) sees "[redacted]" in place of every value of the
-- fields listed below. Add your own (API keys, session headers) to SECRET.

local SECRET = {"Cookie", "Set-Cookie", "Authorization", "Proxy-Authorization", "X-Api-Key"}
local MASK = "[redacted]"

local function redact(h)
    for _, name in ipairs(SECRET) do
        local values = h:get_all(name)
        if #values > 0 then
            local masked = {}
            for i = 1, #values do
                masked[i] = MASK
            end
            h[name] = masked
        end
    end
end

function done(flow)
    redact(flow.request.headers)
    if flow.response then
        redact(flow.response.headers)
    end
end

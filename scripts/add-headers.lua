-- add-headers.lua: add, replace and remove header fields on the way through.
--
--   lucent -s scripts/add-headers.lua
--
-- Every request gets "X-Lucent-Seen: yes" before it goes to the server, and
-- every response gets "X-Lucent-Proxied: yes" and loses the fields that give
-- away the server software ("Server", "X-Powered-By") before the client sees
-- it. Edit the three tables below to taste.
--
-- What it shows:
--   * headers are edited in the *headers hooks (requestheaders runs before
--     the request body is read, responseheaders before the response body),
--     so they work for bodies of any size;
--   * h["Name"] = "value" replaces every field of that name (case-insensitive)
--     or appends a new one; h["Name"] = nil removes them all;
--   * responseheaders also runs for replies a script made with flow:respond().

-- name -> value, set on every request (replacing what the client sent)
local REQUEST_SET = {
    {"X-Lucent-Seen", "yes"},
}

-- name -> value, set on every response
local RESPONSE_SET = {
    {"X-Lucent-Proxied", "yes"},
}

-- names removed from every response
local RESPONSE_REMOVE = {"Server", "X-Powered-By"}

function requestheaders(flow)
    local h = flow.request.headers
    for _, field in ipairs(REQUEST_SET) do
        h[field[1]] = field[2]
    end
end

function responseheaders(flow)
    local h = flow.response.headers
    for _, name in ipairs(RESPONSE_REMOVE) do
        h[name] = nil
    end
    for _, field in ipairs(RESPONSE_SET) do
        h[field[1]] = field[2]
    end
end

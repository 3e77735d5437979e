-- cors.lua: let a web page call an API on another origin during development.
--
--   lucent -s scripts/cors.lua
--
-- Browsers refuse cross-origin API responses that do not carry CORS headers.
-- This script adds them to every response whose request came with an
-- "Origin" header, and answers CORS preflights (OPTIONS requests with
-- "Access-Control-Request-Method") itself with 204 No Content, so the
-- server does not have to know about CORS at all.
--
-- ALLOW_ORIGIN = nil echoes the page's Origin back and allows credentials
-- (cookies); a string such as "*" or "http://localhost:3000" is sent as is
-- (without credentials). Headers the server already sent with the same
-- names are replaced.

local ALLOW_ORIGIN = nil
local ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
local ALLOW_HEADERS = nil -- nil: whatever the preflight asks for
local EXPOSE_ALL = true -- let page scripts read every response header
local MAX_AGE = "600" -- seconds a browser may cache a preflight answer

function requestheaders(flow)
    local h = flow.request.headers
    if flow.request.method == "OPTIONS" and h["Origin"] and h["Access-Control-Request-Method"] then
        flow:respond(204, {
            ["Access-Control-Allow-Methods"] = ALLOW_METHODS,
            ["Access-Control-Allow-Headers"] = ALLOW_HEADERS or h["Access-Control-Request-Headers"] or "*",
            ["Access-Control-Max-Age"] = MAX_AGE,
        })
        -- the Allow-Origin headers are added by responseheaders below,
        -- which runs for this lucent-made reply too
    end
end

function responseheaders(flow)
    local origin = flow.request.headers["Origin"]
    if not origin then
        return
    end
    local h = flow.response.headers
    if EXPOSE_ALL and flow.request.method ~= "OPTIONS" then
        -- "*" is no wildcard for requests with credentials: list the names
        local names, seen = {}, {}
        for name in pairs(h) do
            local key = name:lower()
            if not seen[key] and not key:find("^access%-control%-") then
                seen[key] = true
                names[#names + 1] = name
            end
        end
        if #names > 0 then
            h["Access-Control-Expose-Headers"] = table.concat(names, ", ")
        end
    end
    if ALLOW_ORIGIN then
        h["Access-Control-Allow-Origin"] = ALLOW_ORIGIN
        h["Access-Control-Allow-Credentials"] = nil
    else
        h["Access-Control-Allow-Origin"] = origin
        h["Access-Control-Allow-Credentials"] = "true"
        -- the answer depends on the Origin: tell caches so
        local vary = h["Vary"]
        if not vary then
            h["Vary"] = "Origin"
        elseif vary ~= "*" and not vary:lower():find("origin", 1, true) then
            h["Vary"] = vary .. ", Origin"
        end
    end
end

-- json-rewrite.lua: change fields inside JSON responses.
--
--   lucent -s scripts/json-rewrite.lua
--
-- Turn on a hidden debug flag, try a feature switch, or see what the page
-- does with other prices, without touching the server. For every response
-- whose Content-Type mentions "json" and whose path matches PATHS:
--   * the top-level fields in SET are set (added or replaced);
--   * every number field named "price", at any depth, is multiplied by
--     PRICE_FACTOR (1 leaves prices alone).
-- flow.response.body is already decoded (gzip, deflate, and br/zstd when
-- lucent was built with them); the script parses it with lucent.json.decode
-- and writes it back with lucent.json.encode, and lucent sends the result
-- identity-encoded with the right Content-Length.
-- A body that is not valid JSON is left alone (and logged); a body over
-- --body-limit streams through untouched (flow.response.body is nil then).

local PATHS = {"."} -- Lua patterns for the path; "." matches every path

local SET = {
    debug = true,
}

local PRICE_FACTOR = 0.5

local function scale_prices(v)
    if type(v) ~= "table" then
        return
    end
    for k, x in pairs(v) do
        if k == "price" and type(x) == "number" then
            local p = x * PRICE_FACTOR
            v[k] = math.tointeger(p) or p -- 40 -> 20, not 20.0
        else
            scale_prices(x)
        end
    end
end

-- JSON objects and arrays both decode to Lua tables; arrays are sequences
-- (and carry a metatable, so that an empty one re-encodes as [])
local function is_object(v)
    if type(v) ~= "table" then
        return false
    end
    if next(v) == nil then
        return getmetatable(v) == nil
    end
    return v[1] == nil
end

local function wanted(path)
    for _, pattern in ipairs(PATHS) do
        if path:find(pattern) then
            return true
        end
    end
    return false
end

function response(flow)
    local res = flow.response
    local ctype = res.headers["Content-Type"] or ""
    if not ctype:lower():find("json", 1, true) or not wanted(flow.request.path) then
        return
    end
    if res.body == nil or res.body == "" then
        return -- streamed (bigger than --body-limit) or empty
    end
    local doc, err = lucent.json.decode(res.body)
    if doc == nil then
        lucent.log("json-rewrite: not JSON:", flow.request.url, err)
        return
    end
    if is_object(doc) then
        for k, v in pairs(SET) do
            doc[k] = v
        end
    end
    if PRICE_FACTOR ~= 1 then
        scale_prices(doc)
    end
    res.body = lucent.json.encode(doc)
end

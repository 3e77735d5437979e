-- cache-answer-304.lua: let lucent answer revalidations itself, like a cache
-- in front of the server would, to see which requests a cache saves.
--
--   lucent --workers 1 -s scripts/cache-answer-304.lua
--
-- The rule (RFC 9110 13.1.2, 13.1.3, 15.4.5): a conditional GET carries the
-- validator of the copy the client already has. If-None-Match: "v1" means
-- "send the body only if the current ETag is not v1"; If-Modified-Since:
-- <date> means "only if it changed after that date" (If-None-Match wins when
-- both are there). When the validator still matches, the answer is 304 Not
-- Modified, with no body: the client keeps using its copy.
--
-- lucent.cache.answer_304(flow) remembers the ETag and Last-Modified of the
-- last 200 that each URL answered with, and when a conditional request
-- matches them it replies 304 itself: the server never sees the request.
-- It returns true when it did. The memory is per worker thread, so with
-- several workers a request may meet a worker that has not seen the URL
-- yet (then it simply goes to the server); --workers 1 makes it exact.
-- lucent does not ask the server whether the resource changed meanwhile:
-- that is what a fresh cached copy would do too.

function request(flow)
    if lucent.cache.answer_304(flow) then
        lucent.log("answered 304 for", flow.request.url)
    end
end

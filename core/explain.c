/* SPDX-License-Identifier: MIT */
/* explain: the texts of the explain pane, one set of tables per language.
 * To add a note, add a row to the English table and the same key to every
 * other language's table (test_explain fails while a key is missing). To add
 * a language, add an enum value, its tables and a row in `langs`. Keep each
 * text short (one or two sentences for codes and fields, a few for topics),
 * written for someone who has never read a specification. Lookups are
 * linear scans: the tables are small and the pane is built once per key
 * press, never on the traffic path. */
#include "core/explain.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cache.h"
#include "core/hdrs.h"
#include "core/hook.h"

struct code_text {
    int code;
    const char *text;
};

struct field_text {
    const char *name;
    const char *text;
};

struct topic_text {
    const char *title;
    const char *text;
};

/* The pane's own words. */
struct words {
    const char *req_fields, *resp_fields; /* section headings */
    const char *no_note;                  /* a field without a note */
    const char *no_response;              /* instead of the status line */
    const char *failed;                   /* before flow->error */
    const char *local_reply;              /* lucent answered, not the server */
    const char *verdict;                  /* before the cache tag */
};

/* ---- English ---------------------------------------------------------------- */

/* [0]: not an HTTP status at all; [1]..[5]: the class of an unlisted code */
static const char *const classes_en[6] = {
    "This number is not a status code HTTP defines (they run from 100 to 599), so a client "
    "cannot know what it means.",
    "Informational: a provisional reply sent before the real one, which still follows on the "
    "same connection.",
    "Success: the server understood the request and did what it asked.",
    "Redirection: the client has one more step to take, usually asking again at another "
    "address, before the request is done.",
    "Client error: the server says the request itself is at fault (malformed, not allowed, "
    "nothing at that address); sending it again unchanged will not help.",
    "Server error: the request looked fine, but the server or something behind it failed to "
    "handle it.",
};

static const struct code_text status_en[] = {
    {100, "The server has seen the request headers and invites the client to send the body. "
          "You meet it after a client sent Expect: 100-continue ahead of a large upload."},
    {101, "The server agrees to stop speaking HTTP on this connection and switch to the "
          "protocol named in Upgrade, nearly always WebSocket. From here on the bytes are no "
          "longer HTTP."},
    {103, "An early, provisional reply with Link headers, so the browser can start fetching "
          "stylesheets and scripts while the server is still preparing the real answer."},
    {200, "The request worked. For GET the body is the thing asked for; for POST it usually "
          "describes the result of the action."},
    {201, "The request created something new on the server, such as an account or an uploaded "
          "file; Location often says where it now lives."},
    {202, "The server has accepted the job but not finished it (perhaps not started); typical "
          "of work that is queued and done in the background."},
    {203, "It worked, but a proxy on the way changed the response the origin server gave, so "
          "this is not exactly the original."},
    {204, "It worked and there is deliberately no body to send back; common after saving or "
          "deleting, and for tracking beacons."},
    {205, "It worked, and the client should clear the form or view that sent the request, "
          "ready for new input."},
    {206, "Only a part of the resource is sent: the byte range the client asked for with "
          "Range. Used to resume downloads and to jump around in audio and video."},
    {300, "Several versions of the resource exist (in different languages or formats, say) and "
          "the server leaves the choice to the client. Rare in practice."},
    {301, "The resource has moved for good to the address in Location. Browsers and search "
          "engines remember the new address, and browsers may cache the redirect itself."},
    {302, "The resource is for now at the address in Location, but the old address stays the "
          "one to use. Browsers turn a POST into a GET when following it."},
    {303, "The answer is at the address in Location and must be fetched with GET. Sites send it "
          "after a form POST so that reloading the result page does not submit the form again."},
    {304, "The client already has a copy and asked whether it changed (If-None-Match or "
          "If-Modified-Since). It has not: no body comes, and the stored copy is used."},
    {307, "Like 302, a temporary move to Location, but the client must repeat the same method "
          "and body there: a POST stays a POST."},
    {308, "Like 301, a permanent move to Location, but the method and body must be kept when "
          "following it."},
    {400, "The server could not make sense of the request: broken syntax, a malformed header "
          "or an invalid body. It has to be fixed before it is sent again."},
    {401, "The request must say who is asking. WWW-Authenticate tells how to log in; the "
          "client then repeats the request with an Authorization header."},
    {402, "Set aside long ago for payment systems that never became a standard; a few services "
          "use it to say that a subscription or quota has run out."},
    {403, "The server understood the request and refuses it: whoever is asking (logged in or "
          "not) lacks permission. Logging in again usually changes nothing."},
    {404, "There is nothing at this address on the server. The most common error: a mistyped "
          "link, a deleted page, a missing file."},
    {405, "The resource exists but does not take this method, such as a POST to a read-only "
          "page; the Allow header lists the methods it does take."},
    {406, "The server has no version of the resource that fits the Accept headers the client "
          "sent (media type, language or encoding)."},
    {407, "Like 401, but it is a proxy between client and server that wants credentials, in "
          "Proxy-Authorization; Proxy-Authenticate says which kind."},
    {408, "The server waited too long for the client to finish sending its request and gave up "
          "on the connection."},
    {409, "The request clashes with the resource's current state, for example two people "
          "editing one document, or creating something that already exists."},
    {410, "The resource was here and has been removed on purpose, with no new address. Unlike "
          "404 this is meant to be permanent."},
    {411, "The server wants to know the body's size in advance and refuses requests without "
          "Content-Length."},
    {412, "A condition in the request (If-Match, If-Unmodified-Since) no longer holds: the "
          "resource changed since the client last saw it, so the change is refused rather than "
          "overwrite someone else's."},
    {413, "The request body is bigger than the server is willing to take, as with an upload "
          "over the size limit."},
    {414, "The URL is longer than the server will read, often because a form sent lots of data "
          "with GET instead of POST, or a redirect loop kept growing the query."},
    {415, "The server does not accept the format of the body, as named in Content-Type (XML "
          "where it expects JSON, for instance)."},
    {416, "The Range the client asked for lies outside the resource, for example bytes past the "
          "end of the file."},
    {417, "The server cannot do what the Expect header asks for (normally 100-continue)."},
    {418, "A 1998 April Fools' joke: a teapot refusing to brew coffee. Some servers send it as "
          "an easter egg or to brush off bots they do not want."},
    {421, "The request reached a server that cannot answer for this host name; it happens when "
          "a browser reuses an HTTP/2 connection for a different site."},
    {422, "The body is well formed (valid JSON, say) but its content makes no sense to the "
          "server, such as a form with missing or invalid fields."},
    {425, "The server will not act on a request sent as TLS early data (0-RTT), because an "
          "attacker could replay it; the client retries after the handshake."},
    {426, "The server refuses the request over the current protocol; Upgrade names the one to "
          "switch to (a newer TLS or HTTP version, for example)."},
    {428, "The server insists that changes be conditional: send If-Match with the ETag you last "
          "saw, so that two edits cannot silently overwrite each other."},
    {429, "Too many requests in too short a time: the client is being rate-limited, and "
          "Retry-After may say how long to wait."},
    {431, "The request headers are too large, one of them or all together, often because of "
          "too many or too big cookies."},
    {451, "The server refuses this resource for legal reasons, such as a court order or "
          "censorship. The number is a nod to the novel Fahrenheit 451."},
    {500, "Something broke inside the server while it handled the request, usually a bug or an "
          "unhandled error in the application."},
    {501, "The server lacks the feature the request needs, usually because it does not know "
          "the method at all."},
    {502, "A gateway or proxy in front of the real server got a broken answer from it, or none. "
          "When lucent itself cannot reach the server it replies 502 and the body says why."},
    {503, "The server cannot take the request right now, being overloaded or down for "
          "maintenance; Retry-After may say when to come back."},
    {504, "A gateway or proxy waited for the server behind it and gave up before an answer "
          "came."},
    {505, "The server does not support the HTTP version the request used."},
    {507, "The server has run out of room to store what the request needs (a WebDAV code)."},
    {508, "The server stopped because handling the request would go round in circles forever, "
          "such as a folder that contains itself (a WebDAV code)."},
    {511, "The network, not the site, wants you to sign in first, as on hotel or airport Wi-Fi "
          "with a login page (a captive portal)."},
};

static const struct field_text fields_en[] = {
    /* who and what is asked for */
    {"Host", "The name of the site the request is for (with the port when it is not the "
             "default). One server address can host many sites; this tells them apart."},
    {"User-Agent", "Names the client software: browser, version and system, or a tool such as "
                   "curl. Servers use it for statistics and sometimes to send different pages."},
    {"Accept", "The media types the client can use for the answer, such as text/html or "
               "application/json, with optional q= weights to rank them."},
    {"Accept-Encoding", "The compression schemes the client can undo (gzip, br, zstd ...); the "
                        "server picks one and names it in Content-Encoding."},
    {"Accept-Language", "The languages the reader prefers, best first, so the server can pick "
                        "a translation."},
    {"Accept-Charset", "Obsolete: the character sets the client understands. Browsers no "
                       "longer send it, since UTF-8 is assumed everywhere."},
    {"Referer", "The address of the page the request came from, such as the page with the "
                "link that was clicked (the misspelling is in the standard). Referrer-Policy "
                "limits how much of it is sent."},
    {"Origin", "The scheme, host and port of the page that made the request, without the path. "
               "Servers check it for CORS and to reject requests forged by other sites."},
    {"Range", "Asks for part of the resource only, e.g. bytes=0-1023; the server sends that "
              "part with 206, or ignores the field and sends it all."},
    {"Expect", "100-continue asks the server to confirm with 100 Continue, or refuse early, "
               "before the client sends a large body."},
    {"Max-Forwards", "With TRACE or OPTIONS: how many more proxies may pass the request on; "
                     "each one lowers it by one."},
    {"Priority", "How urgent the response is to the client (u=0, most urgent, to u=7) and "
                 "whether it is useful bit by bit (i), so the server can order its replies."},
    {"TE", "The transfer codings the client accepts in the response; in practice only "
           "\"trailers\", meaning it can take fields after the body (gRPC needs this)."},
    {"DNT", "Do Not Track: 1 asks sites not to track the user. Few sites honour it and "
            "browsers are dropping it."},
    {"Upgrade-Insecure-Requests", "The browser says it prefers HTTPS and would like to be "
                                  "sent to the secure version of the page if there is one."},
    {"X-Requested-With", "Not standard: XMLHttpRequest marks a request made by a page's script "
                         "rather than by navigating; some frameworks look for it."},
    {"Sec-Fetch-Site", "Set by the browser: how the requesting page relates to the target: "
                       "same-origin, same-site, cross-site, or none (the user typed the "
                       "address)."},
    {"Sec-Fetch-Mode", "Set by the browser: the kind of request: navigate (loading a page), "
                       "cors, no-cors, same-origin or websocket."},
    {"Sec-Fetch-Dest", "Set by the browser: what the response will be used as: document, "
                       "image, script, style, iframe, empty (fetch or XHR) and so on."},
    {"Sec-Fetch-User", "Set by the browser to ?1 when a user's click or key press started "
                       "this page load."},
    {"Sec-CH-UA", "A client hint: the browser's brand and major version, a tidier stand-in "
                  "for part of User-Agent."},
    {"Sec-CH-UA-Mobile", "A client hint: ?1 when the browser runs on a mobile device."},
    {"Sec-CH-UA-Platform", "A client hint: the operating system, such as \"Windows\" or "
                           "\"Android\"."},

    /* identity and state */
    {"Cookie", "The cookies the browser keeps for this site, sent back with every request so "
               "the server can recognise the session (that you are logged in, for example)."},
    {"Set-Cookie", "The server asks the browser to keep a cookie (name=value) and send it back "
                   "later; Expires, Path, Secure, HttpOnly and SameSite say for how long, to "
                   "which requests, and how carefully."},
    {"Authorization", "Proof of who is asking: Basic user:password (only base64-encoded, not "
                      "encrypted) or a Bearer token. Anyone who sees it can reuse it."},
    {"WWW-Authenticate", "Comes with 401: the kind of login the server wants (Basic, Bearer, "
                         "Digest ...) and for which realm."},
    {"Proxy-Authorization", "Credentials for the proxy between client and server, not for the "
                            "site; sent after a 407."},
    {"Proxy-Authenticate", "Comes with 407: how the client should log in to the proxy in "
                           "between."},

    /* caching */
    {"Cache-Control", "Caching rules: whether the message may be stored (no-store, private, "
                      "public), how long it stays fresh (max-age) and whether it must be checked "
                      "first (no-cache). In a request it asks caches for a fresh copy."},
    {"Expires", "The date after which the response counts as stale: the older way to give a "
                "lifetime. max-age in Cache-Control wins when both are there."},
    {"ETag", "A version label for the resource. The client sends it back in If-None-Match to "
             "ask whether it changed; a 304 answer means it did not."},
    {"Last-Modified", "When the server thinks the resource last changed; the client can send "
                      "it back in If-Modified-Since to ask for anything newer."},
    {"If-None-Match", "Makes the request conditional: send the resource only if its ETag is "
                      "none of these, otherwise answer 304 Not Modified."},
    {"If-Modified-Since", "Makes the request conditional: send the resource only if it "
                          "changed after this date, otherwise answer 304 Not Modified."},
    {"If-Match", "Do this (usually an update) only if the resource still has one of these "
                 "ETags, otherwise answer 412, so that concurrent edits are not lost."},
    {"If-Unmodified-Since", "Do this only if the resource has not changed since this date, "
                            "otherwise answer 412 Precondition Failed."},
    {"If-Range", "Goes with Range to resume a download: send just the missing part if the "
                 "resource is unchanged (same ETag or date), the whole of it if not."},
    {"Age", "How many seconds the response has spent in caches since the origin server made "
            "it; there when a shared cache answered."},
    {"Vary", "The request headers this response depends on (Accept-Encoding, say), so that "
             "caches reuse a stored copy only for requests with the same values."},
    {"Pragma", "An HTTP/1.0 leftover: Pragma: no-cache in a request asks caches not to answer "
               "from storage. Cache-Control has replaced it."},
    {"X-Cache", "Not standard; set by CDNs and proxies: whether they answered from their cache "
                "(HIT) or fetched from the origin (MISS)."},
    {"Cache-Status", "How each cache on the way handled the request: a hit, or why it went on "
                     "to the origin (fwd=...)."},

    /* the body */
    {"Content-Type", "The format of the body, e.g. text/html; charset=utf-8 or "
                     "application/json, so the receiver knows how to read it."},
    {"Content-Length", "The size of the body in bytes, so the receiver knows where this "
                       "message ends and the next one on the connection begins."},
    {"Content-Encoding", "The compression applied to the body (gzip, br, zstd, deflate); the "
                         "receiver has to undo it before using the content."},
    {"Content-Language", "The language the content is written for, e.g. en or zh-CN."},
    {"Content-Range", "In a 206: which bytes of the whole resource this body holds and the "
                      "total size, e.g. bytes 0-1023/4096."},
    {"Accept-Ranges", "Whether the client may ask for parts of this resource: bytes means "
                      "yes, none means no."},
    {"Content-Disposition", "attachment makes the browser save the body as a file (named by "
                            "filename=) rather than show it; inline means show it."},
    {"Transfer-Encoding", "How the body is framed on this hop. chunked means it comes in "
                          "pieces, each preceded by its size, so the sender need not know the "
                          "total length in advance (HTTP/1.1 only)."},
    {"Trailer", "Names the fields that will follow the body at the end of a chunked message, "
                "such as a checksum computed while sending."},

    /* the connection */
    {"Connection", "Options for this one connection, which proxies do not pass on: keep-alive "
                   "keeps it open for more requests, close ends it after this response, "
                   "upgrade goes with Upgrade."},
    {"Keep-Alive", "Hints about a persistent connection: how many seconds an idle one stays "
                   "open (timeout) and how many more requests it will serve (max)."},
    {"Proxy-Connection", "A non-standard twin of Connection that some old clients send to "
                         "proxies; servers should ignore it."},
    {"Upgrade", "Asks to switch this connection to another protocol, such as websocket; the "
                "server agrees with 101 Switching Protocols."},
    {"Sec-WebSocket-Key", "A random value the client sends to open a WebSocket; the server "
                          "derives Sec-WebSocket-Accept from it, proving it really speaks "
                          "WebSocket."},
    {"Sec-WebSocket-Accept", "The server's reply to Sec-WebSocket-Key: a hash of that key and "
                             "a fixed string, showing the client the upgrade was understood."},
    {"Sec-WebSocket-Version", "The WebSocket protocol version the client wants; 13 is the "
                              "only one in use."},
    {"Sec-WebSocket-Protocol", "Application protocols the client can speak over the WebSocket "
                               "(a chat or messaging format, say); the server picks one."},
    {"Sec-WebSocket-Extensions", "WebSocket extensions to use, most often "
                                 "permessage-deflate, which compresses each message."},
    {"Alt-Svc", "Advertises another way to reach the same site, usually HTTP/3 over QUIC on "
                "some port; the browser may use it for later requests."},

    /* where to go */
    {"Location", "Where to go next: the new address of a redirect (3xx), or the address of "
                 "what a 201 created."},
    {"Retry-After", "How long to wait before trying again, in seconds or as a date; comes with "
                    "503, 429 or a redirect."},
    {"Link", "Links to related resources; with rel=preload or preconnect the browser can start "
             "on them early (see 103 Early Hints)."},
    {"Allow", "The methods the resource supports; sent with 405 and in answer to OPTIONS."},

    /* proxies on the way */
    {"Via", "Added by each proxy or gateway the message passed through (protocol version and "
            "name), so the route can be traced."},
    {"X-Forwarded-For", "Not standard but widespread: the client's IP address as each proxy "
                        "saw it, so the server behind them learns who is really asking. Easy "
                        "to fake."},
    {"X-Forwarded-Proto", "Not standard: whether the client reached the first proxy over http "
                          "or https, since the hop to the server may be plain HTTP."},
    {"X-Forwarded-Host", "Not standard: the Host the client first asked for, before a proxy "
                         "rewrote it."},
    {"Forwarded", "The standard form of the X-Forwarded-* fields: the client address (for), "
                  "scheme (proto) and host as each proxy saw them."},

    /* the server and security policy */
    {"Server", "The software the server says it runs (nginx, Apache ...), sometimes with its "
               "version."},
    {"X-Powered-By", "Not standard: the framework or language behind the site (PHP, Express "
                     "...). It helps attackers more than anyone, so it is often removed."},
    {"Date", "When the message was made, in GMT. Caches use it to work out how old a "
             "response is."},
    {"Server-Timing", "Times the server reports for its own work (database, cache ...), shown "
                      "in the browser's developer tools."},
    {"Strict-Transport-Security", "HSTS: for max-age seconds the browser must use only HTTPS "
                                  "for this site, never plain HTTP, and may not let the user "
                                  "click through certificate errors."},
    {"Content-Security-Policy", "Limits where the page may load scripts, styles, images and "
                                "frames from, which blunts cross-site scripting attacks."},
    {"Content-Security-Policy-Report-Only", "Like Content-Security-Policy, but only reports "
                                            "what would be blocked instead of blocking it."},
    {"X-Frame-Options", "Whether other sites may show this page inside a frame (DENY, "
                        "SAMEORIGIN), against clickjacking. CSP's frame-ancestors is the newer "
                        "way."},
    {"X-Content-Type-Options", "nosniff tells the browser to trust Content-Type rather than "
                               "guess from the content, so a text file is never run as a "
                               "script."},
    {"X-XSS-Protection", "Obsolete: switched a filter in old browsers that tried to stop "
                         "reflected scripts; browsers now ignore it and CSP replaces it."},
    {"Referrer-Policy", "How much of the page's address goes out as Referer when following "
                        "links or loading resources: all of it, only the origin, or nothing."},
    {"Permissions-Policy", "Turns browser features such as camera, microphone or location on "
                           "or off for this page and its frames."},

    /* cross-origin requests */
    {"Access-Control-Allow-Origin", "CORS: which other origin's scripts may read this "
                                    "response; * means any. Without it the browser still "
                                    "receives the response but keeps it from the page's "
                                    "script."},
    {"Access-Control-Allow-Credentials", "CORS: true lets the other site's script read the "
                                         "response even though cookies or other credentials "
                                         "were sent."},
    {"Access-Control-Allow-Methods", "CORS preflight answer: the methods the other origin may "
                                     "use."},
    {"Access-Control-Allow-Headers", "CORS preflight answer: the request headers the other "
                                     "origin may send."},
    {"Access-Control-Expose-Headers", "CORS: response headers the other origin's script may "
                                      "read, besides the few safe ones that are always "
                                      "visible."},
    {"Access-Control-Max-Age", "CORS: how many seconds the browser may remember this "
                               "preflight answer before asking again."},
    {"Access-Control-Request-Method", "Sent in a CORS preflight (an OPTIONS request): the "
                                      "method the page wants to use for the real request."},
    {"Access-Control-Request-Headers", "Sent in a CORS preflight: the headers the page wants "
                                       "to send with the real request."},
};

static const struct topic_text topics_en[EXPLAIN_TOPICS] = {
    [EXPLAIN_TOPIC_COOKIES] =
        {"Cookies and statelessness",
         "HTTP forgets everything between requests: each one stands alone, and nothing in the "
         "protocol tells the server that two requests came from the same person. Cookies fill "
         "that gap. The server hands out a value with Set-Cookie, the browser keeps it and "
         "returns it in the Cookie header of every later request to that site, and the server "
         "uses it to find the session (who is logged in, what is in the basket). Whoever can "
         "read a cookie can usually act as that user, which is why Secure and HttpOnly matter."},
    [EXPLAIN_TOPIC_KEEPALIVE] =
        {"Keep-alive and connection reuse",
         "Opening a TCP connection, and a TLS session on top of it, costs several round trips, "
         "so HTTP/1.1 leaves the connection open after a response and sends the next request "
         "over it; Connection: close ends that. On HTTP/1.1 a connection carries one exchange "
         "at a time, so a slow response holds up every request waiting behind it (head-of-line "
         "blocking); that is why browsers open about six connections per site. HTTP/2 and "
         "HTTP/3 interleave many exchanges on a single connection instead."},
    [EXPLAIN_TOPIC_WEBSOCKET] =
        {"Upgrade and WebSocket",
         "A WebSocket starts as an ordinary HTTP GET carrying Upgrade: websocket and a random "
         "Sec-WebSocket-Key. If the server agrees it answers 101 Switching Protocols, and from "
         "then on the same TCP connection carries WebSocket frames both ways: either side may "
         "send a message at any moment, with no request and response pairs. That suits chat, "
         "live feeds and games; the HTTP you see here is only the opening handshake."},
    [EXPLAIN_TOPIC_PLAIN] =
        {"What an observer sees: plain HTTP",
         "This exchange travelled as plain HTTP, unencrypted. Anyone on the path (the Wi-Fi, "
         "the network operator, any router in between) can read everything lucent shows here, "
         "the URL, the headers with their cookies and passwords, and the bodies, and can alter "
         "them without either end noticing. Over HTTPS they would see only the server's "
         "address, normally its host name, and how much was sent when."},
    [EXPLAIN_TOPIC_TLS] =
        {"What an observer sees: HTTPS",
         "This exchange travelled over HTTPS, encrypted with TLS. An observer on the path sees "
         "the server's IP address, the host name (sent in the clear as SNI in the TLS "
         "handshake, unless Encrypted Client Hello is used) and how much data went when, but "
         "not the path of the URL, the headers, the cookies or the bodies. lucent can show "
         "them only because the client trusts lucent's own certificate authority, which lets "
         "lucent decrypt the traffic and encrypt it again in the middle."},
    [EXPLAIN_TOPIC_TUNNEL] =
        {"CONNECT and tunnels",
         "CONNECT asks a proxy to open a TCP connection to host:port and then simply pass the "
         "bytes along in both directions; browsers do this for every HTTPS site they reach "
         "through a proxy. An ordinary proxy sees only the host, the port and the amount of "
         "data. lucent sees more only when it intercepts the TLS inside the tunnel, and then "
         "each request inside shows up as a flow of its own."},
    [EXPLAIN_TOPIC_CACHE] =
        {"Caching",
         "Browsers and shared caches (proxies, CDNs) keep copies of responses so they need not "
         "fetch them again. Cache-Control, Expires, ETag, Last-Modified and Vary decide whether "
         "a copy may be kept, how long it may be reused without asking, and how to check that "
         "it is still current (a conditional request, answered by 304 when nothing changed). "
         "lucent applies the caching rules (RFC 9111) to every response: its verdict and the "
         "reasons are in the cache section of the Details tab."},
    [EXPLAIN_TOPIC_REDIRECTS] =
        {"Redirects",
         "A 3xx answer with a Location header sends the client somewhere else. Browsers follow "
         "it on their own, so one click can cause a chain of requests, each shown here as a "
         "flow of its own. 301 and 308 are permanent and remembered; 302, 303 and 307 are "
         "temporary. 303, and in practice 301 and 302, turn a POST into a GET, while 307 and "
         "308 keep the method and the body. 304 is the odd one out: not a move, but \"use the "
         "copy you already have\"."},
    [EXPLAIN_TOPIC_METHODS] =
        {"Methods: GET and POST",
         "GET fetches a resource and carries no body; it should change nothing on the server, "
         "so it is safe to repeat, to prefetch and to cache. POST sends data in a body (a form, "
         "a JSON document, a file) for the server to act on; repeating it may act twice, which "
         "is why browsers ask before sending a form again. PUT and DELETE are idempotent: doing "
         "them twice leaves things as doing them once. Before a large body a client may send "
         "Expect: 100-continue and wait for 100 Continue, so a refusal comes before the upload "
         "is wasted."},
};

static const struct words words_en = {
    .req_fields = "Request headers",
    .resp_fields = "Response headers",
    .no_note = "no note yet",
    .no_response = "No response",
    .failed = "The exchange failed: ",
    .local_reply = "This reply came from lucent itself, not from the server.",
    .verdict = "lucent's cache verdict for this flow: ",
};

/* ---- 简体中文 --------------------------------------------------------------- */

static const char *const classes_zh[6] = {
    "这个数字不是 HTTP 定义的状态码（状态码在 100 到 599 之间），客户端无法知道它的含义。",
    "信息性回应：在正式答复之前先发出的临时回应，正式答复随后仍在同一条连接上到来。",
    "成功：服务器理解了请求，并完成了请求要求的事情。",
    "重定向：客户端还需要再做一步（通常是到另一个地址重新请求），这次请求才算完成。",
    "客户端错误：服务器认为问题出在请求本身（格式不对、没有权限、地址不存在），原样重发没用。",
    "服务器错误：请求看起来没有问题，但服务器或它背后的系统没能处理好。",
};

static const struct code_text status_zh[] = {
    {100, "服务器已经看到请求头，请客户端继续发送请求体。客户端在上传大文件前先发送 Expect: "
          "100-continue 时会遇到它。"},
    {101, "服务器同意在这条连接上不再使用 HTTP，改用 Upgrade 头中指定的协议，几乎总是 "
          "WebSocket。从此以后连接上的字节就不再是 HTTP 了。"},
    {103, "一个提前发出的临时回应，带有 Link 头，让浏览器在服务器准备正式答复的同时先开始下载"
          "样式表和脚本。"},
    {200, "请求成功。对 GET 来说，响应体就是所请求的内容；对 POST 来说，通常是操作结果的说明。"},
    {201, "请求在服务器上创建了新的东西，比如一个账号或一个上传的文件；Location 头通常给出它的"
          "新地址。"},
    {202, "服务器接受了这项工作，但还没有完成（也许还没开始），常见于排队后在后台执行的任务。"},
    {203, "请求成功，但途中的代理修改了源服务器给出的响应，所以看到的并不完全是原样。"},
    {204, "请求成功，而且特意没有响应体；常见于保存、删除操作以及统计用的信标请求。"},
    {205, "请求成功，客户端应当清空发出请求的表单或视图，以便重新输入。"},
    {206, "只发送了资源的一部分，即客户端用 Range 要求的那段字节。用于断点续传以及在音视频中"
          "跳转。"},
    {300, "资源有多个版本（例如不同的语言或格式），服务器让客户端自己选择。实际中很少见。"},
    {301, "资源已永久搬到 Location 给出的地址。浏览器和搜索引擎会记住新地址，浏览器还可能缓存"
          "这个重定向本身。"},
    {302, "资源暂时位于 Location 给出的地址，但以后仍应使用原地址。浏览器跟随它时会把 POST "
          "改成 GET。"},
    {303, "答复在 Location 指向的地址上，必须用 GET 获取。网站在表单 POST 之后发送它，这样刷新"
          "结果页面就不会再次提交表单。"},
    {304, "客户端已经有一份副本，并询问它是否有变化（If-None-Match 或 If-Modified-Since）。"
          "没有变化：不发送响应体，直接使用保存的副本。"},
    {307, "和 302 一样是临时搬到 Location，但客户端必须用相同的方法和请求体重新请求：POST 仍然"
          "是 POST。"},
    {308, "和 301 一样是永久搬到 Location，但跟随时必须保留原来的方法和请求体。"},
    {400, "服务器看不懂这个请求：语法有误、某个头格式不对或请求体无效。需要先修正再发送。"},
    {401, "请求必须表明请求者的身份。WWW-Authenticate 说明了登录方式，客户端随后带上 "
          "Authorization 头重新请求。"},
    {402, "很早就为从未成为标准的支付系统预留的状态码；少数服务用它表示订阅到期或额度用完。"},
    {403, "服务器理解了请求，但拒绝执行：请求者（无论是否登录）没有权限。重新登录通常也无济"
          "于事。"},
    {404, "服务器上这个地址什么都没有。这是最常见的错误：链接写错、页面被删、文件缺失。"},
    {405, "资源存在，但不接受这种方法，例如向只读页面发送 POST；Allow 头列出了它接受的方法。"},
    {406, "服务器没有符合客户端 Accept 系列头（媒体类型、语言或编码）要求的资源版本。"},
    {407, "和 401 类似，但要求凭据的是客户端和服务器之间的代理，凭据放在 Proxy-Authorization "
          "中；Proxy-Authenticate 说明需要哪一种。"},
    {408, "服务器等客户端发完请求等了太久，放弃了这条连接。"},
    {409, "请求与资源的当前状态冲突，例如两个人同时编辑同一份文档，或者要创建的东西已经存在。"},
    {410, "资源曾经在这里，但已被有意删除，也没有新地址。与 404 不同，这表示永久如此。"},
    {411, "服务器要求事先知道请求体的大小，拒绝没有 Content-Length 的请求。"},
    {412, "请求中的条件（If-Match、If-Unmodified-Since）已不成立：资源在客户端上次看到之后被改"
          "过，因此拒绝这次修改，以免覆盖别人的改动。"},
    {413, "请求体超过了服务器愿意接收的大小，例如上传的文件超出了限制。"},
    {414, "URL 长到服务器不愿读取，常见原因是表单用 GET 而不是 POST 发送了大量数据，或者重定向"
          "循环不断加长查询参数。"},
    {415, "服务器不接受请求体的格式（由 Content-Type 指明），例如服务器期望 JSON 却收到了 "
          "XML。"},
    {416, "客户端要求的 Range 超出了资源的范围，例如要求文件末尾之后的字节。"},
    {417, "服务器无法满足 Expect 头提出的要求（通常是 100-continue）。"},
    {418, "1998 年的一个愚人节玩笑：茶壶拒绝煮咖啡。有些服务器把它当作彩蛋，或用它打发不想要"
          "的爬虫。"},
    {421, "请求到达了一台无法为这个主机名作答的服务器；浏览器把一条 HTTP/2 连接复用到另一个"
          "网站时会出现。"},
    {422, "请求体格式正确（例如是合法的 JSON），但内容对服务器来说讲不通，例如表单字段缺失或"
          "无效。"},
    {425, "服务器不处理以 TLS 早期数据（0-RTT）发送的请求，因为攻击者可能重放它；客户端会在"
          "握手完成后重试。"},
    {426, "服务器拒绝在当前协议上处理请求；Upgrade 头给出应改用的协议（例如更新的 TLS 或 HTTP "
          "版本）。"},
    {428, "服务器坚持修改必须带条件：请用 If-Match 带上你上次看到的 ETag，这样两次编辑就不会"
          "悄无声息地相互覆盖。"},
    {429, "短时间内请求太多：客户端被限流了，Retry-After 可能会说明需要等多久。"},
    {431, "请求头太大（某一个或全部加起来），常见原因是 Cookie 太多或太大。"},
    {451, "服务器因法律原因拒绝提供这个资源，例如法院命令或审查。这个数字致敬小说《华氏 451 "
          "度》。"},
    {500, "服务器在处理请求时内部出了故障，通常是应用程序的缺陷或未处理的错误。"},
    {501, "服务器缺少请求所需的功能，通常是因为它根本不认识这个方法。"},
    {502, "位于真正服务器前面的网关或代理从它那里得到了错误的答复，或者什么都没得到。lucent "
          "自己连不上服务器时也会回答 502，并在响应体中说明原因。"},
    {503, "服务器现在无法接收请求，可能是负载过重或正在维护；Retry-After 可能会说明何时再来。"},
    {504, "网关或代理等待它背后的服务器，没等到答复就放弃了。"},
    {505, "服务器不支持请求所用的 HTTP 版本。"},
    {507, "服务器没有足够的空间来存放请求所需的内容（WebDAV 的状态码）。"},
    {508, "服务器停了下来，因为处理这个请求会无休止地兜圈子，例如一个包含自身的文件夹（WebDAV "
          "的状态码）。"},
    {511, "要求先登录的是网络而不是网站，比如酒店或机场 Wi-Fi 的登录页面（强制门户）。"},
};

static const struct field_text fields_zh[] = {
    /* 请求的是谁、是什么 */
    {"Host", "请求所针对的网站名称（端口不是默认值时还带端口）。同一个服务器地址可以承载许多"
             "网站，靠它来区分。"},
    {"User-Agent", "说明客户端软件：浏览器、版本和操作系统，或者 curl 之类的工具。服务器用它"
                   "做统计，有时据此返回不同的页面。"},
    {"Accept", "客户端能够使用的答复媒体类型，例如 text/html 或 application/json，可以用 q= "
               "权重排序。"},
    {"Accept-Encoding", "客户端能解开的压缩方式（gzip、br、zstd 等）；服务器从中选一种，并在 "
                        "Content-Encoding 中写明。"},
    {"Accept-Language", "读者偏好的语言，最想要的排在前面，方便服务器挑选译本。"},
    {"Accept-Charset", "已过时：客户端能理解的字符集。浏览器已不再发送，因为各处都默认使用 "
                       "UTF-8。"},
    {"Referer", "请求来自哪个页面的地址，例如包含被点击链接的那个页面（这个拼写错误就写在"
                "标准里）。Referrer-Policy 限制它发送多少内容。"},
    {"Origin", "发起请求的页面的协议、主机和端口，不含路径。服务器检查它来处理 CORS，并拒绝"
               "其他网站伪造的请求。"},
    {"Range", "只请求资源的一部分，例如 bytes=0-1023；服务器用 206 发送这部分，或者忽略这个"
              "字段，发送全部内容。"},
    {"Expect", "100-continue 要求服务器在客户端发送大的请求体之前，先用 100 Continue 确认，"
               "或者提前拒绝。"},
    {"Max-Forwards", "用于 TRACE 或 OPTIONS：请求还能再被多少个代理转发；每经过一个代理减一。"},
    {"Priority", "这个响应对客户端有多紧急（u=0 最紧急，到 u=7）以及能否边收边用（i），服务器"
                 "可据此安排答复的先后。"},
    {"TE", "客户端在响应中接受的传输编码；实际上只用“trailers”，表示它能接收消息体之后的字段"
           "（gRPC 需要这一点）。"},
    {"DNT", "Do Not Track（请勿追踪）：值为 1 时请网站不要追踪用户。很少有网站遵守，浏览器也在"
            "逐步弃用它。"},
    {"Upgrade-Insecure-Requests", "浏览器表示它更喜欢 HTTPS，如果页面有安全版本，希望被引导"
                                  "过去。"},
    {"X-Requested-With", "非标准：XMLHttpRequest 表示请求是页面脚本发出的，而不是页面跳转；"
                         "有些框架会检查它。"},
    {"Sec-Fetch-Site", "由浏览器设置：发起请求的页面与目标的关系：same-origin（同源）、"
                       "same-site（同站）、cross-site（跨站），或 none（用户自己输入的地址）。"},
    {"Sec-Fetch-Mode", "由浏览器设置：请求的种类：navigate（加载页面）、cors、no-cors、"
                       "same-origin 或 websocket。"},
    {"Sec-Fetch-Dest", "由浏览器设置：响应将被用作什么：document、image、script、style、"
                       "iframe、empty（fetch 或 XHR）等。"},
    {"Sec-Fetch-User", "当这次页面加载是由用户的点击或按键触发时，浏览器把它设为 ?1。"},
    {"Sec-CH-UA", "客户端提示：浏览器的品牌和主版本号，用来更整洁地替代 User-Agent 的一部分。"},
    {"Sec-CH-UA-Mobile", "客户端提示：浏览器运行在移动设备上时为 ?1。"},
    {"Sec-CH-UA-Platform", "客户端提示：操作系统，例如“Windows”或“Android”。"},

    /* 身份与状态 */
    {"Cookie", "浏览器为这个网站保存的 Cookie，每次请求都会带回去，让服务器认出这个会话（例如"
               "知道你已经登录）。"},
    {"Set-Cookie", "服务器请浏览器保存一个 Cookie（名=值）并在之后带回来；Expires、Path、"
                   "Secure、HttpOnly 和 SameSite 规定保存多久、随哪些请求发送以及多谨慎地处理。"},
    {"Authorization", "证明请求者身份的凭据：Basic 的 用户名:密码（只是 base64 编码，并未加密）"
                      "或 Bearer 令牌。任何看到它的人都能冒用。"},
    {"WWW-Authenticate", "随 401 一起出现：服务器要求的登录方式（Basic、Bearer、Digest 等）以及"
                         "适用的范围（realm）。"},
    {"Proxy-Authorization", "提供给客户端与服务器之间代理的凭据，而不是给网站的；在收到 407 "
                            "之后发送。"},
    {"Proxy-Authenticate", "随 407 一起出现：客户端应如何登录中间的代理。"},

    /* 缓存 */
    {"Cache-Control", "缓存规则：消息能否保存（no-store、private、public）、保持新鲜多久"
                      "（max-age）、使用前是否必须先确认（no-cache）。出现在请求中时，是要求缓存"
                      "提供新的副本。"},
    {"Expires", "一个日期，过了这个时间响应就算过期：这是较老的设定有效期的方式。Cache-Control "
                "中的 max-age 同时存在时以它为准。"},
    {"ETag", "资源的版本标签。客户端在 If-None-Match 中把它发回，询问资源是否有变化；得到 304 "
             "就表示没有变。"},
    {"Last-Modified", "服务器认为资源最后一次修改的时间；客户端可以在 If-Modified-Since 中把它"
                      "发回，只要更新的版本。"},
    {"If-None-Match", "让请求带上条件：只有资源的 ETag 不是这里列出的任何一个时才发送资源，"
                      "否则回答 304 Not Modified。"},
    {"If-Modified-Since", "让请求带上条件：只有资源在这个时间之后改过才发送，否则回答 304 Not "
                          "Modified。"},
    {"If-Match", "只有资源仍是这些 ETag 之一时才执行（通常是修改操作），否则回答 412，这样同时"
                 "进行的编辑就不会丢失。"},
    {"If-Unmodified-Since", "只有资源在这个时间之后没有改过才执行，否则回答 412 Precondition "
                            "Failed。"},
    {"If-Range", "与 Range 一起用于断点续传：资源没变（ETag 或日期相同）就只发送缺少的部分，"
                 "变了就发送全部。"},
    {"Age", "响应自源服务器生成以来已在缓存中待了多少秒；由共享缓存作答时会出现。"},
    {"Vary", "这个响应所依赖的请求头（例如 Accept-Encoding），缓存只把保存的副本用于这些头取值"
             "相同的请求。"},
    {"Pragma", "HTTP/1.0 的遗留：请求中的 Pragma: no-cache 要求缓存不要用保存的副本作答。已被 "
               "Cache-Control 取代。"},
    {"X-Cache", "非标准，由 CDN 和代理设置：它们是用自己的缓存作答（HIT），还是从源服务器取来"
                "（MISS）。"},
    {"Cache-Status", "沿途每个缓存如何处理了这个请求：命中，或者为什么转给了源服务器"
                     "（fwd=...）。"},

    /* 消息体 */
    {"Content-Type", "消息体的格式，例如 text/html; charset=utf-8 或 application/json，让接收方"
                     "知道如何解读。"},
    {"Content-Length", "消息体的字节数，让接收方知道这条消息在哪里结束、连接上的下一条消息从"
                       "哪里开始。"},
    {"Content-Encoding", "消息体所用的压缩方式（gzip、br、zstd、deflate）；接收方要先解压才能"
                         "使用内容。"},
    {"Content-Language", "内容面向的语言，例如 en 或 zh-CN。"},
    {"Content-Range", "在 206 中：这个消息体是整个资源中的哪些字节，以及总大小，例如 bytes "
                      "0-1023/4096。"},
    {"Accept-Ranges", "客户端能否只请求这个资源的一部分：bytes 表示可以，none 表示不可以。"},
    {"Content-Disposition", "attachment 让浏览器把消息体存为文件（文件名由 filename= 给出），"
                            "而不是直接显示；inline 表示直接显示。"},
    {"Transfer-Encoding", "消息体在这一跳上的分帧方式。chunked 表示分块到达，每块前面写明大小，"
                          "这样发送方不必预先知道总长度（仅用于 HTTP/1.1）。"},
    {"Trailer", "列出将在分块消息末尾、消息体之后出现的字段，例如边发送边计算的校验和。"},

    /* 连接 */
    {"Connection", "只对这一条连接有效、代理不会转发的选项：keep-alive 保持连接以便继续请求，"
                   "close 在这次响应后关闭连接，upgrade 与 Upgrade 配合使用。"},
    {"Keep-Alive", "关于持久连接的提示：空闲连接保持多少秒（timeout），还会处理多少个请求"
                   "（max）。"},
    {"Proxy-Connection", "Connection 的非标准孪生兄弟，一些老客户端会发给代理；服务器应忽略"
                         "它。"},
    {"Upgrade", "请求把这条连接切换到另一种协议，例如 websocket；服务器用 101 Switching "
                "Protocols 表示同意。"},
    {"Sec-WebSocket-Key", "客户端打开 WebSocket 时发送的随机值；服务器由它算出 "
                          "Sec-WebSocket-Accept，证明自己确实懂 WebSocket。"},
    {"Sec-WebSocket-Accept", "服务器对 Sec-WebSocket-Key 的回应：由该密钥和一个固定字符串算出"
                             "的哈希，向客户端表明升级请求已被理解。"},
    {"Sec-WebSocket-Version", "客户端想用的 WebSocket 协议版本；目前在用的只有 13。"},
    {"Sec-WebSocket-Protocol", "客户端能在 WebSocket 上使用的应用层协议（例如某种聊天或消息"
                               "格式）；服务器从中选一个。"},
    {"Sec-WebSocket-Extensions", "要使用的 WebSocket 扩展，最常见的是 permessage-deflate，"
                                 "它会压缩每条消息。"},
    {"Alt-Svc", "告知访问同一网站的另一种途径，通常是某个端口上基于 QUIC 的 HTTP/3；浏览器之后"
                "的请求可能会改用它。"},

    /* 下一步去哪里 */
    {"Location", "下一步去哪里：重定向（3xx）的新地址，或者 201 所创建内容的地址。"},
    {"Retry-After", "重试之前要等多久，用秒数或日期表示；随 503、429 或重定向一起出现。"},
    {"Link", "指向相关资源的链接；带 rel=preload 或 preconnect 时，浏览器可以提前开始获取"
             "（参见 103 Early Hints）。"},
    {"Allow", "资源支持的方法；随 405 一起发送，也用于回答 OPTIONS。"},

    /* 途经的代理 */
    {"Via", "消息经过的每个代理或网关都会添加一项（协议版本和名称），以便追踪路径。"},
    {"X-Forwarded-For", "非标准但很普遍：各个代理依次看到的客户端 IP 地址，让后面的服务器知道"
                        "真正的请求者是谁。很容易伪造。"},
    {"X-Forwarded-Proto", "非标准：客户端是用 http 还是 https 连到第一个代理的，因为代理到"
                          "服务器这一段可能是明文 HTTP。"},
    {"X-Forwarded-Host", "非标准：客户端最初请求的 Host，即代理改写之前的值。"},
    {"Forwarded", "X-Forwarded-* 系列字段的标准形式：每个代理看到的客户端地址（for）、协议"
                  "（proto）和主机（host）。"},

    /* 服务器与安全策略 */
    {"Server", "服务器声称自己运行的软件（nginx、Apache 等），有时还带版本号。"},
    {"X-Powered-By", "非标准：网站背后的框架或语言（PHP、Express 等）。它对攻击者的帮助比对谁"
                     "都大，所以常被去掉。"},
    {"Date", "消息生成的时间（格林尼治时间）。缓存用它来计算响应已经存在了多久。"},
    {"Server-Timing", "服务器报告自己各项工作所花的时间（数据库、缓存等），显示在浏览器的开发者"
                      "工具中。"},
    {"Strict-Transport-Security", "HSTS：在 max-age 秒内，浏览器对这个网站只能使用 HTTPS，"
                                  "不能用明文 HTTP，遇到证书错误时也不允许用户强行继续。"},
    {"Content-Security-Policy", "限制页面可以从哪里加载脚本、样式、图片和框架，从而削弱跨站"
                                "脚本（XSS）攻击。"},
    {"Content-Security-Policy-Report-Only", "与 Content-Security-Policy 相同，但只报告哪些内容"
                                            "会被拦截，并不真的拦截。"},
    {"X-Frame-Options", "其他网站能否在框架中显示这个页面（DENY、SAMEORIGIN），用于防范点击"
                        "劫持。较新的做法是 CSP 的 frame-ancestors。"},
    {"X-Content-Type-Options", "nosniff 让浏览器相信 Content-Type，而不是根据内容去猜，这样"
                               "文本文件永远不会被当作脚本运行。"},
    {"X-XSS-Protection", "已过时：用来开关旧浏览器中试图拦截反射型脚本的过滤器；现在的浏览器"
                         "会忽略它，由 CSP 取代。"},
    {"Referrer-Policy", "跟随链接或加载资源时，页面地址有多少作为 Referer 发出去：全部、只有"
                        "来源，或者什么都不发。"},
    {"Permissions-Policy", "为这个页面及其框架开启或关闭摄像头、麦克风、位置等浏览器功能。"},

    /* 跨源请求 */
    {"Access-Control-Allow-Origin", "CORS：允许哪个其他来源的脚本读取这个响应，* 表示任何"
                                    "来源。没有它时浏览器仍会收到响应，但不让页面脚本读取。"},
    {"Access-Control-Allow-Credentials", "CORS：为 true 时，即使请求带了 Cookie 或其他凭据，"
                                         "浏览器也让其他网站的脚本读取响应。"},
    {"Access-Control-Allow-Methods", "CORS 预检的答复：其他来源可以使用的方法。"},
    {"Access-Control-Allow-Headers", "CORS 预检的答复：其他来源可以发送的请求头。"},
    {"Access-Control-Expose-Headers", "CORS：除了始终可见的几个安全响应头，其他来源的脚本还"
                                      "可以读取哪些响应头。"},
    {"Access-Control-Max-Age", "CORS：浏览器可以把这次预检答复记住多少秒，在此之前不必再问。"},
    {"Access-Control-Request-Method", "在 CORS 预检（一个 OPTIONS 请求）中发送：页面在正式"
                                      "请求中想用的方法。"},
    {"Access-Control-Request-Headers", "在 CORS 预检中发送：页面在正式请求中想发送的请求头。"},
};

static const struct topic_text topics_zh[EXPLAIN_TOPICS] = {
    [EXPLAIN_TOPIC_COOKIES] =
        {"Cookie 与无状态",
         "HTTP 在两次请求之间什么都不记得：每个请求都是独立的，协议本身无法让服务器知道两个请求"
         "来自同一个人。Cookie 弥补了这一点：服务器用 Set-Cookie 发出一个值，浏览器保存下来，"
         "之后每次访问这个网站都在 Cookie 头中带回，服务器据此找到对应的会话（谁已登录、购物车"
         "里有什么）。谁能读到 Cookie，通常就能冒充这个用户，所以 Secure 和 HttpOnly 很重要。"},
    [EXPLAIN_TOPIC_KEEPALIVE] =
        {"长连接与连接复用",
         "建立 TCP 连接、再在上面建立 TLS 会话，需要好几个往返，所以 HTTP/1.1 在响应结束后保留"
         "连接，在上面发送下一个请求；Connection: close 会结束这种复用。在 HTTP/1.1 中，一条"
         "连接同一时间只能进行一次请求与响应，一个慢响应会拖住排在它后面的所有请求（队头阻塞），"
         "因此浏览器会对每个网站开大约六条连接。HTTP/2 和 HTTP/3 则在一条连接上交错进行许多"
         "次请求。"},
    [EXPLAIN_TOPIC_WEBSOCKET] =
        {"协议升级与 WebSocket",
         "WebSocket 一开始只是一个普通的 HTTP GET，带着 Upgrade: websocket 和一个随机的 "
         "Sec-WebSocket-Key。服务器同意时回答 101 Switching Protocols，此后同一条 TCP 连接上"
         "双向传输的都是 WebSocket 帧：任何一方都可以随时发送消息，不再是一问一答。这适合聊天、"
         "实时推送和游戏；这里看到的 HTTP 只是开头的握手。"},
    [EXPLAIN_TOPIC_PLAIN] =
        {"旁观者能看到什么：明文 HTTP",
         "这次交换以明文 HTTP 传输，没有加密。路径上的任何人（Wi-Fi、网络运营商、中间的任何"
         "路由器）都能读到 lucent 在这里显示的一切：URL、带着 Cookie 和密码的请求头以及消息体，"
         "还能在两端都察觉不到的情况下篡改它们。如果用 HTTPS，他们只能看到服务器的地址、通常还"
         "有主机名，以及什么时候传输了多少数据。"},
    [EXPLAIN_TOPIC_TLS] =
        {"旁观者能看到什么：HTTPS",
         "这次交换通过 HTTPS 传输，由 TLS 加密。路径上的旁观者能看到服务器的 IP 地址、主机名"
         "（除非使用了加密的 Client Hello，否则它会作为 SNI 在 TLS 握手中明文发送），以及什么时候"
         "传输了多少数据；但看不到 URL 的路径、请求头、Cookie 和消息体。lucent 之所以能显示这些，"
         "是因为客户端信任 lucent 自己的证书颁发机构，lucent 才能在中间解密流量、再重新加密。"},
    [EXPLAIN_TOPIC_TUNNEL] =
        {"CONNECT 与隧道",
         "CONNECT 请代理打开一条到 主机:端口 的 TCP 连接，然后只是在两个方向上转交字节；浏览器"
         "通过代理访问每个 HTTPS 网站时都这样做。普通代理只能看到主机、端口和数据量。只有当 "
         "lucent 拦截了隧道里的 TLS 时，它才能看到更多，这时隧道里的每个请求都会显示为单独的"
         "流。"},
    [EXPLAIN_TOPIC_CACHE] =
        {"缓存",
         "浏览器和共享缓存（代理、CDN）会保存响应的副本，以免重复获取。Cache-Control、Expires、"
         "ETag、Last-Modified 和 Vary 决定副本能否保存、在不询问服务器的情况下可以重用多久，以及"
         "如何确认它仍然有效（发送条件请求，没有变化时服务器回答 304）。lucent 按缓存规则"
         "（RFC 9111）评判每个响应：结论和理由在 Details 标签页的缓存部分。"},
    [EXPLAIN_TOPIC_REDIRECTS] =
        {"重定向",
         "带 Location 头的 3xx 答复会把客户端引到别处。浏览器会自动跟随，所以一次点击可能引起"
         "一连串请求，每个请求在这里都显示为单独的流。301 和 308 是永久的，会被记住；302、303 "
         "和 307 是临时的。303（实际上还有 301 和 302）会把 POST 变成 GET，而 307 和 308 保留"
         "原来的方法和请求体。304 是个例外：它不是搬家，而是“用你已有的那份副本”。"},
    [EXPLAIN_TOPIC_METHODS] =
        {"方法：GET 与 POST",
         "GET 用来获取资源，不带请求体；它不应改变服务器上的任何东西，所以可以放心地重复、预取"
         "和缓存。POST 在请求体中发送数据（表单、JSON 文档、文件）让服务器处理；重复发送可能让"
         "操作执行两次，所以浏览器在重新提交表单前会先询问。PUT 和 DELETE 是幂等的：做两次和做"
         "一次结果相同。在发送较大的请求体之前，客户端可以先发 Expect: 100-continue 并等待 100 "
         "Continue，这样如果服务器拒绝，就不会白白上传。"},
};

static const struct words words_zh = {
    .req_fields = "请求头",
    .resp_fields = "响应头",
    .no_note = "暂无说明",
    .no_response = "没有响应",
    .failed = "这次交换失败了：",
    .local_reply = "这个答复来自 lucent 自己，而不是服务器。",
    .verdict = "lucent 对这个流的缓存结论：",
};

/* ---- the languages ---------------------------------------------------------- */

struct lang_tab {
    const char *name;
    const char *const *classes; /* [6] */
    const struct code_text *status;
    size_t nstatus;
    const struct field_text *fields;
    size_t nfields;
    const struct topic_text *topics; /* [EXPLAIN_TOPICS] */
    const struct words *words;
};

static const struct lang_tab langs[EXPLAIN_LANGS] = {
    [EXPLAIN_EN] = {"en", classes_en, status_en, LC_ARRAY_LEN(status_en), fields_en,
                    LC_ARRAY_LEN(fields_en), topics_en, &words_en},
    [EXPLAIN_ZH] = {"zh", classes_zh, status_zh, LC_ARRAY_LEN(status_zh), fields_zh,
                    LC_ARRAY_LEN(fields_zh), topics_zh, &words_zh},
};

static const struct lang_tab *tab(enum explain_lang l)
{
    return (unsigned)l < EXPLAIN_LANGS ? &langs[l] : &langs[EXPLAIN_EN];
}

/* ---- language choice -------------------------------------------------------- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

enum explain_lang explain_lang_from(const char *s)
{
    /* a locale is language[_territory][.codeset][@modifier]; a BCP 47 tag
     * is language[-script][-region]: either way the language comes first */
    if (s != NULL && lower(s[0]) == 'z' && lower(s[1]) == 'h' && !is_alpha(s[2]))
        return EXPLAIN_ZH;
    return EXPLAIN_EN;
}

enum explain_lang explain_lang_default(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < LC_ARRAY_LEN(vars); i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && v[0] != '\0')
            return explain_lang_from(v);
    }
    return EXPLAIN_EN;
}

const char *explain_lang_name(enum explain_lang l)
{
    return tab(l)->name;
}

/* ---- lookups ---------------------------------------------------------------- */

static const char *find_status(const struct lang_tab *t, int code)
{
    for (size_t i = 0; i < t->nstatus; i++)
        if (t->status[i].code == code)
            return t->status[i].text;
    return NULL;
}

const char *explain_status(int code, enum explain_lang l)
{
    const struct lang_tab *t = tab(l);
    const char *s = find_status(t, code);
    if (s != NULL)
        return s;
    /* a language without a row for this code gives its own class text
     * rather than switching language in the middle of the pane */
    if (code >= 100 && code <= 599)
        return t->classes[code / 100];
    return t->classes[0];
}

/* ASCII case-insensitive: header names are tokens, and the C library's
 * version follows the locale (which the viewer sets). */
static bool name_eq(const char *a, size_t alen, const char *key)
{
    for (size_t i = 0; i < alen; i++)
        if (key[i] == '\0' || lower(a[i]) != lower(key[i]))
            return false;
    return key[alen] == '\0';
}

static const char *find_field(const struct lang_tab *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (name_eq(name, len, t->fields[i].name))
            return t->fields[i].text;
    return NULL;
}

const char *explain_header_n(const char *name, size_t len, enum explain_lang l)
{
    const char *s = find_field(tab(l), name, len);
    return s != NULL ? s : find_field(tab(EXPLAIN_EN), name, len);
}

const char *explain_header(const char *name, enum explain_lang l)
{
    return explain_header_n(name, strlen(name), l);
}

size_t explain_header_count(enum explain_lang l)
{
    return tab(l)->nfields;
}

const char *explain_header_name(size_t i, enum explain_lang l)
{
    const struct lang_tab *t = tab(l);
    return i < t->nfields ? t->fields[i].name : NULL;
}

const char *explain_topic_title(enum explain_topic t, enum explain_lang l)
{
    if ((unsigned)t >= EXPLAIN_TOPICS)
        return "";
    return tab(l)->topics[t].title;
}

const char *explain_topic(enum explain_topic t, enum explain_lang l)
{
    if ((unsigned)t >= EXPLAIN_TOPICS)
        return "";
    return tab(l)->topics[t].text;
}

/* ---- a flow ----------------------------------------------------------------- */

static bool has(const struct hdrs *h, const char *name)
{
    size_t len;
    return hdrs_get(h, name, &len) != NULL;
}

static bool has_either(const struct flow *f, const char *name)
{
    return has(&f->req_headers, name) || has(&f->resp_headers, name);
}

/* A request body: counted bytes, or a framing field that announces some. */
static bool req_has_body(const struct flow *f)
{
    size_t len;
    const char *cl = hdrs_get(&f->req_headers, "Content-Length", &len);

    if (f->req_size > 0 || f->req_body.len > 0 || has(&f->req_headers, "Transfer-Encoding"))
        return true;
    for (size_t i = 0; cl != NULL && i < len; i++)
        if (cl[i] >= '1' && cl[i] <= '9')
            return true;
    return false;
}

unsigned explain_flow_topics(const struct flow *f)
{
    static const char *const caching[] = {"Cache-Control", "Expires",          "ETag",
                                          "Last-Modified", "If-None-Match",    "Age",
                                          "Pragma",        "If-Modified-Since"};
    unsigned set = 0;

    if (has(&f->req_headers, "Cookie") || has(&f->resp_headers, "Set-Cookie"))
        set |= 1u << EXPLAIN_TOPIC_COOKIES;
    if (has_either(f, "Keep-Alive") ||
        hdrs_has_token(&f->req_headers, "Connection", "keep-alive") ||
        hdrs_has_token(&f->resp_headers, "Connection", "keep-alive") ||
        hdrs_has_token(&f->req_headers, "Connection", "close") ||
        hdrs_has_token(&f->resp_headers, "Connection", "close"))
        set |= 1u << EXPLAIN_TOPIC_KEEPALIVE;
    if (f->status == 101 || has_either(f, "Upgrade"))
        set |= 1u << EXPLAIN_TOPIC_WEBSOCKET;
    if (f->connect)
        set |= 1u << EXPLAIN_TOPIC_TUNNEL;
    else
        set |= 1u << (f->tls ? EXPLAIN_TOPIC_TLS : EXPLAIN_TOPIC_PLAIN);
    if (!f->connect) {
        bool cache = f->status == 304 || f->cache[0] != '\0';
        for (size_t i = 0; !cache && i < LC_ARRAY_LEN(caching); i++)
            cache = has_either(f, caching[i]);
        if (cache)
            set |= 1u << EXPLAIN_TOPIC_CACHE;
    }
    if (f->status >= 300 && f->status <= 399)
        set |= 1u << EXPLAIN_TOPIC_REDIRECTS;
    if (req_has_body(f) || has(&f->req_headers, "Expect") || strcmp(f->method, "POST") == 0 ||
        strcmp(f->method, "PUT") == 0 || strcmp(f->method, "PATCH") == 0)
        set |= 1u << EXPLAIN_TOPIC_METHODS;
    return set;
}

/* Field i of the pair a, b (a's fields first). */
static const char *pair_name(const struct hdrs *a, const struct hdrs *b, size_t i, size_t *len)
{
    return i < a->n ? hdrs_name(a, i, len) : hdrs_name(b, i - a->n, len);
}

/* One section of fields: a then b (headers, then trailers), each name once,
 * spelt as it first came. */
static void put_fields(struct buf *out, enum explain_lang l, const char *heading,
                       const struct hdrs *a, const struct hdrs *b)
{
    size_t n = a->n + b->n;
    if (n == 0)
        return;
    buf_printf(out, "\n%s\n", heading);
    for (size_t i = 0; i < n; i++) {
        size_t len, plen;
        const char *name = pair_name(a, b, i, &len);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *prev = pair_name(a, b, j, &plen);
            seen = plen == len;
            for (size_t k = 0; seen && k < len; k++)
                seen = lower(prev[k]) == lower(name[k]);
        }
        if (seen)
            continue;
        const char *note = explain_header_n(name, len, l);
        buf_printf(out, "  %.*s \xe2\x80\x94 %s\n", (int)len, name,
                   note ? note : tab(l)->words->no_note);
    }
}

void explain_flow(const struct flow *f, enum explain_lang l, struct buf *out)
{
    const struct lang_tab *t = tab(l);
    unsigned topics = explain_flow_topics(f);

    buf_printf(out, "%s %s", f->method[0] ? f->method : "-", f->url ? f->url : "-");
    if (f->req_major > 0)
        buf_printf(out, " HTTP/%u.%u", f->req_major, f->req_minor);
    buf_putc(out, '\n');
    if (f->status == 0) {
        buf_printf(out, "%s\n", t->words->no_response);
        if (f->error != NULL)
            buf_printf(out, "  %s%s\n", t->words->failed, f->error);
    } else {
        const char *reason = f->reason && f->reason[0] ? f->reason : hook_reason(f->status);
        buf_printf(out, "%d%s%s\n", f->status, reason[0] ? " " : "", reason);
        buf_printf(out, "  %s\n", explain_status(f->status, l));
        if (f->local_reply)
            buf_printf(out, "  %s\n", t->words->local_reply);
        if (f->error != NULL)
            buf_printf(out, "  %s%s\n", t->words->failed, f->error);
    }
    put_fields(out, l, t->words->req_fields, &f->req_headers, &f->req_trailers);
    put_fields(out, l, t->words->resp_fields, &f->resp_headers, &f->resp_trailers);
    for (unsigned k = 0; k < EXPLAIN_TOPICS; k++) {
        if (!(topics & (1u << k)))
            continue;
        buf_printf(out, "\n%s\n  %s\n", t->topics[k].title, t->topics[k].text);
        if (k == EXPLAIN_TOPIC_CACHE) {
            char tag[24];
            cache_flow_tag(f, tag, sizeof(tag));
            if (tag[0] != '\0')
                buf_printf(out, "  %s%s\n", t->words->verdict, tag);
        }
    }
}

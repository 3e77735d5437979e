/* SPDX-License-Identifier: MIT */
/* onboard: one small HTML page and the two certificate downloads. */
#include "core/onboard.h"

#include <string.h>

#include "ca/ca.h"

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>lucent: trust the CA</title>\n"
    "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em}"
    "code,pre{background:#f3f3f3;padding:.1em .3em}pre{padding:.6em;overflow-x:auto}"
    "h2{margin-top:1.6em}.fp{word-break:break-all}</style></head><body>\n"
    "<h1>lucent</h1>\n"
    "<p>This page comes from the lucent proxy itself. To see inside HTTPS, lucent signs a "
    "certificate for every site you visit with its own certificate authority (CA). Your "
    "browser or system must trust that CA once. Only do this on a machine and for a proxy "
    "you control: whoever holds the CA's key can read your HTTPS traffic.</p>\n"
    "<p><a href=\"/cert/pem\">Download the CA certificate (PEM)</a> &middot; "
    "<a href=\"/cert/cer\">Download it as DER (.cer)</a></p>\n";

static const char page_body[] =
    "<h2>Firefox</h2><p>Settings &rarr; Privacy &amp; Security &rarr; Certificates &rarr; "
    "<em>View Certificates</em> &rarr; Authorities &rarr; <em>Import</em>, choose the PEM file "
    "and tick <em>Trust this CA to identify websites</em>.</p>\n"
    "<h2>Chromium / Chrome on Linux</h2><p>Settings &rarr; Privacy and security &rarr; Security "
    "&rarr; <em>Manage certificates</em> &rarr; Authorities &rarr; <em>Import</em> the PEM file "
    "and "
    "trust it for websites. From a shell:</p>\n"
    "<pre>certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n lucent -i lucent-ca-cert.pem</pre>\n"
    "<h2>curl</h2><pre>curl --cacert ~/.lucent/lucent-ca-cert.pem -x http://127.0.0.1:8080 "
    "https://example.com/</pre>\n"
    "<h2>Debian / Ubuntu (system-wide)</h2>"
    "<pre>sudo cp lucent-ca-cert.pem /usr/local/share/ca-certificates/lucent.crt\n"
    "sudo update-ca-certificates</pre>\n"
    "<h2>macOS</h2><p>Open the PEM file in Keychain Access (System keychain), double-click "
    "the <em>lucent CA</em> certificate, and under Trust choose <em>Always Trust</em>. Or:</p>"
    "<pre>sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "
    "lucent-ca-cert.pem</pre>\n"
    "<h2>Windows</h2><p>Open the .cer file &rarr; <em>Install Certificate</em> &rarr; Local "
    "Machine &rarr; <em>Place all certificates in the following store</em> &rarr; Trusted Root "
    "Certification Authorities. Or: <code>certutil -addstore root lucent-ca-cert.cer</code></p>\n"
    "<h2>Android</h2><p>Download the .cer file, then Settings &rarr; Security &rarr; Encryption "
    "&amp; credentials &rarr; <em>Install a certificate</em> &rarr; CA certificate. Apps other "
    "than browsers usually trust only system CAs.</p>\n"
    "<h2>iOS / iPadOS</h2><p>Open the PEM link in Safari and allow the profile download, install "
    "it in Settings &rarr; General &rarr; VPN &amp; Device Management, then enable full trust in "
    "Settings &rarr; General &rarr; About &rarr; Certificate Trust Settings.</p>\n"
    "</body></html>\n";

void onboard_reply(const struct ca *ca, const char *path, size_t path_len, struct onboard_reply *r)
{
    size_t n = 0;
    while (n < path_len && path[n] != '?')
        n++;
    memset(r, 0, sizeof(*r));
    if ((n == 0) || (n == 1 && path[0] == '/')) {
        r->status = 200;
        r->reason = "OK";
        r->content_type = "text/html; charset=utf-8";
        buf_puts(&r->body, page_head);
        buf_puts(&r->body, "<p>Check what you install: the certificate's SHA-256 fingerprint "
                           "is<br><code class=\"fp\">");
        buf_puts(&r->body, ca->fingerprint);
        buf_puts(&r->body, "</code><br>(lucent prints it when it starts).</p>\n");
        buf_puts(&r->body, page_body);
    } else if (n == 9 && memcmp(path, "/cert/pem", 9) == 0) {
        r->status = 200;
        r->reason = "OK";
        r->content_type = "application/x-pem-file";
        r->disposition = "attachment; filename=\"lucent-ca-cert.pem\"";
        buf_append(&r->body, ca->cert_pem, ca->cert_pem_len);
    } else if (n == 9 && memcmp(path, "/cert/cer", 9) == 0) {
        r->status = 200;
        r->reason = "OK";
        r->content_type = "application/x-x509-ca-cert";
        r->disposition = "attachment; filename=\"lucent-ca-cert.cer\"";
        buf_append(&r->body, ca->cert_der, ca->cert_der_len);
    } else {
        r->status = 404;
        r->reason = "Not Found";
        r->content_type = "text/plain; charset=utf-8";
        buf_puts(&r->body, "lucent: no such page; see http://" ONBOARD_HOST "/\n");
    }
}

// TLS client authentication in Debian's Chromium with a certificate on the vtoken module,
// run by tests/integration/test-browser.sh, which prepares the NSS database, the
// AutoSelectCertificateForUrls policy and the X display, and types the PIN into
// Chromium's "Unlock Security Device" dialog while this script waits for the page.
//
// This script: an HTTPS server on 127.0.0.1 that requires a client certificate from the
// test CA and answers with a page showing that certificate's subject; Chromium (through
// playwright-core, never a downloaded browser) opening that page.
// Prints "server: client certificate <subject>" per request and, at the end,
// "PAGE_SUBJECT: <text of #subject>"; exits 0 only if the page loaded with status 200.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const { chromium } = require('playwright-core');

function arg(name) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0 || i + 1 >= process.argv.length) {
    console.error(`missing --${name}`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

const port = Number(arg('port'));
const timeoutMs = Number(arg('timeout')) * 1000;
const userDataDir = arg('user-data-dir');
const executablePath = arg('chromium');

// The launch flags this machine needs (docs/clients/firefox-chromium.md); X11, since the
// PIN is typed with xdotool into a real (Xvfb) window.
const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--ozone-platform=x11',
];

function subjectOf(peer) {
  if (!peer || !peer.raw) return null;
  return new crypto.X509Certificate(peer.raw).subject.split('\n').join(', ');
}

function escapeHtml(s) {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

const server = https.createServer({
  key: fs.readFileSync(arg('server-key')),
  cert: fs.readFileSync(arg('server-cert')),
  ca: fs.readFileSync(arg('ca')),
  requestCert: true,
  rejectUnauthorized: true,
}, (req, res) => {
  const subject = subjectOf(req.socket.getPeerCertificate());
  console.log(`server: ${req.method} ${req.url} client certificate ${subject}`);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end('<!doctype html><title>vtoken client authentication</title>' +
          `<p>Client certificate subject:</p><p id="subject">${escapeHtml(subject || '')}</p>`);
});
server.on('tlsClientError', (e) => console.log(`server: TLS error: ${e.message}`));

async function main() {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  console.log(`server: listening on 127.0.0.1:${port}`);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: false, args: chromiumArgs, timeout: timeoutMs,
  });
  let ok = false;
  try {
    const page = context.pages()[0] || await context.newPage();
    console.log('browser: opening the page (Chromium asks for the PIN now)');
    const response = await page.goto(`https://127.0.0.1:${port}/`, { timeout: timeoutMs });
    console.log(`browser: status ${response && response.status()}`);
    const text = await page.textContent('#subject', { timeout: 5000 });
    console.log(`PAGE_SUBJECT: ${text}`);
    ok = response !== null && response.status() === 200;
  } finally {
    await context.close();
    server.close();
  }
  return ok;
}

main().then((ok) => process.exit(ok ? 0 : 1), (e) => {
  console.log(`error: ${e && e.message}`);
  process.exit(1);
});

#!/usr/bin/env node
// Third-party keyless signer for gitsecure's tests: the npm `sigstore` client against @sigstore/mock Fulcio,
// Rekor (v1) and TSA handlers served on 127.0.0.1 only. Nothing leaves the machine.
//
// usage: node sign.js --manifest FILE --out DIR [--subject S] [--issuer URL] [--predicate-type URI]
//                     [--ca-clock-offset-minutes N] [--no-tsa]
// Writes DIR/trusted_root.json, DIR/message.sigstore.json (message signature over the manifest bytes, so its
// messageDigest is the image digest) and DIR/dsse.sigstore.json (DSSE over an in-toto Statement v1 whose subject
// is sha256:<digest of the manifest>); prints {"digest", "subject", "issuer"} as JSON.
//
// Mock quirks handled here (verify.md §6.3): Fulcio returns each PEM on one line, re-wrapped to 64 columns so the
// Rekor body carries the PEM sigstore-python rebuilds; the mock Rekor stores a DSSE proposal verbatim, so the
// adapter turns it into the canonical dsse 0.0.1 body real Rekor writes (payloadHash, envelopeHash, signatures)
// before the mock signs it, keeping the SET, inclusion proof and checkpoint consistent.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const mock = require('@sigstore/mock');
const sigstore = require('sigstore');

function args(argv) {
  const out = { subject: 'https://signer.example/ci@refs/heads/main', issuer: 'https://issuer.example',
    predicateType: 'https://sigstore.dev/cosign/sign/v1', caClockOffset: 0, tsa: true };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--manifest') out.manifest = argv[++i];
    else if (a === '--out') out.out = argv[++i];
    else if (a === '--subject') out.subject = argv[++i];
    else if (a === '--issuer') out.issuer = argv[++i];
    else if (a === '--predicate-type') out.predicateType = argv[++i];
    else if (a === '--ca-clock-offset-minutes') out.caClockOffset = Number(argv[++i]);
    else if (a === '--no-tsa') out.tsa = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!out.manifest || !out.out) throw new Error('--manifest and --out are required');
  return out;
}

const b64 = (buf) => Buffer.from(buf).toString('base64');
const keyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

function rewrapPem(pem) {
  const m = /-----BEGIN ([A-Z ]+)-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END \1-----/.exec(pem);
  if (!m) return pem;
  const body = m[2].replace(/\s+/g, '').match(/.{1,64}/g).join('\n');
  return `-----BEGIN ${m[1]}-----\n${body}\n-----END ${m[1]}-----\n`;
}

function canonicalRekorEntry(proposed) {
  if (proposed.kind === 'hashedrekord') {
    const key = proposed.spec.signature.publicKey;
    key.content = b64(rewrapPem(Buffer.from(key.content, 'base64').toString()));
    return proposed;
  }
  if (proposed.kind === 'dsse') {
    const { envelope, verifiers } = proposed.spec.proposedContent;
    const env = JSON.parse(envelope);
    const sha = (data) => crypto.createHash('sha256').update(data).digest('hex');
    const verifier = b64(rewrapPem(Buffer.from(verifiers[0], 'base64').toString()));
    return { apiVersion: '0.0.1', kind: 'dsse', spec: {
      envelopeHash: { algorithm: 'sha256', value: sha(envelope) },
      payloadHash: { algorithm: 'sha256', value: sha(Buffer.from(env.payload, 'base64')) },
      signatures: env.signatures.map((s) => ({ signature: s.sig, verifier })),
    } };
  }
  return proposed;
}

function unsignedJwt(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}

async function main() {
  const opt = args(process.argv);
  const manifest = fs.readFileSync(opt.manifest);
  const digest = crypto.createHash('sha256').update(manifest).digest('hex');
  const now = new Date();
  const caClock = new Date(now.getTime() + opt.caClockOffset * 60000);

  const ctlog = await mock.initializeCTLog(keyPair(), caClock);
  const ca = await mock.initializeCA(keyPair(), ctlog, caClock);
  const tsa = await mock.initializeTSA(keyPair());
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const tlogKeys = keyPair();
  const tlog = await mock.initializeTLog(url, tlogKeys);

  const fulcio = mock.fulcioHandler(ca, { strict: true });
  const rekor = mock.rekorHandler(tlog, { strict: true });
  const timestamp = mock.tsaHandler(tsa, { strict: true });
  server.on('request', (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        let body = Buffer.concat(chunks).toString();
        let handler;
        if (req.url === fulcio.path) handler = fulcio;
        else if (req.url === rekor.path) {
          handler = rekor;
          body = JSON.stringify(canonicalRekorEntry(JSON.parse(body)));
        } else if (req.url === timestamp.path && opt.tsa) handler = timestamp;
        if (!handler) { res.writeHead(404); res.end(); return; }
        const result = await handler.fn(body);
        let response = result.response;
        if (handler === fulcio && result.statusCode < 300) {
          const doc = JSON.parse(response);
          const chain = doc.signedCertificateEmbeddedSct.chain;
          chain.certificates = chain.certificates.map(rewrapPem);
          response = JSON.stringify(doc);
        }
        res.writeHead(result.statusCode, { 'Content-Type': result.contentType || 'application/json' });
        res.end(typeof response === 'string' ? response : Buffer.from(response.buffer, response.byteOffset, response.byteLength));
      } catch (err) {
        res.writeHead(500);
        res.end(String(err));
      }
    });
  });

  const iat = Math.floor(now.getTime() / 1000);
  const token = unsignedJwt({ iss: opt.issuer, sub: opt.subject, aud: 'sigstore', iat, exp: iat + 600 });
  const signOpts = { fulcioURL: url, rekorURL: url, identityToken: token, tlogUpload: true, retry: 0 };
  if (opt.tsa) signOpts.tsaServerURL = url;
  const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'image', digest: { sha256: digest } }],
    predicateType: opt.predicateType, predicate: {} };
  try {
    const message = await sigstore.sign(manifest, signOpts);
    const dsse = await sigstore.attest(Buffer.from(JSON.stringify(statement)), 'application/vnd.in-toto+json', signOpts);
    const start = new Date(now.getTime() - 24 * 3600 * 1000).toISOString();
    const pub = (k) => b64(k.export({ format: 'der', type: 'spki' }));
    const logId = (der) => b64(crypto.createHash('sha256').update(der).digest());
    const ctPub = Buffer.from(ctlog.publicKey);
    const tlogPub = tlogKeys.publicKey.export({ format: 'der', type: 'spki' });
    const root = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', logId: { keyId: logId(tlogPub) },
        publicKey: { rawBytes: pub(tlogKeys.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } } }],
      certificateAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] }, validFor: { start } }],
      ctlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256', logId: { keyId: b64(ctlog.logID) },
        publicKey: { rawBytes: b64(ctPub), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } } }],
      timestampAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'tsa' }, uri: url,
        certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] },
        validFor: { start } }],
    };
    fs.mkdirSync(opt.out, { recursive: true });
    fs.writeFileSync(path.join(opt.out, 'trusted_root.json'), JSON.stringify(root, null, 1));
    fs.writeFileSync(path.join(opt.out, 'message.sigstore.json'), JSON.stringify(message));
    fs.writeFileSync(path.join(opt.out, 'dsse.sigstore.json'), JSON.stringify(dsse));
    process.stdout.write(JSON.stringify({ digest: `sha256:${digest}`, subject: opt.subject, issuer: opt.issuer }) + '\n');
  } finally {
    server.close();
  }
}

main().catch((err) => {
  process.stderr.write(`sign.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});

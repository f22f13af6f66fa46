// The DPoP interop client of test_dpop.py: oauth4webapi (an independent
// RFC 9449 implementation) discovers tokend's metadata, gets a DPoP-bound
// token with client_secret_basic and a proof of its own key, then sends
// the token with fresh proofs to /verify. Prints one JSON line with what
// it saw; the scenario checks it. Never prints the token or a proof.
//
// usage: node interop.mjs ISSUER CLIENT_ID VERIFY_URL  (secret on stdin)
// The test CA comes in through NODE_EXTRA_CA_CERTS.
import { webcrypto } from 'node:crypto'
import { readFileSync } from 'node:fs'

// Node 18 (Debian 12's nodejs) has WebCrypto, but neither crypto nor
// CryptoKey as a global without a flag; oauth4webapi uses both.
if (globalThis.crypto === undefined) globalThis.crypto = webcrypto
if (globalThis.CryptoKey === undefined) globalThis.CryptoKey = webcrypto.CryptoKey

const oauth = await import('oauth4webapi')

const [issuer, clientId, verifyUrl] = process.argv.slice(2)
const secret = readFileSync(0, 'utf8').trim()
const out = {}

const issuerUrl = new URL(issuer)
const as = await oauth.processDiscoveryResponse(issuerUrl,
  await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2' }))
out.dpop_algs = as.dpop_signing_alg_values_supported
const client = {
  client_id: clientId,
  client_secret: secret,
  token_endpoint_auth_method: 'client_secret_basic'
}
const DPoP = await oauth.generateKeyPair('ES256')
const resp = await oauth.clientCredentialsGrantRequest(as, client,
  new URLSearchParams({ scope: 'read' }), { DPoP })
const result = await oauth.processClientCredentialsResponse(as, client, resp)
if (oauth.isOAuth2Error(result)) {
  out.token_error = result
  console.log(JSON.stringify(out))
  process.exit(0)
}
out.token_type = result.token_type
// the thumbprint tokend must have put in cnf.jkt (RFC 7638)
const jwk = await crypto.subtle.exportKey('jwk', DPoP.publicKey)
const canon = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
out.jkt = Buffer.from(await crypto.subtle.digest('SHA-256',
  new TextEncoder().encode(canon))).toString('base64url')
out.cnf = JSON.parse(Buffer.from(result.access_token.split('.')[1],
  'base64url')).cnf

const verify = async (opts) => {
  const r = await oauth.protectedResourceRequest(result.access_token, 'GET',
    new URL(verifyUrl), new Headers(), null, opts)
  return { status: r.status, jkt: r.headers.get('x-token-cnf-jkt') }
}
out.verify = await verify({ DPoP })
out.verify_again = await verify({ DPoP })
// another key's proofs must not do
out.verify_other_key = await verify({
  DPoP: await oauth.generateKeyPair('ES256')
})
console.log(JSON.stringify(out))

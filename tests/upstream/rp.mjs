// A relying party built on openid-client (panva), the certified RP library, for the tests of
// private_key_jwt and Pushed Authorization Requests:
//   node rp.mjs cc   ISSUER CLIENT_ID PRIVATE_JWK            -> the token response (client_credentials)
//   node rp.mjs par  ISSUER CLIENT_ID PRIVATE_JWK            -> {"url", "verifier"} (pushed request)
//   node rp.mjs code ISSUER CLIENT_ID PRIVATE_JWK CALLBACK VERIFIER -> the token response and ID token claims
// The client authenticates with private_key_jwt (an ES256 key given as a JWK with "d").
import * as oidc from 'openid-client';

const [mode, issuer, clientId, jwkText, callback, verifier] = process.argv.slice(2);
const jwk = JSON.parse(jwkText);
const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
const config = await oidc.discovery(
  new URL(issuer),
  clientId,
  { redirect_uris: ['https://client.example.com/cb'], id_token_signed_response_alg: 'RS256' },
  oidc.PrivateKeyJwt({ key, kid: jwk.kid }),
  { execute: [oidc.allowInsecureRequests] },
);

if (mode === 'cc') {
  const tokens = await oidc.clientCredentialsGrant(config, {});
  console.log(JSON.stringify(tokens));
} else if (mode === 'par') {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: 'https://client.example.com/cb',
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  console.log(JSON.stringify({ url: url.href, verifier: codeVerifier }));
} else if (mode === 'code') {
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    idTokenExpected: true,
  });
  console.log(JSON.stringify({ tokens, claims: tokens.claims() }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}

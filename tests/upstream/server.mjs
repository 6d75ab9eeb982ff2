// A real, independent OpenID provider (node oidc-provider) playing the corporate IdPs of the
// federation tests. One process serves one issuer per port in PORTS (comma-separated), each
// with its own RSA signing key, plus two hostile issuers in front of the first one:
//   FORGED_PORT        its metadata names itself the issuer; its token endpoint relays the first
//                      issuer's but rewrites the ID token's `iss` to itself: a bad signature.
//   MISLABELLED_PORT   the same metadata, ID tokens relayed untouched: the wrong issuer.
//
// Tests register their own client by dynamic registration (RFC 7591, POST /reg) and sign users
// in through the interaction endpoints below, which stand in for the company's login page:
//   GET  /interaction/:uid          the pending interaction as JSON
//   POST /interaction/:uid/login    sub=…&claims={json}&amr=pwd,mfa&acr=…  (signs in, consents)
//   POST /interaction/:uid/abort    the user declines: access_denied goes back to the client
//   POST /test/rotate-keys          a new signing key (and kid); clients and sessions stay
import crypto from 'node:crypto';
import http from 'node:http';
import Provider, { interactionPolicy } from 'oidc-provider';

// Every authorization request asks who signs in (no upstream single sign-on between tests that
// share a browser), unless the login was just given in this very interaction.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check('always', 'each test names its user',
  (ctx) => (ctx.oidc.result && ctx.oidc.result.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT
    : interactionPolicy.Check.REQUEST_PROMPT)));

const ports = (process.env.PORTS || '4000').split(',').map(Number);

// oidc-provider's storage, kept outside the provider so a key rotation (a new provider
// instance) keeps registered clients, sessions and grants.
function memoryAdapter() {
  const items = new Map();
  const key = (name, id) => `${name}:${id}`;
  return class MemoryAdapter {
    constructor(name) { this.name = name; }
    async upsert(id, payload, expiresIn) {
      items.set(key(this.name, id), { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    }
    async find(id) {
      const item = items.get(key(this.name, id));
      if (!item || item.expires < Date.now()) return undefined;
      return item.payload;
    }
    async findByUid(uid) {
      for (const [k, item] of items) {
        if (k.startsWith(`${this.name}:`) && item.payload.uid === uid && item.expires >= Date.now()) return item.payload;
      }
      return undefined;
    }
    async findByUserCode() { return undefined; }
    async consume(id) {
      const item = items.get(key(this.name, id));
      if (item) item.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id) { items.delete(key(this.name, id)); }
    async revokeByGrantId(grantId) {
      for (const [k, item] of items) if (item.payload.grantId === grantId) items.delete(k);
    }
  };
}

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}

function build(issuer, accounts, adapter) {
  return new Provider(issuer, {
    adapter,
    jwks: { keys: [signingKey()] },
    findAccount: async (ctx, sub) => {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    claims: {
      openid: ['sub', 'amr', 'acr', 'auth_time'],
      email: ['email', 'email_verified'],
      phone: ['phone_number', 'phone_number_verified'],
      profile: ['name', 'preferred_username', 'upn'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'phone', 'profile', 'groups', 'offline_access'],
    features: {
      registration: { enabled: true },
      devInteractions: { enabled: false },
    },
    interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['propusk-test-upstream-cookie-key'] },
    pkce: { required: () => true },
  });
}

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function interaction(provider, accounts, req, res, action) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET' && !action) {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify({ uid: details.uid, prompt: details.prompt, params: details.params }));
  }
  if (req.method !== 'POST') { res.statusCode = 405; return res.end(); }
  const form = new URLSearchParams((await body(req)).toString());
  if (action === '/abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  const sub = form.get('sub');
  accounts.set(sub, JSON.parse(form.get('claims') || '{}'));
  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const login = { accountId: sub };
  if (form.get('amr')) login.amr = form.get('amr').split(',');
  if (form.get('acr')) login.acr = form.get('acr');
  return provider.interactionFinished(req, res, {
    login, consent: { grantId: await grant.save() },
  }, { mergeWithLastSubmission: false });
}

function serve(port) {
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map();
  const adapter = memoryAdapter();
  let provider = build(issuer, accounts, adapter);
  let handler = provider.callback();
  const server = http.createServer(async (req, res) => {
    try {
      if (req.method === 'POST' && req.url === '/test/rotate-keys') {
        provider = build(issuer, accounts, adapter);
        handler = provider.callback();
        res.statusCode = 204;
        return res.end();
      }
      const m = req.url.match(/^\/interaction\/([\w-]+)(\/login|\/abort)?$/);
      if (m) return await interaction(provider, accounts, req, res, m[2]);
      return handler(req, res);
    } catch (err) {
      res.statusCode = 400;
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ error: err.name, error_description: err.message }));
    }
  });
  server.listen(port, '127.0.0.1', () => console.log(`upstream IdP ${issuer}`));
  return server;
}

// A hostile issuer in front of `target`: see the header.
function hostile(port, target, forge) {
  const self = `http://127.0.0.1:${port}`;
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === '/.well-known/openid-configuration') {
        const metadata = await (await fetch(`${target}${req.url}`)).json();
        metadata.issuer = self;
        metadata.token_endpoint = `${self}/token`;
        metadata.authorization_response_iss_parameter_supported = false;
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(metadata));
      }
      if (req.url === '/token' && req.method === 'POST') {
        const answer = await fetch(`${target}/token`, {
          method: 'POST',
          headers: { 'content-type': req.headers['content-type'], authorization: req.headers.authorization || '' },
          body: await body(req),
        });
        const tokens = await answer.json();
        if (forge && tokens.id_token) {
          const [head, payload, signature] = tokens.id_token.split('.');
          const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
          claims.iss = self;
          tokens.id_token = [head, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
        }
        res.statusCode = answer.status;
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(tokens));
      }
      res.statusCode = 404;
      return res.end();
    } catch (err) {
      res.statusCode = 502;
      return res.end(String(err));
    }
  });
  server.listen(port, '127.0.0.1', () => console.log(`hostile issuer ${self} (${forge ? 'forged' : 'mislabelled'})`));
  return server;
}

const servers = ports.map(serve);
const first = `http://127.0.0.1:${ports[0]}`;
if (process.env.FORGED_PORT) servers.push(hostile(Number(process.env.FORGED_PORT), first, true));
if (process.env.MISLABELLED_PORT) servers.push(hostile(Number(process.env.MISLABELLED_PORT), first, false));
process.on('SIGTERM', () => { for (const s of servers) s.close(); process.exit(0); });

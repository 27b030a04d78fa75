// A local OpenID Connect provider standing in for OneHealthPort, built on `oidc-provider`.
//
// Development and tests only: accounts (with plain-text passwords) come from a JSON file,
// signing keys are generated at start-up and all state is kept in memory.
//
//   node cqmr_wizard/dev_idp/server.mjs [--port 5556] [--host 127.0.0.1]
//
// Environment (all optional):
//   IDP_PORT, IDP_HOST            where to listen (port 0 picks a free one)
//   IDP_ISSUER                    issuer identifier (default http://HOST:PORT)
//   IDP_CLIENT_ID / IDP_CLIENT_SECRET / IDP_REDIRECT_URIS (comma-separated)
//   IDP_CQMR_CLIENT_ID / IDP_CQMR_CLIENT_SECRET / IDP_CQMR_REDIRECT_URIS
//                                 the second client: the local CQMR (cqmr_wizard/local_cqmr)
//   IDP_ACCOUNTS                  path of the accounts file (re-read on every use)
//   IDP_ID_TOKEN_TTL              ID token lifetime in seconds (default 600)
//   IDP_CLOCK_SKEW_SECONDS        pretend the provider's clock is off by this much (tests expiry)
//   IDP_CLIENT_AUTH_METHOD        the one token endpoint client authentication method the provider
//                                 offers and the client uses (default client_secret_basic)
//   IDP_CLIENT_JWKS               JSON JWK set of the client's public keys (for private_key_jwt)
//   IDP_TAMPER                    JSON {"claims": {...}, "key": "rogue"}: re-sign ID tokens with
//                                 altered claims and/or an unpublished key (tests validation)
// Prints "ready <issuer>" on stdout once it listens.

import { generateKeyPairSync, randomBytes, sign, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' } },
});
const env = process.env;
const skewMs = Number(env.IDP_CLOCK_SKEW_SECONDS || 0) * 1000;
if (skewMs) {
  const realNow = Date.now;
  Date.now = () => realNow() + skewMs;
}
// Imported after the clock is set, so the provider's timestamps follow it.
const { default: Provider, errors } = await import('oidc-provider');

const host = args.host || env.IDP_HOST || '127.0.0.1';
const port = Number(args.port ?? env.IDP_PORT ?? 5556);
const accountsPath = env.IDP_ACCOUNTS || join(here, 'sample_accounts.json');
const clientAuthMethod = env.IDP_CLIENT_AUTH_METHOD || 'client_secret_basic';
const tamper = env.IDP_TAMPER ? JSON.parse(env.IDP_TAMPER) : null;

// ---- accounts -------------------------------------------------------------------------------

function loadDirectory() {
  const data = JSON.parse(readFileSync(accountsPath, 'utf8'));
  const orgs = new Map((data.organizations || []).map((o) => [o.id, o]));
  return { accounts: data.accounts || [], orgs };
}

function claimsFor(account, orgs) {
  const claims = {
    sub: account.sub,
    email: account.email,
    email_verified: account.email_verified !== false,
    name: account.name,
  };
  const org = account.organization && orgs.get(account.organization);
  if (org) {
    claims.ohp_org_id = org.id;
    claims.ohp_org_name = org.name;
  }
  return claims;
}

function sameSecret(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkPassword(username, password) {
  const { accounts } = loadDirectory();
  const wanted = String(username || '').trim().toLowerCase();
  const account = accounts.find((a) => a.username.toLowerCase() === wanted);
  if (!account) {
    sameSecret(password, 'x'.repeat(32));
    return null;
  }
  return sameSecret(password, account.password) ? account : null;
}

async function findAccount(ctx, sub) {
  const { accounts, orgs } = loadDirectory();
  const account = accounts.find((a) => a.sub === sub);
  if (!account) return undefined;
  return { accountId: sub, claims: async () => claimsFor(account, orgs) };
}

// ---- a small in-memory adapter (the bundled one warns on every start) -------------------------

const store = new Map();
class MemoryAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { payload, expiresAt });
    if (this.model === 'Session') store.set(`sessionUid:${payload.uid}`, { payload: id, expiresAt });
    if (payload.grantId) {
      const grant = store.get(`grant:${payload.grantId}`) || { payload: [], expiresAt };
      grant.payload.push(this.key(id));
      store.set(`grant:${payload.grantId}`, grant);
    }
  }

  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry || entry.expiresAt < Date.now()) return undefined;
    return entry.payload;
  }

  async findByUid(uid) {
    const entry = store.get(`sessionUid:${uid}`);
    return entry ? this.find(entry.payload) : undefined;
  }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const grant = store.get(`grant:${grantId}`);
    if (grant) grant.payload.forEach((key) => store.delete(key));
    store.delete(`grant:${grantId}`);
  }
}

// ---- keys and ID token tampering (tests only) ---------------------------------------------------

function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

const signingJwk = rsaJwk(`dev-${randomBytes(4).toString('hex')}`);
const rogueJwk = { ...rsaJwk(signingJwk.kid) };

function b64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

function resign(idToken) {
  const [, body] = idToken.split('.');
  const claims = { ...JSON.parse(Buffer.from(body, 'base64url')), ...(tamper.claims || {}) };
  const jwk = tamper.key === 'rogue' ? rogueJwk : signingJwk;
  const input = `${b64url({ alg: 'RS256', typ: 'JWT', kid: jwk.kid })}.${b64url(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: jwk, format: 'jwk' });
  return `${input}.${signature.toString('base64url')}`;
}

// ---- pages ------------------------------------------------------------------------------------

const escape = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} – OneHealthPort (local stand-in)</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
label{display:block;font-weight:600;margin-top:1rem}input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}
button{font-size:1rem;padding:.5rem 1.2rem;margin:1rem .5rem 0 0}.error{color:#b50909;font-weight:600}
.banner{background:#e7f6f8;padding:.5rem 1rem}</style></head>
<body><p class="banner">OneHealthPort – local development stand-in</p><main>${body}</main></body></html>`;
}

function loginPage(uid, clientName, { error = '', username = '' } = {}) {
  return page(error ? 'Error: Sign in' : 'Sign in', `<h1>Sign in to OneHealthPort</h1>
<p>${escape(clientName)} asks you to sign in.</p>
${error ? `<p class="error" role="alert" id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login" autocomplete="off">
<label for="username">Username</label><input id="username" name="username" value="${escape(username)}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${uid}/abort">Cancel and go back</a></p>`);
}

function consentPage(uid, clientName, scopes) {
  const shared = [];
  if (scopes.has('profile')) shared.push('your name');
  if (scopes.has('email')) shared.push('your email address');
  if (scopes.has('ohp')) shared.push('your organization in OneHealthPort');
  return page('Allow access', `<h1>Allow ${escape(clientName)} to use your OneHealthPort account?</h1>
<p>It will receive your OneHealthPort user id${shared.length ? ', ' : ''}${shared.map(escape).join(', ')}.</p>
<form method="post" action="/interaction/${uid}/confirm">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`);
}

const registerPage = page('Register your organization', `<h1>Register your organization with OneHealthPort</h1>
<p>This is the local stand-in for OneHealthPort. In production this link leads to OneHealthPort's
own registration. Here, organizations and users come from the accounts file the provider was
started with.</p>`);

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const uriList = (value) => value.split(',').map((u) => u.trim()).filter(Boolean);
const redirectUris = uriList(env.IDP_REDIRECT_URIS || 'http://127.0.0.1:5000/sso/callback,http://localhost:5000/sso/callback');
const cqmrRedirectUris = uriList(env.IDP_CQMR_REDIRECT_URIS || 'http://127.0.0.1:5557/callback,http://localhost:5557/callback');
// Browsers apply form-action to the redirects after a POST, which end at the clients.
const formTargets = ["'self'", ...new Set([...redirectUris, ...cqmrRedirectUris].map((u) => new URL(u).origin))].join(' ');

function send(res, status, html) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${formTargets}; frame-ancestors 'none'`,
  });
  res.end(html);
}

// ---- interactions: login (password checked against the file) and consent ----------------------

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
  const { prompt, params, session } = details;
  const client = await provider.Client.find(params.client_id);
  const clientName = client?.clientName || params.client_id;

  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User cancelled the sign-in',
    }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid, clientName));
    if (prompt.name === 'consent') {
      return send(res, 200, consentPage(uid, clientName, new Set(String(params.scope).split(' '))));
    }
    return send(res, 501, page('Not supported', '<h1>This step is not supported</h1>'));
  }
  if (req.method !== 'POST') return send(res, 405, page('Not allowed', '<h1>Not allowed</h1>'));
  const form = await readForm(req);

  if (action === 'login' && prompt.name === 'login') {
    const account = checkPassword(form.get('username'), form.get('password'));
    if (!account) {
      return send(res, 401, loginPage(uid, clientName, {
        error: 'The username or password is not right', username: form.get('username'),
      }));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false });
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    if (form.get('decision') !== 'allow') {
      return provider.interactionFinished(req, res, {
        error: 'access_denied', error_description: 'End-User denied consent',
      }, { mergeWithLastSubmission: false });
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true });
  }
  return send(res, 400, page('Out of step', '<h1>This step is out of order</h1><p>Start again from the application.</p>'));
}

// ---- provider ---------------------------------------------------------------------------------

function buildProvider(issuer) {
  const secure = issuer.startsWith('https:');
  const ttl = Number(env.IDP_ID_TOKEN_TTL || 600);
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    clients: [{
      client_id: env.IDP_CLIENT_ID || 'cqmr-wizard',
      client_secret: env.IDP_CLIENT_SECRET || 'cqmr-dev-secret',
      client_name: 'Oregon CQMR onboarding',
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: clientAuthMethod,
      ...(env.IDP_CLIENT_JWKS ? { jwks: JSON.parse(env.IDP_CLIENT_JWKS) } : {}),
    // The local CQMR's client authenticates as the provider's one method allows it: with its secret.
    }, ...(clientAuthMethod === 'private_key_jwt' ? [] : [{
      client_id: env.IDP_CQMR_CLIENT_ID || 'cqmr-local',
      client_secret: env.IDP_CQMR_CLIENT_SECRET || 'cqmr-local-dev-secret',
      client_name: 'Oregon CQMR (local stand-in)',
      redirect_uris: cqmrRedirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: clientAuthMethod,
    }])],
    clientAuthMethods: [clientAuthMethod],
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    scopes: ['openid', 'email', 'profile', 'ohp'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      ohp: ['ohp_org_id', 'ohp_org_name'],
    },
    findAccount,
    interactions: { url: (ctx, i) => `/interaction/${i.uid}` },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: false } },
    cookies: {
      keys: [randomBytes(32).toString('hex')],
      // SameSite=None needs Secure; on plain http loopback Lax keeps the cookies.
      long: { httpOnly: true, sameSite: secure ? 'none' : 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    jwks: { keys: [signingJwk] },
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, IdToken: ttl, Interaction: 1800, Session: 3600, Grant: 3600,
    },
    clientBasedCORS: () => false,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>Something went wrong</h1>
${Object.entries(out).map(([k, v]) => `<p><strong>${escape(k)}</strong>: <span id="${escape(k)}">${escape(v)}</span></p>`).join('')}`);
    },
  });
  if (tamper) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/token' && ctx.body && typeof ctx.body === 'object' && ctx.body.id_token) {
        ctx.body = { ...ctx.body, id_token: resign(ctx.body.id_token) };
      }
    });
  }
  return provider;
}

let handle = null;
const server = createServer((req, res) => handle(req, res));

server.listen(port, host, () => {
  const actual = server.address().port;
  const issuer = env.IDP_ISSUER || `http://${host}:${actual}`;
  const provider = buildProvider(issuer);
  const providerCallback = provider.callback();
  handle = async (req, res) => {
    const path = new URL(req.url, issuer).pathname;
    const match = path.match(/^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/);
    try {
      if (match) return await interaction(provider, req, res, match[1], match[2]);
      if (path === '/register') return send(res, 200, registerPage);
      return providerCallback(req, res);
    } catch (error) {
      const status = error instanceof errors.SessionNotFound ? 400 : 500;
      if (status === 500) console.error(error);
      return send(res, status, page('Error', `<h1>This sign-in cannot continue</h1>
<p>${escape(error.error_description || 'Start again from the application.')}</p>`));
    }
  };
  console.log(`ready ${issuer}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}

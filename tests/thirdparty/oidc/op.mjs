// A real OpenID Provider for vaultborn's tests: panva's certified oidc-provider, on loopback.
//
//   node op.mjs CONFIG.json
//
// Listens on 127.0.0.1 at two ports picked by the OS (port 0): the provider (issuer
// http://127.0.0.1:PORT, no trailing slash) and a small protected resource API that verifies
// bearer JWTs with `jose` against the provider's published JWKS. Prints exactly one JSON line on
// stdout once both accept connections; everything else (oidc-provider's notices included) goes to
// stderr. Exits on SIGTERM/SIGINT or when stdin closes, so a dead parent leaves nothing behind.
//
// CONFIG (all keys optional but `clients`):
//   clients: [{client_id, client_secret?, token_endpoint_auth_method, jwks?, resources?}]
//            client_secret_basic / client_secret_post need client_secret; private_key_jwt needs
//            jwks ({keys: [public JWK]}). `resources` limits the resource indicators the client may
//            ask for (default: all of them); anything else is invalid_target.
//   resources: [{identifier, scope, access_token_ttl?, audience?}]  (RFC 8707 resource servers;
//            tokens for them are RS256 JWT access tokens, RFC 9068 `at+jwt`)
//   default_resource: identifier used when a token request names none (default: none, and
//            the provider then issues an opaque token)
//   second_key: publish a second RSA key, listed FIRST in the JWKS and never used to sign, so a
//            verifier must pick the key by `kid` (default true)
//   signing_key_out: a path to write the private signing JWK to (tests minting bad tokens)
//   api: {audience, scope, realm?}  what GET /api/whoami requires
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

// oidc-provider prints its notices with console.info (stdout); stdout carries one JSON line only.
console.info = console.error;
console.log = console.error;

const { default: Provider, errors } = await import('oidc-provider');
const { createRemoteJWKSet, jwtVerify, errors: joseErrors } = await import('jose');

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node op.mjs CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));

function rsaJwk(use) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use };
}

const signingKey = rsaJwk('sig');
const keys = config.second_key === false ? [signingKey] : [rsaJwk('sig'), signingKey];
if (config.signing_key_out) {
  writeFileSync(config.signing_key_out, JSON.stringify(signingKey), { mode: 0o600 });
}

const resources = new Map((config.resources ?? []).map((r) => [r.identifier, r]));
const allowedResources = new Map(
  config.clients.filter((c) => c.resources).map((c) => [c.client_id, new Set(c.resources)]),
);

// A plain in-memory store: the same as the provider's own, without its "development-only" warning.
class MemoryAdapter {
  static store = new Map();

  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    MemoryAdapter.store.set(this.key(id), { payload, expiresAt });
  }

  async find(id) {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    return entry.payload;
  }

  async findByUid() { return undefined; }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    MemoryAdapter.store.delete(this.key(id));
  }

  async revokeByGrantId() {}
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

// The issuer contains the port, so the provider is made after its socket is bound.
let providerCallback;
const opServer = createServer((req, res) => providerCallback(req, res));
const port = await listen(opServer);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  jwks: { keys },
  clients: config.clients.map((c) => {
    const { resources: _resources, ...metadata } = c;
    return { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], ...metadata };
  }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? config.default_resource ?? undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, identifier, client) => {
        const server = resources.get(identifier);
        const allowed = allowedResources.get(client.clientId);
        if (!server || (allowed && !allowed.has(identifier))) throw new errors.InvalidTarget();
        return {
          scope: server.scope,
          audience: server.audience ?? identifier,
          accessTokenTTL: server.access_token_ttl ?? 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256', kid: signingKey.kid } },
        };
      },
    },
  },
  ttl: {
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
  },
});
// Errors the provider answers (invalid_client, invalid_target …) are logged for the test's sake.
provider.on('grant.error', (_ctx, err) => console.error(`grant.error: ${err.message} ${err.error_description ?? ''}`));
provider.on('server_error', (_ctx, err) => console.error('server_error:', err));
providerCallback = provider.callback();

// The protected resource (RFC 6750), verifying like any third-party API would: the JWKS fetched
// from the provider's jwks_uri, RFC 9068 typ, issuer, audience, then the scope.
const api = { audience: 'https://api.example.com', scope: 'read:whoami', realm: 'whoami', ...config.api };
const jwksUri = new URL(`${issuer}/jwks`);
const jwks = createRemoteJWKSet(jwksUri);

function challenge(res, status, error, description, extra = {}) {
  const params = [`realm="${api.realm}"`];
  if (error) params.push(`error="${error}"`, `error_description="${description.replace(/["\\]/g, '')}"`);
  if (error === 'insufficient_scope') params.push(`scope="${api.scope}"`);
  res.writeHead(status, {
    'content-type': 'application/json',
    'www-authenticate': `Bearer ${params.join(', ')}`,
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(error ? { error, error_description: description, ...extra } : {}));
}

async function whoami(req, res) {
  const header = req.headers.authorization;
  if (header === undefined || !/^bearer\s/i.test(header)) {
    challenge(res, 401); // §3.1: no credentials at all → no error code
    return;
  }
  const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) {
    challenge(res, 400, 'invalid_request', 'malformed Authorization header');
    return;
  }
  let payload;
  try {
    ({ payload } = await jwtVerify(match[1], jwks, {
      issuer,
      audience: api.audience,
      typ: 'at+jwt',
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'iat', 'sub', 'client_id'],
    }));
  } catch (err) {
    const known = err instanceof joseErrors.JOSEError;
    if (!known) console.error('whoami verification error:', err);
    challenge(res, 401, 'invalid_token', known ? `${err.code}: ${err.message}` : 'token verification failed');
    return;
  }
  const granted = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
  if (!granted.has(api.scope)) {
    challenge(res, 403, 'insufficient_scope', `the token lacks scope ${api.scope}`);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ sub: payload.sub, client_id: payload.client_id, scope: payload.scope }));
}

const apiServer = createServer((req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;
  if (path !== '/api/whoami') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not_found"}');
    return;
  }
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-type': 'application/json' });
    res.end('{"error":"method_not_allowed"}');
    return;
  }
  whoami(req, res).catch((err) => {
    console.error('whoami failed:', err);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
const apiPort = await listen(apiServer);

function shutdown() {
  opServer.close();
  apiServer.close();
  opServer.closeAllConnections();
  apiServer.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();

process.stdout.write(`${JSON.stringify({
  issuer,
  port,
  pid: process.pid,
  discovery: `${issuer}/.well-known/openid-configuration`,
  jwks_uri: jwksUri.href,
  token_endpoint: `${issuer}/token`,
  api_port: apiPort,
  api_url: `http://127.0.0.1:${apiPort}/api/whoami`,
  signing_kid: signingKey.kid,
  node: process.version,
})}\n`);

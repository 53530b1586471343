// tests/oidc/server.js: panva's oidc-provider (OpenID Certified) as a token
// endpoint for tests/oidc.sh, on 127.0.0.1 only.
//
//   node server.js --port-file FILE --jwks FILE... [--client-id ID]
//                  [--scope "A B"] [--strict-audience] [--lifetime SECONDS]
//                  [--tls-cert PEM --tls-key PEM]
//
// Listens on a free port of 127.0.0.1 and writes the port to --port-file
// once it listens: plain http (the tools allow it to a loopback host only),
// or https with --tls-cert and --tls-key. The issuer is
// http(s)://127.0.0.1:PORT; discovery is at
// /.well-known/openid-configuration, the token endpoint at /token.
//
// One client is registered: --client-id (default pkjwt-client) with
// token_endpoint_auth_method private_key_jwt, the grant client_credentials,
// the scopes --scope (default "api:read") and the public keys of the
// JWKS files --jwks (repeatable; their keys are joined), as `pkjwt-keygen
// export --format jwks` or `--format jwk` writes them. All
// nine algorithms (RS/PS/ES 256/384/512) are enabled for client
// authentication.
//
// --strict-audience: an assertion must carry typ client-authentication+jwt
// and an aud that is the issuer itself, one string (draft-ietf-oauth-
// rfc7523bis); oidc-provider alone also takes the token endpoint's URL.
//
// GET /check with "Authorization: Bearer TOKEN" answers what the provider
// knows of an access token it issued (client_id, scope, exp), 401 when it
// knows none: the check endpoint of pkjwt-token --check.
//
// Every refusal is logged on stderr as one line "refused EVENT ERROR:
// DETAIL": oidc-provider answers only "client authentication failed" to
// the client, so the tests read the cause here.
//
// The server exits when its stdin closes (the test holds it open, so the
// server cannot outlive it) or after --lifetime seconds (default 300).
// Exit status 2 with one line on stderr for a bad command line or file.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512'];
const TYP_CLIENT_AUTH = 'client-authentication+jwt';
const MAX_LIFETIME = 3600;
const TOKEN_TTL = 600; // seconds an access token lives (expires_in)

function die(msg) {
  process.stderr.write(`oidc-server: ${msg}\n`);
  process.exit(2);
}

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      'port-file': { type: 'string' },
      jwks: { type: 'string', multiple: true },
      'client-id': { type: 'string', default: 'pkjwt-client' },
      scope: { type: 'string', default: 'api:read' },
      'strict-audience': { type: 'boolean', default: false },
      lifetime: { type: 'string', default: '300' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
  }));
} catch (e) {
  die(e.message);
}
if (!opts['port-file'] || !opts.jwks) die('--port-file and --jwks are required');
const lifetime = Number(opts.lifetime);
if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_LIFETIME) {
  die(`--lifetime: 1 to ${MAX_LIFETIME} seconds`);
}

// A JWKS ({"keys":[...]}) or one JWK per file.
const clientJwks = { keys: [] };
for (const file of opts.jwks) {
  let set;
  try {
    set = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die(`${file}: ${e.message}`);
  }
  if (set && typeof set.kty === 'string') set = { keys: [set] };
  if (!set || !Array.isArray(set.keys)) die(`${file}: not a JWK or JWKS`);
  clientJwks.keys.push(...set.keys);
}

let tls;
if (opts['tls-cert'] || opts['tls-key']) {
  if (!opts['tls-cert'] || !opts['tls-key']) die('--tls-cert and --tls-key go together');
  try {
    tls = { cert: fs.readFileSync(opts['tls-cert']), key: fs.readFileSync(opts['tls-key']) };
  } catch (e) {
    die(e.message);
  }
}

// Bounded life: exit on stdin's end or after the lifetime, whichever first.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
setTimeout(() => {
  process.stderr.write(`oidc-server: lifetime of ${lifetime} s over\n`);
  process.exit(0);
}, lifetime * 1000).unref();

// The provider's own signing key (ID tokens; unused by client_credentials,
// but oidc-provider wants one) and cookie key: fresh, so no development
// defaults and no warnings.
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const providerJwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig' };

const server = tls ? https.createServer(tls) : http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: opts['client-id'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: clientJwks,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: opts.scope,
      // No ID tokens here, but the client's metadata must name an alg the
      // provider signs with.
      id_token_signed_response_alg: 'ES256',
    }],
    scopes: ['openid', ...opts.scope.split(' ')],
    jwks: { keys: [providerJwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    enabledJWA: { clientAuthSigningAlgValues: ALGS },
    ttl: { ClientCredentials: TOKEN_TTL },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
    async assertJwtClientAuthClaimsAndHeader(ctx, claims, header) {
      if (!opts['strict-audience']) return;
      if (header.typ !== TYP_CLIENT_AUTH) {
        throw new errors.InvalidClientAuth(
          `strict audience: typ must be ${TYP_CLIENT_AUTH}, not ${header.typ}`,
        );
      }
      if (claims.aud !== issuer) {
        throw new errors.InvalidClientAuth(
          `strict audience: aud must be the issuer ${issuer}, not ${JSON.stringify(claims.aud)}`,
        );
      }
    },
  });

  const logRefusal = (event) => (ctx, err) => {
    const detail = String(err.error_detail || err.error_description || err.message)
      .replace(/[^\x20-\x7e]/g, '?');
    process.stderr.write(`refused ${event} ${err.error || err.name}: ${detail}\n`);
  };
  for (const event of ['grant.error', 'server_error']) {
    provider.on(event, logRefusal(event));
  }

  // The check endpoint: what the provider knows of an access token.
  provider.use(async (ctx, next) => {
    if (ctx.path !== '/check') return next();
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(ctx.get('authorization'));
    const token = m && await provider.ClientCredentials.find(m[1]);
    if (!token) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_token', error_description: 'unknown or expired access token' };
      return undefined;
    }
    ctx.body = {
      active: true, client_id: token.clientId, scope: token.scope, exp: token.exp,
    };
    return undefined;
  });

  server.on('request', provider.callback());
  fs.writeFileSync(`${opts['port-file']}.tmp`, `${port}\n`);
  fs.renameSync(`${opts['port-file']}.tmp`, opts['port-file']);
});
server.on('error', (e) => die(`listen: ${e.message}`));

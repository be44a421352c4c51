// An OpenID provider for the browser tests: the certified `oidc-provider` package (pinned in
// package.json), on the loopback only, with one client, the authorization-code flow with PKCE (S256)
// required, and accounts whose claims the test chooses.
//
//   node tests/browser/oidc-provider.mjs --port 0 --client-id ptl-web \
//     --redirect-uri http://127.0.0.1:8080/sign-in/sso/callback --accounts accounts.json
//
// The client secret comes from `--client-secret` or the environment variable
// `OIDC_CLIENT_SECRET`. The accounts are a JSON object (a file name, or the JSON itself) mapping a
// login to its claims, for example
//   {"olena": {"name": "Олена Мельник", "role": "caseworker", "office": "UA7102"}}
// Every claim the accounts carry is released with the `profile` scope, and into the id_token itself
// (not only at the userinfo endpoint), as identity providers configured for an application do.
//
// The issuer is `http://localhost:<port>`: the application under test runs at
// `http://127.0.0.1:<port>`, another site, so the browser applies the SameSite rules to the
// redirects between the two exactly as between a real provider and the application. Sign-in happens
// on the package's development interactions: a form with the inputs `login` (an account's login; any
// password is accepted) and a consent page with one button.
//
// One test knob: an account with `"id_token_audience": "<aud>"` receives an id_token whose `aud` is
// that value, signed with the provider's real key (a token minted for another application), so the
// relying party's audience check can be exercised. Nothing else is altered.
//
// When listening, one line is printed on standard output:  `listening http://localhost:<port>`.
// The process ends on SIGTERM, SIGINT, or when its standard input closes (so it never outlives the
// test that started it).

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

function usage(message) {
  process.stderr.write(`oidc-provider.mjs: ${message}\n`);
  process.stderr.write('usage: node oidc-provider.mjs --port <n|0> --client-id <id> [--client-secret <s>] --redirect-uri <uri> --accounts <file|json>\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 1) {
    const key = argv[i];
    if (!key.startsWith('--')) usage(`unexpected argument ${key}`);
    const value = argv[i + 1];
    if (value === undefined) usage(`${key} needs a value`);
    args[key.slice(2)] = value;
    i += 1;
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const port = Number(args.port ?? process.env.OIDC_PORT ?? '0');
const clientId = args['client-id'] ?? process.env.OIDC_CLIENT_ID;
const clientSecret = args['client-secret'] ?? process.env.OIDC_CLIENT_SECRET;
const redirectUri = args['redirect-uri'] ?? process.env.OIDC_REDIRECT_URI;
const accountsArg = args.accounts ?? process.env.OIDC_ACCOUNTS;
if (!Number.isInteger(port) || port < 0 || port > 65535) usage('--port must be a port number (0 for any free one)');
if (!clientId) usage('--client-id (or OIDC_CLIENT_ID) is required');
if (!clientSecret) usage('--client-secret (or OIDC_CLIENT_SECRET) is required');
if (!redirectUri) usage('--redirect-uri (or OIDC_REDIRECT_URI) is required');
if (!accountsArg) usage('--accounts (or OIDC_ACCOUNTS) is required');

let accounts;
try {
  const text = accountsArg.trim().startsWith('{') ? accountsArg : fs.readFileSync(accountsArg, 'utf8');
  accounts = JSON.parse(text);
} catch (e) {
  usage(`--accounts is neither a JSON object nor a readable JSON file: ${e.message}`);
}

// The claims released with `profile`: `name` and whatever the accounts carry.
const TEST_KNOBS = new Set(['id_token_audience']);
const profileClaims = new Set(['name']);
for (const claims of Object.values(accounts)) {
  for (const claim of Object.keys(claims)) {
    if (!TEST_KNOBS.has(claim) && claim !== 'sub') profileClaims.add(claim);
  }
}

// A signing key of this run only.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };

// Re-signs an id_token with another `aud` (the `id_token_audience` knob).
function withAudience(idToken, audience) {
  const [header, payload] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  claims.aud = audience;
  const body = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = crypto.sign('sha256', Buffer.from(body), privateKey).toString('base64url');
  return `${body}.${signature}`;
}

function subjectOf(idToken) {
  const payload = idToken.split('.')[1];
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).sub;
}

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const actualPort = server.address().port;
  const issuer = `http://localhost:${actualPort}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: [...profileClaims] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    jwks: { keys: [signingJwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    async findAccount(_ctx, sub) {
      const claims = Object.hasOwn(accounts, sub) ? accounts[sub] : undefined;
      if (!claims) return undefined;
      return {
        accountId: sub,
        async claims() {
          const released = { sub };
          for (const [k, v] of Object.entries(claims)) {
            if (!TEST_KNOBS.has(k)) released[k] = v;
          }
          return released;
        },
      };
    },
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`provider error: ${err.stack}\n`));
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body && typeof ctx.body.id_token === 'string') {
      const audience = accounts[subjectOf(ctx.body.id_token)]?.id_token_audience;
      if (audience) ctx.body = { ...ctx.body, id_token: withAudience(ctx.body.id_token, audience) };
    }
  });
  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

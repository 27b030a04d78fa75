// A local SAML 2.0 IdP standing in for OneHealthPort (SSO_PROTOCOL=saml), on the npm package
// `saml-idp`. Development only: its signing key is generated once into --keys (openssl), and its
// sign-in page is a form of the user's attributes, filled from a sample account (saml_config.cjs).
//
//   node cqmr_wizard/dev_idp/saml_server.mjs --port 7000 --host 127.0.0.1 \
//     --sp http://127.0.0.1:5000 [--cqmr http://127.0.0.1:5557] [--keys instance/saml-idp]
//
// It serves the service providers it is told of, and only those: the wizard (--sp; its entity id
// SP/sso/saml/metadata, its ACS SP/sso/saml/acs) and the local CQMR stand-in (--cqmr; entity id
// CQMR/saml/metadata, ACS CQMR/saml/acs). An AuthnRequest's Issuer picks the SP, whose own ACS
// and audience the Response gets; an unknown Issuer, or an AssertionConsumerServiceURL other
// than that SP's, is refused (saml-idp alone would post to any ACS a request names).
// The IdP's metadata is at http://HOST:PORT/metadata.
// saml-idp's own messages go to stderr; stdout gets "ready <url>" once the metadata is served.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '7000' },
    host: { type: 'string', default: '127.0.0.1' },
    sp: { type: 'string', default: 'http://127.0.0.1:5000' },
    cqmr: { type: 'string' },
    keys: { type: 'string', default: 'instance/saml-idp' },
  },
});

mkdirSync(args.keys, { recursive: true });
const key = join(args.keys, 'idp-private-key.pem');
const cert = join(args.keys, 'idp-public-cert.pem');
if (!existsSync(key) || !existsSync(cert)) {
  execFileSync('openssl', ['req', '-x509', '-new', '-newkey', 'rsa:3072', '-nodes', '-sha256',
    '-subj', '/CN=OneHealthPort SAML stand-in', '-keyout', key, '-out', cert, '-days', '3650'],
  { stdio: 'ignore' });
}

// saml-idp prefers $HOST and $PORT to its options; under `make run` those name the wizard.
delete process.env.HOST;
delete process.env.PORT;

console.log = console.error;

// entity id -> ACS URL of each service provider served; the wizard's is the default (the
// IdP's own page, without an AuthnRequest, posts there).
const wizard = args.sp.replace(/\/$/, '');
const providers = new Map([[`${wizard}/sso/saml/metadata`, `${wizard}/sso/saml/acs`]]);
if (args.cqmr) {
  const cqmr = args.cqmr.replace(/\/$/, '');
  providers.set(`${cqmr}/saml/metadata`, `${cqmr}/saml/acs`);
}

// saml-idp signs in through samlp.auth(options), the options its own for its one SP; they are
// narrowed here to the SP the AuthnRequest came from (saml-idp resolves the same samlp module).
const samlp = createRequire(require.resolve('saml-idp'))('samlp');
const auth = samlp.auth;
samlp.auth = (options) => (req, res, next) => {
  const request = req.authnRequest;
  const entityId = request ? request.issuer : `${wizard}/sso/saml/metadata`;
  const acsUrl = providers.get(entityId);
  if (!acsUrl || (request && request.acsUrl && request.acsUrl !== acsUrl)) {
    console.error(`Refused: AuthnRequest from ${entityId} for ${request && request.acsUrl}`);
    res.status(403).render('error', {
      message: `No service provider ${entityId} with that ACS URL is registered at this IdP.`,
    });
    return;
  }
  auth({
    ...options,
    serviceProviderId: entityId,
    audience: entityId,
    acsUrl,
    recipient: acsUrl,
    destination: acsUrl,
    getPostURL: (audience, dom, request_, callback) => callback(null, acsUrl),
  })(req, res, next);
};

const { runServer } = require('saml-idp');
runServer({
  host: args.host,
  port: Number(args.port),
  issuer: `http://${args.host}:${args.port}/metadata`,
  acsUrl: `${wizard}/sso/saml/acs`,
  audience: `${wizard}/sso/saml/metadata`,
  serviceProviderId: `${wizard}/sso/saml/metadata`,
  disableRequestAcsUrl: true,
  cert,
  key,
  configFile: join(here, 'saml_config.cjs'),
});

const base = `http://${args.host}:${args.port}`;
for (let tries = 0; tries < 100; tries += 1) {
  try {
    if ((await fetch(`${base}/metadata`)).ok) {
      process.stdout.write(`ready ${base}\n`);
      break;
    }
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

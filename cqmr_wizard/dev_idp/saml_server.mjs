// A local SAML 2.0 IdP standing in for OneHealthPort (SSO_PROTOCOL=saml), on the npm package
// `saml-idp`. Development only: its signing key is generated once into --keys (openssl), and its
// sign-in page is a form of the user's attributes, filled from a sample account (saml_config.cjs).
//
//   node cqmr_wizard/dev_idp/saml_server.mjs --port 7000 --host 127.0.0.1 \
//     --sp http://127.0.0.1:5000 [--keys instance/saml-idp]
//
// The wizard (--sp) is the one service provider: its ACS is SP/sso/saml/acs and its entity id
// SP/sso/saml/metadata. The IdP's metadata is at http://HOST:PORT/metadata.
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

const sp = args.sp.replace(/\/$/, '');
const { runServer } = require('saml-idp');
runServer({
  host: args.host,
  port: Number(args.port),
  issuer: `http://${args.host}:${args.port}/metadata`,
  acsUrl: `${sp}/sso/saml/acs`,
  audience: `${sp}/sso/saml/metadata`,
  serviceProviderId: `${sp}/sso/saml/metadata`,
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

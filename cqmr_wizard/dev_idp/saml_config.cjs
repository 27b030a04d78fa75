// saml-idp's attribute configuration (its --configFile): one of the sample accounts as the
// user the sign-in page starts from, and the attributes the wizard reads (SAML_ATTRIBUTE_MAP).
// The account is IDP_SAML_ACCOUNT (a username in sample_accounts.json), else the first one.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const file = process.env.IDP_ACCOUNTS || join(__dirname, 'sample_accounts.json');
const { accounts, organizations } = JSON.parse(readFileSync(file, 'utf8'));
const account = accounts.find((a) => a.username === process.env.IDP_SAML_ACCOUNT) || accounts[0];
const organization = organizations.find((o) => o.id === account.organization) || {};

const attribute = (id, displayName, description) => ({ id, displayName, description, optional: true, multiValue: false });

module.exports = {
  user: {
    userName: account.sub,
    nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    email: account.email,
    displayName: account.name,
    ohpOrgId: organization.id || '',
    ohpOrgName: organization.name || '',
  },
  metadata: [
    attribute('email', 'E-mail address', 'The e-mail address of the user'),
    attribute('displayName', 'Name', 'The display name of the user'),
    attribute('ohpOrgId', 'OneHealthPort organization id', 'The organization the user belongs to'),
    attribute('ohpOrgName', 'OneHealthPort organization name', 'Its name'),
  ],
};

"""A local stand-in for the CQMR, started by `make run` beside the wizard and the local provider.

Development and tests only. One process (`python -m cqmr_wizard.local_cqmr`) serves:

- **/scim/v2** – a SCIM 2.0 service (RFC 7643/7644) built on scim2-server: the RFC 7643 User
  (with the enterprise extension) and Group resource types, filters, sorting, PATCH, bulk and
  ETags. Every request except /ServiceProviderConfig (RFC 7643 §5) must carry
  `Authorization: Bearer <token>`; anything else is answered 401. Resources live in memory and
  are written through to `<data dir>/scim-resources.json`, so they survive a restart.
- **/login** – OpenID Connect third-party-initiated login (GET or POST with `iss`,
  `login_hint`, `target_link_uri`): `iss` must be the configured provider and `target_link_uri`
  must be on this site; then the authorization code flow (PKCE, nonce, ID token verified by
  Authlib) with the client `cqmr-local` of the local provider, back to **/callback**.
  With `--saml-idp-metadata` it is a SAML 2.0 service provider of that IdP instead (`iss` must
  be the IdP's entity id): a signed AuthnRequest, the Response at **/saml/acs**, and only the
  person named by `login_hint` (their persistent NameID) is signed in; its metadata is at
  **/saml/metadata**.
- **/** – "Signed in to the CQMR as <name>, <organization>, roles …", read from the SCIM store on
  every visit, or a refusal page (403) when the person is not provisioned or not active.

What the CQMR reads from a provisioned person (the contract for the wizard's provisioning):

- the User whose `userName` equals the OpenID `sub` (compared case-insensitively, as RFC 7643
  says); access needs `active: true`;
- the name from `name.formatted`, else `name.givenName` + `name.familyName`, else `displayName`;
- the organization: every Group that lists the User (`members[].value` = the User's `id`),
  shown by its `displayName`;
- the roles: the User's core `roles` attribute (RFC 7643 §4.1.2), each shown by its `display`,
  else its `value`. Roles stay on the User rather than on the Group membership (SCIM members
  carry no attributes of their own) and need no extension schema: a member holds roles in one
  organization only.
"""

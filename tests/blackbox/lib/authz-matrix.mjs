// The authorization matrix of the black-box tests: for each endpoint the
// roles (relative to branch A of units.test.mjs's world) that may call it,
// and the status they get; every other role gets 403 (or what `deny` says
// for it: [status, problem type]), no token 401.
// units.test.mjs sends the requests; security.test.mjs checks that the
// route table (`yijian routes --json`, the table in docs/security.md) says
// the same. One table, so that the two cannot drift apart.

// memA: member of A; comA: committee of A; secA: secretary of A; secB:
// secretary of B (a sibling: no right over A); secRoot: secretary of the
// root above A; admin.
export const ROLES = ['memA', 'comA', 'secA', 'secB', 'secRoot', 'admin'];

// What each role is, in the route table's caller names (service/src/http/router.h).
export const ROLE_CALLER = {
  memA: 'member',
  comA: 'committee',
  secA: 'secretary',
  secB: null, // only what any signed-in account may do
  secRoot: 'secretary-above',
  admin: 'admin',
};

/** The roles a route's callers (names of `yijian routes --json`) let in. */
export function rolesOf(callers) {
  if (callers.includes('signed-in') || callers.includes('anyone')) return [...ROLES];
  return ROLES.filter((r) => ROLE_CALLER[r] && callers.includes(ROLE_CALLER[r]));
}

export const MATRIX_ALLOW = [
  { op: 'GET /v1/org-units', allow: ROLES, ok: 200 },
  { op: 'POST /v1/org-units (root)', allow: ['admin'], ok: 201 },
  { op: 'POST /v1/org-units (child of A)', allow: ['secA', 'secRoot', 'admin'], ok: 201 },
  { op: 'PATCH /v1/org-units/{id}', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'PUT /v1/org-units/{id}/retired', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'PUT /v1/org-units/{id}/portfolios/{portfolio_id}/retired', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'PUT /v1/org-units/{id}/categories/{category_id}/retired', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'GET /v1/org-units/{id}/members', allow: ['comA', 'secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'PUT /v1/org-units/{id}/members/{account_id}', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  // Taking a member out (issue 25): the preview and the removal.
  { op: 'GET /v1/org-units/{id}/members/{account_id}/removal', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'DELETE /v1/org-units/{id}/members/{account_id}', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'GET /v1/org-units/{id}/portfolios', allow: ['memA', 'comA', 'secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/org-units/{id}/portfolios', allow: ['secA', 'secRoot', 'admin'], ok: 201 },
  // What authors show to the unit (issue 22, the branch walk): its own
  // people and those who manage it; a sibling's secretary does not.
  { op: 'GET /v1/org-units/{id}/shown-suggestions', allow: ['memA', 'comA', 'secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/org-units/{id}/roster/preview', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/org-units/{id}/roster', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'GET /v1/org-units/{id}/ledger', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'GET /v1/org-units/{id}/bulletin-schedule', allow: ROLES, ok: 200 },
  { op: 'PUT /v1/org-units/{id}/bulletin-schedule', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'GET /v1/org-units/{id}/categories', allow: ROLES, ok: 200 },
  { op: 'POST /v1/org-units/{id}/categories', allow: ['secA', 'secRoot', 'admin'], ok: 201 },
  { op: 'PATCH /v1/org-units/{id}/categories/{category_id}', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/accounts (in A)', allow: ['secA', 'secRoot', 'admin'], ok: 201 },
  { op: 'POST /v1/accounts (no unit)', allow: ['admin'], ok: 201 },
  { op: 'POST /v1/accounts (is_admin)', allow: ['admin'], ok: 201 },
  { op: 'POST /v1/accounts/{id}/activation-code', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/accounts/activation-slips', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/accounts/{id}/activation-code (adopted from B)', allow: ['secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/accounts/{id}/activation-code (adopted with no unit)', allow: ['admin'], ok: 200 },
  // Drafting a consultation (issue 23): the unit's committee and those who manage it.
  { op: 'POST /v1/org-units/{id}/consultations', allow: ['comA', 'secA', 'secRoot', 'admin'], ok: 201 },
  { op: 'GET /v1/org-units/{id}/webhooks', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  { op: 'POST /v1/org-units/{id}/webhooks', allow: ['secA', 'secRoot', 'admin'], ok: 201 },
  { op: 'DELETE /v1/org-units/{id}/webhooks/{webhook_id}', allow: ['secA', 'secRoot', 'admin'], ok: 204 },
  { op: 'POST /v1/org-units/{id}/webhooks/{webhook_id}/test', allow: ['secA', 'secRoot', 'admin'], ok: 202 },
  { op: 'GET /v1/org-units/{id}/outbox', allow: ['secA', 'secRoot', 'admin'], ok: 200 },
  // Those allowed get past the check and find no such delivery.
  { op: 'POST /v1/org-units/{id}/outbox/{outbox_id}/retry', allow: ['secA', 'secRoot', 'admin'], ok: 404 },
  // Co-signing a suggestion of A (issue 22): those at or below A may. Who
  // may not read it learns nothing, not even that it exists.
  { op: 'POST /v1/suggestions/{id}/cosign (named)', allow: ['memA', 'comA', 'secA'], ok: 200, deny: { secB: [404, 'not-found'] } },
  // Anonymously, each role spends a token of the unit it holds its role in
  // (the admin, who has none, a made-up one): only A's tokens are good.
  {
    op: 'POST /v1/suggestions/{id}/cosign (token of own unit)',
    allow: ['memA', 'comA', 'secA'],
    ok: 200,
    deny: { secB: [403, 'invalid-token'], secRoot: [403, 'invalid-token'], admin: [403, 'invalid-token'] },
  },
];

-- Anonymity tokens are bound to a unit (issue 22, docs/threat-model.md
-- "Tokens are bound to a unit"): the VOPRF key is per (unit, epoch), a
-- member takes up to TOKEN_QUOTA tokens per unit they may address and per
-- epoch, and a token is good only for a suggestion of its unit.
--
-- The counts so far were of unbound tokens, made under keys that no longer
-- verify anything: they are dropped, and members fetch again per unit.
-- (The owner runs migrations; the service role still may not delete.)
DELETE FROM token_issuance;
ALTER TABLE token_issuance DROP CONSTRAINT token_issuance_pkey;
ALTER TABLE token_issuance
    ADD COLUMN unit_id bigint NOT NULL REFERENCES org_units (id) ON DELETE CASCADE;
ALTER TABLE token_issuance ADD PRIMARY KEY (account_id, key_id, unit_id);

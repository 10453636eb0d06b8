-- Issue 22 (an insider's attacks): the memberships an account ever held,
-- so that "a secretary may reset only an account wholly in their subtree"
-- looks at the past too; and the throttle counts attempts before they are
-- checked, which may refund a count down to zero.

-- Every unit an account held a role in, ever: one row per (account, unit),
-- written by the trigger below whoever adds the membership, never changed
-- or removed by the service. unit_id NULL means "the account existed
-- without any membership and was then adopted into a unit": its past is
-- outside every secretary's subtree, so only an admin may reset it.
CREATE TABLE membership_history (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    unit_id    bigint REFERENCES org_units (id),
    first_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX membership_history_once ON membership_history (account_id, coalesce(unit_id, 0));

CREATE FUNCTION memberships_remember() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- An account created in this transaction (now() is the transaction's
    -- start) gets its first unit with it; one older than the transaction
    -- and with no past at all is being adopted.
    IF NOT EXISTS (SELECT 1 FROM membership_history WHERE account_id = NEW.account_id)
       AND (SELECT created_at FROM accounts WHERE id = NEW.account_id) < now() THEN
        INSERT INTO membership_history (account_id, unit_id) VALUES (NEW.account_id, NULL)
        ON CONFLICT DO NOTHING;
    END IF;
    INSERT INTO membership_history (account_id, unit_id) VALUES (NEW.account_id, NEW.unit_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER memberships_remember AFTER INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_remember();

-- The past so far: today's memberships, the units the audit trail says an
-- account was given a role in ("membership.set", object "unit/account"),
-- and, for an account that holds no role today, the mark of an orphan.
INSERT INTO membership_history (account_id, unit_id, first_at)
SELECT account_id, unit_id, min(created_at) FROM memberships GROUP BY account_id, unit_id
ON CONFLICT DO NOTHING;
INSERT INTO membership_history (account_id, unit_id, first_at)
SELECT split_part(l.object_id, '/', 2)::bigint, split_part(l.object_id, '/', 1)::bigint, min(l.at)
FROM audit_log l
WHERE l.action = 'membership.set' AND l.object_id ~ '^[0-9]+/[0-9]+$'
  AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = split_part(l.object_id, '/', 2)::bigint)
  AND EXISTS (SELECT 1 FROM org_units u WHERE u.id = split_part(l.object_id, '/', 1)::bigint)
GROUP BY 1, 2
ON CONFLICT DO NOTHING;
INSERT INTO membership_history (account_id, unit_id)
SELECT a.id, NULL FROM accounts a
WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = a.id)
ON CONFLICT DO NOTHING;

REVOKE ALL ON membership_history FROM yijian_app;
GRANT SELECT, INSERT ON membership_history TO yijian_app;

-- The throttle takes a count before the guess is checked and gives it back
-- when the guess was right, so a count may fall to zero.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_failures_check;
ALTER TABLE login_throttle ADD CHECK (failures >= 0);

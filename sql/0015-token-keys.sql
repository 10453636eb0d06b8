-- The epochs whose anonymity-token keys exist, with the times published for
-- them (GET /v1/tokens/keys). A token is redeemable until the redeem_until
-- published when its key was made, whatever TOKEN_EPOCH or
-- TOKEN_GRACE_DAYS say later; a key id with no row here never had a key,
-- and a token naming it is refused without anything being stored.
CREATE TABLE token_keys (
    key_id       text PRIMARY KEY CHECK (key_id ~ '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$'),
    not_before   timestamptz NOT NULL,
    not_after    timestamptz NOT NULL CHECK (not_after > not_before),
    redeem_until timestamptz NOT NULL CHECK (redeem_until >= not_after)
);
REVOKE ALL ON token_keys FROM yijian_app;
GRANT SELECT, INSERT ON token_keys TO yijian_app;

-- Keys made before this table: calendar months (the default epoch) with
-- the default grace of 7 days. Keys of day epochs cannot be told apart by
-- their length; the current and next epoch's are registered again when
-- the service first loads them.
INSERT INTO token_keys (key_id, not_before, not_after, redeem_until)
SELECT k, b, b + interval '1 month', b + interval '1 month' + interval '7 days'
  FROM (SELECT substr(name, 11) AS k,
               (substr(name, 11) || '-01 00:00:00+00')::timestamptz AS b
          FROM secrets WHERE name ~ '^token-key:[0-9]{4}-[0-9]{2}$') m
ON CONFLICT DO NOTHING;

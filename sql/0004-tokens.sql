-- Secrets shared by every instance, and the count of anonymity tokens each
-- member took per epoch (DESIGN §3 "Anonymity", §5 "Secrets").

-- Named secrets (token keys, later the bulletin signing key), each sealed
-- with crypto_secretbox under a key derived from the master key and the
-- name (crypto/secrets.c). A row is written once by whichever instance
-- needs it first (INSERT ... ON CONFLICT DO NOTHING, then SELECT) and never
-- changed by the service: a changed secret would change a key that clients
-- already hold.
CREATE TABLE secrets (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9:._-]{0,99}$'),
    nonce      bytea NOT NULL CHECK (length(nonce) = 24),
    ciphertext bytea NOT NULL CHECK (length(ciphertext) BETWEEN 17 AND 4096),
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON secrets FROM yijian_app;
GRANT SELECT, INSERT ON secrets TO yijian_app;

-- How many tokens an account took in an epoch, and nothing else: no time
-- of issuance, no request, no session. The quota is enforced by one
-- statement that adds to `issued` only while the sum stays within it
-- (db/statements.c token_issue_count). Deleting a row would hand out a
-- new quota, so the service may not.
CREATE TABLE token_issuance (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_id     text NOT NULL CHECK (key_id ~ '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$'),
    issued     int NOT NULL CHECK (issued > 0),
    PRIMARY KEY (account_id, key_id)
);
REVOKE ALL ON token_issuance FROM yijian_app;
GRANT SELECT, INSERT, UPDATE (issued) ON token_issuance TO yijian_app;

-- For the same reason the count only grows, whoever writes it.
CREATE FUNCTION token_issuance_refuse_decrease() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.issued < OLD.issued THEN
        RAISE EXCEPTION 'token_issuance.issued may only grow (% -> %)', OLD.issued, NEW.issued
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER token_issuance_only_grows
    BEFORE UPDATE ON token_issuance
    FOR EACH ROW EXECUTE FUNCTION token_issuance_refuse_decrease();

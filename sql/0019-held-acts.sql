-- Anonymous acts held until the end of their release window
-- (docs/threat-model.md): accepted at once, durable here, and replayed all
-- together, in a random order and in one transaction, when the window ends
-- (domain/release.c). Nothing is in the clear but the window's end and a
-- lookup keyed under the master key (so that the holder of a tracking code
-- can see their act pending): the act itself is sealed with
-- crypto_secretbox under a key derived from the master key. No time of
-- arrival, no serial id: rows are deleted by the release that replays
-- them.
CREATE TABLE held_acts (
    hold_id    bytea PRIMARY KEY CHECK (length(hold_id) = 16),
    release_at timestamptz NOT NULL,
    lookup     bytea NOT NULL CHECK (length(lookup) = 32),
    nonce      bytea NOT NULL CHECK (length(nonce) = 24),
    sealed     bytea NOT NULL CHECK (length(sealed) BETWEEN 17 AND 262144)
);
CREATE INDEX held_acts_release ON held_acts (release_at);
CREATE INDEX held_acts_lookup ON held_acts (lookup);
REVOKE ALL ON held_acts FROM yijian_app;
-- DELETE ... RETURNING takes the due acts out for the release.
GRANT SELECT, INSERT, DELETE ON held_acts TO yijian_app;

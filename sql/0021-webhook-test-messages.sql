-- A test message to a webhook (issue 25): the secretary presses "send a
-- test message" and the outbox delivers it like any notice, with its
-- attempts and its dead letter, but it is about no suggestion. Only the
-- event 'test' may go without one.
ALTER TABLE notification_outbox ALTER COLUMN suggestion_id DROP NOT NULL;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_test_only_without_suggestion
    CHECK (suggestion_id IS NOT NULL OR event = 'test');

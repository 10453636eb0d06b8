-- Work messengers (docs/notifications.md): a unit's WeCom application
-- (企业微信自建应用) or DingTalk application (钉钉工作通知) tells each
-- person, in their own messenger, what reaches their inbox. The
-- application is a row of webhooks of a new kind (unit-owned, its corp id
-- or app key, agent id and secret sealed like a robot's URL), so that its
-- deliveries go through the same outbox, retries and dead letters; an
-- outbox row for a person names them (recipient_id), and the person's
-- user id in that messenger is read when the row is sent.

ALTER TABLE webhooks DROP CONSTRAINT webhooks_kind_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_kind_check
    CHECK (kind IN ('json', 'wecom', 'dingtalk', 'wecom_app', 'dingtalk_app'));
-- An application belongs to a unit and always has its secret.
ALTER TABLE webhooks ADD CONSTRAINT webhooks_app_of_unit
    CHECK (kind NOT IN ('wecom_app', 'dingtalk_app') OR (unit_id IS NOT NULL AND has_secret));

-- A person's user id in each messenger (WeCom: 1 to 64 of letters, digits,
-- "_", "-", ".", "@"; DingTalk's are of the same alphabet), set by the
-- roster import or by the person.
ALTER TABLE accounts
    ADD COLUMN wecom_user_id text
        CHECK (wecom_user_id ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    ADD COLUMN dingtalk_user_id text
        CHECK (dingtalk_user_id ~ '^[A-Za-z0-9_.@-]{1,64}$');

ALTER TABLE notification_outbox
    ADD COLUMN recipient_id bigint REFERENCES accounts (id);

-- A row for a person goes to an application, and only such a row does.
CREATE FUNCTION outbox_recipient_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    k text;
BEGIN
    SELECT kind INTO k FROM webhooks WHERE id = NEW.webhook_id;
    IF (k IN ('wecom_app', 'dingtalk_app')) <> (NEW.recipient_id IS NOT NULL) THEN
        RAISE EXCEPTION 'notification_outbox: recipient_id is set exactly for an application'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER notification_outbox_recipient
    BEFORE INSERT OR UPDATE OF webhook_id, recipient_id ON notification_outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_recipient_check();

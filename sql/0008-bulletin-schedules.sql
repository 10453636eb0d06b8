-- Bulletin schedules (DESIGN §2 "Bulletin", docs/bulletins.md "On a
-- schedule"): when each unit's bulletins are made without anyone asking.
-- A unit without a row follows the service's default (BULLETIN_SCHEDULE,
-- monthly on the 1st at 09:00 Asia/Shanghai).

CREATE TABLE bulletin_schedules (
    unit_id    bigint PRIMARY KEY REFERENCES org_units (id),
    frequency  text NOT NULL CHECK (frequency IN ('monthly', 'weekly', 'off')),
    -- monthly: day of the month 1-31 (past a short month's end: its last
    -- day); weekly: ISO day of the week, 1 Monday .. 7 Sunday
    day        smallint,
    -- hour of the day, Asia/Shanghai (+08:00, no daylight saving)
    hour       smallint,
    -- slots at or before this time are never made for this schedule
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((frequency = 'off' AND day IS NULL AND hour IS NULL)
        OR (frequency = 'monthly' AND day BETWEEN 1 AND 31 AND hour BETWEEN 0 AND 23)
        OR (frequency = 'weekly' AND day BETWEEN 1 AND 7 AND hour BETWEEN 0 AND 23))
);

REVOKE ALL ON bulletin_schedules FROM yijian_app;
GRANT SELECT, INSERT, UPDATE ON bulletin_schedules TO yijian_app;

-- The slot a scheduled bulletin was made for (NULL: made on demand). The
-- unique constraint makes "one bulletin per unit and slot" a rule of the
-- schema, whatever the number of instances or their clocks.
ALTER TABLE bulletins ADD COLUMN slot timestamptz;
ALTER TABLE bulletins ADD CONSTRAINT bulletins_unit_slot UNIQUE (unit_id, slot);

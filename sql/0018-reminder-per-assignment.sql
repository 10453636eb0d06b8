-- The "due soon" and "overdue" reminders go out once per assignment, not
-- once per suggestion (issue 22): after a reassignment the new assignee is
-- reminded too. Marks so far belong to the suggestion's current assignee.
ALTER TABLE notification_marks ADD COLUMN assignee_id bigint;
UPDATE notification_marks m SET assignee_id = coalesce(s.assignee_id, 0)
    FROM suggestions s WHERE s.id = m.suggestion_id;
ALTER TABLE notification_marks ALTER COLUMN assignee_id SET NOT NULL;
ALTER TABLE notification_marks DROP CONSTRAINT notification_marks_pkey;
ALTER TABLE notification_marks ADD PRIMARY KEY (suggestion_id, kind, assignee_id);

-- The two-person rule's cooling-off also covers a promotion (issue 22): a
-- drafter who makes an existing member a secretary (PUT of a membership,
-- or a roster import, both audited as membership.set) has made an
-- approver as surely as one who creates an account, so that account may
-- not approve the drafter's answers, nor waive approval for them, within
-- APPROVAL_COOLING_OFF. Only a grant of the secretary role counts: giving
-- someone the member or committee role makes no approver.

CREATE OR REPLACE FUNCTION account_made_by(made bigint, maker bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT made IS NOT NULL AND maker IS NOT NULL AND EXISTS (
        SELECT 1 FROM audit_log l
        WHERE l.actor_kind = 'account' AND l.actor_id = maker
          AND l.at > now() - make_interval(secs => coalesce(
                nullif(current_setting('yijian.approval_cooling_off', true), '')::int, 1209600))
          AND ((l.object_type = 'account' AND l.object_id = made::text
                AND l.action IN ('account.create', 'account.new_activation_code'))
            OR (l.object_type = 'membership' AND l.action = 'membership.set'
                AND split_part(l.object_id, '/', 2) = made::text
                AND coalesce(l.change #> '{after,roles}' ? 'secretary', false)
                AND NOT coalesce(l.change #> '{before,roles}' ? 'secretary', false))))
$$;

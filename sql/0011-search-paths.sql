-- Search by the ways a caller sees suggestions (issue 10,
-- docs/performance.md "Scale and free-text search"): a caller who is not an
-- admin searches each of their units, their own suggestions and those
-- assigned to them newest first, and stops at a page. Units and authors
-- have their (key, id DESC) indexes since 0003; assignees had only the
-- partial index of open suggestions, which the deadline job keeps using.
CREATE INDEX suggestions_assignee ON suggestions (assignee_id, id DESC);

-- Suggestions escalated to a unit, by id as well: the search walks them
-- newest first too (the old index had only the unit, and the planner
-- intersected it with a range of the primary key instead).
DROP INDEX suggestions_escalated;
CREATE INDEX suggestions_escalated ON suggestions (escalated_to, id DESC)
    WHERE escalated_to IS NOT NULL;

-- GET /v1/stats walks a unit's subtree once (issue 22, finding 5): each
-- step of that walk looks units up by their parent, which needs an index
-- (the unique index on (coalesce(parent_id, 0), name) cannot serve it).
CREATE INDEX org_units_parent ON org_units (parent_id);

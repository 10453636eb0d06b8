-- An author may show their suggestion to the members of its unit (issue
-- 22, the branch walk: members could not find their branch's suggestions
-- to co-sign them). Only a named author, through the API; the name is
-- shown only when the author says so. An anonymous suggestion is never
-- shown: showing it would be an act of its holder at a time anyone in the
-- branch could see (docs/threat-model.md).
ALTER TABLE suggestions
    ADD COLUMN shown_to_unit boolean NOT NULL DEFAULT false,
    ADD COLUMN shown_with_name boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT suggestions_shown_name_needs_shown CHECK (NOT shown_with_name OR shown_to_unit),
    ADD CONSTRAINT suggestions_shown_named_only CHECK (NOT (anonymous AND shown_to_unit));

CREATE INDEX suggestions_shown_to_unit ON suggestions (unit_id, id) WHERE shown_to_unit;

-- Themes (归类) of a closed consultation's free-text answers (issue 23):
-- the committee groups the answers; each text answer is in at most one
-- theme, and one in none is "not yet grouped", so none is lost.

CREATE TABLE consultation_themes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultation_id bigint NOT NULL REFERENCES consultations (id),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100 AND title = btrim(title)),
    created_by      bigint NOT NULL REFERENCES accounts (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consultation_id, title)
);

-- One text answer (an answer's value for one text question) in a theme.
-- The primary key is the answer and the question: at most one theme each.
CREATE TABLE consultation_theme_items (
    answer_id bigint NOT NULL REFERENCES consultation_answers (id),
    position  smallint NOT NULL,
    theme_id  bigint NOT NULL REFERENCES consultation_themes (id),
    PRIMARY KEY (answer_id, position)
);
CREATE INDEX consultation_theme_items_theme ON consultation_theme_items (theme_id);

-- Themes are made once the consultation is closed: the answers no longer change.
CREATE FUNCTION consultation_themes_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM consultations WHERE id = NEW.consultation_id) IS DISTINCT FROM 'closed'
       OR (TG_OP = 'UPDATE' AND NEW.consultation_id <> OLD.consultation_id) THEN
        RAISE EXCEPTION 'consultation %: themes are made after the close', NEW.consultation_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_themes_check
    BEFORE INSERT OR UPDATE ON consultation_themes
    FOR EACH ROW EXECUTE FUNCTION consultation_themes_check();

-- An item is a text answer the answer holds, of the theme's consultation.
CREATE FUNCTION consultation_theme_items_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM consultation_themes t
        JOIN consultation_answers a ON a.consultation_id = t.consultation_id
        JOIN consultation_questions q ON q.consultation_id = t.consultation_id
        WHERE t.id = NEW.theme_id AND a.id = NEW.answer_id AND q.position = NEW.position
          AND q.kind = 'text' AND jsonb_typeof(a.answers -> NEW.position::text) = 'string') THEN
        RAISE EXCEPTION 'consultation theme %: answer % has no text answer to question % of its consultation',
            NEW.theme_id, NEW.answer_id, NEW.position USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_theme_items_check
    BEFORE INSERT OR UPDATE ON consultation_theme_items
    FOR EACH ROW EXECUTE FUNCTION consultation_theme_items_check();

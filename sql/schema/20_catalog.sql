-- The catalog every course is filed under: languages and tags.

CREATE TABLE languages (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    code       text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT languages_pkey PRIMARY KEY (id),
    CONSTRAINT languages_code_key UNIQUE (code),
    CONSTRAINT languages_code_format CHECK (code ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
    CONSTRAINT languages_name_not_blank CHECK (is_not_blank(name) AND char_length(name) <= 100)
);
COMMENT ON TABLE languages IS 'A language a course is taught in.';
COMMENT ON COLUMN languages.code IS 'BCP 47 language tag, e.g. en, pt-BR.';
CREATE UNIQUE INDEX languages_name_key ON languages (lower(name));
CREATE TRIGGER languages_set_updated_at BEFORE UPDATE ON languages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE tags (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_pkey PRIMARY KEY (id),
    CONSTRAINT tags_name_not_blank CHECK (is_not_blank(name) AND char_length(name) <= 50)
);
COMMENT ON TABLE tags IS 'A topic courses can be filed under; names are unique whatever their case.';
CREATE UNIQUE INDEX tags_name_key ON tags (lower(name));
CREATE TRIGGER tags_set_updated_at BEFORE UPDATE ON tags
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

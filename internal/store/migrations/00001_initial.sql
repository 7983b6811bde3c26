-- The first schema. Portable SQL: the same file runs on SQLite and PostgreSQL. Times are
-- BIGINT Unix milliseconds (0 = unknown); secrets are stored only as SHA-256 (hex) or
-- AES-GCM ciphertext (see crypto.go).

-- +goose Up
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY, -- SHA-256 of the cookie's session id
    units      TEXT NOT NULL,
    flash_kind TEXT NOT NULL,
    flash_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE oauth_states (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    state_hash TEXT NOT NULL, -- SHA-256 of the state
    seq        BIGINT NOT NULL, -- order of issue within the session
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, state_hash)
);
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);

CREATE TABLE users (
    id         TEXT PRIMARY KEY, -- Smartcar's user id
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE session_users (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL, -- when the session (last) connected the user
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_users_user_id ON session_users (user_id);

-- One connection per Smartcar user: connecting the account again replaces it.
CREATE TABLE connections (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    vehicle_ids         TEXT NOT NULL, -- JSON array
    scopes              TEXT NOT NULL, -- JSON array
    access_token        TEXT NOT NULL, -- sealed
    refresh_token       TEXT NOT NULL, -- sealed
    access_expires_at   BIGINT NOT NULL,
    refresh_expires_at  BIGINT NOT NULL,
    -- SQLite only: until when a process holds the right to refresh (refresh.go).
    refresh_lease_until BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- +goose Down
DROP TABLE connections;
DROP TABLE session_users;
DROP TABLE users;
DROP TABLE oauth_states;
DROP TABLE sessions;

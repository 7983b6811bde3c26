-- API v3 reads send the user's Smartcar id as sc-user-id. users.id is that id, unless
-- Smartcar's user could not be read at Connect and the row is keyed by a placeholder of
-- the app's ("unknown:<random>"). sc_user_id says which: the id to send (always users.id),
-- or '' for none, when reads use the connection's per-vehicle token instead.

-- +goose Up
ALTER TABLE users ADD COLUMN sc_user_id TEXT NOT NULL DEFAULT '';
-- The rows so far were keyed by GET /v2.0/user, the same id as Connect's user_id.
UPDATE users SET sc_user_id = id WHERE id NOT LIKE 'unknown:%';

-- +goose Down
ALTER TABLE users DROP COLUMN sc_user_id;

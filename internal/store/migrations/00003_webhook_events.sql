-- Webhook events and the latest value of each vehicle's signals (events.go).
--
-- webhook_events: one row per event, keyed by Smartcar's eventId, which stays the same on
-- every retry: the primary key is what stores an event once under at-least-once delivery.
-- The signals are kept decoded (the app's timeline and chart read them), sealed with the
-- tokens' keys; the raw body is not kept. Rows older than Options.EventRetention go at
-- Sweep.
--
-- vehicle_signals: the newest value per vehicle and signal code, from a webhook or an API
-- read, moved only forward (as_of). Sealed like the events' signals.

-- +goose Up
CREATE TABLE webhook_events (
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    vehicle_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL, -- Smartcar's user id; '' if the payload had none
    webhook_id   TEXT NOT NULL,
    delivery_id  TEXT NOT NULL, -- the attempt that was stored
    mode         TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL, -- the event's time (see Event.OccurredAt); never 0
    delivered_at BIGINT NOT NULL, -- meta.deliveredAt, 0 = unknown
    received_at  BIGINT NOT NULL,
    triggers     TEXT NOT NULL, -- JSON array of signal codes (or trigger types)
    errors       TEXT NOT NULL, -- JSON array, a VEHICLE_ERROR's errors
    signals      TEXT NOT NULL  -- sealed JSON array of the event's signal values
);
CREATE INDEX webhook_events_vehicle ON webhook_events (vehicle_id, occurred_at, event_id);
CREATE INDEX webhook_events_received_at ON webhook_events (received_at);

CREATE TABLE vehicle_signals (
    vehicle_id     TEXT NOT NULL,
    code           TEXT NOT NULL,
    body           TEXT NOT NULL, -- sealed JSON; '' = never read
    status         TEXT NOT NULL,
    error          TEXT NOT NULL, -- JSON; '' = none
    oem_updated_at BIGINT NOT NULL, -- the body's
    retrieved_at   BIGINT NOT NULL, -- the body's
    as_of          BIGINT NOT NULL, -- the order of values (SignalValue.AsOf)
    received_at    BIGINT NOT NULL,
    via            TEXT NOT NULL, -- 'webhook' or 'api'
    event_id       TEXT NOT NULL, -- '' via the API
    PRIMARY KEY (vehicle_id, code)
);
CREATE INDEX vehicle_signals_received_at ON vehicle_signals (received_at);

-- +goose Down
DROP TABLE vehicle_signals;
DROP TABLE webhook_events;

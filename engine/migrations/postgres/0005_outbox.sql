-- Transactional outbox: every committed event (no personal data: events carry none), written in
-- the same transaction as the event and relayed to RabbitMQ after commit, so a crash between
-- commit and publish loses nothing (at-least-once; consumers dedupe by event id).
CREATE TABLE IF NOT EXISTS outbox
(
    position     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT   NOT NULL UNIQUE,
    case_id      TEXT   NOT NULL,
    sequence     BIGINT NOT NULL,
    event_type   TEXT   NOT NULL,
    payload      TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (position) WHERE published_at IS NULL;

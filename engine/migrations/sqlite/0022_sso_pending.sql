-- Single sign-on flows under way (`engine/src/accounts.rs`, `api/src/web/oidc.rs`): kept in the
-- store so that the provider's redirect may reach any instance behind the proxy. Keyed by the
-- SHA-256 of the `state`; the browser-binding cookie's value is kept as its SHA-256 too. The PKCE
-- verifier and the nonce are needed in clear to finish the flow; a row lives for minutes and is
-- taken out (deleted) by the callback that uses it. One text for both backends.
CREATE TABLE IF NOT EXISTS sso_pending
(
    state_hash   TEXT   NOT NULL PRIMARY KEY,
    binding_hash TEXT   NOT NULL,
    verifier     TEXT   NOT NULL,
    nonce        TEXT   NOT NULL,
    -- µs since the epoch
    started_at   BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS sso_pending_started ON sso_pending (started_at);

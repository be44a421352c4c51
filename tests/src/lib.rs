//! End-to-end tests over HTTP live in `tests/`.

//! Read models and their rebuild.

//! Cross-crate test support for rtcp (placeholder).

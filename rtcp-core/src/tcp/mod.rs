//! TCP engine (placeholder).

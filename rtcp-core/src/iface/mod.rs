//! Interface (placeholder).

//! Socket table (placeholder).

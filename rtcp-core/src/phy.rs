//! The device layer (placeholder; the engine issue fills this in).

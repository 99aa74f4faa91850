//! Logging that compiles away: `defmt` on microcontrollers, `log` on hosts,
//! nothing when neither feature is on.

#[cfg(feature = "defmt")]
#[allow(unused_macros)]
macro_rules! net_trace {
    ($($arg:tt)*) => { defmt::trace!($($arg)*) };
}
#[cfg(all(feature = "log", not(feature = "defmt")))]
#[allow(unused_macros)]
macro_rules! net_trace {
    ($($arg:tt)*) => { log::trace!($($arg)*) };
}
#[cfg(not(any(feature = "log", feature = "defmt")))]
#[allow(unused_macros)]
macro_rules! net_trace {
    // Type-checked but never evaluated, so a value used only by a log line
    // is not "unused" and nothing is formatted or linked.
    ($($arg:tt)*) => {{
        if false {
            let _ = core::format_args!($($arg)*);
        }
    }};
}

#[cfg(feature = "defmt")]
#[allow(unused_macros)]
macro_rules! net_debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}
#[cfg(all(feature = "log", not(feature = "defmt")))]
#[allow(unused_macros)]
macro_rules! net_debug {
    ($($arg:tt)*) => { log::debug!($($arg)*) };
}
#[cfg(not(any(feature = "log", feature = "defmt")))]
#[allow(unused_macros)]
macro_rules! net_debug {
    ($($arg:tt)*) => {{
        if false {
            let _ = core::format_args!($($arg)*);
        }
    }};
}

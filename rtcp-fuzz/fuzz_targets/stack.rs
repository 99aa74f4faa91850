//! Two interfaces over a link whose loss, duplication, reordering and
//! corruption come from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rtcp_tests::fuzz::stack(data));

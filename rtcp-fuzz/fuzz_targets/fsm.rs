//! One TCP connection driven by user calls, time and a fuzzer-played peer.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Raw bytes, decoded with `arbitrary` inside, so corpus files and crash
// files replay unchanged through `rtcp_tests::fuzz::fsm_bytes` on stable.
fuzz_target!(|data: &[u8]| rtcp_tests::fuzz::fsm_bytes(data));

//! Ethernet → ARP / IPv4 → TCP / ICMP: parse, re-emit, re-parse, compare.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rtcp_tests::fuzz::segment(data));

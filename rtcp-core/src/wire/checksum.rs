//! The Internet checksum (RFC 1071), fast, with incremental update (RFC 1624).
// CONTRACT (to be implemented): keep these public names and signatures.
//
// pub fn data(bytes: &[u8]) -> u16           // one's-complement sum folded to 16 bits (not inverted),
//                                            // at least 8 bytes per step
// pub fn combine(sums: &[u16]) -> u16        // one's-complement addition of partial sums
// pub fn pseudo_header_v4(src: &Ipv4Address, dst: &Ipv4Address, protocol: IpProtocol, length: u32) -> u16
// pub fn update(old_checksum: u16, old_word: u16, new_word: u16) -> u16   // RFC 1624 eqn. 3, on the
//                                            // inverted checksum as stored in a header
// pub fn naive(bytes: &[u8]) -> u16          // the byte-pair reference loop, for tests and the benchmark

//! `rtcp-host`: the command-line harness (placeholder until the host issue).

fn main() {
    println!("rtcp-host {}", env!("CARGO_PKG_VERSION"));
}

//! Command-line arguments and the parsers of sizes, rates, durations and
//! percentages.

use clap::{Args, Parser, Subcommand};
use rtcp_core::tcp::congestion::CongestionAlgorithm;
use rtcp_core::time::Duration;
use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
use rtcp_host::link::{Faults, LinkOptions};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

/// File transfer over rtcp, a TCP/IP stack in Rust, interoperating with Linux.
///
/// rtcp runs in user space with its own MAC and IPv4 address on a raw
/// AF_PACKET socket (or a TAP device), so the Linux kernel on the other end
/// of the link sees it as a separate host. The byte stream is the raw file,
/// so `nc` and `socat` work as the other side.
///
/// Quick start without root: `rtcp-host sim --size 100M --loss 1% --delay 10ms`.
/// With root: `rtcp-host lab up` creates two network namespaces joined by a
/// veth pair and prints the commands to run in them.
#[derive(Debug, Parser)]
#[command(name = "rtcp-host", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Accept connections and write each incoming byte stream to a file.
    Server(ServerArgs),
    /// Send a file to a server, then print throughput and SHA-256.
    Client(ClientArgs),
    /// Client and server in one process over a simulated link (no root).
    Sim(SimArgs),
    /// Create or remove a two-namespace veth lab (root).
    Lab(LabArgs),
    /// Forward frames between two interfaces, injecting loss and delay (root).
    Bridge(BridgeArgs),
}

/// Where the stack attaches and how it is addressed.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Network interface for the raw AF_PACKET socket (e.g. veth-a).
    #[arg(
        long,
        value_name = "IF",
        required_unless_present = "tap",
        conflicts_with = "tap"
    )]
    pub iface: Option<String>,
    /// Use a TAP device instead (created if missing; the local kernel is the peer).
    #[arg(long, value_name = "NAME")]
    pub tap: Option<String>,
    /// With --iface: open the socket through pnet_datalink, one system call
    /// per frame and no offload support (the peer's tx checksum offload and
    /// our GRO must be off), instead of the batched socket that takes
    /// offloaded frames.
    #[arg(long, requires = "iface")]
    pub pnet: bool,
    /// With --iface: send every segment as its own MTU-sized frame instead
    /// of handing the kernel TCP super-segments of up to 64 KiB to segment
    /// (TSO through the virtio_net_hdr; on by default where the socket has
    /// it, and always off with injected faults).
    #[arg(long)]
    pub no_tso: bool,
    /// The stack's own IPv4 address and prefix; the kernel must not own it.
    #[arg(long, value_name = "ADDR/PREFIX", value_parser = parse_cidr)]
    pub ip: Ipv4Cidr,
    /// Default gateway for off-link destinations.
    #[arg(long, value_name = "GW")]
    pub gateway: Option<Ipv4Addr>,
    /// The stack's MAC address [default: 02:72:74 + the last three bytes of --ip].
    #[arg(long, value_name = "MAC", value_parser = parse_mac)]
    pub mac: Option<EthernetAddress>,
    /// Congestion controller: newreno, cubic or bbr.
    #[arg(long, value_name = "CC", value_parser = parse_cc, default_value = "newreno")]
    pub cc: CongestionAlgorithm,
    /// Send and receive buffer of each connection (the window cap: a path
    /// of RTT r carries at most SIZE/r).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "256K")]
    pub buffer: u64,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// Seeded fault injection, applied by rtcp itself (no netem needed).
#[derive(Debug, Args, Clone)]
pub struct FaultArgs {
    /// Drop this share of frames in each direction (e.g. 2%).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, default_value = "0")]
    pub loss: u32,
    /// Add this one-way delay in each direction (e.g. 10ms).
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "0")]
    pub delay: Duration,
    /// Hold back this share of frames by up to --reorder-delay (e.g. 2%).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, default_value = "0")]
    pub reorder: u32,
    /// Most extra delay of a reordered frame.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "2ms")]
    pub reorder_delay: Duration,
    /// Duplicate this share of frames (e.g. 1%).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, default_value = "0")]
    pub duplicate: u32,
    /// Seed of the fault injection (runs with one seed repeat their decisions).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Capture every frame the stack sends and receives to a pcap file.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
}

impl FaultArgs {
    /// The faults of one direction.
    pub fn faults(&self) -> Faults {
        Faults {
            delay: self.delay,
            loss_ppm: self.loss,
            duplicate_ppm: self.duplicate,
            reorder_ppm: self.reorder,
            reorder_delay: self.reorder_delay,
            ..Faults::default()
        }
    }

    /// The same faults both ways (real backends).
    pub fn link_options(&self) -> LinkOptions {
        LinkOptions {
            tx: self.faults(),
            rx: self.faults(),
            seed: self.seed,
            pcap: self.pcap.clone(),
            no_tso: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// TCP port to listen on.
    #[arg(long, short)]
    pub port: u16,
    /// Output file. Connection 1 writes PATH, connection N writes PATH.N;
    /// `{n}` in PATH is replaced by the connection number instead.
    #[arg(long, short, value_name = "PATH")]
    pub out: PathBuf,
    /// Exit after this many connections have finished [default: run until killed].
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub net: NetArgs,
    /// The server to send to.
    #[arg(long, short, value_name = "ADDR:PORT")]
    pub connect: SocketAddrV4,
    /// The file to send.
    #[arg(long, short, value_name = "PATH")]
    pub file: PathBuf,
    /// Give up connecting after this long.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Bytes to transfer (K, M, G suffixes are binary: 100M = 100 MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "100M")]
    pub size: u64,
    /// One-way delay of the simulated link.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "1ms")]
    pub delay: Duration,
    /// Bandwidth of the simulated link each way (e.g. 100Mbit; 0 = unlimited).
    #[arg(long, value_name = "RATE", value_parser = parse_rate, default_value = "0")]
    pub bandwidth: u64,
    /// Frames that may queue behind the bandwidth limit before drops.
    #[arg(long, default_value_t = 1000)]
    pub queue: usize,
    /// Loss each way (e.g. 1%).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, default_value = "0")]
    pub loss: u32,
    /// Share of frames reordered each way.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, default_value = "0")]
    pub reorder: u32,
    /// Share of frames duplicated each way.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, default_value = "0")]
    pub duplicate: u32,
    /// Parallel connections (the size is sent on each).
    #[arg(long, default_value_t = 1)]
    pub connections: u32,
    /// Seed of the link model and the data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Capture the client's frames to a pcap file.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Congestion controller of both ends: newreno, cubic or bbr.
    #[arg(long, value_name = "CC", value_parser = parse_cc, default_value = "newreno")]
    pub cc: CongestionAlgorithm,
}

#[derive(Debug, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub action: LabAction,
    /// Namespace prefix: the lab is namespaces NAME-a and NAME-b.
    #[arg(long, default_value = "rtcp", global = true)]
    pub name: String,
}

#[derive(Debug, Subcommand)]
pub enum LabAction {
    /// Create NAME-a (rtcp on veth-a, no kernel address) and NAME-b (Linux, 10.77.0.1/24 on veth-b).
    Up,
    /// Remove both namespaces (and the veth pair).
    Down,
}

/// Which way the bridge's faults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataDirection {
    /// Frames read on --a and written to --b (ACKs coming back are clean).
    AToB,
    /// Frames read on --b and written to --a.
    BToA,
    /// Both ways, each with its own draws.
    Both,
}

/// A user-space L2 bridge with fault injection, for Linux-to-Linux runs
/// on the same impaired path that rtcp's own device layer gives rtcp.
#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// First interface (the sender's side).
    #[arg(long, value_name = "IF")]
    pub a: String,
    /// Second interface (the receiver's side).
    #[arg(long, value_name = "IF")]
    pub b: String,
    /// Drop this share of frames on the data direction (e.g. 1%).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, default_value = "0")]
    pub loss: u32,
    /// Add this one-way delay on the data direction (e.g. 5ms).
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "0")]
    pub delay: Duration,
    /// Seed of the loss draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the faults apply.
    #[arg(long, value_enum, default_value = "a-to-b")]
    pub data_direction: DataDirection,
}

/// A congestion controller by name (`newreno`, `cubic`, `bbr`: those
/// compiled into rtcp-core).
pub fn parse_cc(s: &str) -> Result<CongestionAlgorithm, String> {
    CongestionAlgorithm::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = CongestionAlgorithm::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown congestion controller {s:?} (this build has: {})",
            names.join(", ")
        )
    })
}

/// `10.0.0.2/24`.
pub fn parse_cidr(s: &str) -> Result<Ipv4Cidr, String> {
    let (addr, prefix) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} needs a prefix length, as in 10.77.0.2/24"))?;
    let addr: Ipv4Addr = addr.parse().map_err(|e| format!("{addr:?}: {e}"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| format!("{prefix:?} is not a prefix length (0-32)"))?;
    Ok(Ipv4Cidr::new(Ipv4Address::from(addr), prefix))
}

/// `02:00:00:00:00:01`.
pub fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        let p = parts
            .next()
            .ok_or_else(|| format!("{s:?} is not a MAC address"))?;
        *b = u8::from_str_radix(p, 16).map_err(|_| format!("{s:?} is not a MAC address"))?;
    }
    if parts.next().is_some() {
        return Err(format!("{s:?} is not a MAC address"));
    }
    Ok(EthernetAddress(mac))
}

fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    (s.get(..end).unwrap_or(s), s.get(end..).unwrap_or("").trim())
}

/// `2%`, `0.5%` or a bare percentage `2` → parts per million.
pub fn parse_percent(s: &str) -> Result<u32, String> {
    let (num, unit) = split_number(s.trim());
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage"))?;
    if !(unit.is_empty() || unit == "%") || !(0.0..=100.0).contains(&v) {
        return Err(format!("{s:?} is not a percentage (0% to 100%)"));
    }
    Ok((v * 10_000.0).round() as u32)
}

/// `10ms`, `1s`, `250us`, `0` → Duration.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = split_number(s.trim());
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration"))?;
    let micros = match unit {
        "us" | "µs" => v,
        "ms" => v * 1e3,
        "s" | "" if v == 0.0 || unit == "s" => v * 1e6,
        _ => return Err(format!("{s:?}: give a unit, as in 10ms, 1s or 250us")),
    };
    Ok(Duration::from_micros(micros as u64))
}

/// `100M`, `64MiB`, `1G`, `4096` → bytes (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, unit) = split_number(s.trim());
    let v: f64 = num.parse().map_err(|_| format!("{s:?} is not a size"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{s:?}: sizes look like 4096, 64K, 100M or 1G")),
    };
    Ok((v * mult as f64) as u64)
}

/// `100Mbit`, `1Gbit`, `500kbit`, `0` → bits per second.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let (num, unit) = split_number(s.trim());
    let v: f64 = num.parse().map_err(|_| format!("{s:?} is not a rate"))?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "bit" | "bps" => 1.0,
        "k" | "kbit" | "kbps" => 1e3,
        "m" | "mbit" | "mbps" => 1e6,
        "g" | "gbit" | "gbps" => 1e9,
        _ => return Err(format!("{s:?}: rates look like 100Mbit or 1Gbit")),
    };
    Ok((v * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_percent("2%"), Ok(20_000));
        assert_eq!(parse_percent("0.5"), Ok(5_000));
        assert!(parse_percent("150%").is_err());
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_rate("100Mbit"), Ok(100_000_000));
        assert_eq!(
            parse_cidr("10.77.0.2/24"),
            Ok(Ipv4Cidr::new(Ipv4Address::new(10, 77, 0, 2), 24))
        );
        assert!(parse_cidr("10.77.0.2").is_err());
        assert_eq!(
            parse_mac("02:00:00:00:00:0a"),
            Ok(EthernetAddress([2, 0, 0, 0, 0, 10]))
        );
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

//! `lab up | down`: two network namespaces joined by a veth pair, for
//! running rtcp against the Linux kernel on one machine.
//!
//! ```text
//!  NAME-a                                  NAME-b
//!  veth-a (up, no kernel address)  <====>  veth-b 10.77.0.1/24 (Linux)
//!  rtcp-host --iface veth-a --ip 10.77.0.2/24
//! ```
//!
//! Offloads are off on both ends, so every frame on the pair is
//! wire-sized and fully checksummed, as on a physical link (rtcp-host also
//! works with them on: see `backend::vnet`), and IPv6 is off on veth-a so
//! the kernel of NAME-a stays quiet on rtcp's wire.

use crate::cli::{LabAction, LabArgs};
use std::process::Command;

/// The Linux side's address in the lab.
pub const LINUX_IP: &str = "10.77.0.1";
/// rtcp's address in the lab.
pub const RTCP_IP: &str = "10.77.0.2";

fn sh(args: &[&str]) -> Result<(), String> {
    let (prog, rest) = args.split_first().ok_or("empty command")?;
    let out = Command::new(prog)
        .args(rest)
        .output()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

pub fn run(a: LabArgs) -> Result<(), String> {
    if rtcp_host::sys::geteuid() != 0 {
        return Err("`lab` creates network namespaces and needs root".into());
    }
    let (na, nb) = (format!("{}-a", a.name), format!("{}-b", a.name));
    match a.action {
        LabAction::Up => up(&a.name, &na, &nb),
        LabAction::Down => {
            let mut removed = false;
            for ns in [&na, &nb] {
                if netns_exists(ns) {
                    sh(&["ip", "netns", "del", ns])?;
                    removed = true;
                }
            }
            println!(
                "{}",
                if removed {
                    format!("removed namespaces {na} and {nb}")
                } else {
                    format!("no lab named {} is up", a.name)
                }
            );
            Ok(())
        }
    }
}

fn up(name: &str, na: &str, nb: &str) -> Result<(), String> {
    if netns_exists(na) || netns_exists(nb) {
        return Err(format!(
            "{na} or {nb} already exists: run `rtcp-host lab down` first"
        ));
    }
    if Command::new("ethtool").arg("--version").output().is_err() {
        return Err(
            "ethtool is missing (apt-get install ethtool): the lab turns the veth pair's offloads off"
                .into(),
        );
    }
    let result = (|| {
        sh(&["ip", "netns", "add", na])?;
        sh(&["ip", "netns", "add", nb])?;
        sh(&[
            "ip", "link", "add", "veth-a", "netns", na, "type", "veth", "peer", "name", "veth-b",
            "netns", nb,
        ])?;
        let _ = sh(&[
            "ip",
            "netns",
            "exec",
            na,
            "sysctl",
            "-qw",
            "net.ipv6.conf.veth-a.disable_ipv6=1",
        ]);
        let _ = sh(&[
            "ip",
            "netns",
            "exec",
            nb,
            "sysctl",
            "-qw",
            "net.ipv6.conf.veth-b.disable_ipv6=1",
        ]);
        for (ns, dev) in [(na, "veth-a"), (nb, "veth-b")] {
            sh(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "rx", "off", "gso",
                "off", "gro", "off", "tso", "off",
            ])?;
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
            sh(&["ip", "-n", ns, "link", "set", dev, "up"])?;
        }
        sh(&[
            "ip",
            "-n",
            nb,
            "addr",
            "add",
            &format!("{LINUX_IP}/24"),
            "dev",
            "veth-b",
        ])
    })();
    if let Err(e) = result {
        let _ = sh(&["ip", "netns", "del", na]);
        let _ = sh(&["ip", "netns", "del", nb]);
        return Err(e);
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "rtcp-host".into());
    println!("lab up: {na} has veth-a (no kernel address; rtcp uses {RTCP_IP}/24), {nb} has veth-b {LINUX_IP}/24 (Linux).");
    println!();
    println!("# Linux sends to rtcp:");
    println!("ip netns exec {na} {exe} server --iface veth-a --ip {RTCP_IP}/24 --port 5001 --out /tmp/rtcp-received.bin");
    println!("ip netns exec {nb} socat -u FILE:/path/to/file TCP:{RTCP_IP}:5001");
    println!();
    println!("# rtcp sends to Linux:");
    println!("ip netns exec {nb} socat -u TCP-LISTEN:5001,reuseaddr OPEN:/tmp/linux-received.bin,creat,trunc");
    println!("ip netns exec {na} {exe} client --iface veth-a --ip {RTCP_IP}/24 --connect {LINUX_IP}:5001 --file /path/to/file");
    println!();
    println!("# Linux pings rtcp (while rtcp-host runs):");
    println!("ip netns exec {nb} ping -c 3 {RTCP_IP}");
    println!();
    println!("# when done:");
    if name == "rtcp" {
        println!("{exe} lab down");
    } else {
        println!("{exe} lab down --name {name}");
    }
    Ok(())
}

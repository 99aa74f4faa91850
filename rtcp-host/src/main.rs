//! `rtcp-host`: file transfer over the rtcp stack, interoperating with
//! Linux (`nc`, `socat`, Python sockets), plus a no-root simulated mode and
//! a namespace lab. Run `rtcp-host --help`.

mod bridge_cmd;
mod cli;
mod lab;
mod transfer;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Server(a) => transfer::server(a),
        cli::Command::Client(a) => transfer::client(a),
        cli::Command::Sim(a) => transfer::sim(a),
        cli::Command::Lab(a) => lab::run(a),
        cli::Command::Bridge(a) => bridge_cmd::run(a),
    };
    if let Err(e) = result {
        eprintln!("rtcp-host: error: {e}");
        std::process::exit(1);
    }
}

//! Parser for the packetdrill script language (the subset real scripts use;
//! see `../shared/conformance/README.md`).

use std::fmt;

/// When an event happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Time {
    /// Absolute, µs from the start of the script.
    Absolute(i64),
    /// Relative to the previous event, µs.
    Relative(i64),
    /// `*`: any time.
    Any,
}

/// The time part of an event: a start, an optional range end (`a~b`) and an
/// optional end of a blocking call (`a...b`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct When {
    pub start: Time,
    /// `a~b`: the packet may come anywhere in the window.
    pub range_end: Option<Time>,
    /// `a...b`: the call blocks from `a` until `b`.
    pub block_end: Option<Time>,
}

/// One TCP option as a script writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptOption {
    Mss(u16),
    WScale(u8),
    SackOk,
    Sack(Vec<(u32, u32)>),
    Timestamp {
        val: u32,
        ecr: u32,
    },
    Nop,
    Eol,
    /// `raw HEX`: option bytes as written (rtcp extension, injected
    /// segments only), e.g. `raw fe06a1b2c3d4` for an unknown kind 254 or
    /// `raw 0200` for an MSS with an illegal length.
    Raw(Vec<u8>),
}

/// A segment line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// `<` (true): the peer sends it; `>`: we must send it.
    pub inbound: bool,
    /// Flag letters as written (`S.`, `F.`, `.`, `SEW`...).
    pub flags_text: String,
    /// TCP flag bits.
    pub flags: u8,
    pub seq: u32,
    pub len: u32,
    pub ack: Option<u32>,
    pub win: Option<u32>,
    /// `None`: `<...>` (options not checked).
    pub options: Option<Vec<ScriptOption>>,
    /// IP ECN codepoint as written in `[...]` after the direction
    /// (`noecn`, `ect0`, `ect1`, `ce`, `ect01`).
    pub ecn: Option<String>,
    /// The peer's port, written `[port N]` after the direction: an rtcp
    /// extension (packetdrill has one remote port per script), for scripts
    /// that need a second connection from the peer, e.g. a full listen
    /// backlog. `None`: the script's one remote port.
    pub port: Option<u16>,
    /// `[badcsum]` (rtcp extension): inject it with a wrong TCP checksum.
    pub bad_checksum: bool,
    /// `urg N`: the urgent pointer (with the `U` flag).
    pub urg: Option<u16>,
    /// `[tos 0xNN]` (packetdrill's form): the whole IPv4 TOS octet, DSCP
    /// and ECN; checked on `>` lines, sent on `<` lines.
    pub tos: Option<u8>,
    /// IPv4 options (rtcp extension): `[lsrr A B ...]` / `[ssrr A B ...]`
    /// or `[ipopt HEX]`.
    pub ip_options: Option<IpOptions>,
}

/// IPv4 options on a segment line (rtcp extension; packetdrill has no
/// syntax for them on TCP lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpOptions {
    /// `[lsrr A B ...]` / `[ssrr A B ...]`: a source route through hops
    /// `A`, `B`, ... in the order the datagram travels. On a `<` line the
    /// datagram arrives with the route completed: the option records the
    /// hops and its pointer is past the end (RFC 791). On a `>` line our
    /// segment must be source-routed that way: sent to `A`, the option
    /// listing the remaining hops and then the peer, pointer at the first.
    Route {
        /// SSRR rather than LSRR.
        strict: bool,
        hops: Vec<std::net::Ipv4Addr>,
    },
    /// `[ipopt HEX]`: option bytes as they are (`<` lines only), zero
    /// padded to a multiple of four.
    Raw(Vec<u8>),
}

/// A system call line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    pub name: String,
    pub args: Vec<String>,
    /// Expected return value.
    pub ret: i64,
    /// Expected errno name when `ret == -1`.
    pub errno: Option<String>,
}

/// What an event does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Packet(Packet),
    Syscall(Syscall),
    /// A backquoted shell command (skipped).
    Shell(String),
    /// A `%{ ... }%` Python block.
    Python(String),
}

/// One timed event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 1-based line number in the file.
    pub line: usize,
    /// The line as written (trimmed).
    pub text: String,
    pub when: When,
    pub action: Action,
}

/// A parsed script.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// `--name=value` options at the top.
    pub options: Vec<(String, String)>,
    pub events: Vec<Event>,
}

/// A parse error with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// Remove `//` and `/* */` comments (tracking block comments across lines).
fn strip_comments(line: &str, in_block: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        if *in_block {
            match rest.find("*/") {
                Some(i) => {
                    rest = &rest[i + 2..];
                    *in_block = false;
                }
                None => return out,
            }
        }
        let slash = rest.find("//");
        let block = rest.find("/*");
        // Backquoted shell text may contain slashes: keep it whole.
        if rest.trim_start().contains('`') && slash.is_some() {
            let tick = rest.find('`').unwrap_or(0);
            let end = rest[tick + 1..].find('`').map(|e| tick + 1 + e);
            if let (Some(s), Some(e)) = (slash, end) {
                if s > tick && s < e {
                    out.push_str(&rest[..=e]);
                    rest = &rest[e + 1..];
                    continue;
                }
            }
        }
        match (slash, block) {
            (Some(s), b) if b.is_none_or(|b| s < b) => {
                out.push_str(&rest[..s]);
                return out;
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = &rest[b + 2..];
                *in_block = true;
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

fn parse_seconds(s: &str, line: usize) -> Result<i64, ParseError> {
    let v: f64 = s
        .trim()
        .parse()
        .or_else(|_| err(line, format!("bad time {s:?}")))?;
    Ok((v * 1_000_000.0).round() as i64)
}

fn parse_time(s: &str, line: usize) -> Result<Time, ParseError> {
    let s = s.trim();
    if s == "*" {
        return Ok(Time::Any);
    }
    if let Some(r) = s.strip_prefix('+') {
        return Ok(Time::Relative(parse_seconds(r, line)?));
    }
    Ok(Time::Absolute(parse_seconds(s, line)?))
}

/// Split `text` into the time prefix and the rest.
fn split_time(text: &str) -> (&str, &str) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        let dots = text[i..].starts_with("...");
        if c.is_ascii_digit() || c == '+' || c == '~' || c == '*' || c == ' ' || c == '\t' {
            i += 1;
        } else if c == '.' {
            // "..." between times, or a decimal point; a lone '.' followed by
            // a space is the ACK flag of a segment, not a time.
            if dots {
                i += 3;
            } else if text[i + 1..].starts_with(|ch: char| ch.is_ascii_digit()) {
                i += 1;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    (&text[..i], &text[i..])
}

fn parse_when(s: &str, line: usize) -> Result<When, ParseError> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return err(line, "missing time");
    }
    if let Some((a, b)) = s.split_once("...") {
        return Ok(When {
            start: parse_time(a, line)?,
            range_end: None,
            block_end: Some(parse_time(b, line)?),
        });
    }
    if let Some((a, b)) = s.split_once('~') {
        return Ok(When {
            start: parse_time(a, line)?,
            range_end: Some(parse_time(b, line)?),
            block_end: None,
        });
    }
    Ok(When {
        start: parse_time(&s, line)?,
        range_end: None,
        block_end: None,
    })
}

fn parse_u32(s: &str, line: usize) -> Result<u32, ParseError> {
    let s = s.trim();
    let v = if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse::<u64>().ok()
    };
    match v {
        Some(v) => Ok(v as u32),
        None => err(line, format!("bad number {s:?}")),
    }
}

/// Bytes written as hex digits, two per byte.
fn parse_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect()
}

fn parse_options(s: &str, line: usize) -> Result<Option<Vec<ScriptOption>>, ParseError> {
    let s = s.trim();
    if s == "..." {
        return Ok(None);
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["nop"] => out.push(ScriptOption::Nop),
            ["eol"] => out.push(ScriptOption::Eol),
            ["sackOK"] => out.push(ScriptOption::SackOk),
            ["mss", n] => out.push(ScriptOption::Mss(parse_u32(n, line)? as u16)),
            ["wscale", n] => out.push(ScriptOption::WScale(parse_u32(n, line)? as u8)),
            ["TS", "val", v, "ecr", e] => out.push(ScriptOption::Timestamp {
                val: parse_u32(v, line)?,
                ecr: parse_u32(e, line)?,
            }),
            ["sack", blocks @ ..] => {
                let mut v = Vec::new();
                for b in blocks {
                    let Some((l, r)) = b.split_once(':') else {
                        return err(line, format!("bad SACK block {b:?}"));
                    };
                    v.push((parse_u32(l, line)?, parse_u32(r, line)?));
                }
                out.push(ScriptOption::Sack(v));
            }
            ["raw", hex] => match parse_hex(hex) {
                Some(b) if !b.is_empty() => out.push(ScriptOption::Raw(b)),
                _ => return err(line, format!("bad raw option bytes {hex:?}")),
            },
            _ => return err(line, format!("unsupported TCP option {:?}", part.trim())),
        }
    }
    Ok(Some(out))
}

fn flag_bits(text: &str, line: usize) -> Result<u8, ParseError> {
    let mut bits = 0u8;
    for c in text.chars() {
        bits |= match c {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            '.' => 0x10,
            'U' => 0x20,
            'E' => 0x40,
            'W' => 0x80,
            '-' => 0,
            _ => return err(line, format!("unknown TCP flag {c:?}")),
        };
    }
    Ok(bits)
}

fn parse_packet(body: &str, line: usize) -> Result<Packet, ParseError> {
    let inbound = body.starts_with('<');
    let mut rest = body[1..].trim();
    let mut ecn = None;
    let mut port = None;
    let mut bad_checksum = false;
    let mut tos = None;
    let mut ip_options = None;
    while let Some(r) = rest.strip_prefix('[') {
        let Some(end) = r.find(']') else {
            return err(line, "unterminated [ecn] annotation");
        };
        let name = r[..end].trim();
        if let Some(n) = name.strip_prefix("port") {
            match n.trim().parse::<u16>() {
                Ok(n) if n != 0 => port = Some(n),
                _ => return err(line, format!("bad port annotation [{name}]")),
            }
        } else if name == "badcsum" {
            bad_checksum = true;
        } else if matches!(name, "noecn" | "ect0" | "ect1" | "ce" | "ect01") {
            ecn = Some(name.to_string());
        } else if let Some(v) = name.strip_prefix("tos ") {
            match parse_u32(v, line) {
                Ok(v) if v < 256 => tos = Some(v as u8),
                _ => return err(line, format!("bad TOS annotation [{name}]")),
            }
        } else if let Some(hex) = name.strip_prefix("ipopt ") {
            match parse_hex(hex.trim()) {
                Some(b) if !b.is_empty() && b.len() <= 40 => ip_options = Some(IpOptions::Raw(b)),
                _ => return err(line, format!("bad IP option bytes [{name}]")),
            }
        } else if let Some((kind, hops)) = name
            .strip_prefix("lsrr ")
            .map(|h| (false, h))
            .or_else(|| name.strip_prefix("ssrr ").map(|h| (true, h)))
        {
            let hops: Option<Vec<std::net::Ipv4Addr>> =
                hops.split_whitespace().map(|a| a.parse().ok()).collect();
            match hops {
                Some(hops) if !hops.is_empty() && hops.len() <= 9 => {
                    ip_options = Some(IpOptions::Route { strict: kind, hops });
                }
                _ => return err(line, format!("bad source route [{name}]")),
            }
        } else {
            return err(line, format!("unknown IP annotation [{name}]"));
        }
        rest = r[end + 1..].trim();
    }
    let (main, options) = match rest.find('<') {
        Some(i) => {
            let close = rest.rfind('>').unwrap_or(rest.len());
            if close <= i {
                return err(line, "unterminated option list");
            }
            (&rest[..i], parse_options(&rest[i + 1..close], line)?)
        }
        None => (rest, Some(Vec::new())),
    };
    let words: Vec<&str> = main.split_whitespace().collect();
    let Some((&flags_text, mut rest)) = words.split_first() else {
        return err(line, "empty segment");
    };
    let flags = flag_bits(flags_text, line)?;
    let Some((&seqspec, tail)) = rest.split_first() else {
        return err(line, "missing sequence numbers");
    };
    rest = tail;
    // START:END(LEN)
    let (range, len) = match seqspec.split_once('(') {
        Some((r, l)) => (r, parse_u32(l.trim_end_matches(')'), line)?),
        None => return err(line, format!("bad sequence spec {seqspec:?}")),
    };
    let Some((start, end)) = range.split_once(':') else {
        return err(line, format!("bad sequence spec {seqspec:?}"));
    };
    let seq = parse_u32(start, line)?;
    let end = parse_u32(end, line)?;
    if end.wrapping_sub(seq) != len {
        return err(line, format!("{seqspec}: END - START != LEN"));
    }
    let mut ack = None;
    let mut win = None;
    let mut urg = None;
    while let Some((&k, tail)) = rest.split_first() {
        let Some((&v, tail)) = tail.split_first() else {
            return err(line, format!("{k} without a value"));
        };
        match k {
            "ack" => ack = Some(parse_u32(v, line)?),
            "win" => win = Some(parse_u32(v, line)?),
            "urg" => urg = Some(parse_u32(v, line)? as u16),
            _ => return err(line, format!("unsupported segment field {k:?}")),
        }
        rest = tail;
    }
    Ok(Packet {
        inbound,
        flags_text: flags_text.to_string(),
        flags,
        seq,
        len,
        ack,
        win,
        options,
        ecn,
        port,
        bad_checksum,
        urg,
        tos,
        ip_options,
    })
}

/// Split on commas that are not inside brackets or parentheses.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() || !out.is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn parse_syscall(body: &str, line: usize) -> Result<Syscall, ParseError> {
    let Some(open) = body.find('(') else {
        return err(line, format!("cannot parse {body:?}"));
    };
    let name = body[..open].trim().to_string();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return err(line, format!("cannot parse {body:?}"));
    }
    // Matching close paren.
    let mut depth = 0;
    let mut close = None;
    for (i, c) in body[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return err(line, "unbalanced parentheses");
    };
    let args = split_args(&body[open + 1..close]);
    let rest = body[close + 1..].trim();
    let Some(rest) = rest.strip_prefix('=') else {
        return err(line, "missing '= result'");
    };
    let mut words = rest.split_whitespace();
    let retw = words.next().unwrap_or("");
    let ret = if let Some(h) = retw.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else {
        retw.parse::<i64>().ok()
    };
    let Some(ret) = ret else {
        return err(line, format!("bad return value {retw:?}"));
    };
    let errno = if ret == -1 {
        words.next().map(|w| w.to_string())
    } else {
        None
    };
    Ok(Syscall {
        name,
        args,
        ret,
        errno,
    })
}

/// Parse a whole script. `#ifdef NAME` / `#ifndef NAME` / `#else` /
/// `#endif` (the suite is run through cpp) keep the lines of the branch
/// that `defines` selects.
pub fn parse(text: &str, defines: &[&str]) -> Result<Script, ParseError> {
    let mut script = Script::default();
    let mut in_block = false;
    // One entry per open #if: (this branch active, parent active).
    let mut cond: Vec<(bool, bool)> = Vec::new();
    let mut python: Option<(usize, String, When, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if let Some((start, mut acc, when, full)) = python.take() {
            acc.push('\n');
            acc.push_str(raw);
            if let Some(end) = acc.find("}%") {
                let code = acc[..end].to_string();
                script.events.push(Event {
                    line: start,
                    text: full,
                    when,
                    action: Action::Python(code),
                });
            } else {
                python = Some((start, acc, when, full));
            }
            continue;
        }
        let stripped = strip_comments(raw, &mut in_block);
        let t = stripped.trim();
        if t.is_empty() {
            continue;
        }
        let active = cond.last().is_none_or(|&(a, p)| a && p);
        if let Some(directive) = t.strip_prefix('#') {
            let mut words = directive.split_whitespace();
            match (words.next(), words.next()) {
                (Some("ifdef"), Some(name)) => cond.push((defines.contains(&name), active)),
                (Some("ifndef"), Some(name)) => cond.push((!defines.contains(&name), active)),
                (Some("else"), _) => match cond.last_mut() {
                    Some(c) => c.0 = !c.0,
                    None => return err(line, "#else without #if"),
                },
                (Some("endif"), _) => {
                    if cond.pop().is_none() {
                        return err(line, "#endif without #if");
                    }
                }
                _ => return err(line, format!("unsupported directive {t:?}")),
            }
            continue;
        }
        if !active {
            continue;
        }
        if let Some(opt) = t.strip_prefix("--") {
            let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
            script
                .options
                .push((k.trim().to_string(), v.trim().to_string()));
            continue;
        }
        let (time, body) = split_time(t);
        let body = body.trim();
        let when = parse_when(time, line)?;
        let action = if body.starts_with('<') || body.starts_with('>') {
            Action::Packet(parse_packet(body, line)?)
        } else if let Some(cmd) = body.strip_prefix('`') {
            Action::Shell(cmd.trim_end_matches('`').to_string())
        } else if let Some(code) = body.strip_prefix("%{") {
            if let Some(end) = code.find("}%") {
                Action::Python(code[..end].to_string())
            } else {
                python = Some((line, code.to_string(), when, t.to_string()));
                continue;
            }
        } else {
            Action::Syscall(parse_syscall(body, line)?)
        };
        script.events.push(Event {
            line,
            text: t.to_string(),
            when,
            action,
        });
    }
    if let Some((start, ..)) = python {
        return err(start, "unterminated %{ block");
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_lines() {
        let s = parse(
            "--tolerance_usecs=50000\n\
             // comment\n\
             +0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
             0.1 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>\n\
             +0.10 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>\n\
             +0.00 >  . 1:1(0) ack 1 // trailing\n\
             * > S 0:0(0) win 65535 <...>\n\
             +0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n\
             0...0.2 accept(3, ..., ...) = 4\n\
             +0.00 %{ assert tcpi_state == TCPI_CLOSING }%\n\
             +0.00 `sysctl -w a.b=1`\n\
             #ifdef STANDARD\n\
             +0 close(3) = 0\n\
             #else\n\
             +0 close(4) = 0\n\
             #endif\n\
             +0 >[ect0] P. 1:11(10) ack 1\n",
            &["STANDARD"],
        )
        .unwrap();
        assert_eq!(s.options, vec![("tolerance_usecs".into(), "50000".into())]);
        let Action::Packet(p) = &s.events[1].action else {
            panic!()
        };
        assert!(!p.inbound);
        assert_eq!(p.flags, 0x02);
        assert_eq!(p.options.as_ref().unwrap().len(), 5);
        let Action::Packet(p) = &s.events[3].action else {
            panic!()
        };
        assert_eq!(p.flags, 0x10);
        assert_eq!(p.ack, Some(1));
        assert_eq!(s.events[4].when.start, Time::Any);
        let Action::Syscall(c) = &s.events[5].action else {
            panic!()
        };
        assert_eq!(c.ret, -1);
        assert_eq!(c.errno.as_deref(), Some("EINPROGRESS"));
        assert_eq!(s.events[6].when.block_end, Some(Time::Absolute(200_000)));
        assert!(matches!(s.events[7].action, Action::Python(_)));
        assert!(matches!(s.events[8].action, Action::Shell(_)));
        assert_eq!(s.events.len(), 11);
        let Action::Syscall(c) = &s.events[9].action else {
            panic!()
        };
        assert_eq!(c.args, vec!["3".to_string()]);
        let Action::Packet(p) = &s.events[10].action else {
            panic!()
        };
        assert_eq!(p.ecn.as_deref(), Some("ect0"));
        assert_eq!(p.port, None);
    }

    #[test]
    fn port_annotation() {
        let p = parse_packet("<[port 5001] S 0:0(0) win 100", 1).unwrap();
        assert_eq!(p.port, Some(5001));
        let p = parse_packet(">[ect0][port 7] . 1:1(0) ack 1", 1).unwrap();
        assert_eq!((p.port, p.ecn.as_deref()), (Some(7), Some("ect0")));
        assert!(parse_packet("<[port x] S 0:0(0) win 1", 1).is_err());
        assert!(parse_packet("<[port 0] S 0:0(0) win 1", 1).is_err());
        let p = parse_packet(">[tos 0xb8] . 1:1(0) ack 1", 1).unwrap();
        assert_eq!(p.tos, Some(0xb8));
        assert!(parse_packet(">[tos 0x100] . 1:1(0) ack 1", 1).is_err());
        let p = parse_packet("<[lsrr 10.1.0.1 10.2.0.1] S 0:0(0) win 1", 1).unwrap();
        assert_eq!(
            p.ip_options,
            Some(IpOptions::Route {
                strict: false,
                hops: vec!["10.1.0.1".parse().unwrap(), "10.2.0.1".parse().unwrap()]
            })
        );
        let p = parse_packet("<[ipopt 0101] S 0:0(0) win 1", 1).unwrap();
        assert_eq!(p.ip_options, Some(IpOptions::Raw(vec![1, 1])));
        assert!(parse_packet("<[ssrr] S 0:0(0) win 1", 1).is_err());
        assert!(parse_packet("<[ssrr 10.0.0.300] S 0:0(0) win 1", 1).is_err());
        assert!(parse_packet("<[ipopt 0] S 0:0(0) win 1", 1).is_err());
        let p = parse_packet("<[badcsum] S 0:0(0) win 1 <raw fe0401ab,mss 9>", 1).unwrap();
        assert!(p.bad_checksum);
        assert_eq!(
            p.options.unwrap().first(),
            Some(&ScriptOption::Raw(vec![0xfe, 4, 1, 0xab]))
        );
        assert!(parse_packet("<S 0:0(0) win 1 <raw f>", 1).is_err());
        assert!(parse_packet("<S 0:0(0) win 1 <raw zz>", 1).is_err());
    }
}

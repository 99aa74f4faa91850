//! A minimal pcap writer (classic libpcap format, microsecond timestamps,
//! LINKTYPE_ETHERNET), readable by Wireshark and tshark.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Frames are cut to this many bytes in the capture: tcpdump's default,
/// room for a TSO/GRO super-frame (64 KiB of IP packet plus Ethernet).
const SNAPLEN: u32 = 262_144;
const LINKTYPE_ETHERNET: u32 = 1;

/// Writes captured frames to a file.
#[derive(Debug)]
pub struct PcapWriter {
    out: BufWriter<File>,
    frames: u64,
}

impl PcapWriter {
    /// Create (truncate) `path` and write the file header.
    pub fn create(path: &Path) -> io::Result<PcapWriter> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?; // magic, microseconds
        out.write_all(&2u16.to_le_bytes())?; // version 2.4
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // thiszone
        out.write_all(&0u32.to_le_bytes())?; // sigfigs
        out.write_all(&SNAPLEN.to_le_bytes())?;
        out.write_all(&LINKTYPE_ETHERNET.to_le_bytes())?;
        Ok(PcapWriter { out, frames: 0 })
    }

    /// Append one frame, time-stamped now.
    pub fn write(&mut self, frame: &[u8]) -> io::Result<()> {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let orig = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let incl = orig.min(SNAPLEN);
        self.out.write_all(&(ts.as_secs() as u32).to_le_bytes())?;
        self.out.write_all(&ts.subsec_micros().to_le_bytes())?;
        self.out.write_all(&incl.to_le_bytes())?;
        self.out.write_all(&orig.to_le_bytes())?;
        self.out
            .write_all(frame.get(..incl as usize).unwrap_or(frame))?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Push buffered records to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for PcapWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_records() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("x.pcap");
        {
            let mut w = PcapWriter::create(&path)?;
            w.write(&[0xffu8; 60])?;
            w.write(&[1u8; 1514])?;
            assert_eq!(w.frames(), 2);
        }
        let bytes = std::fs::read(&path)?;
        assert_eq!(bytes.len(), 24 + 16 + 60 + 16 + 1514);
        assert_eq!(bytes.get(..4), Some(&[0xd4, 0xc3, 0xb2, 0xa1][..]));
        assert_eq!(bytes.get(20..24), Some(&[1, 0, 0, 0][..]));
        Ok(())
    }
}

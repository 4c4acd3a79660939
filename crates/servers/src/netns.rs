//! A network namespace for the fault tests (`docs/src/faults.md`): a process run in it
//! ([`Netns::command`]) reaches this host only through a veth pair, whose packets the kernel
//! can drop ([`Netns::lose`], nftables). Made with `ip` (iproute2) and `nft` (Debian's
//! `nftables`); both need root. Deleted, with its veth pair and rules, when dropped.
//!
//! `tc netem` would also delay and stall packets, but kernels built without `sch_netem`
//! refuse it; delays and stalls are made by a [`crate::link::Link`] instead.

use crate::ServiceError;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A namespace joined to this host by a veth pair on a /30 of its own.
pub struct Netns {
    name: String,
    host: Ipv4Addr,
    inside: Ipv4Addr,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// Makes a namespace named after this process, with the host's end of its veth pair
    /// at [`Netns::host`] and its own at [`Netns::inside`].
    pub fn create() -> Result<Netns, ServiceError> {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        // A /30 in 10.64.0.0/10 from the pid and a counter: unlikely to meet another run's.
        let block = (pid.wrapping_mul(64) ^ n.wrapping_mul(0x9e37)) & 0x000f_ffff;
        let base = u32::from(Ipv4Addr::new(10, 64, 0, 0)) | (block << 2);
        let (host, inside) = (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2));
        let name = format!("cutover-{pid}-{n}");
        // Interface names are at most 15 bytes.
        let id = format!("{:x}", (pid << 8) ^ n);
        let (host_if, inside_if) = (format!("cvh{id}"), format!("cvn{id}"));
        let ns = Netns { name, host, inside };
        ip(&["netns", "add", &ns.name])?;
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &inside_if,
        ])?;
        ip(&["link", "set", &inside_if, "netns", &ns.name])?;
        ip(&["addr", "add", &format!("{host}/30"), "dev", &host_if])?;
        ip(&["link", "set", &host_if, "up"])?;
        ns.ip(&["addr", "add", &format!("{inside}/30"), "dev", &inside_if])?;
        ns.ip(&["link", "set", &inside_if, "up"])?;
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The host's address on the pair: what a process in the namespace connects to.
    pub fn host(&self) -> Ipv4Addr {
        self.host
    }

    /// The namespace's own address on the pair.
    pub fn inside(&self) -> Ipv4Addr {
        self.inside
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` in the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Drops `percent` of the packets to and from the host's `port`, each way, at random
    /// (nftables' `numgen random`), from now on.
    pub fn lose(&self, port: u16, percent: u32) -> Result<(), ServiceError> {
        let rules = format!(
            "table inet cutover_loss {{\n\
             chain out {{ type filter hook output priority 0; ip daddr {host} tcp dport {port} numgen random mod 100 < {percent} drop; }}\n\
             chain in {{ type filter hook input priority 0; ip saddr {host} tcp sport {port} numgen random mod 100 < {percent} drop; }}\n\
             }}\n",
            host = self.host
        );
        let dir = std::env::temp_dir().join(format!("{}.nft", self.name));
        std::fs::write(&dir, rules)
            .map_err(|e| ServiceError::new(format!("writing {}: {e}", dir.display())))?;
        let path = dir.to_string_lossy().into_owned();
        let done = run(
            Command::new("ip").args(["netns", "exec", &self.name, "nft", "-f", &path]),
            "nft (Debian's nftables; scripts/install-faults.sh installs it)",
        );
        let _ = std::fs::remove_file(&dir);
        done
    }

    fn ip(&self, args: &[&str]) -> Result<(), ServiceError> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // The namespace's end of the pair goes with it, and the host's end with its peer.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn ip(args: &[&str]) -> Result<(), ServiceError> {
    run(
        Command::new("ip").args(args),
        "ip (iproute2), as root, for a network namespace",
    )
}

fn run(command: &mut Command, what: &str) -> Result<(), ServiceError> {
    let shown = format!("{command:?}");
    match command.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(ServiceError::new(format!(
            "{shown} failed ({}): {}; the fault tests need {what}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
        Err(e) => Err(ServiceError::new(format!(
            "{shown} could not run: {e}; the fault tests need {what}"
        ))),
    }
}

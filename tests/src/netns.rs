//! Hosts on one machine in Linux network namespaces (`ip netns`), joined by veth pairs, with
//! nftables for NAT and filters: the networks a call crosses in real life, built by the test
//! and torn down when it is dropped. Nothing leaves these namespaces.
//!
//! [`Internet`] is a "public" namespace (the server and its relay on `203.0.113.1`) and, per
//! [`Site`], a private network `10.0.N.0/24` with one host (`10.0.N.2`) behind its own NAT
//! namespace, whose public address is `198.51.100.(4N+2)`:
//!
//! ```text
//!  host N (10.0.N.2) ── nat N (10.0.N.1 | 198.51.100.4N+2) ── public (198.51.100.4N+1, 203.0.113.1)
//! ```
//!
//! Names carry the process id and a counter, so tests run side by side. Building one needs
//! root (CAP_NET_ADMIN): where that is missing the test fails and says why — it never skips.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

/// The server's (and its relay's) address on the public network.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(tag: &str) -> String {
    format!(
        "sb{}-{}-{tag}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs a command to completion; a failure says what ran and what it printed.
fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(out)
}

/// One network namespace, deleted on drop (with every interface in it).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Result<Self> {
        let name = unique(tag);
        run(Command::new("ip").args(["netns", "add", &name])).context(
            "cannot create a network namespace (the network tests need root: \
             CAP_NET_ADMIN and CAP_SYS_ADMIN, and iproute2)",
        )?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A command to run inside the namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let out = run(self.command("ip").args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// An nftables script inside the namespace.
    pub fn nft(&self, script: &str) -> Result<()> {
        let path = std::env::temp_dir().join(format!("{}.nft", unique("rules")));
        std::fs::write(&path, script)?;
        let r = run(self.command("nft").arg("-f").arg(&path));
        let _ = std::fs::remove_file(&path);
        r.map(drop)
            .context("nftables (Debian: apt-get install nftables)")
    }

    pub fn sysctl(&self, setting: &str) -> Result<()> {
        run(self.command("sysctl").args(["-q", "-w", setting])).map(drop)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Whatever still runs inside is killed first, so that nothing outlives the test.
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            });
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// A veth pair between two namespaces: `a_if` in `a` with `a_addr`, `b_if` in `b` with
/// `b_addr` (CIDR notation), both up.
pub fn link(
    a: &Netns,
    a_if: &str,
    a_addr: &str,
    b: &Netns,
    b_if: &str,
    b_addr: &str,
) -> Result<()> {
    run(Command::new("ip").args([
        "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
        &b.name,
    ]))?;
    for (ns, iface, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
        ns.ip(&["addr", "add", addr, "dev", iface])?;
        ns.ip(&["link", "set", iface, "up"])?;
    }
    Ok(())
}

/// How a site's NAT maps its host's outgoing flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// Endpoint-independent mapping and filtering (RFC 4787): the host's address is mapped
    /// one to one, every port as it is, and what arrives for the public address goes to the
    /// host. A peer that learned the mapping from STUN reaches the host straight away.
    ///
    /// (Linux's `masquerade` keeps ports too, but a peer's packet that arrives before the
    /// host has sent to that peer leaves a conntrack entry that makes the host's own flow
    /// take another port: two of them punching holes at once often end on the relay. That
    /// is a fair picture of many home routers, and the relay is the right answer there; this
    /// variant shows the direct path when the NATs allow it.)
    EndpointIndependent,
    /// A new random public port for every destination (`masquerade fully-random`): what STUN
    /// saw is not what a peer sees, so only a relay connects two of these. The carrier-grade
    /// and strict corporate NAT.
    Symmetric,
}

/// A private network with one host behind a NAT.
pub struct Site {
    pub number: u8,
    pub host: Netns,
    pub nat: Netns,
}

impl Site {
    /// The host's own (private) address.
    pub fn host_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, self.number, 2)
    }

    /// The NAT's public address (what the server sees).
    pub fn public_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 51, 100, 4 * self.number + 2)
    }

    /// Drops every UDP datagram the host sends out (a firewall that passes only TCP).
    pub fn block_udp(&self) -> Result<()> {
        self.nat.nft(
            "table inet sb_block {\n chain forward {\n  type filter hook forward priority 0;\n  \
             iifname \"lan\" meta l4proto udp drop\n }\n}\n",
        )
    }
}

/// The public network with the server's host, and the sites around it.
pub struct Internet {
    pub public: Netns,
    pub sites: Vec<Site>,
}

impl Internet {
    pub fn new() -> Result<Self> {
        let public = Netns::new("pub")?;
        public.ip(&["addr", "add", &format!("{SERVER_IP}/32"), "dev", "lo"])?;
        public.sysctl("net.ipv4.ip_forward=1")?;
        // The rest of the internet: a default route out of a link that leads nowhere (a veth
        // pair whose far end takes nothing, a fixed neighbour so no ARP fails), where datagrams
        // to addresses nobody here has (a peer's private host candidate) vanish without an
        // error, as they do upstream of a real server. Without it the kernel answers
        // ENETUNREACH, and coturn closes an allocation whose relayed socket saw a send error.
        // (No `dummy` link: this kernel has no such module.)
        public.ip(&[
            "link", "add", "upstream", "type", "veth", "peer", "name", "void",
        ])?;
        public.ip(&["link", "set", "void", "up"])?;
        public.ip(&["link", "set", "upstream", "up"])?;
        public.ip(&["addr", "add", "192.0.2.1/30", "dev", "upstream"])?;
        public.ip(&[
            "neigh",
            "add",
            "192.0.2.2",
            "lladdr",
            "02:00:00:00:00:02",
            "nud",
            "permanent",
            "dev",
            "upstream",
        ])?;
        public.ip(&["route", "add", "default", "via", "192.0.2.2"])?;
        Ok(Self {
            public,
            sites: Vec::new(),
        })
    }

    /// Adds a site (host + NAT) and returns its index.
    pub fn site(&mut self, nat_kind: Nat) -> Result<usize> {
        let n = u8::try_from(self.sites.len() + 1)?;
        let host = Netns::new(&format!("h{n}"))?;
        let nat = Netns::new(&format!("n{n}"))?;
        let wan = Ipv4Addr::new(198, 51, 100, 4 * n + 2);
        let gw = Ipv4Addr::new(198, 51, 100, 4 * n + 1);
        link(
            &self.public,
            &format!("site{n}"),
            &format!("{gw}/30"),
            &nat,
            "wan",
            &format!("{wan}/30"),
        )?;
        link(
            &nat,
            "lan",
            &format!("10.0.{n}.1/24"),
            &host,
            "eth0",
            &format!("10.0.{n}.2/24"),
        )?;
        nat.ip(&["route", "add", "default", "via", &gw.to_string()])?;
        host.ip(&["route", "add", "default", "via", &format!("10.0.{n}.1")])?;
        nat.sysctl("net.ipv4.ip_forward=1")?;
        let host_ip = Ipv4Addr::new(10, 0, n, 2);
        nat.nft(&match nat_kind {
            Nat::EndpointIndependent => format!(
                "table ip sb_nat {{\n chain prerouting {{\n  type nat hook prerouting priority -100;\n  \
                 iifname \"wan\" ip daddr {wan} dnat to {host_ip}\n }}\n \
                 chain postrouting {{\n  type nat hook postrouting priority 100;\n  \
                 oifname \"wan\" ip saddr {host_ip} snat to {wan}\n }}\n}}\n"
            ),
            Nat::Symmetric => "table ip sb_nat {\n chain postrouting {\n  type nat hook postrouting priority 100;\n  \
                 oifname \"wan\" masquerade fully-random\n }\n}\n"
                .to_owned(),
        })?;
        self.sites.push(Site {
            number: n,
            host,
            nat,
        });
        Ok(self.sites.len() - 1)
    }

    /// Drops UDP between two sites' public addresses on the public network (a path between
    /// them that only a relay can take).
    pub fn block_udp_between(&self, a: usize, b: usize) -> Result<()> {
        let (a, b) = (self.sites[a].public_ip(), self.sites[b].public_ip());
        self.public.nft(&format!(
            "table inet sb_cut {{\n chain forward {{\n  type filter hook forward priority 0;\n  \
             ip saddr {a} ip daddr {b} meta l4proto udp drop\n  \
             ip saddr {b} ip daddr {a} meta l4proto udp drop\n }}\n}}\n"
        ))
    }
}

//! `IpNet`: one CIDR block of the trusted-proxy list.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::ConfigError;

/// A block of IP addresses in CIDR notation, such as `10.0.0.0/8` or `fd00::/8`.
///
/// A bare address (`192.0.2.7`, `::1`) is a block of one. IPv4-mapped IPv6 blocks
/// (`::ffff:10.0.0.0/104`) are folded to their IPv4 form, as client addresses are.
///
/// Parsing is strict: a block whose address has bits set beyond its prefix
/// (`10.0.0.1/8`) is an error that suggests the intended block, because a typo in a
/// trusted-proxy list silently trusts the wrong machines.
///
/// ```
/// use harden_core::ip::IpNet;
///
/// let net: IpNet = "10.0.0.0/8".parse()?;
/// assert!(net.contains("10.20.30.40".parse()?));
/// assert!(!net.contains("11.0.0.1".parse()?));
///
/// let err = "10.0.0.1/8".parse::<IpNet>().unwrap_err();
/// assert!(err.to_string().contains("`10.0.0.0/8`"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The block's network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside this block. IPv4-mapped IPv6 addresses are folded
    /// to IPv4 first.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, super::fold_mapped(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask_v4(self.prefix);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask_v6(self.prefix);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpNet {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &'static str| ConfigError::InvalidCidr {
            value: value.to_owned(),
            reason,
        };
        let (addr_part, prefix_part) = match value.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (value, None),
        };
        let addr: IpAddr = addr_part
            .parse()
            .map_err(|_| invalid("not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_part {
            None => max,
            Some(p) if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(invalid("the prefix length is not a number"));
            }
            Some(p) => p
                .parse::<u8>()
                .map_err(|_| invalid("the prefix length is not a number"))?,
        };
        if prefix > max {
            return Err(invalid(if max == 32 {
                "an IPv4 prefix length is at most 32"
            } else {
                "an IPv6 prefix length is at most 128"
            }));
        }
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let network = network_of(addr, prefix);
        if network != addr {
            return Err(ConfigError::HostBitsSet {
                value: value.to_owned(),
                network: IpNet {
                    addr: network,
                    prefix,
                }
                .to_string(),
            });
        }
        Ok(IpNet { addr, prefix })
    }
}

/// The network address of `addr` under a prefix of `prefix` bits.
pub(crate) fn network_of(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask_v4(prefix))),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask_v6(prefix))),
    }
}

fn mask_v4(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

fn mask_v6(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p if p >= 128 => u128::MAX,
        p => u128::MAX << (128 - u32::from(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_block_contains_only_its_addresses() {
        let n = net("192.168.0.0/16");
        assert!(n.contains(ip("192.168.255.1")));
        assert!(!n.contains(ip("192.169.0.1")));
        assert!(!n.contains(ip("::1")));
    }

    #[test]
    fn bare_address_is_a_block_of_one() {
        assert_eq!(net("10.1.2.3").prefix_len(), 32);
        assert!(net("10.1.2.3").contains(ip("10.1.2.3")));
        assert!(!net("10.1.2.3").contains(ip("10.1.2.4")));
        assert_eq!(net("::1").prefix_len(), 128);
    }

    #[test]
    fn zero_prefix_contains_the_whole_family() {
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn mapped_addresses_are_folded_on_both_sides() {
        let n = net("::ffff:10.0.0.0/104");
        assert_eq!(n, net("10.0.0.0/8"));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.9.9.9")));
    }

    #[test]
    fn host_bits_set_is_an_error_that_suggests_the_network() {
        let err = "10.0.0.1/8".parse::<IpNet>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`10.0.0.1/8`"), "{msg}");
        assert!(msg.contains("`10.0.0.0/8`"), "{msg}");
    }

    #[test]
    fn malformed_blocks_are_errors_quoting_the_value() {
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/08a",
            "::/129",
            "10.0.0/8",
            "010.0.0.0/8",
            "fe80::1%eth0/64",
            "example.com/8",
            "10.0.0.0/8/8",
            " 10.0.0.0/8",
        ] {
            let err = bad.parse::<IpNet>().unwrap_err();
            assert!(
                err.to_string().contains(&format!("`{bad}`")),
                "{bad}: {err}"
            );
        }
    }
}

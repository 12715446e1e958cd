//! The address policy of outgoing webhook requests (SSRF guard).
//!
//! A webhook URL is chosen by an integrator, so the server must never be
//! turned into a proxy towards its own network: every address a host
//! resolves to is checked *at connect time* (the delivery client resolves
//! through [`GuardedResolver`] and connects only to the vetted addresses),
//! so a DNS answer that changes between validation and delivery cannot slip
//! through. Refused: loopback, private (RFC 1918, IPv6 unique-local),
//! link-local (which holds the 169.254.169.254 cloud metadata service),
//! CGNAT (100.64.0.0/10, which holds Alibaba's metadata address), the
//! unspecified, broadcast, multicast, documentation, benchmarking and
//! reserved ranges, and any IPv6 form that embeds one of those IPv4
//! addresses (mapped, compatible, NAT64, 6to4).
//!
//! Loopback alone can be allowed (development and tests, `webhook_allow_loopback`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Loopback,
    Private,
    LinkLocal,
    SharedCgnat,
    Unspecified,
    Broadcast,
    Multicast,
    Reserved,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Loopback => "loopback",
            Refusal::Private => "private",
            Refusal::LinkLocal => "link-local (cloud metadata)",
            Refusal::SharedCgnat => "carrier-grade NAT",
            Refusal::Unspecified => "unspecified",
            Refusal::Broadcast => "broadcast",
            Refusal::Multicast => "multicast",
            Refusal::Reserved => "reserved",
        }
    }
}

/// Which destinations outgoing webhook requests may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Public addresses (the only ones a production server reaches).
    pub allow_public: bool,
    /// Loopback addresses (development and tests only).
    pub allow_loopback: bool,
}

impl AddressPolicy {
    /// Public addresses only.
    pub const PUBLIC: Self = Self { allow_public: true, allow_loopback: false };

    /// Why `ip` is refused, or `None` when it may be reached.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        match classify(ip) {
            None if self.allow_public => Ok(()),
            None => Err(Refusal::Reserved),
            Some(Refusal::Loopback) if self.allow_loopback => Ok(()),
            Some(refusal) => Err(refusal),
        }
    }
}

/// The class of a non-public address; `None` for a public unicast one.
pub fn classify(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refusal> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some(Refusal::Loopback)
    } else if ip.is_unspecified() || a == 0 {
        Some(Refusal::Unspecified)
    } else if ip.is_private() {
        Some(Refusal::Private)
    } else if ip.is_link_local() {
        Some(Refusal::LinkLocal)
    } else if a == 100 && (64..128).contains(&b) {
        Some(Refusal::SharedCgnat)
    } else if ip.is_broadcast() {
        Some(Refusal::Broadcast)
    } else if ip.is_multicast() {
        Some(Refusal::Multicast)
    } else if a >= 240 // 240.0.0.0/4, future use
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 192 && b == 88 && c == 99)
    // 6to4 relay anycast
    {
        Some(Refusal::Reserved)
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refusal> {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some(Refusal::Loopback)
    } else if ip.is_unspecified() {
        Some(Refusal::Unspecified)
    } else if ip.is_multicast() {
        Some(Refusal::Multicast)
    } else if first & 0xffc0 == 0xfe80 {
        Some(Refusal::LinkLocal)
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        // Unique local (fd00:ec2::254 is AWS's IPv6 metadata), deprecated site-local.
        Some(Refusal::Private)
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 || first == 0x0100 && ip.segments()[1..4] == [0, 0, 0] {
        // Documentation 2001:db8::/32, discard-only 100::/64.
        Some(Refusal::Reserved)
    } else if first & 0xe000 != 0x2000 {
        // Only 2000::/3 is global unicast.
        Some(Refusal::Reserved)
    } else {
        None
    }
}

/// The IPv4 address an IPv6 address carries: mapped (`::ffff:a.b.c.d`),
/// compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:ab:cd::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && s[5] == 0xffff {
        return Some(tail());
    }
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return Some(tail());
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

/// A DNS resolver for the delivery HTTP client that resolves with the
/// system resolver and returns only the addresses the policy allows; when
/// none is left, the connection fails before any packet reaches the host.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub policy: AddressPolicy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                found.into_iter().partition(|a| policy.check(a.ip()).is_ok());
            if allowed.is_empty() {
                let why = refused
                    .first()
                    .map(|a| format!("{} is {}", a.ip(), policy.check(a.ip()).err().map_or("refused", Refusal::as_str)))
                    .unwrap_or_else(|| "no address".into());
                let message = format!("refused by the webhook address policy: {host} resolves to no allowed address ({why})");
                return Err(Box::new(PolicyError(message)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl GuardedResolver {
    pub fn shared(policy: AddressPolicy) -> Arc<Self> {
        Arc::new(Self { policy })
    }
}

/// A destination refused by the policy.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_issue_addresses_are_refused_in_production() {
        let p = AddressPolicy::PUBLIC;
        for (addr, why) in [
            ("127.0.0.1", Refusal::Loopback),
            ("127.8.9.10", Refusal::Loopback),
            ("::1", Refusal::Loopback),
            ("169.254.169.254", Refusal::LinkLocal),
            ("10.0.0.1", Refusal::Private),
            ("100.64.0.1", Refusal::SharedCgnat),
            ("::ffff:127.0.0.1", Refusal::Loopback),
        ] {
            assert_eq!(p.check(ip(addr)), Err(why), "{addr}");
        }
    }

    #[test]
    fn other_internal_ranges_and_ipv6_disguises_are_refused() {
        let p = AddressPolicy::PUBLIC;
        for addr in [
            "0.0.0.0", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.127.255.255", "100.100.100.200",
            "255.255.255.255", "224.0.0.1", "240.0.0.1", "198.18.0.1", "192.0.2.1", "::", "fe80::1", "fc00::1",
            "fd00:ec2::254", "ff02::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
            "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2002:a00:1::1", "2001:db8::1",
        ] {
            assert!(p.check(ip(addr)).is_err(), "{addr} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        let p = AddressPolicy::PUBLIC;
        for addr in ["93.184.216.34", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"] {
            assert_eq!(p.check(ip(addr)), Ok(()), "{addr}");
        }
    }

    #[test]
    fn allowing_loopback_allows_only_loopback() {
        let dev = AddressPolicy { allow_public: true, allow_loopback: true };
        for addr in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(dev.check(ip(addr)), Ok(()), "{addr}");
        }
        for addr in ["10.0.0.1", "169.254.169.254", "100.64.0.1", "192.168.0.1", "fe80::1"] {
            assert!(dev.check(ip(addr)).is_err(), "{addr}");
        }
        let loopback_only = AddressPolicy { allow_public: false, allow_loopback: true };
        assert!(loopback_only.check(ip("1.1.1.1")).is_err());
        assert_eq!(loopback_only.check(ip("127.0.0.1")), Ok(()));
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_answers_without_connecting() {
        use reqwest::dns::Resolve;
        let guarded = GuardedResolver { policy: AddressPolicy::PUBLIC };
        let err = match guarded.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("address policy"), "{err}");
        let dev = GuardedResolver { policy: AddressPolicy { allow_public: true, allow_loopback: true } };
        let addrs: Vec<SocketAddr> = dev.resolve("localhost".parse().unwrap()).await.unwrap().collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}

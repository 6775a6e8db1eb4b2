//! Who is the client, and did it speak HTTPS? Answered from the peer address and,
//! only when the peer is a trusted proxy, from `X-Forwarded-For` /
//! `X-Forwarded-Proto` or RFC 7239 `Forwarded`.
//!
//! Forwarding headers are written by whoever sent the request, so they are read
//! only when the TCP peer lies inside a configured trusted-proxy block, and then
//! walked **from the right**: each trusted proxy appends the address it received
//! the request from, so the rightmost entry that is *not* a trusted proxy is the
//! first address no proxy of ours can vouch for beyond, the client. Everything
//! to the left of it was supplied by the client and is ignored. This is the rule
//! that tower_governor's `SmartIpKeyExtractor` (leftmost entry) gets wrong, and
//! that express's `trust proxy` implements.
//!
//! # Example
//!
//! ```
//! use harden_core::ip::{ClientIpLayer, ClientIp, PeerAddr, TrustedProxies};
//! use http::{Request, Response};
//! use std::convert::Infallible;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let proxies = TrustedProxies::new(["10.0.0.0/8"])?;
//! let svc = ClientIpLayer::new(proxies).layer(service_fn(|req: Request<()>| async move {
//!     let ip = req.extensions().get::<ClientIp>().map(|ip| ip.to_string());
//!     Ok::<_, Infallible>(Response::new(ip.unwrap_or_default()))
//! }));
//!
//! // The load balancer at 10.0.0.2 forwards a request whose client sent a forged entry.
//! let req = Request::builder()
//!     .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
//!     .extension(PeerAddr("10.0.0.2:51000".parse()?))
//!     .body(())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.body(), "203.0.113.9");
//! # Ok(())
//! # }
//! ```
//!
//! # Caveats
//!
//! - With no trusted proxies (the default) the peer address is the client. Behind
//!   a load balancer that means every client shares the balancer's address:
//!   configure its CIDR block.
//! - Configure the header your proxies actually maintain ([`ForwardedHeader`]). A
//!   header your proxy passes through untouched is entirely client-controlled.
//! - A malformed, `unknown` or obfuscated entry ends the walk: the client is then
//!   the hop that reported it, because nothing further left can be believed.

mod forwarded;
mod layer;
mod net;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{Extensions, HeaderMap, Uri, header};

pub use self::layer::{ClientIpLayer, ClientIpService};
pub use self::net::IpNet;
use crate::ConfigError;

/// The default IPv6 grouping for keys: a /56, what one subscriber commonly gets
/// (express-rate-limit 8 uses the same default).
pub const DEFAULT_IPV6_PREFIX: u8 = 56;

/// The peer address of the connection, for servers that are not axum.
///
/// Insert it into each request's extensions (hyper's `service_fn` closure knows
/// the remote address). With the `axum` feature, axum's
/// `ConnectInfo<SocketAddr>` is read as well, so nothing needs to be inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

/// Whether a request reached the service over `http` or `https`.
///
/// As a request extension it declares the scheme of the listener: a TLS acceptor
/// (or [`ClientIpLayer::listener_scheme`]) inserts `Scheme::Https`, and the
/// layers that need the scheme (HTTPS redirect, HSTS) read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Scheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// The scheme known without consulting forwarding headers: a `Scheme` request
    /// extension if present, else the scheme of an absolute request URI, else
    /// `http`.
    pub fn of(uri: &Uri, extensions: &Extensions) -> Scheme {
        if let Some(scheme) = extensions.get::<Scheme>() {
            return *scheme;
        }
        if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            Scheme::Https
        } else {
            Scheme::Http
        }
    }

    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Which forwarding header the trusted proxies maintain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` for the client and `X-Forwarded-Proto` for the scheme
    /// (nginx, HAProxy, AWS ALB, Fly, most load balancers). The rightmost
    /// `X-Forwarded-Proto` value is used, as proxies overwrite it.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded` (`for=` and `proto=` of the same element).
    Forwarded,
}

/// The client address of a request, with the key it is grouped under.
///
/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are folded to IPv4. For keys
/// (rate limits, audit grouping) IPv6 addresses are reduced to their network
/// under a prefix ([`DEFAULT_IPV6_PREFIX`] unless configured), because one
/// subscriber controls a whole /64 or more and could otherwise rotate addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp {
    addr: IpAddr,
    key: IpAddr,
}

impl ClientIp {
    /// A client address keyed with the default IPv6 prefix.
    pub fn new(addr: IpAddr) -> Self {
        Self::with_ipv6_prefix(addr, DEFAULT_IPV6_PREFIX)
    }

    fn with_ipv6_prefix(addr: IpAddr, prefix: u8) -> Self {
        let addr = fold_mapped(addr);
        let key = match addr {
            IpAddr::V4(_) => addr,
            IpAddr::V6(_) => net::network_of(addr, prefix),
        };
        ClientIp { addr, key }
    }

    /// The client's address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The address to key per-client state on: the IPv4 address itself, or the
    /// IPv6 network under the configured prefix.
    pub fn key(&self) -> IpAddr {
        self.key
    }
}

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.addr.fmt(f)
    }
}

/// The trusted-proxy policy: which peers may speak for the client, through
/// which header, and how IPv6 clients are grouped.
///
/// Cheap to clone (the block list is shared).
#[derive(Clone, Debug)]
pub struct TrustedProxies {
    nets: Arc<[IpNet]>,
    header: ForwardedHeader,
    ipv6_prefix: u8,
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::none()
    }
}

impl TrustedProxies {
    /// Trust no proxy: the client is the peer, and forwarding headers are ignored.
    pub fn none() -> Self {
        TrustedProxies {
            nets: Arc::from(Vec::new()),
            header: ForwardedHeader::default(),
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
        }
    }

    /// Trust the given CIDR blocks (`"10.0.0.0/8"`, `"fd00::/8"`, `"192.0.2.7"`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidCidr`] or [`ConfigError::HostBitsSet`] quoting the
    /// first bad block.
    pub fn new<I, S>(blocks: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nets = blocks
            .into_iter()
            .map(|b| b.as_ref().parse::<IpNet>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies {
            nets: Arc::from(nets),
            ..Self::none()
        })
    }

    /// Choose the forwarding header the proxies maintain (default
    /// [`ForwardedHeader::XForwardedFor`]).
    #[must_use]
    pub fn header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// Group IPv6 clients by this prefix length for keys (default 56).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Ipv6Prefix`] unless `bits` is within 32..=128: a shorter
    /// prefix would put unrelated networks into one bucket.
    pub fn ipv6_prefix(mut self, bits: u8) -> Result<Self, ConfigError> {
        if !(32..=128).contains(&bits) {
            return Err(ConfigError::Ipv6Prefix { value: bits });
        }
        self.ipv6_prefix = bits;
        Ok(self)
    }

    /// The configured blocks.
    pub fn blocks(&self) -> &[IpNet] {
        &self.nets
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = fold_mapped(ip);
        self.nets.iter().any(|net| net.contains(ip))
    }

    /// The client of a request that arrived from `peer` with these headers.
    ///
    /// This is the pure core of the resolution; [`client_ip`](Self::client_ip)
    /// reads the peer from the request extensions.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> ClientIp {
        let addr = if self.is_trusted(peer) {
            match self.header {
                ForwardedHeader::XForwardedFor => self.walk_x_forwarded_for(peer, headers),
                ForwardedHeader::Forwarded => self.walk_forwarded(peer, headers).0,
            }
        } else {
            peer
        };
        ClientIp::with_ipv6_prefix(addr, self.ipv6_prefix)
    }

    /// The client of a request, or `None` when the peer address is unknown (no
    /// [`PeerAddr`] and, with the `axum` feature, no `ConnectInfo`).
    pub fn client_ip(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<ClientIp> {
        peer_ip(extensions).map(|peer| self.resolve(peer, headers))
    }

    /// The scheme the client used, as reported by a trusted proxy. `None` when
    /// `peer` is not trusted or the header is absent or malformed.
    pub fn forwarded_scheme(&self, peer: IpAddr, headers: &HeaderMap) -> Option<Scheme> {
        if !self.is_trusted(peer) {
            return None;
        }
        match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_proto(headers),
            ForwardedHeader::Forwarded => self.walk_forwarded(peer, headers).1,
        }
    }

    /// [`resolve`](Self::resolve) and [`forwarded_scheme`](Self::forwarded_scheme)
    /// in one pass over the forwarding headers.
    pub(crate) fn resolve_with_scheme(
        &self,
        peer: IpAddr,
        headers: &HeaderMap,
    ) -> (ClientIp, Option<Scheme>) {
        let (addr, scheme) = if !self.is_trusted(peer) {
            (peer, None)
        } else {
            match self.header {
                ForwardedHeader::XForwardedFor => (
                    self.walk_x_forwarded_for(peer, headers),
                    x_forwarded_proto(headers),
                ),
                ForwardedHeader::Forwarded => self.walk_forwarded(peer, headers),
            }
        };
        (ClientIp::with_ipv6_prefix(addr, self.ipv6_prefix), scheme)
    }

    /// The scheme of a request: a trusted proxy's report if there is one, else
    /// [`Scheme::of`] (the listener's `Scheme` extension or the URI).
    pub fn scheme(&self, uri: &Uri, headers: &HeaderMap, extensions: &Extensions) -> Scheme {
        peer_ip(extensions)
            .and_then(|peer| self.forwarded_scheme(peer, headers))
            .unwrap_or_else(|| Scheme::of(uri, extensions))
    }

    fn walk_x_forwarded_for(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut current = peer;
        for value in headers.get_all(X_FORWARDED_FOR).iter().rev() {
            let Ok(value) = value.to_str() else {
                return current;
            };
            for entry in value.rsplit(',') {
                match forwarded::parse_forwarded_for_entry(entry) {
                    Some(ip) if !self.is_trusted(ip) => return ip,
                    Some(ip) => current = ip,
                    None => return current,
                }
            }
        }
        current
    }

    /// Walks `Forwarded` from the right; returns the client and the `proto` of
    /// the element it was found in.
    fn walk_forwarded(&self, peer: IpAddr, headers: &HeaderMap) -> (IpAddr, Option<Scheme>) {
        let mut current = (peer, None);
        for value in headers.get_all(header::FORWARDED).iter().rev() {
            let Ok(value) = value.to_str() else {
                return (current.0, None);
            };
            for element in forwarded::split_unquoted(value, b',').rev() {
                let parsed = forwarded::parse_forwarded_element(element);
                let Some((ip, proto)) = parsed
                    .and_then(|e| Some((forwarded::parse_forwarded_node(e.for_node?)?, e.proto)))
                else {
                    return (current.0, None);
                };
                if !self.is_trusted(ip) {
                    return (ip, proto);
                }
                current = (ip, proto);
            }
        }
        current
    }
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The rightmost `X-Forwarded-Proto` value: proxies overwrite it.
fn x_forwarded_proto(headers: &HeaderMap) -> Option<Scheme> {
    let last = headers.get_all(X_FORWARDED_PROTO).iter().next_back()?;
    let value = last.to_str().ok()?;
    let rightmost = value.rsplit(',').next()?;
    forwarded::parse_scheme(rightmost.trim_matches([' ', '\t']))
}

/// The peer address of a request: a [`PeerAddr`] extension or, with the `axum`
/// feature, axum's `ConnectInfo<SocketAddr>`.
pub fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
        return Some(addr.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        extensions.get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(addr.ip());
    }
    None
}

/// Folds an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to IPv4.
pub(crate) fn fold_mapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests;

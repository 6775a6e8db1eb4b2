//! `Key`: what a policy counts requests by.

use std::fmt;
use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::Arc;

use harden_core::Principal;
use harden_core::ip::{ClientIp, peer_ip};
use http::{Extensions, HeaderMap, HeaderName, Method, Request, Uri};

use crate::ConfigError;

/// The parts of a request a key may read.
#[derive(Clone, Copy, Debug)]
pub struct RequestRef<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestRef<'a> {
    /// A view of these request parts.
    pub fn new(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        extensions: &'a Extensions,
    ) -> Self {
        RequestRef {
            method,
            uri,
            headers,
            extensions,
        }
    }

    /// The method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The extensions ([`ClientIp`], [`Principal`], …).
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }

    /// The client address: the [`ClientIp`] that `ClientIpLayer` resolved, or
    /// else the peer address (trusting no proxy).
    pub fn client_ip(&self) -> Option<ClientIp> {
        self.extensions
            .get::<ClientIp>()
            .copied()
            .or_else(|| peer_ip(self.extensions).map(ClientIp::new))
    }
}

impl<'a, B> From<&'a Request<B>> for RequestRef<'a> {
    fn from(req: &'a Request<B>) -> Self {
        RequestRef::new(req.method(), req.uri(), req.headers(), req.extensions())
    }
}

type KeyFn = dyn Fn(&RequestRef<'_>) -> Option<String> + Send + Sync;

/// What a policy counts requests by: one quota per distinct key.
///
/// Keys combine with [`and`](Key::and): `Key::route().and(Key::client_ip())`
/// gives each client its own quota on each route. When a part is missing from
/// a request (no principal on an anonymous request, no such header), the
/// policy does not apply to that request.
///
/// Key material never leaves the process as written: it is hashed (SipHash
/// with a per-process random key in memory, SHA-256 under a namespace in
/// Redis).
#[derive(Clone)]
pub struct Key {
    parts: Arc<[Part]>,
}

#[derive(Clone)]
enum Part {
    Global,
    ClientIp,
    Header(HeaderName),
    Principal,
    Route,
    Method,
    Fn(Arc<KeyFn>),
}

impl Key {
    fn one(part: Part) -> Self {
        Key {
            parts: Arc::from(vec![part]),
        }
    }

    /// The client address, as resolved behind trusted proxies by
    /// [`ClientIpLayer`](harden_core::ip::ClientIpLayer): IPv4 addresses one by
    /// one, IPv6 grouped by network (a /56 unless configured), because one
    /// subscriber controls a whole network. Without `ClientIpLayer` the peer
    /// address is used and forwarding headers are ignored; with no peer address
    /// either, the policy does not apply.
    pub fn client_ip() -> Self {
        Self::one(Part::ClientIp)
    }

    /// The value of a request header, such as an API key; hashed before use,
    /// so no credential is kept. A request without the header is not counted by
    /// this policy: pair it with a per-IP policy.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HeaderName`] quoting a name that is not a valid field name.
    pub fn header(name: &str) -> Result<Self, ConfigError> {
        let name =
            HeaderName::try_from(name).map_err(|_| ConfigError::HeaderName(name.to_owned()))?;
        Ok(Self::one(Part::Header(name)))
    }

    /// The verified [`Principal`]'s issuer and subject, as set by
    /// authentication. Put this policy after the authentication layer;
    /// anonymous requests are not counted by it.
    pub fn principal() -> Self {
        Self::one(Part::Principal)
    }

    /// The route: with the `axum` feature, the matched route template
    /// (`/users/{id}`) when the layer runs after routing (`Router::route_layer`);
    /// otherwise the path normalised so that `/api/x`, `/api/x/`, `/API/x`,
    /// `/api/%78`, `//api/x`, `/api/./x` and `/api/x;jsessionid=1` are one key.
    pub fn route() -> Self {
        Self::one(Part::Route)
    }

    /// The request method.
    pub fn method() -> Self {
        Self::one(Part::Method)
    }

    /// One quota shared by every request.
    pub fn global() -> Self {
        Self::one(Part::Global)
    }

    /// A key computed by `f`; `None` means the policy does not apply. The
    /// string is hashed before use.
    pub fn from_fn<F>(f: F) -> Self
    where
        F: Fn(&RequestRef<'_>) -> Option<String> + Send + Sync + 'static,
    {
        Self::one(Part::Fn(Arc::new(f)))
    }

    /// This key combined with `other`: distinct when either differs.
    #[must_use]
    pub fn and(self, other: Key) -> Self {
        let parts: Vec<Part> = self
            .parts
            .iter()
            .chain(other.parts.iter())
            .cloned()
            .collect();
        Key {
            parts: Arc::from(parts),
        }
    }

    /// Feeds the key material of `req` to `h`; `false` when a part is missing.
    pub(crate) fn write(&self, req: &RequestRef<'_>, h: &mut dyn Hasher) -> bool {
        for part in self.parts.iter() {
            match part {
                Part::Global => h.write_u8(0),
                Part::ClientIp => {
                    let Some(ip) = req.client_ip() else {
                        return false;
                    };
                    h.write_u8(1);
                    match ip.key() {
                        IpAddr::V4(v4) => h.write(&v4.octets()),
                        IpAddr::V6(v6) => h.write(&v6.octets()),
                    }
                }
                Part::Header(name) => {
                    let Some(value) = req.headers.get(name) else {
                        return false;
                    };
                    h.write_u8(2);
                    write_str(h, name.as_str().as_bytes());
                    write_str(h, value.as_bytes());
                }
                Part::Principal => {
                    let Some(p) = req.extensions.get::<Principal>() else {
                        return false;
                    };
                    h.write_u8(3);
                    write_str(h, p.issuer().unwrap_or("").as_bytes());
                    write_str(h, p.subject().as_bytes());
                }
                Part::Route => {
                    h.write_u8(4);
                    write_route(req, h);
                }
                Part::Method => {
                    h.write_u8(5);
                    write_str(h, req.method.as_str().as_bytes());
                }
                Part::Fn(f) => {
                    let Some(s) = f(req) else {
                        return false;
                    };
                    h.write_u8(6);
                    write_str(h, s.as_bytes());
                }
            }
        }
        true
    }
}

fn write_str(h: &mut dyn Hasher, bytes: &[u8]) {
    h.write_usize(bytes.len());
    h.write(bytes);
}

fn write_route(req: &RequestRef<'_>, h: &mut dyn Hasher) {
    #[cfg(feature = "axum")]
    if let Some(matched) = req.extensions.get::<axum::extract::MatchedPath>() {
        h.write_u8(0);
        write_str(h, matched.as_str().as_bytes());
        return;
    }
    h.write_u8(1);
    write_str(h, normalize_path(req.uri.path()).as_bytes());
}

/// The path as a rate-limit key: matrix parameters (`;jsessionid=…`) dropped,
/// percent-escapes decoded (undecodable ones kept upper-cased), ASCII
/// lower-cased, empty and `.` segments removed, `..` applied, no trailing
/// slash.
///
/// ```
/// use harden_ratelimit::normalize_path;
///
/// for p in ["/api/x", "/api/x/", "/API/x", "/api/%78", "//api/x", "/api/./x", "/api/y/../x", "/api/x;jsessionid=1"] {
///     assert_eq!(normalize_path(p), "/api/x", "{p}");
/// }
/// ```
pub fn normalize_path(path: &str) -> String {
    let mut segments: Vec<Vec<u8>> = Vec::new();
    for raw in path.split('/') {
        let raw = raw.split(';').next().unwrap_or("");
        let decoded = percent_decode_lower(raw.as_bytes());
        match decoded.as_slice() {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            _ => segments.push(decoded),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &segments {
        out.push('/');
        out.push_str(&String::from_utf8_lossy(s));
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn percent_decode_lower(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%'
            && let (Some(hi), Some(lo)) = (
                raw.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                raw.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            let byte = u8::try_from(hi * 16 + lo).unwrap_or(0);
            // A decoded `/` would merge or split segments: keep it escaped.
            if byte == b'/' {
                out.extend_from_slice(b"%2f");
            } else {
                out.push(byte.to_ascii_lowercase());
            }
            i += 3;
            continue;
        }
        out.push(b.to_ascii_lowercase());
        i += 1;
    }
    out
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for part in self.parts.iter() {
            match part {
                Part::Global => list.entry(&"global"),
                Part::ClientIp => list.entry(&"client_ip"),
                Part::Header(name) => list.entry(&format_args!("header({name})")),
                Part::Principal => list.entry(&"principal"),
                Part::Route => list.entry(&"route"),
                Part::Method => list.entry(&"method"),
                Part::Fn(_) => list.entry(&"fn"),
            };
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::DefaultHasher;

    use harden_core::ip::{PeerAddr, TrustedProxies};

    use super::*;

    fn hash(key: &Key, req: &Request<()>) -> Option<u64> {
        let mut h = DefaultHasher::new();
        key.write(&RequestRef::from(req), &mut h)
            .then(|| h.finish())
    }

    fn at(path: &str) -> Request<()> {
        Request::builder().uri(path).body(()).unwrap()
    }

    #[test]
    fn route_normalisation_variants_are_one_key() {
        let key = Key::route();
        let want = hash(&key, &at("/api/x"));
        for p in [
            "/api/x/",
            "/API/x",
            "/api/%78",
            "/api/%2578/../x",
            "//api/x",
            "/api/./x",
            "/api/x;jsessionid=ABC",
            "/api/X?q=1",
        ] {
            assert_eq!(hash(&key, &at(p)), want, "{p}");
        }
        assert_ne!(hash(&key, &at("/api/y")), want);
        assert_ne!(hash(&key, &at("/api%2fx")), hash(&key, &at("/api/x")));
    }

    #[test]
    fn missing_parts_mean_the_policy_does_not_apply() {
        let req = at("/");
        assert_eq!(hash(&Key::principal(), &req), None);
        assert_eq!(hash(&Key::client_ip(), &req), None);
        assert_eq!(hash(&Key::header("x-api-key").unwrap(), &req), None);
        assert!(hash(&Key::global(), &req).is_some());
        assert_eq!(hash(&Key::route().and(Key::principal()), &req), None);
    }

    #[test]
    fn client_ip_groups_ipv6_and_falls_back_to_the_peer() {
        let key = Key::client_ip();
        let mut a = at("/");
        a.extensions_mut()
            .insert(PeerAddr("[2001:db8:1:2::1]:1".parse().unwrap()));
        let mut b = at("/");
        b.extensions_mut()
            .insert(PeerAddr("[2001:db8:1:2:ffff::9]:1".parse().unwrap()));
        assert_eq!(hash(&key, &a), hash(&key, &b));
        // Spoofed forwarding header from an untrusted peer is ignored.
        let proxies = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
        let mut c = Request::builder()
            .header("x-forwarded-for", "6.6.6.6")
            .body(())
            .unwrap();
        let client = proxies.resolve("192.0.2.1".parse().unwrap(), c.headers());
        c.extensions_mut().insert(client);
        let mut d = at("/");
        d.extensions_mut()
            .insert(PeerAddr("192.0.2.1:5".parse().unwrap()));
        assert_eq!(hash(&key, &c), hash(&key, &d));
    }

    #[test]
    fn combined_keys_differ_when_any_part_differs() {
        let key = Key::route().and(Key::header("x-api-key").unwrap());
        let r = |p: &str, k: &str| {
            Request::builder()
                .uri(p)
                .header("x-api-key", k)
                .body(())
                .unwrap()
        };
        assert_eq!(hash(&key, &r("/a", "k1")), hash(&key, &r("/a/", "k1")));
        assert_ne!(hash(&key, &r("/a", "k1")), hash(&key, &r("/a", "k2")));
        assert_ne!(hash(&key, &r("/a", "k1")), hash(&key, &r("/b", "k1")));
        let f = Key::from_fn(|r| r.uri().query().map(str::to_owned));
        assert_eq!(hash(&f, &at("/")), None);
        assert!(hash(&f, &at("/?t=1")).is_some());
        assert!(Key::header("bad header").is_err());
    }
}

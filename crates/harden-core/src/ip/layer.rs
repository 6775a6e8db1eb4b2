//! `ClientIpLayer`: resolve the client once, for every layer after it.

use std::task::{Context, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::{ClientIp, Scheme, TrustedProxies, peer_ip};

/// Resolves the client address and scheme of each request under a
/// [`TrustedProxies`] policy and inserts them as [`ClientIp`] and [`Scheme`]
/// request extensions.
///
/// Put it near the outside of the stack so rate limiting, audit and the HTTPS
/// redirect all see the same answer. A request whose peer address is unknown
/// gets no `ClientIp`; it still gets a `Scheme`.
#[derive(Clone, Debug)]
pub struct ClientIpLayer {
    proxies: TrustedProxies,
    listener_scheme: Option<Scheme>,
}

impl ClientIpLayer {
    /// Resolve under this trusted-proxy policy.
    pub fn new(proxies: TrustedProxies) -> Self {
        ClientIpLayer {
            proxies,
            listener_scheme: None,
        }
    }

    /// Declare the scheme of the listener this stack serves, e.g.
    /// `Scheme::Https` for a server that terminates TLS itself. A trusted
    /// proxy's report still takes precedence.
    #[must_use]
    pub fn listener_scheme(mut self, scheme: Scheme) -> Self {
        self.listener_scheme = Some(scheme);
        self
    }
}

impl<S> Layer<S> for ClientIpLayer {
    type Service = ClientIpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientIpService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service produced by [`ClientIpLayer`].
#[derive(Clone, Debug)]
pub struct ClientIpService<S> {
    inner: S,
    layer: ClientIpLayer,
}

impl<S, B> Service<Request<B>> for ClientIpService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(scheme) = self.layer.listener_scheme
            && req.extensions().get::<Scheme>().is_none()
        {
            req.extensions_mut().insert(scheme);
        }
        let (client, reported) = match peer_ip(req.extensions()) {
            Some(peer) => {
                let (client, scheme) = self.layer.proxies.resolve_with_scheme(peer, req.headers());
                (Some(client), scheme)
            }
            None => (None, None),
        };
        let scheme = reported.unwrap_or_else(|| Scheme::of(req.uri(), req.extensions()));
        let extensions = req.extensions_mut();
        if let Some(client) = client {
            extensions.insert::<ClientIp>(client);
        }
        extensions.insert(scheme);
        self.inner.call(req)
    }
}

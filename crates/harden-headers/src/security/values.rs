//! The typed values of the single-token security headers.

use http::HeaderValue;

macro_rules! header_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $value:literal $(| $alias:literal)?, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Deserialize))]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[cfg_attr(feature = "serde", serde(rename = $value $(, alias = $alias)?))]
                $variant,
            )*
        }

        impl $name {
            /// The header value as text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $value, )*
                }
            }

            /// The header value.
            pub const fn header_value(self) -> HeaderValue {
                HeaderValue::from_static(self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

header_enum! {
    /// `X-Frame-Options`: whether other sites may frame the page
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/X-Frame-Options)).
    /// CSP `frame-ancestors` supersedes it in current browsers; both are sent.
    pub enum FrameOptions {
        /// `DENY`: no framing at all (OWASP).
        Deny => "DENY" | "deny",
        /// `SAMEORIGIN`: only the page's own origin (helmet).
        SameOrigin => "SAMEORIGIN" | "sameorigin",
    }
}

header_enum! {
    /// `Referrer-Policy`: how much of the page's URL leaves with its requests
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Referrer-Policy)).
    pub enum ReferrerPolicy {
        /// `no-referrer`: nothing (helmet, OWASP).
        NoReferrer => "no-referrer",
        /// `no-referrer-when-downgrade`: the full URL except to `http:`.
        NoReferrerWhenDowngrade => "no-referrer-when-downgrade",
        /// `origin`: the origin only.
        Origin => "origin",
        /// `origin-when-cross-origin`: the full URL same-origin, the origin cross-origin.
        OriginWhenCrossOrigin => "origin-when-cross-origin",
        /// `same-origin`: the full URL same-origin, nothing cross-origin.
        SameOrigin => "same-origin",
        /// `strict-origin`: the origin, and nothing to `http:`.
        StrictOrigin => "strict-origin",
        /// `strict-origin-when-cross-origin`: browsers' default (the playbook's choice).
        StrictOriginWhenCrossOrigin => "strict-origin-when-cross-origin",
        /// `unsafe-url`: the full URL everywhere. Leaks paths and queries.
        UnsafeUrl => "unsafe-url",
    }
}

header_enum! {
    /// `Cross-Origin-Opener-Policy`: whether cross-origin windows opened by or
    /// opening the page share its browsing context group
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Cross-Origin-Opener-Policy)).
    pub enum CrossOriginOpenerPolicy {
        /// `same-origin`: isolated from every cross-origin window (helmet, OWASP).
        SameOrigin => "same-origin",
        /// `same-origin-allow-popups`: keeps references to popups it opens (OAuth flows).
        SameOriginAllowPopups => "same-origin-allow-popups",
        /// `noopener-allow-popups`: always opened without an opener.
        NoopenerAllowPopups => "noopener-allow-popups",
        /// `unsafe-none`: no isolation (the browser default).
        UnsafeNone => "unsafe-none",
    }
}

header_enum! {
    /// `Cross-Origin-Embedder-Policy`: whether the page may load cross-origin
    /// resources that did not opt in
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Cross-Origin-Embedder-Policy)).
    /// Not set by the presets: `require-corp` breaks third-party embeds (helmet
    /// turned it off in v7).
    pub enum CrossOriginEmbedderPolicy {
        /// `require-corp`: only resources with CORP or CORS (OWASP).
        RequireCorp => "require-corp",
        /// `credentialless`: cross-origin no-cors requests go without credentials.
        Credentialless => "credentialless",
        /// `unsafe-none`: the browser default.
        UnsafeNone => "unsafe-none",
    }
}

header_enum! {
    /// `Cross-Origin-Resource-Policy`: who may embed this response
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Cross-Origin-Resource-Policy)).
    pub enum CrossOriginResourcePolicy {
        /// `same-origin` (helmet, OWASP). Blocks images or fonts served to other origins.
        SameOrigin => "same-origin",
        /// `same-site`: any origin of the same site.
        SameSite => "same-site",
        /// `cross-origin`: anyone (public CDNs, embeddable assets).
        CrossOrigin => "cross-origin",
    }
}

//! Security headers, CORS and HTTPS enforcement as tower layers.
//!
//! (Crate overview and runnable example: written when the three modules land.)
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cors;
mod error;
pub mod hsts;
pub mod https;
pub mod security;

pub use self::error::ConfigError;

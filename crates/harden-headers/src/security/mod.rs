//! Work in progress: security headers.

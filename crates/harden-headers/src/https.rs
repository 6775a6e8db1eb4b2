//! Work in progress: HTTPS redirect.

//! Work in progress: CORS.

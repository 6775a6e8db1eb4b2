//! Verification keys, each bound to exactly one algorithm, and key sets.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::alg::{Algorithm, Family};
use crate::der::{self, Curve, PublicKey};
use crate::error::{ConfigError, KidLabel};

/// The longest `kid` accepted, in bytes.
pub const MAX_KID_LEN: usize = 256;

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A verification key bound to exactly one [`Algorithm`], with an optional
/// key id (`kid`).
///
/// Cloning is cheap (the key is shared). `Debug` shows the key id, the
/// algorithm and a fingerprint, never the key material.
///
/// ```
/// use harden_auth::{Algorithm, Key};
///
/// let key = Key::hmac(Algorithm::HS256, b"a secret of at least thirty-two bytes!!")?
///     .with_kid("k1")?;
/// assert_eq!(key.algorithm(), Algorithm::HS256);
/// assert_eq!(key.kid(), Some("k1"));
///
/// // A secret shorter than the hash output is refused (RFC 7518 §3.2).
/// assert!(Key::hmac(Algorithm::HS256, b"secret").is_err());
/// # Ok::<(), harden_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    kid: Option<String>,
    alg: Algorithm,
    decoding: DecodingKey,
    fingerprint: [u8; 32],
    retired: AtomicBool,
}

impl Key {
    /// An HMAC key. The secret must be at least as long as the hash output
    /// (32, 48 or 64 bytes); the error tells its length, never its contents.
    ///
    /// # Errors
    ///
    /// When `alg` is not HS256/384/512, or the secret is too short.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Key, ConfigError> {
        let Some(min) = alg.min_secret_len() else {
            return Err(invalid(None, format!("{alg} is not an HMAC algorithm")));
        };
        // A public key pasted where a secret belongs is the RS256→HS256
        // confusion (RFC 8725 §2.1): never an HMAC key.
        let trimmed = secret.trim_ascii_start();
        if trimmed.starts_with(b"-----BEGIN") || trimmed.starts_with(b"{") {
            return Err(invalid(
                None,
                format!(
                    "{alg} secret looks like a PEM or JWK document; configure public keys with Key::from_pem or Key::from_jwk"
                ),
            ));
        }
        if secret.len() < min {
            return Err(ConfigError::SecretTooShort {
                alg,
                len: secret.len(),
                min,
            });
        }
        let mut material = b"oct:".to_vec();
        material.extend_from_slice(secret);
        Ok(Key::build(
            None,
            alg,
            DecodingKey::from_secret(secret),
            &material,
        ))
    }

    /// A public key in PEM (`PUBLIC KEY`, or `RSA PUBLIC KEY` for PKCS#1),
    /// bound to `alg`.
    ///
    /// # Errors
    ///
    /// When the PEM is unreadable, holds a private key or a certificate, or
    /// the key does not suit `alg` (family, curve, RSA size under 2048 bits).
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Key, ConfigError> {
        let public = der::public_key_from_pem(pem).map_err(|reason| invalid(None, reason))?;
        Key::from_public(None, alg, public)
    }

    /// A public key in DER (SubjectPublicKeyInfo, or PKCS#1 `RSAPublicKey`),
    /// bound to `alg`.
    ///
    /// # Errors
    ///
    /// As [`Key::from_pem`].
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Key, ConfigError> {
        let public = der::public_key_from_der(der).map_err(|reason| invalid(None, reason))?;
        Key::from_public(None, alg, public)
    }

    /// A key from one JWK (RFC 7517). Its `alg` must be present, except for EC
    /// and OKP keys where the curve names it; `kid` is kept. Symmetric (`oct`)
    /// keys are accepted here, from your own configuration.
    ///
    /// # Errors
    ///
    /// When the JSON is not a JWK, or the key is not usable for verification
    /// (`use: enc`, `key_ops` without `verify`, private material, a `kty`
    /// that does not fit `alg`, a weak key).
    pub fn from_jwk(json: &str) -> Result<Key, ConfigError> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|e| ConfigError::Document {
            source_name: "inline".to_owned(),
            what: "JWK",
            reason: e.to_string(),
        })?;
        match jwk.into_key(JwkPolicy::LOCAL)? {
            Some(key) => Ok(key),
            None => Err(invalid(
                None,
                "the JWK is for encryption (`use: enc`)".to_owned(),
            )),
        }
    }

    /// Sets the key id tokens name this key by. At most 256 bytes; matched
    /// exactly, as an opaque string.
    ///
    /// # Errors
    ///
    /// When `kid` is empty or longer than 256 bytes.
    pub fn with_kid(self, kid: impl Into<String>) -> Result<Key, ConfigError> {
        let kid = kid.into();
        check_kid(&kid)?;
        let inner = &self.inner;
        Ok(Key {
            inner: Arc::new(KeyInner {
                kid: Some(kid),
                alg: inner.alg,
                decoding: inner.decoding.clone(),
                fingerprint: inner.fingerprint,
                retired: AtomicBool::new(false),
            }),
        })
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.alg
    }

    /// A SHA-256 fingerprint of the algorithm and key material, for logs:
    /// equal fingerprints mean the same key.
    pub fn fingerprint(&self) -> String {
        let mut out = String::with_capacity(16);
        for byte in self.inner.fingerprint.iter().take(8) {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.inner.decoding
    }

    /// Whether this key was dropped from its set by a refresh.
    pub(crate) fn is_retired(&self) -> bool {
        self.inner.retired.load(Ordering::Acquire)
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn retire(&self) {
        self.inner.retired.store(true, Ordering::Release);
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    fn same_material(&self, other: &Key) -> bool {
        self.inner.alg == other.inner.alg
            && self.inner.fingerprint == other.inner.fingerprint
            && self.inner.kid == other.inner.kid
    }

    fn build(kid: Option<String>, alg: Algorithm, decoding: DecodingKey, material: &[u8]) -> Key {
        let mut hashed = Vec::with_capacity(material.len() + 8);
        hashed.extend_from_slice(alg.as_str().as_bytes());
        hashed.push(0);
        hashed.extend_from_slice(material);
        Key {
            inner: Arc::new(KeyInner {
                kid,
                alg,
                decoding,
                fingerprint: sha256(&hashed),
                retired: AtomicBool::new(false),
            }),
        }
    }

    fn from_public(
        kid: Option<String>,
        alg: Algorithm,
        public: PublicKey,
    ) -> Result<Key, ConfigError> {
        let label = || KidLabel(kid.clone());
        let mismatch = |what: &str| ConfigError::InvalidKey {
            kid: label(),
            reason: format!("{what} cannot verify {alg}"),
        };
        let (decoding, material) = match (&public, alg.family()) {
            (PublicKey::Rsa { n, e }, Family::Rsa) => {
                let bits = der::bit_len(n);
                if bits < MIN_RSA_BITS {
                    return Err(ConfigError::InvalidKey {
                        kid: label(),
                        reason: format!(
                            "RSA modulus of {bits} bits; at least {MIN_RSA_BITS} are required"
                        ),
                    });
                }
                if e.len() > 8 || e.last().is_none_or(|b| b & 1 == 0) || der::bit_len(e) < 2 {
                    return Err(ConfigError::InvalidKey {
                        kid: label(),
                        reason: "RSA public exponent must be odd and at least 3".to_owned(),
                    });
                }
                let mut material = b"rsa:".to_vec();
                material.extend_from_slice(n);
                material.push(b':');
                material.extend_from_slice(e);
                (DecodingKey::from_rsa_raw_components(n, e), material)
            }
            (PublicKey::Ec { curve, point }, Family::Ec) => {
                let wanted = match alg {
                    Algorithm::ES384 => Curve::P384,
                    _ => Curve::P256,
                };
                if *curve != wanted {
                    return Err(ConfigError::InvalidKey {
                        kid: label(),
                        reason: format!(
                            "a {} key cannot verify {alg} (needs {})",
                            curve.name(),
                            wanted.name()
                        ),
                    });
                }
                let mut material = b"ec:".to_vec();
                material.extend_from_slice(point);
                (DecodingKey::from_ec_der(point), material)
            }
            (PublicKey::Ed25519(x), Family::Okp) => {
                let mut material = b"okp:".to_vec();
                material.extend_from_slice(x);
                (DecodingKey::from_ed_der(x), material)
            }
            (PublicKey::Rsa { .. }, _) => return Err(mismatch("an RSA key")),
            (PublicKey::Ec { .. }, _) => return Err(mismatch("an EC key")),
            (PublicKey::Ed25519(_), _) => return Err(mismatch("an Ed25519 key")),
        };
        Ok(Key::build(kid, alg, decoding, &material))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn invalid(kid: Option<&str>, reason: String) -> ConfigError {
    ConfigError::InvalidKey {
        kid: KidLabel(kid.map(str::to_owned)),
        reason,
    }
}

fn check_kid(kid: &str) -> Result<(), ConfigError> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err(ConfigError::Setting {
            setting: "kid",
            value: kid.chars().take(64).collect(),
            reason: "a key id is 1 to 256 bytes",
        });
    }
    Ok(())
}

/// A set of keys, looked up by `kid`.
///
/// ```
/// use harden_auth::KeySet;
///
/// let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed1",
///   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
/// let set = KeySet::from_jwks(jwks)?;
/// assert_eq!(set.len(), 1);
/// assert_eq!(set.get("ed1").unwrap().algorithm().as_str(), "EdDSA");
/// # Ok::<(), harden_auth::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<Box<str>, Key>,
    kidless: Vec<Key>,
    algorithms: BTreeSet<Algorithm>,
}

impl KeySet {
    /// A set of these keys.
    ///
    /// # Errors
    ///
    /// When two keys share a `kid`.
    pub fn new(keys: impl IntoIterator<Item = Key>) -> Result<KeySet, ConfigError> {
        let mut set = KeySet::default();
        for key in keys {
            set.insert(key)?;
        }
        Ok(set)
    }

    /// Parses a JWKS document (`{"keys": [...]}`) from your own
    /// configuration. Strict: every key must be usable for verification and
    /// valid, except `use: enc` keys, which are skipped.
    ///
    /// # Errors
    ///
    /// When the document or any key in it is invalid, kids repeat, or no
    /// signature key remains.
    pub fn from_jwks(json: &str) -> Result<KeySet, ConfigError> {
        KeySet::parse_jwks(json.as_bytes(), "inline", JwkPolicy::LOCAL).map(|(set, _)| set)
    }

    /// Loads a key file: a JWKS, a single JWK, or a PEM or DER public key.
    /// PEM and DER carry no algorithm, so `alg` must name it; for JWK files it
    /// must be `None` or agree with the keys.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or parsed, or its keys are invalid.
    pub fn load(path: impl AsRef<Path>, alg: Option<Algorithm>) -> Result<KeySet, ConfigError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| ConfigError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let text = std::str::from_utf8(&bytes).ok();
        let trimmed = text.map(str::trim_start);
        let set = if trimmed.is_some_and(|t| t.starts_with('{')) {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| ConfigError::Document {
                    source_name: shown.clone(),
                    what: "JWK or JWKS",
                    reason: e.to_string(),
                })?;
            if value.get("keys").is_some() {
                KeySet::parse_jwks(&bytes, &shown, JwkPolicy::LOCAL)?.0
            } else {
                let jwk: Jwk =
                    serde_json::from_value(value).map_err(|e| ConfigError::Document {
                        source_name: shown.clone(),
                        what: "JWK",
                        reason: e.to_string(),
                    })?;
                let key = jwk
                    .into_key(JwkPolicy::LOCAL)?
                    .ok_or_else(|| ConfigError::EmptyKeySet(shown.clone()))?;
                KeySet::new([key])?
            }
        } else {
            let alg = alg.ok_or_else(|| ConfigError::Setting {
                setting: "algorithm",
                value: shown.clone(),
                reason: "a PEM or DER key file needs its algorithm configured",
            })?;
            let key = match trimmed {
                Some(t) if t.starts_with("-----BEGIN") => Key::from_pem(alg, t)?,
                _ => Key::from_der(alg, &bytes)?,
            };
            KeySet::new([key])?
        };
        if let Some(alg) = alg
            && set.algorithms.iter().any(|a| *a != alg)
        {
            return Err(ConfigError::Setting {
                setting: "algorithm",
                value: alg.to_string(),
                reason: "the key file's keys are bound to another algorithm",
            });
        }
        Ok(set)
    }

    /// Parses a JWKS, keeping what `policy` allows. Returns the set and the
    /// keys skipped (kid label, reason), which only a lenient policy produces.
    pub(crate) fn parse_jwks(
        bytes: &[u8],
        source_name: &str,
        policy: JwkPolicy,
    ) -> Result<(KeySet, Vec<(KidLabel, String)>), ConfigError> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<serde_json::Value>,
        }
        let doc: Jwks = serde_json::from_slice(bytes).map_err(|e| ConfigError::Document {
            source_name: source_name.to_owned(),
            what: "JWKS",
            reason: e.to_string(),
        })?;
        if doc.keys.len() > policy.max_keys {
            return Err(ConfigError::Document {
                source_name: source_name.to_owned(),
                what: "JWKS",
                reason: format!(
                    "{} keys; at most {} are read",
                    doc.keys.len(),
                    policy.max_keys
                ),
            });
        }
        let mut keys = Vec::with_capacity(doc.keys.len());
        let mut skipped = Vec::new();
        for value in doc.keys {
            let label = KidLabel(value.get("kid").and_then(|k| k.as_str()).map(str::to_owned));
            let parsed = serde_json::from_value::<Jwk>(value)
                .map_err(|e| ConfigError::InvalidKey {
                    kid: label.clone(),
                    reason: e.to_string(),
                })
                .and_then(|jwk| jwk.into_key(policy));
            match parsed {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(err) if policy.lenient => skipped.push((label, err.to_string())),
                Err(err) => return Err(err),
            }
        }
        // Keys sharing a kid are ambiguous: strict sets refuse them, lenient
        // ones drop every key of that kid.
        let mut counts: HashMap<String, usize> = HashMap::new();
        for kid in keys.iter().filter_map(Key::kid) {
            *counts.entry(kid.to_owned()).or_default() += 1;
        }
        let mut set = KeySet::default();
        for key in keys {
            if let Some(kid) = key.kid()
                && counts.get(kid).is_some_and(|&n| n > 1)
            {
                if !policy.lenient {
                    return Err(ConfigError::DuplicateKid(kid.to_owned()));
                }
                skipped.push((
                    KidLabel(Some(kid.to_owned())),
                    "kid shared by several keys".to_owned(),
                ));
                continue;
            }
            set.insert(key)?;
        }
        if set.is_empty() {
            return Err(ConfigError::EmptyKeySet(source_name.to_owned()));
        }
        Ok((set, skipped))
    }

    fn insert(&mut self, key: Key) -> Result<(), ConfigError> {
        self.algorithms.insert(key.algorithm());
        match key.kid() {
            Some(kid) => {
                if self.by_kid.contains_key(kid) {
                    return Err(ConfigError::DuplicateKid(kid.to_owned()));
                }
                self.by_kid.insert(kid.into(), key);
            }
            None => self.kidless.push(key),
        }
        Ok(())
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.by_kid.get(kid)
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.by_kid.values().chain(self.kidless.iter())
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.by_kid.len() + self.kidless.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The algorithms the keys are bound to.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.algorithms.iter().copied()
    }

    /// The key that verifies a token with this header: the key named by `kid`
    /// (and bound to `alg`); else the only key configured without a `kid` and
    /// bound to `alg` (a PEM key verifies tokens whatever `kid` they carry);
    /// or, for a token without `kid`, the only key bound to `alg`. At most one
    /// signature check per token, never a loop over keys.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Option<&Key> {
        fn only<'a>(mut keys: impl Iterator<Item = &'a Key>) -> Option<&'a Key> {
            let first = keys.next()?;
            keys.next().is_none().then_some(first)
        }
        match kid {
            Some(kid) => match self.by_kid.get(kid) {
                Some(key) => (key.algorithm() == alg).then_some(key),
                None => only(self.kidless.iter().filter(|k| k.algorithm() == alg)),
            },
            None => only(self.keys().filter(|k| k.algorithm() == alg)),
        }
    }

    /// Replaces keys that did not change with their previous instance (so
    /// cached verifications stay valid) and retires keys no longer present.
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn carry_over(mut self, previous: &KeySet) -> KeySet {
        for key in self.by_kid.values_mut().chain(self.kidless.iter_mut()) {
            if let Some(old) = previous.keys().find(|old| old.same_material(key)) {
                *key = old.clone();
            }
        }
        for old in previous.keys() {
            if !self.keys().any(|new| Arc::ptr_eq(&new.inner, &old.inner)) {
                old.retire();
            }
        }
        self
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys()).finish()
    }
}

/// Which JWKs a source may contribute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JwkPolicy {
    /// Symmetric keys allowed (only from local configuration).
    pub(crate) allow_oct: bool,
    /// Skip invalid keys (with a reason) instead of refusing the document.
    pub(crate) lenient: bool,
    /// The algorithm of RSA keys without `alg`; `None` refuses such keys.
    pub(crate) rsa_default: Option<Algorithm>,
    /// The most keys one document may hold.
    pub(crate) max_keys: usize,
}

impl JwkPolicy {
    pub(crate) const LOCAL: JwkPolicy = JwkPolicy {
        allow_oct: true,
        lenient: false,
        rsa_default: None,
        max_keys: 100,
    };
}

/// One JWK, with exactly the members we read. Duplicate members are refused by
/// serde's derive.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
    d: Option<IgnoredAny>,
    p: Option<IgnoredAny>,
}

impl Jwk {
    /// The key, `None` for an encryption key, or why it cannot be used.
    fn into_key(self, policy: JwkPolicy) -> Result<Option<Key>, ConfigError> {
        let kid = self.kid.clone();
        let err = |reason: String| ConfigError::InvalidKey {
            kid: KidLabel(kid.clone()),
            reason,
        };
        if let Some(kid) = &self.kid {
            check_kid(kid)?;
        }
        match self.use_.as_deref() {
            None | Some("sig") => {}
            Some("enc") => return Ok(None),
            Some(other) => return Err(err(format!("unknown `use` `{}`", other.escape_debug()))),
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err(err("`key_ops` does not allow `verify`".to_owned()));
        }
        if self.d.is_some() || self.p.is_some() {
            return Err(err(
                "the JWK holds private key material; publish public keys only".to_owned(),
            ));
        }
        let alg = match &self.alg {
            Some(name) => Some(
                Algorithm::from_name(name)
                    .ok_or_else(|| err(format!("unsupported `alg` `{}`", name.escape_debug())))?,
            ),
            None => None,
        };
        let b64 = |field: &str, value: &Option<String>| -> Result<Vec<u8>, ConfigError> {
            let value = value
                .as_deref()
                .ok_or_else(|| err(format!("missing `{field}`")))?;
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|_| err(format!("`{field}` is not base64url")))
        };
        let (alg, public) = match self.kty.as_str() {
            "RSA" => {
                let alg = alg
                    .or(policy.rsa_default)
                    .ok_or_else(|| err("an RSA JWK needs `alg` (RS256, PS256, …)".to_owned()))?;
                let n = b64("n", &self.n)?;
                let e = b64("e", &self.e)?;
                (
                    alg,
                    PublicKey::Rsa {
                        n: der::trim_leading_zeros(&n).to_vec(),
                        e: der::trim_leading_zeros(&e).to_vec(),
                    },
                )
            }
            "EC" => {
                let curve = match self.crv.as_deref() {
                    Some("P-256") => Curve::P256,
                    Some("P-384") => Curve::P384,
                    other => {
                        return Err(err(format!(
                            "unsupported EC curve {:?} (P-256 and P-384 are)",
                            other.unwrap_or("(none)")
                        )));
                    }
                };
                let implied = if curve == Curve::P256 {
                    Algorithm::ES256
                } else {
                    Algorithm::ES384
                };
                let alg = alg.unwrap_or(implied);
                let x = b64("x", &self.x)?;
                let y = b64("y", &self.y)?;
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err(err(format!(
                        "{} coordinates are {len} bytes each",
                        curve.name()
                    )));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (alg, PublicKey::Ec { curve, point })
            }
            "OKP" => {
                if self.crv.as_deref() != Some("Ed25519") {
                    return Err(err("only the Ed25519 OKP curve is supported".to_owned()));
                }
                let x = b64("x", &self.x)?;
                if x.len() != 32 {
                    return Err(err("an Ed25519 key is 32 bytes".to_owned()));
                }
                (alg.unwrap_or(Algorithm::EdDSA), PublicKey::Ed25519(x))
            }
            "oct" => {
                if !policy.allow_oct {
                    return Err(err(
                        "symmetric (`oct`) keys are never taken from a remote key set".to_owned(),
                    ));
                }
                let alg =
                    alg.ok_or_else(|| err("an `oct` JWK needs `alg` (HS256, …)".to_owned()))?;
                let secret = b64("k", &self.k)?;
                let key = Key::hmac(alg, &secret).map_err(|e| match e {
                    ConfigError::InvalidKey { reason, .. } => err(reason),
                    ConfigError::SecretTooShort { alg, len, min } => err(format!(
                        "the {alg} secret is {len} bytes; {alg} needs at least {min}"
                    )),
                    other => other,
                })?;
                return Ok(Some(match kid {
                    Some(kid) => key.with_kid(kid)?,
                    None => key,
                }));
            }
            other => return Err(err(format!("unsupported `kty` `{}`", other.escape_debug()))),
        };
        Key::from_public(kid, alg, public).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_jwk(bits: usize, alg: &str, kid: &str) -> String {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0xc1;
        format!(
            r#"{{"kty":"RSA","alg":"{alg}","kid":"{kid}","n":"{}","e":"AQAB"}}"#,
            URL_SAFE_NO_PAD.encode(n)
        )
    }

    #[test]
    fn rsa_keys_under_2048_bits_are_refused() {
        for bits in [512, 1024, 2040] {
            let err = Key::from_jwk(&rsa_jwk(bits, "RS256", "small")).unwrap_err();
            assert!(err.to_string().contains(&format!("{bits} bits")), "{err}");
        }
        assert!(Key::from_jwk(&rsa_jwk(2048, "RS256", "ok")).is_ok());
    }

    #[test]
    fn kty_alg_and_curve_must_agree() {
        let p256 = r#"{"kty":"EC","crv":"P-256","alg":"ES384","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;
        let err = Key::from_jwk(p256).unwrap_err();
        assert!(err.to_string().contains("P-256"), "{err}");
        let rsa_as_es = rsa_jwk(2048, "ES256", "x");
        assert!(Key::from_jwk(&rsa_as_es).is_err());
        let rsa_as_hs = rsa_jwk(2048, "HS256", "x");
        assert!(Key::from_jwk(&rsa_as_hs).is_err());
    }

    #[test]
    fn unusable_jwks_are_refused_with_their_reason() {
        let cases = [
            (
                r#"{"kty":"RSA","alg":"RS256","use":"sig","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"}"#,
                "key_ops",
            ),
            (
                r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"AAAA"}"#,
                "private",
            ),
            (
                r#"{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
                "Ed25519",
            ),
            (
                r#"{"kty":"oct","alg":"HS256","k":"c2VjcmV0"}"#,
                "at least 32",
            ),
            (r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#, "needs `alg`"),
            (r#"{"kty":"XYZ"}"#, "kty"),
            (r#"{"kty":"RSA","kty":"EC"}"#, "duplicate"),
        ];
        for (jwk, expected) in cases {
            let err = Key::from_jwk(jwk).unwrap_err().to_string();
            assert!(err.contains(expected), "{jwk}: {err}");
        }
    }

    #[test]
    fn remote_policy_skips_bad_keys_drops_ambiguous_kids_and_refuses_oct() {
        let good = rsa_jwk(2048, "RS256", "good");
        let dup_a = rsa_jwk(2048, "RS256", "dup");
        let dup_b = rsa_jwk(3072, "RS256", "dup");
        let small = rsa_jwk(1024, "RS256", "small");
        let oct = r#"{"kty":"oct","alg":"HS256","kid":"hmac","k":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"}"#;
        let enc = r#"{"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"}"#;
        let doc = format!(r#"{{"keys":[{good},{dup_a},{dup_b},{small},{oct},{enc}]}}"#);
        let policy = JwkPolicy {
            allow_oct: false,
            lenient: true,
            rsa_default: Some(Algorithm::RS256),
            max_keys: 100,
        };
        let (set, skipped) = KeySet::parse_jwks(doc.as_bytes(), "test", policy).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.get("good").is_some());
        let reasons: Vec<String> = skipped.iter().map(|(k, r)| format!("{k}: {r}")).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("small") && r.contains("1024 bits"))
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("hmac") && r.contains("oct"))
        );
        assert_eq!(reasons.iter().filter(|r| r.contains("dup")).count(), 2);

        // The strict (local) policy refuses the same document.
        assert!(KeySet::parse_jwks(doc.as_bytes(), "test", JwkPolicy::LOCAL).is_err());
    }

    #[test]
    fn selection_binds_kid_to_one_algorithm_and_never_loops() {
        let a = Key::from_jwk(&rsa_jwk(2048, "RS256", "a")).unwrap();
        let b = Key::from_jwk(&rsa_jwk(2048, "PS256", "b")).unwrap();
        let set = KeySet::new([a, b]).unwrap();
        assert!(set.select(Some("a"), Algorithm::RS256).is_some());
        assert!(set.select(Some("a"), Algorithm::PS256).is_none());
        assert!(set.select(Some("nope"), Algorithm::RS256).is_none());
        // Without kid: only when exactly one key has the algorithm.
        assert_eq!(
            set.select(None, Algorithm::PS256).and_then(Key::kid),
            Some("b")
        );
        let c = Key::from_jwk(&rsa_jwk(2048, "PS256", "c")).unwrap();
        let set = KeySet::new(set.keys().cloned().chain([c])).unwrap();
        assert!(set.select(None, Algorithm::PS256).is_none());

        // A key configured without kid verifies tokens whatever their kid, but
        // never a kid that names another key.
        let pem_like = Key::from_jwk(&rsa_jwk(2048, "RS256", "x")).unwrap();
        let kidless = Key::build(None, Algorithm::RS256, pem_like.decoding().clone(), b"k");
        let named = Key::from_jwk(&rsa_jwk(2048, "PS256", "named")).unwrap();
        let set = KeySet::new([kidless, named]).unwrap();
        assert!(set.select(Some("idp-kid-7"), Algorithm::RS256).is_some());
        assert!(set.select(Some("named"), Algorithm::RS256).is_none());
        assert!(set.select(Some("idp-kid-7"), Algorithm::PS256).is_none());
    }

    #[test]
    fn carry_over_keeps_unchanged_keys_and_retires_removed_ones() {
        let a = Key::from_jwk(&rsa_jwk(2048, "RS256", "a")).unwrap();
        let b = Key::from_jwk(&rsa_jwk(3072, "RS256", "b")).unwrap();
        let old = KeySet::new([a.clone(), b.clone()]).unwrap();
        let a_again = Key::from_jwk(&rsa_jwk(2048, "RS256", "a")).unwrap();
        let new = KeySet::new([a_again]).unwrap().carry_over(&old);
        assert!(Arc::ptr_eq(&new.get("a").unwrap().inner, &a.inner));
        assert!(!a.is_retired());
        assert!(b.is_retired());
    }

    #[test]
    fn a_public_key_document_is_never_an_hmac_secret() {
        let pem = b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";
        let err = Key::hmac(Algorithm::HS256, pem).unwrap_err();
        assert!(err.to_string().contains("PEM or JWK"), "{err}");
        let jwk = br#"  {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}"#;
        assert!(Key::hmac(Algorithm::HS512, jwk).is_err());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let key = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("0123456789"), "{shown}");
        let err = Key::hmac(Algorithm::HS512, b"0123456789abcdef0123456789abcdef").unwrap_err();
        assert!(!err.to_string().contains("0123456789"), "{err}");
    }

    #[test]
    fn duplicate_kids_in_a_local_set_are_refused() {
        let a = Key::from_jwk(&rsa_jwk(2048, "RS256", "same")).unwrap();
        let b = Key::from_jwk(&rsa_jwk(3072, "RS256", "same")).unwrap();
        let err = KeySet::new([a, b]).unwrap_err();
        assert!(err.to_string().contains("`same`"), "{err}");
    }
}

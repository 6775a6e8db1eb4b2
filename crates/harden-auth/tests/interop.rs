//! Interoperability with an independent implementation: tokens minted at test
//! time by PyJWT + cryptography (`tests/interop/mint.py`), one per algorithm,
//! verified here with their public keys given as JWK and as PEM; tampered
//! variants (a payload byte, a signature byte, the header's `alg`) refused.
//!
//! Needs `python3` with `pip install 'pyjwt[crypto]'`. Without them the test
//! prints why and passes, except under `CI=true`, where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;

use std::path::Path;
use std::process::Command;

use harden_auth::{Algorithm, AuthError, Family, Issuer, JwtVerifier, Key, KeySet};
use serde_json::{Value, json};
use support::*;

/// A fixed "now" (2027-01-15), handed to the minting script.
const T0: i64 = 1_800_000_000;

/// Whether PyJWT and cryptography can be imported; the reason when not.
fn python_ready() -> Result<(), String> {
    match Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "python3 cannot import jwt and cryptography ({}); run `pip install 'pyjwt[crypto]'`",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("python3 not runnable: {e}")),
    }
}

/// The script's output, or `None` (after printing why) when Python is not
/// set up outside CI.
fn mint() -> Option<Value> {
    if let Err(reason) = python_ready() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("interop test cannot run under CI: {reason}");
        }
        eprintln!("skipped: {reason}");
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/mint.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([&T0.to_string(), ISS, AUD])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// A verifier of `ISS`/`AUD` with these keys, no cache (every call checks
/// everything), explicit typing `at+jwt`.
fn verifier_of(keys: Vec<Key>) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySet::new(keys).unwrap()),
        )
        .accept_typ(["at+jwt"])
        .cache_capacity(0)
        .build()
        .unwrap()
}

fn segments(token: &str) -> (String, String, String) {
    let mut parts = token.split('.').map(str::to_owned);
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

#[test]
fn pyjwt_tokens_verify_and_tampered_ones_do_not() {
    let Some(doc) = mint() else {
        return;
    };
    let tokens = doc["tokens"].as_array().unwrap();
    assert_eq!(
        tokens.len(),
        Algorithm::ALL.len(),
        "one token per algorithm"
    );
    println!("PyJWT {}", doc["pyjwt"]);

    // One verifier per key family, holding every PyJWT key of that family
    // (from its JWK), so a changed `alg` finds a key of its own.
    let (hmac, asymmetric): (Vec<&Value>, Vec<&Value>) = tokens
        .iter()
        .partition(|t| t["alg"].as_str().unwrap().starts_with("HS"));
    let from_jwks = |ts: &[&Value]| {
        verifier_of(
            ts.iter()
                .map(|t| Key::from_jwk(&t["jwk"].to_string()).unwrap())
                .collect(),
        )
    };
    let (hmac_verifier, asymmetric_verifier) = (from_jwks(&hmac), from_jwks(&asymmetric));

    for t in tokens {
        let alg: Algorithm = t["alg"].as_str().unwrap().parse().unwrap();
        let kid = t["kid"].as_str().unwrap();
        let token = t["token"].as_str().unwrap();
        let family_verifier = if alg.family() == Family::Hmac {
            &hmac_verifier
        } else {
            &asymmetric_verifier
        };

        // The key in every form the script gave it.
        let mut keys = vec![("JWK", Key::from_jwk(&t["jwk"].to_string()).unwrap())];
        for (form, member) in [("PEM", "pem"), ("PKCS#1 PEM", "pem_pkcs1")] {
            if let Some(pem) = t[member].as_str() {
                keys.push((
                    form,
                    Key::from_pem(alg, pem).unwrap().with_kid(kid).unwrap(),
                ));
            }
        }
        let mut verifiers: Vec<(String, JwtVerifier)> = keys
            .into_iter()
            .map(|(form, key)| (format!("{alg} from {form}"), verifier_of(vec![key])))
            .collect();
        verifiers.push((format!("{alg} among its family"), family_verifier.clone()));

        for (what, v) in &verifiers {
            let verified = v
                .verify_at(token, at(T0))
                .unwrap_or_else(|e| panic!("{what}: PyJWT's token refused: {e:?}"));
            let claims = &verified.claims;
            assert_eq!(
                claims.subject(),
                Some(format!("subject-{alg}").as_str()),
                "{what}"
            );
            assert_eq!(claims.issuer(), ISS);
            assert_eq!(claims.audience(), [AUD, "other"]);
            assert_eq!(claims.expires_at(), T0 + 600);
            assert_eq!(claims.not_before(), Some(T0 - 5));
            assert_eq!(claims.issued_at(), Some(T0));
            assert!(claims.has_scope("orders:write"), "{what}");
            assert_eq!(claims.jwt_id(), t["claims"]["jti"].as_str());
            assert!(verified.principal.has_scope("orders:read"));
        }

        let (h, p, s) = segments(token);
        let v = &verifiers[0].1;

        // A payload byte flipped (the subject's last letter), re-encoded.
        let mut payload = unb64(&p);
        let at_sub = payload.windows(4).position(|w| w == b"subj").unwrap();
        payload[at_sub + 8] ^= 0x01;
        let flipped = format!("{h}.{}.{s}", b64(&payload));
        assert_eq!(
            v.verify_at(&flipped, at(T0)).unwrap_err(),
            AuthError::Signature,
            "{alg} payload"
        );
        // A payload character changed in place.
        let mut chars = p.clone().into_bytes();
        chars[5] = if chars[5] == b'A' { b'B' } else { b'A' };
        let changed = format!("{h}.{}.{s}", String::from_utf8(chars).unwrap());
        assert!(v.verify_at(&changed, at(T0)).is_err(), "{alg} payload char");

        // A signature byte flipped, anywhere.
        let signature = unb64(&s);
        for index in [0, signature.len() / 2, signature.len() - 1] {
            let mut forged = signature.clone();
            forged[index] ^= 0x80;
            let token = format!("{h}.{p}.{}", b64(&forged));
            for (what, v) in &verifiers {
                assert_eq!(
                    v.verify_at(&token, at(T0)).unwrap_err(),
                    AuthError::Signature,
                    "{what}: signature byte {index}"
                );
            }
        }

        // `alg` changed in the header (signature kept, or re-made by nobody).
        let header: Value = serde_json::from_slice(&unb64(&h)).unwrap();
        let siblings: &[&str] = match alg.family() {
            Family::Hmac => &["HS256", "HS384", "HS512"],
            Family::Rsa => &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
            Family::Ec => &["ES256", "ES384"],
            Family::Okp => &["ES256"],
        };
        let others = ["none", "HS256", "RS256", "EdDSA", "ES256"];
        for &name in siblings.iter().chain(&others) {
            if name == alg.as_str() {
                continue;
            }
            let mut changed = header.clone();
            changed["alg"] = json!(name);
            let token = format!("{}.{p}.{s}", b64(changed.to_string()));
            let err = family_verifier.verify_at(&token, at(T0)).unwrap_err();
            // The verifier holds keys of every algorithm on its side of the
            // HMAC/asymmetric divide. The kid is bound to the original
            // algorithm: no key matches, or the algorithm is not the
            // verifier's at all.
            let is_hmac = |a: Algorithm| a.family() == Family::Hmac;
            let known = Algorithm::from_name(name).filter(|&other| is_hmac(other) == is_hmac(alg));
            let expected = if known.is_some() {
                AuthError::UnknownKey
            } else {
                AuthError::Algorithm
            };
            assert_eq!(err, expected, "{alg} → {name}");
            // Without a kid, the one key bound to the new algorithm is tried,
            // and the signature is not its.
            changed.as_object_mut().unwrap().remove("kid");
            let token = format!("{}.{p}.{s}", b64(changed.to_string()));
            let err = family_verifier.verify_at(&token, at(T0)).unwrap_err();
            let expected = if known.is_some() {
                AuthError::Signature
            } else {
                AuthError::Algorithm
            };
            assert_eq!(err, expected, "{alg} → {name}, no kid");
        }

        // The `typ` PyJWT wrote is checked (explicit typing is on here).
        let mut untyped = header.clone();
        untyped["typ"] = json!("JWT");
        let token = format!("{}.{p}.{s}", b64(untyped.to_string()));
        assert_eq!(
            v.verify_at(&token, at(T0)).unwrap_err(),
            AuthError::WrongType,
            "{alg} typ"
        );

        // And the clock: expired ten minutes plus the leeway later.
        assert_eq!(
            v.verify_at(token_of(t), at(T0 + 600 + 61)).unwrap_err(),
            AuthError::Expired,
            "{alg} expiry"
        );
    }
}

fn token_of(t: &Value) -> &str {
    t["token"].as_str().unwrap()
}

//! Just enough PEM and DER to read a public key: SubjectPublicKeyInfo
//! (RFC 5280) and PKCS#1 `RSAPublicKey` (RFC 8017). Reading the structure
//! ourselves lets us check what jsonwebtoken does not: the RSA modulus size and
//! that an EC key's curve matches the algorithm it is bound to.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A public key's material, as read from PEM, DER or a JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// Modulus and exponent, big-endian, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed point `04 || x || y` on `curve`.
    Ec { curve: Curve, point: Vec<u8> },
    /// A 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }
}

/// The number of significant bits of a big-endian unsigned integer.
pub(crate) fn bit_len(bytes: &[u8]) -> usize {
    let trimmed = trim_leading_zeros(bytes);
    match trimmed.first() {
        Some(&first) => (trimmed.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

pub(crate) fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Decodes the one PEM block in `text`. Returns the label and the DER bytes.
pub(crate) fn pem_decode(text: &str) -> Result<(String, Vec<u8>), String> {
    let begin = text
        .find("-----BEGIN ")
        .ok_or_else(|| "no `-----BEGIN` line".to_owned())?;
    let rest = text.get(begin + 11..).unwrap_or_default();
    let label_end = rest
        .find("-----")
        .ok_or_else(|| "unterminated BEGIN line".to_owned())?;
    let label = rest.get(..label_end).unwrap_or_default().to_owned();
    let body_and_end = rest.get(label_end + 5..).unwrap_or_default();
    let end_marker = format!("-----END {label}-----");
    let end = body_and_end
        .find(&end_marker)
        .ok_or_else(|| format!("no `{end_marker}` line"))?;
    if body_and_end
        .get(end + end_marker.len()..)
        .unwrap_or_default()
        .contains("-----BEGIN ")
    {
        return Err("more than one PEM block; give one key per file".to_owned());
    }
    let body: String = body_and_end
        .get(..end)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("PEM body is not base64: {e}"))?;
    Ok((label, der))
}

/// Reads a public key from PEM text (`PUBLIC KEY` or `RSA PUBLIC KEY`).
pub(crate) fn public_key_from_pem(text: &str) -> Result<PublicKey, String> {
    let (label, der) = pem_decode(text)?;
    match label.as_str() {
        "PUBLIC KEY" => parse_spki(&der),
        "RSA PUBLIC KEY" => parse_pkcs1(&der),
        l if l.contains("PRIVATE KEY") => Err(format!(
            "this is a private key (`{l}`); configure the public key only"
        )),
        "CERTIFICATE" => Err("certificates are not read; extract the public key \
             (`openssl x509 -pubkey -noout`)"
            .to_owned()),
        l => Err(format!("unsupported PEM label `{}`", l.escape_debug())),
    }
}

/// Reads a public key from DER: SubjectPublicKeyInfo, or PKCS#1 RSAPublicKey.
pub(crate) fn public_key_from_der(der: &[u8]) -> Result<PublicKey, String> {
    parse_spki(der).or_else(|spki_err| {
        parse_pkcs1(der)
            .map_err(|_| format!("not a SubjectPublicKeyInfo or PKCS#1 key: {spki_err}"))
    })
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;

fn parse_spki(der: &[u8]) -> Result<PublicKey, String> {
    let mut outer = Reader::new(der);
    let spki = outer.expect(SEQUENCE)?;
    outer.finish()?;
    let mut spki = Reader::new(spki);
    let mut alg = Reader::new(spki.expect(SEQUENCE)?);
    let bits = spki.expect(BIT_STRING)?;
    spki.finish()?;
    let (&unused, key) = bits
        .split_first()
        .ok_or_else(|| "empty BIT STRING".to_owned())?;
    if unused != 0 {
        return Err("BIT STRING with unused bits".to_owned());
    }
    let oid = alg.expect(OID)?;
    if oid == OID_RSA {
        parse_pkcs1(key)
    } else if oid == OID_EC {
        let curve = match alg.expect(OID)? {
            c if c == OID_P256 => Curve::P256,
            c if c == OID_P384 => Curve::P384,
            _ => return Err("unsupported elliptic curve (P-256 and P-384 are)".to_owned()),
        };
        alg.finish()?;
        let expected = 1 + 2 * curve.coordinate_len();
        if key.len() != expected || key.first() != Some(&0x04) {
            return Err(format!("not an uncompressed {} point", curve.name()));
        }
        Ok(PublicKey::Ec {
            curve,
            point: key.to_vec(),
        })
    } else if oid == OID_ED25519 {
        alg.finish()?;
        if key.len() != 32 {
            return Err("an Ed25519 key is 32 bytes".to_owned());
        }
        Ok(PublicKey::Ed25519(key.to_vec()))
    } else {
        Err("unsupported key algorithm (RSA, EC P-256/P-384 and Ed25519 are)".to_owned())
    }
}

fn parse_pkcs1(der: &[u8]) -> Result<PublicKey, String> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.expect(SEQUENCE)?);
    outer.finish()?;
    let n = seq.expect(INTEGER)?;
    let e = seq.expect(INTEGER)?;
    seq.finish()?;
    if n.first().is_some_and(|b| b & 0x80 != 0) || e.first().is_some_and(|b| b & 0x80 != 0) {
        return Err("negative RSA integer".to_owned());
    }
    Ok(PublicKey::Rsa {
        n: trim_leading_zeros(n).to_vec(),
        e: trim_leading_zeros(e).to_vec(),
    })
}

/// A DER reader over definite-length TLVs.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Reads one element with `tag` and returns its contents.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], String> {
        let (&found, rest) = self
            .rest
            .split_first()
            .ok_or_else(|| "truncated DER".to_owned())?;
        if found != tag {
            return Err(format!(
                "DER tag {found:#04x} where {tag:#04x} was expected"
            ));
        }
        let (&first, mut rest) = rest
            .split_first()
            .ok_or_else(|| "truncated DER length".to_owned())?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err("unsupported DER length".to_owned());
            }
            let (digits, after) = rest
                .split_at_checked(count)
                .ok_or_else(|| "truncated DER length".to_owned())?;
            rest = after;
            digits
                .iter()
                .fold(0usize, |acc, &d| (acc << 8) | usize::from(d))
        };
        let (contents, after) = rest
            .split_at_checked(len)
            .ok_or_else(|| "truncated DER contents".to_owned())?;
        self.rest = after;
        Ok(contents)
    }

    fn finish(&self) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err("trailing bytes after DER structure".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0, 1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[0, 0x7f, 0xff]), 15);
    }

    #[test]
    fn truncated_and_trailing_der_is_refused() {
        assert!(public_key_from_der(&[]).is_err());
        assert!(public_key_from_der(&[0x30, 0x05, 0x02]).is_err());
        assert!(public_key_from_der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        // SEQUENCE { INTEGER 5, INTEGER 3 } followed by a stray byte.
        assert!(
            public_key_from_der(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00]).is_err()
        );
        let ok = public_key_from_der(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03]).unwrap();
        assert!(matches!(ok, PublicKey::Rsa { n, e } if n == [5] && e == [3]));
    }

    #[test]
    fn private_keys_and_certificates_are_named() {
        let err =
            public_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .unwrap_err();
        assert!(err.contains("private key"), "{err}");
        let err =
            public_key_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(err.contains("certificates"), "{err}");
        assert!(public_key_from_pem("garbage").is_err());
    }
}

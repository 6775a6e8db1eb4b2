//! Small pieces of HTTP grammar that several layers check untrusted input
//! against.

/// Whether `b` is an RFC 9110 `tchar`: a letter, a digit or one of
/// ``!#$%&'*+-.^_`|~``
/// ([RFC 9110 §5.6.2](https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2)).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Whether `bytes` is an RFC 9110 `token`: one or more [`is_tchar`] bytes.
///
/// ```
/// use harden_core::syntax::is_token;
///
/// assert!(is_token(b"content-type"));
/// assert!(!is_token(b""));
/// assert!(!is_token(b"a b"));
/// assert!(!is_token(b"a,b"));
/// ```
pub fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().copied().all(is_tchar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_is_exactly_the_rfc_9110_set() {
        let allowed: Vec<u8> = (0u8..=255).filter(|b| is_tchar(*b)).collect();
        let mut expected: Vec<u8> = b"!#$%&'*+-.^_`|~".to_vec();
        expected.extend(b'0'..=b'9');
        expected.extend(b'A'..=b'Z');
        expected.extend(b'a'..=b'z');
        expected.sort_unstable();
        assert_eq!(allowed, expected);
    }
}

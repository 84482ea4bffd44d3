//! One SHA-256 per bearer token per call: its journal fingerprint and, in non-strict mode, the
//! user ID derived from it both come from the digest's first eight bytes, so the front end hashes
//! the token once (outside the state lock) and hands the result on in the call's `CallInfo`.

use std::cell::RefCell;

use sha2::{Digest, Sha256};

thread_local! {
    /// The last token this thread hashed, with its digest. A client sends the same token call
    /// after call, and one SHA-256 cost 3.6k of the 38k instructions a REST call took (callgrind)
    /// where this comparison costs a few dozen. Never shown: no `Debug`, no log, no admin view.
    static LAST: RefCell<Option<(Box<[u8]>, TokenDigest)>> = const { RefCell::new(None) };
}

/// The first eight bytes of a token's SHA-256, big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenDigest(u64);

impl TokenDigest {
    /// The digest of a token's bytes as sent (no UTF-8 check: a token that is not UTF-8 is
    /// refused later, but still has a fingerprint in the journal).
    pub(crate) fn of(token: &[u8]) -> Self {
        LAST.with_borrow_mut(|last| match last {
            Some((hashed, digest)) if **hashed == *token => *digest,
            _ => {
                let digest = Self::hash(token);
                *last = Some((token.into(), digest));
                digest
            }
        })
    }

    fn hash(token: &[u8]) -> Self {
        let digest = Sha256::digest(token);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Self(u64::from_be_bytes(first))
    }

    /// Sixteen lowercase hex digits: what the journal and the admin API show for a token.
    /// Written digit by digit: `format!("{:016x}")` cost 0.5k instructions a call (callgrind),
    /// the journal's largest share.
    pub(crate) fn fingerprint(self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 16];
        for (at, digit) in digits.iter_mut().enumerate() {
            *digit = HEX[((self.0 >> (60 - 4 * at)) & 0xf) as usize];
        }
        // Hex digits are ASCII, so this never falls back.
        String::from_utf8(digits.to_vec()).unwrap_or_default()
    }

    /// Eighteen decimal digits, the shape of ZITADEL's user IDs.
    pub(crate) fn user_id(self) -> String {
        (self.0 % 900_000_000_000_000_000 + 100_000_000_000_000_000).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_and_user_id_come_from_the_same_digest() {
        // SHA-256("abc") begins ba7816bf 8f01cfea.
        let digest = TokenDigest::of(b"abc");
        assert_eq!(digest.fingerprint(), "ba7816bf8f01cfea");
        for value in [0, 1, 0xf, 0x10, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(TokenDigest(value).fingerprint(), format!("{value:016x}"));
        }
        let expected =
            0xba78_16bf_8f01_cfea_u64 % 900_000_000_000_000_000 + 100_000_000_000_000_000;
        assert_eq!(digest.user_id(), expected.to_string());
        assert_eq!(digest.user_id().len(), 18);
    }

    #[test]
    fn the_remembered_digest_is_the_digest_of_the_token_asked_for() {
        for token in [
            &b"abc"[..],
            b"abc",
            b"abd",
            b"",
            b"abc",
            b"ab",
            b"abcd",
            b"\xff",
        ] {
            assert_eq!(
                TokenDigest::of(token),
                TokenDigest::hash(token),
                "{token:?}"
            );
        }
    }
}

//! One SHA-256 per bearer token per call: its journal fingerprint and, in non-strict mode, the
//! user ID derived from it both come from the digest's first eight bytes, so the front end hashes
//! the token once (outside the state lock) and hands the result on in the call's `CallInfo`.

use std::cell::RefCell;

use sha2::{Digest, Sha256};

thread_local! {
    /// The last token this thread hashed, with its digest. A client sends the same token call
    /// after call, and one SHA-256 cost 3.6k of the 38k instructions a REST call took (callgrind)
    /// where this comparison costs a few dozen. Never shown: no `Debug`, no log, no admin view.
    static LAST: RefCell<Option<(Box<str>, TokenDigest)>> = const { RefCell::new(None) };
}

/// The first eight bytes of a token's SHA-256, big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenDigest(u64);

impl TokenDigest {
    pub(crate) fn of(token: &str) -> Self {
        LAST.with_borrow_mut(|last| match last {
            Some((hashed, digest)) if **hashed == *token => *digest,
            _ => {
                let digest = Self::hash(token);
                *last = Some((token.into(), digest));
                digest
            }
        })
    }

    fn hash(token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Self(u64::from_be_bytes(first))
    }

    /// Sixteen lowercase hex digits: what the journal and the admin API show for a token.
    pub(crate) fn fingerprint(self) -> String {
        format!("{:016x}", self.0)
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
        let digest = TokenDigest::of("abc");
        assert_eq!(digest.fingerprint(), "ba7816bf8f01cfea");
        let expected =
            0xba78_16bf_8f01_cfea_u64 % 900_000_000_000_000_000 + 100_000_000_000_000_000;
        assert_eq!(digest.user_id(), expected.to_string());
        assert_eq!(digest.user_id().len(), 18);
    }

    #[test]
    fn the_remembered_digest_is_the_digest_of_the_token_asked_for() {
        for token in ["abc", "abc", "abd", "", "abc", "ab", "abcd"] {
            assert_eq!(
                TokenDigest::of(token),
                TokenDigest::hash(token),
                "{token:?}"
            );
        }
    }
}

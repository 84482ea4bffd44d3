//! Base64 as gRPC metadata uses it: standard alphabet, written with or without padding, read
//! either way (gRPC implementations differ, and a reader must take both).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Decodes with or without `=` padding.
const EITHER_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Standard base64 with padding.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64 without padding (as grpc-go writes `-bin` metadata).
pub fn b64_unpadded(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

/// Standard base64, padded or not.
pub fn b64_decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, base64::DecodeError> {
    EITHER_PADDING.decode(text)
}

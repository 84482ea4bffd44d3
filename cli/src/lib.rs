//! Command line: get a passkey link and its QR code from ZITADEL or the embedded mock

//! uniffi bindings of zitadel-passkey for Kotlin, Swift and Python

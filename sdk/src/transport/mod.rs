//! The wire formats, one module each, all behind [`Stub`](crate::Stub), and [`status`], the one
//! place that decides what a failed exchange means on any of them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::Error;

#[cfg(any(feature = "grpc", feature = "grpc-web"))]
pub(crate) mod grpc;
#[cfg(any(
    feature = "grpc",
    feature = "grpc-web",
    feature = "json",
    feature = "device-authorization"
))]
pub(crate) mod http_stack;
#[cfg(feature = "json")]
pub(crate) mod json;
pub(crate) mod status;

/// The largest response body any transport buffers (4 MiB).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// The `user-agent` the client sends.
pub(crate) const USER_AGENT: &str = concat!("zitadel-passkey-rust/", env!("CARGO_PKG_VERSION"));

/// Which wire format a [`Client`](crate::Client) speaks.
///
/// ```
/// use zitadel_passkey::Transport;
/// let t: Transport = "grpc-web".parse().unwrap();
/// assert_eq!(t, Transport::GrpcWeb);
/// assert_eq!(t.to_string(), "grpc-web");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// gRPC (`application/grpc`) over HTTP/2; h2c with prior knowledge for `http://`.
    Grpc,
    /// gRPC-web (`application/grpc-web+proto`) over HTTP/1.1, for proxies without HTTP/2.
    GrpcWeb,
    /// REST/JSON (`application/json`) over HTTP/1.1, through ZITADEL's gateway.
    Json,
}

impl Transport {
    /// The name: `"grpc"`, `"grpc-web"` or `"json"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::GrpcWeb => "grpc-web",
            Transport::Json => "json",
        }
    }

    /// Whether this build includes the transport (see the Cargo features).
    pub fn is_enabled(self) -> bool {
        match self {
            Transport::Grpc => cfg!(feature = "grpc"),
            Transport::GrpcWeb => cfg!(feature = "grpc-web"),
            Transport::Json => cfg!(feature = "json"),
        }
    }

    /// Every transport, enabled or not.
    pub const ALL: [Transport; 3] = [Transport::Grpc, Transport::GrpcWeb, Transport::Json];
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = Error;

    fn from_str(s: &str) -> Result<Transport, Error> {
        match s {
            "grpc" => Ok(Transport::Grpc),
            "grpc-web" => Ok(Transport::GrpcWeb),
            "json" => Ok(Transport::Json),
            other => Err(Error::config(format!(
                "unknown transport {other:?}: expected grpc, grpc-web or json"
            ))),
        }
    }
}

/// The headers of a call's metadata, the same on every transport: the token as `authorization`
/// (marked sensitive: hidden from `Debug`, never indexed by HPACK), `x-zitadel-orgid` and
/// `accept-language`. A value that cannot be a header is a configuration error, sent nowhere.
#[cfg(any(feature = "grpc", feature = "grpc-web", feature = "json"))]
pub(crate) fn metadata_headers(
    metadata: &crate::stub::CallMetadata,
) -> Result<http::HeaderMap, Error> {
    use http::HeaderValue;
    use http::header::{ACCEPT_LANGUAGE, AUTHORIZATION, HeaderName};
    // Named once: a name given as a `&str` is parsed again on every call.
    static X_ZITADEL_ORGID: HeaderName = HeaderName::from_static("x-zitadel-orgid");

    let mut headers = http::HeaderMap::new();
    if let Some(authorization) = metadata.authorization() {
        let mut value = HeaderValue::try_from(authorization)
            .map_err(|_| Error::config("the token contains characters not allowed in a header"))?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    if let Some(org_id) = &metadata.org_id {
        let value = HeaderValue::try_from(org_id.as_str())
            .map_err(|_| Error::config("the org ID contains characters not allowed in a header"))?;
        headers.insert(X_ZITADEL_ORGID.clone(), value);
    }
    if let Some(language) = &metadata.accept_language {
        let value = HeaderValue::try_from(language.as_str()).map_err(|_| {
            Error::config("the language contains characters not allowed in a header")
        })?;
        headers.insert(ACCEPT_LANGUAGE, value);
    }
    Ok(headers)
}

/// What a transport is built from.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) endpoint: url::Url,
    pub(crate) connect_timeout: Duration,
    pub(crate) tls: Arc<rustls::ClientConfig>,
}

/// Checks an endpoint URL: `https://`, or `http://` to a loopback host unless allowed.
pub(crate) fn parse_endpoint(endpoint: &str, allow_insecure_http: bool) -> Result<url::Url, Error> {
    let url = url::Url::parse(endpoint).map_err(|e| {
        // An endpoint with `user:password@` may hold a token: do not quote it.
        let shown = if endpoint.contains('@') {
            "(not shown: it has an @)".to_owned()
        } else {
            format!("{endpoint:?}")
        };
        Error::config(format!("invalid endpoint {shown}: {e}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config("the endpoint must not hold credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            "the endpoint must not have a query or fragment",
        ));
    }
    let host = url
        .host()
        .ok_or_else(|| Error::config(format!("the endpoint {endpoint:?} has no host")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_http || is_loopback(&host) => Ok(url),
        "http" => Err(Error::with_kind(
            crate::ErrorKind::Insecure,
            crate::Code::InvalidArgument,
            format!(
                "refusing plain http:// to the non-loopback host {host}: use https:// or allow_insecure_http(true)"
            ),
        )),
        other => Err(Error::config(format!(
            "unsupported scheme {other:?}: use https:// (or http:// to a loopback host)"
        ))),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Which roots TLS trusts.
fn root_store() -> Result<rustls::RootCertStore, Error> {
    #[allow(unused_mut)]
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A platform certificate rustls cannot parse is skipped, as browsers do.
            let _ = roots.add(cert);
        }
    }
    Ok(roots)
}

/// rustls with ring, the roots of the enabled features and `extra_roots` (DER, e.g. a private
/// CA); ALPN is set by `http_stack::http_client` for the HTTP a transport speaks.
pub(crate) fn tls_config(extra_roots: Vec<Vec<u8>>) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = root_store()?;
    for der in extra_roots {
        roots
            .add(rustls::pki_types::CertificateDer::from(der))
            .map_err(|e| Error::config(format!("invalid root certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "https://example.com",
            "http://localhost:8080",
            "http://127.0.0.1:1",
            "http://[::1]:1",
            "http://a.localhost",
        ] {
            assert!(parse_endpoint(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://localhost",
            "not a url",
            "https://u:p@example.com",
        ] {
            assert!(parse_endpoint(bad, false).is_err(), "{bad}");
        }
        assert!(parse_endpoint("http://example.com", true).is_ok());
    }

    #[test]
    fn credentials_in_an_endpoint_are_never_quoted() {
        for endpoint in [
            "https://user:s3cr3t-t0ken@example.com",
            "https://user:s3cr3t-t0ken@exa mple.com",
            "https://:s3cr3t-t0ken@[::1",
        ] {
            let error = parse_endpoint(endpoint, false).err().map(|e| e.to_string());
            let error = error.unwrap_or_default();
            assert!(error.starts_with("INVALID_ARGUMENT"), "{endpoint}: {error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
    }

    #[cfg(any(feature = "grpc", feature = "grpc-web", feature = "json"))]
    #[test]
    fn the_authorization_header_is_sensitive() {
        use crate::stub::CallMetadata;
        let headers = metadata_headers(&CallMetadata::with_token("s3cr3t")).unwrap();
        let value = &headers[http::header::AUTHORIZATION];
        assert!(value.is_sensitive());
        assert!(!format!("{headers:?}").contains("s3cr3t"));
        assert!(metadata_headers(&CallMetadata::with_token("bad\ntoken")).is_err());
        assert!(
            metadata_headers(&CallMetadata::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn transport_names_round_trip() {
        for t in Transport::ALL {
            assert_eq!(t.to_string().parse::<Transport>().ok(), Some(t));
        }
        assert!("GRPC".parse::<Transport>().is_err());
    }
}

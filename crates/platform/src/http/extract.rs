//! Extractors that reject bad input with problem+json instead of the
//! framework's plain-text messages.

use std::net::IpAddr;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::problem::{FieldError, Problem};

/// A JSON body: 415 without a JSON content type, 413 over the body limit,
/// 400 when it is not JSON, 422 (naming the field) when it is JSON of the
/// wrong shape, unknown fields included.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        parse_json(&bytes).map(ValidJson)
    }
}

/// A [`ValidJson`] body together with a canonical form of it (keys sorted,
/// no insignificant whitespace), for fingerprinting idempotent requests:
/// the same document sent with other spacing or key order is the same
/// request.
#[derive(Debug, Clone)]
pub struct CanonicalJson<T> {
    /// The parsed body.
    pub value: T,
    /// The canonical bytes.
    pub canonical: Vec<u8>,
}

impl<S, T> FromRequest<S> for CanonicalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        canonical(&bytes)
    }
}

/// An empty body is `None`, as with [`MaybeJson`].
impl<S, T> axum::extract::OptionalFromRequest<S> for CanonicalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match optional_json_body(req, state).await? {
            Some(bytes) => canonical(&bytes).map(Some),
            None => Ok(None),
        }
    }
}

fn canonical<T: DeserializeOwned>(bytes: &[u8]) -> Result<CanonicalJson<T>, Problem> {
    let document = parse_document(bytes)?;
    // serde_json's maps are sorted, so writing the parsed document out
    // canonicalises it.
    let canonical = serde_json::to_vec(&document)
        .map_err(|e| Problem::unexpected(&anyhow::Error::new(e).context("writing a body out")))?;
    Ok(CanonicalJson {
        value: from_document(document)?,
        canonical,
    })
}

/// The body of a request whose body is optional: None when it is empty or
/// JSON `null` ("nothing to say"); else its bytes, which must be JSON.
async fn optional_json_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Option<Bytes>, Problem> {
    let json = has_json_content_type(req.headers());
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Problem::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            Problem::bad_request(format!("Could not read the body: {rejection}"))
        }
    })?;
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" {
        return Ok(None);
    }
    if !json {
        return Err(
            Problem::from_status(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .detail("Send the body as application/json."),
        );
    }
    Ok(Some(bytes))
}

async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Problem> {
    if !has_json_content_type(req.headers()) {
        return Err(
            Problem::from_status(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .detail("Send the body as application/json."),
        );
    }
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(_)
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Problem::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
            }
            other => Problem::bad_request(format!("Could not read the body: {other}")),
        })
}

/// A JSON body that may be left out entirely (an empty body, or `null`, is
/// `None`); when present it is held to the rules of [`ValidJson`].
#[derive(Debug, Clone, Default)]
pub struct MaybeJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for MaybeJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match optional_json_body(req, state).await? {
            Some(bytes) => parse_json(&bytes).map(|v| Self(Some(v))),
            None => Ok(Self(None)),
        }
    }
}

fn has_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON request body into `T`, with the errors described on
/// [`ValidJson`]. Every request body of the API is a JSON object: anything
/// else (an array, a string, a number) is a 422 even where `T`'s fields
/// would all take defaults. A number with no fraction (`3.0`) is the
/// integer it equals, as in JSON Schema, so an integer field takes it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    from_document(parse_document(bytes)?)
}

/// The body as a checked JSON document: well-formed first (a syntax error
/// is a 400 even where a typed parse would meet an unknown or mistyped
/// field before reaching it), an object, no text holding U+0000 (which no
/// PostgreSQL text column can store), integral numbers as integers.
fn parse_document(bytes: &[u8]) -> Result<serde_json::Value, Problem> {
    let mut document: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Problem::bad_request(format!("The body is not valid JSON: {e}")))?;
    if !document.is_object() {
        return Err(Problem::validation(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )]));
    }
    if let Err(mut at) = normalise(&mut document) {
        at.reverse();
        return Err(Problem::validation(vec![FieldError::new(
            at.join("."),
            "must not contain the NUL character (U+0000)",
        )]));
    }
    Ok(document)
}

/// The document as `T`, naming the field of a shape error (422).
fn from_document<T: DeserializeOwned>(document: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(document).map_err(|err| {
        let path = err.path().to_string();
        Problem::validation(vec![describe_data_error(
            &path,
            &err.into_inner().to_string(),
        )])
    })
}

/// One walk over the document: every number with no fraction that fits an
/// i64 (`2.0`, `-0.0`) becomes that integer, and the first string or key
/// holding U+0000 stops the walk with its path (innermost segment first;
/// nothing is allocated unless one is found).
fn normalise(value: &mut serde_json::Value) -> Result<(), Vec<String>> {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                // The bounds are exact powers of two, so the comparison is too.
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
            {
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "integral and within the i64 range, checked above"
                )]
                let whole = f as i64;
                *value = Value::from(whole);
            }
            Ok(())
        }
        Value::String(text) if text.contains('\0') => Err(Vec::new()),
        Value::Array(items) => items.iter_mut().enumerate().try_for_each(|(i, item)| {
            normalise(item).map_err(|mut at| {
                at.push(i.to_string());
                at
            })
        }),
        Value::Object(fields) => fields.iter_mut().try_for_each(|(key, item)| {
            if key.contains('\0') {
                return Err(vec![key.clone()]);
            }
            normalise(item).map_err(|mut at| {
                at.push(key.clone());
                at
            })
        }),
        _ => Ok(()),
    }
}

/// Turns serde's message into a field error that names the field itself.
fn describe_data_error(path: &str, message: &str) -> FieldError {
    // serde_path_to_error's path already ends with an unknown field's name,
    // but not with a missing one's.
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = backticked(message, "unknown field `") {
        return FieldError::new(join(name), "is not a field of this request");
    }
    if let Some(name) = backticked(message, "missing field `") {
        return FieldError::new(join(name), "is required");
    }
    // Drop serde's " at line 1 column 12" suffix: the field is named already.
    let message = message.split(" at line ").next().unwrap_or(message);
    let field = if path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    FieldError::new(field, message)
}

fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// Query parameters; a malformed query string is a 422 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if let Some((name, _)) =
            form_urlencoded::parse(query.as_bytes()).find(|(_, value)| value.contains('\0'))
        {
            return Err(Problem::validation(vec![FieldError::new(
                name,
                "must not contain the NUL character (U+0000)",
            )]));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ValidQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                Problem::validation(vec![describe_data_error(
                    &path,
                    &err.into_inner().to_string(),
                )])
            })
    }
}

/// The caller's network address, as the `observe` layer determined it
/// (the socket peer, or `X-Forwarded-For` behind a trusted gateway); None
/// when served without a socket (router tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(None)))
    }
}

/// For `#[serde(default, deserialize_with = "present")]` on an
/// `Option<Option<T>>` field of a PATCH body: an absent field stays `None`,
/// an explicit `null` becomes `Some(None)` (clear it).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// The id of the current request, as echoed in `X-Request-Id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "the fields are only parsed into")]
    struct Body {
        email: String,
        count: u8,
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        let err = parse_json::<Body>(b"{\"email\": ").unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = parse_json::<Body>(br#"{"email":"a","count":1,"role":"admin"}"#).unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.errors[0].field, "role");
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let err = parse_json::<Body>(br#"{"email":"a"}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "count");
        let err = parse_json::<Body>(br#"{"email":"a","count":"x"}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "count");
        assert!(!err.errors[0].message.contains("line"));
    }

    #[test]
    fn syntax_errors_win_over_field_errors_that_come_first() {
        for body in [
            &br#"{"role": "admin",}"#[..],
            br#"{"count": "x", "email": "a"#,
            br#"{"unknown": "\x"}"#,
            b"[1, 2",
        ] {
            let err = parse_json::<Body>(body).unwrap_err();
            assert_eq!(err.status, 400, "{}", String::from_utf8_lossy(body));
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "the fields are only parsed into")]
    struct Patch {
        #[serde(default)]
        name: Option<String>,
    }

    #[test]
    fn only_an_object_is_a_body() {
        for body in [
            &b"[]"[..],
            b"[\"x\"]",
            b"\"name\"",
            b"12",
            b"null",
            b" true",
        ] {
            let err = parse_json::<Patch>(body).unwrap_err();
            assert_eq!(err.status, 422, "{}", String::from_utf8_lossy(body));
        }
        assert!(parse_json::<Patch>(b" {}").is_ok());
    }

    #[test]
    fn integral_numbers_are_integers_whatever_their_spelling() {
        let body = parse_json::<Body>(br#"{"email":"a","count":23.0}"#).unwrap();
        assert_eq!(body.count, 23);
        let body = parse_json::<Body>(br#"{"email":"a","count":2e1}"#).unwrap();
        assert_eq!(body.count, 20);
        let err = parse_json::<Body>(br#"{"email":"a","count":23.5}"#).unwrap_err();
        assert_eq!((err.status, err.errors[0].field.as_str()), (422, "count"));
        let err = parse_json::<Body>(br#"{"email":"a","count":1e300}"#).unwrap_err();
        assert_eq!(err.status, 422);
    }

    #[test]
    fn text_with_nul_is_refused_naming_the_field() {
        let err = parse_json::<Body>(br#"{"email":"a\u0000b","count":1}"#).unwrap_err();
        assert_eq!((err.status, err.errors[0].field.as_str()), (422, "email"));
        let err =
            parse_json::<serde_json::Value>(br#"{"a":[{"b":"x"},{"\u0000":1}]}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "a.1.\u{0}");
    }

    #[test]
    fn trailing_garbage_is_a_bad_request() {
        let err = parse_json::<Body>(br#"{"email":"a","count":1} x"#).unwrap_err();
        assert_eq!(err.status, 400);
    }
}

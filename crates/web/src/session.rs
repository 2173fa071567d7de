//! The visitor's session: one cookie, sealed with AES-256-GCM, so the
//! storefront keeps no state of its own (any replica reads any visitor's
//! cookie) and the tokens inside are neither readable nor forgeable by the
//! browser. It carries the CSRF secret, the guest cart's id, the API
//! tokens once logged in, and a one-shot message for the next page.

use std::sync::{Arc, Mutex};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

/// The cookie's name.
pub const COOKIE: &str = "mercato_session";
/// The cookie outlives the refresh token (30 days) by nothing.
const MAX_AGE_SECS: i64 = 30 * 24 * 3600;

/// The sealing key.
pub struct SessionKey(LessSafeKey);

impl SessionKey {
    /// A key from 32 bytes.
    pub fn new(bytes: &[u8]) -> anyhow::Result<Self> {
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| anyhow::anyhow!("web.session_key must be 32 bytes (base64)"))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// A random key (sessions end when the process does).
    pub fn random() -> anyhow::Result<Self> {
        Self::new(&random_bytes::<32>()?)
    }

    fn seal(&self, data: &SessionData) -> Option<String> {
        let mut buffer = serde_json::to_vec(data).ok()?;
        let nonce_bytes = random_bytes::<NONCE_LEN>().ok()?;
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(COOKIE.as_bytes()),
                &mut buffer,
            )
            .ok()?;
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&buffer);
        Some(URL_SAFE_NO_PAD.encode(sealed))
    }

    fn open(&self, value: &str) -> Option<SessionData> {
        let mut sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let mut ciphertext = sealed.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&sealed).ok()?;
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(COOKIE.as_bytes()), &mut ciphertext)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

/// Random bytes from the system's generator.
pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness"))?;
    Ok(bytes)
}

/// A random URL-safe token of 16 bytes.
pub fn random_token() -> String {
    let bytes = random_bytes::<16>().unwrap_or_else(|_| *uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the cookie holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    /// Every form carries it back (`_csrf`).
    pub csrf: String,
    /// The guest cart, until it is claimed at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart: Option<String>,
    /// The customer's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// A message for the next page shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<Flash>,
    /// Units in the cart, for the header's badge.
    #[serde(default)]
    pub cart_count: i64,
    /// When an admin last opened a dashboard page (Unix seconds): the
    /// dashboard signs out after a while idle.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub admin_seen: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A logged-in customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
    /// For the header.
    pub name: String,
    /// For checkout.
    pub email: String,
    /// admin or customer.
    #[serde(default)]
    pub role: String,
}

/// A one-shot message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// True for a success, false for a failure.
    pub ok: bool,
    /// The text.
    pub text: String,
}

#[derive(Debug)]
struct State_ {
    data: SessionData,
    dirty: bool,
}

/// The request's session; changes are written back as the response's cookie.
#[derive(Clone, Debug)]
pub struct Session(Arc<Mutex<State_>>);

impl Session {
    fn new(data: SessionData, dirty: bool) -> Self {
        Self(Arc::new(Mutex::new(State_ { data, dirty })))
    }

    /// Reads the session.
    pub fn read<T>(&self, f: impl FnOnce(&SessionData) -> T) -> T {
        match self.0.lock() {
            Ok(state) => f(&state.data),
            Err(poisoned) => f(&poisoned.into_inner().data),
        }
    }

    /// Changes the session.
    pub fn update<T>(&self, f: impl FnOnce(&mut SessionData) -> T) -> T {
        let mut state = match self.0.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        state.dirty = true;
        f(&mut state.data)
    }

    /// The CSRF secret.
    pub fn csrf(&self) -> String {
        self.read(|d| d.csrf.clone())
    }

    /// True if `token` is this session's CSRF secret.
    pub fn csrf_matches(&self, token: &str) -> bool {
        let expected = self.csrf();
        !expected.is_empty()
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                token.as_bytes(),
            )
            .is_ok()
    }

    /// Takes the pending message.
    pub fn take_flash(&self) -> Option<Flash> {
        if self.read(|d| d.flash.is_none()) {
            return None;
        }
        self.update(|d| d.flash.take())
    }

    /// Leaves a message for the next page.
    pub fn flash(&self, ok: bool, text: impl Into<String>) {
        let text = text.into();
        self.update(|d| d.flash = Some(Flash { ok, text }));
    }

    fn take_if_dirty(&self) -> Option<SessionData> {
        let mut state = match self.0.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !state.dirty {
            return None;
        }
        state.dirty = false;
        Some(state.data.clone())
    }
}

/// What the session layer needs.
#[derive(Clone)]
pub struct SessionSettings {
    /// The sealing key.
    pub key: Arc<SessionKey>,
    /// Always mark the cookie Secure (else only when the request came over
    /// TLS, as a TLS-terminating gateway says in `X-Forwarded-Proto`).
    pub always_secure: bool,
}

/// Opens the visitor's session (a new one when the cookie is missing or
/// does not open), hands it to the handler, and writes it back if changed.
pub async fn layer(
    State(settings): State<SessionSettings>,
    mut req: Request,
    next: Next,
) -> Response {
    if crate::is_api_path(req.uri().path()) {
        // The API answers as it always has: no cookie.
        return next.run(req).await;
    }
    let opened = cookie_value(req.headers(), COOKIE).and_then(|v| settings.key.open(v));
    let session = match opened {
        Some(data) if !data.csrf.is_empty() => Session::new(data, false),
        _ => Session::new(
            SessionData {
                csrf: random_token(),
                ..SessionData::default()
            },
            true,
        ),
    };
    let secure = settings.always_secure
        || req
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    req.extensions_mut().insert(session.clone());
    let mut response = next.run(req).await;
    if let Some(data) = session.take_if_dirty()
        && let Some(sealed) = settings.key.seal(&data)
    {
        let cookie = format!(
            "{COOKIE}={sealed}; Path=/; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        // A page that sets a cookie must not be shared by a cache.
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    response
}

fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_session_opens_only_with_its_key_and_unaltered() {
        let key = SessionKey::random().unwrap();
        let data = SessionData {
            csrf: "c".into(),
            cart: Some("cart-1".into()),
            ..SessionData::default()
        };
        let sealed = key.seal(&data).unwrap();
        assert!(!sealed.contains("cart-1"), "the cookie is not readable");
        let opened = key.open(&sealed).unwrap();
        assert_eq!(opened.cart.as_deref(), Some("cart-1"));

        let other = SessionKey::random().unwrap();
        assert!(other.open(&sealed).is_none());
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(key.open(&URL_SAFE_NO_PAD.encode(bytes)).is_none());
        assert!(key.open("not base64 !").is_none());
        assert!(key.open("").is_none());
    }

    #[test]
    fn two_seals_of_one_session_differ() {
        let key = SessionKey::random().unwrap();
        let data = SessionData::default();
        assert_ne!(key.seal(&data), key.seal(&data), "a fresh nonce each time");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mercato_session=xyz; b=2"),
        );
        assert_eq!(cookie_value(&headers, COOKIE), Some("xyz"));
        assert_eq!(cookie_value(&headers, "c"), None);
    }
}

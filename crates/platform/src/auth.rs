//! Access-token verification shared by every service.
//!
//! Tokens are EdDSA (Ed25519) JWTs signed by the users service. Services get
//! the public keys either in-process (all-in-one) or from the users service's
//! JWKS, fetched and cached, refreshed when an unknown `kid` shows up.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::problem::Problem;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A shopper.
    Customer,
    /// Staff: manages the catalog, orders and users.
    Admin,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "customer" => Some(Self::Customer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The claims of a Mercato access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// The session (refresh-token family) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The account's email when the token was issued (OIDC's `email`), so
    /// services that mail or record it need no call to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Where verification keys come from.
pub trait KeySource: Send + Sync {
    /// The key with this `kid`, if known (a source may fetch on a miss).
    fn key<'a>(&'a self, kid: &'a str) -> BoxFuture<'a, Option<DecodingKey>>;
}

/// Checks access tokens. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    issuer: String,
    audience: String,
    keys: Arc<dyn KeySource>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused (the client only learns "invalid token").
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, or a header we do not accept.
    #[error("malformed token or unsupported header: {0}")]
    Malformed(String),
    /// No key with the token's `kid`.
    #[error("unknown signing key")]
    UnknownKey,
    /// Signature, expiry, issuer or audience check failed.
    #[error("token rejected: {0}")]
    Rejected(String),
}

impl Verifier {
    /// A verifier for tokens from `issuer` to `audience`.
    pub fn new(issuer: &str, audience: &str, keys: Arc<dyn KeySource>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
        }
    }

    /// Verifies a compact JWT and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        // decode_header refuses `alg: none` (not an Algorithm variant); any
        // algorithm but EdDSA is refused here, before a key is even chosen,
        // so an HMAC token "signed" with the public key cannot pass.
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Malformed(format!(
                "algorithm {:?} not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Malformed("no kid".into()))?;
        let key = self.keys.key(&kid).await.ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| TokenError::Rejected(e.to_string()))
    }
}

/// The authenticated caller. As a handler argument it requires a valid
/// bearer token (401 otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The user id.
    pub id: Uuid,
    /// The role in the token.
    pub role: Role,
    /// The session the token belongs to.
    pub session: Option<Uuid>,
    /// The account's email in the token, if it carries one.
    pub email: Option<String>,
}

impl AuthUser {
    /// Is the caller an admin?
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match bearer(parts)? {
            Some(token) => authenticate(&Verifier::from_ref(state), token).await,
            None => Err(Problem::unauthorized(
                "This route needs a bearer access token.",
            )),
        }
    }
}

/// A caller that may be anonymous. A token that is present but invalid is
/// still a 401: a bad token must not silently become "anonymous".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl<S> FromRequestParts<S> for MaybeAuthUser
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match bearer(parts)? {
            Some(token) => authenticate(&Verifier::from_ref(state), token)
                .await
                .map(|u| Self(Some(u))),
            None => Ok(Self(None)),
        }
    }
}

/// An authenticated admin: 401 without a valid token, 403 for customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser(pub AuthUser);

impl<S> FromRequestParts<S> for AdminUser
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(Self(user))
        } else {
            Err(Problem::forbidden("This route is for admins."))
        }
    }
}

fn bearer(parts: &Parts) -> Result<Option<&str>, Problem> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Problem::unauthorized("The Authorization header is not valid text."))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(Problem::unauthorized(
            "Use `Authorization: Bearer <access token>`.",
        )),
    }
}

async fn authenticate(verifier: &Verifier, token: &str) -> Result<AuthUser, Problem> {
    let claims = verifier.verify(token).await.map_err(|e| {
        tracing::debug!(error.message = %e, "access token refused");
        Problem::unauthorized("The access token is invalid or expired.")
    })?;
    let id = Uuid::parse_str(&claims.sub)
        .map_err(|_| Problem::unauthorized("The access token is invalid or expired."))?;
    let session = claims.sid.as_deref().and_then(|s| Uuid::parse_str(s).ok());
    tracing::Span::current().record("user.id", tracing::field::display(id));
    Ok(AuthUser {
        id,
        role: claims.role,
        session,
        email: claims.email,
    })
}

/// Keys fetched from a JWKS URL and cached. An unknown `kid` triggers a
/// refetch (key rotation), at most once per `min_refresh` so that tokens with
/// random kids cannot make us hammer the users service.
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    min_refresh: Duration,
    cache: RwLock<JwksCache>,
}

#[derive(Default)]
struct JwksCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

impl RemoteJwks {
    /// A source reading `url` (the users service's `/.well-known/jwks.json`).
    pub fn new(url: &str, min_refresh: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            url: url.to_owned(),
            client,
            min_refresh,
            cache: RwLock::default(),
        })
    }

    async fn refresh(&self) -> anyhow::Result<()> {
        let set: JwkSet = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        let mut cache = self.cache.write().await;
        cache.keys = keys;
        cache.fetched_at = Some(Instant::now());
        Ok(())
    }
}

impl KeySource for RemoteJwks {
    fn key<'a>(&'a self, kid: &'a str) -> BoxFuture<'a, Option<DecodingKey>> {
        Box::pin(async move {
            {
                let cache = self.cache.read().await;
                if let Some(key) = cache.keys.get(kid) {
                    return Some(key.clone());
                }
                if cache
                    .fetched_at
                    .is_some_and(|at| at.elapsed() < self.min_refresh)
                {
                    return None;
                }
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error.message = %e, url.full = %self.url, "fetching the JWKS failed");
                // Count the failure as a fetch too, so an outage is not retried per request.
                self.cache.write().await.fetched_at = Some(Instant::now());
            }
            self.cache.read().await.keys.get(kid).cloned()
        })
    }
}

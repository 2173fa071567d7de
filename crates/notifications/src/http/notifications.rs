//! Notification routes.

use axum::{Json, extract::State};
use platform::{
    Problem,
    auth::AuthUser,
    http::{
        extract::{ValidJson, ValidQuery},
        pagination::PageRequest,
    },
};

use super::{
    NotificationsState,
    dto::{NotificationListQuery, NotificationOut, NotificationPage, PreferencesBody},
};
use crate::{domain::Preferences, error::Result};

/// Messages, newest first: a customer's own; an admin's view of all.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(NotificationListQuery),
    responses((status = 200, body = NotificationPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn list(
    State(state): State<NotificationsState>,
    caller: AuthUser,
    ValidQuery(query): ValidQuery<NotificationListQuery>,
) -> Result<Json<NotificationPage>> {
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut errors = Vec::new();
    let mut one_of = |field: &str, raw: Option<String>, allowed: &[&str]| -> Option<String> {
        let raw = raw?;
        if allowed.contains(&raw.as_str()) {
            Some(raw)
        } else {
            errors.push(platform::FieldError::new(
                field,
                format!("must be one of {}", allowed.join(", ")),
            ));
            None
        }
    };
    let status = one_of("status", query.status, &["queued", "sent", "failed"]);
    let channel = one_of("channel", query.channel, &["email", "sms"]);
    let nonblank = |raw: Option<String>| raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let template = nonblank(query.template);
    let recipient = nonblank(query.to);
    for (field, value, max) in [("template", &template, 100), ("to", &recipient, 320)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            errors.push(platform::FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(crate::error::NotificationError::Validation(errors));
    }
    let filter = crate::store::ListFilter {
        customer_id: None,
        status,
        channel,
        template,
        recipient,
    };
    let page = state.service.list(&caller, filter, &page).await?;
    Ok(Json(NotificationPage {
        items: page.items.iter().map(NotificationOut::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The caller's choices.
#[utoipa::path(get, path = "/api/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = PreferencesBody), (status = 401, body = Problem)))]
pub(super) async fn preferences(
    State(state): State<NotificationsState>,
    caller: AuthUser,
) -> Result<Json<PreferencesBody>> {
    Ok(Json(state.service.preferences(&caller).await?.into()))
}

/// Replace the caller's choices.
#[utoipa::path(put, path = "/api/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesBody,
    responses((status = 200, body = PreferencesBody), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn set_preferences(
    State(state): State<NotificationsState>,
    caller: AuthUser,
    ValidJson(body): ValidJson<PreferencesBody>,
) -> Result<Json<PreferencesBody>> {
    let prefs = Preferences {
        email: body.email,
        sms: body.sms,
    };
    Ok(Json(
        state.service.set_preferences(&caller, prefs).await?.into(),
    ))
}

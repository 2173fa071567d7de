//! Cursor pagination: `?limit=` (1..=100, default 20) and an opaque `?cursor=`.
//!
//! A cursor is the sort key of the last item of the previous page, encoded so
//! that clients treat it as opaque. Keyset pagination stays correct while rows
//! are inserted, unlike offsets.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::{FieldError, Problem};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page.
    pub limit: u32,
    /// The sort key after which this page starts.
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates raw `limit` and `cursor` query values (422 when bad).
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Problem> {
        let mut errors = Vec::new();
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        let after = match cursor {
            None | Some("") => None,
            Some(raw) => match decode_cursor(raw) {
                Some(key) => Some(key),
                None => {
                    errors.push(FieldError::new("cursor", "is not a cursor this API issued"));
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(Self { limit, after })
        } else {
            Err(Problem::validation(errors))
        }
    }

    /// Rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows; `key` gives the
    /// sort key of a row for the cursor.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let limit = request.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Converts the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// The opaque cursor for a sort key (for lists that build pages themselves).
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{key}"))
}

fn decode_cursor(raw: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let key = text.strip_prefix("v1:")?;
    (!key.is_empty() && key.len() <= 512).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_rejected() {
        for bad in ["0", "101", "-1", "ten"] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "{bad}");
        }
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 20);
        assert_eq!(PageRequest::parse(Some("100"), None).unwrap().limit, 100);
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_rejected() {
        let rows = vec!["a", "b", "c"];
        let request = PageRequest::parse(Some("2"), None).unwrap();
        let page = Page::from_rows(rows, &request, |r| r.to_string());
        assert_eq!(page.items, vec!["a", "b"]);
        let cursor = page.next_cursor.unwrap();
        let next = PageRequest::parse(None, Some(&cursor)).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        assert!(PageRequest::parse(None, Some("garbage!")).is_err());
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let request = PageRequest::parse(Some("5"), None).unwrap();
        let page = Page::from_rows(vec![1, 2], &request, |r| r.to_string());
        assert!(page.next_cursor.is_none());
    }
}

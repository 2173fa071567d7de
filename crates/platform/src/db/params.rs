//! Statements whose shape depends on the request (filters, IN lists): the
//! `$N` placeholders and their values built together, so a placeholder and
//! what it binds can never drift apart.

use sqlx::{Any, any::AnyArguments, query::Query};

/// A value bound to a dynamically built statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// Text (also UUIDs, stored as text).
    Text(String),
    /// An integer.
    Int(i64),
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<uuid::Uuid> for Param {
    fn from(value: uuid::Uuid) -> Self {
        Self::Text(value.to_string())
    }
}

/// The values of a statement being built, in placeholder order.
#[derive(Debug, Default)]
pub struct Params(Vec<Param>);

impl Params {
    /// Adds a value and returns its placeholder (`$1`, `$2`, ...).
    pub fn push(&mut self, param: impl Into<Param>) -> String {
        self.0.push(param.into());
        format!("${}", self.0.len())
    }

    /// A comma-separated placeholder list of several values.
    pub fn list<P: Into<Param>>(&mut self, values: impl IntoIterator<Item = P>) -> String {
        let placeholders: Vec<String> = values.into_iter().map(|v| self.push(v)).collect();
        placeholders.join(", ")
    }

    /// Binds every value to the statement, in order.
    pub fn bind<'q>(self, mut query: Query<'q, Any, AnyArguments>) -> Query<'q, Any, AnyArguments> {
        for param in self.0 {
            query = match param {
                Param::Text(v) => query.bind(v),
                Param::Int(v) => query.bind(v),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_count_up_across_pushes_and_lists() {
        let mut params = Params::default();
        assert_eq!(params.push(7_i64), "$1");
        assert_eq!(params.list(["a", "b"]), "$2, $3");
        assert_eq!(params.push(uuid::Uuid::nil()), "$4");
        assert_eq!(
            params.0,
            [
                Param::Int(7),
                Param::Text("a".into()),
                Param::Text("b".into()),
                Param::Text(uuid::Uuid::nil().to_string()),
            ]
        );
    }
}

//! Cursor pagination: `?limit=&cursor=` in, `{data, next_cursor}` out.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::validate;
use crate::error::{Error, Result};

/// A page of results: pass `next_cursor` back as `?cursor=` for the next page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new((data, next_cursor): (Vec<T>, Option<String>)) -> Self {
        Page { data, next_cursor }
    }

    /// The page of `rows` fetched with one row more than `limit` (that row, when present, says
    /// a next page exists): at most `limit` rows, and the cursor naming the last one's `key`.
    pub fn of(rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        Page::new(validate::page(rows, limit, key))
    }
}

/// The query of a cursor-paginated list: the struct's own filters, then `limit` and `cursor`
/// (in that order in the OpenAPI document too), and [`Paged`] to read the two.
///
/// A macro rather than a shared struct under `#[serde(flatten)]`: serde_urlencoded hands
/// flattened fields over as strings, so `?limit=5` would be refused ("invalid type: string
/// \"5\", expected i64").
macro_rules! page_query {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, ::serde::Deserialize, ::utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// Page size, 1..200 (default 50).
            pub limit: Option<i64>,
            pub cursor: Option<String>,
        }

        impl $crate::api::page::Paged for $name {
            fn page_params(&self) -> (Option<i64>, Option<&str>) {
                (self.limit, self.cursor.as_deref())
            }
        }
    };
}
pub(crate) use page_query;

page_query! {
    /// A list without filters.
    pub struct PageQuery {}
}

/// The page size and cursor of a `page_query!` struct, validated.
pub trait Paged {
    /// `?limit=` and `?cursor=` as sent.
    fn page_params(&self) -> (Option<i64>, Option<&str>);

    /// Page size: default 50, 1..=200.
    fn page_size(&self) -> Result<i64> {
        validate::limit(self.page_params().0)
    }

    /// The key of the last row of the previous page.
    fn cursor_key(&self) -> Result<Option<String>> {
        validate::decode_cursor(self.page_params().1)
    }

    /// The same, on lists keyed by a sequence number.
    fn cursor_seq(&self) -> Result<Option<i64>> {
        self.cursor_key()?
            .map(|c| {
                c.parse()
                    .map_err(|_| Error::invalid("cursor", "is not a cursor this API returned"))
            })
            .transpose()
    }
}

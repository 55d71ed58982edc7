//! Domain values stored as TEXT: statuses, delivery kinds, ledger accounts.
//!
//! The columns stay `Text` (same bytes as ever, so old rows, raw SQL literals and the partial
//! indexes built on them keep working); the Rust side gets a type, so a misspelt status no
//! longer compiles. A type states its one text form through [`StoredText`];
//! [`text_sql!`](crate::db::text::text_sql) turns that into diesel's `ToSql`/`FromSql` for
//! SQLite, PostgreSQL and the multi-backend `DbConn`, and [`text_enum!`](crate::db::text::text_enum)
//! declares a fieldless enum together with its texts, serde and SQL in one go.

use std::borrow::Cow;

/// A value with exactly one text form, in the database and in JSON.
pub trait StoredText: Sized {
    /// The stored text.
    fn text(&self) -> Cow<'_, str>;
    /// The value a stored text names; `None` for text no value writes.
    fn parse_text(text: &str) -> Option<Self>;
}

/// Implements diesel's `ToSql<Text>` (SQLite, PostgreSQL, `DbConn`'s multi-backend) and
/// `FromSql<Text>` for a [`StoredText`] type, which must also derive `diesel::AsExpression` and
/// `diesel::FromSqlRow` with `#[diesel(sql_type = diesel::sql_types::Text)]`.
macro_rules! text_sql {
    ($ty:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                match $crate::db::text::StoredText::text(self) {
                    std::borrow::Cow::Borrowed(text) => out.set_value(text),
                    std::borrow::Cow::Owned(text) => out.set_value(text),
                }
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                // What diesel does for a `str`: PostgreSQL's text wire format is the bytes.
                std::io::Write::write_all(
                    out,
                    $crate::db::text::StoredText::text(self).as_bytes(),
                )?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>,
            ) -> diesel::serialize::Result {
                // The multi-backend hands the value to the impl of the connection in use.
                out.set_value((diesel::sql_types::Text, self));
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                <$ty as $crate::db::text::StoredText>::parse_text(&text)
                    .ok_or_else(|| format!("`{text}` is not a {}", stringify!($ty)).into())
            }
        }
    };
}
pub(crate) use text_sql;

/// Declares a fieldless enum stored and serialised as fixed texts, each variant written
/// `Name = "text",` (see `domain::states`), with `as_str`, `parse`, `ALL`, `Display`, serde and
/// diesel `Text` (see [`text_sql!`]).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            const TEXTS: &'static [&'static str] = &[$($text),+];

            /// The stored (and serialised) text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// The value named by `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&text, Self::TEXTS))
            }
        }

        impl $crate::db::text::StoredText for $name {
            fn text(&self) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(self.as_str())
            }

            fn parse_text(text: &str) -> Option<Self> {
                Self::parse(text)
            }
        }

        $crate::db::text::text_sql!($name);
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests;

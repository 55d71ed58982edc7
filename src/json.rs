//! Nested objects in request bodies come from JSON objects only.
//!
//! Why: serde's derived `Deserialize` fills a struct from an array by position, so
//! `"buyer": [null, null]` or `"cards": [["CODE", null, null]]` would be read as if the fields
//! had been named, although the OpenAPI document (and SPEC.md) say these are objects.
//! `auth::signed::parse_json` refuses a top-level array; these helpers do the same for nested
//! structs, field by field: `#[serde(deserialize_with = "crate::json::optional_object")]`.
//! The value is still read by the caller's deserializer, so errors keep their path
//! (`cards[3].code`).

use serde::de::{Deserialize, Deserializer, Visitor};

/// `T` read from a JSON object only (never from an array).
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(MapOnly(d)).map(Object)
    }
}

/// An optional nested object: absent or `null` is `None`, an object is `Some`, anything
/// else is refused. Pair with `#[serde(default)]` so an absent field stays `None`.
pub fn optional_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
}

/// A list of nested objects.
pub fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let list = Vec::<Object<T>>::deserialize(d)?;
    Ok(list.into_iter().map(|o| o.0).collect())
}

/// A deserializer that asks its inner one for a map whatever the type wants, so a derived
/// struct visitor never sees a sequence.
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        id: Option<String>,
        n: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional_object")]
        one: Option<Item>,
        #[serde(default, deserialize_with = "super::objects")]
        many: Vec<Item>,
    }

    fn parse(s: &str) -> Result<Body, String> {
        let de = &mut serde_json::Deserializer::from_str(s);
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    #[test]
    fn objects_null_and_absent_are_read() {
        let item = Item {
            id: Some("a".into()),
            n: None,
        };
        let b = parse(r#"{"one": {"id": "a"}, "many": [{"id": "a"}]}"#).expect("objects");
        assert_eq!(b.one.as_ref(), Some(&item));
        assert_eq!(b.many, vec![item]);
        assert_eq!(parse(r#"{"one": null}"#).expect("null").one, None);
        assert_eq!(parse("{}").expect("absent").one, None);
    }

    #[test]
    fn arrays_in_place_of_objects_are_refused_with_their_path() {
        let e = parse(r#"{"one": [null, null]}"#).expect_err("array");
        assert!(e.starts_with("one: invalid type: sequence"), "{e}");
        let e = parse(r#"{"many": [{"id": "a"}, ["b", 1]]}"#).expect_err("array item");
        assert!(e.starts_with("many[1]: invalid type: sequence"), "{e}");
        let e = parse(r#"{"many": [{"id": "a"}, {"n": "x"}]}"#).expect_err("bad field");
        assert!(e.starts_with("many[1].n: invalid type: string"), "{e}");
        let e = parse(r#"{"one": {"other": 1}}"#).expect_err("unknown field");
        assert!(e.starts_with("one.other: unknown field"), "{e}");
    }
}

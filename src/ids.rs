//! Opaque ids: a type prefix and a time-ordered UUIDv7, so ids sort by creation and make
//! natural pagination cursors.

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

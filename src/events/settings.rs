//! What an account receives and with which secrets it is signed: the event types it chose and
//! the secret it is rotating away from (`webhook_settings`), beside its current secret (on its
//! account row). Read by the delivery worker for every event it claims and written by the
//! self-service rules in `domain::accounts::webhooks`.

use diesel::prelude::*;

use crate::db::schema::{resellers, suppliers, webhook_settings};
use crate::db::DbConn;
use crate::error::{Error, Result};

/// Always delivered, whatever an account chose: it only exists because the account asked.
pub const TEST_EVENT: &str = "webhook.test";

/// Events a reseller may receive (SPEC "Outbound events").
pub const RESELLER_EVENT_TYPES: &[&str] = &[
    "order.delivered",
    "order.completed",
    "order.failed",
    "order.refunded",
    "ticket.resolved",
];

/// Events a supplier may receive.
pub const SUPPLIER_EVENT_TYPES: &[&str] = &[
    "order.topup_requested",
    "stock.low",
    "ticket.opened",
    "ticket.replacement_requested",
];

/// The event types an account of `owner_kind` can receive.
pub fn event_types_of(owner_kind: &str) -> &'static [&'static str] {
    match owner_kind {
        "reseller" => RESELLER_EVENT_TYPES,
        _ => SUPPLIER_EVENT_TYPES,
    }
}

/// An account's settings; the default (no row) is every type and no previous secret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// None: every type, including ones added later.
    pub event_types: Option<Vec<String>>,
    pub previous_secret_enc: Option<String>,
    /// Unix ms after which the previous secret no longer signs.
    pub previous_secret_until: Option<i64>,
}

impl Settings {
    /// Whether an event of this type goes out.
    pub fn accepts(&self, event_type: &str) -> bool {
        event_type == TEST_EVENT
            || self
                .event_types
                .as_ref()
                .is_none_or(|types| types.iter().any(|t| t == event_type))
    }

    /// The previous secret (sealed) while its overlap lasts, with the time it ends.
    pub fn previous_secret(&self, now: i64) -> Option<(&str, i64)> {
        match (&self.previous_secret_enc, self.previous_secret_until) {
            (Some(enc), Some(until)) if until > now => Some((enc.as_str(), until)),
            _ => None,
        }
    }
}

type SettingsRow = (Option<String>, Option<String>, Option<i64>);

pub fn load(conn: &mut DbConn, owner_kind: &str, owner_id: &str) -> Result<Settings> {
    let row: Option<SettingsRow> = webhook_settings::table
        .find((owner_kind, owner_id))
        .select((
            webhook_settings::event_types,
            webhook_settings::previous_secret_enc,
            webhook_settings::previous_secret_until,
        ))
        .first(conn)
        .optional()?;
    let Some((types, previous_secret_enc, previous_secret_until)) = row else {
        return Ok(Settings::default());
    };
    let event_types = types
        .map(|t| serde_json::from_str::<Vec<String>>(&t))
        .transpose()
        .map_err(Error::internal)?;
    Ok(Settings {
        event_types,
        previous_secret_enc,
        previous_secret_until,
    })
}

/// Stores `settings` for the account (an update, or the first row).
pub fn save(
    conn: &mut DbConn,
    owner_kind: &str,
    owner_id: &str,
    settings: &Settings,
    now: i64,
) -> Result<()> {
    let types = settings
        .event_types
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(Error::internal)?;
    let values = (
        webhook_settings::event_types.eq(&types),
        webhook_settings::previous_secret_enc.eq(&settings.previous_secret_enc),
        webhook_settings::previous_secret_until.eq(settings.previous_secret_until),
        webhook_settings::updated_at.eq(now),
    );
    // Update, else insert: portable across both backends. Callers write the account's own row
    // first (locking it on PostgreSQL; SQLite has one writer), so two first saves never race.
    let updated = diesel::update(webhook_settings::table.find((owner_kind, owner_id)))
        .set(values)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(webhook_settings::table)
            .values((
                webhook_settings::owner_kind.eq(owner_kind),
                webhook_settings::owner_id.eq(owner_id),
                values,
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// What the account's own row holds for its webhooks: the URL (`notify_url` of a reseller,
/// `webhook_url` of a supplier) and the current secret, sealed.
pub struct AccountHooks {
    pub url: Option<String>,
    pub secret_enc: String,
}

pub fn account_hooks(conn: &mut DbConn, owner_kind: &str, owner_id: &str) -> Result<AccountHooks> {
    let found: Option<(Option<String>, String)> = match owner_kind {
        "reseller" => resellers::table
            .find(owner_id)
            .select((resellers::notify_url, resellers::webhook_secret_enc))
            .first(conn)
            .optional()?,
        _ => suppliers::table
            .find(owner_id)
            .select((suppliers::webhook_url, suppliers::webhook_secret_enc))
            .first(conn)
            .optional()?,
    };
    let (url, secret_enc) = found.ok_or(Error::NotFound("account"))?;
    Ok(AccountHooks { url, secret_enc })
}

/// Writes the account row's URL and current secret.
pub fn set_account_hooks(
    conn: &mut DbConn,
    owner_kind: &str,
    owner_id: &str,
    hooks: &AccountHooks,
) -> Result<()> {
    match owner_kind {
        "reseller" => diesel::update(resellers::table.find(owner_id))
            .set((
                resellers::notify_url.eq(&hooks.url),
                resellers::webhook_secret_enc.eq(&hooks.secret_enc),
            ))
            .execute(conn)?,
        _ => diesel::update(suppliers::table.find(owner_id))
            .set((
                suppliers::webhook_url.eq(&hooks.url),
                suppliers::webhook_secret_enc.eq(&hooks.secret_enc),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// What the worker needs to send one of the account's events: the sealed secrets that sign it
/// (current first, then the previous one while its overlap lasts), and the account's settings.
pub fn for_delivery(
    conn: &mut DbConn,
    owner_kind: &str,
    owner_id: &str,
    now: i64,
) -> Result<(Vec<String>, Settings)> {
    let mut secrets = vec![account_hooks(conn, owner_kind, owner_id)?.secret_enc];
    let settings = load(conn, owner_kind, owner_id)?;
    if let Some((previous, _)) = settings.previous_secret(now) {
        secrets.push(previous.to_string());
    }
    Ok((secrets, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_by_default_a_chosen_list_otherwise_and_tests_always() {
        let all = Settings::default();
        assert!(all.accepts("order.delivered") && all.accepts("anything.new"));
        let some = Settings {
            event_types: Some(vec!["order.refunded".into()]),
            ..Settings::default()
        };
        assert!(some.accepts("order.refunded"));
        assert!(!some.accepts("order.delivered"));
        assert!(some.accepts(TEST_EVENT));
    }

    #[test]
    fn the_previous_secret_signs_only_until_its_overlap_ends() {
        let s = Settings {
            previous_secret_enc: Some("sealed".into()),
            previous_secret_until: Some(1_000),
            ..Settings::default()
        };
        assert_eq!(s.previous_secret(999), Some(("sealed", 1_000)));
        assert_eq!(s.previous_secret(1_000), None);
    }
}

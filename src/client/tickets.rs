//! Client methods for after-sales tickets, supplier quality and duplicate flags.

use reqwest::Method;
use serde_json::json;

use super::{with_query, AdminClient, Client, ClientResult};
use crate::api::Page;
use crate::domain::aftersales::quality::{ProductQuality, Withdrawal};
use crate::domain::aftersales::tickets::{AdminTicket, NewTicket, SupplierResponse, Ticket};
use crate::domain::trade::inventory::duplicates::DuplicateFlag;

/// Percent-encodes one path segment (a batch reference may hold any character).
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Client {
    // --- reseller ---

    /// `POST /v1/tickets`.
    pub async fn open_ticket(&self, req: &NewTicket) -> ClientResult<Ticket> {
        self.call(Method::POST, "/v1/tickets", Some(req)).await
    }

    /// `GET /v1/tickets/{id}`, with the named card and any replacement in plaintext.
    pub async fn ticket(&self, id: &str) -> ClientResult<Ticket> {
        self.get(&format!("/v1/tickets/{id}")).await
    }

    /// `GET /v1/tickets` with a raw query string such as `status=open&limit=10`.
    pub async fn tickets(&self, query: &str) -> ClientResult<Page<Ticket>> {
        self.get(&with_query("/v1/tickets", query)).await
    }

    // --- supplier ---

    /// `GET /v1/supplier/tickets`.
    pub async fn supplier_tickets(&self, query: &str) -> ClientResult<Page<Ticket>> {
        self.get(&with_query("/v1/supplier/tickets", query)).await
    }

    /// `POST /v1/supplier/tickets/{id}/response`.
    pub async fn respond_ticket(&self, id: &str, req: &SupplierResponse) -> ClientResult<Ticket> {
        self.call(
            Method::POST,
            &format!("/v1/supplier/tickets/{id}/response"),
            Some(req),
        )
        .await
    }
}

impl AdminClient {
    /// `GET /v1/admin/tickets` with a raw query string such as `status=contested`.
    pub async fn tickets(&self, query: &str) -> ClientResult<Page<AdminTicket>> {
        self.send(Method::GET, &with_query("/v1/admin/tickets", query), None)
            .await?
            .json()
    }

    pub async fn ticket(&self, id: &str) -> ClientResult<AdminTicket> {
        self.send(Method::GET, &format!("/v1/admin/tickets/{id}"), None)
            .await?
            .json()
    }

    /// `action`: `refund`, `replace` or `reject`.
    pub async fn resolve_ticket(
        &self,
        id: &str,
        action: &str,
        memo: Option<&str>,
    ) -> ClientResult<AdminTicket> {
        self.send(
            Method::POST,
            &format!("/v1/admin/tickets/{id}/resolve"),
            Some(json!({ "action": action, "memo": memo })),
        )
        .await?
        .json()
    }

    pub async fn product_quality(&self, product_id: &str) -> ClientResult<ProductQuality> {
        self.send(
            Method::GET,
            &format!("/v1/admin/products/{product_id}/quality"),
            None,
        )
        .await?
        .json()
    }

    pub async fn withdraw_batch(
        &self,
        product_id: &str,
        batch_ref: &str,
    ) -> ClientResult<Withdrawal> {
        self.send(
            Method::POST,
            &format!(
                "/v1/admin/products/{product_id}/batches/{}/withdraw",
                segment(batch_ref)
            ),
            None,
        )
        .await?
        .json()
    }

    /// `GET /v1/admin/duplicates` with a raw query string such as `supplier_id=sup_...`.
    pub async fn duplicates(&self, query: &str) -> ClientResult<Page<DuplicateFlag>> {
        self.send(
            Method::GET,
            &with_query("/v1/admin/duplicates", query),
            None,
        )
        .await?
        .json()
    }
}

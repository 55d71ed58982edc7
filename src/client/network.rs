//! Client methods for multi-level distribution and bulk orders.

use reqwest::Method;
use serde_json::json;

use super::{with_query, AdminClient, Client, ClientResult};
use crate::api::Page;
use crate::domain::accounts::network::{
    CommissionLine, NewSubReseller, SubReseller, TransferRequest, TransferResult,
};
use crate::domain::accounts::{Reseller, ResellerCreated};
use crate::domain::trade::inventory::DeliveredCard;
use crate::domain::trade::orders::SubResellerOrder;
use crate::domain::trade::pricing::markups::Markups;

impl Client {
    /// `POST /v1/sub-resellers`: the child with its first key and webhook secret.
    pub async fn create_sub_reseller(&self, name: &str) -> ClientResult<ResellerCreated> {
        let req = NewSubReseller {
            name: name.into(),
            notify_url: None,
        };
        self.call(Method::POST, "/v1/sub-resellers", Some(&req))
            .await
    }

    pub async fn sub_resellers(&self, query: &str) -> ClientResult<Page<SubReseller>> {
        self.get(&with_query("/v1/sub-resellers", query)).await
    }

    pub async fn markups(&self) -> ClientResult<Markups> {
        self.get("/v1/sub-resellers/markups").await
    }

    pub async fn put_markups(&self, m: &Markups) -> ClientResult<Markups> {
        self.call(Method::PUT, "/v1/sub-resellers/markups", Some(m))
            .await
    }

    pub async fn transfer_to(&self, child_id: &str, amount: i64) -> ClientResult<TransferResult> {
        let req = TransferRequest { amount, memo: None };
        self.call(
            Method::POST,
            &format!("/v1/sub-resellers/{child_id}/transfer"),
            Some(&req),
        )
        .await
    }

    pub async fn sub_reseller_orders(
        &self,
        child_id: &str,
        query: &str,
    ) -> ClientResult<Page<SubResellerOrder>> {
        self.get(&with_query(
            &format!("/v1/sub-resellers/{child_id}/orders"),
            query,
        ))
        .await
    }

    pub async fn commissions(&self, query: &str) -> ClientResult<Page<CommissionLine>> {
        self.get(&with_query("/v1/sub-resellers/commissions", query))
            .await
    }

    /// `GET /v1/orders/{id}/cards`: one page of an order's codes.
    pub async fn order_cards(&self, id: &str, query: &str) -> ClientResult<Page<DeliveredCard>> {
        self.get(&with_query(&format!("/v1/orders/{id}/cards"), query))
            .await
    }

    /// Every code of an order, in delivery order, following cursors.
    pub async fn all_order_cards(&self, id: &str) -> ClientResult<Vec<DeliveredCard>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("limit=200&cursor={c}"),
                None => "limit=200".to_string(),
            };
            let page = self.order_cards(id, &q).await?;
            out.extend(page.data);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}

impl AdminClient {
    /// `PATCH /v1/admin/resellers/{id}` with `parent_id` (None detaches).
    pub async fn set_parent(&self, id: &str, parent_id: Option<&str>) -> ClientResult<Reseller> {
        self.send(
            Method::PATCH,
            &format!("/v1/admin/resellers/{id}"),
            Some(json!({ "parent_id": parent_id })),
        )
        .await?
        .json()
    }
}

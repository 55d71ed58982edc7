//! Client methods for an account's own webhooks: `client.webhooks(OwnerKind::Reseller)` for a
//! reseller key (`/v1/webhooks/...`), `OwnerKind::Supplier` for a supplier key
//! (`/v1/supplier/webhooks/...`).

use reqwest::Method;

use super::{with_query, Client, ClientResult};
use crate::api::Page;
use crate::domain::accounts::keys::OwnerKind;
use crate::domain::accounts::webhooks::{
    EndpointUpdate, RotatedSecret, SecretRotation, WebhookEndpoint,
};
use crate::events::deliveries::{EventDetail, EventInfo};
use crate::events::test_event::TestDelivery;

/// The webhook operations of one account, borrowed from its client.
pub struct Webhooks<'a> {
    client: &'a Client,
    base: &'static str,
}

impl Client {
    /// This key's account's webhooks; `kind` is the kind of account the key belongs to.
    pub fn webhooks(&self, kind: OwnerKind) -> Webhooks<'_> {
        let base = match kind {
            OwnerKind::Reseller => "/v1/webhooks",
            OwnerKind::Supplier => "/v1/supplier/webhooks",
        };
        Webhooks { client: self, base }
    }
}

impl Webhooks<'_> {
    /// `GET …/endpoint`.
    pub async fn endpoint(&self) -> ClientResult<WebhookEndpoint> {
        self.client.get(&format!("{}/endpoint", self.base)).await
    }

    /// `PUT …/endpoint`.
    pub async fn update_endpoint(&self, req: &EndpointUpdate) -> ClientResult<WebhookEndpoint> {
        let path = format!("{}/endpoint", self.base);
        self.client.call(Method::PUT, &path, Some(req)).await
    }

    /// `GET …/deliveries` with a raw query string such as `status=failed&limit=10`.
    pub async fn deliveries(&self, query: &str) -> ClientResult<Page<EventDetail>> {
        let path = with_query(&format!("{}/deliveries", self.base), query);
        self.client.get(&path).await
    }

    /// `GET …/deliveries/{id}`.
    pub async fn delivery(&self, id: &str) -> ClientResult<EventDetail> {
        self.client
            .get(&format!("{}/deliveries/{id}", self.base))
            .await
    }

    /// `POST …/deliveries/{id}/redeliver`.
    pub async fn redeliver(&self, id: &str) -> ClientResult<EventInfo> {
        let path = format!("{}/deliveries/{id}/redeliver", self.base);
        self.client.call(Method::POST, &path, None::<&()>).await
    }

    /// `POST …/secret/rotate`; the new secret is in the answer only.
    pub async fn rotate_secret(&self, overlap_seconds: Option<i64>) -> ClientResult<RotatedSecret> {
        let path = format!("{}/secret/rotate", self.base);
        let req = SecretRotation { overlap_seconds };
        self.client.call(Method::POST, &path, Some(&req)).await
    }

    /// `POST …/test`: a signed `webhook.test` sent now, and how the attempt went.
    pub async fn send_test(&self) -> ClientResult<TestDelivery> {
        let path = format!("{}/test", self.base);
        self.client.call(Method::POST, &path, None::<&()>).await
    }

    /// `DELETE …/secret/previous`.
    pub async fn retire_previous_secret(&self) -> ClientResult<WebhookEndpoint> {
        let path = format!("{}/secret/previous", self.base);
        self.client.call(Method::DELETE, &path, None::<&()>).await
    }
}

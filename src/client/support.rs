//! Client method for the support assistant.

use reqwest::Method;

use super::{Client, ClientResult};
use crate::domain::support::{SupportAnswer, SupportMessage};

impl Client {
    /// `POST /v1/support/messages`: the assistant's answer to a customer's message.
    pub async fn support_message(&self, msg: &SupportMessage) -> ClientResult<SupportAnswer> {
        self.call(Method::POST, "/v1/support/messages", Some(msg))
            .await
    }

    /// [`Client::support_message`] with the text alone, or with the order it is about.
    pub async fn ask_support(
        &self,
        text: &str,
        order_id: Option<&str>,
    ) -> ClientResult<SupportAnswer> {
        self.support_message(&SupportMessage {
            text: text.into(),
            order_id: order_id.map(str::to_string),
            lang: None,
        })
        .await
    }
}

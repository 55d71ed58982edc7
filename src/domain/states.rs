//! States and kinds kept in TEXT columns that more than one context reads: an order's status
//! (written by `trade`, read by `money`'s spend limits and the `accounts` network reports) and
//! a product's status and delivery kind (written by `trade`, flipped by the `accounts` licence
//! sweep). They sit below every context, beside `validate`, so a lower layer can name them
//! without importing `trade`; `trade` re-exports them where they belong. A state only one
//! context reads lives there (`aftersales::tickets::TicketStatus`).

use crate::db::text::text_enum;

text_enum! {
    /// Where an order stands. A card order is `delivered` at once, or `processing` while a bulk
    /// order's codes are unsealed after the commit; a direct top-up is `processing` until the
    /// supplier reports `completed` or `failed` (refunded), or its deadline fails it; a ticket
    /// refunding every unit makes it `refunded`.
    pub enum OrderStatus {
        Processing = "processing",
        Delivered = "delivered",
        Completed = "completed",
        Failed = "failed",
        Refunded = "refunded",
    }
}

impl OrderStatus {
    /// The statuses whose money went back to the buyer (spend limits and sales reports leave
    /// these orders out).
    pub const RETURNED: [OrderStatus; 2] = [OrderStatus::Failed, OrderStatus::Refunded];
}

text_enum! {
    /// Whether a product can be bought: set by the admin, and flipped by the licence sweep
    /// (`accounts::compliance`) while a licence the product needs has lapsed.
    pub enum ProductStatus {
        OnSale = "on_sale",
        OffSale = "off_sale",
    }
}

text_enum! {
    /// How a product reaches the buyer.
    pub enum Delivery {
        /// Codes from stock, in the order's response.
        Card = "card",
        /// An account top-up (直充) the supplier performs and reports on.
        Direct = "direct",
    }
}

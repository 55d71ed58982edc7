//! What the assistant knows of an order when it answers: read from the order's real state,
//! for the calling reseller only (another reseller's order is "not found", exactly like an
//! order that does not exist).

use diesel::prelude::*;

use crate::db::schema::products;
use crate::db::DbConn;
use crate::domain::aftersales::tickets::{self, TicketFilter, TicketStatus};
use crate::domain::states::Delivery;
use crate::domain::trade::claims;
use crate::domain::trade::orders::{self, OrderStatus};
use crate::error::{Error, Result};

/// The order facts an answer is built from.
#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub order_id: String,
    pub product_name: String,
    /// The product's "how to redeem" text (may be empty).
    pub instructions: String,
    pub delivery: Delivery,
    pub status: OrderStatus,
    pub quantity: i64,
    pub currency: String,
    pub created_at: i64,
    /// When the codes were delivered or the top-up completed.
    pub delivered_at: Option<i64>,
    /// Minor units returned to the reseller by after-sales refunds.
    pub refunded_amount: i64,
    /// The order's tickets, newest first.
    pub tickets: Vec<TicketFacts>,
    /// For a gift-link order: whether its links were redeemed (`None` for an order of codes).
    /// The answers read it (`answer::claim_note`).
    pub claim: Option<ClaimFacts>,
}

#[derive(Debug, Clone)]
pub struct TicketFacts {
    pub id: String,
    pub status: TicketStatus,
    /// `refund` or `replace` once resolved.
    pub resolution: Option<String>,
}

/// A gift-link order's links, as the answers need them: claimed when every link was
/// redeemed, at the last redemption.
#[derive(Debug, Clone)]
pub struct ClaimFacts {
    pub claimed: bool,
    pub claimed_at: Option<i64>,
}

impl OrderFacts {
    /// The codes were handed over (or the top-up done): what a resend or a ticket needs.
    pub fn delivered(&self) -> bool {
        matches!(self.status, OrderStatus::Delivered | OrderStatus::Completed)
    }

    /// A ticket still waiting for an outcome, if any.
    pub fn pending_ticket(&self) -> Option<&TicketFacts> {
        self.tickets.iter().find(|t| !t.status.is_final())
    }
}

/// The facts of `reseller_id`'s order `order_id`; `not_found` for anyone else's.
pub fn load(conn: &mut DbConn, reseller_id: &str, order_id: &str) -> Result<OrderFacts> {
    let order = orders::load(conn, order_id)?;
    if order.reseller_id != reseller_id {
        return Err(Error::NotFound("order"));
    }
    let (product_name, instructions, delivery): (String, String, Delivery) = products::table
        .find(&order.product_id)
        .select((products::name, products::instructions, products::delivery))
        .first(conn)?;
    let filter = TicketFilter {
        reseller_id: Some(reseller_id.into()),
        order_id: Some(order.id.clone()),
        limit: 100,
        ..Default::default()
    };
    let rows = tickets::list(conn, &filter)?;
    let claim =
        claims::redeemed_summary(conn, &order.id)?.map(|(links, redeemed, last)| ClaimFacts {
            claimed: redeemed == links,
            claimed_at: last,
        });
    Ok(OrderFacts {
        refunded_amount: rows.iter().filter_map(|t| t.refund_amount).sum(),
        tickets: rows
            .into_iter()
            .map(|t| TicketFacts {
                id: t.id,
                status: t.status,
                resolution: t.resolution,
            })
            .collect(),
        order_id: order.id,
        product_name,
        instructions,
        delivery,
        status: order.status,
        quantity: order.quantity,
        currency: order.currency,
        created_at: order.created_at,
        delivered_at: order.completed_at,
        claim,
    })
}

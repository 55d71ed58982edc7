//! What a customer's message is about, and the language an answer is written in.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the customer wants. `other` is also the answer when the classifier is unsure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// The code (or the top-up) never reached the buyer.
    CodeNotReceived,
    /// The code is refused: invalid, expired or already redeemed.
    CodeInvalid,
    /// How and where to redeem what was bought.
    HowToRedeem,
    /// Where the order stands.
    OrderStatus,
    /// The buyer wants money back.
    RefundRequest,
    Other,
}

impl Intent {
    /// Every intent, in the order tables list them.
    pub const ALL: [Intent; 6] = [
        Intent::CodeNotReceived,
        Intent::CodeInvalid,
        Intent::HowToRedeem,
        Intent::OrderStatus,
        Intent::RefundRequest,
        Intent::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Intent::CodeNotReceived => "code_not_received",
            Intent::CodeInvalid => "code_invalid",
            Intent::HowToRedeem => "how_to_redeem",
            Intent::OrderStatus => "order_status",
            Intent::RefundRequest => "refund_request",
            Intent::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == text)
    }

    /// Its position in [`Intent::ALL`] (a row or column of a confusion table).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The language of an answer: Chinese or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub const fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        [Lang::En, Lang::Zh]
            .into_iter()
            .find(|l| l.as_str() == text)
    }

    /// Chinese when the text holds any CJK ideograph, else English: customers who write
    /// Chinese mix in Latin words (`steam`, order numbers), the reverse is rare.
    pub fn detect(text: &str) -> Lang {
        if text.chars().any(is_cjk) {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// `en` or `zh` of one phrase.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

/// CJK ideographs (unified, extension A, compatibility): what Chinese text is written in.
pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

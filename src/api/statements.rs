//! What the two statement endpoints (a reseller's `GET /v1/account/ledger`, a supplier's
//! `GET /v1/supplier/statement`) share: the `?from=&to=` period, and the answer — a JSON page,
//! or with `Accept: text/csv` the whole period as a streamed CSV download, read from the
//! database a page of `statement::EXPORT_PAGE` lines at a time so memory stays flat for a year
//! of orders.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

use super::page::{page_query, Page, Paged};
use crate::db::Db;
use crate::domain::insight::analytics::parse_day;
use crate::domain::money::ledger::LedgerAccount;
use crate::domain::money::statement::{self, Period, Running, Walk, EXPORT_PAGE};
use crate::error::{Error, Result};

page_query! {
    pub struct StatementQuery {
        /// First day, `YYYY-MM-DD` (UTC) or an RFC 3339 time (its UTC day); default: the first line.
        pub from: Option<String>,
        /// Last day, inclusive; default: the latest line.
        pub to: Option<String>,
    }
}

const DAY_MS: i64 = 86_400_000;

impl StatementQuery {
    fn period(&self) -> Result<Period> {
        let from = self
            .from
            .as_deref()
            .map(|f| parse_day("from", f))
            .transpose()?;
        let to = self.to.as_deref().map(|t| parse_day("to", t)).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(Error::invalid("from", "must not be after `to`"));
            }
        }
        Ok(Period {
            from: from.map(|d| d * DAY_MS),
            to: to.map(|d| (d + 1) * DAY_MS),
        })
    }
}

/// True when the client asked for CSV (`Accept: text/csv`).
fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
        })
}

/// `account`'s statement as the request asks for it: newest first in JSON pages, or the whole
/// period oldest first as a CSV file named `filename`.
pub async fn respond(
    db: &Db,
    req: &HttpRequest,
    account: LedgerAccount,
    query: &StatementQuery,
    filename: &str,
) -> Result<HttpResponse> {
    let period = query.period()?;
    if wants_csv(req) {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ))
            .streaming(csv_pages(db.clone(), account, period)));
    }
    let limit = query.page_size()?;
    let before = query.cursor_seq()?;
    let lines = db
        .read_async(move |c| {
            let mut running = Running::default();
            statement::lines(
                c,
                &account,
                period,
                Walk::Back(before),
                limit + 1,
                &mut running,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(lines, limit, |l| l.id.clone())))
}

/// Where a CSV export stands between two pages.
struct Export {
    db: Db,
    account: LedgerAccount,
    period: Period,
    after: Option<i64>,
    running: Running,
    first: bool,
    done: bool,
}

/// The CSV body: the header, then one chunk per page of lines, oldest first. A failure after
/// the first chunk ends the download early (the status line is gone by then); the client sees
/// a truncated transfer rather than a short file that looks whole.
fn csv_pages(
    db: Db,
    account: LedgerAccount,
    period: Period,
) -> impl futures_util::Stream<Item = Result<Bytes>> {
    let start = Export {
        db,
        account,
        period,
        after: None,
        running: Running::default(),
        first: true,
        done: false,
    };
    futures_util::stream::try_unfold(start, |mut ex| async move {
        if ex.done {
            return Ok(None);
        }
        let (account, period, after, running) = (
            ex.account.clone(),
            ex.period,
            ex.after,
            std::mem::take(&mut ex.running),
        );
        let (lines, running) = ex
            .db
            .read_async(move |c| {
                let mut running = running;
                let lines = statement::lines(
                    c,
                    &account,
                    period,
                    Walk::Forward(after),
                    EXPORT_PAGE,
                    &mut running,
                )?;
                Ok((lines, running))
            })
            .await?;
        let mut chunk = Vec::with_capacity(lines.len() * 96);
        statement::write_csv(&mut chunk, &lines, ex.first)?;
        ex.first = false;
        ex.running = running;
        ex.done = (lines.len() as i64) < EXPORT_PAGE;
        if let Some(last) = lines.last() {
            ex.after = Some(last.id.parse().map_err(Error::internal)?);
        }
        Ok(Some((Bytes::from(chunk), ex)))
    })
}

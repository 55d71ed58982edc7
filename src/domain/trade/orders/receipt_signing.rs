//! Receipts signed on two threads at once, without the caller ever waiting for the other.
//!
//! An Ed25519 signature is the largest piece of CPU an order costs, and while a set is written
//! its clients wait. The set's thread (SQLite's writer) hands the receipts to a helper thread
//! before its writes and signs, after them, whatever the helper has not. It used to join a
//! thread of its own: measured at C=16 on a busy two-core box, 16 % of the writer's time went
//! to that join (0.2-0.5 ms a set), the helper waiting for a core the HTTP workers held. Here
//! neither waits for the other: each takes the next unsigned receipt, and the set's thread
//! signs again one the helper took but has not finished (Ed25519 is deterministic: both get
//! the same token, the first stored is kept).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, LazyLock, OnceLock};

use super::set_write::Signing;
use crate::error::{Error, Result};

/// Sets below this many orders are signed on the set's thread alone: the hand-over would cost
/// more than it saves.
const SHARE_FROM: usize = 4;

/// One set's receipts, taken one at a time by whichever thread comes first.
struct Shared {
    to_sign: Vec<Signing>,
    next: AtomicUsize,
    /// A signing failure is kept as its message (it fails the set, see `finish`).
    signed: Vec<OnceLock<std::result::Result<String, String>>>,
}

impl Shared {
    /// Signs receipts nobody has taken yet, until there are none.
    fn take_and_sign(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.to_sign.len() {
                return;
            }
            self.sign(i);
        }
    }

    /// Receipt `i`, signed here unless a thread has stored it already; what was stored first.
    fn sign(&self, i: usize) -> &std::result::Result<String, String> {
        let slot = &self.signed[i];
        if let Some(done) = slot.get() {
            return done;
        }
        let (signer, claims) = &self.to_sign[i];
        let token = signer.sign(claims).map_err(|e| e.to_string());
        // `set` fails only when the other thread stored it meanwhile: either way it is there.
        let _ = slot.set(token);
        slot.get().expect("stored above or by the other thread")
    }
}

/// The helper thread, started by the first set large enough to share.
static HELPER: LazyLock<Option<mpsc::Sender<Arc<Shared>>>> = LazyLock::new(|| {
    let (tx, rx) = mpsc::channel::<Arc<Shared>>();
    let started = std::thread::Builder::new()
        .name("kameng-receipts".into())
        .spawn(move || {
            for shared in rx {
                shared.take_and_sign();
            }
        });
    // Without a helper every receipt is signed by the set's thread: slower, never wrong.
    started.ok().map(|_| tx)
});

/// Receipts being signed; [`Receipts::finish`] returns them.
pub(super) struct Receipts(Arc<Shared>);

/// Starts signing `to_sign`: on the helper thread when the set is large enough to share.
pub(super) fn begin(to_sign: Vec<Signing>) -> Receipts {
    let shared = Arc::new(Shared {
        signed: to_sign.iter().map(|_| OnceLock::new()).collect(),
        to_sign,
        next: AtomicUsize::new(0),
    });
    if let (true, Some(helper)) = (shared.to_sign.len() >= SHARE_FROM, HELPER.as_ref()) {
        // Should the helper have stopped, the set's thread signs them all.
        let _ = helper.send(shared.clone());
    }
    Receipts(shared)
}

impl Receipts {
    /// The receipts in order, signing here every one the helper has not finished; fails when
    /// one could not be signed.
    pub(super) fn finish(self) -> Result<Vec<String>> {
        let shared = self.0;
        shared.take_and_sign();
        (0..shared.to_sign.len())
            .map(|i| match shared.sign(i) {
                Ok(token) => Ok(token.clone()),
                Err(e) => Err(Error::internal(format!("signing a receipt: {e}"))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Vault;
    use crate::domain::money::receipts::{verify_receipt, ReceiptClaims, ReceiptSigner};

    fn signer() -> (tempfile::TempDir, Arc<ReceiptSigner>) {
        let dir = tempfile::tempdir().unwrap();
        let db =
            crate::db::Db::connect(&format!("sqlite://{}/s.db", dir.path().display()), 1).unwrap();
        let vault = Vault::from_master(&[7; 32]);
        let signer = db
            .write(move |c| ReceiptSigner::load_or_create(c, &vault))
            .unwrap();
        (dir, Arc::new(signer))
    }

    fn claims(n: usize) -> ReceiptClaims {
        ReceiptClaims {
            iss: crate::domain::money::receipts::ISSUER.into(),
            sub: format!("ord_{n}"),
            reseller_id: "rs_1".into(),
            product_id: "pr_1".into(),
            quantity: 1,
            amount: 100 + n as i64,
            currency: "USD".into(),
            iat: 1,
            codes: vec![crate::crypto::sha256_hex(n.to_string().as_bytes())],
            codes_digest: None,
        }
    }

    /// Sets small and large, many at once (the helper behind on some, ahead on others): every
    /// receipt comes back in its order, verifiable, and the same token signing alone gives.
    #[test]
    fn shared_receipts_come_back_in_order_and_verify() {
        let (_dir, signer) = signer();
        std::thread::scope(|s| {
            for size in [1, SHARE_FROM - 1, SHARE_FROM, 16, 64, 200] {
                let signer = signer.clone();
                s.spawn(move || {
                    for _ in 0..5 {
                        let to_sign: Vec<Signing> =
                            (0..size).map(|n| (signer.clone(), claims(n))).collect();
                        let receipts = begin(to_sign).finish().unwrap();
                        assert_eq!(receipts.len(), size);
                        for (n, token) in receipts.iter().enumerate() {
                            assert_eq!(*token, signer.sign(&claims(n)).unwrap());
                            let back = verify_receipt(token, signer.jwks()).unwrap();
                            assert_eq!(back, claims(n));
                        }
                    }
                });
            }
        });
    }
}

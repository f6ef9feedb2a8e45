//! Windows: a client certificate chosen from a system certificate store, its
//! private key used through CNG (it may live in a TPM or be non-exportable).

use std::sync::Arc;

use rustls::sign::SigningKey;
use rustls_cng::signer::CngSigningKey;
use rustls_cng::store::{CertStore, CertStoreType};
use rustls_pki_types::CertificateDer;

use super::identity::{describe, StoreLocation, StoreSelector};

type Found = (Vec<CertificateDer<'static>>, Arc<dyn SigningKey>);

/// The newest certificate valid at `now` that passes the filters and whose
/// private key can be opened silently (a service has no one to prompt).
pub fn find(sel: &StoreSelector, now: i64) -> Result<Found, String> {
    let location = match sel.location {
        StoreLocation::LocalMachine => CertStoreType::LocalMachine,
        StoreLocation::CurrentUser => CertStoreType::CurrentUser,
    };
    let where_ = format!("{:?}\\{}", sel.location, sel.store);
    let store = CertStore::open(location, &sel.store).map_err(|e| format!("certificate store {where_}: cannot open: {e}"))?;
    let all = store
        .find_all()
        .map_err(|e| format!("certificate store {where_}: cannot list: {e}"))?;
    let mut best: Option<(i64, rustls_cng::cert::CertContext)> = None;
    let mut seen = 0;
    for ctx in all {
        let der = CertificateDer::from(ctx.as_der().to_vec());
        let Ok((info, not_before)) = describe(&der, &where_) else {
            continue;
        };
        if !sel.matches(&info.issuer, &info.subject) {
            continue;
        }
        seen += 1;
        if now < not_before || now > info.not_after_unix {
            continue;
        }
        let newest = not_before;
        if best.as_ref().is_none_or(|(t, _)| newest > *t) && ctx.acquire_key(true).is_ok() {
            best = Some((newest, ctx));
        }
    }
    let Some((_, ctx)) = best else {
        return Err(if seen == 0 {
            format!("certificate store {where_}: no certificate matches the selector")
        } else {
            format!("certificate store {where_}: {seen} certificates match, none is valid now with a usable private key")
        });
    };
    let key = ctx
        .acquire_key(true)
        .and_then(CngSigningKey::new)
        .map_err(|e| format!("certificate store {where_}: private key: {e}"))?;
    let chain = ctx
        .as_chain_der()
        .map_err(|e| format!("certificate store {where_}: chain: {e}"))?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    Ok((chain, Arc::new(key)))
}

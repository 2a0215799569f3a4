//! How to reach a remote store. The settings are defined once, in `nodewarden-model`
//! (`repository`); the store checks them again before handing them to object_store, which
//! panics on some values (an empty endpoint) instead of failing.
use crate::StoreError;

pub use nodewarden_model::repository::{MIN_PART_SIZE, RemoteOptions, parse_bytes};

pub(crate) fn validate(o: &RemoteOptions) -> Result<(), StoreError> {
    o.check()
        .map_err(|e| StoreError::Url(format!("repository setting {e}")))
}

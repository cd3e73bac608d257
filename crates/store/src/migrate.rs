//! Schema versions and migrations.
use crate::error::{Result, StoreError};
use crate::{SCHEMA_VERSION, Trees, meta};

pub(crate) fn check_and_migrate(db: &sled::Db, t: &Trees, read_only: bool) -> Result<Option<u32>> {
    let _ = (db, read_only);
    let found = t
        .meta
        .get(meta::SCHEMA)?
        .and_then(|v| <[u8; 4]>::try_from(&v[..]).ok())
        .map(u32::from_be_bytes);
    match found {
        Some(v) if v > SCHEMA_VERSION => Err(StoreError::NewerSchema {
            found: v,
            known: SCHEMA_VERSION,
        }),
        Some(_) => Ok(None),
        None => {
            t.meta
                .insert(meta::SCHEMA, &SCHEMA_VERSION.to_be_bytes()[..])?;
            Ok(None)
        }
    }
}

//! A persistent backend on the embedded database redb.

use crate::StateError;
use crate::backend::{ChangeSet, Entries, StateBackend};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};

const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
const META: TableDefinition<&str, u64> = TableDefinition::new("xwasm_meta");
const FORMAT_KEY: &str = "state_format";
/// Bumped when the key layout of [`crate::keys`] changes.
pub const STATE_FORMAT: u64 = 1;

/// State in one redb file. Every [`StateBackend::apply`] is one redb write
/// transaction, committed durably: after a crash the file holds exactly the
/// change sets whose `apply` returned.
pub struct RedbBackend {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbBackend").field("path", &self.path).finish()
    }
}

fn db_error<'a>(operation: &'static str, path: &'a Path) -> impl Fn(redb::Error) -> StateError + 'a {
    move |source| StateError::Database { operation, path: path.to_owned(), source: Box::new(source) }
}

impl RedbBackend {
    /// Opens the database file at `path`, creating it if it does not exist.
    /// A file that exists but is not an xwasm state database is refused;
    /// one that another process holds open is [`StateError::Busy`] (redb
    /// locks the file for as long as it is open).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref();
        let err = db_error("open", path);
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StateError::Busy { path: path.to_owned() },
            other => err(other.into()),
        })?;
        let txn = db.begin_write().map_err(|e| err(e.into()))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| err(e.into()))?;
            let format = meta.get(FORMAT_KEY).map_err(|e| err(e.into()))?.map(|v| v.value());
            match format {
                None => {
                    meta.insert(FORMAT_KEY, STATE_FORMAT).map_err(|e| err(e.into()))?;
                }
                Some(STATE_FORMAT) => {}
                Some(found) => {
                    return Err(StateError::UnsupportedFormat {
                        path: path.to_owned(),
                        found,
                        expected: STATE_FORMAT,
                    });
                }
            }
            txn.open_table(STATE).map_err(|e| err(e.into()))?;
        }
        txn.commit().map_err(|e| err(e.into()))?;
        Ok(Self { db, path: path.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl StateBackend for RedbBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let err = db_error("read", &self.path);
        let txn = self.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(STATE).map_err(|e| err(e.into()))?;
        let value = table.get(key).map_err(|e| err(e.into()))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn contains(&self, key: &[u8]) -> Result<bool, StateError> {
        let err = db_error("read", &self.path);
        let txn = self.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(STATE).map_err(|e| err(e.into()))?;
        Ok(table.get(key).map_err(|e| err(e.into()))?.is_some())
    }

    fn apply(&self, changes: &ChangeSet) -> Result<(), StateError> {
        if changes.is_empty() {
            return Ok(());
        }
        let err = db_error("commit", &self.path);
        let txn = self.db.begin_write().map_err(|e| err(e.into()))?;
        {
            let mut table = txn.open_table(STATE).map_err(|e| err(e.into()))?;
            for (key, value) in changes {
                match value {
                    Some(value) => {
                        table.insert(key.as_slice(), value.as_slice()).map_err(|e| err(e.into()))?;
                    }
                    None => {
                        table.remove(key.as_slice()).map_err(|e| err(e.into()))?;
                    }
                }
            }
        }
        txn.commit().map_err(|e| err(e.into()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StateError> {
        let err = db_error("scan", &self.path);
        let txn = self.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(STATE).map_err(|e| err(e.into()))?;
        let mut entries = Vec::new();
        for item in table.range(prefix..).map_err(|e| err(e.into()))? {
            let (key, value) = item.map_err(|e| err(e.into()))?;
            if !key.value().starts_with(prefix) {
                break;
            }
            entries.push((key.value().to_vec(), value.value().to_vec()));
        }
        Ok(entries)
    }

    fn first_in(
        &self,
        range: &crate::KeyRange,
        descending: bool,
    ) -> Result<Option<crate::backend::Entry>, StateError> {
        let err = db_error("scan", &self.path);
        let txn = self.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(STATE).map_err(|e| err(e.into()))?;
        let (start, end) = range.bounds();
        if !crate::backend::bounds_ordered(&start, &end) {
            return Ok(None);
        }
        fn bound(b: &std::ops::Bound<Vec<u8>>) -> std::ops::Bound<&[u8]> {
            b.as_ref().map(Vec::as_slice)
        }
        let mut found = table.range::<&[u8]>((bound(&start), bound(&end))).map_err(|e| err(e.into()))?;
        let item = if descending { found.next_back() } else { found.next() };
        let Some(item) = item else { return Ok(None) };
        let (key, value) = item.map_err(|e| err(e.into()))?;
        Ok(range.contains(key.value()).then(|| (key.value().to_vec(), value.value().to_vec())))
    }
}

//! Key layout and value header of format 2 (docs/redis-format.md). Every key of one session, and the index shard
//! it belongs to, share one hash tag, so each script touches a single cluster slot.

use crate::error::{Result, SessionError};

/// Number of index shards; part of the format version.
pub const SHARDS: u32 = 64;
const _: () = assert!(SHARDS <= 100, "shard tags are two digits");
/// The stored format version (also in each session value's header and the prefix's meta key).
pub const FORMAT: &str = "2";

/// A session value starts with this fixed-width ASCII header, then the session's JSON object:
/// `PS2 <version: 16 digits> <createdAt text length: 8 digits> <lastActivity Unix ms: 13 digits>`
/// (no separator before the JSON). The JSON always begins `{"lastActivity":"<24>","createdAt":`
/// so touch stamps both lastActivity copies with one `SETRANGE` at [`LAST_ACTIVITY_AT`].
pub const MAGIC: &[u8] = b"PS2 ";
pub const VERSION_AT: usize = 4;
pub const VERSION_DIGITS: usize = 16;
pub const CREATED_LEN_AT: usize = 21;
pub const CREATED_LEN_DIGITS: usize = 8;
pub const LAST_ACTIVITY_AT: usize = 30;
pub const LAST_ACTIVITY_DIGITS: usize = 13;
pub const HEADER_LEN: usize = 43;
/// The JSON text up to the createdAt value.
pub const JSON_HEAD: &str = "{\"lastActivity\":";
pub const CREATED_AT_MEMBER: &str = ",\"createdAt\":";
/// Byte offset of the createdAt value: after the header, `{"lastActivity":`, the quoted stamp
/// (26 bytes) and `,"createdAt":`.
#[allow(dead_code)] // documents the layout; the scripts hold it as CREATED_AT
pub const CREATED_AT_VALUE_AT: usize = HEADER_LEN + 16 + 26 + 13;

/// What a format-1 prefix or session met by this release is told.
pub const MIGRATE_HINT: &str =
    "this release stores format 2 and does not read format 1: run `poto-sessions-admin migrate` (docs/operations.md, \"Upgrading the stored format\")";

/// Keys of one prefix.
#[derive(Debug, Clone)]
pub struct Layout {
    prefix: String,
}

/// The keys one session script needs.
pub struct SessionKeys {
    pub session: String,
    pub expiry_index: String,
    pub activity_index: String,
    pub version_seq: String,
}

impl Layout {
    /// Rejects a prefix containing `{` or `}`: it would move the hash tag.
    pub fn new(prefix: &str) -> Result<Self> {
        if prefix.contains(['{', '}']) {
            return Err(SessionError::InvalidArgument(format!(
                "redis key prefix {prefix:?} must not contain '{{' or '}}'"
            )));
        }
        Ok(Layout { prefix: prefix.to_owned() })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `P{NN}:` followed by `rest`, in one allocation (keys are built on every request); `NN`
    /// is the shard in two digits.
    fn shard_key(&self, shard: u32, rest: &[&str]) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 5 + rest.iter().map(|r| r.len()).sum::<usize>());
        key.push_str(&self.prefix);
        key.push('{');
        key.push(char::from(b'0' + (shard / 10) as u8));
        key.push(char::from(b'0' + (shard % 10) as u8));
        key.push_str("}:");
        rest.iter().for_each(|r| key.push_str(r));
        key
    }

    /// The key of `user_id`'s session value.
    pub fn session_key(&self, user_id: &str) -> String {
        self.shard_key(shard_of(user_id), &["s:", user_id])
    }

    /// Keys of `user_id`'s session.
    pub fn session(&self, user_id: &str) -> SessionKeys {
        let shard = shard_of(user_id);
        SessionKeys {
            session: self.shard_key(shard, &["s:", user_id]),
            expiry_index: self.shard_key(shard, &["i:exp"]),
            activity_index: self.shard_key(shard, &["i:act"]),
            version_seq: self.shard_key(shard, &["i:seq"]),
        }
    }

    /// `(expiry index, activity index, session key base)` of one shard.
    pub fn shard(&self, shard: u32) -> (String, String, String) {
        (self.shard_key(shard, &["i:exp"]), self.shard_key(shard, &["i:act"]), self.shard_key(shard, &["s:"]))
    }

    /// The key that records which format and shard count this prefix uses.
    pub fn meta(&self) -> String {
        format!("{}{{meta}}", self.prefix)
    }
}

/// The shard of a user id: 64-bit FNV-1a of its UTF-8 bytes, modulo [`SHARDS`].
pub fn shard_of(user_id: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in user_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(SHARDS)) as u32
}

/// What the meta key holds for this format.
pub fn meta_description() -> String {
    format!("poto-sessions format={FORMAT} shards={SHARDS}")
}

/// The error detail when the prefix's meta key names another format than this release's.
pub fn format_mismatch(prefix: &str, found: &str) -> String {
    let expected = meta_description();
    let mut detail =
        format!("prefix {prefix:?} holds sessions of another format ({found:?}); this client writes {expected:?}");
    if found.starts_with("poto-sessions format=1 ") {
        detail.push_str("; ");
        detail.push_str(MIGRATE_HINT);
    } else if found.starts_with("poto-sessions migrating") {
        detail
            .push_str("; a `poto-sessions-admin migrate` of this prefix has not finished: run it again to complete it");
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_stable() {
        let layout = Layout::new("poto:").unwrap();
        assert_eq!(shard_of("alice"), 7);
        let keys = layout.session("alice");
        assert_eq!(keys.session, "poto:{07}:s:alice");
        assert_eq!(keys.expiry_index, "poto:{07}:i:exp");
        assert_eq!(layout.session("{x}").session, "poto:{33}:s:{x}");
        assert_eq!(layout.session_key("alice"), keys.session);
        assert_eq!(layout.shard(5), ("poto:{05}:i:exp".into(), "poto:{05}:i:act".into(), "poto:{05}:s:".into()));
        assert_eq!(keys.version_seq, "poto:{07}:i:seq");
        assert!(Layout::new("a{b").is_err());
    }
}

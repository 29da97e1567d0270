//! Key layout of format 1 (docs/redis-format.md). Every key of one session, and the index shard
//! it belongs to, share one hash tag, so each script touches a single cluster slot.

use crate::error::{Result, SessionError};

/// Number of index shards; part of the format version.
pub const SHARDS: u32 = 64;
/// The stored format version (also in each session hash and the prefix's meta key).
pub const FORMAT: &str = "1";

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

    fn shard_base(&self, shard: u32) -> String {
        format!("{}{{{shard:02}}}:", self.prefix)
    }

    /// Keys of `user_id`'s session.
    pub fn session(&self, user_id: &str) -> SessionKeys {
        let base = self.shard_base(shard_of(user_id));
        SessionKeys {
            session: format!("{base}s:{user_id}"),
            expiry_index: format!("{base}i:exp"),
            activity_index: format!("{base}i:act"),
            version_seq: format!("{base}i:seq"),
        }
    }

    /// `(expiry index, activity index, session key base)` of one shard.
    pub fn shard(&self, shard: u32) -> (String, String, String) {
        let base = self.shard_base(shard);
        (format!("{base}i:exp"), format!("{base}i:act"), format!("{base}s:"))
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
        assert!(Layout::new("a{b").is_err());
    }
}

//! `poto-sessions-admin migrate`: converts a format-1 prefix to format 2, in place (every
//! format-1 client stopped) or into another prefix while format-1 clients keep serving the old
//! one (blue/green). Resumable: each session is converted by one idempotent script step that
//! checks the hash still has the version the client read, so a run that stopped half-way is
//! finished by running it again (docs/operations.md, "Upgrading the stored format").

use redis::{AsyncCommands, Value as Reply};
use serde_json::Value;

use super::connection::{Conn, Target};
use super::errors::{self, Access};
use super::keys::{meta_description, Layout, SHARDS};
use super::options::RedisOptions;
use super::{codec, scripts};
use crate::data::{parse_timestamp, CREATED_AT_KEY, LAST_ACTIVITY_KEY};
use crate::error::{Result, SessionError};

/// The meta text of a format-1 prefix.
pub const FORMAT1_META: &str = "poto-sessions format=1 shards=64";
/// The meta text of a prefix whose in-place migration has started and not finished.
pub const MIGRATING_META: &str = "poto-sessions migrating format=1 to format=2 shards=64";

/// Where a migration writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Convert the prefix's own sessions (no format-1 client may run).
    InPlace,
    /// Copy into this prefix; the source stays format 1 and may keep serving.
    Into(String),
}

/// What one run did, per session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Format-1 sessions converted in place.
    pub converted: u64,
    /// Sessions copied into the target (new, or changed in the source since the last copy).
    pub copied: u64,
    /// Already in format 2 (in place) or unchanged since the last copy (into a prefix).
    pub current: u64,
    /// Target sessions left alone because the new release has written them since the copy.
    pub kept: u64,
    /// Index entries whose session is gone (expired or deleted meanwhile).
    pub gone: u64,
    /// Target copies removed because their source session was deleted or expired since the copy.
    pub deleted: u64,
    /// Sessions that could not be read as format 1 (named in `unreadable_ids`, left as they are).
    pub unreadable: u64,
    pub unreadable_ids: Vec<String>,
}

/// How many index members one step reads and converts per shard.
const BATCH: usize = 200;
/// Passes over a session that keeps changing between its read and its conversion.
const MAX_TRIES: usize = 20;

fn unavailable(e: redis::RedisError) -> SessionError {
    errors::map(e, Access::Read, None)
}

/// Runs one migration of `options.prefix` (see the module doc).
pub async fn migrate(options: &RedisOptions, mode: &Mode) -> Result<Report> {
    let source = Layout::new(&options.prefix)?;
    let target = match mode {
        Mode::InPlace => source.clone(),
        Mode::Into(prefix) => {
            if *prefix == options.prefix {
                return Err(SessionError::invalid("--to names the source prefix; leave it out to migrate in place"));
            }
            Layout::new(prefix)?
        }
    };
    // A Sentinel target resolves its master here; the node's address is not needed.
    let (mut conn, _) = Target::new(options)?.open(options.connect_timeout, options.command_timeout).await?;
    let mut report = Report::default();
    let source_meta: Option<String> = conn.get(source.meta()).await.map_err(unavailable)?;
    match (mode, source_meta.as_deref()) {
        (_, None) => return Ok(report), // nothing was ever written under this prefix
        (Mode::InPlace, Some(meta)) if meta == meta_description() => return Ok(report),
        (Mode::InPlace, Some(FORMAT1_META)) => {
            let _: () = conn.set(source.meta(), MIGRATING_META).await.map_err(unavailable)?;
        }
        (Mode::InPlace, Some(MIGRATING_META)) => {}
        (Mode::Into(_), Some(FORMAT1_META)) => {
            let found: Option<String> = conn.get(target.meta()).await.map_err(unavailable)?;
            match found {
                None => {
                    let _: () = conn.set(target.meta(), meta_description()).await.map_err(unavailable)?;
                }
                Some(meta) if meta == meta_description() => {}
                Some(meta) => {
                    return Err(SessionError::invalid(format!(
                        "target prefix {:?} holds {meta:?}, not format 2",
                        target.prefix()
                    )))
                }
            }
        }
        (_, Some(meta)) => {
            return Err(SessionError::invalid(format!(
                "prefix {:?} holds {meta:?}: not a format-1 prefix this tool converts",
                source.prefix()
            )))
        }
    }
    for shard in 0..SHARDS {
        migrate_shard(&mut conn, &source, &target, mode, shard, &mut report).await?;
    }
    if *mode == Mode::InPlace {
        let _: () = conn.set(source.meta(), meta_description()).await.map_err(unavailable)?;
    }
    Ok(report)
}

async fn migrate_shard(
    conn: &mut Conn,
    source: &Layout,
    target: &Layout,
    mode: &Mode,
    shard: u32,
    report: &mut Report,
) -> Result<()> {
    let (exp, _, _) = source.shard(shard);
    let mut cursor = 0u64;
    loop {
        // The index, never the keyspace: ZSCAN returns every member present throughout.
        let (next, page): (u64, Vec<String>) = redis::cmd("ZSCAN")
            .arg(&exp)
            .arg(cursor)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(conn)
            .await
            .map_err(unavailable)?;
        let mut members: Vec<String> = page.chunks(2).map(|pair| pair[0].clone()).collect();
        members.sort();
        members.dedup();
        for _ in 0..MAX_TRIES {
            if members.is_empty() {
                break;
            }
            members = convert_batch(conn, source, target, mode, &members, report).await?;
        }
        if !members.is_empty() {
            return Err(SessionError::Conflict { user_id: members[0].clone(), attempts: MAX_TRIES as u32 });
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    if *mode == Mode::InPlace {
        return Ok(());
    }
    // Copies whose source has gone since: the ids the target's copy record holds.
    let (_, _, base) = target.shard(shard);
    let record = copy_record(&format!("{}i:seq", base.strip_suffix("s:").unwrap_or(&base)));
    let mut cursor = 0u64;
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg(&record)
            .arg(cursor)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(conn)
            .await
            .map_err(unavailable)?;
        let ids: Vec<String> = page.chunks(2).map(|pair| pair[0].clone()).collect();
        let exists = futures_util::future::join_all(ids.iter().map(|id| {
            let mut conn = conn.clone();
            let key = source.session_key(id);
            async move { redis::cmd("EXISTS").arg(key).query_async::<bool>(&mut conn).await }
        }))
        .await;
        let gone: Vec<String> = ids
            .into_iter()
            .zip(exists)
            .filter_map(|(id, exists)| match exists {
                Ok(false) => Some(Ok(id)),
                Ok(true) => None,
                Err(e) => Some(Err(unavailable(e))),
            })
            .collect::<Result<_>>()?;
        convert_batch(conn, source, target, mode, &gone, report).await?;
        cursor = next;
        if cursor == 0 {
            return Ok(());
        }
    }
}

/// The target shard's record of what was copied (`P{NN}:i:mig`, beside `P{NN}:i:seq`).
fn copy_record(version_seq: &str) -> String {
    format!("{}mig", version_seq.strip_suffix("seq").unwrap_or(version_seq))
}

/// Converts `members` of one shard; returns those that changed between read and conversion.
async fn convert_batch(
    conn: &mut Conn,
    source: &Layout,
    target: &Layout,
    mode: &Mode,
    members: &[String],
    report: &mut Report,
) -> Result<Vec<String>> {
    let reads = members.iter().map(|id| {
        let mut conn = conn.clone();
        let key = source.session_key(id);
        async move { redis::cmd("HGETALL").arg(key).query_async::<Reply>(&mut conn).await }
    });
    let hashes = futures_util::future::join_all(reads).await;
    let mut steps = Vec::new();
    for (id, hash) in members.iter().zip(hashes) {
        let hash = match hash {
            Ok(hash) => hash,
            // WRONGTYPE: already format 2 (a string), left to the script to confirm.
            Err(e) if e.code() == Some("WRONGTYPE") => Reply::Nil,
            Err(e) => return Err(unavailable(e)),
        };
        let (version, value, last_activity_ms) = match hash {
            Reply::Nil => (String::from("-"), String::new(), 0),
            Reply::Array(items) if items.is_empty() => (String::from("-"), String::new(), 0),
            hash => match format2_value(hash) {
                Some(converted) => converted,
                None => {
                    report.unreadable += 1;
                    report.unreadable_ids.push(id.clone());
                    continue;
                }
            },
        };
        steps.push((id.clone(), version, value, last_activity_ms));
    }
    let results = futures_util::future::join_all(steps.iter().map(|(id, version, value, la)| {
        let mut conn = conn.clone();
        let (s, t) = (source.session(id), target.session(id));
        let record = copy_record(&t.version_seq);
        let in_place = if *mode == Mode::InPlace { "1" } else { "0" };
        async move {
            scripts::CONVERT
                .key(&s.session)
                .key(&t.session)
                .key(&s.expiry_index)
                .key(&s.activity_index)
                .key(&t.expiry_index)
                .key(&t.activity_index)
                .key(&s.version_seq)
                .key(&t.version_seq)
                .key(record)
                .arg(id)
                .arg(version)
                .arg(value)
                .arg(*la)
                .arg(in_place)
                .invoke_async::<String>(&mut conn)
                .await
        }
    }))
    .await;
    let mut again = Vec::new();
    for ((id, ..), result) in steps.iter().zip(results) {
        match result.map_err(|e| errors::map(e, Access::Write, Some(id)))?.as_str() {
            "converted" => report.converted += 1,
            "copied" => report.copied += 1,
            "current" => report.current += 1,
            "kept" => report.kept += 1,
            "gone" => report.gone += 1,
            "deleted" => report.deleted += 1,
            _ => again.push(id.clone()),
        }
    }
    Ok(again)
}

/// A format-1 `HGETALL` reply as (version text, format-2 value, lastActivity ms); `None` when
/// it is not a readable format-1 session.
fn format2_value(hash: Reply) -> Option<(String, String, i64)> {
    let Reply::Array(items) = hash else { return None };
    let (mut format, mut version) = (None, None);
    let (mut created, mut last_activity) = (None, None);
    let mut fields: Vec<(String, String)> = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(Reply::BulkString(name)), Some(Reply::BulkString(text))) = (items.next(), items.next()) {
        match name.as_slice() {
            b"\xfff" => format = Some(text),
            b"\xffv" => version = Some(String::from_utf8(text).ok()?),
            [0xff, ..] => {}
            _ => {
                let name = String::from_utf8(name).ok()?;
                let text = String::from_utf8(text).ok()?;
                serde_json::from_str::<serde::de::IgnoredAny>(&text).ok()?;
                match name.as_str() {
                    CREATED_AT_KEY => created = Some(text),
                    LAST_ACTIVITY_KEY => last_activity = Some(text),
                    _ => fields.push((name, text)),
                }
            }
        }
    }
    if format.as_deref() != Some(b"1".as_slice()) {
        return None;
    }
    let version_text = version?;
    let version: u64 = version_text.parse().ok()?;
    let last_activity = last_activity?;
    let last_activity_ms = parse_timestamp(serde_json::from_str::<String>(&last_activity).ok()?.as_str())?;
    // Format 1 stamped lastActivity as the fixed-width text format 2 splices at a fixed offset.
    let last_activity = Value::String(crate::data::format_timestamp(last_activity_ms)).to_string();
    let created = created.unwrap_or_else(|| last_activity.clone());
    let mut members = String::new();
    fields.sort();
    for (name, text) in fields {
        members.push(',');
        members.push_str(&Value::String(name).to_string());
        members.push(':');
        members.push_str(&text);
    }
    members.push('}');
    let value = codec::build_value(version, last_activity_ms, &last_activity, &created, &members);
    Some((version_text, value, last_activity_ms))
}

//! Whole sessions handed over as JSON text (C, Node), written without building a tree of values.
//!
//! Parsing a session into values, checking them and serialising every member again costs most
//! of a write from text (issue 12). Here the text's top-level members are kept as slices. A
//! *plain* text is written from those slices: one that serde_json would write again as it is
//! (compact; numbers and escapes spelled as serde_json spells them; top-level names without
//! escapes; no name twice in one object) except that names in nested objects keep the writer's
//! order (serde_json sorts them; JSON gives order no meaning, and JavaScript readers get back
//! the order they wrote), and whose values every language reads back ([`crate::value`]). The
//! stored members are then the tree path's, sorted by name as it sorts them. Any other text
//! takes the tree path (`value::parse_session`, `data::prepare_session`), so errors are the
//! tree path's errors, word for word.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::data::{SessionData, CREATED_AT_KEY, LAST_ACTIVITY_KEY, USER_ID_KEY};
use crate::error::{Result, SessionError};
use crate::value::{check_number_text, entry_size, parse_session, MAX_DEPTH};

/// A session given as JSON text, syntax checked as [`parse_session`] checks it.
pub struct SessionText(Repr);

enum Repr {
    /// Plain text (module doc): its members, sorted by name as the tree orders them.
    Members { text: String, members: Vec<Member> },
    /// Any other text, parsed.
    Tree(SessionData),
}

/// Byte ranges in the text of one member's name (inside its quotes) and value.
struct Member {
    key: Range<usize>,
    value: Range<usize>,
}

/// A plain session prepared for a whole write as [`crate::data::prepare_session`] prepares it.
pub struct Prepared<'a> {
    /// The createdAt value's JSON text, when the session has one.
    pub created_at: Option<&'a str>,
    /// Every other member but lastActivity, `userId` filled in, sorted by name: the name (which
    /// needs no escapes) and the value's JSON text.
    pub members: Vec<(&'a str, Cow<'a, str>)>,
}

impl SessionText {
    /// Checks `text` is one JSON object; `what` names it in errors, as [`parse_session`].
    pub fn parse(text: String, what: &str) -> Result<Self> {
        match plain_members(&text) {
            Some(members) => Ok(SessionText(Repr::Members { text, members })),
            None => parse_session(&text, what).map(|data| SessionText(Repr::Tree(data))),
        }
    }

    /// The session as values, for providers that store values.
    pub fn into_data(self) -> Result<SessionData> {
        match self.0 {
            Repr::Tree(data) => Ok(data),
            Repr::Members { text, .. } => serde_json::from_str(&text)
                .map_err(|e| SessionError::Internal(format!("checked session text did not parse: {e}"))),
        }
    }

    /// The members a whole write of `user_id`'s session stores, when this text is plain and
    /// the write's rules accept it (`userId` absent or `user_id`, `createdAt` a string, at most
    /// `max_bytes` by [`entry_size`]); `None` sends the write down the tree path, which gives
    /// the error. `user_id` must be valid ([`crate::data::validate_user_id`]).
    pub fn prepare(&self, user_id: &str, max_bytes: usize) -> Option<Prepared<'_>> {
        let Repr::Members { text, members } = &self.0 else { return None };
        let owner = serde_json::to_string(user_id).ok()?;
        let mut prepared = Prepared { created_at: None, members: Vec::with_capacity(members.len() + 1) };
        let mut size = 0;
        let mut owned = false;
        for member in members {
            let (key, value) = (&text[member.key.clone()], &text[member.value.clone()]);
            match key {
                LAST_ACTIVITY_KEY => continue,
                CREATED_AT_KEY if !value.starts_with('"') => return None,
                CREATED_AT_KEY => {
                    prepared.created_at = Some(value);
                    continue;
                }
                USER_ID_KEY if value != owner => return None,
                USER_ID_KEY => owned = true,
                _ => {}
            }
            size += entry_size(key, value);
            prepared.members.push((key, Cow::Borrowed(value)));
        }
        if !owned {
            size += entry_size(USER_ID_KEY, &owner);
            let at = prepared.members.partition_point(|(key, _)| *key < USER_ID_KEY);
            prepared.members.insert(at, (USER_ID_KEY, Cow::Owned(owner)));
        }
        (size <= max_bytes).then_some(prepared)
    }
}

impl Prepared<'_> {
    /// These members as JSON text, as serde_json writes the values the tree path stores: `open`
    /// before the first member, `,` before each other one, then `}`; `stamps` (name and JSON
    /// text, sorted by name) go in their places by name. Also returns where the lastActivity
    /// value starts in the text (0 when `stamps` has none).
    pub fn members_text(&self, open: char, stamps: &[(&str, &str)]) -> (String, usize) {
        let len = |(key, value): (&str, &str)| key.len() + value.len() + 4;
        let capacity = self.members.iter().map(|(key, value)| len((key, value))).sum::<usize>()
            + stamps.iter().map(|stamp| len(*stamp)).sum::<usize>()
            + 1;
        let mut text = String::with_capacity(capacity);
        let mut stamps = stamps.iter().peekable();
        let mut last_activity_at = 0;
        let mut push = |text: &mut String, key: &str, value: &str| {
            text.push(if text.is_empty() { open } else { ',' });
            text.push('"');
            text.push_str(key);
            text.push_str("\":");
            if key == LAST_ACTIVITY_KEY {
                last_activity_at = text.len();
            }
            text.push_str(value);
        };
        for (key, value) in &self.members {
            while let Some((stamp, stamp_value)) = stamps.next_if(|(stamp, _)| *stamp < &**key) {
                push(&mut text, stamp, stamp_value);
            }
            push(&mut text, key, value);
        }
        for (stamp, stamp_value) in stamps {
            push(&mut text, stamp, stamp_value);
        }
        text.push('}');
        (text, last_activity_at)
    }
}

/// The members of a plain session text (module doc), sorted by name; `None` for any other text.
fn plain_members(text: &str) -> Option<Vec<Member>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut members = de.deserialize_map(Walk { base: text.as_ptr() as usize }).ok()?;
    de.end().ok()?;
    members.sort_unstable_by(|a, b| text[a.key.clone()].cmp(&text[b.key.clone()]));
    let unique = members.windows(2).all(|pair| text[pair[0].key.clone()] != text[pair[1].key.clone()]);
    let mut names = Vec::new();
    let plain = members.iter().all(|m| plain_value(&text[m.value.clone()], &mut names));
    (unique && plain).then_some(members)
}

/// Collects the members of a JSON object as byte ranges of the text at `base`.
struct Walk {
    base: usize,
}

impl Walk {
    fn range(&self, slice: &str) -> Range<usize> {
        let start = slice.as_ptr() as usize - self.base;
        start..start + slice.len()
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = Vec<Member>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a session object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(PlainKey(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            members.push(Member { key: self.range(key), value: self.range(value.get()) });
        }
        Ok(members)
    }
}

/// A member name borrowed from the text: one written with an escape is refused (the tree path
/// takes that text).
struct PlainKey<'de>(&'de str);

impl<'de> Deserialize<'de> for PlainKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Borrowed;
        impl<'de> Visitor<'de> for Borrowed {
            type Value = PlainKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name without escapes")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(PlainKey(key))
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
                Err(E::custom("escaped member name"))
            }
        }
        deserializer.deserialize_str(Borrowed)
    }
}

/// Whether one member's value text (valid JSON, as the walk checked) is what serde_json writes
/// for it but for the order of names in nested objects (kept as written), holds no name twice
/// in one object, every number in it passes [`check_number_text`], and it nests within
/// [`MAX_DEPTH`] (a top-level value sits at level 2). One pass over the bytes; `names` is
/// scratch space shared by the members of a session.
fn plain_value<'t>(text: &'t str, names: &mut Vec<&'t str>) -> bool {
    let bytes = text.as_bytes();
    // Where each open object's names start in `names`, by depth.
    let mut objects = [0usize; MAX_DEPTH];
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        i += 1;
        match byte {
            b'"' => {
                let start = i;
                loop {
                    let Some(at) = bytes[i..].iter().position(|&b| b == b'"' || b == b'\\') else { return false };
                    i += at + 1;
                    if bytes[i - 1] == b'"' {
                        break;
                    }
                    match plain_escape(&bytes[i..]) {
                        Some(len) => i += len,
                        None => return false,
                    }
                }
                if bytes.get(i) == Some(&b':') {
                    names.push(&text[start..i - 1]);
                }
            }
            b'[' | b'{' => {
                if depth + 1 >= MAX_DEPTH {
                    return false;
                }
                depth += 1;
                objects[depth] = names.len();
            }
            b']' => depth = depth.saturating_sub(1),
            b'}' => {
                let own = &mut names[objects[depth]..];
                own.sort_unstable();
                if own.windows(2).any(|pair| pair[0] == pair[1]) {
                    return false;
                }
                names.truncate(objects[depth]);
                depth = depth.saturating_sub(1);
            }
            b'-' | b'0'..=b'9' => {
                let start = i - 1;
                while bytes.get(i).is_some_and(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')) {
                    i += 1;
                }
                if !plain_number(&text[start..i]) {
                    return false;
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => return false,
            _ => {}
        }
    }
    true
}

/// The length of an escape (after its backslash) as serde_json writes it, or `None`: `\"`,
/// `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00xx` in lowercase for the other control characters.
fn plain_escape(after: &[u8]) -> Option<usize> {
    match after {
        [b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't', ..] => Some(1),
        [b'u', b'0', b'0', high @ (b'0' | b'1'), low, ..] => {
            let code = (high - b'0') * 16 + (*low as char).to_digit(16).filter(|_| !low.is_ascii_uppercase())? as u8;
            (![0x08, 0x09, 0x0a, 0x0c, 0x0d].contains(&code)).then_some(5)
        }
        _ => None,
    }
}

/// Whether a number's text is what serde_json writes for it (an exponent as `e+` or `e-`) and
/// passes [`check_number_text`].
fn plain_number(text: &str) -> bool {
    let exponent_plain = match text.find(['e', 'E']) {
        None => true,
        Some(at) => text[at..].starts_with("e+") || text[at..].starts_with("e-"),
    };
    exponent_plain && check_number_text(text).is_ok()
}

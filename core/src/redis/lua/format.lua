-- The layout every poto-sessions script shares (docs/redis-format.md, format 2). Never parses
-- session JSON: a session value is a fixed-width ASCII header, then the session's JSON object text,
--   'PS2 ' <version, 16 digits> ' ' <createdAt text length, 8 digits> ' ' <lastActivity ms, 13 digits>
--   '{"lastActivity":"<24>","createdAt":' <createdAt text> [',' members] '}'
-- and the scripts only cut and join that text at the offsets the header gives.
-- A script is its snippets (this one first) joined: Redis builds every function a script
-- defines on each call, so a script includes only the snippets it uses (docs: Measurements).
local HEADER_LEN = 43
local LA_AT = 30            -- 0-based offset of the lastActivity ms in the header
local CREATED_AT = 98       -- 0-based offset of the createdAt value (header, 16, 26, 13 bytes)
-- A write prunes on every PRUNE_EVERY-th version of its shard, up to PRUNE_BATCH entries: at
-- least one entry per write on average, so the indexes stay bounded.
local PRUNE_EVERY = 8
local PRUNE_BATCH = 16
-- A write re-indexes a session (two ZADDs, the key's TTL restarted) only when its indexed
-- activity or deadline would move by at least min(INDEX_SLACK, ttl / 16) ms: the ZADDs are the
-- costliest commands of a write (docs: Measurements). The header keeps the indexed activity.
local INDEX_SLACK = 60000

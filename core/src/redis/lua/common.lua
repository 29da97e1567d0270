-- Shared by every poto-sessions script (docs/redis-format.md, format 2). Never parses session
-- JSON: a session value is a fixed-width ASCII header, then the session's JSON object text,
--   'PS2 ' <version, 16 digits> ' ' <createdAt text length, 8 digits> ' ' <lastActivity ms, 13 digits>
--   '{"lastActivity":"<24>","createdAt":' <createdAt text> [',' members] '}'
-- and the scripts only cut and join that text at the offsets the header gives.
local MAGIC = 'PS2 '
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
local floor = math.floor

-- Integer text ('%d': Redis formats a Lua number argument with the far slower '%.17g').
local function int(x)
  return string.format('%d', x)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
end

-- Milliseconds since the epoch as JSON text of Date.toISOString() (civil-from-days).
local function iso(ms)
  local secs = floor(ms / 1000)
  local days = floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"', y, m, d,
    floor(rem / 3600), floor(rem % 3600 / 60), rem % 60, ms - secs * 1000)
end

-- lastActivity's JSON text for `now`: from `hint`, the client's ISO text of the second it expects
-- the server's clock to be in ('<unix seconds> <YYYY-MM-DDTHH:MM:SS>'), when that is now's
-- second; otherwise computed. The stamp is the server's either way; the hint spares Lua the
-- calendar arithmetic, a tenth of a write's cost (docs: Measurements).
local function stamp(now, hint)
  if hint and tonumber(string.sub(hint, 1, -21)) == floor(now / 1000) then
    return string.format('"%s.%03dZ"', string.sub(hint, -19), now % 1000)
  end
  return iso(now)
end

-- Errors the client maps to its typed errors.
local function corrupt(msg)
  return redis.error_reply('POTOCORRUPT ' .. msg)
end

local MIGRATE = 'a format-1 session hash: this release stores format 2, run `poto-sessions-admin migrate`'

-- The first `n` bytes of a session key: '' when absent; an error reply when the key is not a
-- format-2 session (a format-1 hash, another type, another text).
local function head_of(key, n)
  local head = redis.pcall('GETRANGE', key, 0, n - 1)
  if type(head) == 'table' then
    if redis.call('TYPE', key).ok == 'hash' then return nil, corrupt(MIGRATE) end
    return nil, corrupt('key holds a ' .. redis.call('TYPE', key).ok .. ', not a session')
  end
  if head ~= '' and (#head < HEADER_LEN or string.sub(head, 1, 4) ~= MAGIC) then
    return nil, corrupt('not a poto-sessions format-2 session')
  end
  return head, nil
end

-- The version text (16 digits) of a header.
local function version_of(head)
  return string.sub(head, 5, 20)
end

-- The stored createdAt JSON text of a session whose first bytes are `head`.
local function created_of(key, head)
  local len = tonumber(string.sub(head, 22, 29))
  if CREATED_AT + len <= #head then
    return string.sub(head, CREATED_AT + 1, CREATED_AT + len)
  end
  return redis.call('GETRANGE', key, CREATED_AT, CREATED_AT + len - 1)
end

-- Forgets index entries of sessions Redis has already expired.
local function prune(exp, act, now, limit)
  local gone = redis.call('ZRANGEBYSCORE', exp, '-inf', '(' .. int(now), 'LIMIT', 0, limit)
  if #gone > 0 then
    redis.call('ZREM', exp, unpack(gone))
    redis.call('ZREM', act, unpack(gone))
  end
  return #gone
end

-- Indexes the session, in the caller's step. `version` is the write's new version (nil for a
-- touch, which adds no index entry and so does not prune).
local function index(exp, act, member, ttl, now, version)
  redis.call('ZADD', exp, int(now + ttl), member)
  redis.call('ZADD', act, int(now), member)
  if version and version % PRUNE_EVERY == 0 then
    prune(exp, act, now, PRUNE_BATCH)
  end
end

-- Writes the whole value of a session: header (with `indexed`, the activity index's score),
-- the JSON's timestamps (`stamped`: lastActivity's text), then `tail` (the other members and
-- the closing brace, as the client sent them). `ttl` (ms, as text) restarts the key's TTL; nil
-- keeps it. A large tail is appended by Redis instead of joined in Lua, which copies it twice
-- more (see docs: Measurements).
local function put_value(key, version, created, indexed, stamped, tail, ttl)
  local head = string.format('PS2 %016d %08d %013d{"lastActivity":%s,"createdAt":', version,
    #created, indexed, stamped) .. created
  local big = #tail > 4096
  if not big then head = head .. tail end
  if ttl then
    redis.call('SET', key, head, 'PX', ttl)
  else
    redis.call('SET', key, head, 'KEEPTTL')
  end
  if big then redis.call('APPEND', key, tail) end
end

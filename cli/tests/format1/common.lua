-- Shared by every poto-sessions script (docs/redis-format.md). Never parses session JSON.
local META_FORMAT = '\255f'
local META_VERSION = '\255v'
local META_SIZE = '\255s'
local FORMAT = '1'
-- A write prunes on every PRUNE_EVERY-th version of its shard, up to PRUNE_BATCH entries: at
-- least one entry per write on average, so the indexes stay bounded.
local PRUNE_EVERY = 8
local PRUNE_BATCH = 16
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

-- Errors the client maps to its typed errors.
local function corrupt(msg)
  return redis.error_reply('POTOCORRUPT ' .. msg)
end

-- Type and format of an existing session key; nil when it is a readable session.
local function check_session(key, t)
  if t ~= 'hash' then
    return corrupt('key holds a ' .. t .. ', not a session hash')
  end
  local f = redis.call('HGET', key, META_FORMAT)
  if f ~= FORMAT then
    return corrupt('unknown session format ' .. tostring(f))
  end
  return nil
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

-- Restarts the TTL and indexes the session, in the caller's step. `version` is the write's
-- new version (nil for a touch, which adds no index entry and so does not prune).
local function index(key, exp, act, member, ttl, now, version)
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', exp, int(now + ttl), member)
  redis.call('ZADD', act, int(now), member)
  if version and version % PRUNE_EVERY == 0 then
    prune(exp, act, now, PRUNE_BATCH)
  end
end

-- Stamps lastActivity and indexes the session.
local function stamp(key, exp, act, member, ttl, now)
  redis.call('HSET', key, 'lastActivity', iso(now))
  index(key, exp, act, member, ttl, now, nil)
end

-- `cmd` of key and items[from..] in chunks of 1000 (Lua's unpack has a stack limit).
local function in_chunks(cmd, key, items, from)
  local i = from
  while i <= #items do
    local last = math.min(i + 999, #items)
    redis.call(cmd, key, unpack(items, i, last))
    i = last + 1
  end
end

-- Replaces the session by the pairs of ARGV[fields_from..], with its meta fields, lastActivity
-- and (unless given) createdAt: the stored createdAt when there is one, else the stamp. Fields
-- are overwritten in place, which costs less than deleting the hash and building it again; only
-- when the hash then holds more fields than the new session are the others removed.
-- A key of another type is replaced. Does not index the session.
local function write_fields(key, seq, fields_from, has_created, size, now)
  local version = redis.call('INCR', seq)
  local stamp_text = iso(now)
  local fields = {META_FORMAT, FORMAT, META_VERSION, int(version), META_SIZE, size, 'lastActivity', stamp_text}
  local count = 4 + (#ARGV - fields_from + 1) / 2
  for i = fields_from, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  local first = math.min(#fields, 1000)
  if type(redis.pcall('HSET', key, unpack(fields, 1, first))) == 'table' then
    redis.call('DEL', key) -- WRONGTYPE: not a hash
    redis.call('HSET', key, unpack(fields, 1, first))
  end
  in_chunks('HSET', key, fields, first + 1)
  if has_created ~= '1' then
    redis.call('HSETNX', key, 'createdAt', stamp_text)
    count = count + 1
  end
  if redis.call('HLEN', key) > count then
    local keep = {[META_FORMAT] = true, [META_VERSION] = true, [META_SIZE] = true, lastActivity = true, createdAt = true}
    for i = fields_from, #ARGV, 2 do
      keep[ARGV[i]] = true
    end
    local stale = {}
    for _, name in ipairs(redis.call('HKEYS', key)) do
      if not keep[name] then stale[#stale + 1] = name end
    end
    in_chunks('HDEL', key, stale, 1)
  end
  return version
end

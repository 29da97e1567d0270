-- Shared by every poto-sessions script (docs/redis-format.md). Never parses session JSON.
local META_FORMAT = '\255f'
local META_VERSION = '\255v'
local META_SIZE = '\255s'
local FORMAT = '1'
local PRUNE_BATCH = 16

local function int(x)
  return string.format('%.0f', x)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Milliseconds since the epoch as JSON text of Date.toISOString() (civil-from-days).
local function iso(ms)
  local secs = math.floor(ms / 1000)
  local days = math.floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"', y, m, d,
    math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60, ms - secs * 1000)
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

-- Restarts the TTL and indexes the session, in the caller's step.
local function index(key, exp, act, member, ttl, now)
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', exp, int(now + ttl), member)
  redis.call('ZADD', act, int(now), member)
  prune(exp, act, now, PRUNE_BATCH)
end

-- Stamps lastActivity and indexes the session.
local function stamp(key, exp, act, member, ttl, now)
  redis.call('HSET', key, 'lastActivity', iso(now))
  index(key, exp, act, member, ttl, now)
end

-- HSET of field/value pairs in chunks (Lua's unpack has a stack limit).
local function hset_all(key, items)
  local i = 1
  while i <= #items do
    local last = math.min(i + 999, #items)
    redis.call('HSET', key, unpack(items, i, last))
    i = last + 1
  end
end

-- Replaces the session by the pairs of ARGV[fields_from..], with its meta fields, lastActivity
-- and (unless given) createdAt, in one HSET. Does not index it.
local function write_fields(key, seq, fields_from, has_created, created, size, now)
  redis.call('DEL', key)
  local version = redis.call('INCR', seq)
  local stamp_text = iso(now)
  local fields = {META_FORMAT, FORMAT, META_VERSION, version, META_SIZE, size, 'lastActivity', stamp_text}
  if has_created ~= '1' then
    fields[#fields + 1] = 'createdAt'
    fields[#fields + 1] = created or stamp_text
  end
  for i = fields_from, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  hset_all(key, fields)
  return version
end

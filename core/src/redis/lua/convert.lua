-- One session of the migration from format 1 (poto-sessions-admin migrate). Never parses JSON:
-- the client built the format-2 value from the hash it read at version ARGV[2].
-- KEYS: source session, target session, source exp, source act, target exp, target act,
--   source seq, target seq, target copy record (all of one shard's slot).
-- ARGV: member, source version read, format-2 value, lastActivity ms, in place ('1'|'0').
-- ARGV[2] = '-': the client found no source hash (only the target copy is looked at).
-- Returns 'converted' | 'copied' | 'current' | 'kept' | 'changed' | 'gone' | 'deleted'.
local src, dst = KEYS[1], KEYS[2]
local member, expected, value, in_place = ARGV[1], ARGV[2], ARGV[3], ARGV[5] == '1'
local t = redis.call('TYPE', src).ok
-- The copy this tool made last, unless the new release has written the target since.
local function untouched_copy()
  local copied = redis.call('HGET', KEYS[9], member)
  local dt = redis.call('TYPE', dst).ok
  if dt == 'none' then return copied, true end
  return copied, dt == 'string' and copied ~= false
    and tonumber(redis.call('GETRANGE', dst, 4, 19)) == tonumber(copied)
end
if t ~= 'hash' then
  if in_place and t == 'string' then return 'current' end
  if not in_place and t == 'none' then
    -- Deleted (or expired) in the source since it was copied: so is an untouched copy.
    local copied, untouched = untouched_copy()
    if copied and untouched then
      redis.call('DEL', dst)
      redis.call('ZREM', KEYS[5], member)
      redis.call('ZREM', KEYS[6], member)
      redis.call('HDEL', KEYS[9], member)
      return 'deleted'
    end
  end
  return 'gone'
end
if redis.call('HGET', src, '\255v') ~= expected then return 'changed' end
local pttl = redis.call('PTTL', src)
local function put(key)
  if pttl > 0 then
    redis.call('SET', key, value, 'PX', pttl)
  else
    redis.call('SET', key, value)
  end
end
if in_place then
  redis.call('DEL', src)
  put(src)
  return 'converted'
end
-- A target session that is not the copy this tool made last was written by the new release.
local copied, untouched = untouched_copy()
if not untouched then return 'kept' end
if copied == expected then return 'current' end
put(dst)
local now = tonumber(redis.call('TIME')[1]) * 1000
local exp = redis.call('ZSCORE', KEYS[3], member) or string.format('%d', now + math.max(pttl, 0))
local act = redis.call('ZSCORE', KEYS[4], member) or ARGV[4]
redis.call('ZADD', KEYS[5], exp, member)
redis.call('ZADD', KEYS[6], act, member)
redis.call('HSET', KEYS[9], member, expected)
local seq = tonumber(redis.call('GET', KEYS[7]) or '0')
if tonumber(redis.call('GET', KEYS[8]) or '0') < seq then
  redis.call('SET', KEYS[8], string.format('%d', seq))
end
return 'copied'
